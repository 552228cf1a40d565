"""Adamax: Adam with the infinity norm in place of the second moment."""

import numpy as np

from ember.optim.adam import _check_adam_args, lerp_
from ember.optim.optimizer import Optimizer, _inc, _scalar, _step_tensor, _zeros_like, blocks

__all__ = ["Adamax"]


class Adamax(Optimizer):
    r"""Adamax (Kingma & Ba, 2015, section 7).

    For each parameter :math:`\theta` at step :math:`t` with gradient :math:`g` (:math:`-g`
    if ``maximize``):

    .. math::
        g &\leftarrow g + \lambda\theta \\
        m &\leftarrow \beta_1 m + (1-\beta_1) g \\
        u &\leftarrow \max(\beta_2 u,\ |g| + \epsilon) \\
        \theta &\leftarrow \theta - \frac{\gamma}{1-\beta_1^t}\, \frac{m}{u}

    Args:
        params (iterable): parameters to optimize, or dicts defining parameter groups.
        lr (float or Tensor): learning rate :math:`\gamma` (default: 2e-3).
        betas (tuple[float, float]): :math:`(\beta_1, \beta_2)` (default: (0.9, 0.999)).
        eps (float): :math:`\epsilon` (default: 1e-8).
        weight_decay (float): L2 penalty :math:`\lambda` (default: 0).
        maximize (bool): maximize the objective (default: False).
        foreach, differentiable, capturable: accepted for PyTorch compatibility.

    State: ``step``, ``exp_avg`` (:math:`m`), ``exp_inf`` (:math:`u`).

    Example:
        >>> import ember
        >>> w = ember.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = ember.optim.Adamax([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> [round(v, 4) for v in w.tolist()]
        [0.9, -1.9]
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False):
        _check_adam_args(lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)

    def _init_state(self, p, group):
        return {"step": _step_tensor(), "exp_avg": _zeros_like(p), "exp_inf": _zeros_like(p)}

    def _update(self, p, g, state, group):
        beta1, beta2 = group["betas"]
        wd, eps = group["weight_decay"], group["eps"]
        t = _inc(state["step"])
        clr = _scalar(group["lr"]) / (1 - beta1 ** t)
        for x, g, m, u in blocks(p._data, g, state["exp_avg"]._data, state["exp_inf"]._data):
            g = self._grad(x, g, group, wd)
            lerp_(self, m, g, 1 - beta1)
            u *= beta2
            a = np.absolute(g, out=self._buf(x, 1))
            a += eps
            np.maximum(u, a, out=u)
            upd = np.multiply(m, -clr, out=self._buf(x, 1))
            x += np.divide(upd, u, out=upd)
