"""Adagrad: per-coordinate learning rates from the sum of squared gradients."""

import numpy as np

from ember._tensor import _wrap
from ember.optim.optimizer import (Optimizer, _check_lr, _check_nonneg, _inc, _scalar,
                                   _step_tensor, blocks)

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al., 2011).

    For each parameter :math:`\theta` at step :math:`t` with gradient :math:`g` (:math:`-g`
    if ``maximize``):

    .. math::
        \tilde\gamma &= \gamma / (1 + (t-1)\eta) \\
        g &\leftarrow g + \lambda\theta \\
        s &\leftarrow s + g^2 \qquad (s_0 = \tau) \\
        \theta &\leftarrow \theta - \tilde\gamma\, g / (\sqrt{s} + \epsilon)

    Args:
        params (iterable): parameters to optimize, or dicts defining parameter groups.
        lr (float or Tensor): learning rate :math:`\gamma` (default: 1e-2).
        lr_decay (float): learning rate decay :math:`\eta` (default: 0).
        weight_decay (float): L2 penalty :math:`\lambda` (default: 0).
        initial_accumulator_value (float): starting value :math:`\tau` of the sum (default: 0).
        eps (float): added to the denominator :math:`\epsilon` (default: 1e-10).
        maximize (bool): maximize the objective (default: False).
        foreach, differentiable, fused: accepted for PyTorch compatibility.

    State (created for every parameter at construction): ``step``, ``sum`` (:math:`s`).

    Example:
        >>> import ember
        >>> w = ember.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = ember.optim.Adagrad([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> [round(v, 4) for v in w.tolist()]
        [0.9, -1.9]
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, foreach=None, *, maximize=False, differentiable=False, fused=None):
        _check_lr(lr)
        _check_nonneg(lr_decay, "lr_decay")
        _check_nonneg(weight_decay, "weight_decay")
        _check_nonneg(initial_accumulator_value, "initial_accumulator_value")
        _check_nonneg(eps, "epsilon")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        if fused:
            if differentiable:
                raise RuntimeError("`fused` does not support `differentiable`")
            if foreach:
                raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p] = self._init_state(p, group)

    def _init_state(self, p, group):
        init = self.defaults["initial_accumulator_value"]
        if p.is_complex():
            init = complex(init, init)
        xp = p._device.xp
        return {"step": _step_tensor(), "sum": _wrap(xp.full_like(p._data, init), p._device)}

    def _update(self, p, g, state, group):
        t = _inc(state["step"])
        wd, eps = group["weight_decay"], group["eps"]
        clr = _scalar(group["lr"]) / (1 + (t - 1) * group["lr_decay"])
        for x, g, s in blocks(p._data, g, state["sum"]._data):
            g = self._grad(x, g, group, wd)
            s += np.multiply(g, g, out=self._buf(x, 1))
            std = np.sqrt(s, out=self._buf(x, 2))
            std += eps
            upd = np.multiply(g, -clr, out=self._buf(x, 1))
            x += np.divide(upd, std, out=upd)
