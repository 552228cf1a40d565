"""The Laplace (double exponential) distribution."""

import math
import numbers

import ember
from ember import Size
from ember.distributions import constraints
from ember.distributions.distribution import Distribution
from ember.distributions.utils import broadcast_all, finfo, standard_uniform

__all__ = ["Laplace"]


class Laplace(Distribution):
    r"""The Laplace distribution with location ``loc`` and scale ``scale``:

    .. math:: p(x) = \frac{1}{2b} \exp\left(-\frac{|x - \mu|}{b}\right)

    Args:
        loc (float or Tensor): the location (mean and median) :math:`\mu`.
        scale (float or Tensor): the scale :math:`b > 0`.
        validate_args (bool, optional): check arguments and values (see ``Distribution``).

    Example:
        >>> from ember.distributions import Laplace
        >>> Laplace(0.0, 1.0).log_prob(ember.tensor(0.0))
        tensor(-0.6931)
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        scalar = isinstance(loc, numbers.Number) and isinstance(scale, numbers.Number)
        batch_shape = Size() if scalar else self.loc.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_params(Laplace, batch_shape, _instance, ("loc", "scale"))

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return 2 * self.scale.pow(2)

    @property
    def stddev(self):
        return math.sqrt(2) * self.scale

    def rsample(self, sample_shape=Size()):
        """Inverse-CDF sampling: ``loc - scale sign(u) log(1 - |u|)``, ``u`` uniform on
        ``(-1, 1)``."""
        shape = self._extended_shape(sample_shape)
        eps = float(finfo(self.loc.dtype).eps)
        u = standard_uniform(shape, self.loc.dtype, self.loc.device) * (2 - eps) - 1 + eps
        return self.loc - self.scale * u.sign() * ember.log1p(-u.abs())

    def log_prob(self, value):
        r""":math:`-\log(2b) - |x - \mu| / b`."""
        if self._validate_args:
            self._validate_sample(value)
        return -ember.log(2 * self.scale) - (value - self.loc).abs() / self.scale

    def cdf(self, value):
        r""":math:`\frac12 - \frac12 \mathrm{sign}(x - \mu)(e^{-|x - \mu| / b} - 1)`."""
        if self._validate_args:
            self._validate_sample(value)
        z = value - self.loc
        return 0.5 - 0.5 * z.sign() * ember.expm1(-z.abs() / self.scale)

    def icdf(self, value):
        r""":math:`\mu - b\, \mathrm{sign}(p - \frac12) \log(1 - 2|p - \frac12|)`."""
        term = value - 0.5
        return self.loc - self.scale * term.sign() * ember.log1p(-2 * term.abs())

    def entropy(self):
        r""":math:`1 + \log(2b)`."""
        return 1 + ember.log(2 * self.scale)
