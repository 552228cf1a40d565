"""Joining and splitting: cat, stack, split, chunk, unbind."""

import numpy as np

from ember._tensor import Tensor
from ember.ops._registry import primitive
from ember.ops._util import wrap_dim, promote, result_type_of
from ember.ops.views import getitem, unsqueeze, _getitem_view


@primitive("cat", save="none")
def _cat(xp, *xs, dim):
    return xp.concatenate(xs, axis=dim)


@_cat.defvjp
def _(ctx, g):
    dim = ctx.params["dim"]
    out, start = [], 0
    for e, m in zip(ctx._next, ctx.params["sizes"]):
        idx = (slice(None),) * dim + (slice(start, start + m),)
        out.append(_getitem_view(g, key=idx) if e is not None else None)
        start += m
    return tuple(out)


def cat(tensors, dim=0, *, out=None):
    """Concatenate tensors along an existing dim."""
    tensors = [t for t in tensors]
    if not tensors:
        raise RuntimeError("cat(): expected a non-empty list of Tensors")
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"cat(): expected a sequence of Tensors, got {type(t).__name__}")
    # legacy: 1-d empty tensors are skipped
    nonempty = [t for t in tensors if not (t._data.ndim == 1 and t._data.shape[0] == 0)]
    if not nonempty:
        return tensors[0].clone()
    ref = nonempty[0]
    d = wrap_dim(dim, ref._data.ndim, "cat")
    for i, t in enumerate(nonempty):
        if t._data.ndim != ref._data.ndim:
            raise RuntimeError(f"Tensors must have same number of dimensions: got "
                               f"{ref._data.ndim} and {t._data.ndim}")
        for k in range(ref._data.ndim):
            if k != d and t._data.shape[k] != ref._data.shape[k]:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. "
                                   f"Expected size {ref._data.shape[k]} but got size "
                                   f"{t._data.shape[k]} for tensor number {i} in the list.")
    dt = result_type_of(*nonempty)
    ts = [t if t._data.dtype == dt.np else t.to(dt) for t in nonempty]
    return _cat(*ts, dim=d, sizes=tuple(t._data.shape[d] for t in ts))


concat = concatenate = cat


def stack(tensors, dim=0, *, out=None):
    """Join tensors of one shape along a new dim."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    shp = tensors[0]._data.shape
    for i, t in enumerate(tensors):
        if t._data.shape != shp:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(shp)} at entry 0 and {list(t._data.shape)} at entry {i}")
    d = wrap_dim(dim, len(shp) + 1, "stack")
    return cat([unsqueeze(t, d) for t in tensors], d)


def hstack(tensors):
    ts = [t if t.ndim else t.reshape(1) for t in tensors]
    return cat(ts, 0 if ts[0].ndim == 1 else 1)


def vstack(tensors):
    return cat([t.reshape(1, -1) if t.ndim < 2 else t for t in tensors], 0)


row_stack = vstack


def dstack(tensors):
    out = []
    for t in tensors:
        if t.ndim == 0:
            t = t.reshape(1, 1, 1)
        elif t.ndim == 1:
            t = t.reshape(1, -1, 1)
        elif t.ndim == 2:
            t = unsqueeze(t, -1)
        out.append(t)
    return cat(out, 2)


def column_stack(tensors):
    return cat([t.reshape(-1, 1) if t.ndim < 2 else t for t in tensors], 1)


def split(tensor, split_size_or_sections, dim=0):
    """Split into chunks of a size, or of the listed sizes (views)."""
    d = wrap_dim(dim, tensor._data.ndim, "split")
    n = tensor._data.shape[d]
    if isinstance(split_size_or_sections, int):
        s = split_size_or_sections
        if s <= 0 and n:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                               f"dimension size of {n}")
        sizes = [s] * (n // s) + ([n % s] if n % s else []) if s else [0]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} "
                               f"(input tensor's size at dimension {d}), but got split_sizes="
                               f"{sizes}")
    out, start = [], 0
    for s in sizes:
        out.append(narrow(tensor, d, start, s))
        start += s
    return tuple(out)


def split_with_sizes(tensor, split_sizes, dim=0):
    return split(tensor, list(split_sizes), dim)


def chunk(input, chunks, dim=0):
    """Split into ``chunks`` nearly equal pieces (views)."""
    if chunks <= 0:
        raise RuntimeError("chunk expects `chunks` to be greater than 0, got: " + str(chunks))
    d = wrap_dim(dim, input._data.ndim, "chunk")
    n = input._data.shape[d]
    size = -(-n // chunks) if n else 0
    return split(input, size, d) if size else tuple(input for _ in range(1))


def tensor_split(input, indices_or_sections, dim=0):
    d = wrap_dim(dim, input._data.ndim, "tensor_split")
    n = input._data.shape[d]
    if isinstance(indices_or_sections, int):
        k = indices_or_sections
        sizes = [n // k + 1] * (n % k) + [n // k] * (k - n % k)
    else:
        idx = [0] + [min(max(int(i), 0), n) for i in indices_or_sections] + [n]
        sizes = [max(b - a, 0) for a, b in zip(idx[:-1], idx[1:])]
    return split(input, sizes, d)


def unbind(input, dim=0):
    """All slices along ``dim`` (views)."""
    d = wrap_dim(dim, input._data.ndim, "unbind")
    return tuple(select(input, d, i) for i in range(input._data.shape[d]))


def narrow(input, dim, start, length):
    """Slice ``start:start+length`` along ``dim`` (a view)."""
    d = wrap_dim(dim, input._data.ndim, "narrow")
    n = input._data.shape[d]
    start = int(start)
    if start < 0:
        start += n
    if not 0 <= start <= n or length < 0 or start + length > n:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({n}).")
    return getitem(input, (slice(None),) * d + (slice(start, start + length),))


def select(input, dim, index):
    """The slice at ``index`` along ``dim`` (a view, one dim fewer)."""
    d = wrap_dim(dim, input._data.ndim, "select")
    n = input._data.shape[d]
    if not -n <= index < n:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{list(input._data.shape)} at dimension {d}")
    return getitem(input, (slice(None),) * d + (int(index),))
