"""RMSprop: divide the gradient by a running root-mean-square of recent gradients."""

import numpy as np

from ember.optim.adam import ema_sq_, lerp_
from ember.optim.optimizer import (Optimizer, _check_lr, _check_nonneg, _inc, _scalar,
                                   _step_tensor, _zeros_like, blocks)

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop (Hinton's lecture 6e), optionally centered and with momentum.

    For each parameter :math:`\theta` with gradient :math:`g` (:math:`-g` if ``maximize``):

    .. math::
        g &\leftarrow g + \lambda\theta \\
        v &\leftarrow \alpha v + (1-\alpha) g^2 \\
        \bar g &\leftarrow \alpha \bar g + (1-\alpha) g \quad\text{(centered only)} \\
        s &= \sqrt{v - \bar g^2} + \epsilon \text{ if centered, else } \sqrt{v} + \epsilon \\
        b &\leftarrow \mu b + g / s, \quad \theta \leftarrow \theta - \gamma b
            \quad\text{if } \mu > 0, \text{ else } \theta \leftarrow \theta - \gamma g / s

    Args:
        params (iterable): parameters to optimize, or dicts defining parameter groups.
        lr (float or Tensor): learning rate :math:`\gamma` (default: 1e-2).
        alpha (float): smoothing constant :math:`\alpha` (default: 0.99).
        eps (float): added to the denominator :math:`\epsilon` (default: 1e-8).
        weight_decay (float): L2 penalty :math:`\lambda` (default: 0).
        momentum (float): momentum factor :math:`\mu` (default: 0).
        centered (bool): normalize by the estimated variance of the gradient (default: False).
        maximize (bool): maximize the objective (default: False).
        capturable, foreach, differentiable: accepted for PyTorch compatibility.

    State: ``step``, ``square_avg`` (:math:`v`), ``momentum_buffer`` (momentum > 0),
    ``grad_avg`` (centered).

    Example:
        >>> import ember
        >>> w = ember.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = ember.optim.RMSprop([w], lr=0.01)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> [round(v, 4) for v in w.tolist()]
        [0.9, -1.9]
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        _check_lr(lr)
        _check_nonneg(eps, "epsilon")
        _check_nonneg(momentum, "momentum")
        _check_nonneg(weight_decay, "weight_decay")
        _check_nonneg(alpha, "alpha")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def _init_state(self, p, group):
        state = {"step": _step_tensor(), "square_avg": _zeros_like(p)}
        if group["momentum"] > 0:
            state["momentum_buffer"] = _zeros_like(p)
        if group["centered"]:
            state["grad_avg"] = _zeros_like(p)
        return state

    def _update(self, p, g, state, group):
        alpha, momentum, eps = group["alpha"], group["momentum"], group["eps"]
        wd, lr = group["weight_decay"], _scalar(group["lr"])
        _inc(state["step"])
        ga = state["grad_avg"]._data if group["centered"] else None
        buf = state["momentum_buffer"]._data if momentum > 0 else None
        for x, g, v, ga, b in blocks(p._data, g, state["square_avg"]._data, ga, buf):
            g = self._grad(x, g, group, wd)
            ema_sq_(self, v, g, alpha)
            avg = self._buf(x, 2)
            if ga is not None:                 # sqrt(v - mean(g)^2): the centered variance
                lerp_(self, ga, g, 1 - alpha)
                np.subtract(v, np.multiply(ga, ga, out=avg), out=avg)
                np.sqrt(avg, out=avg)
            else:
                np.sqrt(v, out=avg)
            avg += eps
            if b is not None:
                b *= momentum
                b += np.divide(g, avg, out=avg)
                x += np.multiply(b, -lr, out=avg)
            else:
                t = np.multiply(g, -lr, out=self._buf(x, 1))
                x += np.divide(t, avg, out=t)
