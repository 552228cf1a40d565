r"""Adaptive pooling (fixed output size) and max unpooling.

Window ``i`` of ``O`` over a length ``S`` covers :math:`[\lfloor iS/O \rfloor,
\lceil (i+1)S/O \rceil)`. When ``O`` divides ``S`` these are ordinary pooling windows
(and ``O = 1`` average pooling is a mean); otherwise average pooling is a product with a
constant averaging matrix per dim, and max pooling finds each window's first maximum and
gathers it (``plane_gather``, whose adjoint scatter-adds the gradient back).
"""

import math

import numpy as np

from ember._tensor import _wrap
from ember.ops.views import squeeze, reshape, unsqueeze
from ember.ops.reduce import mean
from ember.ops.linalg import matmul
from ember.nn._functional._window import window_sum, max_pool_nd, plane_gather, plane_scatter
from ember.nn._functional.pooling import _batched, _tuple

__all__ = ["adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
           "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d",
           "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
           "adaptive_max_pool3d_with_indices", "max_unpool1d", "max_unpool2d", "max_unpool3d"]


# -- adaptive pooling --------------------------------------------------------------------------
def _adaptive_sizes(x, nd, output_size, op):
    if isinstance(output_size, (list, tuple)):
        if len(output_size) != nd:
            raise RuntimeError(f"{op}: output_size must be {nd}")
        osz = output_size
    else:
        osz = (output_size,) * nd
    osz = tuple(x.shape[2 + i] if o is None else int(o) for i, o in enumerate(osz))
    if any(o < 0 for o in osz):
        raise RuntimeError(f"{op}: elements of output_size must be greater than or equal to 0 "
                           f"but received {list(osz)}")
    return osz


def _bins(n, o):
    """Start and end (exclusive) of each adaptive window: floor(i n / o), ceil((i+1) n / o)."""
    i = np.arange(o)
    return (i * n) // o, -(-((i + 1) * n) // o)


def _avg_matrix(n, o, dtype):
    start, end = _bins(n, o)
    pos = np.arange(n)[:, None]
    inside = (pos >= start) & (pos < end)
    return (inside / (end - start)).astype(dtype)


def _adaptive_avg_poolnd(nd, input, output_size):
    op = f"adaptive_avg_pool{nd}d"
    x, added = _batched(input, nd, op)
    if x._data.dtype.kind not in "fcV":
        raise NotImplementedError(f'"{op}" not implemented for \'{x.dtype}\'')
    osz = _adaptive_sizes(x, nd, output_size, op)
    size = tuple(x.shape[2:])
    if all(o == 1 for o in osz):
        out = mean(x, dim=tuple(range(2, 2 + nd)), keepdim=True)
    elif all(o and n % o == 0 for n, o in zip(size, osz)):
        ks = tuple(n // o for n, o in zip(size, osz))
        out = window_sum(x, ksize=ks, stride=ks, padding=((0, 0),) * nd, osize=osz) / \
            float(math.prod(ks))
    else:
        out = _separable_matmul(x, [None if n == o else _avg_matrix(n, o, x._data.dtype)
                                    for n, o in zip(size, osz)])
    return squeeze(out, 0) if added else out


def _separable_matmul(x, mats):
    """Contract each spatial dim ``i`` of ``x`` with ``mats[i]`` ``(S_i, O_i)`` (None: keep)."""
    xp = x._device.xp
    nd = len(mats)
    out = x
    for i in reversed(range(nd)):
        if mats[i] is None:
            continue
        shp = out.shape
        lead = shp[:2 + i]
        rest = shp[2 + i + 1:]
        m = _wrap(xp.asarray(mats[i]), x._device)
        if not rest:
            out = matmul(out, m)
        else:
            r = reshape(out, lead + (shp[2 + i], math.prod(rest)))
            out = reshape(matmul(m.T, r), lead + (mats[i].shape[1],) + rest)
    return out if out is not x else x * 1.0


def adaptive_avg_pool1d(input, output_size):
    r"""Average pooling to a fixed output length: window ``i`` covers
    :math:`[\lfloor iL/O \rfloor, \lceil (i+1)L/O \rceil)`.

    Returns:
        :math:`(N, C, O)`.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.adaptive_avg_pool1d(ember.tensor([[[1., 2., 3., 4.]]]), 2)
        tensor([[[1.5000, 3.5000]]])
    """
    return _adaptive_avg_poolnd(1, input, output_size)


def adaptive_avg_pool2d(input, output_size):
    r"""Average pooling to a fixed ``(H_out, W_out)`` (``None`` keeps that input size).

    Returns:
        :math:`(N, C, H_{out}, W_{out})`.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.adaptive_avg_pool2d(ember.ones(2, 3, 7, 5), (2, None)).shape
        ember.Size([2, 3, 2, 5])
    """
    return _adaptive_avg_poolnd(2, input, output_size)


def adaptive_avg_pool3d(input, output_size):
    r"""Average pooling to a fixed ``(D_out, H_out, W_out)``.

    Returns:
        :math:`(N, C, D_{out}, H_{out}, W_{out})`.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.adaptive_avg_pool3d(ember.ones(1, 2, 5, 4, 3), 2).shape
        ember.Size([1, 2, 2, 2, 2])
    """
    return _adaptive_avg_poolnd(3, input, output_size)


def _adaptive_max_indices(xp, x, osz):
    """Flat plane index of each adaptive window's first maximum (int64 ``(N, C, *osz)``)."""
    nd = len(osz)
    size = x.shape[2:]
    grids = []
    for i, (n, o) in enumerate(zip(size, osz)):
        start, end = _bins(n, o)
        kmax = int((end - start).max()) if o else 1
        idx = np.minimum(start[:, None] + np.arange(kmax), end[:, None] - 1)
        grids.append(idx)
    # gather windows: (N, C, o_0, k_0, o_1, k_1, ...)
    key = (slice(None), slice(None))
    for i, g in enumerate(grids):
        shape = [1] * (2 * nd)
        shape[2 * i], shape[2 * i + 1] = g.shape
        key += (xp.asarray(g.reshape(shape)),)
    win = x[key]
    perm = (0, 1) + tuple(2 + 2 * i for i in range(nd)) + tuple(3 + 2 * i for i in range(nd))
    win = win.transpose(perm).reshape(x.shape[:2] + tuple(osz) + (-1,))
    arg = xp.argmax(win, axis=-1)  # first maximum; NaN counts as maximum
    flat = 0
    ksz = [g.shape[1] for g in grids]
    rem = arg
    coords = []
    for i in reversed(range(nd)):
        coords.append(rem % ksz[i])
        rem = rem // ksz[i]
    coords = coords[::-1]
    for i in range(nd):
        g = xp.asarray(grids[i])
        shp = [1] * nd
        shp[i] = osz[i]
        o_idx = xp.arange(osz[i]).reshape(shp)
        pos = g[o_idx, coords[i]]
        flat = flat * size[i] + pos
    return flat.astype(np.int64)


def _adaptive_max_poolnd(nd, input, output_size, return_indices):
    op = f"adaptive_max_pool{nd}d"
    x, added = _batched(input, nd, op)
    osz = _adaptive_sizes(x, nd, output_size, op)
    size = tuple(x.shape[2:])
    xp = x._device.xp
    if all(o and n % o == 0 for n, o in zip(size, osz)) and not return_indices:
        ks = tuple(n // o for n, o in zip(size, osz))
        out = max_pool_nd(x, ksize=ks, stride=ks, padding=((0, 0),) * nd, dilation=(1,) * nd,
                          osize=osz)
        return squeeze(out, 0) if added else out
    N, C = x.shape[:2]
    idx = _adaptive_max_indices(xp, x._data, osz)
    flat = reshape(x, (N, C, -1))
    out = reshape(plane_gather(flat, _wrap(idx.reshape(N, C, -1), x._device)), (N, C) + osz)
    idx_t = _wrap(idx, x._device)
    if added:
        out, idx_t = squeeze(out, 0), squeeze(idx_t, 0)
    return (out, idx_t) if return_indices else out


def adaptive_max_pool1d(input, output_size, return_indices=False):
    r"""Max pooling to a fixed output length (windows as in ``adaptive_avg_pool1d``).

    Returns:
        :math:`(N, C, O)` (and int64 indices into each input row with ``return_indices``).

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.adaptive_max_pool1d(ember.tensor([[[1., 5., 3., 4.]]]), 2)
        tensor([[[5., 4.]]])
    """
    return _adaptive_max_poolnd(1, input, output_size, return_indices)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    r"""Max pooling to a fixed ``(H_out, W_out)``.

    Returns:
        :math:`(N, C, H_{out}, W_{out})` (and flat ``h * W + w`` indices with
        ``return_indices``).

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.adaptive_max_pool2d(ember.ones(1, 3, 5, 7), 3).shape
        ember.Size([1, 3, 3, 3])
    """
    return _adaptive_max_poolnd(2, input, output_size, return_indices)


def adaptive_max_pool3d(input, output_size, return_indices=False):
    r"""Max pooling to a fixed ``(D_out, H_out, W_out)``.

    Returns:
        :math:`(N, C, D_{out}, H_{out}, W_{out})` (and flat indices with ``return_indices``).

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.adaptive_max_pool3d(ember.ones(1, 1, 5, 4, 3), 2).shape
        ember.Size([1, 1, 2, 2, 2])
    """
    return _adaptive_max_poolnd(3, input, output_size, return_indices)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=True):
    """``adaptive_max_pool1d`` returning ``(output, indices)``."""
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=True):
    """``adaptive_max_pool2d`` returning ``(output, indices)``."""
    return adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=True):
    """``adaptive_max_pool3d`` returning ``(output, indices)``."""
    return adaptive_max_pool3d(input, output_size, True)


# -- unpooling ---------------------------------------------------------------------------------
def _max_unpoolnd(nd, input, indices, kernel_size, stride, padding, output_size):
    op = f"max_unpool{nd}d"
    x, added = _batched(input, nd, op)
    ks = _tuple(kernel_size, nd, "kernel_size", op)
    st = ks if stride is None else _tuple(stride, nd, "stride", op)
    pad = _tuple(padding, nd, "padding", op)
    default = tuple((i - 1) * s - 2 * p + k for i, s, p, k in zip(x.shape[2:], st, pad, ks))
    if output_size is None:
        osz = default
    else:
        osz = tuple(int(o) for o in output_size)[-nd:]
        for o, d, s in zip(osz, default, st):
            if not d - s < o < d + s:
                raise ValueError(f"invalid output_size {list(osz)} (dim must be between "
                                 f"{[a - b for a, b in zip(default, st)]} and "
                                 f"{[a + b for a, b in zip(default, st)]})")
    if indices.shape != input.shape:
        raise RuntimeError(f"Expected shape of indices to be same as that of the input tensor "
                           f"({list(input.shape)}) but got indices tensor with shape: "
                           f"{list(indices.shape)}")
    idx = unsqueeze(indices, 0) if added else indices
    N, C = x.shape[:2]
    plane = math.prod(osz)
    ia = idx._data
    if ia.size and (int(ia.min()) < 0 or int(ia.max()) >= plane):
        bad = int(ia.max()) if int(ia.max()) >= plane else int(ia.min())
        raise RuntimeError(f"Found an invalid max index: {bad} (output volumes are of size "
                           f"{'x'.join(map(str, osz))})")
    flat = plane_scatter(reshape(x, (N, C, -1)), _wrap(ia.reshape(N, C, -1), x._device),
                         size=plane)
    out = reshape(flat, (N, C) + osz)
    return squeeze(out, 0) if added else out


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    r"""Partial inverse of ``max_pool1d``: values put back at their ``indices``, zeros elsewhere.

    Returns:
        :math:`(N, C, L_{out})`, :math:`L_{out} = (L - 1) s - 2p + k` unless ``output_size``.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> out, idx = F.max_pool1d(ember.tensor([[[1., 3., 2., 5.]]]), 2, return_indices=True)
        >>> F.max_unpool1d(out, idx, 2)
        tensor([[[0., 3., 0., 5.]]])
    """
    return _max_unpoolnd(1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    r"""Partial inverse of ``max_pool2d`` (scatter to flat ``h * W + w`` indices).

    Returns:
        :math:`(N, C, H_{out}, W_{out})`, per dim :math:`(S - 1) s - 2p + k` unless
        ``output_size``.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> out, idx = F.max_pool2d(ember.ones(1, 1, 4, 4), 2, return_indices=True)
        >>> F.max_unpool2d(out, idx, 2).shape
        ember.Size([1, 1, 4, 4])
    """
    return _max_unpoolnd(2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    r"""Partial inverse of ``max_pool3d``.

    Returns:
        :math:`(N, C, D_{out}, H_{out}, W_{out})`, each :math:`(S - 1) s - 2p + k` unless
        ``output_size``.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> out, idx = F.max_pool3d(ember.ones(1, 1, 2, 2, 2), 2, return_indices=True)
        >>> F.max_unpool3d(out, idx, 2).shape
        ember.Size([1, 1, 2, 2, 2])
    """
    return _max_unpoolnd(3, input, indices, kernel_size, stride, padding, output_size)
