"""AdamW: Adam with decoupled weight decay."""

from ember.optim.adam import Adam

__all__ = ["AdamW"]


class AdamW(Adam):
    r"""AdamW (Loshchilov & Hutter, 2019): Adam whose weight decay acts on the weights directly.

    Each step first decays the weights, :math:`\theta \leftarrow \theta(1-\gamma\lambda)`, then
    applies the Adam update (see :class:`Adam`) to the plain gradient, so the decay never
    enters the moment estimates.

    Args:
        params (iterable): parameters to optimize, or dicts defining parameter groups.
        lr (float or Tensor): learning rate :math:`\gamma` (default: 1e-3).
        betas (tuple[float, float]): :math:`(\beta_1, \beta_2)` (default: (0.9, 0.999)).
        eps (float): added to the denominator (default: 1e-8).
        weight_decay (float): decoupled weight decay :math:`\lambda` (default: 1e-2).
        amsgrad (bool): use the running maximum of the second moment (default: False).
        maximize (bool): maximize the objective (default: False).
        foreach, capturable, differentiable, fused: accepted for PyTorch compatibility.

    Example:
        >>> import ember
        >>> w = ember.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = ember.optim.AdamW([w], lr=0.1, weight_decay=0.5)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> [round(v, 4) for v in w.tolist()]
        [0.85, -1.8]
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
