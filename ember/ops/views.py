"""View ops: results share memory with their input, exactly where PyTorch's do.

Each view remembers how it was made from its base (``_view_fn``: a chain of
``(primitive, params)``), so an in-place op on a view can rewrite the base's
graph node (:class:`CopySlices`) and gradients stay right.
"""

import warnings

import numpy as np

from ember.backend import compat
from ember._tensor import Tensor, _wrap
from ember.autograd.graph import Node, edge_of
from ember.ops._registry import primitive
from ember.ops._util import wrap_dim

__all__ = ["view", "view_as", "reshape", "reshape_as", "flatten", "unflatten", "ravel", "permute",
           "transpose", "swapaxes", "swapdims", "t", "movedim", "moveaxis", "expand", "expand_as",
           "broadcast_to", "squeeze", "unsqueeze", "diagonal", "diagonal_scatter", "as_strided",
           "atleast_1d", "atleast_2d", "atleast_3d"]


# -- reshape ---------------------------------------------------------------------------------
def _infer_shape(shape, numel, op):
    shape = list(shape)
    neg = [i for i, s in enumerate(shape) if s == -1]
    if len(neg) > 1:
        raise RuntimeError(f"{op}: only one dimension can be inferred")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise RuntimeError(f"{op}: invalid shape dimension {s}")
            known *= s
    if neg:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape[neg[0]] = numel // known
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return tuple(shape)


def _view_reshape(x, shape):
    """Reshape without copying, or None if the strides don't allow it."""
    try:
        v = x.view()
        v.shape = shape
        return v
    except AttributeError:
        return None


@primitive("view", save="none", view=True)
def _view(xp, x, shape):
    v = _view_reshape(x, shape)
    if v is None:
        raise RuntimeError("view size is not compatible with input tensor's size and stride (at "
                           "least one dimension spans across two contiguous subspaces). Use "
                           ".reshape(...) instead.")
    return v


@_view.defvjp
def _(ctx, g):
    return (reshape(g, ctx._metas[0][0]),)


@primitive("reshape_copy", save="none")
def _reshape_copy(xp, x, shape):
    return xp.reshape(x, shape).copy()


_reshape_copy.defvjp(lambda ctx, g: (reshape(g, ctx._metas[0][0]),))


def _shape_args(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


def view(input, *shape):
    """Same data with a new shape (no copy; errors if the strides don't allow it)."""
    if len(shape) == 1 and not isinstance(shape[0], (tuple, list, int)):
        from ember.ops.elementwise import cast
        from ember import _dtype
        return cast(input, _dtype.to_dtype(shape[0]).np)  # view(dtype)
    return _view(input, shape=_infer_shape(_shape_args(shape), input._data.size, "view"))


def reshape(input, *shape):
    """Same data with a new shape: a view when possible, else a copy."""
    shape = _infer_shape(_shape_args(shape), input._data.size, "reshape")
    if _view_reshape(input._data, shape) is not None:
        return _view(input, shape=shape)
    return _reshape_copy(input, shape=shape)


def view_as(input, other):
    return view(input, other._data.shape)


def reshape_as(input, other):
    return reshape(input, other._data.shape)


def flatten(input, start_dim=0, end_dim=-1):
    """Merge dims ``start_dim..end_dim`` into one (a view when the strides allow)."""
    nd = input._data.ndim
    s, e = wrap_dim(start_dim, nd, "flatten"), wrap_dim(end_dim, nd, "flatten")
    if nd == 0:
        return reshape(input, (1,))
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return input
    shp = input._data.shape
    return reshape(input, shp[:s] + (int(np.prod(shp[s:e + 1])),) + shp[e + 1:])


def unflatten(input, dim, sizes):
    """Split dim ``dim`` into ``sizes`` (one of them may be -1; a view when possible)."""
    shp = input._data.shape
    d = wrap_dim(dim, len(shp), "unflatten")
    sizes = tuple(int(s) for s in sizes)
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    known = int(np.prod([s for s in sizes if s != -1]))
    if (known != shp[d]) if -1 not in sizes else (known == 0 or shp[d] % known):
        raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the "
                           f"size of dim {dim} ({shp[d]}) in the input tensor")
    return reshape(input, shp[:d] + sizes + shp[d + 1:])


def ravel(input):
    return reshape(input, (-1,))


# -- permute / transpose -----------------------------------------------------------------------
@primitive("permute", save="none", view=True)
def _permute(xp, x, dims):
    return xp.transpose(x, dims)


@_permute.defvjp
def _(ctx, g):
    return (_permute(g, dims=tuple(np.argsort(ctx.params["dims"]).tolist())),)


def permute(input, *dims):
    """Reorder dims (a view)."""
    dims = _shape_args(dims)
    nd = input._data.ndim
    if len(dims) != nd:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does "
                           f"not match the length of the desired ordering of dimensions i.e. "
                           f"input.dim() = {nd} is not equal to len(dims) = {len(dims)}")
    dims = tuple(wrap_dim(d, nd, "permute") for d in dims)
    if len(set(dims)) != nd:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return _permute(input, dims=dims)


def transpose(input, dim0, dim1):
    """Swap two dims (a view)."""
    nd = input._data.ndim
    if nd == 0:
        return _permute(input, dims=())
    d0, d1 = wrap_dim(dim0, nd, "transpose"), wrap_dim(dim1, nd, "transpose")
    dims = list(range(nd))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return _permute(input, dims=tuple(dims))


swapaxes = swapdims = transpose


def t(input):
    """Transpose a tensor of at most 2 dims."""
    if input._data.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                           f"{input._data.ndim}D")
    return transpose(input, 0, 1) if input._data.ndim == 2 else _permute(
        input, dims=tuple(range(input._data.ndim)))


def movedim(input, source, destination):
    nd = input._data.ndim
    src = [wrap_dim(s, nd) for s in ([source] if isinstance(source, int) else source)]
    dst = [wrap_dim(s, nd) for s in ([destination] if isinstance(destination, int) else
                                     destination)]
    order = [d for d in range(nd) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return _permute(input, dims=tuple(order))


moveaxis = movedim


# -- expand / squeeze ------------------------------------------------------------------------
@primitive("expand", save="none", view=True)
def _expand(xp, x, shape):
    if xp is np and x.flags.c_contiguous:  # 5x faster than np.broadcast_to for small arrays
        lead = len(shape) - x.ndim
        strides = [0] * lead + [0 if n == 1 and s != 1 else st for n, s, st in
                                zip(x.shape, shape[lead:], x.strides)]
        out = np.ndarray(shape, x.dtype, x, 0, strides)
        out.flags.writeable = False
        return out
    return xp.broadcast_to(x, shape)


_expand.defvjp(lambda ctx, g: (g,))  # the engine sums back to the input's shape


def expand(input, *sizes):
    """Broadcast to a larger shape without copying (``-1`` keeps a dim)."""
    sizes = _shape_args(sizes)
    shp = input._data.shape
    if len(sizes) < len(shp):
        raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be greater "
                           f"or equal to the number of dimensions in the tensor ({len(shp)})")
    lead = len(sizes) - len(shp)
    out = []
    for i, s in enumerate(sizes):
        if s == -1:
            if i < lead:
                raise RuntimeError("expand: -1 is not allowed in a leading, non-existing "
                                   "dimension")
            s = shp[i - lead]
        elif i >= lead and shp[i - lead] != 1 and shp[i - lead] != s:
            raise RuntimeError(f"The expanded size of the tensor ({s}) must match the existing "
                               f"size ({shp[i - lead]}) at non-singleton dimension {i}.  Target "
                               f"sizes: {list(sizes)}.  Tensor sizes: {list(shp)}")
        out.append(s)
    out = tuple(out)
    if out == shp:
        return _view(input, shape=shp)
    return _expand(input, shape=out)


def expand_as(input, other):
    return expand(input, other._data.shape)


def broadcast_to(input, shape):
    return expand(input, tuple(shape))


def squeeze(input, dim=None):
    """Remove size-1 dims (all, or those in ``dim``)."""
    shp = input._data.shape
    if dim is None:
        new = tuple(s for s in shp if s != 1)
    else:
        dims = [dim] if isinstance(dim, int) else list(dim)
        dims = {wrap_dim(d, len(shp), "squeeze") for d in dims}
        new = tuple(s for i, s in enumerate(shp) if not (i in dims and s == 1))
    return _view(input, shape=new)


def unsqueeze(input, dim):
    """Insert a size-1 dim at ``dim``."""
    shp = input._data.shape
    d = wrap_dim(dim, len(shp) + 1, "unsqueeze")
    return _view(input, shape=shp[:d] + (1,) + shp[d:])


# -- strided views: diagonal, unfold, as_strided ---------------------------------------------
def _strided(xp, x, shape, strides):
    """A view of ``x``'s memory with ``shape`` and byte ``strides`` (writeable where ``x`` is;
    NumPy's own ``diagonal`` is read-only, PyTorch's is not)."""
    if xp is np:
        return np.lib.stride_tricks.as_strided(x, shape, strides, writeable=x.flags.writeable)
    return xp.lib.stride_tricks.as_strided(x, shape, strides)


def _zeros(shape, like):
    return _wrap(like._device.xp.zeros(shape, dtype=like._data.dtype), like._device)


def _diag_dims(ndim, offset, dim1, dim2, op):
    d1, d2 = wrap_dim(dim1, ndim, op), wrap_dim(dim2, ndim, op)
    if d1 == d2:
        raise RuntimeError(f"{op}: diagonal dimensions cannot be identical {dim1}, {dim2}")
    return int(offset), d1, d2


@primitive("diagonal", save="none", view=True)
def _diagonal(xp, x, offset, dim1, dim2):
    s1, s2 = (0, offset) if offset >= 0 else (-offset, 0)
    n = max(0, min(x.shape[dim1] - s1, x.shape[dim2] - s2))
    key = [slice(None)] * x.ndim
    key[dim1], key[dim2] = slice(s1, s1 + n), slice(s2, s2 + n)
    y = x[tuple(key)]
    keep = [d for d in range(x.ndim) if d not in (dim1, dim2)]
    shape = tuple(y.shape[d] for d in keep) + (n,)
    strides = tuple(y.strides[d] for d in keep) + (y.strides[dim1] + y.strides[dim2],)
    return _strided(xp, y, shape, strides)


@_diagonal.defvjp
def _(ctx, g):
    return (_diagonal_scatter(_zeros(ctx._metas[0][0], g), g, **ctx.params),)


@primitive("diagonal_scatter", save="none")
def _diagonal_scatter(xp, x, src, offset, dim1, dim2):
    out = x.copy()
    _diagonal.forward(xp, out, offset, dim1, dim2)[...] = src
    return out


@_diagonal_scatter.defvjp
def _(ctx, g):
    gx = gs = None
    if ctx._next[0] is not None:
        gx = _diagonal_scatter(g, 0, **ctx.params)  # the diagonal zeroed
    if ctx._next[1] is not None:
        gs = _diagonal(g, **ctx.params)
    return gx, gs


def diagonal(input, offset=0, dim1=0, dim2=1):
    """The diagonal of the matrices in dims ``dim1, dim2`` (a view), as the last dim.

    Example:
        >>> import ember
        >>> ember.arange(9).reshape(3, 3).diagonal(1)
        tensor([1, 5])
    """
    offset, d1, d2 = _diag_dims(input._data.ndim, offset, dim1, dim2, "diagonal")
    return _diagonal(input, offset=offset, dim1=d1, dim2=d2)


def diagonal_scatter(input, src, offset=0, dim1=0, dim2=1):
    """A copy of ``input`` with ``src`` written into its diagonal (see :func:`diagonal`)."""
    offset, d1, d2 = _diag_dims(input._data.ndim, offset, dim1, dim2, "diagonal_scatter")
    want = _diagonal(input.detach(), offset=offset, dim1=d1, dim2=d2)._data.shape
    if src._data.shape != want:
        raise RuntimeError(f"diagonal_scatter: expected src to have a size equal to the slice "
                           f"of self. src size = {list(src._data.shape)}, slice size = "
                           f"{list(want)}")
    if src._data.dtype != input._data.dtype:
        from ember.ops.elementwise import cast
        src = cast(src, input._data.dtype)
    return _diagonal_scatter(input, src, offset=offset, dim1=d1, dim2=d2)


@primitive("unfold", save="none", view=True)
def _unfold(xp, x, dim, size, step):
    if x.ndim == 0:
        return _strided(xp, x, (size,), (x.itemsize,))
    n = (x.shape[dim] - size) // step + 1
    st = x.strides
    return _strided(xp, x, x.shape[:dim] + (n,) + x.shape[dim + 1:] + (size,),
                    st[:dim] + (st[dim] * step,) + st[dim + 1:] + (st[dim],))


@_unfold.defvjp
def _(ctx, g):
    return (_unfold_backward(g, shape=ctx._metas[0][0], **ctx.params),)


@primitive("unfold_backward", save="none")
def _unfold_backward(xp, g, shape, dim, size, step):
    if not shape:
        return g.sum().reshape(())
    z = xp.zeros(shape, dtype=g.dtype)
    n = g.shape[dim]
    for k in range(size):  # window position k of every window, all at once
        z[(slice(None),) * dim + (slice(k, k + step * (n - 1) + 1, step),)] += g[..., k]
    return z


@_unfold_backward.defvjp
def _(ctx, g):
    p = ctx.params
    return (_unfold(g, dim=p["dim"], size=p["size"], step=p["step"]),)


def unfold(input, dimension, size, step):
    """All windows of ``size`` along ``dimension``, ``step`` apart, as a new last dim (a view).

    Example:
        >>> import ember
        >>> ember.arange(5).unfold(0, 2, 2)
        tensor([[0, 1],
                [2, 3]])
    """
    nd = input._data.ndim
    d = wrap_dim(dimension, nd, "unfold")
    n = input._data.shape[d] if nd else 1
    if size > n:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {n} but size is {size}")
    if size < 0:
        raise RuntimeError(f"size is {size} but must be >= 0")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    return _unfold(input, dim=d, size=int(size), step=int(step))


def _storage(xp, x):
    """A 1-d view of all the memory ``x`` lives in, from its first byte."""
    owner = x
    while True:
        b = owner.base
        if isinstance(b, type(x)):
            owner = b
        elif isinstance(getattr(b, "base", None), type(x)):  # NumPy's as_strided wrapper
            owner = b.base
        else:
            break
    return _strided(xp, owner, (owner.nbytes // x.itemsize,), (x.itemsize,))


def _offset_of(xp, x):
    """``x``'s storage offset in elements (its first element's place in its storage)."""
    if xp is np:
        start = _storage(xp, x).__array_interface__["data"][0]
        return (x.__array_interface__["data"][0] - start) // x.itemsize
    return (x.data.ptr - _storage(xp, x).data.ptr) // x.itemsize


@primitive("as_strided", save="none", view=True)
def _as_strided(xp, x, size, stride, storage_offset, src):
    flat = _storage(xp, x)
    it = x.itemsize
    return _strided(xp, flat[storage_offset:], size, tuple(s * it for s in stride))


@_as_strided.defvjp
def _(ctx, g):
    # scatter-add the gradient into a storage-shaped buffer, then read it where the input
    # sits; input elements sharing memory (an expanded input) split their gradient
    p = ctx.params
    xp = g._device.xp
    out_pos = _positions(xp, p["size"], p["stride"], p["storage_offset"])
    in_pos = _positions(xp, *p["src"])
    n = max(int(p.max()) if p.size else 0 for p in (out_pos, in_pos)) + 1
    buf = index_put_zeros(g, (n,), (out_pos,))
    gx = _getitem_copy(buf, key=(in_pos,))
    counts = xp.bincount(in_pos.reshape(-1), minlength=n)[in_pos]
    if not counts.size or int(counts.max()) == 1:
        return gx
    return gx / _wrap(counts.astype(g._data.dtype), g._device)


def _positions(xp, shape, strides, offset):
    """Storage position of every element of a strided layout, as an int array of ``shape``."""
    pos = xp.full(tuple(shape), offset, dtype=np.int64)
    for d, (n, s) in enumerate(zip(shape, strides)):
        pos += (xp.arange(n, dtype=np.int64) * s).reshape((n,) + (1,) * (len(shape) - d - 1))
    return pos


def as_strided(input, size, stride, storage_offset=None):
    """A view of ``input``'s storage with the given sizes, strides and offset (in elements).

    Example:
        >>> import ember
        >>> ember.arange(6).as_strided((2, 2), (1, 2))
        tensor([[0, 2],
                [1, 3]])
    """
    x = input._data
    xp = input._device.xp
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size) != len(stride):
        raise RuntimeError(f"mismatch in length of strides and shape: {len(size)} sizes and "
                           f"{len(stride)} strides")
    if any(s < 0 for s in stride):
        raise RuntimeError(f"as_strided: Negative strides are not supported at the moment, got "
                           f"strides: {list(stride)}")
    offset = _offset_of(xp, x) if storage_offset is None else int(storage_offset)
    need = 0 if 0 in size else offset + 1 + sum((n - 1) * s for n, s in zip(size, stride))
    have = _storage(xp, x).shape[0]
    if need > have:
        raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage "
                           f"offset {offset}, and itemsize {x.itemsize} requiring a storage "
                           f"size of {need * x.itemsize} are out of bounds for storage of size "
                           f"{have * x.itemsize}")
    src = (x.shape, tuple(s // x.itemsize for s in x.strides), _offset_of(xp, x))
    return _as_strided(input, size=size, stride=stride, storage_offset=offset, src=src)


# -- small views: atleast_nd, T, mT -------------------------------------------------------------
def _atleast(tensors, fn):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return tuple(fn(t) for t in tensors[0])
    if len(tensors) == 1:
        return fn(tensors[0])
    return tuple(fn(t) for t in tensors)


def _at1(t):
    return t if t._data.ndim >= 1 else reshape(t, (1,))


def _at2(t):
    nd = t._data.ndim
    return t if nd >= 2 else reshape(t, (1, -1) if nd else (1, 1))


def _at3(t):
    shp = t._data.shape
    if len(shp) >= 3:
        return t
    return reshape(t, ((1, 1, 1), (1, shp[0], 1) if shp else (), shp + (1,))[len(shp)])


def atleast_1d(*tensors):
    """Tensors with at least one dim (0-d ones become shape ``(1,)``)."""
    return _atleast(tensors, _at1)


def atleast_2d(*tensors):
    """Tensors with at least two dims (``(n,)`` becomes ``(1, n)``)."""
    return _atleast(tensors, _at2)


def atleast_3d(*tensors):
    """Tensors with at least three dims (``(n,)`` -> ``(1, n, 1)``, ``(m, n)`` -> ``(m, n, 1)``)."""
    return _atleast(tensors, _at3)


def tensor_T(self):
    """``Tensor.T``: the dims reversed (a view)."""
    nd = self._data.ndim
    if nd != 2:
        warnings.warn("The use of `x.T` on tensors of dimension other than 2 to reverse their "
                      "shape is deprecated and it will throw an error in a future release. "
                      "Consider `x.mT` to transpose batches of matrices or `x.permute(*torch."
                      "arange(x.ndim - 1, -1, -1))` to reverse the dimensions of a tensor.",
                      UserWarning, stacklevel=2)
    return _permute(self, dims=tuple(range(nd))[::-1])


def tensor_mT(self):
    """``Tensor.mT``: the last two dims swapped (a view)."""
    if self._data.ndim < 2:
        raise RuntimeError(f"tensor.mT is only supported on matrices or batches of matrices. Got "
                           f"{self._data.ndim}-D tensor.")
    return transpose(self, -2, -1)


# -- getitem -------------------------------------------------------------------------------
_BAD_INDEX = ("only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables "
              "are valid indices (got {})")
_ZERO_DIM = ("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
             "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number")


def _array_index(a):
    """An index array under PyTorch's rules: bool masks, byte masks, 0-d ints act as ints."""
    kind = a.dtype.kind
    if kind == "b":
        return a
    if a.dtype == np.uint8:
        return a.astype(bool)
    if kind in "iu":
        return int(a) if a.ndim == 0 else a
    raise IndexError("tensors used as indices must be long, int, byte or bool tensors")


def _list_index(seq, xp):
    a = np.asarray([int(i) if isinstance(i, Tensor) else i for i in seq])
    if a.size == 0:
        a = a.astype(np.int64)
    if a.dtype.kind not in "biu":
        raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    return _array_index(xp.asarray(a))


def _slice_index(k):
    vals = [int(v) if isinstance(v, Tensor) else v for v in (k.start, k.stop, k.step)]
    if vals[2] is not None and vals[2] <= 0:
        raise ValueError("step must be greater than zero")
    return slice(*vals)


def _norm_key_item(k, xp):
    """One item of an index, as NumPy understands it."""
    if isinstance(k, Tensor):
        return _array_index(k._data)
    if isinstance(k, (bool, np.bool_)):
        return xp.asarray(bool(k))  # like None, plus a mask of length 1 or 0
    if k is None or k is Ellipsis or isinstance(k, (int, np.integer)):
        return k
    if isinstance(k, slice):
        return _slice_index(k)
    if isinstance(k, (list, tuple)):
        return _list_index(k, xp)
    if isinstance(k, np.ndarray) or hasattr(k, "__cuda_array_interface__"):
        return _array_index(xp.asarray(k))
    if isinstance(k, str):
        raise TypeError(f"a string ({k!r}) is not a valid index; " + _BAD_INDEX.format("str"))
    raise IndexError(_BAD_INDEX.format(type(k).__name__))


def _seq_is_tuple(seq):
    """PyTorch's legacy rule: a short list holding sequences, tensors, slices or None is a
    tuple of indices (``x[[[0, 1], [1, 2]]]`` is ``x[[0, 1], [1, 2]]``)."""
    return len(seq) < 32 and any(
        isinstance(i, (Tensor, list, tuple, slice, np.ndarray)) or i is None or i is Ellipsis
        for i in seq)


def _is_basic(key):
    return all(k is None or k is Ellipsis or type(k) is slice or isinstance(k, (int, np.integer))
               for k in key)


def normalize_key(key, xp):
    """A NumPy index for ``key`` and whether it is basic (a view) or advanced (a copy)."""
    if isinstance(key, list) and _seq_is_tuple(key):
        key = tuple(key)
    if not isinstance(key, tuple):
        key = (key,)
    key = tuple(_norm_key_item(k, xp) for k in key)
    return key, _is_basic(key)


def split_key(key):
    """PyTorch's two steps for an advanced key holding ints: ``(basic_key, advanced_key)``.

    PyTorch applies ints, slices and None first (a view), then the tensor indices; NumPy
    counts an int as one more advanced index, which moves the indexed dims when the int sits
    between arrays. Returns None when NumPy's one step already agrees (no ints).
    """
    if not any(isinstance(k, (int, np.integer)) for k in key):
        return None
    basic, adv = [], []
    for k in key:
        if isinstance(k, (int, np.integer)):
            basic.append(k)
        elif k is None or k is Ellipsis or type(k) is slice:
            basic.append(k)
            adv.append(Ellipsis if k is Ellipsis else slice(None))
        else:
            basic.extend([slice(None)] * (k.ndim if k.dtype == np.bool_ else 1))
            adv.append(k)
    return tuple(basic), tuple(adv)


def expand_ellipsis(key, ndim):
    """``key`` with its Ellipsis spelled out as full slices. NumPy counts an Ellipsis that
    stands for no dims as breaking the run of adjacent array indices; PyTorch does not."""
    if not any(k is Ellipsis for k in key):
        return key
    i = next(i for i, k in enumerate(key) if k is Ellipsis)
    fill = ndim - sum(_consumed(k) for k in key)
    return key[:i] + (slice(None),) * fill + key[i + 1:]


def _consumed(k):
    """How many dims of the indexed tensor one key item uses up."""
    if k is None or k is Ellipsis:
        return 0
    if hasattr(k, "dtype") and k.dtype == np.bool_:
        return k.ndim
    return 1


def _check_bounds(x, key):
    """PyTorch's IndexErrors for ``x[key]`` (``key`` normalized), before anything runs."""
    shp = x.shape
    used = sum(_consumed(k) for k in key)
    if used > len(shp):
        raise IndexError(_ZERO_DIM if not shp else
                         f"too many indices for tensor of dimension {len(shp)}")
    dim = 0
    for k in key:
        if k is Ellipsis:
            dim += len(shp) - used
            continue
        if isinstance(k, (int, np.integer)):
            _check_index_range(k, k, dim, shp[dim])
        elif hasattr(k, "dtype") and k.dtype == np.bool_:
            _check_mask(k, dim, shp)
        elif hasattr(k, "dtype") and k.size:
            _check_index_range(int(k.min()), int(k.max()), dim, shp[dim])
        dim += _consumed(k)


def _check_index_range(lo, hi, dim, n):
    if hi >= n or lo < -n:
        raise IndexError(f"index {hi if hi >= n else lo} is out of bounds for dimension {dim} "
                         f"with size {n}")


def _check_mask(mask, dim, shp):
    for j, s in enumerate(mask.shape):
        if s != shp[dim + j]:
            raise IndexError(f"The shape of the mask {list(mask.shape)} at index {j} does not "
                             f"match the shape of the indexed tensor {list(shp)} at index "
                             f"{dim + j}")


@primitive("getitem", save="none", view=True)
def _getitem_view(xp, x, key):
    # a trailing Ellipsis makes NumPy return a 0-d view instead of a scalar copy
    return x[key if any(k is Ellipsis for k in key) else key + (Ellipsis,)]


@primitive("index", save="none")
def _getitem_copy(xp, x, key):
    try:
        out = x[key]
    except IndexError as e:
        raise IndexError(f"index: {e}") from None
    return out if isinstance(out, xp.ndarray) else xp.asarray(out)  # a NumPy scalar


def _getitem_vjp(ctx, g):
    return (index_put_zeros(g, ctx._metas[0][0], ctx.params["key"]),)


_getitem_view.defvjp(_getitem_vjp)
_getitem_copy.defvjp(_getitem_vjp)


def _plain_key(shape, key):
    """``key`` as a tuple when it holds only in-range ints and plain slices (the common case,
    which needs no further checks), else None."""
    if type(key) is not tuple:
        key = (key,)
    if len(key) > len(shape):
        return None
    for k, n in zip(key, shape):
        if type(k) is int:
            if not -n <= k < n:
                return None
        elif type(k) is not slice or not (k.step is None or type(k.step) is int and k.step > 0) \
                or not (k.start is None or type(k.start) is int) \
                or not (k.stop is None or type(k.stop) is int):
            return None
    return key


def getitem(input, key):
    """``input[key]``: basic indexing gives a view, advanced indexing a copy."""
    plain = _plain_key(input._data.shape, key)
    if plain is not None:
        return _getitem_view(input, key=plain)
    key, basic = normalize_key(key, input._device.xp)
    _check_bounds(input._data, key)
    if basic:
        return _getitem_view(input, key=key)
    key = expand_ellipsis(key, input._data.ndim)
    split = split_key(key)
    if split is not None:
        input, key = _getitem_view(input, key=split[0]), split[1]
    return _getitem_copy(input, key=key)


@primitive("index_put_zeros", save="none")
def _index_put_zeros(xp, g, shape, key, basic):
    z = xp.zeros(shape, dtype=g.dtype)
    if basic:
        z[key] = g
    else:
        compat.scatter_add(xp, z, key, g)
    return z


@_index_put_zeros.defvjp
def _(ctx, g):
    key = ctx.params["key"]
    return (_getitem_view(g, key=key) if ctx.params["basic"] else _getitem_copy(g, key=key),)


def index_put_zeros(g, shape, key):
    """Zeros of ``shape`` with ``g`` added at ``key`` (repeated indices accumulate)."""
    return _index_put_zeros(g, shape=shape, key=key, basic=_is_basic(key))


# -- in-place through views --------------------------------------------------------------------
def replay(view_fn, t):
    """Apply a view chain ``[(prim, params), ...]`` to ``t``."""
    for prim, params in view_fn:
        t = prim(t, **params)
    return t


class CopySlices(Node):
    """Node of a base tensor after an in-place op on one of its views.

    The base's gradient outside the view goes to the base's previous node; inside the
    view it goes to the in-place op's result.
    """

    __slots__ = ("view_fn",)

    def __init__(self, base_edge, base, view_fn, res):
        res_meta = (res._data.shape, res._data.dtype)
        base_meta = (base._data.shape, base._data.dtype) if base_edge is not None else None
        self._init((base_edge, edge_of(res)), (base_meta, res_meta))
        self.view_fn = view_fn

    def apply(self, grads):
        g = grads[0]
        if g._data.base is not None or not g._data.flags.c_contiguous:
            from ember.ops.methods import clone
            g = clone(g)  # the view chain replays on a dense buffer of the base's layout
        gv = replay(self.view_fn, g)
        gb = None
        if self._next[0] is not None:
            gb = g.clone()
            replay(self.view_fn, gb).zero_()
        return gb, gv

    def name(self):
        return "CopySlices"
