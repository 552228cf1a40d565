"""Adadelta: step sizes from running averages of squared gradients and squared updates."""

import numpy as np

from ember.optim.adam import ema_sq_
from ember.optim.optimizer import (Optimizer, _check_lr, _check_nonneg, _inc, _scalar,
                                   _step_tensor, _zeros_like, blocks)

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, 2012).

    For each parameter :math:`\theta` with gradient :math:`g` (:math:`-g` if ``maximize``):

    .. math::
        g &\leftarrow g + \lambda\theta \\
        v &\leftarrow \rho v + (1-\rho) g^2 \\
        \Delta &= \frac{\sqrt{u + \epsilon}}{\sqrt{v + \epsilon}}\, g \\
        u &\leftarrow \rho u + (1-\rho) \Delta^2 \\
        \theta &\leftarrow \theta - \gamma \Delta

    Args:
        params (iterable): parameters to optimize, or dicts defining parameter groups.
        lr (float or Tensor): scale :math:`\gamma` applied to the delta (default: 1.0).
        rho (float): decay of the running averages :math:`\rho` (default: 0.9).
        eps (float): added inside the square roots :math:`\epsilon` (default: 1e-6).
        weight_decay (float): L2 penalty :math:`\lambda` (default: 0).
        maximize (bool): maximize the objective (default: False).
        foreach, capturable, differentiable: accepted for PyTorch compatibility.

    State: ``step``, ``square_avg`` (:math:`v`), ``acc_delta`` (:math:`u`).

    Example:
        >>> import ember
        >>> w = ember.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = ember.optim.Adadelta([w])
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> [round(v, 4) for v in w.tolist()]
        [0.9968, -1.9968]
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        _check_lr(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        _check_nonneg(eps, "epsilon")
        _check_nonneg(weight_decay, "weight_decay")
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    def _init_state(self, p, group):
        return {"step": _step_tensor(), "square_avg": _zeros_like(p),
                "acc_delta": _zeros_like(p)}

    def _update(self, p, g, state, group):
        rho, eps, wd, lr = group["rho"], group["eps"], group["weight_decay"], _scalar(group["lr"])
        _inc(state["step"])
        for x, g, v, u in blocks(p._data, g, state["square_avg"]._data,
                                 state["acc_delta"]._data):
            g = self._grad(x, g, group, wd)
            ema_sq_(self, v, g, rho)
            std = np.add(v, eps, out=self._buf(x, 2))
            np.sqrt(std, out=std)
            delta = np.add(u, eps, out=self._buf(x, 3))
            np.sqrt(delta, out=delta)
            delta /= std
            delta *= g
            ema_sq_(self, u, delta, rho)
            x += np.multiply(delta, -lr, out=delta)
