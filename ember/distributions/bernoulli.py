"""The Bernoulli distribution over ``{0, 1}``."""

import numbers

import ember
from ember import Size
from ember.distributions import constraints
from ember.distributions.exp_family import ExponentialFamily
from ember.distributions.utils import (bce_with_logits, broadcast_all, lazy_property,
                                       logits_to_probs, probs_to_logits, softplus,
                                       standard_uniform)

__all__ = ["Bernoulli"]


class Bernoulli(ExponentialFamily):
    r"""The Bernoulli distribution: :math:`P(x = 1) = p`, :math:`P(x = 0) = 1 - p`.

    Give exactly one of ``probs`` (:math:`p`) or ``logits``
    (:math:`\ell = \log\frac{p}{1 - p}`). ``log_prob`` works from the logits,

    .. math:: \log P(x) = x\ell - \log(1 + e^\ell),

    which stays finite and accurate where :math:`p` is close to 0 or 1.

    Args:
        probs (float or Tensor): the probability of 1.
        logits (float or Tensor): the log-odds of 1.
        validate_args (bool, optional): check arguments and values (see ``Distribution``).

    Example:
        >>> from ember.distributions import Bernoulli
        >>> Bernoulli(logits=ember.tensor(0.0)).log_prob(ember.tensor(1.0))
        tensor(-0.6931)
    """

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True
    _mean_carrier_measure = 0

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            scalar = isinstance(probs, numbers.Number)
            (self.probs,) = broadcast_all(probs)
        else:
            scalar = isinstance(logits, numbers.Number)
            (self.logits,) = broadcast_all(logits)
        self._param = self.probs if probs is not None else self.logits
        batch_shape = Size() if scalar else self._param.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._expand_params(Bernoulli, batch_shape, _instance, ("probs", "logits"))
        new._param = new.probs if "probs" in self.__dict__ else new.logits
        return new

    @lazy_property
    def logits(self):
        """The log-odds ``log(p) - log(1 - p)`` (with ``p`` clamped away from 0 and 1)."""
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        """The probability of 1: ``sigmoid(logits)``."""
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def param_shape(self):
        return self._param.size()

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        """1 where ``p > 1/2``, 0 where ``p < 1/2``, NaN where ``p = 1/2``."""
        mode = (self.probs >= 0.5).to(self.probs.dtype)
        return ember.where(self.probs == 0.5, float("nan"), mode)

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=Size()):
        """Draws of 0.0 or 1.0 (in the parameters' dtype)."""
        shape = tuple(self._extended_shape(sample_shape))
        with ember.no_grad():
            probs = self.probs.expand(shape)
            u = standard_uniform(shape, probs.dtype, probs.device)
            return (u < probs).to(probs.dtype)

    def log_prob(self, value):
        r""":math:`x\ell - \mathrm{softplus}(\ell)`, computed as a stable binary cross
        entropy with logits."""
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return -bce_with_logits(logits, value)

    def entropy(self):
        r""":math:`-p\log p - (1 - p)\log(1 - p) = \mathrm{softplus}(\ell) - p\ell`."""
        return bce_with_logits(self.logits, self.probs)

    def enumerate_support(self, expand=True):
        """``0.0, 1.0`` along dim 0, expanded over ``batch_shape`` if asked."""
        values = ember.arange(2, dtype=self._param.dtype, device=self._param.device)
        values = values.view((-1,) + (1,) * len(self._batch_shape))
        if expand:
            values = values.expand((-1,) + tuple(self._batch_shape))
        return values

    @property
    def _natural_params(self):
        return (ember.log(self.probs / (1 - self.probs)),)

    def _log_normalizer(self, x):
        return softplus(x)
