"""The exponential distribution."""

import numbers

import ember
from ember import Size
from ember.distributions import constraints
from ember.distributions.exp_family import ExponentialFamily
from ember.distributions.utils import broadcast_all, from_numpy_sample, rng

__all__ = ["Exponential"]


class Exponential(ExponentialFamily):
    r"""The exponential distribution with rate ``rate``:

    .. math:: p(x) = \lambda e^{-\lambda x} \quad \text{for } x \ge 0

    Args:
        rate (float or Tensor): the rate :math:`\lambda > 0` (one over the mean).
        validate_args (bool, optional): check arguments and values (see ``Distribution``).

    Example:
        >>> from ember.distributions import Exponential
        >>> Exponential(2.0).mean
        tensor(0.5000)
    """

    arg_constraints = {"rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _mean_carrier_measure = 0

    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_all(rate)
        batch_shape = Size() if isinstance(rate, numbers.Number) else self.rate.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_params(Exponential, batch_shape, _instance, ("rate",))

    @property
    def mean(self):
        return self.rate.reciprocal()

    @property
    def mode(self):
        return ember.zeros_like(self.rate)

    @property
    def stddev(self):
        return self.rate.reciprocal()

    @property
    def variance(self):
        return self.rate.pow(-2)

    def rsample(self, sample_shape=Size()):
        """``e / rate`` with ``e`` a standard exponential sample."""
        shape = self._extended_shape(sample_shape)
        e = from_numpy_sample(rng(self.rate.device).standard_exponential(tuple(shape)),
                              self.rate.dtype, self.rate.device)
        return e / self.rate

    def log_prob(self, value):
        r""":math:`\log\lambda - \lambda x`."""
        if self._validate_args:
            self._validate_sample(value)
        return ember.log(self.rate) - self.rate * value

    def cdf(self, value):
        r""":math:`1 - e^{-\lambda x}`."""
        if self._validate_args:
            self._validate_sample(value)
        return 1 - ember.exp(-self.rate * value)

    def icdf(self, value):
        r""":math:`-\log(1 - p) / \lambda`."""
        return -ember.log1p(-value) / self.rate

    def entropy(self):
        r""":math:`1 - \log\lambda`."""
        return 1.0 - ember.log(self.rate)

    @property
    def _natural_params(self):
        return (-self.rate,)

    def _log_normalizer(self, x):
        return -ember.log(-x)
