"""Convolution primitives: N-d convolution, its two adjoints, and im2col / col2im.

Three primitives close under differentiation, so gradients of gradients work:

- ``conv_nd(x, w, b)``: ``y = conv(x, w) + b``.
- ``conv_transpose_nd(y, w, b)``: the adjoint of ``x -> conv(x, w)`` (plus ``b``); it is
  the input gradient of ``conv_nd`` and the forward of ``ConvTranspose``.
- ``conv_wgrad(x, g)``: the adjoint of ``w -> conv(x, w)``; the weight gradient.

For ``<g, conv(x, w)>`` bilinear in ``(x, w)``, each rule is one of the other two::

    conv_nd:           dx = conv_transpose_nd(g, w)      dw = conv_wgrad(x, g)
    conv_transpose_nd: dy = conv_nd(g, w)                dw = conv_wgrad(g, y)
    conv_wgrad:        dx = conv_transpose_nd(g_in, gw)  dg_in = conv_nd(x, gw)

How it runs: the input is zero-padded one chunk of samples at a time, a strided view
``(n, C, *k, *out)`` over it is copied into a buffer of contiguous ``(C*prod(k), L)``
columns (im2col; the inner copies are rows of the output grid, so they stream), and one
batched matmul per chunk multiplies them by the weight ``(O, C*prod(k))``, writing straight
into the ``(N, O, L)`` output. Chunks keep the columns in the CPU's L2 cache, which is what
makes this fast: the full ``(N, C*k*k, L)`` column array is 9x the input and spends more
time going through memory than the matmul spends on it. The transposed convolution is the
mirror image: matmul into columns, then one strided add per kernel offset (col2im).
"""

import math
from itertools import product

import numpy as np

from ember.ops._registry import primitive
from ember.ops.reduce import sum as _sum

__all__ = ["conv_nd", "conv_transpose_nd", "conv_wgrad", "im2col", "col2im", "conv_out_size"]

# Bytes of im2col columns per chunk: fits one core's L2 (2 MiB) with room for the rest.
CHUNK_BYTES = 2 << 20


# -- shapes ----------------------------------------------------------------------------------
def conv_out_size(size, k, stride, pad, dilation):
    """Output length of a convolution along one dim: ``(S + lo + hi - d(k-1) - 1) // s + 1``."""
    return (size + pad[0] + pad[1] - dilation * (k - 1) - 1) // stride + 1


def _out_sizes(in_size, ks, stride, padding, dilation):
    return tuple(conv_out_size(*a) for a in zip(in_size, ks, stride, padding, dilation))


def _compute_dtype(dt):
    """float16/bfloat16 compute in float32 (NumPy has no fast half-precision matmul)."""
    return dt if dt.kind == "c" or dt.itemsize >= 4 else np.dtype(np.float32)


def _chunk(xp, n, per_sample_bytes):
    if xp is not np:
        return max(n, 1)
    return int(min(max(n, 1), max(1, CHUNK_BYTES // max(per_sample_bytes, 1))))


# -- im2col / col2im on arrays ---------------------------------------------------------------
def _windows(xp, xpad, ks, stride, dilation, osz):
    """The ``(n, C, *ks, *osz)`` strided view of windows over a padded input (no copy)."""
    st = xpad.strides
    sp = st[2:]
    shape = xpad.shape[:2] + tuple(ks) + tuple(osz)
    strides = st[:2] + tuple(a * d for a, d in zip(sp, dilation)) + tuple(
        a * s for a, s in zip(sp, stride))
    return xp.lib.stride_tricks.as_strided(xpad, shape, strides)


class _Padder:
    """Zero-pads chunks of ``x`` into one reused buffer (its border is zeroed once)."""

    def __init__(self, xp, x, padding, bs, dtype):
        self.x, self.padding = x, padding
        self.trivial = all(lo == 0 and hi == 0 for lo, hi in padding) and x.dtype == dtype
        if not self.trivial:
            shp = x.shape[2:]
            self.buf = xp.zeros((bs, x.shape[1]) + tuple(
                s + lo + hi for s, (lo, hi) in zip(shp, padding)), dtype=dtype)
            self.inner = tuple(slice(lo, lo + s) for s, (lo, _) in zip(shp, padding))

    def __call__(self, s, e):
        if self.trivial:
            return self.x[s:e]
        out = self.buf[:e - s]
        out[(slice(None), slice(None)) + self.inner] = self.x[s:e]
        return out


def _im2col_chunks(xp, x, ks, stride, padding, dilation, dtype, bs=None):
    """Yield ``(start, stop, cols)``: cols ``(n, C, *ks, *osz)`` contiguous, per chunk.

    The buffer is reused: each chunk's columns are valid until the next is yielded.
    """
    N, C = x.shape[:2]
    osz = _out_sizes(x.shape[2:], ks, stride, padding, dilation)
    if bs is None:
        bs = _chunk(xp, N, C * math.prod(ks) * math.prod(osz) * dtype.itemsize)
    bs = max(1, bs)
    pad = _Padder(xp, x, padding, bs, dtype)
    buf = xp.empty((bs, C) + tuple(ks) + osz, dtype=dtype)
    for s in range(0, N, bs):
        e = min(s + bs, N)
        cols = buf[:e - s]
        cols[...] = _windows(xp, pad(s, e), ks, stride, dilation, osz)
        yield s, e, cols


def _clip_range(o, k, stride, pad_lo, dilation, size):
    """Output positions ``o`` whose input ``o*s + k*d - lo`` lies in ``[0, size)``."""
    start = k * dilation - pad_lo
    o0 = max(0, -(start // stride)) if start < 0 else 0
    o1 = min(o, (size - 1 - start) // stride + 1) if size - 1 - start >= 0 else 0
    if o1 <= o0:
        return None
    p0 = o0 * stride + start
    return slice(o0, o1), slice(p0, p0 + (o1 - o0 - 1) * stride + 1, stride)


def _col2im_add(out, cols, stride, padding, dilation):
    """Add columns ``(n, C, *ks, *osz)`` into ``out`` ``(n, C, *S)`` (one add per offset)."""
    nd = out.ndim - 2
    ks, osz, size = cols.shape[2:2 + nd], cols.shape[2 + nd:], out.shape[2:]
    ranges = [[_clip_range(osz[i], k, stride[i], padding[i][0], dilation[i], size[i])
               for k in range(ks[i])] for i in range(nd)]
    for offs in product(*(range(k) for k in ks)):
        rs = [ranges[i][k] for i, k in enumerate(offs)]
        if any(r is None for r in rs):
            continue
        src = cols[(slice(None), slice(None)) + offs + tuple(r[0] for r in rs)]
        out[(slice(None), slice(None)) + tuple(r[1] for r in rs)] += src


# -- forward kernels on arrays ---------------------------------------------------------------
def _conv_arrays(xp, x, w, b, stride, padding, dilation, groups):
    N, C = x.shape[:2]
    O, Cg = w.shape[:2]
    ks = w.shape[2:]
    dt = _compute_dtype(np.result_type(x.dtype, w.dtype))
    osz = _out_sizes(x.shape[2:], ks, stride, padding, dilation)
    G, L, KK = groups, math.prod(osz), math.prod(ks)
    wm = w.astype(dt, copy=False).reshape(G, O // G, Cg * KK)
    out = xp.empty((N, O) + osz, dtype=dt)
    if KK == 1 and all(s == 1 for s in stride) and not any(map(any, padding)) \
            and x.dtype == dt and x.flags.c_contiguous:
        xp.matmul(wm, x.reshape(N, G, Cg, L), out=out.reshape(N, G, O // G, L))
    else:
        for s, e, cols in _im2col_chunks(xp, x, ks, stride, padding, dilation, dt):
            xp.matmul(wm, cols.reshape(e - s, G, Cg * KK, L),
                      out=out[s:e].reshape(e - s, G, O // G, L))
    if b is not None:
        out += b.astype(dt, copy=False).reshape((1, O) + (1,) * len(ks))
    return out.astype(x.dtype, copy=False)


def _conv_transpose_arrays(xp, y, w, b, stride, padding, dilation, groups, in_size):
    N, O = y.shape[:2]
    Cg, ks, osz = w.shape[1], w.shape[2:], y.shape[2:]
    G, L, KK = groups, math.prod(osz), math.prod(ks)
    C = Cg * G
    dt = _compute_dtype(np.result_type(y.dtype, w.dtype))
    wmT = w.astype(dt, copy=False).reshape(G, O // G, Cg * KK).transpose(0, 2, 1)
    y = y.astype(dt, copy=False)
    out = xp.zeros((N, C) + tuple(in_size), dtype=dt)
    bs = _chunk(xp, N, C * KK * L * dt.itemsize)
    buf = xp.empty((bs, G, Cg * KK, L), dtype=dt)
    for s in range(0, N, bs):
        e = min(s + bs, N)
        cols = buf[:e - s]
        xp.matmul(wmT, y[s:e].reshape(e - s, G, O // G, L), out=cols)
        _col2im_add(out[s:e], cols.reshape((e - s, C) + tuple(ks) + tuple(osz)),
                    stride, padding, dilation)
    if b is not None:
        out += b.astype(dt, copy=False).reshape((1, C) + (1,) * len(ks))
    return out.astype(y.dtype, copy=False)


def _conv_wgrad_arrays(xp, x, g, stride, padding, dilation, groups, ksize):
    N, C = x.shape[:2]
    O = g.shape[1]
    G, L, KK = groups, math.prod(g.shape[2:]), math.prod(ksize)
    Cg = C // G
    dt = _compute_dtype(np.result_type(x.dtype, g.dtype))
    g = g.astype(dt, copy=False)
    acc = xp.zeros((G, O // G, Cg * KK), dtype=dt)
    for s, e, cols in _im2col_chunks(xp, x, ksize, stride, padding, dilation, dt):
        cm = cols.reshape(e - s, G, Cg * KK, L)
        gm = g[s:e].reshape(e - s, G, O // G, L)
        acc += xp.matmul(gm, cm.transpose(0, 1, 3, 2)).sum(0)
    return acc.reshape((O, Cg) + tuple(ksize)).astype(x.dtype, copy=False)


# -- primitives ------------------------------------------------------------------------------
@primitive("conv_nd")
def conv_nd(xp, x, w, b, *, stride, padding, dilation, groups):
    """``y[n, o] = b[o] + sum_{c, k} w[o, c, k] * xpad[n, g(o)*Cg + c, s*p + d*k]``.

    Args (arrays): x ``(N, C, *S)``, w ``(O, C/groups, *k)``, b ``(O,)`` or None.
    Params: stride, dilation: tuples; padding: ``((lo, hi), ...)`` per spatial dim.
    Returns ``(N, O, *out)`` with ``out = (S + lo + hi - d*(k-1) - 1) // s + 1``.
    """
    return _conv_arrays(xp, x, w, b, stride, padding, dilation, groups)


@conv_nd.defvjp
def _(ctx, g):
    x, w, b = ctx.inputs
    p = ctx.params
    gx = gw = gb = None
    if ctx._next[0] is not None:
        gx = conv_transpose_nd(g, w, None, in_size=tuple(x.shape[2:]), **p)
    if ctx._next[1] is not None:
        gw = conv_wgrad(x, g, ksize=tuple(w.shape[2:]), **p)
    if b is not None and ctx._next[2] is not None:
        gb = _sum(g, dim=[0] + list(range(2, g.ndim)))
    return gx, gw, gb


@primitive("conv_transpose_nd")
def conv_transpose_nd(xp, y, w, b, *, stride, padding, dilation, groups, in_size):
    """The adjoint of ``x -> conv_nd(x, w)``: ``(N, O, *out) -> (N, C, *in_size)``, plus b.

    Each ``y[n, o, p]`` spreads ``y * w[o, c, k]`` to input position ``s*p + d*k - lo``
    (positions that fall in the padding are dropped).
    """
    return _conv_transpose_arrays(xp, y, w, b, stride, padding, dilation, groups, in_size)


@conv_transpose_nd.defvjp
def _(ctx, g):
    y, w, b = ctx.inputs
    p = {k: v for k, v in ctx.params.items() if k != "in_size"}
    gy = gw = gb = None
    if ctx._next[0] is not None:
        gy = conv_nd(g, w, None, **p)
    if ctx._next[1] is not None:
        gw = conv_wgrad(g, y, ksize=tuple(w.shape[2:]), **p)
    if b is not None and ctx._next[2] is not None:
        gb = _sum(g, dim=[0] + list(range(2, g.ndim)))
    return gy, gw, gb


@primitive("conv_wgrad")
def conv_wgrad(xp, x, g, *, stride, padding, dilation, groups, ksize):
    """The adjoint of ``w -> conv_nd(x, w)``: ``dw[o, c, k] = sum_{n, p} g[n, o, p] *
    xpad[n, c, s*p + d*k]``, shape ``(O, C/groups, *ksize)``."""
    return _conv_wgrad_arrays(xp, x, g, stride, padding, dilation, groups, ksize)


@conv_wgrad.defvjp
def _(ctx, gw):
    x, g = ctx.inputs
    p = {k: v for k, v in ctx.params.items() if k != "ksize"}
    gx = gg = None
    if ctx._next[0] is not None:
        gx = conv_transpose_nd(g, gw, None, in_size=tuple(x.shape[2:]), **p)
    if ctx._next[1] is not None:
        gg = conv_nd(x, gw, None, **p)
    return gx, gg


# -- unfold / fold ---------------------------------------------------------------------------
@primitive("im2col", save="none")
def im2col(xp, x, *, ksize, stride, padding, dilation):
    """Sliding blocks: ``(N, C, *S) -> (N, C*prod(k), L)`` (``F.unfold``)."""
    N, C = x.shape[:2]
    _, _, cols = next(_im2col_chunks(xp, x, ksize, stride, padding, dilation, x.dtype, bs=N))
    return cols.reshape(N, C * math.prod(ksize), -1)


@im2col.defvjp
def _(ctx, g):
    p = ctx.params
    return col2im(g, in_size=tuple(ctx._metas[0][0][2:]), **p)


@primitive("col2im", save="none")
def col2im(xp, cols, *, in_size, ksize, stride, padding, dilation):
    """Sum sliding blocks back: ``(N, C*prod(k), L) -> (N, C, *in_size)`` (``F.fold``)."""
    N, CK, _ = cols.shape
    C = CK // math.prod(ksize)
    osz = _out_sizes(in_size, ksize, stride, padding, dilation)
    out = xp.zeros((N, C) + tuple(in_size), dtype=cols.dtype)
    _col2im_add(out, cols.reshape((N, C) + tuple(ksize) + osz), stride, padding, dilation)
    return out


@col2im.defvjp
def _(ctx, g):
    p = {k: v for k, v in ctx.params.items() if k != "in_size"}
    return im2col(g, **p)
