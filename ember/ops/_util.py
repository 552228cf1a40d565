"""Helpers shared by the op families: operand promotion, dims, in-place commits."""

import numpy as np

from ember.backend import compat
from ember import _dtype
from ember._tensor import Tensor, _wrap, _wrap_dim
from ember.autograd.grad_mode import STATE


def is_tensor(x):
    return isinstance(x, Tensor)


def dtype_of(x):
    return _dtype.from_numpy_dtype(x._data.dtype)


def result_type_of(*args):
    """``torch.result_type`` over tensors and scalars."""
    dims = zeros = None
    scat = -1
    for a in args:
        if isinstance(a, Tensor):
            d = _dtype.from_numpy_dtype(a._data.dtype)
            if a._data.ndim:
                dims = d if dims is None else _dtype.promote_types(dims, d)
            else:
                zeros = d if zeros is None else _dtype.promote_types(zeros, d)
        elif a is not None:
            c = _dtype.scalar_category(a)
            if c is None:
                raise TypeError(f"result_type: expected a Tensor or a number, got "
                                f"{type(a).__name__}")
            scat = max(scat, c)
    return _dtype.result_dtype(dims, zeros, scat)


def promote(op, *args, to_float=False):
    """Cast tensor operands to their common dtype (scalars stay Python scalars).

    With ``to_float`` an integer or bool result becomes the default float dtype
    (for ops like ``div``, ``exp``, ``sqrt``).
    """
    t0 = args[0]
    if not to_float and len(args) == 2:  # hot path: two tensors of one dtype
        t1 = args[1]
        if type(t0) is Tensor and type(t1) is Tensor and t0._data.dtype is t1._data.dtype:
            return args
    for a in args:
        if not isinstance(a, Tensor) and _dtype.scalar_category(a) is None:
            raise TypeError(f"{op}(): argument of type {type(a).__name__} is not a Tensor or a "
                            f"number")
    dt = result_type_of(*args)
    if to_float and dt.category < _dtype.FLOAT:
        dt = _dtype.get_default_dtype()
    npd = dt.np
    from ember.ops.elementwise import cast
    return tuple((cast(a, npd) if a._data.dtype != npd else a) if isinstance(a, Tensor)
                 else fit_scalar(a, npd) for a in args)


def fit_scalar(v, npd):
    """A Python scalar as NumPy must see it for the result to have dtype ``npd``.

    NumPy treats Python scalars as "weak" (the array's dtype wins) except for ml_dtypes'
    bfloat16, and refuses ints out of an integer dtype's range, which PyTorch wraps around.
    NumPy scalars are not weak at all, so they become Python scalars first.
    """
    if isinstance(v, np.generic):
        v = v.item()
    kind = npd.kind
    if kind == "V" and v is not None:
        return npd.type(v)
    if kind in "iu" and type(v) is int:
        info = np.iinfo(npd)
        if not info.min <= v <= info.max:
            bits = 8 * npd.itemsize
            v &= (1 << bits) - 1
            if kind == "i" and v >= 1 << (bits - 1):
                v -= 1 << bits
    return v


def broadcast_mismatch(shapes):
    """PyTorch's description of why ``shapes`` don't broadcast, or None if they do.

    Example: ``shapes (2, 3) and (4,) cannot be broadcast: The size of tensor a (3) must
    match the size of tensor b (4) at non-singleton dimension 1``.
    """
    ndim = max(len(s) for s in shapes)
    for i, a in enumerate(shapes):
        for b in shapes[i + 1:]:
            for k in range(1, min(len(a), len(b)) + 1):
                if a[-k] != b[-k] and a[-k] != 1 and b[-k] != 1:
                    return (f"shapes {a} and {b} cannot be broadcast: The size of tensor a "
                            f"({a[-k]}) must match the size of tensor b ({b[-k]}) at "
                            f"non-singleton dimension {ndim - k}")
    return None


def wrap_dim(dim, ndim, op="dim"):

    return _wrap_dim(dim, ndim, op)


def dims_arg(dim, ndim, op):
    """Normalise a dim argument (None, int, or sequence) to a sorted tuple of dims or None."""
    if dim is None:
        return None
    if isinstance(dim, (list, tuple)):
        if len(dim) == 0:
            return None
        out = tuple(sorted(_wrap_dim(d, ndim, op) for d in dim))
        if len(set(out)) != len(out):
            raise RuntimeError(f"{op}: dim {list(dim)} appears multiple times in the list of dims")
        return out
    return (_wrap_dim(dim, ndim, op),)


def commit_inplace(x, compute, *args, op="inplace"):
    """Run ``compute(x, *args)`` out of place and write the result into ``x``'s memory.

    Records the graph like PyTorch: ``x`` becomes the op's output, and if ``x`` is a view
    whose base is in the graph, the base's node becomes a ``CopySlices`` node.
    """
    recording = STATE.enabled and (x._requires_grad or any(
        isinstance(a, Tensor) and a._requires_grad for a in args))
    if not recording:
        res = compute(x, *args)
        _write(x, res, op)
        x._bump()
        return x
    if x._node is None and x._requires_grad:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                           "operation.")
    if x._base is not None and x._base._node is None and x._base._requires_grad:
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an "
                           "in-place operation.")
    if x._base is not None and x._extra is not None:
        from ember.autograd.graph import refresh_view
        refresh_view(x)  # a view whose base changed in place since: its node made afresh
    old = _wrap(x._data.copy(), x._device)
    old._node, old._output_nr, old._requires_grad = x._node, x._output_nr, x._requires_grad
    res = compute(old, *args)
    _write(x, res, op)
    x._bump()
    if res._requires_grad:
        if res._data.dtype != x._data.dtype:
            from ember.ops.elementwise import cast
            res = cast(res, x._data.dtype)
        _rebind(x, res)
    return x


def _write(x, res, op):
    prefix = f"{op}: " if op else ""
    src = _dtype.from_numpy_dtype(res._data.dtype)
    dst = _dtype.from_numpy_dtype(x._data.dtype)
    if not _dtype.can_cast(src, dst):
        raise RuntimeError(f"{prefix}result type {_dtype.scalar_name(src)} can't be cast to the "
                           f"desired output type {_dtype.scalar_name(dst)}")
    if res._data.shape != x._data.shape and (
            broadcast_mismatch([res._data.shape, x._data.shape]) is not None
            or np.broadcast_shapes(res._data.shape, x._data.shape) != x._data.shape):
        raise RuntimeError(f"{prefix}output with shape {list(x._data.shape)} doesn't match "
                           f"the broadcast shape {list(res._data.shape)}")
    if not compat.writeable(x._data):
        if 0 in x._data.strides and x._data.size > 1:
            raise RuntimeError(f"{prefix}unsupported operation: more than one element of the "
                               f"written-to tensor refers to a single memory location. Please "
                               f"clone() the tensor before performing the operation.")
        raise RuntimeError(f"{prefix}the tensor's memory is read-only (e.g. from a read-only "
                           f"NumPy array); clone() it first")
    xp = x._device.xp
    xp.copyto(x._data, res._data, casting="unsafe")


def _rebind(x, res):
    """Make ``x`` the output of ``res``'s node; rebase ``x``'s base if ``x`` is a view."""
    x._node, x._output_nr, x._requires_grad = res._node, res._output_nr, True
    base = x._base
    if base is not None and x._view_fn:
        from ember.autograd.graph import edge_of
        from ember.ops.views import CopySlices
        node = CopySlices(edge_of(base), base, x._view_fn, res)
        base._node, base._output_nr, base._requires_grad = node, 0, True
        if x._extra is None:
            x._extra = {}
        x._extra["view_ver"] = x._vc[0]  # x's node is current; sibling views are now stale


def to_float_dtype(x):
    """The dtype ``x`` computes in for float-only ops (ints and bool -> default float)."""
    kind = x._data.dtype.kind
    if kind in "biu":
        return _dtype.get_default_dtype().np
    return x._data.dtype


def scalar_to_tensor(v, like):
    """A 0-d tensor holding scalar ``v`` on ``like``'s device."""
    if isinstance(v, Tensor):
        return v
    dt = _dtype.default_for_category(_dtype.scalar_category(v))
    return _wrap(like._device.xp.asarray(v, dtype=dt.np), like._device)


def replace_values(x, vals):
    """``vals`` broadcast to ``x``'s shape, recorded as a function of ``x`` with zero
    gradient when ``x`` is in a graph (what fill_/copy_/sampling do to ``x``).

    ``where`` rather than ``vals + 0 * x``: ``0 * x`` is NaN where ``x`` holds inf or NaN
    (e.g. fresh ``empty`` memory).
    """
    from ember.ops.views import expand
    if not x._requires_grad:
        return expand(vals, x._data.shape) if vals._data.shape != x._data.shape else vals
    from ember.ops.elementwise import _where
    never = _wrap(x._device.xp.zeros(x._data.shape, dtype=bool), x._device)
    return _where(never, x, vals)
