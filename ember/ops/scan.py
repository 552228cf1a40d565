"""Scans along a dim: cumsum, cumprod, cummax, cummin, logcumsumexp (split from reduce.py)."""

import math

import numpy as np

from ember.backend import compat
from ember import _dtype
from ember.ops import elementwise as E
from ember.ops._registry import primitive
from ember.ops._util import wrap_dim
from ember.ops.views import reshape
from ember.ops.reduce import (_CummaxResult, _CumminResult, _acc_dtype, _cumsum, _first_zero,
                              _flip, _need_tensor, _take_along, out_tuple)

__all__ = ["cumsum", "cumprod", "cummax", "cummin", "logcumsumexp"]


# -- scans: cumsum, cumprod, cummax, cummin, logcumsumexp ----------------------------------------
def _scan_dim(input, dim, op):
    _need_tensor(input, op)
    return wrap_dim(dim, input._data.ndim, op)


def cumsum(input, dim, *, dtype=None, out=None):
    """Cumulative sum along ``dim``; ints and bools accumulate in int64.

    Example:
        >>> ember.cumsum(ember.tensor([1, 2, 3]), 0)
        tensor([1, 3, 6])
    """
    d = _scan_dim(input, dim, "cumsum")
    return E._out(_cumsum(input, dim=d, reverse=False, np_dtype=_acc_dtype(input, dtype)), out)


@primitive("cumprod", save_output=True)
def _cumprod(xp, x, dim, np_dtype):
    if x.ndim == 0:
        return x.astype(np_dtype or x.dtype)
    return xp.cumprod(x, axis=dim, dtype=np_dtype)


@_cumprod.defvjp
def _(ctx, g):
    x, d = ctx.inputs[0], ctx.params["dim"]
    if x._data.ndim == 0:
        return (g,)
    return (_cumprod_grad(E.conj(x), E.conj(ctx.out), g, d),)


def _cumprod_grad(x, out, g, d):
    """``grad_i = sum_{j >= i} g_j prod_{k <= j, k != i} x_k``, exact with zeros.

    Where ``x_i != 0`` it is ``revcumsum(g * out)_i / x_i``; at a slice's first zero, the
    revcumsum of ``g`` times the cumprod of ``x`` without that zero; at a later zero,
    ``x_first`` times the same gradient for ``x`` without its first zero (see _prod_others).
    """
    zero = x == 0
    ratio = _cumsum(g * out, dim=d, reverse=True, np_dtype=None) / E.where(zero, 1, x)
    if not bool(zero._data.any()):
        return ratio
    zero, first, skip, x_first = _first_zero(x, d)
    skip_out = _cumprod(skip, dim=d, np_dtype=None)
    at_first = _cumsum(g * skip_out, dim=d, reverse=True, np_dtype=None)
    later = x_first * _cumprod_grad(skip, skip_out, g, d)
    return E.where(zero, E.where(first, at_first, later), ratio)


def cumprod(input, dim, *, dtype=None, out=None):
    """Cumulative product along ``dim``; ints and bools accumulate in int64.

    The gradient is exact when elements are zero.
    """
    d = _scan_dim(input, dim, "cumprod")
    return E._out(_cumprod(input, dim=d, np_dtype=_acc_dtype(input, dtype)), out)


@primitive("cumextreme_indices", differentiable=False)
def _cumextreme_indices(xp, x, dim, largest):
    # the index of the running extreme: the last position where x reached it (NaN sticks)
    acc = compat.accumulate(xp, "maximum" if largest else "minimum", x, axis=dim)
    reached = x == acc
    if x.dtype.kind in "fcV":
        reached |= xp.isnan(x)
    shape = [1] * x.ndim
    shape[dim] = -1
    pos = xp.arange(x.shape[dim]).reshape(shape)
    return compat.accumulate(xp, "maximum", xp.where(reached, pos, 0), axis=dim)


def _cum_extreme(input, dim, largest, op, result):
    d = _scan_dim(input, dim, op)
    x = input if input._data.ndim else reshape(input, (1,))
    idx = _cumextreme_indices(x, dim=d, largest=largest)
    values = _take_along(x, idx, dim=d)
    if input._data.ndim == 0:
        values, idx = reshape(values, ()), reshape(idx, ())
    return result(values, idx)


def cummax(input, dim, *, out=None):
    """Running maximum along ``dim``: ``(values, indices)``; NaN propagates.

    Example:
        >>> ember.cummax(ember.tensor([1, 3, 2, 5]), 0)
        cummax(values=tensor([1, 3, 3, 5]), indices=tensor([0, 1, 1, 3]))
    """
    return out_tuple(_cum_extreme(input, dim, True, "cummax", _CummaxResult), out)


def cummin(input, dim, *, out=None):
    """Running minimum along ``dim``: ``(values, indices)``; NaN propagates."""
    return out_tuple(_cum_extreme(input, dim, False, "cummin", _CumminResult), out)


@primitive("logcumsumexp", save_output=True)
def _logcumsumexp(xp, x, dim, reverse):
    if x.ndim == 0:
        return x.copy()
    work = x.astype(np.float32) if x.dtype.itemsize < 4 else x  # half types lack accumulate
    out = compat.accumulate(xp, "logaddexp", _flip(xp, work, dim, reverse), axis=dim)
    return xp.ascontiguousarray(_flip(xp, out, dim, reverse)).astype(x.dtype, copy=False)


@_logcumsumexp.defvjp
def _(ctx, g):
    # grad_i = exp(x_i) * sum_{j >= i} g_j exp(-out_j). Split g by sign so each sum is a
    # (reversed) logcumsumexp of logs: stable for any range of x.
    x, out, p = ctx.inputs[0], ctx.out, ctx.params

    def part(gp):
        pos = gp > 0
        logs = E.where(pos, E.log(E.where(pos, gp, 1)) - out, -math.inf)
        return E.exp(x + _logcumsumexp(logs, dim=p["dim"], reverse=not p["reverse"]))
    return (part(E.where(g > 0, g, 0)) - part(E.where(g < 0, -g, 0)),)


def logcumsumexp(input, dim, *, out=None):
    """``log(cumsum(exp(input)))`` along ``dim``, computed stably (floating inputs only)."""
    d = _scan_dim(input, dim, "logcumsumexp")
    if input._data.dtype.kind not in "fV":
        raise NotImplementedError(f"logcumsumexp: not implemented for "
                                  f"'{_dtype.scalar_name(input.dtype)}' (expected a floating "
                                  f"point tensor)")
    return E._out(_logcumsumexp(input, dim=d, reverse=False), out)
