"""Convolutions: functional ops (op table + PyTorch comparisons) and the Conv modules."""

import math

import numpy as np
import pytest

import ember
import ember.nn as enn
import ember.nn.functional as EF
import ember.ops._conv_kernels as conv_kernels
from tests.harness import OpInfo, op_tests

try:
    import torch
except ImportError:  # the PyTorch comparisons skip
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


def _conv_ref(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """Direct NumPy convolution (any dims) from its definition, via einsum over windows."""
    nd = x.ndim - 2
    st, pd, dl = ((v,) * nd if isinstance(v, int) else v for v in (stride, padding, dilation))
    xp = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in pd])
    ks = w.shape[2:]
    span = [d * (k - 1) + 1 for k, d in zip(ks, dl)]
    win = np.lib.stride_tricks.sliding_window_view(xp, span, axis=tuple(range(2, 2 + nd)))
    win = win[(Ellipsis,) + tuple(slice(None, None, d) for d in dl)]
    win = win[(slice(None), slice(None)) + tuple(slice(None, None, s) for s in st)]
    G, Cg, Og = groups, w.shape[1], w.shape[0] // groups
    outs = []
    for g in range(G):
        xs = win[:, g * Cg:(g + 1) * Cg]
        ws = w[g * Og:(g + 1) * Og]
        letters = "hijk"[:nd]
        outs.append(np.einsum(f"nc{letters}{letters.upper()},oc{letters.upper()}->no{letters}",
                              xs, ws))
    out = np.concatenate(outs, axis=1)
    if b is not None:
        out = out + b.reshape((1, -1) + (1,) * nd)
    return out


def _F(m):
    return m.nn.functional


ROWS = [
    OpInfo("conv1d", lambda m, x, w, b: _F(m).conv1d(x, w, b, stride=2, padding=1),
           [[(2, 3, 9), (4, 3, 3), (4,)]],
           ref=lambda x, w, b: _conv_ref(x, w, b, 2, 1)),
    OpInfo("conv1d_same_dil", lambda m, x, w: _F(m).conv1d(x, w, padding="same", dilation=2),
           [[(2, 2, 8), (3, 2, 4)]]),
    OpInfo("conv2d", lambda m, x, w, b: _F(m).conv2d(x, w, b, padding=1),
           [[(2, 3, 5, 6), (4, 3, 3, 3), (4,)]],
           ref=lambda x, w, b: _conv_ref(x, w, b, 1, 1)),
    OpInfo("conv2d_strided_groups",
           lambda m, x, w: _F(m).conv2d(x, w, stride=(2, 1), padding=(1, 2), dilation=(1, 2),
                                        groups=2),
           [[(2, 4, 7, 6), (6, 2, 3, 2)]],
           ref=lambda x, w: _conv_ref(x, w, None, (2, 1), (1, 2), (1, 2), 2)),
    OpInfo("conv2d_1x1", lambda m, x, w: _F(m).conv2d(x, w), [[(2, 3, 4, 4), (5, 3, 1, 1)]],
           ref=lambda x, w: _conv_ref(x, w)),
    OpInfo("conv2d_unbatched", lambda m, x, w: _F(m).conv2d(x, w, padding="valid"),
           [[(3, 5, 5), (2, 3, 2, 2)]],
           ref=lambda x, w: _conv_ref(x[None], w)[0]),
    OpInfo("conv3d", lambda m, x, w, b: _F(m).conv3d(x, w, b, stride=(1, 2, 1), padding=1),
           [[(1, 2, 4, 5, 3), (3, 2, 2, 3, 2), (3,)]],
           ref=lambda x, w, b: _conv_ref(x, w, b, (1, 2, 1), 1)),
    OpInfo("conv_transpose1d",
           lambda m, x, w, b: _F(m).conv_transpose1d(x, w, b, stride=3, padding=1,
                                                     output_padding=2, dilation=2),
           [[(2, 4, 5), (4, 3, 3), (3,)]]),
    OpInfo("conv_transpose2d",
           lambda m, x, w, b: _F(m).conv_transpose2d(x, w, b, stride=2, padding=1,
                                                     output_padding=1, groups=2),
           [[(2, 4, 3, 4), (4, 3, 3, 3), (6,)]]),
    OpInfo("conv_transpose3d", lambda m, x, w: _F(m).conv_transpose3d(x, w, stride=(2, 1, 2)),
           [[(1, 2, 2, 3, 2), (2, 2, 2, 2, 3)]]),
    OpInfo("conv2d_squared", lambda m, x, w: _F(m).conv2d(x, w, stride=2) ** 2,
           [[(1, 2, 5, 5), (2, 2, 3, 3)]]),
]

test_forward, test_grad, test_gradgrad, test_vs_torch = op_tests(ROWS)


# -- against PyTorch: float32, bigger shapes, chunking, double backward ----------------------
def _pair(shape, rng, dtype=np.float32, scale=1.0):
    a = (rng.standard_normal(shape) * scale).astype(dtype)
    return ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


@needs_torch
@pytest.mark.parametrize("chunk,workers", [(None, None), (4096, None), (4096, 1)])
@pytest.mark.parametrize("cfg", [
    dict(stride=1, padding=1), dict(stride=2, padding=2, dilation=2),
    dict(stride=(1, 2), groups=4), dict(padding="same"),
])
def test_conv2d_float32_vs_torch(cfg, chunk, workers, monkeypatch):
    if chunk is not None:  # force many chunks through the chunk loop (threaded or not)
        monkeypatch.setattr(conv_kernels, "CHUNK_BYTES", chunk)
        monkeypatch.setattr(conv_kernels, "WORKERS", workers)
    rng = np.random.default_rng(0)
    xe, xt = _pair((9, 8, 11, 10), rng)
    we, wt = _pair((12, 8 // cfg.get("groups", 1), 3, 3), rng, scale=0.3)
    be, bt = _pair((12,), rng)
    ye = EF.conv2d(xe, we, be, **cfg)
    yt = torch.nn.functional.conv2d(xt, wt, bt, **cfg)
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), rtol=1e-4, atol=1e-4)
    g = rng.standard_normal(tuple(yt.shape)).astype(np.float32)
    ye.backward(ember.tensor(g))
    yt.backward(torch.tensor(g))
    for a, b in ((xe, xt), (we, wt), (be, bt)):
        assert a.grad.dtype == ember.float32
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-4, atol=1e-3)


@needs_torch
@pytest.mark.parametrize("copy_below,copy_rows", [(0, 0), (1000, 0)])
@pytest.mark.parametrize("nd,groups", [(1, 1), (2, 2), (3, 1)])
def test_weight_grad_paths_vs_torch(nd, groups, copy_below, copy_rows, monkeypatch):
    """Stride-1 weight gradients: per-offset matmuls on shifted views, or copied columns."""
    monkeypatch.setattr(conv_kernels, "WGRAD_COPY_BELOW", copy_below)
    monkeypatch.setattr(conv_kernels, "WGRAD_COPY_ROWS", copy_rows)
    rng = np.random.default_rng(6)
    xs, ws = (3, 4) + (9, 7, 5)[:nd], (6, 4 // groups) + (3, 2, 3)[:nd]
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    grads = []
    for m in (ember, torch):
        xt, wt = m.tensor(x, requires_grad=True), m.tensor(w, requires_grad=True)
        y = getattr(m.nn.functional, f"conv{nd}d")(xt, wt, padding=1, dilation=2 if nd == 2
                                                    else 1, groups=groups)
        (y * y).sum().backward()
        grads.append((xt.grad.numpy(), wt.grad.numpy()))
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


@needs_torch
@pytest.mark.parametrize("fn,wshape,kw", [
    ("conv2d", (4, 3, 3, 3), dict(stride=2, padding=1)),
    ("conv1d", (6, 1, 3), dict(dilation=2, groups=3)),
    ("conv_transpose2d", (3, 2, 3, 2), dict(stride=2, padding=1, output_padding=1)),
    ("conv_transpose2d", (3, 2, 3, 2), dict(dilation=(2, 3), output_padding=(1, 2), padding=1)),
])
def test_double_backward_vs_torch(fn, wshape, kw):
    rng = np.random.default_rng(1)
    nd = len(wshape) - 2
    xs = (2, 3) + (6, 5)[:nd]
    arrays = [rng.standard_normal(xs), rng.standard_normal(wshape)]
    res = []
    for m in (ember, torch):
        x, w = (m.tensor(a, requires_grad=True) for a in arrays)
        y = getattr(m.nn.functional, fn)(x, w, **kw)
        v = m.tensor(np.random.default_rng(2).standard_normal(tuple(y.shape)))
        gx, gw = m.autograd.grad([y], [x, w], [v], create_graph=True)
        h = (gx * gx).sum() + (gw.sin()).sum() + (gx.sum() * gw.sum())
        res.append([t.detach().numpy() for t in m.autograd.grad([h], [x, w])])
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


@needs_torch
def test_conv_float16_and_bfloat16_compute():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    for dt in ("float16", "bfloat16"):
        xe = ember.tensor(x).to(getattr(ember, dt))
        we = ember.tensor(w).to(getattr(ember, dt))
        y = EF.conv2d(xe, we, padding=1)
        assert y.dtype == getattr(ember, dt)
        assert EF.conv_transpose2d(y, we).dtype == getattr(ember, dt)
        assert EF.conv_transpose2d(y, we, stride=2).dtype == getattr(ember, dt)
        ref = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), padding=1)
        np.testing.assert_allclose(y.float().numpy(), ref.numpy(), rtol=0.05, atol=0.15)


def test_integer_conv():
    x = ember.arange(16).reshape(1, 1, 4, 4)
    w = ember.ones(1, 1, 2, 2, dtype=ember.int64)
    y = EF.conv2d(x, w)
    assert y.dtype == ember.int64
    assert y.tolist() == [[[[10, 14, 18], [26, 30, 34], [42, 46, 50]]]]


def test_empty_batch():
    y = EF.conv2d(ember.randn(0, 3, 5, 5), ember.randn(4, 3, 3, 3))
    assert tuple(y.shape) == (0, 4, 3, 3)


# -- errors ---------------------------------------------------------------------------------
@pytest.mark.parametrize("call,msg", [
    (lambda: EF.conv2d(ember.randn(2, 3), ember.randn(4, 3, 3, 3)),
     "Expected 3D (unbatched) or 4D (batched) input to conv2d"),
    (lambda: EF.conv2d(ember.randn(2, 3, 5, 5), ember.randn(6, 4, 3, 3)),
     "expected input[2, 3, 5, 5] to have 4 channels, but got 3 channels instead"),
    (lambda: EF.conv2d(ember.randn(2, 4, 5, 5), ember.randn(6, 4, 3, 3), groups=4),
     "expected weight to be divisible by 4 at dimension 0"),
    (lambda: EF.conv2d(ember.randn(2, 4, 2, 2), ember.randn(6, 4, 3, 3)),
     "Kernel size can't be greater than actual input size"),
    (lambda: EF.conv2d(ember.randn(2, 4, 5, 5), ember.randn(6, 4, 3, 3), stride=2,
                       padding="same"), "padding='same' is not supported for strided"),
    (lambda: EF.conv2d(ember.randn(2, 4, 5, 5), ember.randn(6, 4, 3, 3), padding="foo"),
     "Invalid padding string: 'foo'"),
    (lambda: EF.conv2d(ember.randn(2, 4, 5, 5).double(), ember.randn(6, 4, 3, 3)),
     "expected scalar type Double but found Float"),
    (lambda: EF.conv2d(ember.randn(2, 4, 5, 5), ember.randn(6, 4, 3, 3), ember.randn(5)),
     "expected bias to be 1-dimensional with 6 elements"),
    (lambda: EF.conv2d(ember.randn(2, 4, 5, 5), ember.randn(6, 4, 3, 3), stride=0),
     "non-positive stride is not supported"),
    (lambda: EF.conv2d(ember.randn(2, 4, 5, 5), ember.randn(6, 4, 3, 3), padding=-1),
     "negative padding is not supported"),
    (lambda: EF.conv2d(ember.randn(2, 4, 5, 5), ember.randn(6, 4, 3, 3), stride=(1, 1, 1)),
     "expected stride to be a single integer value or a list of 2 values"),
    (lambda: EF.conv_transpose2d(ember.randn(2, 4, 5, 5), ember.randn(4, 6, 3, 3),
                                 output_padding=1),
     "output padding must be smaller than either stride or dilation"),
    (lambda: EF.conv_transpose2d(ember.randn(2, 3, 5, 5), ember.randn(4, 6, 3, 3)),
     "Given transposed=1, weight of size [4, 6, 3, 3], expected input[2, 3, 5, 5] to have 4"),
])
def test_errors(call, msg):
    with pytest.raises(RuntimeError) as e:
        call()
    assert msg in str(e.value)


# -- modules --------------------------------------------------------------------------------
def test_module_shapes_init_and_repr():
    m = enn.Conv2d(16, 33, (3, 5), stride=(2, 1), padding=(4, 2), dilation=(3, 1))
    assert tuple(m.weight.shape) == (33, 16, 3, 5) and tuple(m.bias.shape) == (33,)
    bound = 1 / math.sqrt(16 * 15)
    assert np.abs(m.weight.detach().numpy()).max() <= bound
    assert np.abs(m.bias.detach().numpy()).max() <= bound
    assert np.abs(m.weight.detach().numpy()).max() > 0.8 * bound  # uniform over the range
    assert m(ember.randn(2, 16, 20, 30)).shape == (2, 33, 11, 30)
    assert repr(m) == ("Conv2d(16, 33, kernel_size=(3, 5), stride=(2, 1), padding=(4, 2), "
                       "dilation=(3, 1))")
    t = enn.ConvTranspose2d(4, 8, 3, stride=2, output_padding=1, groups=2, bias=False)
    assert tuple(t.weight.shape) == (4, 4, 3, 3) and t.bias is None
    assert repr(t) == ("ConvTranspose2d(4, 8, kernel_size=(3, 3), stride=(2, 2), "
                       "output_padding=(1, 1), groups=2, bias=False)")
    assert repr(enn.Conv1d(4, 8, 3, padding="same", padding_mode="circular")) == \
        "Conv1d(4, 8, kernel_size=(3,), stride=(1,), padding=same, padding_mode=circular)"
    assert len(list(enn.Conv3d(2, 4, 3).parameters())) == 2


@pytest.mark.parametrize("kwargs,msg", [
    (dict(groups=0), "groups must be a positive integer"),
    (dict(groups=3), "in_channels must be divisible by groups"),
    (dict(padding="full"), "Invalid padding string 'full'"),
    (dict(padding="same", stride=2), "padding='same' is not supported for strided"),
    (dict(padding_mode="mirror"), "padding_mode must be one of"),
])
def test_module_errors(kwargs, msg):
    with pytest.raises(ValueError, match=msg.replace("(", r"\(")):
        enn.Conv2d(4, 6, 3, **kwargs)


@needs_torch
@pytest.mark.parametrize("cls,args,kwargs", [
    ("Conv1d", (3, 4, 3), dict(padding=2, padding_mode="reflect")),
    ("Conv2d", (3, 4, (3, 2)), dict(padding="same", padding_mode="replicate", dilation=2)),
    ("Conv2d", (4, 6, 3), dict(padding=1, padding_mode="circular", groups=2, stride=2)),
    ("Conv3d", (2, 3, 2), dict(padding=1, padding_mode="zeros", bias=False)),
    ("ConvTranspose1d", (3, 4, 3), dict(stride=2, padding=1)),
    ("ConvTranspose2d", (4, 2, 3), dict(stride=2, padding=1, output_padding=1, groups=2)),
    ("ConvTranspose3d", (2, 3, 2), dict(stride=2)),
])
def test_modules_vs_torch_same_weights(cls, args, kwargs):
    tm = getattr(torch.nn, cls)(*args, **kwargs).double()
    em = getattr(enn, cls)(*args, **kwargs, dtype=ember.float64)
    em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in
                        tm.state_dict().items()})
    nd = int(cls[-2])
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, args[0]) + (7, 6, 5)[:nd])
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ye, yt = em(xe), tm(xt)
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), atol=1e-10)
    ye.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(em.weight.grad.numpy(), tm.weight.grad.numpy(), atol=1e-9)


@needs_torch
def test_conv_transpose_output_size():
    tm = torch.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1).double()
    em = enn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, dtype=ember.float64)
    em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in
                        tm.state_dict().items()})
    x = np.random.default_rng(5).standard_normal((1, 3, 4, 4))
    ye = em(ember.tensor(x), output_size=[1, 2, 8, 8])
    yt = tm(torch.tensor(x), output_size=[1, 2, 8, 8])
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), atol=1e-10)
    with pytest.raises(ValueError, match="requested an output size of"):
        em(ember.tensor(x), output_size=(10, 10))
    with pytest.raises(ValueError, match='Only "zeros" padding mode'):
        enn.ConvTranspose2d(3, 2, 3, padding_mode="reflect")


def test_lazy_conv():
    m = enn.LazyConv2d(8, 3, padding=1)
    y = m(ember.randn(2, 5, 6, 6))
    assert type(m) is enn.Conv2d and m.in_channels == 5
    assert tuple(m.weight.shape) == (8, 5, 3, 3) and tuple(y.shape) == (2, 8, 6, 6)
    t = enn.LazyConvTranspose1d(4, 3, stride=2)
    assert tuple(t(ember.randn(3, 7)).shape) == (4, 15)
    assert type(t) is enn.ConvTranspose1d and tuple(t.weight.shape) == (3, 4, 3)


def test_training_step_reduces_loss():
    ember.manual_seed(0)
    net = enn.Sequential(enn.Conv2d(1, 4, 3, padding=1), enn.ReLU(), enn.MaxPool2d(2),
                         enn.Conv2d(4, 4, 3), enn.Flatten(), enn.Linear(4, 2))
    x, target = ember.randn(8, 1, 6, 6), ember.randn(8, 2)
    losses = []
    for _ in range(20):
        loss = ((net(x) - target) ** 2).mean()
        net.zero_grad()
        loss.backward()
        with ember.no_grad():
            for p in net.parameters():
                p -= 0.1 * p.grad
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]
