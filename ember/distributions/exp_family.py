"""ExponentialFamily: distributions with densities ``h(x) exp(<t(x), theta> - F(theta))``."""

import ember
from ember.distributions.distribution import Distribution

__all__ = ["ExponentialFamily"]


class ExponentialFamily(Distribution):
    r"""Base class of exponential-family distributions, whose density is

    .. math:: p(x; \theta) = \exp(\langle t(x), \theta \rangle - F(\theta) + k(x))

    with natural parameters :math:`\theta`, sufficient statistic :math:`t(x)`, log
    normalizer :math:`F` and carrier measure :math:`k`. Subclasses give
    ``_natural_params``, ``_log_normalizer`` and ``_mean_carrier_measure``
    (:math:`E[k(x)]`); :meth:`entropy` then follows from autograd as

    .. math:: H = F(\theta) - \langle \theta, \nabla F(\theta) \rangle - E[k(x)].

    Subclasses with a closed form override :meth:`entropy`.
    """

    @property
    def _natural_params(self):
        """The natural parameters :math:`\\theta`, a tuple of tensors."""
        raise NotImplementedError

    def _log_normalizer(self, *natural_params):
        """The log normalizer :math:`F(\\theta)`, one value per batch element."""
        raise NotImplementedError

    @property
    def _mean_carrier_measure(self):
        """:math:`E[k(x)]` (a number or a tensor of shape ``batch_shape``)."""
        raise NotImplementedError

    def entropy(self):
        """The entropy from the log normalizer and its gradient (see the class docstring)."""
        params = [p.detach().requires_grad_() for p in self._natural_params]
        with ember.enable_grad():
            log_norm = self._log_normalizer(*params)
            grads = ember.autograd.grad(log_norm.sum(), params, create_graph=True)
        result = log_norm - self._mean_carrier_measure
        for theta, g in zip(params, grads):
            result = result - (theta * g).reshape(tuple(self._batch_shape) + (-1,)).sum(-1)
        return result
