"""The categorical distribution over ``{0, ..., K - 1}``."""

import ember
from ember import Size
from ember.distributions import constraints
from ember.distributions.distribution import Distribution
from ember.distributions.utils import (finfo, lazy_property, log_softmax, logits_to_probs,
                                       probs_to_logits, standard_uniform)

__all__ = ["Categorical"]


class Categorical(Distribution):
    r"""The categorical distribution over ``{0, ..., K - 1}`` with :math:`P(x = i) = p_i`.

    Give exactly one of ``probs`` (nonnegative, normalised here to sum to 1) or ``logits``
    (unnormalised log probabilities, normalised here by subtracting their ``logsumexp``),
    each with the ``K`` categories in the last dimension.

    Args:
        probs (Tensor): event probabilities, at least one-dimensional.
        logits (Tensor): event log-odds, at least one-dimensional.
        validate_args (bool, optional): check arguments and values (see ``Distribution``).

    Example:
        >>> from ember.distributions import Categorical
        >>> d = Categorical(probs=ember.tensor([1.0, 3.0]))
        >>> d.probs
        tensor([0.2500, 0.7500])
        >>> d.log_prob(ember.tensor(1))
        tensor(-0.2877)
    """

    arg_constraints = {"probs": constraints.simplex,
                       "logits": constraints.independent(constraints.real, 1)}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            if probs.dim() < 1:
                raise ValueError("`probs` parameter must be at least one-dimensional.")
            self.probs = probs / probs.sum(-1, keepdim=True)
        else:
            if logits.dim() < 1:
                raise ValueError("`logits` parameter must be at least one-dimensional.")
            self.logits = log_softmax(logits)
        self._param = self.probs if probs is not None else self.logits
        self._num_events = self._param.size(-1)
        batch_shape = self._param.shape[:-1] if self._param.dim() > 1 else Size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._expand_params(Categorical, batch_shape, _instance,
                                  ("probs", "logits"), event_dims=1)
        new._param = new.probs if "probs" in self.__dict__ else new.logits
        new._num_events = self._num_events
        return new

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self._num_events - 1)

    @lazy_property
    def logits(self):
        """Normalised log probabilities (``log(probs)``, clamped away from ``-inf``)."""
        return probs_to_logits(self.probs)

    @lazy_property
    def probs(self):
        """Normalised probabilities (``softmax(logits)``)."""
        return logits_to_probs(self.logits)

    @property
    def param_shape(self):
        return self._param.size()

    @property
    def mean(self):
        return ember.full(tuple(self._extended_shape()), float("nan"), dtype=self.probs.dtype,
                          device=self.probs.device)

    @property
    def mode(self):
        return self.probs.argmax(-1)

    @property
    def variance(self):
        return ember.full(tuple(self._extended_shape()), float("nan"), dtype=self.probs.dtype,
                          device=self.probs.device)

    def sample(self, sample_shape=Size()):
        """Category indices (int64) by inverting the CDF at uniform draws."""
        shape = tuple(self._extended_shape(sample_shape))
        with ember.no_grad():
            cdf = self.probs.cumsum(-1)
            u = standard_uniform(shape, cdf.dtype, cdf.device).unsqueeze(-1) * cdf[..., -1:]
            index = (u >= cdf).sum(-1)
            return index.clamp(max=self._num_events - 1).to(ember.int64)

    def log_prob(self, value):
        r""":math:`\log p_x`, the normalised logit of category ``value``."""
        if self._validate_args:
            self._validate_sample(value)
        value = value.long().unsqueeze(-1)
        value, log_pmf = ember.broadcast_tensors(value, self.logits)
        return log_pmf.gather(-1, value[..., :1]).squeeze(-1)

    def entropy(self):
        r""":math:`-\sum_i p_i \log p_i` (terms with :math:`p_i = 0` count as 0)."""
        logits = self.logits.clamp(min=float(finfo(self.logits.dtype).min))
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand=True):
        """``0, ..., K - 1`` along dim 0 (int64), expanded over ``batch_shape`` if asked."""
        n_batch = len(self._batch_shape)
        values = ember.arange(self._num_events, dtype=ember.int64, device=self._param.device)
        values = values.view((-1,) + (1,) * n_batch)
        if expand:
            values = values.expand((-1,) + tuple(self._batch_shape))
        return values
