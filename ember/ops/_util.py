"""Helpers shared by the op families: operand promotion, dims, in-place commits."""

import numpy as np

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
        if not isinstance(a, Tensor) and _dtype.scalar_category(a) is None and a is not None:
            raise TypeError(f"{op}(): argument of type {type(a).__name__} is not a Tensor or a "
                            f"number")
    dt = result_type_of(*args)
    if to_float and dt.category < _dtype.FLOAT:
        dt = _dtype.get_default_dtype()
    npd = dt.np
    from ember.ops.elementwise import cast
    return tuple(cast(a, npd) if isinstance(a, Tensor) and a._data.dtype != npd else a
                 for a in args)


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
    src = _dtype.from_numpy_dtype(res._data.dtype)
    dst = _dtype.from_numpy_dtype(x._data.dtype)
    if not _dtype.can_cast(src, dst):
        raise RuntimeError(f"{op}: result type {src.name} can't be cast to the desired output "
                           f"type {dst.name}")
    if res._data.shape != x._data.shape:
        try:
            np.broadcast_shapes(res._data.shape, x._data.shape)
            ok = np.broadcast_shapes(res._data.shape, x._data.shape) == x._data.shape
        except ValueError:
            ok = False
        if not ok:
            raise RuntimeError(f"{op}: output with shape {list(x._data.shape)} doesn't match "
                               f"the broadcast shape {list(res._data.shape)}")
    if not x._data.flags.writeable:
        raise RuntimeError(f"{op}: the tensor's memory is read-only (it may be an expanded "
                           f"view); clone() it first")
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
