"""Adam (and the shared moment updates that Adamax, NAdam and RAdam also use)."""

import numpy as np

from ember.optim.optimizer import (Optimizer, _check_betas, _check_lr, _check_nonneg, _inc,
                                   _scalar, _step_tensor, _zeros_like, blocks)

__all__ = ["Adam"]


def lerp_(optim, m, g, weight, slot=1):
    """``m += weight * (g - m)`` in place (PyTorch's ``lerp_`` form for each weight range)."""
    d = np.subtract(g, m, out=optim._buf(m, slot))
    if abs(weight) < 0.5:
        m += np.multiply(d, weight, out=d)
    else:                                   # m = g - (g - m) * (1 - weight)
        np.multiply(d, 1 - weight, out=d)
        np.subtract(g, d, out=m)


def ema_sq_(optim, v, g, beta, slot=1):
    """``v = beta * v + (1 - beta) * g * g`` in place."""
    v *= beta
    t = np.multiply(g, 1 - beta, out=optim._buf(v, slot))
    v += np.multiply(t, g, out=t)


def _weight_decay(group, lr):
    """``(L2 coefficient added to the gradient, decoupled decay factor or None)``."""
    wd = group["weight_decay"]
    if wd != 0 and group.get("decoupled_weight_decay"):
        return 0, 1 - lr * wd
    return wd, None


def _check_adam_args(lr, betas, eps, weight_decay):
    _check_lr(lr)
    _check_nonneg(eps, "epsilon")
    _check_betas(betas)
    _check_nonneg(weight_decay, "weight_decay")


class Adam(Optimizer):
    r"""Adam: adaptive moment estimation (Kingma & Ba, 2015), with AMSGrad and AdamW variants.

    For each parameter :math:`\theta` at step :math:`t` with gradient :math:`g` (:math:`-g`
    if ``maximize``):

    .. math::
        g &\leftarrow g + \lambda\theta \quad\text{or, decoupled:}\quad
            \theta \leftarrow \theta(1 - \gamma\lambda) \\
        m &\leftarrow \beta_1 m + (1-\beta_1) g, \qquad
        v \leftarrow \beta_2 v + (1-\beta_2) g^2 \\
        \hat v &= \max(\hat v_{t-1}, v) \text{ if amsgrad, else } v \\
        \theta &\leftarrow \theta - \frac{\gamma}{1-\beta_1^t}\,
            \frac{m}{\sqrt{\hat v}/\sqrt{1-\beta_2^t} + \epsilon}

    Args:
        params (iterable): parameters to optimize, or dicts defining parameter groups.
        lr (float or Tensor): learning rate :math:`\gamma` (default: 1e-3).
        betas (tuple[float, float]): :math:`(\beta_1, \beta_2)` (default: (0.9, 0.999)).
        eps (float): added to the denominator :math:`\epsilon` (default: 1e-8).
        weight_decay (float): weight decay :math:`\lambda` (default: 0).
        amsgrad (bool): use the running maximum of :math:`v` (default: False).
        maximize (bool): maximize the objective (default: False).
        decoupled_weight_decay (bool): decay the weights directly, as AdamW (default: False).
        foreach, capturable, differentiable, fused: accepted for PyTorch compatibility.

    State: ``step``, ``exp_avg`` (:math:`m`), ``exp_avg_sq`` (:math:`v`), and
    ``max_exp_avg_sq`` with amsgrad.

    Example:
        >>> import ember
        >>> w = ember.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = ember.optim.Adam([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> [round(v, 4) for v in w.tolist()]
        [0.9, -1.9]
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        _check_adam_args(lr, betas, eps, weight_decay)
        betas = tuple(_scalar(b) for b in betas)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)
        if fused:
            if differentiable:
                raise RuntimeError("`fused` does not support `differentiable`")
            if foreach:
                raise RuntimeError("`fused` and `foreach` cannot be `True` together.")

    def _init_state(self, p, group):
        state = {"step": _step_tensor(), "exp_avg": _zeros_like(p), "exp_avg_sq": _zeros_like(p)}
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = _zeros_like(p)
        return state

    def _update(self, p, g, state, group):
        lr, eps = _scalar(group["lr"]), group["eps"]
        beta1, beta2 = group["betas"]
        t = _inc(state["step"])
        wd, decay = _weight_decay(group, lr)
        step_size = lr / (1 - beta1 ** t)
        bc2_sqrt = (1 - beta2 ** t) ** 0.5
        vmax = state["max_exp_avg_sq"]._data if group["amsgrad"] else None
        for x, g, m, v, vm in blocks(p._data, g, state["exp_avg"]._data,
                                     state["exp_avg_sq"]._data, vmax):
            if decay is not None:
                x *= decay
            g = self._grad(x, g, group, wd)
            lerp_(self, m, g, 1 - beta1)
            ema_sq_(self, v, g, beta2)
            if vm is not None:
                v = np.maximum(vm, v, out=vm)
            denom = np.sqrt(v, out=self._buf(x, 2))
            denom /= bc2_sqrt
            denom += eps
            upd = np.multiply(m, -step_size, out=self._buf(x, 1))
            x += np.divide(upd, denom, out=upd)
