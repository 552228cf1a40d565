"""Array kernels behind :mod:`ember.ops.conv` (NumPy or CuPy arrays in, arrays out).

Convolution becomes matrix products over cache-sized chunks of the batch:

- **Stride 1** (the common case) works on the *flattened* zero-padded input. An output
  position ``q`` reads input ``q + offset(k)`` for kernel offset ``k``, so if outputs are
  laid out with the padded row pitch (a "wide" grid, a few garbage columns per row that
  are cropped at the end), every kernel offset is one contiguous shifted slice of each
  channel. The im2col copy then streams long rows; the weight gradient needs no copy
  when there are enough channels (one matmul per offset against a shifted view); the
  input gradient is one matmul into columns (kept apart by zero gaps) and one ``sum``
  over a strided view of them that reads, for each input position, the column entries
  that land on it.
- **Other strides** copy strided windows ``(n, C, *k, *out)`` into columns (im2col), and
  add columns back with one strided add per kernel offset (col2im).

Chunks run on a small thread pool with BLAS limited to one thread inside each worker
(``threadpoolctl``, imported lazily): the copies then run in parallel with the matmuls,
and nothing spin-waits on a busy machine (OpenBLAS's own threads on many small matmuls
can be several times slower there). Without ``threadpoolctl`` chunks run in order.
"""

import math
import os
from itertools import product

import numpy as np

# Target bytes of a worker's column buffer: well inside one core's L2 cache.
CHUNK_BYTES = 1 << 20
# Worker threads for the chunk loop (None: one per CPU core; 1: no threads).
WORKERS = None
# Stride-1 weight gradients copy columns first (one matmul per chunk) when there are fewer
# input channels per group than this, or short output rows (below WGRAD_COPY_ROWS): a
# matmul per kernel offset is then too thin or too short to run at BLAS speed.
WGRAD_COPY_BELOW = 8
WGRAD_COPY_ROWS = 512

_pool = {"pool": None, "pid": None, "size": 0}
_blas = {"ctl": False}


# -- running chunks ----------------------------------------------------------------------------
def _blas_one_thread():
    """A context manager that limits BLAS to one thread, or None without threadpoolctl."""
    if _blas["ctl"] is False:
        try:
            from threadpoolctl import ThreadpoolController
            _blas["ctl"] = ThreadpoolController()
        except Exception:  # not installed, or no BLAS it knows
            _blas["ctl"] = None
    ctl = _blas["ctl"]
    return None if ctl is None else ctl.limit(limits=1, user_api="blas")


def _executor(n):
    """A thread pool of ``n`` workers (recreated after ``fork``: threads do not survive it)."""
    if _pool["pid"] != os.getpid() or _pool["size"] < n:
        from concurrent.futures import ThreadPoolExecutor
        _pool.update(pool=ThreadPoolExecutor(n, thread_name_prefix="ember-conv"),
                     pid=os.getpid(), size=n)
    return _pool["pool"]


def max_workers(xp):
    if xp is not np:
        return 1
    return max(1, WORKERS if WORKERS is not None else (os.cpu_count() or 1))


def chunk_size(xp, n, per_sample_bytes):
    """Samples per chunk: the cache budget, but at least one chunk per worker."""
    if xp is not np:
        return max(n, 1)
    bs = max(1, CHUNK_BYTES // max(per_sample_bytes, 1))
    return int(min(bs, max(1, -(-n // max_workers(xp)))))


def run_chunks(xp, n, bs, make_worker):
    """Call ``f(start, stop)`` over chunks of ``bs`` samples; ``f = make_worker()`` per thread.

    Returns the workers' ``f`` objects (a worker may keep an accumulator on itself).
    """
    chunks = [(s, min(s + bs, n)) for s in range(0, n, bs)]
    nw = min(max_workers(xp), len(chunks))
    limit = _blas_one_thread() if nw > 1 else None
    if limit is None:
        f = make_worker()
        for s, e in chunks:
            f(s, e)
        return [f]

    def run(t):
        f = make_worker()
        for s, e in chunks[t::nw]:
            f(s, e)
        return f

    with limit:
        return list(_executor(nw).map(run, range(nw)))


# -- geometry ----------------------------------------------------------------------------------
def out_size(size, k, stride, pad, dilation):
    """Output length along one dim: ``(S + lo + hi - d(k-1) - 1) // s + 1``."""
    return (size + pad[0] + pad[1] - dilation * (k - 1) - 1) // stride + 1


def out_sizes(in_size, ks, stride, padding, dilation):
    return tuple(out_size(*a) for a in zip(in_size, ks, stride, padding, dilation))


class Wide:
    """Stride-1 geometry on the flattened padded input (see the module docstring).

    ``sp``: padded sizes; ``osz``: output sizes; ``lw``: length of the wide output grid
    (``osz[0]`` rows of the padded pitch); ``flat``: per-channel buffer length (the padded
    volume plus slack for the last offsets); ``offsets``: flat shift of each kernel offset.
    """

    def __init__(self, size, ks, padding, dilation):
        self.sp = tuple(s + lo + hi for s, (lo, hi) in zip(size, padding))
        self.osz = tuple(p - d * (k - 1) for p, k, d in zip(self.sp, ks, dilation))
        pitch = [math.prod(self.sp[i + 1:]) for i in range(len(size))]
        self.volume = math.prod(self.sp)
        self.lw = self.osz[0] * pitch[0]
        self.flat = self.volume + sum(d * (k - 1) * p for k, d, p in
                                      zip(ks[1:], dilation[1:], pitch[1:]))
        self.steps = tuple(d * p for d, p in zip(dilation, pitch))
        self.offsets = [sum(k * s for k, s in zip(offs, self.steps))
                        for offs in product(*(range(k) for k in ks))]
        self.ks = tuple(ks)
        self.inner = tuple(slice(lo, lo + s) for s, (lo, _) in zip(size, padding))
        self.wide_shape = (self.osz[0],) + self.sp[1:]
        self.cropped = self.wide_shape != self.osz
        self.valid = tuple(slice(0, o) for o in self.osz)

    def padded(self, xp, m, c, dt):
        """A zeroed ``(m, c, flat)`` buffer and its ``(m, c, *sp)`` view."""
        buf = xp.zeros((m, c, self.flat), dtype=dt)
        return buf, buf[:, :, :self.volume].reshape((m, c) + self.sp)

    def windows(self, xp, buf):
        """``(m, C, *ks, lw)`` view: for each kernel offset, the shifted slice it reads."""
        it = buf.itemsize
        return xp.lib.stride_tricks.as_strided(
            buf, buf.shape[:2] + self.ks + (self.lw,),
            buf.strides[:2] + tuple(s * it for s in self.steps) + (it,))


def windows(xp, xpad, ks, stride, dilation, osz):
    """The ``(n, C, *ks, *osz)`` strided view of windows over a padded input (no copy)."""
    st = xpad.strides
    sp = st[2:]
    shape = xpad.shape[:2] + tuple(ks) + tuple(osz)
    strides = st[:2] + tuple(a * d for a, d in zip(sp, dilation)) + tuple(
        a * s for a, s in zip(sp, stride))
    return xp.lib.stride_tricks.as_strided(xpad, shape, strides)


class Padder:
    """Zero-pads chunks of ``x`` into one reused buffer (its border is zeroed once)."""

    def __init__(self, xp, x, padding, bs, dtype):
        self.x = x
        self.trivial = all(lo == 0 and hi == 0 for lo, hi in padding) and x.dtype == dtype
        if not self.trivial:
            shp = x.shape[2:]
            self.buf = xp.zeros((bs, x.shape[1]) + tuple(
                s + lo + hi for s, (lo, hi) in zip(shp, padding)), dtype=dtype)
            self.inner = (slice(None), slice(None)) + tuple(
                slice(lo, lo + s) for s, (lo, _) in zip(shp, padding))

    def __call__(self, s, e):
        if self.trivial:
            return self.x[s:e]
        out = self.buf[:e - s]
        out[self.inner] = self.x[s:e]
        return out


def _clip_range(o, k, stride, pad_lo, dilation, size):
    """Output positions ``o`` whose input ``o*s + k*d - lo`` lies in ``[0, size)``."""
    start = k * dilation - pad_lo
    o0 = -(start // stride) if start < 0 else 0
    o1 = min(o, (size - 1 - start) // stride + 1) if size - 1 - start >= 0 else 0
    if o1 <= o0:
        return None
    p0 = o0 * stride + start
    return slice(o0, o1), slice(p0, p0 + (o1 - o0 - 1) * stride + 1, stride)


def col2im_add(out, cols, stride, padding, dilation):
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


# -- convolution -------------------------------------------------------------------------------
def compute_dtype(*dts):
    """float16/bfloat16 compute in float32 (NumPy has no fast half-precision matmul)."""
    dt = np.result_type(*dts)
    return dt if dt.kind == "c" or dt.itemsize >= 4 else np.dtype(np.float32)


def conv(xp, x, w, b, stride, padding, dilation, groups):
    """``(N, C, *S) * (O, C/G, *k) -> (N, O, *out)`` plus bias ``b`` (or None)."""
    N = x.shape[0]
    O, ks = w.shape[0], w.shape[2:]
    dt = compute_dtype(x.dtype, w.dtype)
    wm = w.astype(dt, copy=False).reshape(groups, O // groups, -1)
    if all(s == 1 for s in stride):
        out = _conv_wide(xp, x, wm, ks, padding, dilation, dt)
    else:
        osz = out_sizes(x.shape[2:], ks, stride, padding, dilation)
        out = xp.empty((N, O) + osz, dtype=dt)
        _conv_im2col(xp, x, wm, out, ks, stride, padding, dilation, dt)
    if b is not None:
        out += b.astype(dt, copy=False).reshape((1, O) + (1,) * len(ks))
    return out.astype(x.dtype, copy=False)


def _conv_wide(xp, x, wm, ks, padding, dilation, dt):
    N, C = x.shape[:2]
    G, Og, CK = wm.shape
    geo = Wide(x.shape[2:], ks, padding, dilation)
    out = xp.empty((N, G * Og) + geo.osz, dtype=dt)
    direct = math.prod(ks) == 1 and geo.volume == math.prod(x.shape[2:]) and x.dtype == dt
    bs = chunk_size(xp, N, (CK * G + G * Og) * geo.lw * dt.itemsize)

    def make_worker():
        if not direct:
            pad, pad_v = geo.padded(xp, bs, C, dt)
            cols = xp.empty((bs, C) + geo.ks + (geo.lw,), dtype=dt)
            win = geo.windows(xp, pad)
        wide = xp.empty((bs, G * Og, geo.lw), dtype=dt) if geo.cropped else None

        def f(s, e):
            m = e - s
            if direct:
                src = x[s:e].reshape(m, G, CK, geo.lw)
            else:
                pad_v[(slice(0, m), slice(None)) + geo.inner] = x[s:e]
                cols[:m] = win[:m]
                src = cols[:m].reshape(m, G, CK, geo.lw)
            dst = wide[:m] if geo.cropped else out[s:e]
            xp.matmul(wm, src, out=dst.reshape(m, G, Og, geo.lw))
            if geo.cropped:
                out[s:e] = wide[:m].reshape((m, G * Og) + geo.wide_shape)[
                    (slice(None), slice(None)) + geo.valid]
        return f

    run_chunks(xp, N, bs, make_worker)
    return out


def _conv_im2col(xp, x, wm, out, ks, stride, padding, dilation, dt):
    N, C = x.shape[:2]
    G, Og, CK = wm.shape
    osz = out.shape[2:]
    L = math.prod(osz)
    bs = chunk_size(xp, N, C * math.prod(ks) * L * dt.itemsize)

    def make_worker():
        pad = Padder(xp, x, padding, bs, dt)
        cols = xp.empty((bs, C) + tuple(ks) + osz, dtype=dt)

        def f(s, e):
            m = e - s
            cols[:m] = windows(xp, pad(s, e), ks, stride, dilation, osz)
            xp.matmul(wm, cols[:m].reshape(m, G, CK, L), out=out[s:e].reshape(m, G, Og, L))
        return f

    run_chunks(xp, N, bs, make_worker)


def conv_transpose(xp, y, w, b, stride, padding, dilation, groups, in_size):
    """The adjoint of ``x -> conv(x, w)``: ``(N, O, *out) -> (N, C, *in_size)``, plus b."""
    N, O = y.shape[:2]
    Cg, ks = w.shape[1], w.shape[2:]
    dt = compute_dtype(y.dtype, w.dtype)
    wT = w.astype(dt, copy=False).reshape(groups, O // groups, -1).transpose(0, 2, 1)
    yc = y.astype(dt, copy=False)
    if _wide_fits(stride, in_size, ks, padding, dilation, y.shape[2:]):
        out = _conv_transpose_wide(xp, yc, wT, ks, padding, dilation, in_size, dt)
    else:
        out = xp.zeros((N, Cg * groups) + tuple(in_size), dtype=dt)
        _conv_transpose_col2im(xp, yc, wT, out, ks, stride, padding, dilation, dt)
    if b is not None:
        out += b.astype(dt, copy=False).reshape((1, -1) + (1,) * len(ks))
    return out.astype(y.dtype, copy=False)


def _wide_fits(stride, in_size, ks, padding, dilation, osz):
    """Stride 1, and the output grid is the full one (not shortened, as a transposed
    convolution's ``output_padding`` can leave its input)."""
    return all(s == 1 for s in stride) and \
        tuple(osz) == out_sizes(in_size, ks, stride, padding, dilation)


def _embed_wide(xp, geo, bs, c, dt):
    """A zeroed ``(bs, c, *wide_shape)`` buffer: gradients placed on the wide grid."""
    return xp.zeros((bs, c) + geo.wide_shape, dtype=dt) if geo.cropped else None


def _on_wide(geo, buf, g, s, e):
    """``g[s:e]`` on the wide grid, flattened to ``(m, c, lw)`` (garbage columns zero)."""
    m = e - s
    if buf is None:
        return g[s:e].reshape(m, g.shape[1], geo.lw)
    buf[(slice(0, m), slice(None)) + geo.valid] = g[s:e]
    return buf[:m].reshape(m, g.shape[1], geo.lw)


def _conv_transpose_wide(xp, y, wT, ks, padding, dilation, in_size, dt):
    """Stride-1 transposed convolution: one matmul into gapped columns, one strided sum.

    Column block ``u = (c, k)`` holds ``c_k`` (length ``lw``) after a zero gap of the
    largest offset, so input position ``p`` gathers ``c_k[p - offset(k)]`` from every block
    at addresses linear in ``k``: the col2im is one ``sum`` over a strided view (reads
    outside a block land in a zero gap), written straight into the output.
    """
    N, O = y.shape[:2]
    G, CK, Og = wT.shape
    C = CK * G // math.prod(ks)
    nd, KK = len(ks), math.prod(ks)
    geo = Wide(in_size, ks, padding, dilation)
    gap = geo.offsets[-1]
    blk = geo.lw + gap
    out = xp.empty((N, C) + tuple(in_size), dtype=dt)
    bs = chunk_size(xp, N, (C * KK * blk + O * geo.lw) * dt.itemsize)
    it = dt.itemsize
    kstride = [math.prod(ks[i + 1:]) for i in range(nd)]
    pitch = [math.prod(geo.sp[i + 1:]) for i in range(nd)]
    start = gap + sum(lo * p for (lo, _), p in zip(padding, pitch))

    def make_worker():
        gbuf = _embed_wide(xp, geo, bs, O, dt)
        cols = xp.zeros((bs, gap + C * KK * blk), dtype=dt)  # the gaps stay zero
        sn = cols.strides[0]
        dst = xp.lib.stride_tricks.as_strided(cols[:, gap:], (bs, G, CK, geo.lw),
                                              (sn, CK * blk * it, blk * it, it))
        gather = xp.lib.stride_tricks.as_strided(
            cols[:, start:], (bs, C) + tuple(ks) + tuple(in_size),
            (sn, KK * blk * it) + tuple((t * blk - st) * it for t, st in zip(kstride, geo.steps))
            + tuple(p * it for p in pitch))

        def f(s, e):
            m = e - s
            gm = _on_wide(geo, gbuf, y, s, e).reshape(m, G, Og, geo.lw)
            if xp is np:
                np.matmul(wT, gm, out=dst[:m])
            else:
                dst[:m] = xp.matmul(wT, gm)
            xp.sum(gather[:m], axis=tuple(range(2, 2 + nd)), out=out[s:e])
        return f

    run_chunks(xp, N, bs, make_worker)
    return out


def _conv_transpose_col2im(xp, y, wT, out, ks, stride, padding, dilation, dt):
    N, O = y.shape[:2]
    G, CK, Og = wT.shape
    C, osz = out.shape[1], y.shape[2:]
    L = math.prod(osz)
    bs = chunk_size(xp, N, G * CK * L * dt.itemsize)

    def make_worker():
        cols = xp.empty((bs, G, CK, L), dtype=dt)

        def f(s, e):
            m = e - s
            xp.matmul(wT, y[s:e].reshape(m, G, Og, L), out=cols[:m])
            col2im_add(out[s:e], cols[:m].reshape((m, C) + tuple(ks) + tuple(osz)), stride,
                       padding, dilation)
        return f

    run_chunks(xp, N, bs, make_worker)


def conv_wgrad(xp, x, g, stride, padding, dilation, groups, ksize):
    """The weight gradient ``sum_{n, p} g[n, o, p] * window(x)[n, c, k, p]``:
    ``(O, C/groups, *ksize)``."""
    dt = compute_dtype(x.dtype, g.dtype)
    g = g.astype(dt, copy=False)
    if _wide_fits(stride, x.shape[2:], ksize, padding, dilation, g.shape[2:]):
        acc = _wgrad_wide(xp, x, g, ksize, padding, dilation, groups, dt)
    else:
        acc = _wgrad_im2col(xp, x, g, ksize, stride, padding, dilation, groups, dt)
    return acc.reshape((g.shape[1], -1) + tuple(ksize)).astype(x.dtype, copy=False)


def _wgrad_wide(xp, x, g, ks, padding, dilation, G, dt):
    """Few channels per group or short rows: copy the shifted slices into columns, one
    matmul a chunk. Otherwise one matmul per kernel offset on the shifted views (no copy)."""
    N, C = x.shape[:2]
    O = g.shape[1]
    Cg, Og = C // G, O // G
    geo = Wide(x.shape[2:], ks, padding, dilation)
    KK = len(geo.offsets)
    copy = Cg < WGRAD_COPY_BELOW or geo.lw < WGRAD_COPY_ROWS
    per = C * (KK * geo.lw if copy else geo.flat) + O * geo.lw
    bs = chunk_size(xp, N, per * dt.itemsize)

    def make_worker():
        pad, pad_v = geo.padded(xp, bs, C, dt)
        gbuf = _embed_wide(xp, geo, bs, O, dt)
        acc = xp.zeros((G, Og, Cg, KK), dtype=dt)
        if copy:
            cols = xp.empty((bs, C) + geo.ks + (geo.lw,), dtype=dt)
            win = geo.windows(xp, pad)

        def f(s, e):
            m = e - s
            pad_v[(slice(0, m), slice(None)) + geo.inner] = x[s:e]
            gm = _on_wide(geo, gbuf, g, s, e).reshape(m, G, Og, geo.lw)
            if copy:
                cols[:m] = win[:m]
                cm = cols[:m].reshape(m, G, Cg * KK, geo.lw)
                acc[...] += xp.matmul(gm, cm.transpose(0, 1, 3, 2)).sum(0).reshape(acc.shape)
                return
            for t, off in enumerate(geo.offsets):
                xv = pad[:m, :, off:off + geo.lw].reshape(m, G, Cg, geo.lw)
                acc[..., t] += xp.matmul(gm, xv.transpose(0, 1, 3, 2)).sum(0)
        f.acc = acc
        return f

    return sum(f.acc for f in run_chunks(xp, N, bs, make_worker))


def _wgrad_im2col(xp, x, g, ks, stride, padding, dilation, G, dt):
    N, C = x.shape[:2]
    O = g.shape[1]
    osz = g.shape[2:]
    L, KK = math.prod(osz), math.prod(ks)
    bs = chunk_size(xp, N, C * KK * L * dt.itemsize)

    def make_worker():
        pad = Padder(xp, x, padding, bs, dt)
        cols = xp.empty((bs, C) + tuple(ks) + tuple(osz), dtype=dt)
        acc = xp.zeros((G, O // G, C // G * KK), dtype=dt)

        def f(s, e):
            m = e - s
            cols[:m] = windows(xp, pad(s, e), ks, stride, dilation, osz)
            cm = cols[:m].reshape(m, G, C // G * KK, L)
            gm = g[s:e].reshape(m, G, O // G, L)
            acc[...] += xp.matmul(gm, cm.transpose(0, 1, 3, 2)).sum(0)
        f.acc = acc
        return f

    return sum(f.acc for f in run_chunks(xp, N, bs, make_worker))


# -- unfold / fold -----------------------------------------------------------------------------
def im2col(xp, x, ks, stride, padding, dilation):
    """``(N, C, *S) -> (N, C*prod(k), L)`` sliding blocks (one strided copy)."""
    N, C = x.shape[:2]
    osz = out_sizes(x.shape[2:], ks, stride, padding, dilation)
    xpad = Padder(xp, x, padding, N, x.dtype)(0, N)
    cols = xp.ascontiguousarray(windows(xp, xpad, ks, stride, dilation, osz))
    return cols.reshape(N, C * math.prod(ks), -1)


def col2im(xp, cols, in_size, ks, stride, padding, dilation):
    """The adjoint of ``im2col``: blocks summed back into ``(N, C, *in_size)``."""
    N, CK, _ = cols.shape
    C = CK // math.prod(ks)
    osz = out_sizes(in_size, ks, stride, padding, dilation)
    out = xp.zeros((N, C) + tuple(in_size), dtype=cols.dtype)
    col2im_add(out, cols.reshape((N, C) + tuple(ks) + osz), stride, padding, dilation)
    return out
