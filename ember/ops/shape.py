"""Shape ops that copy: joining and splitting (cat, stack, split, ...), flips and rolls,
repeats, triangles and diagonals, broadcasting and grids."""

import warnings

import numpy as np

from ember._tensor import Tensor, Size, _wrap
from ember.ops import views as V
from ember.ops._registry import primitive
from ember.ops._util import wrap_dim, result_type_of
from ember.ops.methods import clone
from ember.ops.views import getitem, unsqueeze, _getitem_view, expand, reshape, transpose

__all__ = ["cat", "concat", "concatenate", "stack", "hstack", "vstack", "row_stack", "dstack",
           "column_stack", "split", "split_with_sizes", "chunk", "tensor_split", "unbind",
           "narrow", "select", "flip", "fliplr", "flipud", "roll", "rot90", "tile",
           "repeat_interleave", "tril", "triu", "tril_indices", "triu_indices", "diag",
           "diag_embed", "diagflat", "trace", "broadcast_shapes", "broadcast_tensors",
           "meshgrid"]


@primitive("cat", save="none")
def _cat(xp, *xs, dim, sizes):
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
    empty = tuple(0 if k == d else n for k, n in enumerate(ref._data.shape))
    # skipped empty 1-d tensors join as size-0 slices, so they still get a (zero) gradient
    ts = [reshape(t, empty) if t._data.ndim == 1 and t._data.shape[0] == 0 else t
          for t in tensors]
    ts = [t if t._data.dtype == dt.np else t.to(dt) for t in ts]
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


# -- flips and rolls ---------------------------------------------------------------------------
def _dim_list(dims, nd, op):
    ds = [dims] if isinstance(dims, int) else list(dims)
    out = tuple(wrap_dim(d, nd, op) for d in ds)
    if len(set(out)) != len(out):
        dup = next(d for d in out if out.count(d) > 1)
        raise RuntimeError(f"{op}: dim {dup} appears multiple times in the list of dims")
    return out


@primitive("flip", save="none")
def _flip(xp, x, dims):
    return xp.flip(x, dims).copy() if dims else x.copy()


_flip.defvjp(lambda ctx, g: (_flip(g, dims=ctx.params["dims"]),))


def flip(input, *dims):
    """A copy of ``input`` with the order of elements reversed along ``dims``.

    Example:
        >>> import ember
        >>> ember.tensor([[1, 2], [3, 4]]).flip(0)
        tensor([[3, 4],
                [1, 2]])
    """
    nd = input._data.ndim
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = dims[0]
    dims = _dim_list(dims, nd, "flip")
    return _flip(input, dims=dims if nd else ())


def fliplr(input):
    """Flip the columns (dim 1) of a tensor of at least 2 dims."""
    if input._data.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return flip(input, (1,))


def flipud(input):
    """Flip the rows (dim 0) of a tensor of at least 1 dim."""
    if input._data.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return flip(input, (0,))


@primitive("roll", save="none")
def _roll(xp, x, shifts, dims):
    return xp.roll(x, shifts, axis=dims)


@_roll.defvjp
def _(ctx, g):
    s, dims = ctx.params["shifts"], ctx.params["dims"]
    return (_roll(g, shifts=-s if dims is None else tuple(-i for i in s), dims=dims),)


def roll(input, shifts, dims=None):
    """Shift elements along ``dims`` cyclically (the flattened tensor when ``dims`` is None).

    Example:
        >>> import ember
        >>> ember.tensor([1, 2, 3, 4]).roll(1)
        tensor([4, 1, 2, 3])
    """
    shifts = (shifts,) if isinstance(shifts, int) else tuple(int(s) for s in shifts)
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"roll: shifts and dimensions must align. shifts: {len(shifts)}, "
                               f"dims: 0")
        return _roll(input, shifts=shifts[0], dims=None)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"roll: shifts and dimensions must align. shifts: {len(shifts)}, "
                           f"dims: {len(dims)}")
    nd = input._data.ndim
    dims = tuple(wrap_dim(d, nd, "roll") for d in dims)
    if not nd:
        return _roll(input, shifts=0, dims=None)
    return _roll(input, shifts=shifts, dims=dims)


def rot90(input, k=1, dims=(0, 1)):
    """Rotate by 90 degrees ``k`` times in the plane of ``dims`` (from the first dim towards
    the second).

    Example:
        >>> import ember
        >>> ember.tensor([[1, 2], [3, 4]]).rot90()
        tensor([[2, 4],
                [1, 3]])
    """
    dims = list(dims)
    nd = input._data.ndim
    if len(dims) != 2:
        raise RuntimeError(f"rot90: expected total rotation dims == 2, but got dims = "
                           f"{len(dims)}")
    if nd < 2:
        raise RuntimeError(f"rot90: expected total dims >= 2, but got total dims = {nd}")
    d0, d1 = wrap_dim(dims[0], nd, "rot90"), wrap_dim(dims[1], nd, "rot90")
    if d0 == d1:
        raise RuntimeError(f"rot90: expected rotation dims to be different, but got dim0 = {d0} "
                           f"and dim1 = {d1}")
    k %= 4
    if k == 1:
        return transpose(flip(input, (d1,)), d0, d1)
    if k == 2:
        return flip(input, (d0, d1))
    if k == 3:
        return transpose(flip(input, (d0,)), d0, d1)
    return clone(input)


# -- repeats -----------------------------------------------------------------------------------
def repeat(input, *sizes):
    """``Tensor.repeat``: tile the whole tensor ``sizes[i]`` times along dim ``i`` (a copy;
    extra leading sizes add dims).

    Example:
        >>> import ember
        >>> ember.tensor([1, 2]).repeat(2, 2)
        tensor([[1, 2, 1, 2],
                [1, 2, 1, 2]])
    """
    sizes = _sizes(sizes)
    shp = input._data.shape
    if len(sizes) < len(shp):
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number "
                           "of dimensions of tensor")
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"Trying to create tensor with negative dimension: {list(sizes)}")
    shp = (1,) * (len(sizes) - len(shp)) + shp
    # (1, s0, 1, s1, ...) expanded to (r0, s0, r1, s1, ...), then each pair merged
    pairs = tuple(v for s in shp for v in (1, s))
    big = tuple(v for r, s in zip(sizes, shp) for v in (r, s))
    out = reshape(expand(reshape(input, pairs), big), tuple(r * s for r, s in zip(sizes, shp)))
    return out if out._base is None else clone(out)


def _sizes(sizes):
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = sizes[0]
    return tuple(int(s) for s in sizes)


def tile(input, dims):
    """Repeat ``input`` along each dim (``dims`` shorter than ``input.ndim`` is padded with
    leading 1s)."""
    dims = _sizes((dims,))
    nd = input._data.ndim
    return repeat(input, (1,) * (nd - len(dims)) + dims)


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Repeat each element (or each slice along ``dim``) ``repeats`` times, in place in the
    order; ``repeats`` is a number or one count per element. With ``input`` alone, it is the
    counts and the result repeats ``arange(len(input))``.

    Example:
        >>> import ember
        >>> ember.tensor([1, 2]).repeat_interleave(ember.tensor([1, 3]))
        tensor([1, 2, 2, 2])
    """
    xp = input._device.xp
    if repeats is None:  # the counts alone
        if input._data.ndim != 1:
            raise RuntimeError(f"repeat_interleave only accept 1D vector as repeat, got "
                               f"{input._data.ndim}D")
        counts = _repeat_counts(xp, input, None, "repeat_interleave")
        return _wrap(_repeat_index(xp, counts), input._device)
    if dim is None:
        input, d = reshape(input, (-1,)), 0
    else:
        d = wrap_dim(dim, input._data.ndim, "repeat_interleave")
    n = input._data.shape[d] if input._data.ndim else 1
    idx = _repeat_index(xp, _repeat_counts(xp, repeats, n, "repeat_interleave"))
    if output_size is not None and idx.shape[0] != output_size:
        raise RuntimeError(f"repeat_interleave: allocated size {output_size} does not match "
                           f"the required size {idx.shape[0]}")
    from ember.ops.index import index_select
    return index_select(input, d, _wrap(idx, input._device))


def _repeat_index(xp, counts):
    """``[0] * counts[0] + [1] * counts[1] + ...`` as an int64 array."""
    ends = xp.cumsum(counts)
    total = int(ends[-1]) if ends.size else 0
    return xp.searchsorted(ends, xp.arange(total), side="right").astype(np.int64)


def _repeat_counts(xp, repeats, n, op):
    """Per-element repeat counts as an int array of length ``n`` (any length if None)."""
    if isinstance(repeats, Tensor):
        r = repeats._data.reshape(-1) if repeats._data.ndim == 0 else repeats._data
        if r.dtype.kind not in "iu":
            raise RuntimeError(f"{op}: repeats has to be Long or Int tensor, got "
                               f"{repeats.dtype.name}")
        if r.ndim > 1:
            raise RuntimeError(f"{op}: repeats must be 0-dim or 1-dim tensor")
        if n is not None and r.shape[0] == 1:
            r = r.repeat(n)
    else:
        r = xp.full(n, int(repeats), dtype=np.int64)
    if n is not None and r.shape[0] != n:
        raise RuntimeError(f"{op}: repeats must have the same size as input along dim, but got "
                           f"repeats.size(0) = {r.shape[0]} and input.size(0) = {n}")
    if r.size and int(r.min()) < 0:
        raise RuntimeError(f"{op}: repeats can not be negative")
    return r


# -- triangles and diagonals ---------------------------------------------------------------------
@primitive("tril", save="none")
def _tril(xp, x, diagonal):
    return xp.tril(x, diagonal)


_tril.defvjp(lambda ctx, g: (_tril(g, **ctx.params),))


@primitive("triu", save="none")
def _triu(xp, x, diagonal):
    return xp.triu(x, diagonal)


_triu.defvjp(lambda ctx, g: (_triu(g, **ctx.params),))


def _need_matrix(x, op):
    if x._data.ndim < 2:
        raise RuntimeError(f"{op}: input tensor must have at least 2 dimensions")


def tril(input, diagonal=0, *, out=None):
    """The lower triangle of the matrices in the last two dims (entries on and below
    ``diagonal``); the rest zeroed.

    Example:
        >>> import ember
        >>> ember.ones(2, 2).tril()
        tensor([[1., 0.],
                [1., 1.]])
    """
    _need_matrix(input, "tril")
    return _tril(input, diagonal=int(diagonal))


def triu(input, diagonal=0, *, out=None):
    """The upper triangle of the matrices in the last two dims (entries on and above
    ``diagonal``); the rest zeroed."""
    _need_matrix(input, "triu")
    return _triu(input, diagonal=int(diagonal))


def _tri_indices(fn, row, col, offset, dtype, device):
    from ember.ops.creation import tensor
    r, c = fn(row, offset, col)
    return tensor(np.stack([r, c]), dtype=dtype or "int64", device=device)


def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """The ``(2, N)`` row and column indices of the lower triangle of a ``row x col`` matrix.

    Example:
        >>> import ember
        >>> ember.tril_indices(2, 2)
        tensor([[0, 1, 1],
                [0, 0, 1]])
    """
    return _tri_indices(np.tril_indices, row, col, offset, dtype, device)


def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """The ``(2, N)`` row and column indices of the upper triangle of a ``row x col`` matrix."""
    return _tri_indices(np.triu_indices, row, col, offset, dtype, device)


def diag(input, diagonal=0, *, out=None):
    """A 1-d input: the square matrix with it on diagonal ``diagonal``; a 2-d input: a copy
    of that diagonal.

    Example:
        >>> import ember
        >>> ember.diag(ember.tensor([1, 2]))
        tensor([[1, 0],
                [0, 2]])
    """
    nd = input._data.ndim
    if nd == 1:
        return diag_embed(input, diagonal)
    if nd == 2:
        return clone(V.diagonal(input, diagonal))
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {nd}D")


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """Matrices (in dims ``dim1, dim2`` of the result) whose ``offset`` diagonal holds the
    last dim of ``input``; zero elsewhere."""
    if input._data.ndim < 1:
        raise RuntimeError("diag_embed: expected a tensor of at least 1 dimension")
    nd = input._data.ndim + 1
    d1, d2 = wrap_dim(dim1, nd, "diag_embed"), wrap_dim(dim2, nd, "diag_embed")
    if d1 == d2:
        raise RuntimeError(f"diag_embed: diagonal dimensions cannot be identical {dim1}, {dim2}")
    n = input._data.shape[-1] + abs(int(offset))
    shape = list(input._data.shape[:-1])
    for d in sorted((d1, d2)):
        shape.insert(d, n)
    xp = input._device.xp
    z = _wrap(xp.zeros(shape, dtype=input._data.dtype), input._device)
    return V.diagonal_scatter(z, input, offset, d1, d2)


def diagflat(input, offset=0):
    """The square matrix with the flattened ``input`` on diagonal ``offset``."""
    return diag_embed(reshape(input, (-1,)), offset)


def trace(input):
    """The sum of the main diagonal of a matrix (ints sum to int64)."""
    if input._data.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim "
                           f"{input._data.ndim}")
    from ember.ops.reduce import sum as _sum
    return _sum(V.diagonal(input))


# -- broadcasting and grids ----------------------------------------------------------------------
def broadcast_shapes(*shapes):
    """The shape that tensors of ``shapes`` broadcast to, without making tensors.

    Example:
        >>> import ember
        >>> ember.broadcast_shapes((2, 1), (3,))
        ember.Size([2, 3])
    """
    out = []
    for i, s in enumerate(shapes):
        s = (s,) if isinstance(s, int) else tuple(int(n) for n in s)
        if any(n < 0 for n in s):
            raise RuntimeError(f"Trying to create tensor with negative dimension: {list(s)}")
        out = [1] * (len(s) - len(out)) + out
        for k in range(1, len(s) + 1):
            n, m = s[-k], out[-k]
            if m == 1:
                out[-k] = n
            elif n != 1 and n != m:
                raise RuntimeError(f"Attempting to broadcast a dimension of length {n} at {-k}! "
                                   f"Mismatching argument at index {i} had {s}; but expected "
                                   f"shape should be broadcastable to {out}")
    return Size(out)


def broadcast_tensors(*tensors):
    """The tensors expanded to their common broadcast shape (views)."""
    shape = broadcast_shapes(*(t._data.shape for t in tensors))
    return tuple(expand(t, shape) for t in tensors)


def meshgrid(*tensors, indexing=None):
    """Coordinate grids from 1-d tensors (expanded views): with ``indexing="ij"`` output ``i``
    varies along dim ``i``; ``"xy"`` swaps the first two dims (Cartesian).

    Example:
        >>> import ember
        >>> x, y = ember.meshgrid(ember.tensor([1, 2]), ember.tensor([3, 4, 5]), indexing="ij")
        >>> x.shape
        ember.Size([2, 3])
    """
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the "
                      "indexing argument.", UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but "
                           f"received: {indexing}")
    for t in tensors:
        if t._data.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but "
                               f"got a tensor of shape {list(t._data.shape)}")
        if t._data.dtype != tensors[0]._data.dtype:
            raise RuntimeError("torch.meshgrid: Expected all tensors in the tensor list to have "
                               "the same dtype.")
    ts = list(tensors)
    swap = indexing == "xy" and len(ts) > 1
    if swap:  # Cartesian indexing is matrix indexing of (y, x, ...) with outputs swapped back
        ts[0], ts[1] = ts[1], ts[0]
    n = len(ts)
    shape = tuple(t._data.size for t in ts)
    outs = [expand(reshape(t, (1,) * i + (-1,) + (1,) * (n - i - 1)), shape)
            for i, t in enumerate(ts)]
    if swap:
        outs[0], outs[1] = outs[1], outs[0]
    return tuple(outs)
