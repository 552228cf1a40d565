"""Stochastic gradient descent, with momentum, dampening, Nesterov and weight decay."""

import numpy as np

from ember.optim.optimizer import (Optimizer, _check_lr, _check_nonneg, _scalar, _zeros_like,
                                   blocks)

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent (optionally with momentum).

    For each parameter :math:`\theta` with gradient :math:`g` (:math:`-g` if ``maximize``),
    learning rate :math:`\gamma`, weight decay :math:`\lambda`, momentum :math:`\mu` and
    dampening :math:`\tau`:

    .. math::
        g &\leftarrow g + \lambda\theta \\
        b &\leftarrow \begin{cases} g & \text{first step} \\
                       \mu b + (1-\tau) g & \text{afterwards} \end{cases} \\
        g &\leftarrow g + \mu b \text{ if nesterov, else } b \quad (\mu \neq 0) \\
        \theta &\leftarrow \theta - \gamma g

    Args:
        params (iterable): parameters to optimize, or dicts defining parameter groups.
        lr (float or Tensor): learning rate (default: 1e-3).
        momentum (float): momentum factor :math:`\mu` (default: 0).
        dampening (float): dampening for momentum :math:`\tau` (default: 0).
        weight_decay (float): L2 penalty :math:`\lambda` (default: 0).
        nesterov (bool): use Nesterov momentum (default: False).
        maximize (bool): maximize the objective instead of minimizing (default: False).
        foreach, differentiable, fused: accepted for PyTorch compatibility; ember runs one
            implementation.

    State: ``momentum_buffer`` (only when momentum is non-zero).

    Example:
        >>> import ember
        >>> w = ember.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = ember.optim.SGD([w], lr=0.1, momentum=0.9)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w.tolist()
        [0.800000011920929, -1.600000023841858]
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False, foreach=None, differentiable=False,
                 fused=None):
        _check_lr(lr)
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        _check_nonneg(weight_decay, "weight_decay")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                        foreach=foreach, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        if fused:
            if differentiable:
                raise RuntimeError("`fused` does not support `differentiable`")
            if foreach:
                raise RuntimeError("`fused` and `foreach` cannot be `True` together.")

    def _init_state(self, p, group):
        return {} if group["momentum"] != 0 else None

    def _update(self, p, g, state, group):
        momentum, dampening = group["momentum"], group["dampening"]
        wd, nesterov, lr = group["weight_decay"], group["nesterov"], _scalar(group["lr"])
        buf, first = None, False
        if momentum != 0:
            first = state.get("momentum_buffer") is None
            if first:                          # the first buffer is the gradient itself
                state["momentum_buffer"] = _zeros_like(p)
            buf = state["momentum_buffer"]._data
        for x, g, b in blocks(p._data, g, buf):
            g = self._grad(x, g, group, wd)
            if b is not None:
                if first:
                    b[...] = g
                else:
                    b *= momentum
                    b += g if dampening == 0 else np.multiply(g, 1 - dampening,
                                                              out=self._buf(x, 1))
                if nesterov:
                    g = np.add(g, np.multiply(b, momentum, out=self._buf(x, 1)),
                               out=self._buf(x, 0))
                else:
                    g = b
            x += np.multiply(g, -lr, out=self._buf(x, 1))
