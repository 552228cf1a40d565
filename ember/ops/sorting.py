"""Sorting and order statistics: sort, topk, kthvalue, median, mode, quantile, unique.

The primitives here compute indices and are not differentiable. Values are gathered at those
indices with ``take_along`` (ember/ops/reduce.py), whose gradient scatters into zeros, so
gradients reach the selected elements, to any order. Sorts are stable and put NaN last
(first when descending), like PyTorch.
"""

import numpy as np

from ember.backend import compat
from ember._tensor import Tensor, _wrap
from ember.ops import elementwise as E
from ember.ops._registry import primitive
from ember.ops._util import wrap_dim
from ember.ops.reduce import (result_type, value_select, take_along, tie_reduction, out_tuple,
                              check_reducible, _need_tensor, _sum)
from ember.ops.views import reshape, movedim, unsqueeze, expand

_SortResult = result_type("sort")
_TopkResult = result_type("topk")
_KthvalueResult = result_type("kthvalue")
_MedianResult = result_type("median")
_NanmedianResult = result_type("nanmedian")
_ModeResult = result_type("mode")


# -- sort, argsort, msort, topk, kthvalue ---------------------------------------------------
def _sort_order(xp, x, dim, descending):
    """Stable sort order of ``x`` along ``dim``; NaN counts as the largest value."""
    if not descending:
        return xp.argsort(x, axis=dim, kind="stable")
    # sort the reversed slices ascending, then reverse back: descending, ties in input order
    idx = xp.argsort(xp.flip(x, axis=dim), axis=dim, kind="stable")
    return (x.shape[dim] - 1) - xp.flip(idx, axis=dim)


@primitive("argsort", differentiable=False)
def _argsort(xp, x, dim, descending, span=None):
    idx = _sort_order(xp, x, dim, descending)
    if span is not None:  # only positions span[0]:span[1] of the sorted order (topk...)
        idx = idx[(slice(None),) * dim + (slice(*span),)]
    return xp.ascontiguousarray(idx).astype(np.int64, copy=False)


def _sorted(input, dim, descending, span, op, result):
    """``result(values, indices)`` of ``input`` sorted along ``dim`` (positions ``span``)."""
    x = input if input._data.ndim else reshape(input, (1,))
    idx = _argsort(x, dim=dim, descending=descending, span=span)
    values = take_along(x, idx, dim)
    if input._data.ndim == 0:
        values, idx = reshape(values, ()), reshape(idx, ())
    return result(values, idx)


def sort(input, dim=-1, descending=False, stable=False, *, out=None):
    """Sort along ``dim``: ``(values, indices)``. Always stable; NaN sorts as the largest.

    Example:
        >>> ember.sort(ember.tensor([3, 1, 2]))
        sort(values=tensor([1, 2, 3]), indices=tensor([1, 2, 0]))
    """
    _need_tensor(input, "sort")
    d = wrap_dim(dim, input._data.ndim, "sort")
    return out_tuple(_sorted(input, d, descending, None, "sort", _SortResult), out)


def argsort(input, dim=-1, descending=False, stable=False):
    """Indices (int64) that sort ``input`` along ``dim`` (see :func:`sort`)."""
    _need_tensor(input, "argsort")
    d = wrap_dim(dim, input._data.ndim, "argsort")
    x = input if input._data.ndim else reshape(input, (1,))
    idx = _argsort(x, dim=d, descending=descending)
    return idx if input._data.ndim else reshape(idx, ())


def msort(input, *, out=None):
    """``input`` sorted along its first dim (values only)."""
    return E._out(sort(input, 0).values, out)


def _dim_size(x, d):
    return x._data.shape[d] if x._data.ndim else 1


def topk(input, k, dim=-1, largest=True, sorted=True, *, out=None):
    """The ``k`` largest (or smallest) elements along ``dim``: ``(values, indices)``.

    Results are always sorted; NaN counts as the largest value.

    Example:
        >>> ember.topk(ember.tensor([1, 5, 3, 4]), 2)
        topk(values=tensor([5, 4]), indices=tensor([1, 3]))
    """
    _need_tensor(input, "topk")
    d = wrap_dim(dim, input._data.ndim, "topk")
    n = _dim_size(input, d)
    if not 0 <= k <= n:
        raise RuntimeError(f"selected index k out of range: topk got k={k} for dim {d} of "
                           f"size {n}")
    return out_tuple(_sorted(input, d, largest, (0, k), "topk", _TopkResult), out)


def kthvalue(input, k, dim=-1, keepdim=False, *, out=None):
    """The ``k``-th smallest element (1-based) along ``dim``: ``(values, indices)``."""
    _need_tensor(input, "kthvalue")
    d = wrap_dim(dim, input._data.ndim, "kthvalue")
    if not 1 <= k <= _dim_size(input, d):
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d} (k={k}"
                           f", size {_dim_size(input, d)})")
    res = value_select(input, d, keepdim, lambda x, dd: _argsort(
        x, dim=dd, descending=False, span=(k - 1, k)), _KthvalueResult)
    return out_tuple(res, out)


# -- median, nanmedian, mode -----------------------------------------------------------------
def _median_index(xp, x, dim, ignore_nan):
    """Index of the lower median along ``dim`` (kept as size 1). A slice with NaN gives its
    first NaN, unless ``ignore_nan``: then the median of the rest (first NaN if all are)."""
    n = x.shape[dim]
    if x.dtype.kind in "fcV":
        nans = xp.isnan(x).sum(axis=dim, keepdims=True)
    else:
        nans = xp.zeros(x.shape[:dim] + (1,) + x.shape[dim + 1:], dtype=np.int64)
    if ignore_nan:
        pos = xp.maximum((n - nans - 1) // 2, 0)
    else:
        pos = xp.where(nans > 0, n - nans, (n - 1) // 2)
    order = _sort_order(xp, x, dim, False)
    return xp.take_along_axis(order, pos.astype(np.int64), axis=dim).astype(np.int64)


_median_indices = primitive("median_indices", differentiable=False)(_median_index)


def _median_all_forward(xp, x, dims, keepdim, nan_ties, ignore_nan):
    flat = x.reshape(-1)
    if flat.size == 0:
        return xp.full((), np.nan, dtype=x.dtype)
    return flat[_median_index(xp, flat, 0, ignore_nan)].reshape(())


_median_all = tie_reduction("median_all", _median_all_forward)


def _median(input, dim, keepdim, out, ignore_nan, op, result):
    _need_tensor(input, op)
    if dim is None:
        if keepdim:
            raise TypeError(f"{op}(): keepdim needs a dim (the median of all elements is 0-d)")
        if input._data.size == 0 and input._data.dtype.kind not in "fcV":
            raise RuntimeError(f"{op}(): cannot compute the median of an empty "
                               f"{input.dtype.name} tensor")
        return E._out(_median_all(input, dims=None, keepdim=False, nan_ties=True,
                                  ignore_nan=ignore_nan), out)
    d = wrap_dim(dim, input._data.ndim, op)
    if input._data.ndim:
        check_reducible(input, (d,), op)
    res = value_select(input, d, keepdim, lambda x, dd: _median_indices(
        x, dim=dd, ignore_nan=ignore_nan), result)
    return out_tuple(res, out)


def median(input, dim=None, keepdim=False, *, out=None):
    """The lower median of all elements, or ``(values, indices)`` along ``dim``.

    NaN propagates: a slice with NaN has median NaN (with dim: the index of its first NaN).
    Without ``dim`` the gradient is split evenly between elements equal to the median.

    Example:
        >>> ember.median(ember.tensor([4.0, 1.0, 3.0, 2.0]))
        tensor(2.)
    """
    return _median(input, dim, keepdim, out, False, "median", _MedianResult)


def nanmedian(input, dim=None, keepdim=False, *, out=None):
    """:func:`median` ignoring NaN (NaN only where a slice is all NaN)."""
    return _median(input, dim, keepdim, out, True, "nanmedian", _NanmedianResult)


@primitive("mode_indices", differentiable=False)
def _mode_indices(xp, x, dim):
    # sort each slice, measure the run of equal values every position belongs to, and take
    # the longest run (the first, i.e. smallest value, among equally long ones) at its end,
    # which in a stable sort is the value's last occurrence (NaN != NaN: runs of one)
    xm = xp.moveaxis(x, dim, -1)
    order = xp.argsort(xm, axis=-1, kind="stable")
    s = xp.take_along_axis(xm, order, axis=-1)
    n = s.shape[-1]
    pos = xp.broadcast_to(xp.arange(n), s.shape)
    starts = xp.ones(s.shape, dtype=bool)
    starts[..., 1:] = s[..., 1:] != s[..., :-1]
    ends = xp.ones(s.shape, dtype=bool)
    ends[..., :-1] = starts[..., 1:]
    first = compat.accumulate(xp, "maximum", xp.where(starts, pos, 0), axis=-1)
    last = xp.flip(compat.accumulate(xp, "minimum", xp.flip(xp.where(ends, pos, n), -1),
                                     axis=-1), -1)
    best = xp.argmax(last - first, axis=-1)[..., None]
    idx = xp.take_along_axis(order, xp.take_along_axis(last, best, axis=-1), axis=-1)
    return xp.ascontiguousarray(xp.moveaxis(idx, -1, dim)).astype(np.int64, copy=False)


def mode(input, dim=-1, keepdim=False, *, out=None):
    """The most frequent value along ``dim`` and the index of its last occurrence.

    Among equally frequent values the smallest is chosen.

    Example:
        >>> ember.mode(ember.tensor([3, 1, 1, 3, 2]))
        mode(values=tensor(1), indices=tensor(2))
    """
    _need_tensor(input, "mode")
    d = wrap_dim(dim, input._data.ndim, "mode")
    if input._data.ndim:
        check_reducible(input, (d,), "mode")
    res = value_select(input, d, keepdim, lambda x, dd: _mode_indices(x, dim=dd), _ModeResult)
    return out_tuple(res, out)


# -- quantile, nanquantile -------------------------------------------------------------------
_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _check_quantile_args(x, q, interpolation, op):
    """Validate; return ``q`` as a 1-d tensor of ``x``'s dtype and whether it was a scalar."""
    if x._data.dtype not in (np.float32, np.float64):
        raise RuntimeError(f"{op}() input tensor must be either float or double dtype, got "
                           f"{x.dtype.name}")
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError(f"{op}() interpolation must be one of linear, lower, higher, "
                           f"midpoint or nearest, but got {interpolation}")
    if isinstance(q, Tensor):
        if q._data.ndim > 1:
            raise RuntimeError(f"{op}() q must be a scalar or 1D tensor, got shape "
                               f"{tuple(q.shape)}")
        if q._data.dtype != x._data.dtype:
            raise RuntimeError(f"{op}() q tensor must be same dtype as the input tensor "
                               f"({q.dtype.name} vs {x.dtype.name})")
        if not bool(((q._data >= 0) & (q._data <= 1)).all()):
            raise RuntimeError(f"{op}() q values must be in the range [0, 1]")
        qt, scalar = q.detach(), q._data.ndim == 0
    else:
        if not 0 <= q <= 1:
            raise RuntimeError(f"{op}() q must be in the range [0, 1] but got {q}")
        qt = _wrap(x._device.xp.asarray(q, dtype=x._data.dtype), x._device)
        scalar = True
    if x._data.size == 0:
        raise RuntimeError(f"{op}() input tensor must be non-empty")
    return reshape(qt, (-1,)), scalar


def _interpolate(rows, pos, interpolation):
    """Values of sorted ``rows`` at fractional positions ``pos`` along the last dim."""
    last = rows._data.ndim - 1

    def at(p):
        return take_along(rows, E.cast(p, np.dtype(np.int64)), last)
    if interpolation == "nearest":
        return at(E.round(pos))
    lo, hi = E.floor(pos), E.ceil(pos)
    if interpolation == "lower":
        return at(lo)
    if interpolation == "higher":
        return at(hi)
    below, above = at(lo), at(hi)
    weight = 0.5 if interpolation == "midpoint" else pos - lo
    return below + weight * (above - below)


def _quantile(input, q, dim, keepdim, interpolation, ignore_nan, op):
    _need_tensor(input, op)
    qt, scalar_q = _check_quantile_args(input, q, interpolation, op)
    nd = input._data.ndim
    if dim is None:
        rows = reshape(input, (-1,))
    else:
        d = wrap_dim(dim, nd, op)
        rows = movedim(input, d, -1) if nd else reshape(input, (1,))
    rows = sort(rows, -1).values  # NaN last
    n, last = rows._data.shape[-1], rows._data.ndim - 1
    nans = _sum(E.isnan(rows), dims=(last,), keepdim=True, np_dtype=rows._data.dtype)
    if ignore_nan:  # the largest usable position: before the NaNs (0 if all are NaN)
        pos = E.clamp(qt * (n - nans - 1), min=0)
    else:  # a slice with NaN picks its last (NaN) element, like PyTorch
        pos = E.where(nans > 0, n - 1, qt * (n - 1))
    pos = expand(pos, rows._data.shape[:-1] + qt._data.shape)
    res = _interpolate(rows, pos, interpolation)
    res = movedim(res, -1, 0)  # q's dim first: (len(q), *reduced shape)
    if keepdim and dim is None:
        res = reshape(res, (res._data.shape[0],) + (1,) * nd)
    elif keepdim and nd:
        res = unsqueeze(res, d + 1)
    return reshape(res, res._data.shape[1:]) if scalar_q else res


def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear", out=None):
    """The ``q``-th quantiles over ``dim`` (all elements by default).

    ``q`` is a float or a 1-d tensor (its values then index the first dim of the result).
    Between data points ``interpolation`` is ``linear`` (default), ``lower``, ``higher``,
    ``midpoint`` or ``nearest``. A slice with NaN gives NaN.

    Example:
        >>> ember.quantile(ember.tensor([1.0, 2.0, 3.0, 4.0]), 0.5)
        tensor(2.5000)
    """
    return E._out(_quantile(input, q, dim, keepdim, interpolation, False, "quantile"), out)


def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear", out=None):
    """:func:`quantile` ignoring NaN (NaN only where a slice is all NaN)."""
    return E._out(_quantile(input, q, dim, keepdim, interpolation, True, "nanquantile"), out)


# -- unique, unique_consecutive --------------------------------------------------------------
@primitive("unique", n_out=3, differentiable=False)
def _unique(xp, x, dim):
    if dim is None:
        vals, inv, counts = xp.unique(x.reshape(-1), return_inverse=True, return_counts=True,
                                      equal_nan=False)
        inv = inv.reshape(x.shape)
    else:
        vals, inv, counts = xp.unique(x, return_inverse=True, return_counts=True, axis=dim,
                                      equal_nan=False)
        inv = inv.reshape(-1)
    return vals, inv.astype(np.int64, copy=False), counts.astype(np.int64, copy=False)


@primitive("unique_consecutive", n_out=3, differentiable=False)
def _unique_consecutive(xp, x, dim):
    n = x.size if dim is None else x.shape[dim]
    rows = xp.moveaxis(x, 0 if dim is None else dim, 0) if x.ndim else x
    rows = rows.reshape(n, x.size // n if n else 0)
    new = xp.ones(n, dtype=bool)
    new[1:] = (rows[1:] != rows[:-1]).any(axis=1)
    starts = xp.nonzero(new)[0]
    inv = xp.cumsum(new) - 1
    counts = xp.diff(xp.concatenate([starts, xp.asarray([n])]))
    if dim is None:
        vals, inv = x.reshape(-1)[starts], inv.reshape(x.shape)
    else:
        vals = xp.take(x, starts, axis=dim)
    return vals, inv.astype(np.int64, copy=False), counts.astype(np.int64, copy=False)


def _unique_result(vals, inv, counts, return_inverse, return_counts):
    if not (return_inverse or return_counts):
        return vals
    return (vals,) + ((inv,) if return_inverse else ()) + ((counts,) if return_counts else ())


def _unique_dim(input, dim, op):
    _need_tensor(input, op)
    if dim is None:
        return None
    if input._data.ndim == 0:
        raise IndexError(f"{op}(): a 0-d tensor has no dim {dim}; use dim=None")
    return wrap_dim(dim, input._data.ndim, op)


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct elements (or slices along ``dim``), sorted.

    Optionally also returns the inverse (int64 indices into the result rebuilding the
    input) and the count of each distinct element. NaNs are all distinct.

    Example:
        >>> ember.unique(ember.tensor([3, 1, 3, 2]), return_counts=True)
        (tensor([1, 2, 3]), tensor([1, 1, 2]))
    """
    d = _unique_dim(input, dim, "unique")
    return _unique_result(*_unique(input, dim=d), return_inverse, return_counts)


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """Collapse runs of equal consecutive elements (or slices along ``dim``) to one.

    Example:
        >>> ember.unique_consecutive(ember.tensor([1, 1, 2, 1]))
        tensor([1, 2, 1])
    """
    d = _unique_dim(input, dim, "unique_consecutive")
    return _unique_result(*_unique_consecutive(input, dim=d), return_inverse, return_counts)


__all__ = ["sort", "argsort", "msort", "topk", "kthvalue", "median", "nanmedian", "mode",
           "quantile", "nanquantile", "unique", "unique_consecutive"]
