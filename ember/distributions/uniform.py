"""The continuous uniform distribution on ``[low, high)``."""

import numbers

import ember
from ember import Size
from ember.distributions import constraints
from ember.distributions.distribution import Distribution
from ember.distributions.utils import broadcast_all, standard_uniform

__all__ = ["Uniform"]


class Uniform(Distribution):
    r"""The uniform distribution on the half-open interval ``[low, high)``:

    .. math:: p(x) = \frac{1}{b - a} \quad \text{for } a \le x < b

    Args:
        low (float or Tensor): the lower bound :math:`a` (inclusive).
        high (float or Tensor): the upper bound :math:`b > a` (exclusive).
        validate_args (bool, optional): check arguments and values (see ``Distribution``).

    Example:
        >>> from ember.distributions import Uniform
        >>> Uniform(0.0, 4.0).log_prob(ember.tensor(1.0))
        tensor(-1.3863)
    """

    has_rsample = True

    def __init__(self, low, high, validate_args=None):
        self.low, self.high = broadcast_all(low, high)
        scalar = isinstance(low, numbers.Number) and isinstance(high, numbers.Number)
        batch_shape = Size() if scalar else self.low.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_params(Uniform, batch_shape, _instance, ("low", "high"))

    @property
    def arg_constraints(self):
        """``low < high``: each bound is constrained by the other."""
        return {"low": constraints.less_than(self.high),
                "high": constraints.greater_than(self.low)}

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        return constraints.interval(self.low, self.high)

    @property
    def mean(self):
        return (self.high + self.low) / 2

    @property
    def mode(self):
        return self.high * float("nan")

    @property
    def stddev(self):
        return (self.high - self.low) / 12 ** 0.5

    @property
    def variance(self):
        return (self.high - self.low).pow(2) / 12

    def rsample(self, sample_shape=Size()):
        """``low + u (high - low)`` with ``u`` uniform on ``[0, 1)``."""
        shape = self._extended_shape(sample_shape)
        u = standard_uniform(shape, self.low.dtype, self.low.device)
        return self.low + u * (self.high - self.low)

    def log_prob(self, value):
        r""":math:`-\log(b - a)` inside ``[low, high)``, :math:`-\infty` outside."""
        if self._validate_args:
            self._validate_sample(value)
        inside = (self.low <= value) & (self.high > value)
        return ember.where(inside, -ember.log(self.high - self.low), -float("inf"))

    def cdf(self, value):
        r""":math:`\mathrm{clamp}((x - a) / (b - a), 0, 1)`."""
        if self._validate_args:
            self._validate_sample(value)
        return ((value - self.low) / (self.high - self.low)).clamp(min=0, max=1)

    def icdf(self, value):
        """``low + p (high - low)``."""
        return value * (self.high - self.low) + self.low

    def entropy(self):
        r""":math:`\log(b - a)`."""
        return ember.log(self.high - self.low)
