"""Pooling: functional ops through the op table, PyTorch comparisons, and the modules."""

import numpy as np
import pytest

import ember
import ember.nn as enn
import ember.nn.functional as EF
from tests.harness import OpInfo, op_tests

try:
    import torch
except ImportError:  # the PyTorch comparisons skip
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


def _F(m):
    return m.nn.functional


def _max_pool2d_ref(x, k):
    n, c, h, w = x.shape
    return x[:, :, :h // k * k, :w // k * k].reshape(n, c, h // k, k, w // k, k).max((3, 5))


def _avg_pool2d_ref(x, k):
    n, c, h, w = x.shape
    return x[:, :, :h // k * k, :w // k * k].reshape(n, c, h // k, k, w // k, k).mean((3, 5))


ROWS = [
    OpInfo("max_pool1d", lambda m, x: _F(m).max_pool1d(x, 3, 2, 1, ceil_mode=True),
           [[(2, 3, 8)]]),
    OpInfo("max_pool2d", lambda m, x: _F(m).max_pool2d(x, 2), [[(2, 3, 6, 5)]],
           ref=lambda x: _max_pool2d_ref(x, 2)),
    OpInfo("max_pool2d_overlap_dil",
           lambda m, x: _F(m).max_pool2d(x, (3, 2), (1, 2), (1, 0), dilation=(2, 1)),
           [[(2, 2, 7, 6)]]),
    OpInfo("max_pool2d_indices",
           lambda m, x: _F(m).max_pool2d(x, 3, 2, 1, return_indices=True, ceil_mode=True),
           [[(1, 2, 6, 7)]]),
    OpInfo("max_pool3d", lambda m, x: _F(m).max_pool3d(x, 2, padding=1), [[(1, 2, 3, 4, 5)]]),
    OpInfo("max_pool2d_unbatched", lambda m, x: _F(m).max_pool2d(x, 2), [[(3, 4, 4)]]),
    OpInfo("avg_pool1d", lambda m, x: _F(m).avg_pool1d(x, 3, 2, 1, True, False),
           [[(2, 3, 8)]]),
    OpInfo("avg_pool2d", lambda m, x: _F(m).avg_pool2d(x, 2), [[(2, 3, 6, 5)]],
           ref=lambda x: _avg_pool2d_ref(x, 2)),
    OpInfo("avg_pool2d_pad_ceil",
           lambda m, x: _F(m).avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
           [[(1, 2, 6, 7)]]),
    OpInfo("avg_pool2d_divisor", lambda m, x: _F(m).avg_pool2d(x, 2, 1, 1, divisor_override=3),
           [[(1, 2, 4, 5)]]),
    OpInfo("avg_pool3d", lambda m, x: _F(m).avg_pool3d(x, (2, 3, 2), padding=1, ceil_mode=True),
           [[(1, 2, 4, 5, 3)]]),
    OpInfo("adaptive_avg_pool1d", lambda m, x: _F(m).adaptive_avg_pool1d(x, 3), [[(2, 3, 7)]]),
    OpInfo("adaptive_avg_pool2d", lambda m, x: _F(m).adaptive_avg_pool2d(x, (3, None)),
           [[(2, 3, 7, 5)]]),
    OpInfo("adaptive_avg_pool2d_even", lambda m, x: _F(m).adaptive_avg_pool2d(x, 2),
           [[(2, 3, 6, 4)]], ref=lambda x: x.reshape(2, 3, 2, 3, 2, 2).mean((3, 5))),
    OpInfo("adaptive_avg_pool2d_global", lambda m, x: _F(m).adaptive_avg_pool2d(x, 1),
           [[(2, 3, 5, 4)]], ref=lambda x: x.mean((2, 3), keepdims=True)),
    OpInfo("adaptive_avg_pool3d", lambda m, x: _F(m).adaptive_avg_pool3d(x, (2, 3, 2)),
           [[(1, 2, 5, 4, 3)]]),
    OpInfo("adaptive_max_pool1d", lambda m, x: _F(m).adaptive_max_pool1d(x, 3, True),
           [[(2, 3, 7)]]),
    OpInfo("adaptive_max_pool2d", lambda m, x: _F(m).adaptive_max_pool2d(x, (3, 2)),
           [[(2, 3, 7, 5)]]),
    OpInfo("adaptive_max_pool2d_even", lambda m, x: _F(m).adaptive_max_pool2d(x, 2),
           [[(2, 3, 6, 4)]]),
    OpInfo("adaptive_max_pool3d", lambda m, x: _F(m).adaptive_max_pool3d(x, 2, True),
           [[(1, 2, 5, 4, 3)]]),
    OpInfo("max_unpool2d",
           lambda m, x: _F(m).max_unpool2d(*_F(m).max_pool2d(x, 2, return_indices=True), 2),
           [[(1, 2, 4, 6)]]),
    OpInfo("max_unpool1d_size",
           lambda m, x: _F(m).max_unpool1d(*_F(m).max_pool1d(x, 2, return_indices=True), 2,
                                           output_size=(7,)),
           [[(1, 2, 7)]]),
    OpInfo("lp_pool2d", lambda m, x: _F(m).lp_pool2d(x, 2, 2), [[(1, 2, 4, 6)]],
           domain=(0.5, 2.0)),
    OpInfo("lp_pool1d_p3", lambda m, x: _F(m).lp_pool1d(x, 3, 3, 2), [[(1, 2, 7)]],
           domain=(0.5, 2.0)),
]

test_forward, test_grad, test_gradgrad, test_vs_torch = op_tests(ROWS)


@needs_torch
@pytest.mark.parametrize("k,s", [(2, None), (3, 1), (3, 2)])
def test_max_pool_ties_route_to_first_maximum(k, s):
    """After ReLU many windows hold equal zeros: one element per window gets the gradient."""
    rng = np.random.default_rng(0)
    a = np.maximum(rng.standard_normal((2, 3, 8, 8)), 0).astype(np.float32)
    a[0, 0] = 0
    xe, xt = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    ye, yt = EF.max_pool2d(xe, k, s), torch.nn.functional.max_pool2d(xt, k, s)
    g = rng.standard_normal(tuple(yt.shape)).astype(np.float32)
    ye.backward(ember.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy())
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), atol=1e-6)


@needs_torch
def test_max_pool_nan_propagates():
    a = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    a[0, 0, 1, 1] = np.nan
    ye = EF.max_pool2d(ember.tensor(a), 2)
    yt = torch.nn.functional.max_pool2d(torch.tensor(a), 2)
    np.testing.assert_array_equal(ye.numpy(), yt.numpy())


@needs_torch
def test_pooling_float32_batch_vs_torch():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((16, 8, 16, 16)).astype(np.float32)
    for fe, ft in ((lambda m, x: _F(m).max_pool2d(x, 2),) * 2,
                   (lambda m, x: _F(m).avg_pool2d(x, 3, 2, 1),) * 2,
                   (lambda m, x: _F(m).adaptive_avg_pool2d(x, 5),) * 2):
        xe, xt = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        ye, yt = fe(ember, xe), ft(torch, xt)
        assert ye.dtype == ember.float32
        np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), atol=1e-6)
        ye.sum().backward()
        yt.sum().backward()
        np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), atol=1e-6)


def test_integer_pooling():
    x = ember.arange(16).reshape(1, 1, 4, 4)
    assert EF.max_pool2d(x, 2).tolist() == [[[[5, 7], [13, 15]]]]
    assert EF.avg_pool2d(x, 2).dtype == ember.int64


@pytest.mark.parametrize("call,msg", [
    (lambda: EF.max_pool2d(ember.randn(2, 3, 5, 5), 2, padding=2),
     "pad should be at most half of effective kernel size"),
    (lambda: EF.max_pool2d(ember.randn(2, 3, 1, 1), 2), "Output size is too small"),
    (lambda: EF.avg_pool2d(ember.randn(2, 3, 1, 1), 2), "Output size is too small"),
    (lambda: EF.max_pool2d(ember.randn(3, 5), 2), "tensor expected for input"),
    (lambda: EF.max_pool2d(ember.randn(2, 3, 5, 5), 2, stride=0), "stride should not be zero"),
    (lambda: EF.max_pool2d(ember.randn(2, 3, 5, 5), (2, 2, 2)),
     "kernel_size must either be a single int, or a tuple of 2 ints"),
    (lambda: EF.max_unpool2d(*EF.max_pool2d(ember.randn(1, 1, 5, 5), 2, return_indices=True),
                             2), "Found an invalid max index"),
])
def test_errors(call, msg):
    with pytest.raises(RuntimeError, match=msg):
        call()


_MODULES = [
    ("MaxPool1d", (3,), dict(stride=2), (2, 3, 9)),
    ("MaxPool2d", ((3, 2),), dict(stride=(2, 1), padding=1, ceil_mode=True), (2, 3, 7, 6)),
    ("MaxPool3d", (2,), dict(dilation=2), (1, 2, 5, 5, 5)),
    ("AvgPool1d", (3, 2), dict(padding=1), (2, 3, 9)),
    ("AvgPool2d", (3,), dict(stride=2, padding=1, count_include_pad=False), (2, 3, 7, 6)),
    ("AvgPool3d", (2,), dict(divisor_override=3), (1, 2, 4, 4, 4)),
    ("AdaptiveAvgPool1d", (4,), {}, (2, 3, 9)),
    ("AdaptiveAvgPool2d", ((3, None),), {}, (2, 3, 7, 6)),
    ("AdaptiveAvgPool3d", (2,), {}, (1, 2, 5, 4, 3)),
    ("AdaptiveMaxPool1d", (4,), {}, (2, 3, 9)),
    ("AdaptiveMaxPool2d", (3,), {}, (2, 3, 7, 6)),
    ("AdaptiveMaxPool3d", ((2, 1, 2),), {}, (1, 2, 5, 4, 3)),
    ("LPPool1d", (2, 3), dict(stride=2), (2, 3, 9)),
    ("LPPool2d", (1.5, 2), {}, (2, 3, 6, 6)),
]


@needs_torch
@pytest.mark.parametrize("name,args,kwargs,shape", _MODULES)
def test_modules_vs_torch(name, args, kwargs, shape):
    em, tm = getattr(enn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert repr(em) == repr(tm)
    a = np.abs(np.random.default_rng(2).standard_normal(shape)) + 0.1
    xe, xt = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    ye, yt = em(xe), tm(xt)
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), atol=1e-10)
    ye.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), atol=1e-10)


@needs_torch
def test_unpool_modules_vs_torch():
    a = np.random.default_rng(3).standard_normal((1, 2, 4, 6))
    e_out, e_idx = enn.MaxPool2d(2, return_indices=True)(ember.tensor(a))
    t_out, t_idx = torch.nn.MaxPool2d(2, return_indices=True)(torch.tensor(a))
    np.testing.assert_array_equal(e_idx.numpy(), t_idx.numpy())
    eu, tu = enn.MaxUnpool2d(2), torch.nn.MaxUnpool2d(2)
    assert repr(eu) == repr(tu)
    np.testing.assert_array_equal(eu(e_out, e_idx).numpy(), tu(t_out, t_idx).numpy())
    np.testing.assert_array_equal(
        eu(e_out, e_idx, output_size=(5, 7)).numpy(),
        tu(t_out, t_idx, output_size=(5, 7)).numpy())


@needs_torch
def test_max_pool_backward_nonfinite_and_nan_inputs():
    a = np.random.default_rng(4).standard_normal((1, 2, 4, 6)).astype(np.float32)
    a[0, 0, 1, 1] = np.nan
    for k, s in ((2, 2), (3, 1)):
        xe, xt = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        ye, yt = EF.max_pool2d(xe, k, s), torch.nn.functional.max_pool2d(xt, k, s)
        gg = np.ones(tuple(yt.shape), dtype=np.float32)
        gg.flat[-1] = np.inf
        ye.backward(ember.tensor(gg))
        yt.backward(torch.tensor(gg))
        np.testing.assert_array_equal(ye.detach().numpy(), yt.detach().numpy())
        np.testing.assert_array_equal(np.isnan(xe.grad.numpy()), np.isnan(xt.grad.numpy()))
        np.testing.assert_array_equal(np.isinf(xe.grad.numpy()), np.isinf(xt.grad.numpy()))
