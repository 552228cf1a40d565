"""The beta distribution on the unit interval."""

import numbers

import ember
from ember import Size
from ember.distributions import constraints
from ember.distributions.dirichlet import Dirichlet
from ember.distributions.exp_family import ExponentialFamily
from ember.distributions.utils import broadcast_all

__all__ = ["Beta"]


class Beta(ExponentialFamily):
    r"""The beta distribution with concentrations ``concentration1`` (:math:`\alpha`) and
    ``concentration0`` (:math:`\beta`):

    .. math:: p(x) = \frac{x^{\alpha - 1} (1 - x)^{\beta - 1}}{B(\alpha, \beta)}
              \quad \text{for } 0 \le x \le 1

    It is the first coordinate of a Dirichlet(:math:`[\alpha, \beta]`), which provides
    sampling (reparameterised through Gamma draws) and the log density.

    Args:
        concentration1 (float or Tensor): :math:`\alpha > 0`.
        concentration0 (float or Tensor): :math:`\beta > 0`.
        validate_args (bool, optional): check arguments and values (see ``Distribution``).

    Example:
        >>> from ember.distributions import Beta
        >>> Beta(1.0, 3.0).mean
        tensor(0.2500)
    """

    arg_constraints = {"concentration1": constraints.positive,
                       "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1, concentration0, validate_args=None):
        if isinstance(concentration1, numbers.Number) and isinstance(concentration0,
                                                                     numbers.Number):
            both = ember.tensor([float(concentration1), float(concentration0)])
        else:
            c1, c0 = broadcast_all(concentration1, concentration0)
            both = ember.stack([c1, c0], -1)
        self._dirichlet = Dirichlet(both, validate_args=validate_args)
        super().__init__(self._dirichlet._batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._expand_params(Beta, batch_shape, _instance, ())
        new._dirichlet = self._dirichlet.expand(batch_shape)
        return new

    @property
    def concentration1(self):
        """:math:`\\alpha`, the exponent of :math:`x`."""
        return self._dirichlet.concentration[..., 0]

    @property
    def concentration0(self):
        """:math:`\\beta`, the exponent of :math:`1 - x`."""
        return self._dirichlet.concentration[..., 1]

    @property
    def mean(self):
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def mode(self):
        return self._dirichlet.mode[..., 0]

    @property
    def variance(self):
        total = self.concentration1 + self.concentration0
        return self.concentration1 * self.concentration0 / (total.pow(2) * (total + 1))

    def rsample(self, sample_shape=Size()):
        """The first coordinate of a Dirichlet(``[alpha, beta]``) sample."""
        return self._dirichlet.rsample(sample_shape)[..., 0]

    def log_prob(self, value):
        r""":math:`(\alpha - 1)\log x + (\beta - 1)\log(1 - x) - \log B(\alpha, \beta)`."""
        if self._validate_args:
            self._validate_sample(value)
        heads_tails = ember.stack([value, 1.0 - value], -1)
        return self._dirichlet.log_prob(heads_tails)

    def entropy(self):
        r""":math:`\log B(\alpha, \beta) - (\alpha - 1)\psi(\alpha) - (\beta - 1)\psi(\beta)
        + (\alpha + \beta - 2)\psi(\alpha + \beta)`."""
        return self._dirichlet.entropy()

    @property
    def _natural_params(self):
        return (self.concentration1, self.concentration0)

    @property
    def _mean_carrier_measure(self):
        # k(x) = -log x - log(1 - x), with E[log x] = psi(alpha) - psi(alpha + beta)
        a, b = self.concentration1, self.concentration0
        return 2 * ember.digamma(a + b) - ember.digamma(a) - ember.digamma(b)

    def _log_normalizer(self, x, y):
        return ember.lgamma(x) + ember.lgamma(y) - ember.lgamma(x + y)
