"""Layers vs torch.nn: same weights, same inputs; outputs, input and parameter gradients,
buffers; plus an op table over the functional forms (finite differences to second order)."""

import numpy as np
import pytest

import ember
from tests.harness import OpInfo, op_tests

torch = pytest.importorskip("torch")


# -- helpers ---------------------------------------------------------------------------------
def copy_state(tm, em):
    """Load torch module ``tm``'s state into ember module ``em`` (exercises load_state_dict)."""
    em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})


def _np(t):
    return t.detach().numpy() if isinstance(t, torch.Tensor) else t.detach().numpy(force=True)


def run_both(make, inputs, train=True, double=True, seed=0, atol=1e-10, rtol=1e-7):
    """Build the layer with ``make(nn)`` in torch and ember, copy weights, compare forward,
    backward (inputs and parameters) and buffers."""
    torch.manual_seed(seed)
    tm, em = make(torch.nn), make(ember.nn)
    if double:
        tm, em = tm.double(), em.double()
    copy_state(tm, em)
    tm.train(train)
    em.train(train)
    tx = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in inputs]
    ex = [ember.tensor(a, requires_grad=a.dtype.kind == "f") for a in inputs]
    ty, ey = tm(*tx), em(*ex)
    np.testing.assert_allclose(_np(ey), _np(ty), atol=atol, rtol=rtol, err_msg="forward")
    assert tuple(ey.shape) == tuple(ty.shape)
    if ty.requires_grad:
        g = np.random.default_rng(seed).standard_normal(tuple(ty.shape))
        ty.backward(torch.tensor(g, dtype=ty.dtype))
        ey.backward(ember.tensor(g).to(ey.dtype))
        for i, (a, b) in enumerate(zip(ex, tx)):
            if b.grad is not None:
                np.testing.assert_allclose(_np(a.grad), _np(b.grad), atol=atol * 10, rtol=rtol,
                                           err_msg=f"grad of input {i}")
        tp = dict(tm.named_parameters())
        for name, p in em.named_parameters():
            if tp[name].grad is None:
                assert p.grad is None or np.allclose(_np(p.grad), 0), name
                continue
            np.testing.assert_allclose(_np(p.grad), _np(tp[name].grad), atol=atol * 10,
                                       rtol=rtol, err_msg=f"grad of {name}")
    tb = dict(tm.named_buffers())
    for name, b in em.named_buffers():
        np.testing.assert_allclose(_np(b), _np(tb[name]), atol=atol, rtol=rtol, err_msg=name)
    return tm, em


def rnd(*shape, lo=-2.0, hi=2.0, seed=1):
    return np.random.default_rng(seed).uniform(lo, hi, size=shape)


def ints(high, *shape, seed=2):
    return np.random.default_rng(seed).integers(0, high, size=shape).astype(np.int64)


X = rnd(3, 5)
X4 = rnd(2, 3, 4, 4)

LAYERS = {
    "linear": (lambda nn: nn.Linear(5, 3), [X]),
    "linear_3d": (lambda nn: nn.Linear(4, 2), [rnd(2, 3, 4)]),
    "linear_1d": (lambda nn: nn.Linear(4, 2), [rnd(4)]),
    "linear_nobias": (lambda nn: nn.Linear(5, 3, bias=False), [X]),
    "bilinear": (lambda nn: nn.Bilinear(3, 4, 2), [rnd(5, 3), rnd(5, 4, seed=3)]),
    "bilinear_3d": (lambda nn: nn.Bilinear(3, 4, 2, bias=False),
                    [rnd(2, 5, 3), rnd(2, 5, 4, seed=3)]),
    "identity": (lambda nn: nn.Identity(3, a=1), [X]),
    "relu": (lambda nn: nn.ReLU(), [X]),
    "relu6": (lambda nn: nn.ReLU6(), [X * 4]),
    "leaky_relu": (lambda nn: nn.LeakyReLU(0.2), [X]),
    "prelu": (lambda nn: nn.PReLU(), [X]),
    "prelu_channels": (lambda nn: nn.PReLU(3, init=0.1), [rnd(2, 3, 4)]),
    "rrelu_eval": (lambda nn: nn.RReLU(0.1, 0.3), [X]),
    "elu": (lambda nn: nn.ELU(1.3), [X]),
    "selu": (lambda nn: nn.SELU(), [X]),
    "celu": (lambda nn: nn.CELU(0.7), [X]),
    "gelu": (lambda nn: nn.GELU(), [X]),
    "gelu_tanh": (lambda nn: nn.GELU("tanh"), [X]),
    "silu": (lambda nn: nn.SiLU(), [X]),
    "mish": (lambda nn: nn.Mish(), [X]),
    "sigmoid": (lambda nn: nn.Sigmoid(), [X]),
    "tanh": (lambda nn: nn.Tanh(), [X]),
    "softplus": (lambda nn: nn.Softplus(), [X]),
    "softplus_beta": (lambda nn: nn.Softplus(beta=2, threshold=3), [X]),
    "softsign": (lambda nn: nn.Softsign(), [X]),
    "hardtanh": (lambda nn: nn.Hardtanh(-0.5, 0.7), [X]),
    "hardswish": (lambda nn: nn.Hardswish(), [X * 3]),
    "hardsigmoid": (lambda nn: nn.Hardsigmoid(), [X * 3]),
    "glu": (lambda nn: nn.GLU(0), [rnd(4, 3)]),
    "logsigmoid": (lambda nn: nn.LogSigmoid(), [X * 20]),
    "tanhshrink": (lambda nn: nn.Tanhshrink(), [X]),
    "softshrink": (lambda nn: nn.Softshrink(0.3), [X]),
    "hardshrink": (lambda nn: nn.Hardshrink(0.3), [X]),
    "threshold": (lambda nn: nn.Threshold(0.1, 20.0), [X]),
    "softmax": (lambda nn: nn.Softmax(dim=1), [X * 30]),
    "softmax_dim0": (lambda nn: nn.Softmax(dim=0), [rnd(3, 4, 2)]),
    "log_softmax": (lambda nn: nn.LogSoftmax(dim=-1), [X * 30]),
    "softmin": (lambda nn: nn.Softmin(dim=1), [X]),
    "softmax2d": (lambda nn: nn.Softmax2d(), [X4]),
    "batchnorm1d": (lambda nn: nn.BatchNorm1d(5), [rnd(8, 5)]),
    "batchnorm1d_3d": (lambda nn: nn.BatchNorm1d(3, momentum=0.3), [rnd(4, 3, 6)]),
    "batchnorm2d": (lambda nn: nn.BatchNorm2d(3), [X4]),
    "batchnorm3d": (lambda nn: nn.BatchNorm3d(2, affine=False), [rnd(2, 2, 3, 3, 3)]),
    "batchnorm_cma": (lambda nn: nn.BatchNorm1d(5, momentum=None), [rnd(8, 5)]),
    "batchnorm_nostats": (lambda nn: nn.BatchNorm2d(3, track_running_stats=False), [X4]),
    "instancenorm1d": (lambda nn: nn.InstanceNorm1d(3, affine=True), [rnd(2, 3, 6)]),
    "instancenorm1d_unbatched": (lambda nn: nn.InstanceNorm1d(3), [rnd(3, 6)]),
    "instancenorm2d_stats": (lambda nn: nn.InstanceNorm2d(3, track_running_stats=True), [X4]),
    "layernorm": (lambda nn: nn.LayerNorm((4, 4)), [X4]),
    "layernorm_nobias": (lambda nn: nn.LayerNorm(5, bias=False), [X]),
    "layernorm_noaffine": (lambda nn: nn.LayerNorm(5, elementwise_affine=False), [X]),
    "groupnorm": (lambda nn: nn.GroupNorm(2, 4), [rnd(3, 4, 5)]),
    "groupnorm_4d": (lambda nn: nn.GroupNorm(3, 3, affine=False), [X4]),
    "rmsnorm": (lambda nn: nn.RMSNorm(5), [X]),
    "rmsnorm_eps": (lambda nn: nn.RMSNorm((4, 4), eps=1e-3), [X4]),
    "lrn": (lambda nn: nn.LocalResponseNorm(3), [rnd(2, 5, 4)]),
    "lrn_4d": (lambda nn: nn.LocalResponseNorm(4, alpha=0.1, beta=0.5, k=2.0), [X4]),
    "flatten": (lambda nn: nn.Flatten(), [X4]),
    "flatten_range": (lambda nn: nn.Flatten(0, 2), [X4]),
    "unflatten": (lambda nn: nn.Unflatten(1, (2, 3)), [rnd(4, 6)]),
    "cosine": (lambda nn: nn.CosineSimilarity(), [rnd(4, 5), rnd(4, 5, seed=3)]),
    "cosine_bcast": (lambda nn: nn.CosineSimilarity(dim=-1), [rnd(4, 5), rnd(1, 5, seed=3)]),
    "pairwise": (lambda nn: nn.PairwiseDistance(), [rnd(4, 5), rnd(4, 5, seed=3)]),
    "pairwise_p1": (lambda nn: nn.PairwiseDistance(p=1, keepdim=True),
                    [rnd(4, 5), rnd(4, 5, seed=3)]),
    "embedding": (lambda nn: nn.Embedding(10, 3), [ints(10, 4, 5)]),
    "embedding_pad": (lambda nn: nn.Embedding(10, 3, padding_idx=2),
                      [np.array([[2, 1, 2], [3, 1, 0]])]),
    "embedding_freq": (lambda nn: nn.Embedding(10, 3, scale_grad_by_freq=True),
                       [np.array([[2, 1, 2], [3, 1, 1]])]),
    "embedding_maxnorm": (lambda nn: nn.Embedding(10, 3, max_norm=0.5),
                          [np.array([[2, 1, 2], [3, 1, 1]])]),
    "embedding_bag_mean": (lambda nn: nn.EmbeddingBag(10, 3),
                           [ints(10, 7), np.array([0, 3, 3])]),
    "embedding_bag_sum2d": (lambda nn: nn.EmbeddingBag(10, 3, mode="sum"), [ints(10, 4, 3)]),
    "embedding_bag_max": (lambda nn: nn.EmbeddingBag(10, 3, mode="max"),
                          [ints(10, 7), np.array([0, 2, 5])]),
    "embedding_bag_pad": (lambda nn: nn.EmbeddingBag(10, 3, padding_idx=1),
                          [np.array([1, 2, 1, 4, 1]), np.array([0, 2, 4])]),
    "embedding_bag_last": (lambda nn: nn.EmbeddingBag(10, 3, mode="sum",
                                                      include_last_offset=True),
                           [ints(10, 6), np.array([0, 2, 6])]),
}


@pytest.mark.parametrize("name", list(LAYERS))
def test_layer_vs_torch(name):
    make, inputs = LAYERS[name]
    train = not name.endswith("_eval")
    run_both(make, inputs, train=train)


@pytest.mark.parametrize("name", ["linear", "gelu", "softmax", "batchnorm2d", "layernorm",
                                  "groupnorm", "embedding_bag_mean"])
def test_layer_float32(name):
    make, inputs = LAYERS[name]
    run_both(make, [a.astype(np.float32) if a.dtype.kind == "f" else a for a in inputs],
             double=False, atol=1e-5, rtol=1e-4)


def test_embedding_bag_per_sample_weights():
    torch.manual_seed(0)
    tm, em = torch.nn.EmbeddingBag(10, 3, mode="sum").double(), \
        ember.nn.EmbeddingBag(10, 3, mode="sum").double()
    copy_state(tm, em)
    idx, off, w = ints(10, 6), np.array([0, 2, 4]), rnd(6)
    tw, ew = torch.tensor(w, requires_grad=True), ember.tensor(w, requires_grad=True)
    ty = tm(torch.tensor(idx), torch.tensor(off), per_sample_weights=tw)
    ey = em(ember.tensor(idx), ember.tensor(off), per_sample_weights=ew)
    np.testing.assert_allclose(_np(ey), _np(ty), atol=1e-12)
    ty.sum().backward()
    ey.sum().backward()
    np.testing.assert_allclose(_np(ew.grad), _np(tw.grad), atol=1e-12)
    np.testing.assert_allclose(_np(em.weight.grad), _np(tm.weight.grad), atol=1e-12)
    with pytest.raises(NotImplementedError, match="per_sample_weights"):
        ember.nn.EmbeddingBag(10, 3)(ember.tensor(idx), ember.tensor(off),
                                     per_sample_weights=ew)


def test_embedding_padding_idx_zero_grad_and_init():
    e = ember.nn.Embedding(6, 4, padding_idx=-1)
    assert e.padding_idx == 5
    assert np.all(e.weight.detach().numpy()[5] == 0)
    e(ember.tensor([5, 5, 1])).sum().backward()
    assert np.all(e.weight.grad.numpy()[5] == 0)
    assert np.all(e.weight.grad.numpy()[1] == 1)


def test_embedding_from_pretrained_and_errors():
    w = ember.tensor([[1.0, 2.3, 3.0], [4.0, 5.1, 6.3]])
    e = ember.nn.Embedding.from_pretrained(w)
    assert not e.weight.requires_grad
    np.testing.assert_allclose(e(ember.tensor([1])).numpy(), [[4.0, 5.1, 6.3]], rtol=1e-6)
    assert ember.nn.Embedding.from_pretrained(w, freeze=False).weight.requires_grad
    with pytest.raises(RuntimeError, match="Long, Int"):
        e(ember.tensor([1.0]))
    with pytest.raises(IndexError):
        e(ember.tensor([2]))
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
        ember.nn.Embedding(3, 2, padding_idx=3)


def test_batchnorm_running_stats_over_steps_and_eval():
    torch.manual_seed(0)
    for momentum in (0.1, None):
        tm = torch.nn.BatchNorm2d(3, momentum=momentum).double()
        em = ember.nn.BatchNorm2d(3, momentum=momentum).double()
        copy_state(tm, em)
        for step in range(3):
            x = rnd(4, 3, 2, 2, seed=10 + step) * (step + 1)
            np.testing.assert_allclose(_np(em(ember.tensor(x))), _np(tm(torch.tensor(x))),
                                       atol=1e-10)
        for name in ("running_mean", "running_var", "num_batches_tracked"):
            np.testing.assert_allclose(_np(getattr(em, name)), _np(getattr(tm, name)),
                                       atol=1e-12, err_msg=name)
        tm.eval()
        em.eval()
        x = rnd(2, 3, 2, 2, seed=20)
        np.testing.assert_allclose(_np(em(ember.tensor(x))), _np(tm(torch.tensor(x))),
                                   atol=1e-10)


def test_batchnorm_errors():
    bn = ember.nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match="expected 2D or 3D input"):
        bn(ember.ones(2, 3, 4, 5))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        bn(ember.ones(1, 3))
    bn.eval()
    assert bn(ember.ones(1, 3)).shape == (1, 3)


def test_dropout_train_eval_and_statistics():
    d = ember.nn.Dropout(0.25)
    x = ember.ones(200, 100)
    y = d(x).numpy()
    kept = y != 0
    assert abs(kept.mean() - 0.75) < 0.02
    np.testing.assert_allclose(y[kept], 1 / 0.75, rtol=1e-6)
    d.eval()
    assert d(x) is x
    assert np.all(ember.nn.functional.dropout(x, 1.0).numpy() == 0)
    with pytest.raises(ValueError, match="between 0 and 1"):
        ember.nn.Dropout(1.5)


def test_dropout_reproducible_and_gradient():
    x = ember.ones(50, requires_grad=True)
    ember.manual_seed(3)
    a = ember.nn.functional.dropout(x, 0.5)
    ember.manual_seed(3)
    b = ember.nn.functional.dropout(x, 0.5)
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    a.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), a.detach().numpy())


@pytest.mark.parametrize("cls,shape", [("Dropout1d", (4, 6, 5)), ("Dropout2d", (4, 6, 3, 3)),
                                       ("Dropout3d", (4, 6, 2, 2, 2)), ("Dropout1d", (6, 5))])
def test_channel_dropout_zeroes_whole_channels(cls, shape):
    y = getattr(ember.nn, cls)(0.5)(ember.ones(*shape)).numpy()
    flat = y.reshape(shape[0] * shape[1], -1) if len(shape) > 2 else y.reshape(shape[0], -1)
    per_channel = flat.std(axis=1)
    assert np.all(per_channel == 0)
    assert 0 < (flat[:, 0] == 0).mean() < 1


def test_alpha_dropout_keeps_moments():
    x = ember.randn(200000)
    for cls in (ember.nn.AlphaDropout, ember.nn.FeatureAlphaDropout):
        y = cls(0.2)(x.reshape(1000, 200) if cls is ember.nn.FeatureAlphaDropout else x)
        y = y.numpy().ravel()
        assert abs(y.mean()) < 0.02 and abs(y.std() - 1) < 0.03
        assert cls(0.2).eval()(x) is x


def test_inplace_activations():
    for name in ("ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "CELU", "SiLU", "Hardtanh",
                 "Hardswish", "Hardsigmoid", "Mish"):
        x = ember.tensor([-1.5, 0.5, 2.0])
        ref = getattr(ember.nn, name)()(x.clone())
        out = getattr(ember.nn, name)(inplace=True)(x)
        assert out is x
        np.testing.assert_allclose(x.numpy(), ref.numpy(), rtol=1e-6)
    x = ember.randn(4, requires_grad=True)
    y = x * 2
    ember.nn.functional.relu(y, inplace=True).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2.0 * (x.detach().numpy() > 0))
    with pytest.raises(RuntimeError, match="leaf Variable"):
        ember.nn.ReLU(inplace=True)(ember.randn(3, requires_grad=True))


def test_rrelu_training_slopes_in_range():
    x = -ember.ones(1000)
    y = ember.nn.RReLU(0.1, 0.3)(x).numpy()
    assert np.all((-y >= 0.1) & (-y <= 0.3)) and y.std() > 0.01


def test_softmax_stable_and_implicit_dim():
    x = ember.tensor([[1000.0, 0.0], [-1000.0, -1000.0]])
    np.testing.assert_allclose(ember.nn.functional.softmax(x, 1).numpy(), [[1, 0], [0.5, 0.5]])
    np.testing.assert_allclose(ember.nn.functional.log_softmax(x, 1).numpy(),
                               [[0, -1000], [np.log(0.5)] * 2], rtol=1e-6)
    with pytest.warns(UserWarning, match="Implicit dimension"):
        y = ember.nn.functional.softmax(ember.zeros(2, 4))
    np.testing.assert_allclose(y.numpy(), 0.25)
    assert ember.nn.functional.softmax(ember.tensor([1, 2]), 0, dtype=ember.float64).dtype \
        is ember.float64
    assert ember.nn.functional.softmax(ember.tensor(3.0), 0).item() == 1.0


def test_softmax_is_one_primitive():
    x = ember.randn(3, 4, requires_grad=True)
    assert ember.nn.functional.softmax(x, 1).grad_fn.name() == "SoftmaxBackward0"
    assert ember.nn.functional.log_softmax(x, 1).grad_fn.name() == "LogSoftmaxBackward0"
    lin = ember.nn.Linear(4, 2)
    assert lin(x).grad_fn.name() == "LinearBackward0"  # matmul and bias in one node
    assert ember.nn.functional.layer_norm(x, (4,)).grad_fn.name() == "NativeLayerNormBackward0"


def test_linear_errors():
    lin = ember.nn.Linear(4, 2)
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(3x5 "
                                           r"and 4x2\)"):
        lin(ember.ones(3, 5))
    with pytest.raises(RuntimeError, match="mat1 and mat2 must have the same dtype"):
        lin(ember.ones(3, 4, dtype=ember.float64))


def test_lazy_linear():
    m = ember.nn.LazyLinear(3)
    assert repr(m) == "LazyLinear(in_features=0, out_features=3, bias=True)"
    assert m.has_uninitialized_params()
    y = m(ember.ones(2, 7))
    assert type(m) is ember.nn.Linear and m.in_features == 7
    assert tuple(m.weight.shape) == (3, 7) and type(m.weight) is ember.nn.Parameter
    bound = 1 / np.sqrt(7)
    assert np.all(np.abs(m.weight.detach().numpy()) <= bound)
    y.sum().backward()
    assert m.weight.grad.shape == (3, 7)


def test_one_hot_and_normalize():
    F = ember.nn.functional
    np.testing.assert_array_equal(F.one_hot(ember.tensor([[0, 2], [1, 1]])).numpy(),
                                  torch.nn.functional.one_hot(torch.tensor([[0, 2], [1, 1]])))
    assert F.one_hot(ember.tensor([1]), 4).dtype is ember.int64
    with pytest.raises(RuntimeError, match="Class values must be smaller than num_classes"):
        F.one_hot(ember.tensor([3]), 2)
    with pytest.raises(RuntimeError, match="one_hot is only applicable to index tensor"):
        F.one_hot(ember.tensor([1.0]))
    z = F.normalize(ember.zeros(2, 3))
    assert np.all(z.numpy() == 0)


def test_repr_matches_torch():
    makers = [lambda nn: nn.Linear(3, 4), lambda nn: nn.Linear(3, 4, bias=False),
              lambda nn: nn.Bilinear(2, 3, 4), lambda nn: nn.ReLU(inplace=True),
              lambda nn: nn.LeakyReLU(0.2, True), lambda nn: nn.ELU(), lambda nn: nn.CELU(0.5),
              lambda nn: nn.SELU(True), lambda nn: nn.GELU(approximate="tanh"),
              lambda nn: nn.Softplus(2, 10), lambda nn: nn.Hardtanh(-2.0, 2.0),
              lambda nn: nn.ReLU6(), lambda nn: nn.Threshold(0.1, 20), lambda nn: nn.PReLU(3),
              lambda nn: nn.Softmax(dim=1), lambda nn: nn.LogSoftmax(1), lambda nn: nn.Softmin(),
              lambda nn: nn.Softmax2d(), lambda nn: nn.GLU(), lambda nn: nn.Hardshrink(),
              lambda nn: nn.Softshrink(0.2), lambda nn: nn.RReLU(), lambda nn: nn.SiLU(),
              lambda nn: nn.Mish(), lambda nn: nn.Hardswish(), lambda nn: nn.Hardsigmoid(),
              lambda nn: nn.Sigmoid(), lambda nn: nn.Tanh(), lambda nn: nn.LogSigmoid(),
              lambda nn: nn.Softsign(), lambda nn: nn.Tanhshrink(), lambda nn: nn.Dropout(),
              lambda nn: nn.Dropout2d(0.3, True), lambda nn: nn.AlphaDropout(0.1),
              lambda nn: nn.Embedding(10, 3, padding_idx=0, max_norm=1.0),
              lambda nn: nn.EmbeddingBag(10, 3, mode="sum"), lambda nn: nn.BatchNorm1d(4),
              lambda nn: nn.BatchNorm2d(4, momentum=None, affine=False),
              lambda nn: nn.InstanceNorm2d(3), lambda nn: nn.LayerNorm([3, 4]),
              lambda nn: nn.GroupNorm(2, 4), lambda nn: nn.RMSNorm(4, eps=1e-6),
              lambda nn: nn.LocalResponseNorm(2), lambda nn: nn.Flatten(),
              lambda nn: nn.Unflatten(1, (2, 2)), lambda nn: nn.CosineSimilarity(),
              lambda nn: nn.PairwiseDistance(), lambda nn: nn.Identity()]
    for make in makers:
        assert repr(make(ember.nn)) == repr(make(torch.nn))


# -- op table over the functional forms (FD checks to second order, vs torch) ----------------
def _F(m):
    return m.nn.functional


S = (3, 4)
ROWS = [
    OpInfo("linear", lambda m, x, w, b: _F(m).linear(x, w, b), [[(2, 3, 4), (5, 4), (5,)],
                                                                [(4,), (2, 4), (2,)]]),
    OpInfo("bilinear", lambda m, x, y, w, b: _F(m).bilinear(x, y, w, b),
           [[(3, 2), (3, 4), (5, 2, 4), (5,)]]),
    OpInfo("gelu", lambda m, x: _F(m).gelu(x), [[S]]),
    OpInfo("gelu_tanh", lambda m, x: _F(m).gelu(x, approximate="tanh"), [[S]]),
    OpInfo("elu", lambda m, x: _F(m).elu(x, 0.8), [[S]]),
    OpInfo("selu", lambda m, x: _F(m).selu(x), [[S]]),
    OpInfo("celu", lambda m, x: _F(m).celu(x, 1.5), [[S]]),
    OpInfo("leaky_relu", lambda m, x: _F(m).leaky_relu(x, 0.1), [[S]]),
    OpInfo("hardtanh", lambda m, x: _F(m).hardtanh(x, -1.0, 0.5), [[S]]),
    OpInfo("softplus", lambda m, x: _F(m).softplus(x, 1.5, 2.0), [[S]]),
    OpInfo("silu", lambda m, x: _F(m).silu(x), [[S]]),
    OpInfo("mish", lambda m, x: _F(m).mish(x), [[S]]),
    OpInfo("logsigmoid", lambda m, x: _F(m).logsigmoid(x), [[S]]),
    OpInfo("softsign", lambda m, x: _F(m).softsign(x), [[S]]),
    OpInfo("glu", lambda m, x: _F(m).glu(x, 1), [[(3, 6)]]),
    OpInfo("prelu", lambda m, x, w: _F(m).prelu(x, w), [[(2, 3, 4), (3,)]]),
    OpInfo("softmax", lambda m, x: _F(m).softmax(x, 1), [[S], [(2, 3, 4)]], domain=(-5, 5)),
    OpInfo("softmax_0d", lambda m, x: _F(m).softmax(x, 0), [[()], [(0, 3)]]),
    OpInfo("log_softmax", lambda m, x: _F(m).log_softmax(x, -1), [[S], [(2, 3, 4)]],
           domain=(-5, 5)),
    OpInfo("softmin", lambda m, x: _F(m).softmin(x, 0), [[S]]),
    OpInfo("layer_norm", lambda m, x, w, b: _F(m).layer_norm(x, (4,), w, b),
           [[(2, 3, 4), (4,), (4,)]]),
    OpInfo("batch_norm", lambda m, x, w, b: _F(m).batch_norm(x, None, None, w, b, True),
           [[(4, 3, 2), (3,), (3,)]]),
    OpInfo("group_norm", lambda m, x, w, b: _F(m).group_norm(x, 2, w, b),
           [[(2, 4, 3), (4,), (4,)]]),
    OpInfo("instance_norm", lambda m, x: _F(m).instance_norm(x), [[(2, 3, 4)]]),
    OpInfo("rms_norm", lambda m, x, w: _F(m).rms_norm(x, (4,), w, 1e-5),
           [[(2, 3, 4), (4,)]]),
    OpInfo("local_response_norm", lambda m, x: _F(m).local_response_norm(x, 3, 0.5),
           [[(2, 4, 3)]]),
    OpInfo("normalize", lambda m, x: _F(m).normalize(x, dim=1), [[S]]),
    OpInfo("normalize_p1", lambda m, x: _F(m).normalize(x, p=1, dim=0), [[S]]),
    OpInfo("cosine_similarity", lambda m, x, y: _F(m).cosine_similarity(x, y),
           [[S, S]]),
    OpInfo("pairwise_distance", lambda m, x, y: _F(m).pairwise_distance(x, y), [[S, S]]),
    OpInfo("pdist", lambda m, x: _F(m).pdist(x), [[(4, 3)]]),
    OpInfo("embedding", lambda m, w, i: _F(m).embedding(i, w),
           [[(5, 3), np.array([[0, 4], [4, 2]])]]),
    OpInfo("embedding_pad", lambda m, w, i: _F(m).embedding(i, w, padding_idx=4,
                                                            scale_grad_by_freq=True),
           [[(5, 3), np.array([[0, 4], [0, 2]])]], grad=False),  # not the true gradient
]

test_forward, test_grad, test_gradgrad, test_vs_torch = op_tests(ROWS)


def test_training_steps_match_torch():
    """A few SGD steps of a small network: same losses and parameters as PyTorch."""
    def build(nn):
        return nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.GELU(), nn.Linear(8, 8),
                             nn.LayerNorm(8), nn.SiLU(), nn.Linear(8, 3), nn.LogSoftmax(1))
    torch.manual_seed(0)
    tm, em = build(torch.nn).double(), build(ember.nn).double()
    copy_state(tm, em)
    rng = np.random.default_rng(0)
    target = np.eye(3)[rng.integers(0, 3, 16)]
    for step in range(4):
        x = rng.standard_normal((16, 6))
        losses = []
        for m, lib in ((tm, torch), (em, ember)):
            loss = -(m(lib.tensor(x)) * lib.tensor(target)).sum(1).mean()
            m.zero_grad()
            loss.backward()
            with lib.no_grad():
                for p in m.parameters():
                    p -= 0.1 * p.grad
            losses.append(loss.item())
        assert losses[0] == pytest.approx(losses[1], rel=1e-9)
    for (name, a), b in zip(em.state_dict().items(), tm.state_dict().values()):
        np.testing.assert_allclose(_np(a), _np(b), rtol=1e-9, atol=1e-12, err_msg=name)


def test_gelu_float32_accuracy_over_wide_range():
    xs = np.linspace(-10, 10, 20001).astype(np.float32)
    x, tx = ember.tensor(xs, requires_grad=True), torch.tensor(xs, requires_grad=True)
    y, ty = ember.nn.functional.gelu(x), torch.nn.functional.gelu(tx)
    assert np.abs(_np(y) - _np(ty)).max() < 3e-6
    y.sum().backward()
    ty.sum().backward()
    assert np.abs(_np(x.grad) - _np(tx.grad)).max() < 1e-6


def test_torch_namespace_spellings():
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    e, t = ember.tensor(x), torch.tensor(x)
    pairs = [(lambda m, v: m.softmax(v, 1), None), (lambda m, v: v.log_softmax(-1), None),
             (lambda m, v: m.layer_norm(v, (3,)), None), (lambda m, v: m.selu(v), None),
             (lambda m, v: m.embedding(v, m.tensor([[1, 0]])), None),
             (lambda m, v: m.dropout(v, 0.5, False), None),
             (lambda m, v: m.cosine_similarity(v, v + 1), None),
             (lambda m, v: m.group_norm(v.reshape(1, 2, 3), 2), None),
             (lambda m, v: v.hardshrink(0.3), None)]
    for fn, _ in pairs:
        np.testing.assert_allclose(_np(fn(ember, e)), _np(fn(torch, t)), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dt", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", ["linear", "layernorm", "batchnorm1d", "gelu", "softmax", "silu",
                                  "groupnorm", "elu"])
def test_low_precision_keeps_dtype_and_matches_torch(dt, name):
    make, inputs = LAYERS[name]
    ed, td = getattr(ember, dt), getattr(torch, dt)
    torch.manual_seed(0)
    tm, em = make(torch.nn).to(td), make(ember.nn).to(ed)
    em.load_state_dict({k: ember.tensor(v.float().numpy()).to(ed)
                        for k, v in tm.state_dict().items()})
    x = inputs[0].astype(np.float32)
    ex, tx = ember.tensor(x).to(ed).requires_grad_(), torch.tensor(x).to(td).requires_grad_()
    ey, ty = em(ex), tm(tx)
    assert ey.dtype is ed
    ey.float().sum().backward()
    ty.float().sum().backward()
    tol = 0.05 if dt == "bfloat16" else 5e-3
    np.testing.assert_allclose(_np(ey.float()), _np(ty.float()), atol=tol, rtol=tol)
    np.testing.assert_allclose(_np(ex.grad.float()), _np(tx.grad.float()), atol=tol, rtol=tol)


@pytest.mark.parametrize("name,shape", [("LazyBatchNorm1d", (4, 3)),
                                        ("LazyBatchNorm2d", (2, 3, 4, 4)),
                                        ("LazyBatchNorm3d", (2, 3, 2, 2, 2)),
                                        ("LazyInstanceNorm1d", (2, 3, 5)),
                                        ("LazyInstanceNorm2d", (2, 3, 4, 4))])
def test_lazy_norms_match_torch(name, shape):
    em, tm = getattr(ember.nn, name)(), getattr(torch.nn, name)()
    assert repr(em) == repr(tm)
    x = rnd(*shape).astype(np.float32)
    np.testing.assert_allclose(_np(em(ember.tensor(x))), _np(tm(torch.tensor(x))), atol=1e-5)
    assert type(em).__name__ == type(tm).__name__ and repr(em) == repr(tm)
    for (k, a), (k2, b) in zip(em.state_dict().items(), tm.state_dict().items()):
        assert k == k2
        np.testing.assert_allclose(_np(a), _np(b), atol=1e-6, err_msg=k)


def test_inplace_activation_after_norm_layers():
    """Norm layers do not save their output: Conv/BN/ReLU(inplace) patterns backprop."""
    def build(nn):
        return nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(inplace=True),
                             nn.Linear(6, 6), nn.LayerNorm(6), nn.ReLU(inplace=True),
                             nn.Unflatten(1, (2, 3)), nn.GroupNorm(2, 2), nn.ReLU(True))
    run_both(build, [rnd(8, 4)])
