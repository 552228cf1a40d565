"""Spatial ops: padding, interpolation, sampling grids, sliding blocks and pixel shuffles.

- ``pad``: ``constant`` mode is one primitive (its adjoint is the same op with negated
  pads, i.e. a crop); ``reflect``/``replicate``/``circular`` gather along each padded dim
  with a constant index array (``take_axis``, whose adjoint sums the copies back).
- ``interpolate``: separable; each resized dim is a gather of a few taps (1 nearest, 2
  linear, 4 cubic) weighted by constant coefficients, so gradients of any order follow.
- ``grid_sample``: the 2^d corners of each sample point gathered from the flattened
  input, weighted by differentiable functions of the grid.
- ``unfold``/``fold``: the im2col/col2im primitives of :mod:`ember.ops.conv`.
- ``pixel_shuffle``, ``pixel_unshuffle``, ``channel_shuffle``: reshapes and permutes.
"""

import math
import warnings
from itertools import product

import numpy as np

from ember._tensor import Tensor, _wrap
from ember.ops._registry import primitive
from ember.ops.views import reshape, permute, transpose, unsqueeze, squeeze
from ember.ops.linalg import matmul
from ember.ops.elementwise import where
from ember.ops.methods import clone
from ember.ops.conv import im2col, col2im, conv_out_size
from ember.nn._functional._window import take_axis, plane_gather
from ember.nn._functional.pooling import (adaptive_avg_pool1d, adaptive_avg_pool2d,
                                          adaptive_avg_pool3d)

__all__ = ["pad", "interpolate", "upsample", "upsample_nearest", "upsample_bilinear",
           "grid_sample", "affine_grid", "unfold", "fold", "pixel_shuffle", "pixel_unshuffle",
           "channel_shuffle", "native_channel_shuffle"]


# -- pad ---------------------------------------------------------------------------------------
@primitive("pad_constant", save="none")
def pad_constant(xp, x, *, pads, value):
    """``x`` grown (or cropped, for negative amounts) by ``(lo, hi)`` per dim, filled with
    ``value``."""
    shape = tuple(s + lo + hi for s, (lo, hi) in zip(x.shape, pads))
    if any(s < 0 for s in shape):
        raise RuntimeError(f"The input size {list(x.shape)}, plus negative padding "
                           f"{[p for pair in pads for p in pair]} resulted in a negative output "
                           f"size, which is invalid. Check dimension {_first_neg(shape)} of your "
                           f"input.")
    out = xp.full(shape, value, dtype=x.dtype) if value != 0 else xp.zeros(shape, dtype=x.dtype)
    src = tuple(slice(max(-lo, 0), s - max(-hi, 0)) for s, (lo, hi) in zip(x.shape, pads))
    dst = tuple(slice(max(lo, 0), max(lo, 0) + (b.stop - b.start)) for b, (lo, _) in
                zip(src, pads))
    if all(b.stop > b.start for b in src):
        out[dst] = x[src]
    return out


def _first_neg(shape):
    return next(i for i, s in enumerate(shape) if s < 0)


@pad_constant.defvjp
def _(ctx, g):
    return pad_constant(g, pads=tuple((-lo, -hi) for lo, hi in ctx.params["pads"]), value=0)


def _pad_index(n, lo, hi, mode):
    """Source index of each output position along one dim for the non-constant modes."""
    pos = np.arange(-lo, n + hi)
    if mode == "replicate":
        return np.clip(pos, 0, n - 1)
    if mode == "circular":  # PyTorch crops (negative amounts) first, then wraps the rest
        start, stop = max(-lo, 0), n - max(-hi, 0)
        return start + np.arange(-max(lo, 0), stop - start + max(hi, 0)) % (stop - start)
    period = 2 * (n - 1)  # reflect: mirror about the edge samples
    if period == 0:
        return np.zeros_like(pos)
    pos = np.abs(pos) % period
    return np.where(pos >= n, period - pos, pos)


def _check_nonconstant(x, pairs, mode):
    k = len(pairs)
    if x.ndim not in (k + 1, k + 2) or k > 3:
        raise NotImplementedError(
            f"Padding size {2 * k} is not supported for {x.ndim}D input tensor.\nSupported "
            f"combinations for non-constant padding:\n  - 2D or 3D input: padding size = 2 "
            f"(pads last dimension)\n  - 3D or 4D input: padding size = 4 (pads last 2 "
            f"dimensions)\n  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
    if any(s == 0 for s in x.shape[x.ndim - k - 1:]):
        raise RuntimeError(f"Expected {k + 1}D or {k + 2}D (batch mode) tensor with possibly 0 "
                           f"batch size and other non-zero dimensions for input, but got: "
                           f"{list(x.shape)}")
    for i, (lo, hi) in enumerate(pairs):
        d = x.ndim - k + i
        n = x.shape[d]
        if mode == "reflect" and (lo >= n or hi >= n):
            raise RuntimeError(f"Argument #4: Padding size should be less than the "
                               f"corresponding input dimension, but got: padding ({lo}, {hi}) "
                               f"at dimension {d} of input {list(x.shape)}")
        if mode == "circular" and (lo > n or hi > n):
            raise RuntimeError("Padding value causes wrapping around more than once.")


def pad(input, pad, mode="constant", value=None):
    r"""Pads (or, with negative amounts, crops) the last dims of ``input``.

    ``pad`` lists ``(left, right)`` amounts starting from the last dim:
    ``(w_lo, w_hi, h_lo, h_hi, ...)``.

    Args:
        input: any shape for ``'constant'``; for the other modes ``(N, C, *S)`` or
            ``(C, *S)`` with one to three padded dims.
        pad: even-length sequence of ints (at most twice ``input.dim()``).
        mode: ``'constant'`` (fill with ``value``), ``'reflect'`` (mirror without repeating
            the edge), ``'replicate'`` (repeat the edge), ``'circular'`` (wrap around).
        value: fill value for ``'constant'`` (default 0).

    Returns:
        ``input`` with dim ``-1-i`` of size ``S + pad[2i] + pad[2i+1]``.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.pad(ember.tensor([[1., 2., 3.]]), (2, 1), mode="reflect")
        tensor([[3., 2., 1., 2., 3., 2.]])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"pad(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    pad = [int(p) for p in pad]
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) > 2 * input.ndim:
        raise RuntimeError(f"Padding length should be less than or equal to two times the input "
                           f"dimension but got padding length {len(pad)} and input of dimension "
                           f"{input.ndim}")
    pairs = [(pad[2 * i], pad[2 * i + 1]) for i in range(len(pad) // 2)][::-1]
    if mode == "constant":
        full = ((0, 0),) * (input.ndim - len(pairs)) + tuple(pairs)
        v = 0 if value is None else value
        if input._data.dtype.kind in "iub":
            v = int(v)
        return pad_constant(input, pads=full, value=v)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    _check_nonconstant(input, pairs, mode)
    out = input
    for i, (lo, hi) in enumerate(pairs):
        if lo == 0 and hi == 0:
            continue
        d = input.ndim - len(pairs) + i
        out = take_axis(out, idx=_pad_index(input.shape[d], lo, hi, mode), axis=d)
    return out


# -- interpolate -------------------------------------------------------------------------------
_DIMS_OF_MODE = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}


def _float_type(x):
    dt = x._data.dtype
    return np.float64 if dt == np.float64 else np.float32


def _resize_taps(n_in, n_out, mode, align_corners, scale, ft):
    """``[(index, weight), ...]`` per output position along one dim (PyTorch's formulas)."""
    dst = np.arange(n_out)
    if mode in ("nearest", "nearest-exact"):
        s = np.float32(1.0 / scale) if scale is not None and scale > 0 else \
            np.float32(n_in) / np.float32(n_out)
        pos = dst.astype(np.float32) * s if mode == "nearest" else (dst + 0.5) * s
        return [(np.minimum(np.floor(pos).astype(np.int64), n_in - 1), None)]
    if align_corners:
        s = ft((n_in - 1) / (n_out - 1)) if n_out > 1 else ft(0)
        src = ft(s) * dst.astype(ft)
    else:
        s = ft(1.0 / scale) if scale is not None and scale > 0 else ft(n_in) / ft(n_out)
        src = s * (dst.astype(ft) + ft(0.5)) - ft(0.5)
    if mode == "cubic":
        i = np.floor(src).astype(np.int64)
        t = (src - i).astype(np.float64)
        a = -0.75
        w = [((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a,
             ((a + 2) * t - (a + 3)) * t * t + 1,
             ((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1,
             ((a * (2 - t) - 5 * a) * (2 - t) + 8 * a) * (2 - t) - 4 * a]
        return [(np.clip(i + k - 1, 0, n_in - 1), w[k]) for k in range(4)]
    src = np.maximum(src, 0) if not align_corners else src
    i0 = np.floor(src).astype(np.int64)
    i0 = np.minimum(i0, n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    l1 = (src - i0).astype(np.float64)
    return [(i0, 1.0 - l1), (i1, l1)]


def _resize_dim(x, axis, taps):
    """``sum_t take(x, idx_t, axis) * w_t`` (weights broadcast along ``axis``)."""
    out = None
    shape = (-1,) + (1,) * (x.ndim - axis - 1)
    for idx, w in taps:
        v = take_axis(x, idx=idx, axis=axis)
        if w is not None:
            wt = _wrap(x._device.xp.asarray(w.astype(x._data.dtype).reshape(shape)), x._device)
            v = v * wt
        out = v if out is None else out + v
    return out


def _interp_sizes(x, nd, size, scale_factor, recompute_scale_factor):
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    in_size = tuple(x.shape[2:])
    if size is not None:
        if isinstance(size, (list, tuple)):
            if len(size) != nd:
                raise ValueError(f"Input and output must have the same number of spatial "
                                 f"dimensions, but got input with spatial dimensions of "
                                 f"{list(in_size)} and output size of {list(size)}. Please "
                                 f"provide input tensor in (N, C, d1, d2, ...,dK) format and "
                                 f"output size in (o1, o2, ...,oK) format.")
            out = tuple(int(s) for s in size)
        else:
            out = (int(size),) * nd
        return out, (None,) * nd
    if isinstance(scale_factor, (list, tuple)):
        if len(scale_factor) != nd:
            raise ValueError(f"Input and scale_factor must have the same number of spatial "
                             f"dimensions, but got input with spatial dimensions of "
                             f"{list(in_size)} and scale_factor of shape {list(scale_factor)}. "
                             f"Please provide input tensor in (N, C, d1, d2, ...,dK) format and "
                             f"scale_factor in (s1, s2, ...,sK) format.")
        sf = tuple(float(s) for s in scale_factor)
    else:
        sf = (float(scale_factor),) * nd
    out = tuple(int(math.floor(n * s)) for n, s in zip(in_size, sf))
    return out, ((None,) * nd if recompute_scale_factor else sf)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    r"""Resizes ``(N, C, *S)`` to ``size`` or ``floor(S * scale_factor)``.

    Args:
        input: 3-D (``linear``), 4-D (``bilinear``, ``bicubic``) or 5-D (``trilinear``);
            ``nearest``, ``nearest-exact`` and ``area`` take any of them.
        size: output spatial size (int or sequence).
        scale_factor: multiplier(s) for the spatial size.
        mode: ``'nearest'`` (source ``floor(dst * in/out)``), ``'nearest-exact'``,
            ``'linear'``, ``'bilinear'``, ``'bicubic'`` (A = -0.75), ``'trilinear'``,
            ``'area'`` (adaptive average pooling).
        align_corners: for the interpolating modes, map the corner samples onto each other
            (``src = dst (in-1)/(out-1)``) instead of the corner areas
            (``src = (dst + 0.5) in/out - 0.5``). Default False.
        recompute_scale_factor: compute the coordinate scale from the output size instead
            of using ``scale_factor`` directly.
        antialias: not supported (raises ``NotImplementedError`` when True).

    Returns:
        :math:`(N, C, *S_{out})`.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.interpolate(ember.tensor([[[1., 2.]]]), scale_factor=2, mode="linear")
        tensor([[[1.0000, 1.2500, 1.7500, 2.0000]]])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"interpolate(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    nd = input.ndim - 2
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating "
                             "modes: linear | bilinear | bicubic | trilinear")
    elif mode in _DIMS_OF_MODE:
        if align_corners is None:
            align_corners = False
    else:
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported "
                                  f"(got {input.ndim}D) for the modes: nearest | linear | "
                                  f"bilinear | bicubic | trilinear | area | nearest-exact "
                                  f"(got {mode})")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported by ember")
    want = _DIMS_OF_MODE.get(mode)
    if want is not None and want != nd:
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs "
                                  f"{want + 2}D input")
    if nd not in (1, 2, 3):
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported "
                                  f"(got {input.ndim}D) for the modes: nearest | linear | "
                                  f"bilinear | bicubic | trilinear | area | nearest-exact "
                                  f"(got {mode})")
    out_size, scales = _interp_sizes(input, nd, size, scale_factor, recompute_scale_factor)
    if any(o <= 0 for o in out_size):
        raise RuntimeError(f"Input and output sizes should be greater than 0, but got input "
                           f"({', '.join(map(str, input.shape[2:]))}) and output "
                           f"({', '.join(map(str, out_size))})")
    if mode == "area":
        return (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d)[nd - 1](
            input, out_size)
    kind = {"bilinear": "linear", "trilinear": "linear", "bicubic": "cubic"}.get(mode, mode)
    if kind in ("linear", "cubic") and not input.is_floating_point():
        raise NotImplementedError(f'"upsample_{mode}" not implemented for '
                                  f"'{_dtype_name(input)}'")
    ft = _float_type(input)
    out = input
    for i in range(nd):
        n_in, n_out = input.shape[2 + i], out_size[i]
        taps = _resize_taps(n_in, n_out, kind, align_corners, scales[i], ft)
        if not _is_identity(taps, n_in, n_out):
            out = _resize_dim(out, 2 + i, taps)
    return out if out is not input else clone(input)


def _dtype_name(x):
    from ember import _dtype
    return _dtype.scalar_name(x.dtype)


def _is_identity(taps, n_in, n_out):
    if n_in != n_out:
        return False
    ar = np.arange(n_in)
    return all((idx == ar).all() if w is None or np.all(w == 1) else np.all(w == 0)
               for idx, w in taps)


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated alias of :func:`interpolate`."""
    warnings.warn("`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` "
                  "instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """Deprecated: ``interpolate(..., mode='nearest')``."""
    warnings.warn("`nn.functional.upsample_nearest` is deprecated. Use "
                  "`nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """Deprecated: ``interpolate(..., mode='bilinear', align_corners=True)``."""
    warnings.warn("`nn.functional.upsample_bilinear` is deprecated. Use "
                  "`nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# -- grid_sample / affine_grid -----------------------------------------------------------------
_ALIGN_WARNING = ("Default grid_sample and affine_grid behavior has changed to "
                  "align_corners=False since 1.3.0. Please specify align_corners=True if the "
                  "old behavior is desired. See the documentation of grid_sample for details.")


def _reflect(c, twice_lo, twice_hi):
    """Reflect coordinates into ``[twice_lo/2, twice_hi/2]`` (differentiable, in ember ops)."""
    if twice_lo == twice_hi:
        return c * 0
    mn = twice_lo / 2
    span = (twice_hi - twice_lo) / 2
    c = (c - mn).abs()
    extra = c.fmod(span)
    flips = (c / span).floor().detach()
    even = (flips.remainder(2) == 0)
    return where(even, extra, span - extra) + mn


def _source_coord(c, n, padding_mode, align_corners):
    c = (c + 1) / 2 * (n - 1) if align_corners else ((c + 1) * n - 1) / 2
    if padding_mode == "border":
        c = c.clamp(0, n - 1)
    elif padding_mode == "reflection":
        c = _reflect(c, 0, 2 * (n - 1)) if align_corners else _reflect(c, -1, 2 * n - 1)
        c = c.clamp(0, n - 1)
    return c


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    r"""Samples ``input`` at the normalised locations in ``grid``.

    ``grid[n, ..., :]`` holds ``(x, y[, z])`` in ``[-1, 1]`` (``x`` indexes the last input
    dim); ``-1`` and ``1`` are the centres (``align_corners=True``) or outer edges
    (``False``) of the corner pixels.

    Args:
        input: :math:`(N, C, H, W)` or :math:`(N, C, D, H, W)`.
        grid: :math:`(N, H_{out}, W_{out}, 2)` or :math:`(N, D_{out}, H_{out}, W_{out}, 3)`.
        mode: ``'bilinear'`` (trilinear for 5-D) or ``'nearest'``.
        padding_mode: ``'zeros'``, ``'border'`` (clamp) or ``'reflection'``.
        align_corners: see above; default False (with PyTorch's warning).

    Returns:
        :math:`(N, C, H_{out}, W_{out})` or :math:`(N, C, D_{out}, H_{out}, W_{out})`;
        differentiable w.r.t. ``input`` and (bilinear) ``grid``.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> x = ember.arange(4.).reshape(1, 1, 2, 2)
        >>> F.grid_sample(x, ember.zeros(1, 1, 1, 2), align_corners=True)
        tensor([[[[1.5000]]]])
    """
    if mode not in ("bilinear", "nearest"):
        if mode == "bicubic":
            raise NotImplementedError("grid_sample: mode 'bicubic' is not supported by ember")
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', "
                         f"'nearest' or 'bicubic', but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(f"nn.functional.grid_sample(): expected padding_mode to be 'zeros', "
                         f"'border', or 'reflection', but got: '{padding_mode}'")
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    nd = input.ndim - 2
    if nd not in (2, 3) or grid.ndim != input.ndim or grid.shape[-1] != nd or \
            grid.shape[0] != input.shape[0]:
        raise RuntimeError(f"grid_sampler(): expected 4D or 5D input and grid with same number "
                           f"of dimensions, batch size and last grid dim equal to the spatial "
                           f"dims, but got input with sizes {list(input.shape)} and grid with "
                           f"sizes {list(grid.shape)}")
    if grid.dtype is not input.dtype:
        raise RuntimeError(f"grid_sampler(): expected input and grid to have same dtype, but "
                           f"input has {input.dtype} and grid has {grid.dtype}")
    N, C = input.shape[:2]
    size = tuple(input.shape[2:])
    out_sp = tuple(grid.shape[1:-1])
    Q = math.prod(out_sp)
    g = reshape(grid, (N, Q, nd))
    coords = [_source_coord(g[:, :, nd - 1 - d], size[d], padding_mode, align_corners)
              for d in range(nd)]
    flat = reshape(input, (N, C, -1))
    xp = input._device.xp
    if mode == "nearest":
        idx = [xp.rint(c._data) for c in coords]
        out = _corner(flat, idx, size, None)
    else:
        base = [c.detach().floor() for c in coords]
        frac = [c - b for c, b in zip(coords, base)]
        out = None
        for bits in product((0, 1), repeat=nd):
            w = None
            for f, bit in zip(frac, bits):
                t = f if bit else 1 - f
                w = t if w is None else w * t
            v = _corner(flat, [b._data + bit for b, bit in zip(base, bits)], size, w)
            out = v if out is None else out + v
    return reshape(out, (N, C) + out_sp)


def _corner(flat, idx, size, w):
    """``flat (N, C, P)`` read at integer coords ``idx`` (zero outside), times ``w (N, Q)``."""
    xp = flat._device.xp
    valid = None
    lin = 0
    for i, n in zip(idx, size):
        ok = (i >= 0) & (i <= n - 1)
        valid = ok if valid is None else valid & ok
        lin = lin * n + xp.clip(i, 0, n - 1).astype(np.int64)
    v = plane_gather(flat, _wrap(lin[:, None, :], flat._device))
    mask = _wrap(valid.astype(flat._data.dtype)[:, None, :], flat._device)
    if w is None:
        return v * mask
    return v * (unsqueeze(w, 1) * mask)


def affine_grid(theta, size, align_corners=None):
    r"""Sampling grid for ``grid_sample`` from a batch of affine matrices.

    ``grid[n, h, w] = theta[n] @ (x_w, y_h, 1)`` with ``x, y`` evenly spaced in ``[-1, 1]``
    (pixel centres: scaled by ``(S-1)/S`` unless ``align_corners``).

    Args:
        theta: :math:`(N, 2, 3)` for a 4-D ``size`` or :math:`(N, 3, 4)` for a 5-D one.
        size: the target ``(N, C, H, W)`` or ``(N, C, D, H, W)``.
        align_corners: as in ``grid_sample``; default False (with PyTorch's warning).

    Returns:
        :math:`(N, H, W, 2)` or :math:`(N, D, H, W, 3)`.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> theta = ember.tensor([[[1., 0., 0.], [0., 1., 0.]]])
        >>> F.affine_grid(theta, (1, 1, 2, 2), align_corners=True)[0, 0]
        tensor([[-1., -1.],
                [ 1., -1.]])
    """
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    if not isinstance(theta, Tensor) or not theta.is_floating_point():
        raise ValueError(f"Expected theta to have floating point type, but got "
                         f"{getattr(theta, 'dtype', type(theta))}")
    size = [int(s) for s in size]
    nd = len(size) - 2
    if nd not in (2, 3):
        raise NotImplementedError(f"affine_grid only supports 4D and 5D sizes, for 2D and 3D "
                                  f"affine transforms, respectively. Got size {size}.")
    if theta.ndim != 3 or tuple(theta.shape[1:]) != (nd, nd + 1) or theta.shape[0] != size[0]:
        raise ValueError(f"Expected a batch of {nd}D affine matrices of shape Nx{nd}x{nd + 1} "
                         f"for size {size}. Got {list(theta.shape)}.")
    if min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    sp = size[2:]
    axes = []
    for n in reversed(sp):  # x (last dim) first
        a = np.linspace(-1, 1, n) if n > 1 else np.zeros(1)
        axes.append(a if align_corners else a * (n - 1) / n)
    mesh = np.meshgrid(*axes[::-1], indexing="ij")  # in spatial order (d, h, w)
    base = np.stack([m for m in mesh[::-1]] + [np.ones(sp)], axis=-1)
    base = _wrap(theta._device.xp.asarray(base.reshape(1, -1, nd + 1).astype(
        theta._data.dtype)), theta._device)
    grid = matmul(base, transpose(theta, 1, 2))
    return reshape(grid, [size[0]] + sp + [nd])


# -- unfold / fold -----------------------------------------------------------------------------
def _pair(v, name):
    if isinstance(v, (list, tuple)):
        if len(v) != 2:
            raise RuntimeError(f"{name} must be an int or a pair of ints, got {v}")
        return tuple(int(a) for a in v)
    return (int(v),) * 2


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    r"""Extracts sliding blocks (im2col): :math:`(N, C, H, W) \to (N, C k_H k_W, L)`.

    Column ``l`` holds the block at output position ``l`` (row-major over
    :math:`L = \prod_d \lfloor (S_d + 2p_d - d_d(k_d-1) - 1)/s_d \rfloor + 1`), channels
    outermost then kernel rows and columns.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.unfold(ember.ones(1, 2, 4, 5), (2, 3)).shape
        ember.Size([1, 12, 9])
    """
    if input.ndim not in (3, 4):
        raise NotImplementedError(f"Input Error: Only 3D or 4D input Tensors are supported "
                                  f"(got {input.ndim}D)")
    x, added = (unsqueeze(input, 0), True) if input.ndim == 3 else (input, False)
    ks, dil = _pair(kernel_size, "kernel_size"), _pair(dilation, "dilation")
    pad, st = _pair(padding, "padding"), _pair(stride, "stride")
    pads = tuple((p, p) for p in pad)
    osz = [conv_out_size(n, k, s, p, d) for n, k, s, p, d in zip(x.shape[2:], ks, st, pads,
                                                                  dil)]
    if any(o <= 0 for o in osz):
        raise RuntimeError(f"Given input with spatial size {list(x.shape[2:])}, "
                           f"kernel_size={list(ks)}, dilation={list(dil)}, padding={list(pad)}, "
                           f"calculated shape of the array of sliding blocks as {osz}, but its "
                           f"components must be at least one.")
    out = im2col(x, ksize=ks, stride=st, padding=pads, dilation=dil)
    return squeeze(out, 0) if added else out


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    r"""Sums sliding blocks into a tensor (col2im), the adjoint of ``unfold``:
    :math:`(N, C k_H k_W, L) \to (N, C, H_{out}, W_{out})`.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.fold(F.unfold(ember.ones(1, 1, 3, 3), 2), (3, 3), 2)
        tensor([[[[1., 2., 1.],
                  [2., 4., 2.],
                  [1., 2., 1.]]]])
    """
    if input.ndim not in (2, 3):
        raise NotImplementedError(f"Input Error: Only unbatched (2D) or batched (3D) input "
                                  f"Tensors are supported (got {input.ndim}D)")
    x, added = (unsqueeze(input, 0), True) if input.ndim == 2 else (input, False)
    size, ks = _pair(output_size, "output_size"), _pair(kernel_size, "kernel_size")
    dil, pad, st = _pair(dilation, "dilation"), _pair(padding, "padding"), _pair(stride, "stride")
    kk = ks[0] * ks[1]
    if x.shape[1] % kk:
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the product "
                           f"of kernel_size, but got input.size(1)={x.shape[1]} and "
                           f"kernel_size=({ks[0]}, {ks[1]}).")
    pads = tuple((p, p) for p in pad)
    blocks = [conv_out_size(n, k, s, p, d) for n, k, s, p, d in zip(size, ks, st, pads, dil)]
    if blocks[0] * blocks[1] != x.shape[2] or min(blocks) <= 0:
        raise RuntimeError(f"Given output_size=({size[0]}, {size[1]}), kernel_size=({ks[0]}, "
                           f"{ks[1]}), dilation=({dil[0]}, {dil[1]}), padding=({pad[0]}, "
                           f"{pad[1]}), stride=({st[0]}, {st[1]}), expected size of input's "
                           f"dimension 2 to match the calculated number of sliding blocks "
                           f"{blocks[0]} * {blocks[1]} = {blocks[0] * blocks[1]}, but got "
                           f"input.size(2)={x.shape[2]}.")
    out = col2im(x, in_size=size, ksize=ks, stride=st, padding=pads, dilation=dil)
    return squeeze(out, 0) if added else out


# -- pixel and channel shuffles ----------------------------------------------------------------
def pixel_shuffle(input, upscale_factor):
    r"""Rearranges :math:`(*, C r^2, H, W) \to (*, C, H r, W r)` (sub-pixel convolution).

    ``out[..., c, h r + i, w r + j] = input[..., c r^2 + i r + j, h, w]``.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.pixel_shuffle(ember.ones(1, 8, 3, 3), 2).shape
        ember.Size([1, 2, 6, 6])
    """
    r = int(upscale_factor)
    if input.ndim < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but got "
                           f"input with {input.ndim} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be "
                           f"divisible by the square of upscale_factor, but input.size(-3)={c} "
                           f"is not divisible by {r * r}")
    n = len(lead)
    x = reshape(input, tuple(lead) + (c // (r * r), r, r, h, w))
    x = permute(x, tuple(range(n)) + tuple(n + i for i in (0, 3, 1, 4, 2)))
    return reshape(x, tuple(lead) + (c // (r * r), h * r, w * r))


def pixel_unshuffle(input, downscale_factor):
    r"""The inverse of ``pixel_shuffle``: :math:`(*, C, H r, W r) \to (*, C r^2, H, W)`.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.pixel_unshuffle(ember.ones(1, 2, 6, 6), 2).shape
        ember.Size([1, 8, 3, 3])
    """
    r = int(downscale_factor)
    if input.ndim < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but "
                           f"got input with {input.ndim} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    *lead, c, h, w = input.shape
    if h % r or w % r:
        which, val = ("height", h) if h % r else ("width", w)
        raise RuntimeError(f"pixel_unshuffle expects {which} to be divisible by "
                           f"downscale_factor, but input.size({-2 if h % r else -1})={val} is "
                           f"not divisible by {r}")
    n = len(lead)
    x = reshape(input, tuple(lead) + (c, h // r, r, w // r, r))
    x = permute(x, tuple(range(n)) + tuple(n + i for i in (0, 2, 4, 1, 3)))
    return reshape(x, tuple(lead) + (c * r * r, h // r, w // r))


def channel_shuffle(input, groups):
    r"""Interleaves channel groups: :math:`(N, g \cdot k, *) \to` channel ``i * g + j`` takes
    input channel ``j * k + i``.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.channel_shuffle(ember.arange(4.).reshape(1, 4, 1, 1), 2).flatten()
        tensor([0., 2., 1., 3.])
    """
    g = int(groups)
    if input.ndim < 3:
        raise RuntimeError(f"channel_shuffle expects input to have at least 3 dimensions, but "
                           f"got input with {input.ndim} dimension(s)")
    if g <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of "
                           f"groups:{g}")
    n, c = input.shape[:2]
    if c % g:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels "
                           f"and {g} groups.")
    rest = tuple(input.shape[2:])
    x = reshape(input, (n, g, c // g) + rest)
    return reshape(transpose(x, 1, 2), (n, c) + rest)


native_channel_shuffle = channel_shuffle
