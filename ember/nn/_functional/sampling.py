"""Resampling: ``interpolate`` (and the deprecated ``upsample*``), ``grid_sample``,
``affine_grid``.

- ``interpolate``: separable; each resized dim is a gather of a few taps (1 nearest, 2
  linear, 4 cubic) weighted by constant coefficients (PyTorch's source-index formulas),
  so gradients of any order follow from the gather's primitive pair. ``area`` is
  adaptive average pooling.
- ``grid_sample``: the 2^d corners of each sample point gathered from the flattened
  input (``plane_gather``), weighted by differentiable functions of the grid.
- ``affine_grid``: a constant base grid times ``theta`` (one matmul).
"""

import math
import warnings
from itertools import product

import numpy as np

from ember._tensor import Tensor, _wrap
from ember.ops.views import reshape, transpose, unsqueeze
from ember.ops.linalg import matmul
from ember.ops.elementwise import where
from ember.ops.methods import clone
from ember.nn._functional._window import take_axis, plane_gather
from ember.nn._functional.adaptive import (adaptive_avg_pool1d, adaptive_avg_pool2d,
                                           adaptive_avg_pool3d)

__all__ = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear", "grid_sample",
           "affine_grid"]


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
