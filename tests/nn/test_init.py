"""nn.init: PyTorch's schemes checked by statistics, reproducibility, errors."""

import math
import warnings

import numpy as np
import pytest

import ember
from ember.nn import init

N = 20000  # elements for the statistical checks


def _arr(t):
    return t.detach().numpy()


def _uniform_ok(a, bound):
    assert a.min() >= -bound and a.max() <= bound
    assert a.min() < -0.95 * bound and a.max() > 0.95 * bound
    assert abs(a.std() - bound / math.sqrt(3)) < 0.03 * bound


def _normal_ok(a, std, mean=0.0):
    assert abs(a.mean() - mean) < 0.05 * std + 1e-3
    assert abs(a.std() - std) < 0.03 * std


@pytest.mark.parametrize("args,want", [(("linear",), 1), (("conv2d",), 1), (("sigmoid",), 1),
                                       (("tanh",), 5 / 3), (("relu",), math.sqrt(2)),
                                       (("leaky_relu",), math.sqrt(2 / (1 + 0.01 ** 2))),
                                       (("leaky_relu", 0.2), math.sqrt(2 / 1.04)),
                                       (("selu",), 0.75)])
def test_calculate_gain(args, want):
    assert init.calculate_gain(*args) == pytest.approx(want)
    torch = pytest.importorskip("torch")
    assert init.calculate_gain(*args) == pytest.approx(torch.nn.init.calculate_gain(*args))


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="Unsupported nonlinearity foo"):
        init.calculate_gain("foo")
    with pytest.raises(ValueError, match="negative_slope True not a valid number"):
        init.calculate_gain("leaky_relu", True)


def test_fans():
    w = ember.empty(8, 4, 3, 3)
    assert init._calculate_fan_in_and_fan_out(w) == (36, 72)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(ember.empty(3))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(w, mode="fan_avg")


def test_uniform_normal_constant():
    _uniform_ok(_arr(init.uniform_(ember.empty(N), -3, 3)), 3)
    _normal_ok(_arr(init.normal_(ember.empty(N), 2.0, 0.5)), 0.5, 2.0)
    assert np.all(_arr(init.constant_(ember.empty(3, 2), 0.3)) == np.float32(0.3))
    assert np.all(_arr(init.ones_(ember.empty(3))) == 1)
    assert np.all(_arr(init.zeros_(ember.empty(3))) == 0)


def test_xavier():
    w = ember.empty(200, 100)
    _uniform_ok(_arr(init.xavier_uniform_(w, gain=2.0)), 2.0 * math.sqrt(6 / 300))
    _normal_ok(_arr(init.xavier_normal_(w)), math.sqrt(2 / 300))


def test_kaiming():
    w = ember.empty(100, 50, 2, 2)
    _uniform_ok(_arr(init.kaiming_uniform_(w, nonlinearity="relu")), math.sqrt(6 / 200))
    _uniform_ok(_arr(init.kaiming_uniform_(w, a=math.sqrt(5))), 1 / math.sqrt(200))
    _normal_ok(_arr(init.kaiming_normal_(w, mode="fan_out")), math.sqrt(2 / (1 + 0.01 ** 2))
               / math.sqrt(400))
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        init.kaiming_uniform_(ember.empty(0, 3))
    assert "zero-element" in str(rec[0].message)


def test_trunc_normal():
    a = _arr(init.trunc_normal_(ember.empty(N), mean=0.5, std=1.0, a=-1.0, b=1.5))
    assert a.min() >= -1.0 and a.max() <= 1.5
    scipy_stats = pytest.importorskip("scipy.stats")
    ref = scipy_stats.truncnorm(-1.5, 1.0, loc=0.5, scale=1.0)
    assert abs(a.mean() - ref.mean()) < 0.02 and abs(a.std() - ref.std()) < 0.02


def test_eye_dirac_orthogonal_sparse():
    np.testing.assert_array_equal(_arr(init.eye_(ember.empty(2, 3))), np.eye(2, 3))
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions"):
        init.eye_(ember.empty(2, 2, 2))
    d = _arr(init.dirac_(ember.empty(4, 2, 3, 3), groups=2))
    assert d.sum() == 4 and d[0, 0, 1, 1] == 1 and d[1, 1, 1, 1] == 1 and d[2, 0, 1, 1] == 1
    with pytest.raises(ValueError, match="Only tensors with 3, 4, or 5 dimensions"):
        init.dirac_(ember.empty(2, 2))
    for shape in ((6, 4), (4, 6), (3, 2, 2)):
        q = _arr(init.orthogonal_(ember.empty(*shape), gain=2.0)).reshape(shape[0], -1)
        small = q @ q.T if q.shape[0] <= q.shape[1] else q.T @ q
        np.testing.assert_allclose(small, 4 * np.eye(small.shape[0]), atol=1e-5)
    s = _arr(init.sparse_(ember.empty(10, 6), sparsity=0.3))
    assert np.all((s == 0).sum(axis=0) >= 3)


def test_reproducible_and_generator():
    ember.manual_seed(5)
    a = _arr(init.kaiming_uniform_(ember.empty(4, 4))).copy()
    ember.manual_seed(5)
    b = _arr(init.kaiming_uniform_(ember.empty(4, 4)))
    np.testing.assert_array_equal(a, b)
    g1, g2 = ember.Generator().manual_seed(1), ember.Generator().manual_seed(1)
    c = _arr(init.normal_(ember.empty(5), generator=g1)).copy()
    d = _arr(init.normal_(ember.empty(5), generator=g2))
    np.testing.assert_array_equal(c, d)


def test_init_runs_without_recording():
    p = ember.nn.Parameter(ember.empty(3, 3))
    for fn in (init.uniform_, init.normal_, init.xavier_uniform_, init.kaiming_normal_,
               init.orthogonal_, init.zeros_, init.eye_):
        out = fn(p)
        assert out is p and p.grad_fn is None and p.requires_grad


def test_default_layer_init_bounds():
    lin = ember.nn.Linear(400, 300)
    _uniform_ok(_arr(lin.weight).ravel(), 1 / math.sqrt(400))
    b = _arr(lin.bias)
    assert np.abs(b).max() <= 1 / math.sqrt(400)
    bil = ember.nn.Bilinear(50, 20, 30)
    _uniform_ok(_arr(bil.weight).ravel(), 1 / math.sqrt(50))
    emb = _arr(ember.nn.Embedding(200, 100).weight).ravel()
    _normal_ok(emb, 1.0)
    np.testing.assert_array_equal(_arr(ember.nn.PReLU(3).weight), 0.25)
    ln = ember.nn.LayerNorm(4)
    assert np.all(_arr(ln.weight) == 1) and np.all(_arr(ln.bias) == 0)


def test_deprecated_aliases_warn():
    with pytest.warns(FutureWarning, match="deprecated"):
        init.xavier_uniform(ember.empty(2, 2))
