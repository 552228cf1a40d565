"""Reductions with ``dim``/``keepdim``: sums, products, moments, extremes, norms, logic, and
the scans (cumsum, cummax...). Value-selecting reductions gather their result with
``take_along``, whose gradient scatters back with ``put_along`` (and vice versa).
"""

import builtins
import collections
import math
import types
import warnings

import numpy as np

from ember.backend import compat
from ember import _dtype
from ember._tensor import Tensor, _wrap
from ember.autograd.grad_mode import STATE
from ember.ops import elementwise as E
from ember.ops._registry import primitive
from ember.ops._util import dims_arg, wrap_dim
from ember.ops.views import reshape, expand, squeeze, _expand  # noqa: F401


def as_array(xp, r):
    """A full reduction's result as a 0-d array (NumPy returns a scalar, which in-place ops
    and ``__array__`` cannot use)."""
    return r if type(r) is xp.ndarray else xp.asarray(r)


def _keep_shape(shape, dims):
    """``shape`` with the reduced ``dims`` set to 1 (all dims when ``dims`` is None)."""
    if dims is None:
        return (1,) * len(shape)
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


def grad_to_input(g, in_shape, dims, keepdim):
    """Broadcast a reduction's gradient back over the reduced dims."""
    if not STATE.enabled:  # a plain backward: a read-only broadcast view of the array
        arr = g._data if keepdim else g._data.reshape(_keep_shape(in_shape, dims))
        return _wrap(_expand.forward(g._device.xp, arr, in_shape), g._device)
    if not keepdim:
        g = reshape(g, _keep_shape(in_shape, dims))
    return _expand(g, shape=in_shape) if g._data.shape != in_shape else g


@primitive("sum", save="none")
def _sum(xp, x, dims, keepdim, np_dtype):
    return as_array(xp, x.sum(axis=dims, keepdims=keepdim, dtype=np_dtype))  # method: 2x faster


@_sum.defvjp
def _(ctx, g):
    p = ctx.params
    return (grad_to_input(g, ctx._metas[0][0], p["dims"], p["keepdim"]),)


def _acc_dtype(x, dtype):
    if dtype is not None:
        return _dtype.to_dtype(dtype).np
    if x._data.dtype.kind in "biu":
        return np.dtype(np.int64)
    return None


def sum(input, dim=None, keepdim=False, *, dtype=None, out=None):
    """Sum over ``dim`` (all dims by default); ints and bools sum to int64."""
    _need_tensor(input, "sum")
    dims = dims_arg(dim, input._data.ndim, "sum")
    if input._data.ndim == 0:
        dims = None
    return _sum(input, dims=dims, keepdim=keepdim, np_dtype=_acc_dtype(input, dtype))


def mean(input, dim=None, keepdim=False, *, dtype=None, out=None):
    """Arithmetic mean over ``dim``; only floating and complex dtypes."""
    _need_tensor(input, "mean")
    if dtype is not None:
        input = input.to(dtype)
    if input._data.dtype.kind not in "fcV":
        raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be either "
                           f"a floating point or complex dtype. Got: {input.dtype.name}")
    dims = dims_arg(dim, input._data.ndim, "mean")
    if input._data.ndim == 0:
        dims = None
    n = input._data.size if dims is None else int(np.prod([input._data.shape[d] for d in dims]))
    s = _sum(input, dims=dims, keepdim=keepdim, np_dtype=None)
    return s / n if n else s * float("nan")


def sum_to(g, shape):
    """Sum ``g`` down to ``shape`` (the reverse of broadcasting); used by the engine."""
    gs = g._data.shape
    lead = len(gs) - len(shape)
    dims = tuple(range(lead)) + tuple(
        i + lead for i, s in enumerate(shape) if s == 1 and gs[i + lead] != 1)
    if dims:
        g = _sum(g, dims=dims, keepdim=True, np_dtype=None)
    if lead or g._data.shape != shape:
        g = reshape(g, shape)
    return g


def _need_tensor(x, op):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(x).__name__}")


# ``sum``, ``max``, ``min``, ``all`` and ``any`` shadow the builtins in this module: use
# ``builtins.<name>`` for Python's.

# -- named results, dims, and the two selection primitives -----------------------------------
return_types = types.SimpleNamespace()


def result_type(name, fields=("values", "indices")):
    """A named tuple type like ``torch.return_types.<name>`` (pickles by qualified name)."""
    cls = collections.namedtuple(name, fields)
    cls.__module__ = __name__
    cls.__qualname__ = f"return_types.{name}"
    setattr(return_types, name, cls)
    return cls


_MaxResult = result_type("max")
_MinResult = result_type("min")
_AminmaxResult = result_type("aminmax", ("min", "max"))
_CummaxResult = result_type("cummax")
_CumminResult = result_type("cummin")


def reduce_dims(x, dim, op):
    """The reduced dims of ``x`` as a sorted tuple, or None for all of them."""
    dims = dims_arg(dim, x._data.ndim, op)
    return None if x._data.ndim == 0 else dims


def check_reducible(x, dims, op):
    """PyTorch's errors for reductions without an identity (max, argmax...) on empty input."""
    shape = x._data.shape
    if dims is None:
        if x._data.size == 0:
            raise RuntimeError(f"{op}(): Expected reduction dim to be specified for "
                               f"input.numel() == 0. Specify the reduction dim with the 'dim' "
                               f"argument.")
        return
    for d in dims:
        if shape[d] == 0:
            raise IndexError(f"{op}(): Expected reduction dim {d} to have non-zero size.")


def _along_key(xp, idx, dim):
    """A fancy index addressing, for every position of ``idx``, element ``idx`` along ``dim``."""
    key = []
    for a, n in enumerate(idx.shape):
        if a == dim:
            key.append(idx)
        else:
            shape = [1] * idx.ndim
            shape[a] = n
            key.append(xp.arange(n).reshape(shape))
    return tuple(key)


@primitive("take_along", save=(1,))
def _take_along(xp, x, idx, dim):
    return xp.take_along_axis(x, idx, axis=dim)


@_take_along.defvjp
def _(ctx, g):
    idx = ctx.inputs[1]
    return _put_along(g, idx, dim=ctx.params["dim"], shape=ctx._metas[0][0]), None


@primitive("put_along", save=(1,))
def _put_along(xp, g, idx, dim, shape):
    out = xp.zeros(shape, dtype=g.dtype)
    key = _along_key(xp, idx, dim)
    return compat.scatter_add(xp, out, key, g)  # repeated indices (cummax) accumulate


@_put_along.defvjp
def _(ctx, g):
    return _take_along(g, ctx.inputs[1], dim=ctx.params["dim"]), None


def take_along(x, idx, dim):
    """``x`` at int64 positions ``idx`` along ``dim`` (a gather; its gradient scatters back)."""
    return _take_along(x, idx, dim=dim)


def value_select(x, dim, keepdim, indices_of, result):
    """A reduction that picks one element per slice along ``dim`` (max, median, kthvalue...).

    ``indices_of(x, dim)`` returns int64 indices keeping ``dim`` with size 1. The values are
    gathered at them, so the gradient flows to the picked elements only (to any order).
    Returns ``result(values, indices)``.
    """
    if x._data.ndim == 0:
        return value_select(reshape(x, (1,)), 0, False, indices_of, result)
    idx = indices_of(x, dim)
    values = _take_along(x, idx, dim=dim)
    if not keepdim:
        values, idx = squeeze(values, dim), squeeze(idx, dim)
    return result(values, idx)


def _ties_vjp(ctx, g):
    """Gradient of a reduction to a value of its input (amax, median...): split evenly
    between the elements equal to the result; with ``nan_ties`` a NaN result also goes to
    the NaN elements (PyTorch's ``max()``/``median()``), otherwise it gives NaN (``amax``)."""
    x, p = ctx.inputs[0], ctx.params
    shape = ctx._metas[0][0]
    out = grad_to_input(ctx.out, shape, p["dims"], p["keepdim"])
    mask = x == out
    if p["nan_ties"] and x._data.dtype.kind in "fcV":
        mask = mask | (E.isnan(x) & E.isnan(out))
    count = _sum(mask, dims=p["dims"], keepdim=True, np_dtype=x._data.dtype)
    return grad_to_input(g, shape, p["dims"], p["keepdim"]) * mask / count


def tie_reduction(name, forward):
    """A primitive ``forward(xp, x, dims, keepdim, nan_ties, ...)`` with :func:`_ties_vjp`."""
    prim = primitive(name, save_output=True)(forward)
    prim.defvjp(_ties_vjp)
    return prim


def out_tuple(res, out):
    """Support ``out=(values, indices)`` for the named-tuple results."""
    if out is None:
        return res
    for o, r in zip(out, res):
        E._out(r, o)
    return type(res)(*out)


# -- sums and products -----------------------------------------------------------------------
def nansum(input, dim=None, keepdim=False, *, dtype=None, out=None):
    """Sum over ``dim`` treating NaN as zero; ints and bools sum to int64.

    Example:
        >>> ember.nansum(ember.tensor([1.0, float("nan"), 2.0]))
        tensor(3.)
    """
    _need_tensor(input, "nansum")
    x = input
    if x._data.dtype.kind in "fcV":
        x = E.where(E.isnan(x), 0, x)
    return E._out(sum(x, dim, keepdim, dtype=dtype), out)


def nanmean(input, dim=None, keepdim=False, *, dtype=None, out=None):
    """Mean over ``dim`` of the non-NaN elements (NaN where there are none)."""
    _need_tensor(input, "nanmean")
    if dtype is not None:
        input = input.to(dtype)
    if input._data.dtype.kind not in "fcV":
        raise RuntimeError(f"nanmean(): expected input to have floating point or complex dtype "
                           f"but got {_dtype.scalar_name(input.dtype)}")
    keep = ~E.isnan(input)
    total = nansum(input, dim, keepdim)
    with np.errstate(divide="ignore", invalid="ignore"):
        return E._out(total / sum(keep, dim, keepdim), out)


@primitive("prod", save_output=True)
def _prod(xp, x, dims, keepdim, np_dtype):
    return as_array(xp, xp.prod(x, axis=dims, keepdims=keepdim, dtype=np_dtype))


@_prod.defvjp
def _(ctx, g):
    x, p = ctx.inputs[0], ctx.params
    shape, dims, keep = ctx._metas[0][0], p["dims"], p["keepdim"]
    if dims is None:  # work on the flat input: one slice along dim 0
        others = _prod_others(E.conj(reshape(x, (-1,))), E.conj(reshape(ctx.out, (1,))), 0)
    else:
        out = ctx.out if keep else reshape(ctx.out, _keep_shape(shape, dims))
        others = _prod_others(E.conj(x), E.conj(out), dims[0])
    return grad_to_input(g, shape, dims, keep) * reshape(others, shape)


# the cumsum primitive lives here: prod's zero-aware gradient needs it (ops/scan.py
# builds the public scans on it)
def _flip(xp, x, dim, reverse):
    return xp.flip(x, axis=dim) if reverse else x


@primitive("cumsum", save="none")
def _cumsum(xp, x, dim, reverse, np_dtype):
    if x.ndim == 0:
        return x.astype(np_dtype or x.dtype)
    out = xp.cumsum(_flip(xp, x, dim, reverse), axis=dim, dtype=np_dtype)
    return xp.ascontiguousarray(_flip(xp, out, dim, reverse))


@_cumsum.defvjp
def _(ctx, g):
    p = ctx.params
    return (_cumsum(g, dim=p["dim"], reverse=not p["reverse"], np_dtype=None),)


def _first_zero(x, d):
    """Along ``d``: the zeros of ``x``, its first zero per slice, ``x`` with that zero set to
    1, and that zero's value (0, but differentiable) with ``d`` kept as size 1."""
    zero = x == 0
    first = zero & (_cumsum(zero, dim=d, reverse=False, np_dtype=np.dtype(np.int64)) == 1)
    x_first = _sum(E.where(first, x, 0), dims=(d,), keepdim=True, np_dtype=None)
    return zero, first, E.where(first, 1, x), x_first


def _prod_others(x, out, d):
    """For every ``x_i``, the product of the other elements of its slice along ``d``.

    ``out / x_i`` is exact where ``x_i != 0``. At a slice's first zero it is the product of
    the rest; at a later zero it is ``x_first * (the same for x without its first zero)``:
    polynomial identities, so every order of derivative is right and nothing divides by 0.
    """
    zero = x == 0
    ratio = out / E.where(zero, 1, x)
    if not bool(zero._data.any()):
        return ratio
    zero, first, skip, x_first = _first_zero(x, d)
    skip_out = _prod(skip, dims=(d,), keepdim=True, np_dtype=None)
    later = x_first * _prod_others(skip, skip_out, d)
    return E.where(zero, E.where(first, skip_out, later), ratio)


def prod(input, dim=None, keepdim=False, *, dtype=None, out=None):
    """Product of the elements over ``dim`` (all by default); ints and bools give int64.

    The gradient is exact when elements are zero (no division by zero).

    Example:
        >>> ember.prod(ember.tensor([[1, 2], [3, 4]]), 1)
        tensor([ 2, 12])
    """
    _need_tensor(input, "prod")
    if dim is not None and not isinstance(dim, int):
        raise TypeError(f"prod(): argument 'dim' must be int, not {type(dim).__name__}")
    dims = reduce_dims(input, dim, "prod")
    res = _prod(input, dims=dims, keepdim=keepdim, np_dtype=_acc_dtype(input, dtype))
    return E._out(res, out)


# -- spread: var, std ------------------------------------------------------------------------
def _correction(op, dim, unbiased, correction):
    """Resolve ``var``'s overloads to ``(dim, correction)``; ``var(x, True)`` is legacy."""
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise TypeError(f"{op}(): pass either 'unbiased' or 'correction', not both")
    if correction is None:
        correction = 0 if unbiased is False else 1
    return dim, correction


def _var(x, dim, correction, keepdim, op):
    _need_tensor(x, op)
    if x._data.dtype.kind not in "fcV":
        raise RuntimeError(f"{op}(): std and var only support floating point and complex "
                           f"dtypes, got {_dtype.scalar_name(x.dtype)}")
    dims = reduce_dims(x, dim, op)
    shape = x._data.shape
    n = x._data.size if dims is None else int(np.prod([shape[d] for d in dims]))
    dev = x - _sum(x, dims=dims, keepdim=True, np_dtype=None) / builtins.max(n, 1)
    sq = E.real(dev * E.conj(dev)) if x._data.dtype.kind == "c" else dev * dev
    dof = builtins.max(0, n - correction)
    if dof == 0:
        warnings.warn(f"{op}(): degrees of freedom is <= 0. Correction should be strictly less "
                      f"than the reduction factor (input numel divided by output numel).",
                      stacklevel=3)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _sum(sq, dims=dims, keepdim=keepdim, np_dtype=None) / dof


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None, out=None):
    """Variance over ``dim``: ``sum((x - mean)^2) / max(0, N - correction)``.

    ``correction`` defaults to 1 (Bessel's correction); the legacy ``unbiased`` flag means
    ``correction=1`` (True) or ``0`` (False). Complex inputs give a real variance.

    Example:
        >>> ember.var(ember.tensor([1.0, 2.0, 3.0, 4.0]))
        tensor(1.6667)
    """
    dim, correction = _correction("var", dim, unbiased, correction)
    return E._out(_var(input, dim, correction, keepdim, "var"), out)


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None, out=None):
    """Standard deviation over ``dim``: ``sqrt(var(...))`` (same arguments as :func:`var`).

    The gradient is 0 where the deviation is 0, like PyTorch's.
    """
    dim, correction = _correction("std", dim, unbiased, correction)
    return E._out(_safe_root(_var(input, dim, correction, keepdim, "std"), 2), out)


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None, out=None):
    """``(var, mean)`` over ``dim`` (see :func:`var`)."""
    dim, correction = _correction("var_mean", dim, unbiased, correction)
    return (_var(input, dim, correction, keepdim, "var_mean"), mean(input, dim, keepdim))


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None, out=None):
    """``(std, mean)`` over ``dim`` (see :func:`var`)."""
    dim, correction = _correction("std_mean", dim, unbiased, correction)
    v = _var(input, dim, correction, keepdim, "std_mean")
    return (_safe_root(v, 2), mean(input, dim, keepdim))


# -- extremes: amax, amin, max, min, argmax, argmin, aminmax ----------------------------------
_amax = tie_reduction("amax", lambda xp, x, dims, keepdim, nan_ties: as_array(xp, xp.amax(
    x, axis=dims, keepdims=keepdim)))
_amin = tie_reduction("amin", lambda xp, x, dims, keepdim, nan_ties: as_array(xp, xp.amin(
    x, axis=dims, keepdims=keepdim)))


@primitive("argmax", differentiable=False)
def _argmax(xp, x, dim, keepdim):
    return as_array(xp, xp.argmax(x, axis=dim, keepdims=keepdim)).astype(np.int64, copy=False)


@primitive("argmin", differentiable=False)
def _argmin(xp, x, dim, keepdim):
    return as_array(xp, xp.argmin(x, axis=dim, keepdims=keepdim)).astype(np.int64, copy=False)


def _amax_like(prim, op, input, dim, keepdim, out):
    _need_tensor(input, op)
    dims = reduce_dims(input, dim, op)
    check_reducible(input, dims, op)
    return E._out(prim(input, dims=dims, keepdim=keepdim, nan_ties=False), out)


def amax(input, dim=(), keepdim=False, *, out=None):
    """Largest value over ``dim`` (an int or a tuple; all dims by default).

    NaN propagates; the gradient is split evenly between tied maxima.

    Example:
        >>> ember.amax(ember.tensor([[1, 5], [7, 2]]), 1)
        tensor([5, 7])
    """
    return _amax_like(_amax, "amax", input, dim, keepdim, out)


def amin(input, dim=(), keepdim=False, *, out=None):
    """Smallest value over ``dim`` (see :func:`amax`)."""
    return _amax_like(_amin, "amin", input, dim, keepdim, out)


def _extreme(input, dim, keepdim, out, op):
    _need_tensor(input, op)
    full, arg, result = (_amax, _argmax, _MaxResult) if op == "max" else \
        (_amin, _argmin, _MinResult)
    if dim is None:
        check_reducible(input, None, op)
        return E._out(full(input, dims=None, keepdim=False, nan_ties=True), out)
    d = wrap_dim(dim, input._data.ndim, op)
    if input._data.ndim:
        check_reducible(input, (d,), op)
    res = value_select(input, d, keepdim, lambda x, k: arg(x, dim=k, keepdim=True), result)
    return out_tuple(res, out)


def max(input, dim=None, keepdim=False, *, out=None):
    """The largest element; with ``dim``, ``(values, indices)`` over that dim.

    ``max(input, other)`` with a tensor ``other`` is :func:`maximum`. NaN propagates; with
    ``dim`` the index of the first maximum (or NaN) is returned, and the gradient goes to it.
    Without ``dim`` the gradient is split evenly between tied maxima.

    Example:
        >>> ember.max(ember.tensor([[1, 5], [7, 2]]), dim=1)
        max(values=tensor([5, 7]), indices=tensor([1, 0]))
    """
    if isinstance(dim, Tensor):
        return E.maximum(input, dim, out=out)
    return _extreme(input, dim, keepdim, out, "max")


def min(input, dim=None, keepdim=False, *, out=None):
    """The smallest element; with ``dim``, ``(values, indices)`` (see :func:`max`)."""
    if isinstance(dim, Tensor):
        return E.minimum(input, dim, out=out)
    return _extreme(input, dim, keepdim, out, "min")


def _arg_extreme(prim, op, input, dim, keepdim):
    _need_tensor(input, op)
    if input._data.dtype == np.bool_:
        raise RuntimeError(f"{op}(): does not support bool input")
    if dim is None:
        if input._data.size == 0:
            raise IndexError(f"{op}(): Expected reduction dim to be specified for "
                             f"input.numel() == 0.")
        return prim(input, dim=None, keepdim=keepdim)
    d = wrap_dim(dim, input._data.ndim, op)
    if input._data.ndim == 0:
        return prim(input, dim=None, keepdim=False)
    check_reducible(input, (d,), op)
    return prim(input, dim=d, keepdim=keepdim)


def argmax(input, dim=None, keepdim=False):
    """Index (int64) of the first maximum over ``dim``, or into the flattened input.

    Example:
        >>> ember.argmax(ember.tensor([[1, 5], [7, 2]]))
        tensor(2)
    """
    return _arg_extreme(_argmax, "argmax", input, dim, keepdim)


def argmin(input, dim=None, keepdim=False):
    """Index (int64) of the first minimum over ``dim`` (see :func:`argmax`)."""
    return _arg_extreme(_argmin, "argmin", input, dim, keepdim)


def aminmax(input, *, dim=None, keepdim=False, out=None):
    """``(min, max)`` over ``dim`` (all dims by default) as a named tuple."""
    _need_tensor(input, "aminmax")
    dims = reduce_dims(input, dim, "aminmax")
    empty = input._data.size == 0 if dims is None else builtins.any(
        input._data.shape[d] == 0 for d in dims)
    if empty:
        raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the "
                           "operation has no identity.")
    res = _AminmaxResult(_amin(input, dims=dims, keepdim=keepdim, nan_ties=False),
                         _amax(input, dims=dims, keepdim=keepdim, nan_ties=False))
    return out_tuple(res, out)


# -- logsumexp, norm -------------------------------------------------------------------------
def logsumexp(input, dim, keepdim=False, *, out=None):
    """``log(sum(exp(input)))`` over ``dim``, computed stably (shifted by the maximum).

    Integer inputs are computed in the default float dtype.

    Example:
        >>> ember.logsumexp(ember.tensor([0.0, 0.0]), 0)
        tensor(0.6931)
    """
    x = E._float_input(input, "logsumexp")
    dims = reduce_dims(x, dim, "logsumexp")
    shape = x._data.shape
    empty = x._data.size == 0 if dims is None else builtins.any(shape[d] == 0 for d in dims)
    if empty:
        shift = 0
    else:  # a constant shift: the result does not depend on it, so no gradient through it
        m = _amax(x.detach(), dims=dims, keepdim=True, nan_ties=False)
        shift = E.where(E.isinf(m), 0, m)
    s = _sum(E.exp(x - shift), dims=dims, keepdim=keepdim, np_dtype=None)
    if not isinstance(shift, int) and not keepdim:
        shift = reshape(shift, s._data.shape)
    with np.errstate(divide="ignore"):
        return E._out(E.log(s) + shift, out)


def _safe_root(s, p):
    """``s ** (1 / p)`` with gradient 0 (not inf or NaN) where ``s`` is 0, like PyTorch."""
    zero = s == 0
    root = E.where(zero, 1, s) ** (1.0 / p) if p != 2 else E.sqrt(E.where(zero, 1, s))
    return E.where(zero, 0, root)


def _vector_norm(x, p, dims, keepdim):
    if p == 2:
        sq = E.real(x * E.conj(x)) if x._data.dtype.kind == "c" else x * x
        return _safe_root(_sum(sq, dims=dims, keepdim=keepdim, np_dtype=None), 2)
    a = E.abs(x)
    if p == math.inf or p == -math.inf:
        if a._data.size == 0:
            raise RuntimeError("linalg.vector_norm cannot compute the inf norm on an empty "
                               "tensor because the operation does not have an identity")
        prim = _amax if p > 0 else _amin
        return prim(a, dims=dims, keepdim=keepdim, nan_ties=False)
    if p == 0:
        return E.cast(_sum(a != 0, dims=dims, keepdim=keepdim, np_dtype=None), a._data.dtype)
    if p == 1:
        return _sum(a, dims=dims, keepdim=keepdim, np_dtype=None)
    zero = a == 0
    powered = E.where(zero, 0, E.where(zero, 1, a) ** p)  # no inf * 0 at 0 for p < 1
    return _safe_root(_sum(powered, dims=dims, keepdim=keepdim, np_dtype=None), p)


def norm(input, p="fro", dim=None, keepdim=False, out=None, dtype=None):
    """Vector p-norm over ``dim`` (all dims by default): ``sum(|x|^p)^(1/p)``.

    ``p`` is a number, ``inf``/``-inf`` (max/min of ``|x|``), 0 (count of non-zeros) or
    ``"fro"`` (the 2-norm). ``"nuc"`` needs ``ember.linalg`` and is not supported here.
    The gradient is 0 where the norm is 0, like PyTorch's.

    Example:
        >>> ember.norm(ember.tensor([3.0, 4.0]))
        tensor(5.)
    """
    _need_tensor(input, "norm")
    if input._data.dtype.kind not in "fcV":
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as "
                           f"input. Got {_dtype.scalar_name(input.dtype)}")
    x = input.to(dtype) if dtype is not None else input
    if p is None or p == "fro":
        p = 2
    elif isinstance(p, str):
        raise RuntimeError(f"norm(): p={p!r} is not supported (expected a number, inf, -inf or "
                           f"'fro'; for 'nuc' use a matrix norm)")
    return E._out(_vector_norm(x, p, reduce_dims(x, dim, "norm"), keepdim), out)


# -- logical: all, any, count_nonzero -----------------------------------------------------------
_all = primitive("all", differentiable=False)(
    lambda xp, x, dims, keepdim: as_array(xp, xp.all(x, axis=dims, keepdims=keepdim)))
_any = primitive("any", differentiable=False)(
    lambda xp, x, dims, keepdim: as_array(xp, xp.any(x, axis=dims, keepdims=keepdim)))


def _logical(prim, op, input, dim, keepdim, out):
    _need_tensor(input, op)
    res = prim(input, dims=reduce_dims(input, dim, op), keepdim=keepdim)
    if input._data.dtype == np.uint8:  # PyTorch keeps uint8 for uint8 inputs
        res = E.cast(res, np.dtype(np.uint8))
    return E._out(res, out)


def all(input, dim=None, keepdim=False, *, out=None):
    """Whether every element over ``dim`` is non-zero (a bool tensor; uint8 for uint8)."""
    return _logical(_all, "all", input, dim, keepdim, out)


def any(input, dim=None, keepdim=False, *, out=None):
    """Whether some element over ``dim`` is non-zero (a bool tensor; uint8 for uint8)."""
    return _logical(_any, "any", input, dim, keepdim, out)


def count_nonzero(input, dim=None):
    """Number (int64) of non-zero elements over ``dim`` (an int or a tuple)."""
    _need_tensor(input, "count_nonzero")
    dims = reduce_dims(input, dim, "count_nonzero")
    return _sum(input != 0, dims=dims, keepdim=False, np_dtype=np.dtype(np.int64))


__all__ = ["sum", "mean", "nansum", "nanmean", "prod", "var", "std", "var_mean", "std_mean",
           "amax", "amin", "max", "min", "argmax", "argmin", "aminmax", "logsumexp", "norm",
           "all", "any", "count_nonzero", "return_types"]
