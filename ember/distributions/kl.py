r"""Kullback-Leibler divergences between distributions:

.. math:: KL(p \,\|\, q) = \int p(x) \log\frac{p(x)}{q(x)}\, dx

:func:`kl_divergence` looks up a closed form registered for the two distribution types
with :func:`register_kl`; the most specific registered pair (by method resolution order)
wins, so subclasses inherit their bases' formulas.
"""

import warnings

import ember
from ember.distributions.bernoulli import Bernoulli
from ember.distributions.beta import Beta
from ember.distributions.categorical import Categorical
from ember.distributions.dirichlet import Dirichlet
from ember.distributions.distribution import Distribution
from ember.distributions.exponential import Exponential
from ember.distributions.gamma import Gamma
from ember.distributions.independent import Independent
from ember.distributions.laplace import Laplace
from ember.distributions.multivariate_normal import (MultivariateNormal, _batch_mahalanobis,
                                                     _half_log_det)
from ember.distributions.normal import Normal
from ember.distributions.uniform import Uniform
from ember.distributions.utils import softplus, sum_rightmost

__all__ = ["kl_divergence", "register_kl"]

_KL_REGISTRY = {}  # (type_p, type_q) -> fn(p, q)
_KL_MEMOIZE = {}  # (type(p), type(q)) -> the fn chosen for them


def register_kl(type_p, type_q):
    """Decorator registering ``fn(p, q)`` as the KL divergence of ``type_p`` from ``type_q``.

    Args:
        type_p (type): a subclass of ``Distribution`` (the first argument).
        type_q (type): a subclass of ``Distribution`` (the second argument).

    Example:
        >>> from ember.distributions import Normal, register_kl
        >>> class MyNormal(Normal):
        ...     pass
        >>> @register_kl(MyNormal, MyNormal)
        ... def _kl_mine(p, q):
        ...     return ember.zeros(p.batch_shape)
    """
    for name, t in (("type_p", type_p), ("type_q", type_q)):
        if not (isinstance(t, type) and issubclass(t, Distribution)):
            raise TypeError(f"Expected {name} to be a Distribution subclass but got {t}")

    def decorator(fn):
        _KL_REGISTRY[type_p, type_q] = fn
        _KL_MEMOIZE.clear()  # a new pair may be more specific than a cached choice
        return fn

    return decorator


def _dispatch_kl(type_p, type_q):
    """The registered function for the most specific pair of bases of the two types."""
    mro_p, mro_q = type_p.__mro__, type_q.__mro__
    ranks = [((mro_p.index(p), mro_q.index(q)), (p, q)) for p, q in _KL_REGISTRY
             if p in mro_p and q in mro_q]
    if not ranks:
        return NotImplemented
    left = min(ranks)[1]
    right = min(ranks, key=lambda r: (r[0][1], r[0][0]))[1]
    if left != right:
        warnings.warn(f"Ambiguous kl_divergence({type_p.__name__}, {type_q.__name__}). "
                      f"Please register_kl({left[0].__name__}, {right[1].__name__})",
                      RuntimeWarning)
    return _KL_REGISTRY[left]


def kl_divergence(p, q):
    r""":math:`KL(p \| q)`, one value per batch element.

    Args:
        p (Distribution): the first distribution.
        q (Distribution): the second distribution.

    Raises:
        NotImplementedError: if no formula is registered for these types.

    Example:
        >>> from ember.distributions import Normal, kl_divergence
        >>> kl_divergence(Normal(0.0, 1.0), Normal(1.0, 1.0))
        tensor(0.5000)
    """
    key = (type(p), type(q))
    fn = _KL_MEMOIZE.get(key)
    if fn is None:
        fn = _KL_MEMOIZE[key] = _dispatch_kl(type(p), type(q))
    if fn is NotImplemented:
        raise NotImplementedError(f"No KL(p || q) is implemented for p type "
                                  f"{p.__class__.__name__} and q type "
                                  f"{q.__class__.__name__}")
    return fn(p, q)


def _inf_where(mask, value):
    return ember.where(mask, float("inf"), value)


@register_kl(Normal, Normal)
def _kl_normal_normal(p, q):
    r""":math:`\frac12\left(\frac{\sigma_p^2}{\sigma_q^2}
    + \frac{(\mu_p - \mu_q)^2}{\sigma_q^2} - 1 - \log\frac{\sigma_p^2}{\sigma_q^2}\right)`."""
    var_ratio = (p.scale / q.scale).pow(2)
    t1 = ((p.loc - q.loc) / q.scale).pow(2)
    return 0.5 * (var_ratio + t1 - 1 - ember.log(var_ratio))


@register_kl(MultivariateNormal, MultivariateNormal)
def _kl_mvn_mvn(p, q):
    r""":math:`\frac12\left(\mathrm{tr}(\Sigma_q^{-1}\Sigma_p) + (\mu_q - \mu_p)^\top
    \Sigma_q^{-1} (\mu_q - \mu_p) - k\right) + \sum\log L_{q,ii} - \sum\log L_{p,ii}`, with
    the trace as :math:`\|L_q^{-1} L_p\|_F^2`."""
    if p.event_shape != q.event_shape:
        raise ValueError("KL-divergence between two Multivariate Normals with different "
                         "event shapes cannot be computed")
    Lp, Lq = p._unbroadcasted_scale_tril, q._unbroadcasted_scale_tril
    half_log_det_ratio = _half_log_det(Lq) - _half_log_det(Lp)
    trace = ember.linalg.solve_triangular(Lq, Lp, upper=False).pow(2).sum((-2, -1))
    maha = _batch_mahalanobis(Lq, q.loc - p.loc)
    k = p.event_shape[0]
    out = half_log_det_ratio + 0.5 * (trace + maha - k)
    batch = ember.broadcast_shapes(tuple(p.batch_shape), tuple(q.batch_shape))
    return out.expand(tuple(batch))


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p, q):
    r""":math:`\sum_i p_i (\log p_i - \log q_i)`: :math:`\infty` if some :math:`q_i = 0 < p_i`;
    terms with :math:`p_i = 0` count as 0."""
    t = p.probs * (p.logits - q.logits)
    t = _inf_where((q.probs == 0).expand_as(t), t)
    t = ember.where((p.probs == 0).expand_as(t), 0.0, t)
    return t.sum(-1)


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p, q):
    r""":math:`p\log\frac{p}{q} + (1 - p)\log\frac{1 - p}{1 - q}`, from the logits
    (:math:`\log p = -\mathrm{softplus}(-\ell_p)`, :math:`\log(1 - p) =
    -\mathrm{softplus}(\ell_p)`)."""
    t1 = p.probs * (softplus(-q.logits) - softplus(-p.logits))
    t1 = ember.where(p.probs == 0, 0.0, _inf_where(q.probs == 0, t1))
    t2 = (1 - p.probs) * (softplus(q.logits) - softplus(p.logits))
    t2 = ember.where(p.probs == 1, 0.0, _inf_where(q.probs == 1, t2))
    return t1 + t2


@register_kl(Beta, Beta)
def _kl_beta_beta(p, q):
    r""":math:`\log\frac{B(\alpha_q, \beta_q)}{B(\alpha_p, \beta_p)}
    + (\alpha_p - \alpha_q)\psi(\alpha_p) + (\beta_p - \beta_q)\psi(\beta_p)
    + (\alpha_q - \alpha_p + \beta_q - \beta_p)\psi(\alpha_p + \beta_p)`."""
    sum_p = p.concentration1 + p.concentration0
    sum_q = q.concentration1 + q.concentration0
    t1 = (ember.lgamma(q.concentration1) + ember.lgamma(q.concentration0)
          + ember.lgamma(sum_p))
    t2 = (ember.lgamma(p.concentration1) + ember.lgamma(p.concentration0)
          + ember.lgamma(sum_q))
    t3 = (p.concentration1 - q.concentration1) * ember.digamma(p.concentration1)
    t4 = (p.concentration0 - q.concentration0) * ember.digamma(p.concentration0)
    t5 = (sum_q - sum_p) * ember.digamma(sum_p)
    return t1 - t2 + t3 + t4 + t5


@register_kl(Gamma, Gamma)
def _kl_gamma_gamma(p, q):
    r""":math:`\alpha_q\log\frac{\beta_p}{\beta_q} + \log\frac{\Gamma(\alpha_q)}
    {\Gamma(\alpha_p)} + (\alpha_p - \alpha_q)\psi(\alpha_p)
    + (\beta_q - \beta_p)\frac{\alpha_p}{\beta_p}`."""
    t1 = q.concentration * ember.log(p.rate / q.rate)
    t2 = ember.lgamma(q.concentration) - ember.lgamma(p.concentration)
    t3 = (p.concentration - q.concentration) * ember.digamma(p.concentration)
    t4 = (q.rate - p.rate) * (p.concentration / p.rate)
    return t1 + t2 + t3 + t4


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p, q):
    r""":math:`\log\frac{b_q - a_q}{b_p - a_p}` if :math:`[a_p, b_p] \subseteq [a_q, b_q]`,
    else :math:`\infty`."""
    result = ember.log((q.high - q.low) / (p.high - p.low))
    return _inf_where((q.low > p.low) | (q.high < p.high), result)


@register_kl(Laplace, Laplace)
def _kl_laplace_laplace(p, q):
    r""":math:`\log\frac{b_q}{b_p} + \frac{|\mu_p - \mu_q|}{b_q}
    + \frac{b_p}{b_q} e^{-|\mu_p - \mu_q| / b_p} - 1`."""
    scale_ratio = p.scale / q.scale
    loc_abs_diff = (p.loc - q.loc).abs()
    t1 = -ember.log(scale_ratio)
    t2 = loc_abs_diff / q.scale
    t3 = scale_ratio * ember.exp(-loc_abs_diff / p.scale)
    return t1 + t2 + t3 - 1


@register_kl(Exponential, Exponential)
def _kl_exponential_exponential(p, q):
    r""":math:`\log\frac{\lambda_p}{\lambda_q} + \frac{\lambda_q}{\lambda_p} - 1`."""
    rate_ratio = q.rate / p.rate
    return -ember.log(rate_ratio) + rate_ratio - 1


@register_kl(Dirichlet, Dirichlet)
def _kl_dirichlet_dirichlet(p, q):
    r""":math:`\log\Gamma(\alpha_{p,0}) - \log\Gamma(\alpha_{q,0})
    - \sum_i \left(\log\Gamma(\alpha_{p,i}) - \log\Gamma(\alpha_{q,i})\right)
    + \sum_i (\alpha_{p,i} - \alpha_{q,i})(\psi(\alpha_{p,i}) - \psi(\alpha_{p,0}))`."""
    sum_p = p.concentration.sum(-1)
    sum_q = q.concentration.sum(-1)
    t1 = ember.lgamma(sum_p) - ember.lgamma(sum_q)
    t2 = (ember.lgamma(p.concentration) - ember.lgamma(q.concentration)).sum(-1)
    t3 = p.concentration - q.concentration
    t4 = ember.digamma(p.concentration) - ember.digamma(sum_p).unsqueeze(-1)
    return t1 - t2 + (t3 * t4).sum(-1)


@register_kl(Exponential, Gamma)
def _kl_exponential_gamma(p, q):
    r"""KL of Exponential(:math:`\lambda`) from Gamma(:math:`\alpha, \beta`):
    :math:`-\log\lambda - 1 + \log\Gamma(\alpha) - \alpha\log\beta
    + (\alpha - 1)(\log\lambda + \gamma) + \beta / \lambda`, with :math:`\gamma` the
    Euler-Mascheroni constant (:math:`E[\log x] = -\log\lambda - \gamma`)."""
    ratio = q.rate / p.rate
    t1 = -q.concentration * ember.log(ratio)
    return (t1 + ratio + ember.lgamma(q.concentration)
            + q.concentration * _EULER_GAMMA - (1 + _EULER_GAMMA))


@register_kl(Independent, Independent)
def _kl_independent_independent(p, q):
    """The base divergence summed over the reinterpreted dimensions (which must match)."""
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError
    result = kl_divergence(p.base_dist, q.base_dist)
    return sum_rightmost(result, p.reinterpreted_batch_ndims)


_EULER_GAMMA = 0.57721566490153286060
