"""Random numbers: seeds, generators, states, and the samplers' dtypes, shapes and statistics.

ember's streams are its own (NumPy's PCG64), so values are compared statistically, while
dtypes, shapes and errors are compared with PyTorch.
"""

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def kind(expr, m):
    """(dtype name, shape, requires_grad) or the exception type of ``expr`` under ``m``."""
    try:
        t = eval(expr, {"m": m})
    except Exception as e:  # compared by type
        return type(e)
    return str(t.dtype).split(".")[-1], tuple(t.shape), t.requires_grad


@pytest.mark.parametrize("expr", [
    "m.rand(2, 3)", "m.rand((2, 3))", "m.rand(2, dtype=m.float64)", "m.rand(2, dtype=m.int64)",
    "m.rand(2, dtype=m.float16)", "m.rand(2, dtype=m.complex64)", "m.rand(())",
    "m.randn(3)", "m.randn(2, dtype=m.bfloat16)", "m.randn(2, dtype=m.int32)",
    "m.randn(2, requires_grad=True)", "m.randn(2, 2, dtype=m.complex128)",
    "m.randint(5, (3,))", "m.randint(2, 5, (3,))", "m.randint(5, (2,), dtype=m.float32)",
    "m.randint(5, 2, (3,))", "m.randint(0, (3,))", "m.randint(10, size=(2, 2))",
    "m.randint(low=2, high=5, size=(2,))", "m.randperm(5)", "m.randperm(5, dtype=m.float32)",
    "m.randperm(0)", "m.rand_like(m.zeros(2, dtype=m.float64))",
    "m.rand_like(m.zeros(2, dtype=m.int64))", "m.randn_like(m.zeros(2, 2))",
    "m.randint_like(m.zeros(3), 5)", "m.randint_like(m.zeros(3), 2, 5)",
    "m.randint_like(m.zeros(3, dtype=m.int32), 5)",
    "m.normal(0., 1., (2, 2))", "m.normal(m.zeros(3), 1.)", "m.normal(m.zeros(3), m.ones(3))",
    "m.normal(0., m.ones(3))", "m.normal(2., 3., size=(2,), dtype=m.float64)",
    "m.normal(m.zeros(3, requires_grad=True), 1.)", "m.normal(0., -1., (2,))",
    "m.bernoulli(m.full((3,), 0.5))", "m.bernoulli(m.full((3,), 0.5, dtype=m.float64))",
    "m.bernoulli(m.full((3,), 0.5), 0.2)", "m.bernoulli(m.tensor([2.0]))",
    "m.multinomial(m.tensor([0.2, 0.8]), 3, replacement=True)",
    "m.multinomial(m.tensor([[0.2, 0.8], [0.5, 0.5]]), 2)",
    "m.multinomial(m.tensor([0.2, 0.8]), 3)", "m.multinomial(m.tensor([0., 0.]), 1)",
    "m.multinomial(m.tensor([-1., 2.]), 1)", "m.poisson(m.tensor([1., 2.]))",
    "m.zeros(3).uniform_(2, 3)", "m.zeros(3).normal_(0, 1)",
    "m.zeros(3, dtype=m.int64).random_(0, 5)",
    "m.zeros(3).random_(5)", "m.zeros(3).exponential_()", "m.zeros(3).bernoulli_(0.5)",
    "m.zeros(3, dtype=m.int64).bernoulli_(0.5)", "m.zeros(3).geometric_(0.5)",
    "m.zeros(3).log_normal_()", "m.zeros(3).cauchy_()", "m.zeros(3, requires_grad=True).uniform_()",
    "m.zeros(3, dtype=m.int64).uniform_()", "m.zeros(3, dtype=m.int64).normal_()",
])
def test_sampler_dtypes_shapes_errors(expr):
    e, t = kind(expr, ember), kind(expr, torch)
    if isinstance(t, type):
        assert isinstance(e, type) and issubclass(e, t), (expr, e, t)
    else:
        assert e == t, expr


# -- reproducibility ---------------------------------------------------------------------------
def _draw():
    return [ember.rand(3), ember.randn(2, 2), ember.randint(0, 100, (4,)), ember.randperm(6),
            ember.normal(0.0, 1.0, (2,)), ember.bernoulli(ember.full((5,), 0.5)),
            ember.multinomial(ember.tensor([0.1, 0.2, 0.7]), 2), ember.zeros(3).uniform_(),
            ember.zeros(3).normal_()]


def _equal(a, b):
    return all(x.tolist() == y.tolist() for x, y in zip(a, b))


def test_manual_seed_reproducible():
    g = ember.manual_seed(123)
    assert g is ember.default_generator and ember.initial_seed() == 123
    a = _draw()
    ember.manual_seed(123)
    assert _equal(a, _draw())
    ember.manual_seed(124)
    assert not _equal(a, _draw())
    ember.random.manual_seed(123)
    assert _equal(a, _draw())


def test_rng_state_round_trip():
    ember.manual_seed(7)
    ember.rand(5)
    state = ember.get_rng_state()
    assert isinstance(state, ember.Tensor) and state.dtype is ember.uint8
    a = _draw()
    ember.set_rng_state(state)
    assert _equal(a, _draw())
    gstate = ember.default_generator.get_state()
    b = ember.rand(4)
    ember.default_generator.set_state(gstate)
    assert ember.rand(4).tolist() == b.tolist()
    with pytest.raises(RuntimeError):
        ember.set_rng_state(ember.tensor([1, 2, 3], dtype=ember.uint8))


def test_fork_rng_restores_state():
    ember.manual_seed(3)
    with ember.random.fork_rng():
        inside = ember.rand(3)
    assert ember.rand(3).tolist() == inside.tolist()


def test_generator_objects_are_independent():
    g1 = ember.Generator().manual_seed(5)
    g2 = ember.Generator(device="cpu")
    g2.manual_seed(5)
    assert g1.device == ember.device("cpu") and g1.initial_seed() == 5
    ember.manual_seed(0)
    a = ember.rand(4, generator=g1)
    mid = ember.rand(4)  # the global stream is untouched by g1
    b = ember.rand(4, generator=g2)
    assert a.tolist() == b.tolist()
    ember.manual_seed(0)
    assert ember.rand(4).tolist() == mid.tolist()
    for fn in [lambda g: ember.randn(3, generator=g), lambda g: ember.randint(9, (3,), generator=g),
               lambda g: ember.randperm(5, generator=g),
               lambda g: ember.normal(0.0, 1.0, (3,), generator=g),
               lambda g: ember.bernoulli(ember.full((3,), 0.5), generator=g),
               lambda g: ember.multinomial(ember.ones(4), 2, generator=g),
               lambda g: ember.zeros(3).uniform_(generator=g),
               lambda g: ember.zeros(3).normal_(generator=g)]:
        g1.manual_seed(9)
        x = fn(g1)
        g1.manual_seed(9)
        assert fn(g1).tolist() == x.tolist()
    s = ember.Generator().seed()
    assert isinstance(s, int)
    st = g1.get_state()
    y = ember.rand(3, generator=g1)
    g1.set_state(st)
    assert ember.rand(3, generator=g1).tolist() == y.tolist()


def test_seed_changes_stream():
    ember.manual_seed(0)
    a = ember.rand(3)
    s = ember.seed()
    assert ember.initial_seed() == s
    assert ember.rand(3).tolist() != a.tolist()


# -- statistics ------------------------------------------------------------------------------
def test_uniform_and_normal_statistics():
    u = ember.rand(20000, dtype=ember.float64).numpy()
    assert u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.01
    n = ember.randn(20000, dtype=ember.float64).numpy()
    assert abs(n.mean()) < 0.03 and abs(n.std() - 1) < 0.03
    c = ember.randn(20000, dtype=ember.complex128).numpy()
    assert abs(np.mean(np.abs(c) ** 2) - 1) < 0.05  # PyTorch: unit variance overall
    x = ember.zeros(20000, dtype=ember.float64).uniform_(2, 4).numpy()
    assert x.min() >= 2 and x.max() < 4
    m = ember.normal(3.0, 2.0, (20000,)).numpy()
    assert abs(m.mean() - 3) < 0.1 and abs(m.std() - 2) < 0.1
    e = ember.zeros(20000).exponential_(2.0).numpy()
    assert abs(e.mean() - 0.5) < 0.03 and e.min() >= 0


def test_integer_samplers():
    r = ember.randint(3, 7, (5000,)).numpy()
    assert r.min() == 3 and r.max() == 6
    p = ember.randperm(50)
    assert sorted(p.tolist()) == list(range(50))
    x = ember.zeros(1000, dtype=ember.int64).random_(0, 3).numpy()
    assert set(x.tolist()) == {0, 1, 2}


def test_bernoulli_and_multinomial_statistics():
    b = ember.bernoulli(ember.full((20000,), 0.3)).numpy()
    assert set(np.unique(b).tolist()) <= {0.0, 1.0} and abs(b.mean() - 0.3) < 0.02
    b2 = ember.bernoulli(ember.rand(3), p=1.0)
    assert b2.tolist() == [1.0, 1.0, 1.0]
    probs = ember.tensor([0.1, 0.2, 0.7])
    s = ember.multinomial(probs, 20000, replacement=True).numpy()
    freq = np.bincount(s, minlength=3) / s.size
    np.testing.assert_allclose(freq, [0.1, 0.2, 0.7], atol=0.02)
    rows = ember.multinomial(ember.ones(10, 5), 5)  # without replacement: permutations
    assert rows.dtype is ember.int64
    assert all(sorted(r) == list(range(5)) for r in rows.tolist())
    z = ember.multinomial(ember.tensor([0.0, 1.0, 0.0]), 1)
    assert z.tolist() == [1]


def test_normal_is_differentiable_in_mean_and_std():
    mean = ember.zeros(5, requires_grad=True)
    std = ember.ones(5, requires_grad=True)
    out = ember.normal(mean, std)
    out.sum().backward()
    assert mean.grad.tolist() == [1.0] * 5
    np.testing.assert_allclose(std.grad.numpy(), out.detach().numpy(), rtol=1e-6)


def test_inplace_sampler_on_leaf_requiring_grad():
    x = ember.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.uniform_()
    with ember.no_grad():
        x.normal_()
    assert x.requires_grad and x.abs().sum().item() > 0
    a = ember.ones(3, requires_grad=True)
    y = a * 2
    y.uniform_()  # y now holds samples: no gradient flows back to a
    y.sum().backward()
    assert a.grad.tolist() == [0.0, 0.0, 0.0]
