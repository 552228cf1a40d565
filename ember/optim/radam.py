"""RAdam: Adam with a rectified (variance-corrected) adaptive learning rate."""

import math

import numpy as np

from ember.optim.adam import _check_adam_args, _weight_decay, ema_sq_, lerp_
from ember.optim.optimizer import Optimizer, _inc, _scalar, _step_tensor, _zeros_like, blocks

__all__ = ["RAdam"]


class RAdam(Optimizer):
    r"""RAdam (Liu et al., 2020), with optional decoupled weight decay.

    For each parameter :math:`\theta` at step :math:`t` with gradient :math:`g` (:math:`-g`
    if ``maximize``), and :math:`\rho_\infty = 2/(1-\beta_2) - 1`:

    .. math::
        g &\leftarrow g + \lambda\theta \quad\text{or, decoupled:}\quad
            \theta \leftarrow \theta(1 - \gamma\lambda) \\
        m &\leftarrow \beta_1 m + (1-\beta_1) g, \qquad
        v \leftarrow \beta_2 v + (1-\beta_2) g^2 \\
        \hat m &= m / (1-\beta_1^t), \qquad
        \rho_t = \rho_\infty - 2t\beta_2^t / (1-\beta_2^t) \\
        \theta &\leftarrow \theta - \gamma \hat m\, r_t\, \frac{\sqrt{1-\beta_2^t}}
            {\sqrt{v} + \epsilon} \quad\text{if } \rho_t > 5, \text{ else }
            \theta \leftarrow \theta - \gamma \hat m \\
        r_t &= \sqrt{\frac{(\rho_t-4)(\rho_t-2)\rho_\infty}{(\rho_\infty-4)(\rho_\infty-2)\rho_t}}

    Args:
        params (iterable): parameters to optimize, or dicts defining parameter groups.
        lr (float or Tensor): learning rate :math:`\gamma` (default: 1e-3).
        betas (tuple[float, float]): :math:`(\beta_1, \beta_2)` (default: (0.9, 0.999)).
        eps (float): added to the denominator (default: 1e-8).
        weight_decay (float): weight decay :math:`\lambda` (default: 0).
        decoupled_weight_decay (bool): decay the weights directly, as AdamW (default: False).
        maximize (bool): maximize the objective (default: False).
        foreach, capturable, differentiable: accepted for PyTorch compatibility.

    State: ``step``, ``exp_avg`` (:math:`m`), ``exp_avg_sq`` (:math:`v`).

    Example:
        >>> import ember
        >>> w = ember.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = ember.optim.RAdam([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> [round(v, 4) for v in w.tolist()]
        [0.8, -1.6]
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False,
                 capturable=False, differentiable=False):
        _check_adam_args(lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def _init_state(self, p, group):
        return {"step": _step_tensor(), "exp_avg": _zeros_like(p), "exp_avg_sq": _zeros_like(p)}

    def _update(self, p, g, state, group):
        lr, eps = _scalar(group["lr"]), group["eps"]
        beta1, beta2 = group["betas"]
        t = _inc(state["step"])
        wd, decay = _weight_decay(group, lr)
        bc1, bc2 = 1 - beta1 ** t, 1 - beta2 ** t
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * t * (beta2 ** t) / bc2
        rect = None                            # variance is tractable only once rho_t > 5
        if rho_t > 5.0:
            rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                             / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        for x, g, m, v in blocks(p._data, g, state["exp_avg"]._data, state["exp_avg_sq"]._data):
            if decay is not None:
                x *= decay
            g = self._grad(x, g, group, wd)
            lerp_(self, m, g, 1 - beta1)
            ema_sq_(self, v, g, beta2)
            upd = np.divide(m, bc1, out=self._buf(x, 1))
            upd *= lr
            if rect is not None:
                adaptive = np.sqrt(v, out=self._buf(x, 2))
                adaptive += eps
                np.reciprocal(adaptive, out=adaptive)    # PyTorch's float / tensor
                adaptive *= bc2 ** 0.5
                upd *= adaptive
                upd *= rect
            x -= upd
