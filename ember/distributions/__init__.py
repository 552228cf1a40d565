"""``ember.distributions``: probability distributions with PyTorch's API.

Each distribution has a ``batch_shape`` (independent, differently parameterised copies)
and an ``event_shape`` (the shape of one draw); it samples (``sample``, and ``rsample``
with gradients flowing to the parameters where ``has_rsample``), scores (``log_prob``,
``cdf``, ``icdf``), and summarises itself (``mean``, ``mode``, ``variance``,
``entropy``). :func:`kl_divergence` gives closed-form divergences between pairs of
distributions registered with :func:`register_kl`. Samples come from ember's random
generator, so ``ember.manual_seed`` makes them reproducible.

Parameters and values are checked against their ``constraints`` (raising ``ValueError``)
unless ``validate_args=False`` or ``Distribution.set_default_validate_args(False)``.

Example:
    >>> import ember
    >>> from ember.distributions import Normal, kl_divergence
    >>> p = Normal(ember.tensor([0.0, 1.0]), ember.tensor([1.0, 2.0]))
    >>> p.sample((5,)).shape
    ember.Size([5, 2])
    >>> p.log_prob(ember.tensor([0.0, 1.0]))
    tensor([-0.9189, -1.6121])
    >>> kl_divergence(p, Normal(0.0, 1.0))
    tensor([0.0000, 1.3069])
"""

from ember.distributions import constraints
from ember.distributions.bernoulli import Bernoulli
from ember.distributions.beta import Beta
from ember.distributions.categorical import Categorical
from ember.distributions.dirichlet import Dirichlet
from ember.distributions.distribution import Distribution
from ember.distributions.exp_family import ExponentialFamily
from ember.distributions.exponential import Exponential
from ember.distributions.gamma import Gamma
from ember.distributions.independent import Independent
from ember.distributions.kl import kl_divergence, register_kl
from ember.distributions.laplace import Laplace
from ember.distributions.multivariate_normal import MultivariateNormal
from ember.distributions.normal import Normal
from ember.distributions.uniform import Uniform

__all__ = ["Bernoulli", "Beta", "Categorical", "Dirichlet", "Distribution", "Exponential",
           "ExponentialFamily", "Gamma", "Independent", "Laplace", "MultivariateNormal",
           "Normal", "Uniform", "constraints", "kl_divergence", "register_kl"]
