"""Array functions NumPy and CuPy spell differently, behind one xp-generic name each.

Op forwards call ``xp.<fn>`` directly wherever NumPy and CuPy agree. Where they do not
(CuPy has no ``np.add.at``, no ``accumulate`` for most ufuncs, no ``reduceat``, and its
stride tricks live elsewhere), a forward calls the helper here instead of writing an
``if xp is np`` branch of its own::

    from ember.backend import compat
    compat.scatter_add(xp, out, idx, g)            # out[idx] += g, repeats accumulate
    compat.accumulate(xp, "maximum", x, axis=-1)   # running maximum

Every helper takes ``xp`` first and works on NumPy and CuPy arrays alike.
"""

import numpy as np


def _cupyx():
    import cupyx  # only reached with CuPy arrays, so CuPy is installed
    return cupyx


# -- scatter with repeated indices ---------------------------------------------------------------
_CUPYX_SCATTER = {"add": "scatter_add", "maximum": "scatter_max", "minimum": "scatter_min"}


def scatter(xp, ufunc, target, index, values):
    """``target[index] = ufunc(target[index], values)`` in place, where repeated indices all
    apply (``np.<ufunc>.at``) for ``ufunc`` in ``"add"``, ``"maximum"``, ``"minimum"``,
    ``"multiply"``. ``index`` is anything that indexes ``target`` (int arrays, a tuple of
    arrays, slices).

    On CuPy: ``cupyx.scatter_add/max/min`` (atomics). CuPy has no atomic multiply, so
    ``"multiply"`` sorts the positions and applies them in layers: layer r holds the r-th
    occurrence of every position, so no layer repeats one and a plain ``*=`` is exact.
    """
    if xp is np:
        getattr(np, ufunc).at(target, index, values)
    elif ufunc != "multiply":
        getattr(_cupyx(), _CUPYX_SCATTER[ufunc])(target, index, values)
    else:
        pos = xp.arange(target.size).reshape(target.shape)[index]
        vals = xp.broadcast_to(values, pos.shape).ravel()
        order = xp.argsort(pos.ravel(), kind="stable")
        pos, vals = pos.ravel()[order], vals[order]
        rank = xp.arange(pos.size) - xp.searchsorted(pos, pos)  # occurrence number at its position
        for r in range(int(rank.max()) + 1 if pos.size else 0):
            sel = rank == r
            target[xp.unravel_index(pos[sel], target.shape)] *= vals[sel]
    return target


def scatter_add(xp, target, index, values):
    """``target[index] += values`` in place, where repeated indices accumulate."""
    return scatter(xp, "add", target, index, values)


def segment_sum(xp, values, starts, axis=0):
    """``np.add.reduceat(values, starts, axis)`` for increasing ``starts`` (int array):
    sums of the segments ``values[starts[i]:starts[i + 1]]`` along ``axis``."""
    if xp is np:
        return np.add.reduceat(values, starts, axis=axis)
    v = xp.moveaxis(values, axis, 0)
    starts = xp.asarray(starts)
    seg = xp.zeros(v.shape[0], dtype=np.int64)
    seg[starts[1:]] = 1
    seg = xp.cumsum(seg)  # the segment of every row
    out = xp.zeros((len(starts),) + v.shape[1:], dtype=v.dtype)
    scatter_add(xp, out, seg, v)
    return xp.moveaxis(out, 0, axis)


# -- running reductions ----------------------------------------------------------------------------
def accumulate(xp, ufunc, x, axis=0):
    """``np.<ufunc>.accumulate(x, axis)`` for an associative binary ufunc named ``ufunc``
    (``"add"``, ``"multiply"``, ``"maximum"``, ``"minimum"``, ``"logaddexp"``...).

    CuPy accumulates only add and multiply (as cumsum/cumprod); the others run as a
    log-step scan: ceil(log2 n) elementwise steps over shifted copies.
    """
    if xp is np:
        return getattr(np, ufunc).accumulate(x, axis=axis)
    if ufunc == "add":
        return xp.cumsum(x, axis=axis)
    if ufunc == "multiply":
        return xp.cumprod(x, axis=axis)
    return log_step_scan(xp, getattr(xp, ufunc), x, axis)


def log_step_scan(xp, op, x, axis=0):
    """Inclusive scan of ``x`` along ``axis`` with associative ``op(a, b)``, in
    ceil(log2 n) vectorised steps (Hillis and Steele). Works on any array module."""
    out = xp.moveaxis(x, axis, -1).copy()
    n, shift = out.shape[-1], 1
    while shift < n:
        out[..., shift:] = op(out[..., :-shift], out[..., shift:])  # right side built first
        shift *= 2
    return xp.moveaxis(out, -1, axis)


# -- strided views ---------------------------------------------------------------------------------
def as_strided(xp, x, shape, strides, writeable=True):
    """A view of ``x`` with the given shape and byte strides (no copy, no bounds check)."""
    if xp is np:
        return np.lib.stride_tricks.as_strided(x, shape, strides, writeable=writeable)
    return xp.lib.stride_tricks.as_strided(x, shape, strides)


def sliding_window_view(xp, x, window_shape, axis=None):
    """``np.lib.stride_tricks.sliding_window_view``: read-only windows over ``x``."""
    if xp is np:
        return np.lib.stride_tricks.sliding_window_view(x, window_shape, axis)
    fn = getattr(xp.lib.stride_tricks, "sliding_window_view", None)
    if fn is not None:
        return fn(x, window_shape, axis)
    window_shape = (window_shape,) if np.isscalar(window_shape) else tuple(window_shape)
    axes = tuple(range(x.ndim)) if axis is None else \
        ((axis,) if np.isscalar(axis) else tuple(axis))
    shape, strides = list(x.shape), list(x.strides)
    for ax, w in zip(axes, window_shape):
        shape[ax] -= w - 1
    shape += list(window_shape)
    strides += [x.strides[ax] for ax in axes]
    return as_strided(xp, x, tuple(shape), tuple(strides))


# -- host/device -----------------------------------------------------------------------------------
def host(a):
    """``a`` as a NumPy array (a copy for CuPy arrays; NumPy arrays pass through)."""
    return a if isinstance(a, np.ndarray) else a.get()


def on(xp, a):
    """``a`` (NumPy, CuPy, a list or a scalar) as an array of module ``xp``."""
    return np.asarray(a) if xp is np else xp.asarray(a)


def indexed_shape(shape, key):
    """The shape of ``zeros(shape)[key]`` without touching any data.

    Index arrays may live on the GPU: only their shapes matter, except boolean masks,
    whose number of True entries decides the shape (those are copied to the host).
    """
    def stand_in(k):
        if isinstance(k, np.ndarray) or not hasattr(k, "shape") or not hasattr(k, "dtype"):
            return k
        if k.dtype == bool:
            return host(k)
        return np.zeros(k.shape, dtype=np.intp)  # any in-range index has the same shape
    key = tuple(stand_in(k) for k in key) if isinstance(key, tuple) else stand_in(key)
    return np.ndarray(shape, np.int8, b"\0", 0, (0,) * len(shape))[key].shape


def errstate(xp, **kwargs):
    """``np.errstate`` (CuPy does not raise floating-point warnings: there it does nothing)."""
    return np.errstate(**kwargs)


def writeable(a):
    """Whether ``a`` may be written (NumPy's read-only views say no; CuPy has no such flag)."""
    return getattr(a.flags, "writeable", True)
