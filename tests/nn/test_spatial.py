"""Spatial ops: pad, interpolate, grid_sample, affine_grid, fold/unfold, shuffles; modules."""

import warnings

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


def _grid(shape, lo=-1.2, hi=1.2, seed=0):
    return np.random.default_rng(seed).uniform(lo, hi, shape)


ROWS = [
    OpInfo("pad_constant", lambda m, x: _F(m).pad(x, (1, 2, -1, 1), value=0.5), [[(2, 3, 4)]],
           ref=lambda x: np.pad(x[:, 1:], ((0, 0), (0, 1), (1, 2)), constant_values=0.5)),
    OpInfo("pad_reflect", lambda m, x: _F(m).pad(x, (2, 1, 1, 2), mode="reflect"),
           [[(2, 2, 4, 5)]],
           ref=lambda x: np.pad(x, ((0, 0), (0, 0), (1, 2), (2, 1)), mode="reflect")),
    OpInfo("pad_replicate", lambda m, x: _F(m).pad(x, (3, 1), mode="replicate"), [[(2, 2, 4)]],
           ref=lambda x: np.pad(x, ((0, 0), (0, 0), (3, 1)), mode="edge")),
    OpInfo("pad_circular", lambda m, x: _F(m).pad(x, (1, 2, 0, 1, 2, 1), mode="circular"),
           [[(1, 2, 3, 3, 4)]],
           ref=lambda x: np.pad(x, ((0, 0), (0, 0), (2, 1), (0, 1), (1, 2)), mode="wrap")),
    OpInfo("interp_nearest", lambda m, x: _F(m).interpolate(x, scale_factor=2), [[(1, 2, 3, 4)]],
           ref=lambda x: x.repeat(2, 2).repeat(2, 3)),
    OpInfo("interp_nearest_exact",
           lambda m, x: _F(m).interpolate(x, size=(5, 3), mode="nearest-exact"),
           [[(1, 2, 3, 4)]]),
    OpInfo("interp_linear", lambda m, x: _F(m).interpolate(x, scale_factor=1.5, mode="linear"),
           [[(2, 2, 5)]]),
    OpInfo("interp_bilinear_ac",
           lambda m, x: _F(m).interpolate(x, size=(5, 7), mode="bilinear", align_corners=True),
           [[(1, 2, 3, 4)]]),
    OpInfo("interp_bicubic", lambda m, x: _F(m).interpolate(x, scale_factor=2, mode="bicubic"),
           [[(1, 1, 3, 4)]]),
    OpInfo("interp_trilinear",
           lambda m, x: _F(m).interpolate(x, size=(3, 4, 2), mode="trilinear"),
           [[(1, 2, 2, 3, 4)]]),
    OpInfo("interp_area", lambda m, x: _F(m).interpolate(x, size=(2, 3), mode="area"),
           [[(1, 2, 5, 7)]]),
    OpInfo("grid_sample_bilinear",
           lambda m, x, g: _F(m).grid_sample(x, g, align_corners=False),
           [[(2, 2, 4, 5), _grid((2, 3, 4, 2))]]),
    OpInfo("grid_sample_border_ac",
           lambda m, x, g: _F(m).grid_sample(x, g, padding_mode="border", align_corners=True),
           [[(1, 2, 4, 5), _grid((1, 3, 3, 2), seed=1)]]),
    OpInfo("grid_sample_reflection",
           lambda m, x, g: _F(m).grid_sample(x, g, padding_mode="reflection",
                                             align_corners=False),
           [[(1, 2, 4, 5), _grid((1, 3, 3, 2), -2.5, 2.5, seed=2)]]),
    OpInfo("grid_sample_nearest",
           lambda m, x, g: _F(m).grid_sample(x, g, mode="nearest", align_corners=False),
           [[(1, 2, 4, 5), _grid((1, 3, 3, 2), seed=3)]], torch=False),
    OpInfo("grid_sample_3d",
           lambda m, x, g: _F(m).grid_sample(x, g, align_corners=True),
           [[(1, 2, 3, 4, 3), _grid((1, 2, 2, 3, 3), seed=4)]]),
    OpInfo("affine_grid", lambda m, t: _F(m).affine_grid(t, (2, 1, 3, 4), align_corners=False),
           [[(2, 2, 3)]]),
    OpInfo("affine_grid_sample",
           lambda m, x, t: _F(m).grid_sample(
               x, _F(m).affine_grid(t, (1, 2, 3, 3), align_corners=True), align_corners=True),
           [[(1, 2, 4, 4), np.array([[[0.8, 0.2, 0.1], [-0.3, 0.9, 0.05]]])]]),
    OpInfo("unfold", lambda m, x: _F(m).unfold(x, (2, 3), dilation=(1, 2), padding=1,
                                               stride=(2, 1)), [[(2, 3, 5, 6)]]),
    OpInfo("fold", lambda m, x: _F(m).fold(x, (4, 5), 2, padding=1, stride=2), [[(2, 8, 9)]]),
    OpInfo("pixel_shuffle", lambda m, x: _F(m).pixel_shuffle(x, 2), [[(2, 8, 2, 3)]]),
    OpInfo("pixel_unshuffle", lambda m, x: _F(m).pixel_unshuffle(x, 2), [[(2, 2, 4, 6)]]),
    OpInfo("channel_shuffle", lambda m, x: _F(m).channel_shuffle(x, 2), [[(2, 6, 2, 2)]],
           ref=lambda x: x.reshape(2, 2, 3, 2, 2).transpose(0, 2, 1, 3, 4).reshape(2, 6, 2, 2)),
]

test_forward, test_grad, test_gradgrad, test_vs_torch = op_tests(ROWS)


@pytest.fixture(autouse=True)
def _quiet_align_corners_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


@needs_torch
@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "bilinear", "bicubic", "area"])
@pytest.mark.parametrize("kw", [dict(scale_factor=2), dict(scale_factor=0.7),
                                dict(size=(7, 3)), dict(scale_factor=(1.3, 2.6)),
                                dict(scale_factor=1.7, recompute_scale_factor=True)])
def test_interpolate_float32_vs_torch(mode, kw):
    a = np.random.default_rng(0).standard_normal((2, 3, 6, 5)).astype(np.float32)
    xe, xt = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    ye = EF.interpolate(xe, mode=mode, **kw)
    yt = torch.nn.functional.interpolate(xt, mode=mode, **kw)
    assert ye.dtype == ember.float32
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), atol=1e-5)
    ye.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), atol=1e-5)


@needs_torch
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("align_corners", [False, True])
def test_grid_sample_vs_torch(padding_mode, mode, align_corners):
    rng = np.random.default_rng(5)
    a, g = rng.standard_normal((2, 3, 5, 6)), rng.uniform(-2, 2, (2, 4, 3, 2))
    xe, ge = ember.tensor(a, requires_grad=True), ember.tensor(g, requires_grad=True)
    xt, gt = torch.tensor(a, requires_grad=True), torch.tensor(g, requires_grad=True)
    ye = EF.grid_sample(xe, ge, mode, padding_mode, align_corners)
    yt = torch.nn.functional.grid_sample(xt, gt, mode, padding_mode, align_corners)
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), atol=1e-12)
    v = rng.standard_normal(tuple(yt.shape))
    ye.backward(ember.tensor(v))
    yt.backward(torch.tensor(v))
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), atol=1e-12)
    if mode == "bilinear":
        np.testing.assert_allclose(ge.grad.numpy(), gt.grad.numpy(), atol=1e-10)


@pytest.mark.parametrize("call,exc,msg", [
    (lambda: EF.pad(ember.randn(2, 3, 4, 4), (1, 2), mode="reflect"), NotImplementedError,
     "Padding size 2 is not supported for 4D input tensor"),
    (lambda: EF.pad(ember.randn(2, 3, 4), (4, 1), mode="reflect"), RuntimeError,
     "Padding size should be less than the corresponding input dimension"),
    (lambda: EF.pad(ember.randn(2, 3, 4), (5, 1), mode="circular"), RuntimeError,
     "wrapping around more than once"),
    (lambda: EF.pad(ember.randn(2, 3), (1, 2, 3)), RuntimeError, "divisible by 2"),
    (lambda: EF.pad(ember.randn(2, 3), (1,) * 6), RuntimeError, "less than or equal to two"),
    (lambda: EF.pad(ember.randn(2, 3, 4), (1, 1), mode="foo"), NotImplementedError,
     "Unrecognised padding mode foo"),
    (lambda: EF.pad(ember.randn(2, 3, 4), (1, 1), mode="reflect", value=1), RuntimeError,
     "doesn't take in value argument"),
    (lambda: EF.interpolate(ember.randn(1, 1, 4, 4), scale_factor=2, mode="linear"),
     NotImplementedError, "Got 4D input, but linear mode needs 3D input"),
    (lambda: EF.interpolate(ember.randn(1, 1, 4), size=3, align_corners=True), ValueError,
     "align_corners option can only be set with the interpolating modes"),
    (lambda: EF.interpolate(ember.randn(1, 1, 4), size=3, scale_factor=2), ValueError,
     "only one of size or scale_factor should be defined"),
    (lambda: EF.interpolate(ember.randn(1, 1, 4)), ValueError, "either size or scale_factor"),
    (lambda: EF.fold(ember.randn(1, 5, 9), (4, 4), 2), RuntimeError,
     "divisible by the product of kernel_size"),
    (lambda: EF.fold(ember.randn(1, 4, 10), (4, 4), 2), RuntimeError,
     "calculated number of sliding blocks 3 * 3 = 9"),
    (lambda: EF.unfold(ember.randn(2, 3), 2), NotImplementedError, "Only 3D or 4D input"),
    (lambda: EF.pixel_shuffle(ember.randn(2, 8, 3, 3), 3), RuntimeError,
     "divisible by the square of upscale_factor"),
    (lambda: EF.affine_grid(ember.randn(2, 3, 3), (2, 1, 4, 4), align_corners=False),
     ValueError, "Expected a batch of 2D affine matrices of shape Nx2x3"),
])
def test_errors(call, exc, msg):
    with pytest.raises(exc, match=msg.replace("*", r"\*")):
        call()


def test_align_corners_warning():
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        EF.affine_grid(ember.randn(1, 2, 3), (1, 1, 2, 2))


_MODULES = [
    ("ZeroPad1d", ((1, 2),), (2, 3, 4)),
    ("ZeroPad2d", (2,), (2, 3, 4)),
    ("ZeroPad3d", ((1, 0, 2, 1, 0, 1),), (1, 2, 3, 3, 3)),
    ("ConstantPad1d", (2, 3.5), (2, 3, 4)),
    ("ConstantPad2d", ((1, 0, 2, 1), -1.0), (2, 3, 4, 4)),
    ("ConstantPad3d", (1, 2.0), (1, 2, 3, 3, 3)),
    ("ReflectionPad1d", (2,), (2, 3, 4)),
    ("ReflectionPad2d", ((1, 2, 0, 3),), (2, 3, 4, 5)),
    ("ReflectionPad3d", (1,), (1, 2, 3, 3, 3)),
    ("ReplicationPad1d", ((3, 1),), (2, 3, 4)),
    ("ReplicationPad2d", (2,), (2, 3, 4, 5)),
    ("ReplicationPad3d", (1,), (1, 2, 3, 3, 3)),
    ("CircularPad1d", (2,), (2, 3, 4)),
    ("CircularPad2d", ((1, 2, 0, 3),), (2, 3, 4, 5)),
    ("CircularPad3d", (1,), (1, 2, 3, 3, 3)),
    ("Upsample", (None, 2, "nearest"), (1, 2, 3, 4)),
    ("Upsample", ((5, 7), None, "bilinear"), (1, 2, 3, 4)),
    ("Upsample", (None, (2.0, 1.5), "bicubic", True), (1, 2, 3, 4)),
    ("UpsamplingNearest2d", (None, 3), (1, 2, 3, 4)),
    ("UpsamplingBilinear2d", ((4, 6),), (1, 2, 3, 4)),
    ("Unfold", ((2, 3), 1, 1, 2), (2, 3, 5, 6)),
    ("Fold", ((4, 5), 2, 1, 1, 2), (2, 8, 9)),
    ("PixelShuffle", (2,), (2, 8, 2, 3)),
    ("PixelUnshuffle", (3,), (1, 2, 6, 3)),
    ("ChannelShuffle", (3,), (2, 6, 2, 2)),
]


@needs_torch
@pytest.mark.parametrize("name,args,shape", _MODULES)
def test_modules_vs_torch(name, args, shape):
    em, tm = getattr(enn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(em) == repr(tm)
    a = np.random.default_rng(6).standard_normal(shape)
    xe, xt = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    ye, yt = em(xe), tm(xt)
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), atol=1e-12)
    v = np.random.default_rng(7).standard_normal(tuple(yt.shape))
    ye.backward(ember.tensor(v))
    yt.backward(torch.tensor(v))
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), atol=1e-12)


def test_torch_level_names():
    x = ember.randn(2, 4, 6, 6)
    w = ember.randn(3, 4, 3, 3)
    np.testing.assert_array_equal(ember.conv2d(x, w, None, 1, 1).numpy(),
                                  EF.conv2d(x, w, padding=1).numpy())
    np.testing.assert_array_equal(ember.max_pool2d(x, 2).numpy(), EF.max_pool2d(x, 2).numpy())
    out, idx = ember.adaptive_max_pool1d(x[0], 4)
    assert tuple(out.shape) == tuple(idx.shape) == (4, 6, 4)
    assert tuple(ember.pixel_shuffle(x, 2).shape) == (2, 1, 12, 12)
    assert tuple(ember.constant_pad_nd(x, (1, 2)).shape) == (2, 4, 6, 9)
