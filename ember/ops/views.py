"""View ops: results share memory with their input, exactly where PyTorch's do.

Each view remembers how it was made from its base (``_view_fn``: a chain of
``(primitive, params)``), so an in-place op on a view can rewrite the base's
graph node (:class:`CopySlices`) and gradients stay right.
"""

import numpy as np

from ember._tensor import Tensor, _wrap
from ember.autograd.graph import Node, edge_of
from ember.ops._registry import primitive
from ember.ops._util import wrap_dim


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
    shape = _infer_shape(_shape_args(shape), input._data.size, "view")
    if shape == input._data.shape:
        return _view(input, shape=shape)
    return _view(input, shape=shape)


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
    """Merge dims ``start_dim..end_dim`` into one."""
    nd = input._data.ndim
    if nd == 0:
        return reshape(input, (1,))
    s, e = wrap_dim(start_dim, nd, "flatten"), wrap_dim(end_dim, nd, "flatten")
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    shp = input._data.shape
    return reshape(input, shp[:s] + (-1 if input._data.size else int(np.prod(shp[s:e + 1])),)
                   + shp[e + 1:])


def unflatten(input, dim, sizes):
    """Split dim ``dim`` into ``sizes``."""
    shp = input._data.shape
    d = wrap_dim(dim, len(shp), "unflatten")
    return view(input, shp[:d] + tuple(sizes) + shp[d + 1:]) if input._data.flags.c_contiguous \
        else reshape(input, shp[:d] + tuple(sizes) + shp[d + 1:])


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


# -- getitem -------------------------------------------------------------------------------
def _norm_key_item(k, xp):
    if isinstance(k, Tensor):
        a = k._data
        if a.dtype.kind == "f" or a.dtype.kind == "c":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        return a.astype(np.int64, copy=False) if a.dtype.kind in "iu" and a.dtype != np.int64 \
            and a.dtype != np.uint8 else (a.astype(bool) if a.dtype == np.uint8 else a)
    if isinstance(k, (list, tuple)):
        a = np.asarray([i.item() if isinstance(i, Tensor) else i for i in k]) if any(
            isinstance(i, Tensor) for i in k) else np.asarray(k)
        if a.dtype.kind == "f":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        return xp.asarray(a)
    if isinstance(k, float):
        raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte "
                         "Variables are valid indices (got float)")
    if isinstance(k, np.ndarray):
        return xp.asarray(k)
    if isinstance(k, slice):
        for v in (k.start, k.stop, k.step):
            if isinstance(v, Tensor):
                return slice(*(int(i) if isinstance(i, Tensor) else i
                               for i in (k.start, k.stop, k.step)))
        if k.step is not None and k.step <= 0:
            raise ValueError("step must be greater than zero")
    return k


def normalize_key(key, xp):
    """A NumPy index for ``key`` and whether it is basic (a view) or advanced (a copy)."""
    if not isinstance(key, tuple):
        key = (key,)
    key = tuple(_norm_key_item(k, xp) for k in key)
    basic = all(k is None or k is Ellipsis or isinstance(k, (slice, int, np.integer))
                and not isinstance(k, bool) for k in key)
    return key, basic


def _check_bounds(x, key):
    shp = x.shape
    dim = 0
    n_spec = sum(1 for k in key if k is not None and k is not Ellipsis and not (
        hasattr(k, "dtype") and k.dtype == np.bool_))
    for k in key:
        if k is Ellipsis:
            dim += len(shp) - n_spec - sum(
                k2.ndim for k2 in key if hasattr(k2, "dtype") and k2.dtype == np.bool_)
            continue
        if k is None:
            continue
        if isinstance(k, (int, np.integer)) and not isinstance(k, bool):
            if dim >= len(shp):
                raise IndexError(f"too many indices for tensor of dimension {len(shp)}")
            if not -shp[dim] <= k < shp[dim]:
                raise IndexError(f"index {k} is out of bounds for dimension {dim} with size "
                                 f"{shp[dim]}")
        if hasattr(k, "dtype") and k.dtype == np.bool_:
            dim += k.ndim
        else:
            dim += 1
    if dim > len(shp):
        raise IndexError(f"too many indices for tensor of dimension {len(shp)}")


@primitive("getitem", save="none", view=True)
def _getitem_view(xp, x, key):
    return x[key]


@primitive("index", save="none")
def _getitem_copy(xp, x, key):
    try:
        return x[key]
    except IndexError as e:
        raise IndexError(f"index: {e}") from None


def _getitem_vjp(ctx, g):
    return (index_put_zeros(g, ctx._metas[0][0], ctx.params["key"]),)


_getitem_view.defvjp(_getitem_vjp)
_getitem_copy.defvjp(_getitem_vjp)


def getitem(input, key):
    """``input[key]``: basic indexing gives a view, advanced indexing a copy."""
    xp = input._device.xp
    key, basic = normalize_key(key, xp)
    _check_bounds(input._data, key)
    if basic:
        return _getitem_view(input, key=key)
    return _getitem_copy(input, key=key)


@primitive("index_put_zeros", save="none")
def _index_put_zeros(xp, g, shape, key, basic):
    z = xp.zeros(shape, dtype=g.dtype)
    if basic:
        z[key] = g
    elif xp is np:
        np.add.at(z, key, g)
    else:
        import cupyx
        cupyx.scatter_add(z, key, g)
    return z


@_index_put_zeros.defvjp
def _(ctx, g):
    return (g[ctx.params["key"]] if ctx.params["basic"] else
            _getitem_copy(g, key=ctx.params["key"]),)


def index_put_zeros(g, shape, key):
    """Zeros of ``shape`` with ``g`` added at ``key`` (repeated indices accumulate)."""
    _, basic = normalize_key(key, g._device.xp)
    return _index_put_zeros(g, shape=shape, key=key, basic=basic)


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
        gv = replay(self.view_fn, g)
        gb = None
        if self._next[0] is not None:
            gb = g.clone()
            replay(self.view_fn, gb).zero_()
        return gb, gv

    def name(self):
        return "CopySlices"
