"""NAdam: Adam with Nesterov momentum and a momentum warm-up schedule."""

import numpy as np

from ember.optim.adam import _check_adam_args, _weight_decay, ema_sq_, lerp_
from ember.optim.optimizer import Optimizer, _inc, _scalar, _step_tensor, _zeros_like, blocks

__all__ = ["NAdam"]


class NAdam(Optimizer):
    r"""NAdam (Dozat, 2016), with optional decoupled weight decay.

    For each parameter :math:`\theta` at step :math:`t` with gradient :math:`g` (:math:`-g`
    if ``maximize``), and momentum schedule
    :math:`\mu_t = \beta_1 (1 - \tfrac12\, 0.96^{t\psi})`:

    .. math::
        g &\leftarrow g + \lambda\theta \quad\text{or, decoupled:}\quad
            \theta \leftarrow \theta(1 - \gamma\lambda) \\
        m &\leftarrow \beta_1 m + (1-\beta_1) g, \qquad
        v \leftarrow \beta_2 v + (1-\beta_2) g^2 \\
        d &= \sqrt{v / (1-\beta_2^t)} + \epsilon \\
        \theta &\leftarrow \theta - \gamma\frac{1-\mu_t}{1-\prod_{i\le t}\mu_i}\frac{g}{d}
            - \gamma\frac{\mu_{t+1}}{1-\prod_{i\le t+1}\mu_i}\frac{m}{d}

    Args:
        params (iterable): parameters to optimize, or dicts defining parameter groups.
        lr (float or Tensor): learning rate :math:`\gamma` (default: 2e-3).
        betas (tuple[float, float]): :math:`(\beta_1, \beta_2)` (default: (0.9, 0.999)).
        eps (float): added to the denominator (default: 1e-8).
        weight_decay (float): weight decay :math:`\lambda` (default: 0).
        momentum_decay (float): :math:`\psi` (default: 4e-3).
        decoupled_weight_decay (bool): decay the weights directly, as AdamW (default: False).
        maximize (bool): maximize the objective (default: False).
        foreach, capturable, differentiable: accepted for PyTorch compatibility.

    State: ``step``, ``mu_product`` (:math:`\prod \mu_i`), ``exp_avg``, ``exp_avg_sq``.

    Example:
        >>> import ember
        >>> w = ember.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = ember.optim.NAdam([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> [round(v, 4) for v in w.tolist()]
        [0.8944, -1.8944]
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False):
        _check_adam_args(lr, betas, eps, weight_decay)
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    def _init_state(self, p, group):
        return {"step": _step_tensor(), "mu_product": _step_tensor(1.0),
                "exp_avg": _zeros_like(p), "exp_avg_sq": _zeros_like(p)}

    def _update(self, p, g, state, group):
        lr, eps = _scalar(group["lr"]), group["eps"]
        beta1, beta2 = group["betas"]
        psi = group["momentum_decay"]
        t = _inc(state["step"])
        wd, decay = _weight_decay(group, lr)
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
        prod = state["mu_product"]._data       # kept in the step dtype, like PyTorch
        prod *= mu
        prod = float(prod)
        coef_g = -lr * (1.0 - mu) / (1.0 - prod)
        coef_m = -lr * mu_next / (1.0 - prod * mu_next)
        bc2 = 1 - beta2 ** t
        for x, g, m, v in blocks(p._data, g, state["exp_avg"]._data, state["exp_avg_sq"]._data):
            if decay is not None:
                x *= decay
            g = self._grad(x, g, group, wd)
            lerp_(self, m, g, 1 - beta1)
            ema_sq_(self, v, g, beta2)
            denom = np.divide(v, bc2, out=self._buf(x, 2))
            np.sqrt(denom, out=denom)
            denom += eps
            upd = np.multiply(g, coef_g, out=self._buf(x, 1))
            x += np.divide(upd, denom, out=upd)
            upd = np.multiply(m, coef_m, out=upd)
            x += np.divide(upd, denom, out=upd)
