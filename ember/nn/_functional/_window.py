"""Window primitives behind pooling: sums and maxima over strided windows, and gathers.

Every kernel loops over the *kernel offsets* (a few), never over pixels: for offset ``k``
the input positions ``s*o + d*k - lo`` of all outputs ``o`` form one strided slice, so
one offset costs one vectorised array op over the output.

The primitives pair up as adjoints, so gradients of any order are rules in each other:

- ``window_sum`` (zero-padded windows summed) <-> ``window_spread`` (each output added
  back over its window);
- ``max_pool_nd`` forward; its gradient ``max_scatter`` (the incoming gradient routed to
  each window's first maximum) <-> ``max_gather`` (read back at those positions);
- ``plane_gather`` (``take_along_axis`` over flattened spatial planes) <->
  ``plane_scatter`` (scatter-add), used for indices-based ops (adaptive max pooling,
  ``max_unpool``, ``grid_sample``);
- ``take_axis`` (``xp.take`` along one dim) <-> ``put_axis`` (scatter-add along one dim),
  used for interpolation and reflect/replicate/circular padding.
"""

from itertools import product

import numpy as np

from ember.backend import compat
from ember.ops._registry import primitive

__all__ = ["window_sum", "window_spread", "max_pool_nd", "max_scatter", "max_gather",
           "plane_gather", "plane_scatter", "take_axis", "put_axis", "pool_out_size",
           "max_pool_indices"]


def pool_out_size(size, k, stride, pad, dilation, ceil_mode):
    """PyTorch's pooling output length; with ``ceil_mode`` a last window must start inside
    the input or its left padding."""
    span = size + 2 * pad - dilation * (k - 1) - 1
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def _offset_slices(ks, osz, stride, dilation):
    """For each kernel offset, the strided slices of a padded input it reads."""
    for offs in product(*(range(k) for k in ks)):
        yield offs, (slice(None), slice(None)) + tuple(
            slice(k * d, k * d + (o - 1) * s + 1, s)
            for k, o, s, d in zip(offs, osz, stride, dilation))


def _pad_to(xp, x, pads, fill):
    """``x`` padded by ``(lo, hi)`` per spatial dim with ``fill`` (no copy when none)."""
    if not any(lo or hi for lo, hi in pads):
        return x
    shp = x.shape[:2] + tuple(s + lo + hi for s, (lo, hi) in zip(x.shape[2:], pads))
    out = xp.full(shp, fill, dtype=x.dtype)
    out[(slice(None), slice(None)) + tuple(slice(lo, lo + s) for s, (lo, _) in
                                            zip(x.shape[2:], pads))] = x
    return out


def _crop(x, pads, size):
    return x[(slice(None), slice(None)) + tuple(slice(lo, lo + s) for s, (lo, _) in
                                                 zip(size, pads))]


def _lowest(dt):
    return -np.inf if dt.kind in "fc" or dt.kind == "V" else np.iinfo(dt).min


# -- window sums (average pooling) -------------------------------------------------------------
@primitive("window_sum", save="none")
def window_sum(xp, x, *, ksize, stride, padding, osize):
    """Sums over windows of the zero-padded input: ``(N, C, *S) -> (N, C, *osize)``.

    ``padding`` is ``((lo, hi), ...)``; ``hi`` may include the extra room ``ceil_mode``
    windows need.
    """
    xpad = _pad_to(xp, x, padding, 0)
    out = None
    for _, sl in _offset_slices(ksize, osize, stride, (1,) * len(ksize)):
        out = xpad[sl].copy() if out is None else xp.add(out, xpad[sl], out=out)
    return out


@window_sum.defvjp
def _(ctx, g):
    p = ctx.params
    return window_spread(g, size=tuple(ctx._metas[0][0][2:]), ksize=p["ksize"],
                         stride=p["stride"], padding=p["padding"])


@primitive("window_spread", save="none")
def window_spread(xp, g, *, size, ksize, stride, padding):
    """The adjoint of ``window_sum``: each output value added over its window."""
    osize = g.shape[2:]
    shp = g.shape[:2] + tuple(s + lo + hi for s, (lo, hi) in zip(size, padding))
    out = xp.zeros(shp, dtype=g.dtype)
    for _, sl in _offset_slices(ksize, osize, stride, (1,) * len(ksize)):
        out[sl] += g
    return _crop(out, padding, size)


@window_spread.defvjp
def _(ctx, g):
    p = ctx.params
    return window_sum(g, ksize=p["ksize"], stride=p["stride"], padding=p["padding"],
                      osize=tuple(ctx._metas[0][0][2:]))


# -- max pooling -------------------------------------------------------------------------------
@primitive("max_pool_nd", save_output=True)
def max_pool_nd(xp, x, *, ksize, stride, padding, dilation, osize):
    """Maxima over windows of the ``-inf``-padded input (NaN propagates)."""
    xpad = _pad_to(xp, x, padding, _lowest(x.dtype))
    out = None
    for _, sl in _offset_slices(ksize, osize, stride, dilation):
        out = xpad[sl].copy() if out is None else xp.maximum(out, xpad[sl], out=out)
    return out


@max_pool_nd.defvjp
def _(ctx, g):
    (x,) = ctx.inputs
    p = ctx.params
    return max_scatter(g, x, ctx.out, ksize=p["ksize"], stride=p["stride"],
                       padding=p["padding"], dilation=p["dilation"])


def _argmax_masks(xp, x, out, ksize, stride, padding, dilation):
    """Yield ``(slices, mask)`` per offset; masks mark each window's first maximum."""
    xpad = _pad_to(xp, x, padding, _lowest(x.dtype))
    nan = x.dtype.kind in "fc" and bool(xp.isnan(out).any())
    taken = None
    n = int(np.prod(ksize))
    for i, (offs, sl) in enumerate(_offset_slices(ksize, out.shape[2:], stride, dilation)):
        v = xpad[sl]
        m = v == out
        if nan:  # a NaN window routes to its first NaN
            m |= v != v
        if taken is None:
            taken = m
        else:
            xp.logical_and(m, ~taken, out=m)
            if i + 1 < n:
                taken |= m
        yield sl, m


def _tiles(x_shape, ksize, stride, padding, dilation, osize):
    """Windows tile the input exactly: every input element is in exactly one window."""
    return all(lo == 0 and hi == 0 for lo, hi in padding) and all(
        d == 1 and s == k and o * s == n
        for n, k, s, d, o in zip(x_shape[2:], ksize, stride, dilation, osize))


def _overlapping(ksize, stride, dilation):
    return any(s < d * (k - 1) + 1 for k, s, d in zip(ksize, stride, dilation))


def _masked(xp, src, m, finite):
    """``src`` where ``m`` else 0: a multiply (fast) unless ``src`` has inf/NaN."""
    return src * m if finite else xp.where(m, src, 0)


@primitive("max_scatter", save=(1, 2))
def max_scatter(xp, g, x, out, *, ksize, stride, padding, dilation):
    """Gradient of max pooling: ``g`` routed to the first maximum of each window."""
    shp = x.shape[:2] + tuple(s + lo + hi for s, (lo, hi) in zip(x.shape[2:], padding))
    tiles = _tiles(x.shape, ksize, stride, padding, dilation, out.shape[2:])
    gx = xp.empty(shp, dtype=g.dtype) if tiles else xp.zeros(shp, dtype=g.dtype)
    overlap = _overlapping(ksize, stride, dilation)
    finite = bool(xp.isfinite(g).all()) if g.dtype.kind in "fc" else True
    for sl, m in _argmax_masks(xp, x, out, ksize, stride, padding, dilation):
        if overlap:
            gx[sl] += _masked(xp, g, m, finite)
        elif finite:
            xp.multiply(g, m, out=gx[sl])
        else:
            gx[sl] = xp.where(m, g, 0)
    return _crop(gx, padding, x.shape[2:])


@max_scatter.defvjp
def _(ctx, gg):
    _, x, out = ctx.inputs
    return max_gather(gg, x, out, **ctx.params), None, None


@primitive("max_gather", save=(1, 2))
def max_gather(xp, gx, x, out, *, ksize, stride, padding, dilation):
    """The adjoint of ``max_scatter``: ``gx`` read at each window's first maximum."""
    gpad = _pad_to(xp, gx, padding, 0)
    finite = bool(xp.isfinite(gx).all()) if gx.dtype.kind in "fc" else True
    res = xp.zeros(out.shape, dtype=gx.dtype)
    for sl, m in _argmax_masks(xp, x, out, ksize, stride, padding, dilation):
        res += _masked(xp, gpad[sl], m, finite)
    return res


@max_gather.defvjp
def _(ctx, g):
    _, x, out = ctx.inputs
    return max_scatter(g, x, out, **ctx.params), None, None


def max_pool_indices(xp, x, out, ksize, stride, padding, dilation):
    """PyTorch's ``return_indices``: flat positions in each input plane (int64 array)."""
    size = x.shape[2:]
    idx = xp.zeros(out.shape, dtype=np.int64)
    osz = out.shape[2:]
    nd = len(size)
    for (sl, m), offs in zip(_argmax_masks(xp, x, out, ksize, stride, padding, dilation),
                             product(*(range(k) for k in ksize))):
        flat = 0
        for i in range(nd):
            pos = xp.arange(osz[i]) * stride[i] + offs[i] * dilation[i] - padding[i][0]
            flat = flat * size[i] + pos.reshape((-1,) + (1,) * (nd - 1 - i))
        xp.copyto(idx, xp.broadcast_to(flat, out.shape), where=m)
    return idx


# -- gathers over flattened planes -------------------------------------------------------------
@primitive("plane_gather", save=(1,))
def plane_gather(xp, x, idx):
    """``out[n, c, q] = x[n, c, idx[n, c or 0, q]]`` for ``x (N, C, P)``."""
    return xp.take_along_axis(x, xp.broadcast_to(idx, x.shape[:2] + idx.shape[2:]), axis=2)


@plane_gather.defvjp
def _(ctx, g):
    _, idx = ctx.inputs
    return plane_scatter(g, idx, size=ctx._metas[0][0][2]), None


def _scatter_add_planes(xp, g, idx, size):
    N, C, Q = g.shape
    idx = xp.broadcast_to(idx, g.shape)
    lin = (xp.arange(N * C, dtype=np.int64).reshape(N, C, 1) * size + idx).ravel()
    if xp is np and g.dtype.kind == "f":
        return np.bincount(lin, weights=g.ravel(), minlength=N * C * size).astype(
            g.dtype).reshape(N, C, size)
    out = xp.zeros(N * C * size, dtype=g.dtype)
    return compat.scatter_add(xp, out, lin, g.ravel()).reshape(N, C, size)


@primitive("plane_scatter", save=(1,))
def plane_scatter(xp, g, idx, *, size):
    """The adjoint of ``plane_gather``: zeros ``(N, C, size)`` with ``g`` added at ``idx``."""
    return _scatter_add_planes(xp, g, idx, size)


@plane_scatter.defvjp
def _(ctx, gg):
    _, idx = ctx.inputs
    return plane_gather(gg, idx), None


# -- gathers along one dim ---------------------------------------------------------------------
@primitive("take_axis", save="none")
def take_axis(xp, x, *, idx, axis):
    """``xp.take(x, idx, axis)`` with a constant integer index array."""
    return xp.take(x, idx if xp is np else xp.asarray(idx), axis=axis)


@take_axis.defvjp
def _(ctx, g):
    p = ctx.params
    return put_axis(g, idx=p["idx"], axis=p["axis"], size=ctx._metas[0][0][p["axis"]])


@primitive("put_axis", save="none")
def put_axis(xp, g, *, idx, axis, size):
    """The adjoint of ``take_axis``: ``g``'s slices summed into ``size`` slots along ``axis``."""
    gm = xp.moveaxis(g, axis, 0)
    out = xp.zeros((size,) + gm.shape[1:], dtype=g.dtype)
    order = np.argsort(idx, kind="stable")
    sidx = idx[order]
    starts = np.flatnonzero(np.r_[True, sidx[1:] != sidx[:-1]]) if len(sidx) else sidx
    if xp is np:
        out[sidx[starts]] = np.add.reduceat(gm[order], starts, axis=0) if len(sidx) else 0
    else:
        compat.scatter_add(xp, out, xp.asarray(idx), gm)
    return xp.ascontiguousarray(xp.moveaxis(out, 0, axis))


@put_axis.defvjp
def _(ctx, g):
    p = ctx.params
    return take_axis(g, idx=p["idx"], axis=p["axis"])
