"""Reductions: sum, mean, and friends with ``dim``/``keepdim``."""

import numpy as np

from ember import _dtype
from ember._tensor import Tensor
from ember.ops._registry import primitive
from ember.ops._util import dims_arg
from ember.ops.views import reshape, expand


def _keep_shape(shape, dims):
    """``shape`` with the reduced ``dims`` set to 1 (all dims when ``dims`` is None)."""
    if dims is None:
        return (1,) * len(shape)
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


def grad_to_input(g, in_shape, dims, keepdim):
    """Broadcast a reduction's gradient back over the reduced dims."""
    if not keepdim:
        g = reshape(g, _keep_shape(in_shape, dims))
    return expand(g, in_shape)


@primitive("sum", save="none")
def _sum(xp, x, dims, keepdim, np_dtype):
    return xp.sum(x, axis=dims, keepdims=keepdim, dtype=np_dtype)


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
