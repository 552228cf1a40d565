"""The Dirichlet distribution over the probability simplex."""

import ember
from ember import Size
from ember.distributions import constraints
from ember.distributions._gamma import standard_gamma
from ember.distributions.exp_family import ExponentialFamily

__all__ = ["Dirichlet"]


class Dirichlet(ExponentialFamily):
    r"""The Dirichlet distribution with concentration vector :math:`\alpha` (the last
    dimension of ``concentration``; the leading ones are batch dimensions):

    .. math:: p(x) = \frac{\Gamma(\alpha_0)}{\prod_i \Gamma(\alpha_i)} \prod_i
              x_i^{\alpha_i - 1}, \qquad \alpha_0 = \sum_i \alpha_i,

    for :math:`x` on the simplex (:math:`x_i \ge 0`, :math:`\sum_i x_i = 1`).

    ``rsample`` normalises independent Gamma(:math:`\alpha_i`, 1) draws; it is
    differentiable through their implicit reparameterisation gradients.

    Args:
        concentration (Tensor): :math:`\alpha`, positive, at least one-dimensional.
        validate_args (bool, optional): check arguments and values (see ``Distribution``).

    Example:
        >>> from ember.distributions import Dirichlet
        >>> Dirichlet(ember.tensor([1.0, 3.0])).mean
        tensor([0.2500, 0.7500])
    """

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration, validate_args=None):
        if concentration.dim() < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        batch_shape, event_shape = concentration.shape[:-1], concentration.shape[-1:]
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_params(Dirichlet, batch_shape, _instance, ("concentration",),
                                   event_dims=1)

    def rsample(self, sample_shape=Size()):
        """``g / sum(g)`` with independent ``g_i ~ Gamma(alpha_i, 1)``."""
        shape = tuple(self._extended_shape(sample_shape))
        g = standard_gamma(self.concentration.expand(shape))
        return g / g.sum(-1, keepdim=True)

    def log_prob(self, value):
        r""":math:`\sum_i (\alpha_i - 1)\log x_i + \log\Gamma(\alpha_0)
        - \sum_i \log\Gamma(\alpha_i)`."""
        if self._validate_args:
            self._validate_sample(value)
        c = self.concentration
        return (ember.xlogy(c - 1.0, value).sum(-1) + ember.lgamma(c.sum(-1))
                - ember.lgamma(c).sum(-1))

    @property
    def mean(self):
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def mode(self):
        r"""The mode :math:`(\alpha_i - 1) / (\alpha_0 - k)` where all :math:`\alpha_i > 1`.

        Entries with :math:`\alpha_i \le 1` are 0 (the density peaks on that face). If every
        :math:`\alpha_i < 1` the density is unbounded at every vertex; the vertex of the
        largest :math:`\alpha_i` is returned.
        """
        c = self.concentration
        cm1 = (c - 1).clamp(min=0)
        total = cm1.sum(-1, keepdim=True)
        mode = cm1 / ember.where(total > 0, total, 1.0)
        k = c.shape[-1]
        vertex = (ember.arange(k, device=c.device) == c.argmax(-1, keepdim=True)).to(c.dtype)
        return ember.where((c < 1).all(-1, keepdim=True), vertex, mode)

    @property
    def variance(self):
        c = self.concentration
        c0 = c.sum(-1, keepdim=True)
        return c * (c0 - c) / (c0.pow(2) * (c0 + 1))

    def entropy(self):
        r""":math:`\sum_i \log\Gamma(\alpha_i) - \log\Gamma(\alpha_0)
        + (\alpha_0 - k)\psi(\alpha_0) - \sum_i (\alpha_i - 1)\psi(\alpha_i)`."""
        c = self.concentration
        k = c.size(-1)
        a0 = c.sum(-1)
        return (ember.lgamma(c).sum(-1) - ember.lgamma(a0) - (k - a0) * ember.digamma(a0)
                - ((c - 1.0) * ember.digamma(c)).sum(-1))

    @property
    def _natural_params(self):
        return (self.concentration,)

    @property
    def _mean_carrier_measure(self):
        # k(x) = -sum_i log x_i, with E[log x_i] = psi(alpha_i) - psi(alpha_0)
        c = self.concentration
        return c.size(-1) * ember.digamma(c.sum(-1)) - ember.digamma(c).sum(-1)

    def _log_normalizer(self, x):
        return ember.lgamma(x).sum(-1) - ember.lgamma(x.sum(-1))
