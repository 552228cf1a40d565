"""ember.distributions against torch.distributions on the same parameters.

One table of cases (a builder run identically with ``D = ember.distributions`` and
``D = torch.distributions``, parameters, and values in the support) drives the checks of
log_prob, statistics, entropy, gradients, shapes and sampling. Samples come from different
random streams, so they are compared statistically.
"""

import math
import warnings

import numpy as np
import pytest

import ember
from ember.distributions import constraints as C

torch = pytest.importorskip("torch")
import torch.distributions as TD  # noqa: E402

import ember.distributions as ED  # noqa: E402

RTOL, ATOL = 1e-6, 1e-9
R = np.random.default_rng(1234)


# -- parameters and values (float64 NumPy) -------------------------------------------------

def real(*shape):
    return R.normal(size=shape)


def pos(*shape):
    return 0.5 + 2.0 * R.random(shape)


def unit(*shape):
    return 0.05 + 0.9 * R.random(shape)


def spd(*shape):
    a = R.normal(size=shape)
    return a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])


def tril(*shape):
    m = np.tril(R.normal(size=shape))
    d = np.arange(shape[-1])
    m[..., d, d] = pos(*shape[:-1])
    return m


def simplex(*shape):
    g = R.gamma(2.0, size=shape)
    return g / g.sum(-1, keepdims=True)


class Case:
    """A distribution: ``build(D, **params)`` and ``value(params, shape)`` in its support.

    ``shape`` passed to ``value`` is ``sample_shape + batch_shape`` (without the event).
    """

    def __init__(self, name, build, params, value, cdf=False, icdf=False, rsample=True,
                 no_grad=()):
        self.name, self.build, self.params, self.value = name, build, params, value
        self.cdf, self.icdf, self.rsample, self.no_grad = cdf, icdf, rsample, no_grad

    def make(self, D, m, requires_grad=False):
        ps = {k: m.tensor(v, requires_grad=requires_grad) if isinstance(v, np.ndarray) else v
              for k, v in self.params.items()}
        return self.build(D, **ps), ps

    def __repr__(self):
        return self.name


def _uniform_value(p, shape):
    low, high = p["low"], p["high"]
    return low + R.random(shape) * (high - low)


CASES = [
    Case("normal", lambda D, loc, scale: D.Normal(loc, scale),
         {"loc": real(2, 3), "scale": pos(2, 3)}, lambda p, s: R.normal(size=s) * 2,
         cdf=True, icdf=True),
    Case("normal_number_scale", lambda D, loc, scale: D.Normal(loc, scale),
         {"loc": real(3), "scale": 1.7}, lambda p, s: R.normal(size=s), cdf=True, icdf=True),
    Case("mvn_cov", lambda D, loc, cov: D.MultivariateNormal(loc, covariance_matrix=cov),
         {"loc": real(2, 3), "cov": spd(3, 3)}, lambda p, s: R.normal(size=s + (3,))),
    Case("mvn_tril", lambda D, loc, L: D.MultivariateNormal(loc, scale_tril=L),
         {"loc": real(3), "L": tril(2, 3, 3)}, lambda p, s: R.normal(size=s + (3,))),
    Case("mvn_prec", lambda D, loc, P: D.MultivariateNormal(loc, precision_matrix=P),
         {"loc": real(2, 3), "P": spd(2, 3, 3)}, lambda p, s: R.normal(size=s + (3,))),
    Case("categorical_probs", lambda D, probs: D.Categorical(probs=probs),
         {"probs": pos(2, 4)}, lambda p, s: R.integers(0, 4, size=s).astype(np.float64),
         rsample=False),
    Case("categorical_logits", lambda D, logits: D.Categorical(logits=logits),
         {"logits": real(3, 4)}, lambda p, s: R.integers(0, 4, size=s).astype(np.float64),
         rsample=False),
    Case("bernoulli_probs", lambda D, probs: D.Bernoulli(probs=probs),
         {"probs": unit(3)}, lambda p, s: R.integers(0, 2, size=s).astype(np.float64),
         rsample=False),
    Case("bernoulli_logits", lambda D, logits: D.Bernoulli(logits=logits),
         {"logits": real(2, 3) * 3}, lambda p, s: R.integers(0, 2, size=s).astype(np.float64),
         rsample=False),
    Case("beta", lambda D, a, b: D.Beta(a, b), {"a": pos(3), "b": pos(3)},
         lambda p, s: unit(*s)),
    Case("gamma", lambda D, c, r: D.Gamma(c, r), {"c": pos(2, 3), "r": pos(2, 3)},
         lambda p, s: pos(*s), cdf=True),
    Case("uniform", lambda D, low, high: D.Uniform(low, high),
         {"low": real(3), "high": real(3) + 5}, _uniform_value, cdf=True, icdf=True),
    Case("laplace", lambda D, loc, scale: D.Laplace(loc, scale),
         {"loc": real(2, 3), "scale": pos(2, 3)}, lambda p, s: R.normal(size=s) * 2,
         cdf=True, icdf=True),
    Case("exponential", lambda D, rate: D.Exponential(rate), {"rate": pos(4)},
         lambda p, s: pos(*s), cdf=True, icdf=True),
    Case("dirichlet", lambda D, c: D.Dirichlet(c), {"c": pos(2, 4)},
         lambda p, s: simplex(*s, 4)),
    Case("independent_normal", lambda D, loc, scale: D.Independent(D.Normal(loc, scale), 1),
         {"loc": real(2, 3), "scale": pos(2, 3)}, lambda p, s: R.normal(size=s + (3,))),
]


def _np(t):
    return t.detach().numpy() if hasattr(t, "detach") else np.asarray(t)


def close(a, b, rtol=RTOL, atol=ATOL):
    np.testing.assert_allclose(_np(a), _np(b), rtol=rtol, atol=atol, equal_nan=True)


def pair(case, requires_grad=False):
    """The case's distribution in ember and in torch, with their parameter tensors."""
    e, ep = case.make(ED, ember, requires_grad)
    t, tp = case.make(TD, torch, requires_grad)
    return e, ep, t, tp


def values(case, t, sample_shape=(5,)):
    full = tuple(sample_shape) + tuple(t.batch_shape)
    return case.value(case.params, full)


# -- values vs torch ---------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=repr)
def test_log_prob_and_statistics(case):
    e, _, t, _ = pair(case)
    x = values(case, t)
    close(e.log_prob(ember.tensor(x)), t.log_prob(torch.tensor(x)))
    close(e.entropy(), t.entropy())
    close(e.perplexity(), t.perplexity())
    for name in ("mean", "variance", "stddev", "mode"):
        close(getattr(e, name), getattr(t, name))
    assert e.batch_shape == tuple(t.batch_shape) and e.event_shape == tuple(t.event_shape)
    assert type(e.batch_shape) is ember.Size


@pytest.mark.parametrize("case", [c for c in CASES if c.cdf or c.icdf], ids=repr)
def test_cdf_icdf(case):
    e, _, t, _ = pair(case)
    if case.cdf:
        x = values(case, t)
        close(e.cdf(ember.tensor(x)), t.cdf(torch.tensor(x)))
    if case.icdf:
        u = unit(5, *t.batch_shape)
        close(e.icdf(ember.tensor(u)), t.icdf(torch.tensor(u)))
        close(e.cdf(e.icdf(ember.tensor(u))), u)


@pytest.mark.parametrize("case", CASES, ids=repr)
@pytest.mark.parametrize("what", ["log_prob", "entropy"])
def test_log_prob_entropy_gradients(case, what):
    e, ep, t, tp = pair(case, requires_grad=True)
    x = values(case, t)
    out_e = e.log_prob(ember.tensor(x)) if what == "log_prob" else e.entropy()
    out_t = t.log_prob(torch.tensor(x)) if what == "log_prob" else t.entropy()
    assert out_e.requires_grad == out_t.requires_grad
    if out_t.requires_grad:
        ge, gt = _grads(out_e, ep), _grads(out_t, tp)
        for k in gt:
            close(ge[k], gt[k], rtol=1e-5)


def _grads(out, params):
    ts = {k: v for k, v in params.items() if hasattr(v, "grad")}
    m = ember if isinstance(out, ember.Tensor) else torch
    loss = (out * m.tensor(_weights(out.shape))).sum()
    gs = m.autograd.grad(loss, list(ts.values()), allow_unused=True)
    return {k: (np.zeros(v.shape) if g is None else _np(g)) for (k, v), g in zip(ts.items(),
                                                                                 gs)}


def _weights(shape):
    return np.linspace(0.5, 1.5, int(np.prod(shape))).reshape(tuple(shape))


@pytest.mark.parametrize("name", ["normal", "beta", "gamma", "dirichlet", "mvn_tril",
                                  "bernoulli_logits"])
def test_log_prob_second_order(name):
    case = next(c for c in CASES if c.name == name)
    e, ep, t, tp = pair(case, requires_grad=True)
    x = values(case, t)
    outs = []
    for d, m, ps in ((e, ember, ep), (t, torch, tp)):
        ts = [v for v in ps.values() if hasattr(v, "grad")]
        lp = d.log_prob(m.tensor(x)).sum()
        (g,) = m.autograd.grad(lp, ts[:1], create_graph=True)
        outs.append([_np(h) for h in m.autograd.grad((g * g).sum(), ts)])
    for a, b in zip(*outs):
        close(a, b, rtol=1e-5)


# -- shapes ----------------------------------------------------------------------------

@pytest.mark.parametrize("sample_shape", [(), (4,), (2, 3)])
@pytest.mark.parametrize("case", CASES, ids=repr)
def test_sample_shapes_and_dtypes(case, sample_shape):
    e, _, t, _ = pair(case)
    s = e.sample(sample_shape)
    assert s.shape == tuple(t.sample(sample_shape).shape)
    assert s.dtype == ember.int64 if "categorical" in case.name else s.dtype == ember.float64
    assert not s.requires_grad
    assert e.log_prob(s).shape == tuple(t.log_prob(t.sample(sample_shape)).shape)
    if case.rsample:
        assert e.has_rsample and e.rsample(sample_shape).shape == s.shape
    else:
        assert not e.has_rsample
        with pytest.raises(NotImplementedError):
            e.rsample(sample_shape)


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_expand(case):
    e, _, t, _ = pair(case)
    shape = (4,) + tuple(t.batch_shape)
    ee, te = e.expand(shape), t.expand(shape)
    assert type(ee) is type(e) and ee.batch_shape == tuple(te.batch_shape)
    assert ee.event_shape == tuple(te.event_shape)
    x = values(case, te, ())
    close(ee.log_prob(ember.tensor(x)), te.log_prob(torch.tensor(x)))
    assert ee.sample((2,)).shape == tuple(te.sample((2,)).shape)
    close(ee.entropy(), te.entropy())


def test_float32_parameters_give_float32():
    d = ED.Normal(ember.zeros(3), 1.0)
    assert d.loc.dtype == d.scale.dtype == ember.float32
    assert d.sample().dtype == d.rsample((2,)).dtype == ember.float32
    for dist in (ED.Gamma(ember.ones(2), 1.0), ED.Beta(2.0, 3.0), ED.Exponential(1.0),
                 ED.Dirichlet(ember.ones(3)), ED.Bernoulli(0.3), ED.Laplace(0.0, 1.0)):
        assert dist.sample((3,)).dtype == ember.float32, dist
    assert ED.Normal(0.0, 1.0).batch_shape == () and ED.Bernoulli(0.3).probs.dtype == \
        ember.float32


def test_mvn_parameterisations_agree():
    loc, cov = real(2, 3), spd(2, 3, 3)
    L = np.linalg.cholesky(cov)
    a = ED.MultivariateNormal(ember.tensor(loc), covariance_matrix=ember.tensor(cov))
    b = ED.MultivariateNormal(ember.tensor(loc),
                              precision_matrix=ember.tensor(np.linalg.inv(cov)))
    c = ED.MultivariateNormal(ember.tensor(loc), scale_tril=ember.tensor(L))
    x = ember.tensor(real(5, 2, 3))
    for d in (a, b, c):
        close(d.scale_tril, L, rtol=1e-6)
        close(d.covariance_matrix, cov, rtol=1e-6)
        close(d.precision_matrix, np.linalg.inv(cov), rtol=1e-6)
        close(d.log_prob(x), a.log_prob(x))
    with pytest.raises(ValueError, match="Exactly one"):
        ED.MultivariateNormal(ember.zeros(2))
    with pytest.raises(ValueError, match="at least one-dimensional"):
        ED.MultivariateNormal(ember.tensor(0.0), ember.eye(2))
    bad = ember.tensor([[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(ValueError, match="PositiveDefinite"):
        ED.MultivariateNormal(ember.zeros(2), bad)


def test_mvn_covariance_gradient():
    loc, cov = real(3), spd(3, 3)
    x = real(4, 3)
    gs = []
    for D, m in ((ED, ember), (TD, torch)):
        c = m.tensor(cov, requires_grad=True)
        lp = D.MultivariateNormal(m.tensor(loc), c).log_prob(m.tensor(x)).sum()
        (g,) = m.autograd.grad(lp, [c])
        gs.append(_np(g))
    # only the symmetric part is meaningful (both triangles describe one matrix)
    close(gs[0] + gs[0].T, gs[1] + gs[1].T, rtol=1e-5)


# -- sampling --------------------------------------------------------------------------

N = 20000


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_sample_statistics(case):
    e, _, t, _ = pair(case)
    s = _np(e.sample((N,)))
    if "categorical" in case.name:
        freq = np.stack([(s == k).mean(0) for k in range(4)], -1)
        close(freq, t.probs, rtol=0, atol=0.02)
        return
    mean, var = _np(t.mean), _np(t.variance)
    se = np.sqrt(var / N)
    assert np.all(np.abs(s.mean(0) - mean) < 5 * se + 1e-12), case
    close(s.var(0), var, rtol=0.1, atol=1e-4)
    assert bool(t.support.check(torch.tensor(s)).all())


def test_mvn_sample_covariance():
    cov = spd(3, 3)
    d = ED.MultivariateNormal(ember.tensor(real(3)), ember.tensor(cov))
    s = _np(d.sample((N,)))
    close(np.cov(s.T), cov, rtol=0.1, atol=0.05)


def test_samples_reproducible_under_manual_seed():
    dists = [ED.Normal(ember.zeros(3), 1.0), ED.Gamma(ember.ones(3), 2.0),
             ED.Categorical(ember.ones(4)), ED.Bernoulli(0.5), ED.Dirichlet(ember.ones(3)),
             ED.Exponential(1.0), ED.Uniform(0.0, 1.0), ED.Laplace(0.0, 1.0)]
    draws = []
    for _ in range(2):
        ember.manual_seed(7)
        draws.append([_np(d.sample((3,))) for d in dists])
    for a, b in zip(*draws):
        np.testing.assert_array_equal(a, b)


# -- reparameterised gradients ------------------------------------------------------------

def _rsample_grads(D, m, build, params, f, batches=10, n=2000):
    """The mean and standard error, over batches, of Monte Carlo gradients of E[f(x)]."""
    ps = {k: m.tensor(v, requires_grad=True) for k, v in params.items()}
    out = {k: [] for k in ps}
    for _ in range(batches):
        x = build(D, **ps).rsample((n,))
        for k, g in zip(ps, m.autograd.grad(f(x).mean(), list(ps.values()))):
            out[k].append(_np(g))
    return {k: (np.mean(v, 0), np.std(v, 0) / np.sqrt(batches)) for k, v in out.items()}


@pytest.mark.parametrize("name,build,params", [
    ("normal", lambda D, a, b: D.Normal(a, b), {"a": real(3), "b": pos(3)}),
    ("laplace", lambda D, a, b: D.Laplace(a, b), {"a": real(3), "b": pos(3)}),
    ("uniform", lambda D, a, b: D.Uniform(a, a + b), {"a": real(3), "b": pos(3)}),
    ("exponential", lambda D, r: D.Exponential(r), {"r": pos(3)}),
    ("gamma", lambda D, c, r: D.Gamma(c, r), {"c": np.array([0.3, 1.0, 4.0]), "r": pos(3)}),
    ("beta", lambda D, a, b: D.Beta(a, b), {"a": np.array([0.5, 1.0, 3.0]),
                                            "b": np.array([2.0, 0.7, 3.0])}),
    ("dirichlet", lambda D, c: D.Dirichlet(c), {"c": np.array([0.5, 1.0, 3.0])}),
    ("mvn", lambda D, a, L: D.MultivariateNormal(a, scale_tril=L),
     {"a": real(3), "L": tril(3, 3)}),
])
def test_rsample_expectation_gradients(name, build, params):
    """Monte Carlo gradients of E[f(x)] agree between ember and torch (and so with the
    exact gradient) to within their sampling error."""
    def f(x):
        return (x * x).sum(-1) if name in ("dirichlet", "mvn") else x * x

    torch.manual_seed(0)
    ge = _rsample_grads(ED, ember, build, params, f)
    gt = _rsample_grads(TD, torch, build, params, f)
    for k in gt:
        (me, se), (mt, st) = ge[k], gt[k]
        assert np.all(np.abs(me - mt) <= 5 * np.hypot(se, st) + 1e-9), (k, me, mt, se, st)


def test_normal_rsample_is_pathwise():
    loc = ember.tensor(real(3), requires_grad=True)
    scale = ember.tensor(pos(3), requires_grad=True)
    x = ED.Normal(loc, scale).rsample((7,))
    x.sum().backward()
    close(loc.grad, np.full(3, 7.0))
    close(scale.grad, ((x - loc) / scale).sum(0))


@pytest.mark.parametrize("alpha", [0.05, 0.5, 1.0, 3.0, 30.0, 500.0, 2e4])
def test_standard_gamma_implicit_gradient_matches_torch(alpha):
    """dx/dalpha of Gamma(alpha, 1) draws vs torch's own gradient at the same draws."""
    a = ember.tensor(np.full(500, alpha), requires_grad=True)
    x = ED.Gamma(a, 1.0).rsample()
    (g,) = ember.autograd.grad(x.sum(), [a])
    ref = torch._standard_gamma_grad(torch.tensor(_np(a)), torch.tensor(_np(x)))
    ok = _np(x) > 1e-250  # torch's approximation is poor for underflowing draws
    close(_np(g)[ok], ref.numpy()[ok], rtol=2e-3, atol=1e-12)


def test_gamma_cdf_gradients():
    c, r, x = pos(4), pos(4), pos(4)
    gs = []
    for D, m in ((ED, ember), (TD, torch)):
        rt, xt = m.tensor(r, requires_grad=True), m.tensor(x, requires_grad=True)
        out = D.Gamma(m.tensor(c), rt).cdf(xt).sum()
        gs.append([_np(g) for g in m.autograd.grad(out, [rt, xt])])
    for a, b in zip(*gs):
        close(a, b, rtol=1e-6)
    # the concentration gradient (torch has none): finite differences
    h = 1e-6
    ct = ember.tensor(c, requires_grad=True)
    (g,) = ember.autograd.grad(ED.Gamma(ct, 1.0).cdf(ember.tensor(x)).sum(), [ct])
    fd = (ED.Gamma(ember.tensor(c + h), 1.0).cdf(ember.tensor(x))
          - ED.Gamma(ember.tensor(c - h), 1.0).cdf(ember.tensor(x))) / (2 * h)
    close(g, fd, rtol=1e-5, atol=1e-9)


# -- KL divergence -----------------------------------------------------------------------

KL_PAIRS = [
    ("normal", lambda D, a, b: D.Normal(a, b), lambda: {"a": real(3), "b": pos(3)}),
    ("mvn", lambda D, a, L: D.MultivariateNormal(a, scale_tril=L),
     lambda: {"a": real(2, 3), "L": tril(3, 3)}),
    ("mvn_cov", lambda D, a, S: D.MultivariateNormal(a, covariance_matrix=S),
     lambda: {"a": real(3), "S": spd(2, 3, 3)}),
    ("categorical", lambda D, p: D.Categorical(probs=p), lambda: {"p": pos(2, 4)}),
    ("categorical_logits", lambda D, l: D.Categorical(logits=l), lambda: {"l": real(4)}),
    ("bernoulli", lambda D, p: D.Bernoulli(probs=p), lambda: {"p": unit(3)}),
    ("beta", lambda D, a, b: D.Beta(a, b), lambda: {"a": pos(3), "b": pos(3)}),
    ("gamma", lambda D, c, r: D.Gamma(c, r), lambda: {"c": pos(3), "r": pos(3)}),
    ("laplace", lambda D, a, b: D.Laplace(a, b), lambda: {"a": real(3), "b": pos(3)}),
    ("exponential", lambda D, r: D.Exponential(r), lambda: {"r": pos(3)}),
    ("dirichlet", lambda D, c: D.Dirichlet(c), lambda: {"c": pos(2, 4)}),
    ("independent", lambda D, a, b: D.Independent(D.Normal(a, b), 1),
     lambda: {"a": real(2, 3), "b": pos(2, 3)}),
]


@pytest.mark.parametrize("name,build,gen", KL_PAIRS, ids=[p[0] for p in KL_PAIRS])
def test_kl_divergence_values_and_gradients(name, build, gen):
    pp, qp = gen(), gen()
    res = []
    for D, m in ((ED, ember), (TD, torch)):
        ps = {k: m.tensor(v, requires_grad=True) for k, v in pp.items()}
        qs = {k: m.tensor(v, requires_grad=True) for k, v in qp.items()}
        kl = D.kl_divergence(build(D, **ps), build(D, **qs))
        leaves = list(ps.values()) + list(qs.values())
        res.append([_np(kl)] + [_np(g) for g in m.autograd.grad(kl.sum(), leaves)])
    for a, b in zip(*res):
        close(a, b, rtol=1e-5)


def test_kl_uniform_and_infinities():
    lo, hi = np.array([0.0, 0.0, 1.0]), np.array([1.0, 2.0, 3.0])
    qlo, qhi = np.array([-1.0, 0.5, 0.0]), np.array([2.0, 3.0, 2.0])
    e = ED.kl_divergence(ED.Uniform(ember.tensor(lo), ember.tensor(hi)),
                         ED.Uniform(ember.tensor(qlo), ember.tensor(qhi)))
    t = TD.kl_divergence(TD.Uniform(torch.tensor(lo), torch.tensor(hi)),
                         TD.Uniform(torch.tensor(qlo), torch.tensor(qhi)))
    close(e, t)
    p0 = np.array([[0.0, 0.5, 0.5], [0.3, 0.7, 0.0]])
    q0 = np.array([[0.2, 0.8, 0.0], [0.3, 0.7, 0.0]])
    close(ED.kl_divergence(ED.Categorical(ember.tensor(p0)), ED.Categorical(ember.tensor(q0))),
          TD.kl_divergence(TD.Categorical(torch.tensor(p0)), TD.Categorical(torch.tensor(q0))))
    b = np.array([0.0, 1.0, 0.5, 0.5])
    c = np.array([0.5, 0.5, 0.0, 1.0])
    close(ED.kl_divergence(ED.Bernoulli(ember.tensor(b)), ED.Bernoulli(ember.tensor(c))),
          TD.kl_divergence(TD.Bernoulli(torch.tensor(b)), TD.Bernoulli(torch.tensor(c))))


def test_kl_registry():
    with pytest.raises(NotImplementedError, match="No KL"):
        ED.kl_divergence(ED.Normal(0.0, 1.0), ED.Laplace(0.0, 1.0))
    with pytest.raises(TypeError):
        ED.register_kl(int, ED.Normal)
    with pytest.raises(ValueError, match="different event shapes"):
        ED.kl_divergence(ED.MultivariateNormal(ember.zeros(2), ember.eye(2)),
                         ED.MultivariateNormal(ember.zeros(3), ember.eye(3)))
    with pytest.raises(NotImplementedError):
        ED.kl_divergence(ED.Independent(ED.Normal(ember.zeros(2, 2), 1.0), 1),
                         ED.Independent(ED.Normal(ember.zeros(2, 2), 1.0), 2))

    class Wide(ED.Normal):
        pass

    assert float(ED.kl_divergence(Wide(0.0, 1.0), ED.Normal(1.0, 1.0))) == 0.5  # inherited

    @ED.register_kl(Wide, ED.Normal)
    def _kl(p, q):
        return ember.tensor(-1.0)

    assert float(ED.kl_divergence(Wide(0.0, 1.0), ED.Normal(1.0, 1.0))) == -1.0
    rate = pos(3)
    e = ED.kl_divergence(ED.Exponential(ember.tensor(rate)), ED.Gamma(2.0, 3.0))
    close(e, TD.kl_divergence(TD.Exponential(torch.tensor(rate)), TD.Gamma(2.0, 3.0)))
    close(e, ED.kl_divergence(ED.Gamma(1.0, ember.tensor(rate)), ED.Gamma(2.0, 3.0)))


# -- validation ------------------------------------------------------------------------

INVALID_PARAMS = [
    "D.Normal(m.zeros(2), -m.ones(2))", "D.Normal(m.tensor([0.0, float('nan')]), 1.0)",
    "D.Gamma(m.tensor([1.0, 0.0]), 1.0)", "D.Beta(-1.0, 1.0)", "D.Exponential(m.tensor(-2.0))",
    "D.Laplace(0.0, m.zeros(2))", "D.Bernoulli(probs=m.tensor([0.5, 1.5]))",
    "D.Categorical(probs=m.tensor([0.5, -0.1]))", "D.Dirichlet(m.tensor([1.0, -1.0]))",
    "D.Uniform(m.tensor([0.0, 2.0]), m.tensor([1.0, 1.0]))",
    "D.MultivariateNormal(m.zeros(2), m.tensor([[1.0, 2.0], [2.0, 1.0]]))",
    "D.MultivariateNormal(m.zeros(2), scale_tril=m.tensor([[1.0, 1.0], [0.0, 1.0]]))",
    "D.MultivariateNormal(m.zeros(2), precision_matrix=m.tensor([[1.0, 0.5], [0.4, 1.0]]))",
    "D.Categorical(probs=m.tensor(1.0))", "D.Categorical()",
    "D.Categorical(probs=m.ones(2), logits=m.ones(2))", "D.Bernoulli()",
    "D.Dirichlet(m.tensor(1.0))", "D.Independent(D.Normal(m.zeros(2), 1.0), 2)",
    "D.Normal(m.zeros(2), 'a')",
]

INVALID_VALUES = [
    ("D.Normal(m.zeros(2), 1.0)", "m.zeros(3)"), ("D.Normal(m.zeros(2), 1.0)", "[0.0, 0.0]"),
    ("D.Gamma(2.0, 1.0)", "m.tensor(-1.0)"), ("D.Exponential(1.0)", "m.tensor([1.0, -0.5])"),
    ("D.Beta(2.0, 2.0)", "m.tensor(1.5)"), ("D.Uniform(0.0, 1.0)", "m.tensor(1.5)"),
    ("D.Uniform(0.0, 1.0)", "m.tensor(-0.1)"), ("D.Bernoulli(0.3)", "m.tensor(0.5)"),
    ("D.Categorical(m.ones(3))", "m.tensor(3)"), ("D.Categorical(m.ones(3))", "m.tensor(1.5)"),
    ("D.Dirichlet(m.ones(3))", "m.tensor([0.5, 0.6, 0.1])"),
    ("D.Dirichlet(m.ones(3))", "m.tensor([0.5, 0.5])"),
    ("D.MultivariateNormal(m.zeros(2), m.eye(2))", "m.zeros(3)"),
    ("D.MultivariateNormal(m.zeros(2), m.eye(2))", "m.tensor([0.0, float('nan')])"),
    ("D.Independent(D.Exponential(m.ones(2)), 1)", "m.tensor([1.0, -1.0])"),
]


def outcome(expr, D, m):
    """The exception type (and first line of its message) or 'ok'."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            eval(expr, {"D": D, "m": m})
    except Exception as e:  # compared with torch's
        return type(e).__name__, str(e).split("\n")[0].split(" of distribution ")[0]
    return "ok"


def _norm(msg):
    return msg.replace("torch.", "ember.").replace("ember.Size", "Size").replace("Tensor", "T")


@pytest.mark.parametrize("expr", INVALID_PARAMS)
def test_invalid_parameters_raise_like_torch(expr):
    e, t = outcome(expr, ED, ember), outcome(expr, TD, torch)
    assert e[0] == t[0], (e, t)
    if e[0] == "ValueError" and "'a'" not in expr:  # (torch's names __torch_function__)
        assert _norm(e[1]) == _norm(t[1])


@pytest.mark.parametrize("expr", [e for e in INVALID_PARAMS[:11] if "Multivariate" not in e])
def test_invalid_parameters_pass_without_validation(expr):
    for D in (ED, TD):
        D.Distribution.set_default_validate_args(False)
        try:
            assert outcome(expr, D, ember if D is ED else torch) == "ok"
        finally:
            D.Distribution.set_default_validate_args(True)


@pytest.mark.parametrize("build,value", INVALID_VALUES)
def test_invalid_values_raise_like_torch(build, value):
    expr = f"({build}).log_prob({value})"
    e, t = outcome(expr, ED, ember), outcome(expr, TD, torch)
    assert e[0] == t[0] == "ValueError", (e, t)
    assert _norm(e[1]) == _norm(t[1])


def test_validation_switches():
    assert ED.Distribution._validate_args == __debug__
    d = ED.Normal(0.0, -1.0, validate_args=False)  # no check
    assert d.variance.item() == 1.0
    assert ED.Uniform(0.0, 1.0, validate_args=False).log_prob(ember.tensor(2.0)).item() == \
        -math.inf
    with pytest.raises(ValueError):
        ED.Distribution.set_default_validate_args("yes")
    try:
        ED.Distribution.set_default_validate_args(False)
        assert ED.Normal(0.0, -1.0).scale.item() == -1.0
        assert not ED.Gamma(1.0, 1.0)._validate_args
        assert ED.Gamma(1.0, 1.0, validate_args=True)._validate_args
    finally:
        ED.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        ED.Normal(0.0, -1.0)
    # expand keeps the flag
    assert not ED.Normal(0.0, 1.0, validate_args=False).expand((2,))._validate_args


# -- constraints, reprs, odds and ends ---------------------------------------------------

CONSTRAINT_VALUES = {
    "real": [0.0, -1e30, float("inf"), float("nan")],
    "positive": [1.0, 0.0, -1.0, 1e-30], "nonnegative": [1.0, 0.0, -1e-30],
    "unit_interval": [0.0, 1.0, 0.5, 1.5, -0.1], "boolean": [0.0, 1.0, 0.5, 2.0],
    "nonnegative_integer": [0.0, 3.0, 1.5, -1.0], "positive_integer": [0.0, 1.0, 2.5],
    "integer_interval(0, 3)": [0.0, 3.0, 4.0, 1.5, -1.0], "interval(-1.0, 2.0)": [-1.0, 2.0, 3.0],
    "half_open_interval(0.0, 1.0)": [0.0, 1.0, 0.9], "greater_than(1.0)": [1.0, 2.0],
    "greater_than_eq(1.0)": [1.0, 0.5], "less_than(2.0)": [1.0, 2.0],
    "simplex": [[0.5, 0.5], [0.2, 0.9], [1.0, 0.0], [-0.1, 1.1]],
    "real_vector": [[0.0, float("nan")], [1.0, 2.0]],
    "one_hot": [[0.0, 1.0], [1.0, 1.0], [0.0, 0.0]],
    "independent(positive, 1)": [[1.0, 2.0], [1.0, -2.0]],
    "lower_cholesky": [[[1.0, 0.0], [2.0, 3.0]], [[1.0, 0.5], [2.0, 3.0]],
                       [[-1.0, 0.0], [2.0, 3.0]]],
    "lower_triangular": [[[1.0, 0.0], [2.0, -3.0]], [[1.0, 0.5], [2.0, 3.0]]],
    "positive_definite": [[[2.0, 1.0], [1.0, 2.0]], [[1.0, 2.0], [2.0, 1.0]],
                          [[2.0, 1.0], [0.0, 2.0]]],
    "positive_semidefinite": [[[1.0, 1.0], [1.0, 1.0]], [[1.0, 2.0], [2.0, 1.0]]],
    "symmetric": [[[1.0, 2.0], [2.0, 1.0]], [[1.0, 2.0], [0.0, 1.0]]],
    "square": [[[1.0, 2.0], [2.0, 1.0]]],
    "corr_cholesky": [[[1.0, 0.0], [0.6, 0.8]], [[1.0, 0.0], [0.5, 0.5]]],
}


@pytest.mark.parametrize("name", list(CONSTRAINT_VALUES))
def test_constraints_match_torch(name):
    ce = eval(name, vars(C))
    ct = eval(name, vars(TD.constraints))
    assert repr(ce) == repr(ct)
    assert (ce.event_dim, ce.is_discrete) == (ct.event_dim, ct.is_discrete)
    v = np.array(CONSTRAINT_VALUES[name])
    np.testing.assert_array_equal(_np(ce.check(ember.tensor(v))), ct.check(torch.tensor(v)))


def test_dependent_constraints():
    assert C.is_dependent(C.dependent) and not C.is_dependent(C.real)
    with pytest.raises(ValueError):
        C.dependent.check(ember.zeros(1))
    with pytest.raises(NotImplementedError):
        C.dependent.event_dim
    assert C.is_dependent(ED.Uniform.support) and C.is_dependent(ED.Categorical.support)
    assert repr(ED.Uniform(0.0, 2.0).support) == "Interval(lower_bound=0.0, upper_bound=2.0)"
    assert repr(ED.Categorical(ember.ones(3)).support) == \
        "IntegerInterval(lower_bound=0, upper_bound=2)"
    d = ED.Independent(ED.Beta(ember.ones(2, 3), 1.0), 1)
    assert repr(d.support) == repr(TD.Independent(TD.Beta(torch.ones(2, 3), 1.0), 1).support)
    s = C.stack([C.positive, C.real], dim=-1)
    assert s.check(ember.tensor([[1.0, -1.0], [-1.0, 1.0]])).tolist() == [[True, True],
                                                                         [False, True]]
    c = C.cat([C.positive, C.real], dim=-1, lengths=[1, 2])
    assert c.check(ember.tensor([-1.0, -1.0, 2.0])).tolist() == [False, True, True]


@pytest.mark.parametrize("expr", [
    "D.Normal(m.zeros(2), 1.0)", "D.Normal(0.0, 1.0)", "D.Categorical(m.ones(3))",
    "D.Bernoulli(logits=m.zeros(4))", "D.Gamma(2.0, 3.0)", "D.Uniform(0.0, 2.0)",
    "D.Independent(D.Normal(m.zeros(2, 3), 1.0), 1)", "D.MultivariateNormal(m.zeros(2), "
    "m.eye(2))", "D.Dirichlet(m.ones(2, 3))", "D.Exponential(m.ones(2))", "D.Laplace(1.0, 2.0)",
])
def test_repr_matches_torch(expr):
    e, t = eval(expr, {"D": ED, "m": ember}), eval(expr, {"D": TD, "m": torch})
    assert repr(e) == repr(t).replace("torch.", "ember.")


def test_enumerate_support():
    for expr in ("D.Categorical(m.ones(2, 3))", "D.Bernoulli(m.full((4, 2), 0.3))",
                 "D.Categorical(m.ones(3))", "D.Bernoulli(0.5)"):
        e, t = eval(expr, {"D": ED, "m": ember}), eval(expr, {"D": TD, "m": torch})
        assert e.has_enumerate_support
        for expand in (True, False):
            a, b = e.enumerate_support(expand), t.enumerate_support(expand)
            assert a.shape == tuple(b.shape) and a.dtype.name == str(b.dtype).split(".")[1]
            np.testing.assert_array_equal(_np(a), b.numpy())
        close(e.log_prob(e.enumerate_support()), t.log_prob(t.enumerate_support()))
    d = ED.Independent(ED.Bernoulli(ember.full((2,), 0.3)), 1)
    assert not d.has_enumerate_support
    with pytest.raises(NotImplementedError):
        d.enumerate_support()


def test_categorical_probs_logits_roundtrip():
    p = ember.tensor([[1.0, 2.0, 0.0], [1.0, 1.0, 2.0]], dtype=ember.float64)
    d = ED.Categorical(probs=p)
    t = TD.Categorical(probs=torch.tensor(_np(p)))
    close(d.probs, t.probs)
    close(d.logits, t.logits)
    close(d.entropy(), t.entropy())
    assert d.mode.tolist() == t.mode.tolist() and d.param_shape == (2, 3)
    dl = ED.Categorical(logits=d.logits)
    close(dl.probs, t.probs, atol=1e-12)
    assert ED.Categorical(ember.ones(3)).sample((2,)).dtype == ember.int64
    assert float(ED.Categorical(logits=ember.tensor([0.0, -math.inf])).entropy()) == 0.0


def test_bernoulli_extreme_logits_are_stable():
    logits = np.array([-80.0, -30.0, 0.0, 30.0, 80.0])
    x = np.array([1.0, 0.0, 1.0, 0.0, 1.0])
    close(ED.Bernoulli(logits=ember.tensor(logits)).log_prob(ember.tensor(x)),
          TD.Bernoulli(logits=torch.tensor(logits)).log_prob(torch.tensor(x)))
    lt = ember.tensor(np.zeros(3), requires_grad=True)  # gradient at logit 0 is 1/2 - x
    ED.Bernoulli(logits=lt).log_prob(ember.tensor([0.0, 1.0, 1.0])).sum().backward()
    close(lt.grad, [-0.5, 0.5, 0.5])


@pytest.mark.parametrize("expr", ["D.Normal(m.tensor([0.5, -1.0]), m.tensor([1.5, 0.3]))",
                                  "D.Gamma(m.tensor([0.5, 3.0]), m.tensor([2.0, 0.7]))",
                                  "D.Exponential(m.tensor([0.5, 3.0]))",
                                  "D.Beta(m.tensor([0.5, 3.0]), m.tensor([2.0, 0.7]))",
                                  "D.Dirichlet(m.tensor([[0.5, 3.0, 1.0], [2.0, 0.7, 1.0]]))",
                                  "D.Bernoulli(m.tensor([0.2, 0.9]))"])
def test_exponential_family_entropy_from_log_normalizer(expr):
    d = eval(expr.replace("])", "], dtype=m.float64)"), {"D": ED, "m": ember})
    close(ED.ExponentialFamily.entropy(d), d.entropy(), rtol=1e-10, atol=1e-12)


def test_gamma_special_cases():
    c = ember.tensor([1e-3, 0.05, 2.0, 1e5], dtype=ember.float64)
    s = ED.Gamma(c, 1.0).sample((2000,))
    assert bool((s > 0).all()) and bool(s.isfinite().all())
    close(s[:, 3].mean(), 1e5, rtol=1e-3)
    x = np.array([0.0, 1e-8, 0.5, 40.0, 1e4, float("inf")])
    for conc in (0.3, 5.0, 300.0):
        close(ED.Gamma(conc, 1.5).cdf(ember.tensor(x)), TD.Gamma(conc, 1.5).cdf(
            torch.tensor(x)), rtol=1e-10, atol=1e-14)


def test_beta_dirichlet_modes():
    e = ED.Beta(ember.tensor([0.5, 2.0, 3.0]), ember.tensor([2.0, 0.3, 3.0]))
    t = TD.Beta(torch.tensor([0.5, 2.0, 3.0]), torch.tensor([2.0, 0.3, 3.0]))
    close(e.mode, t.mode, rtol=1e-6)
    assert e.concentration1.tolist() == [0.5, 2.0, 3.0]
    d = ED.Dirichlet(ember.tensor([[0.5, 0.9, 0.3], [2.0, 3.0, 1.0]]))
    assert d.mode.tolist()[0] == [0.0, 1.0, 0.0]  # all below 1: the largest one's vertex
    close(d.mode[1], [1 / 3, 2 / 3, 0.0], rtol=1e-6)


def test_distribution_base_class():
    class Coin(ED.Distribution):
        arg_constraints = {}

        def __init__(self):
            super().__init__(ember.Size([2]))

    d = Coin()
    for name in ("mean", "variance", "mode", "support"):
        with pytest.raises(NotImplementedError):
            getattr(d, name)
    for fn in (d.rsample, d.entropy, lambda: d.log_prob(ember.zeros(2)), d.enumerate_support,
               lambda: d.cdf(ember.zeros(2)), lambda: d.icdf(ember.zeros(2))):
        with pytest.raises(NotImplementedError):
            fn()
    with pytest.raises(NotImplementedError):
        d.expand((3, 2))
    assert d._extended_shape((4,)) == (4, 2)


def test_docstring_examples():
    import doctest
    import importlib
    names = ["constraints", "utils", "distribution", "normal", "multivariate_normal",
             "categorical", "bernoulli", "beta", "gamma", "uniform", "laplace", "exponential",
             "dirichlet", "independent", "kl", "__init__"]
    for name in names:
        mod = importlib.import_module("ember.distributions" + ("" if name == "__init__"
                                                               else "." + name))
        res = doctest.testmod(mod, extraglobs={"ember": ember}, optionflags=doctest.ELLIPSIS)
        assert res.failed == 0, name
