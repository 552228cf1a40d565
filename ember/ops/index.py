"""Indexing ops: gather/scatter, ``index_*``, ``masked_*``, take/put, nonzero, bucketing.

Writing at indices funnels into one primitive, ``index_put`` (``out = x.copy(); out[key] = v``,
or ``+=`` with ``accumulate``), whose gradient is a read at the same key; reading at indices
is ``getitem``'s ``index`` primitive (ember/ops/views.py), whose gradient is a write. The
along-a-dim family (``gather``, ``scatter*``) has its own primitives, each the other's
gradient. In-place variants write straight into memory when nothing is recorded, and go
through ``commit_inplace`` (graph rebinding, ``CopySlices`` for views) when something is.
"""

import numpy as np

from ember.backend import compat
from ember import _dtype
from ember._tensor import Tensor, _wrap
from ember.autograd.grad_mode import STATE
from ember.ops._registry import primitive
from ember.ops._util import commit_inplace, wrap_dim
from ember.ops.elementwise import cast, where
from ember.ops.methods import clone
from ember.ops.views import (_getitem_copy, _getitem_view, _check_bounds, _is_basic,
                             expand, expand_ellipsis, getitem, normalize_key, reshape,
                             split_key)

__all__ = ["gather", "scatter", "scatter_add", "scatter_reduce", "index_select", "index_add",
           "index_copy", "index_fill", "index_put", "index_put_", "masked_fill",
           "masked_select", "masked_scatter", "take", "take_along_dim", "put", "nonzero",
           "argwhere", "searchsorted", "bucketize", "bincount", "histc"]

# PyTorch's scalar-type names, which its error messages use
_TYPE_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
               "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
               "bool": "Bool", "complex64": "ComplexFloat", "complex128": "ComplexDouble"}


def _type_name(t):
    name = _dtype.from_numpy_dtype(t._data.dtype).name
    return _TYPE_NAMES.get(name, name)


def _need_tensor(x, op, arg):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument '{arg}' must be Tensor, not {type(x).__name__}")


def _int_index(index, op, arg="index"):
    _need_tensor(index, op, arg)
    if index._data.dtype.kind not in "iu":
        raise RuntimeError(f"{op}(): Expected dtype int32/int64 for {arg}, but got "
                           f"{_type_name(index)}")
    return index._data


def _same_dtype(x, src, op, what="src"):
    if src._data.dtype != x._data.dtype:
        raise RuntimeError(f"{op}(): Expected self.dtype to be equal to {what}.dtype, but got "
                           f"{_type_name(x)} and {_type_name(src)}")


def _zeros(shape, like):
    return _wrap(like._device.xp.zeros(shape, dtype=like._data.dtype), like._device)


def _const(arr, like):
    """A constant tensor (no gradient) on ``like``'s device, in ``like``'s dtype."""
    return _wrap(arr.astype(like._data.dtype), like._device)


# -- writing at a key: index_put ------------------------------------------------------------
@primitive("index_put", save="none")
def _index_put(xp, x, v, key, accumulate):
    out = x.copy()
    if accumulate:
        compat.scatter_add(xp, out, key, v)
    else:
        out[key] = v
    return out


@_index_put.defvjp
def _(ctx, g):
    key, acc = ctx.params["key"], ctx.params["accumulate"]
    gx = gv = None
    if ctx._next[0] is not None:
        gx = g if acc else _index_put(g, 0, key=key, accumulate=False)
    if ctx._next[1] is not None:
        gv = _getitem_view(g, key=key) if _is_basic(key) else _getitem_copy(g, key=key)
    return gx, gv


def _recording(x, v):
    return STATE.enabled and (x._requires_grad or isinstance(v, Tensor) and v._requires_grad)


def _put_inplace(x, key, v, accumulate, op):
    """``x[key] = v`` (or ``+=``) in place: straight into memory unless autograd records."""
    if _recording(x, v):
        return commit_inplace(x, lambda t, val: _index_put(t, val, key=key,
                                                           accumulate=accumulate), v, op=op)
    if not compat.writeable(x._data):
        raise RuntimeError(f"{op}: the tensor's memory is read-only (it may be an expanded "
                           f"view); clone() it first")
    val = v._data if isinstance(v, Tensor) else v
    if accumulate:
        compat.scatter_add(x._device.xp, x._data, key, val)
    else:
        x._data[key] = val
    x._bump()
    return x


def _indexed_shape(x, key):
    """The shape of ``x[key]`` without copying ``x``'s data."""
    if x._device.xp is np:  # index a one-byte stand-in of x's shape (all strides 0)
        shape = x._data.shape
        return np.ndarray(shape, np.int8, b"\0", 0, (0,) * len(shape))[key].shape
    return x._data[key].shape


def _fit_value(x, key, v, op):
    """``v`` checked against ``x[key]``: same dtype, broadcastable, extra leading 1s dropped."""
    if v._data.dtype != x._data.dtype:
        mask_only = len(key) == 1 and getattr(key[0], "dtype", None) == np.bool_
        if not (v._data.ndim == 0 and mask_only):
            raise RuntimeError(f"Index put requires the source and destination dtypes match, "
                               f"got {_type_name(x)} for the destination and {_type_name(v)} "
                               f"for the source.")
        v = cast(v, x._data.dtype)
    if v._data.ndim == 0:  # a scalar broadcasts to any result
        return v
    want = _indexed_shape(x, key)
    shp = v._data.shape
    while len(shp) > len(want) and shp[0] == 1:
        shp = shp[1:]
    try:
        ok = np.broadcast_shapes(shp, want) == tuple(want)
    except ValueError:
        ok = False
    if not ok:
        raise RuntimeError(f"shape mismatch: value tensor of shape {list(v._data.shape)} cannot "
                           f"be broadcast to indexing result of shape {list(want)}")
    return v if shp == v._data.shape else reshape(v, shp)


def _put_key(x, indices, op):
    """The NumPy key of ``indices``: a tuple of index tensors, or a key that ``normalize_key``
    already produced and checked (from ``x[key] = v``; it holds arrays, never tensors)."""
    if not isinstance(indices, (tuple, list)):
        raise TypeError(f"{op}(): argument 'indices' must be tuple of Tensors, not "
                        f"{type(indices).__name__}")
    if indices and not any(isinstance(k, Tensor) for k in indices):
        return tuple(indices)
    for i, k in enumerate(indices):
        if not isinstance(k, Tensor):
            raise TypeError(f"{op}(): expected Tensor as element {i} in argument 'indices', but "
                            f"got {type(k).__name__}")
    key, _ = normalize_key(tuple(indices), x._device.xp)
    _check_bounds(x._data, key)
    return key


def index_put(input, indices, values, accumulate=False):
    """A copy of ``input`` with ``values`` written at ``indices`` (added with ``accumulate``).

    Example:
        >>> import ember
        >>> ember.zeros(3).index_put((ember.tensor([0, 0]),), ember.tensor(1.), accumulate=True)
        tensor([2., 0., 0.])
    """
    _need_tensor(values, "index_put", "values")
    key = expand_ellipsis(_put_key(input, indices, "index_put"), input._data.ndim)
    split = split_key(key)
    if split is not None:  # PyTorch's placement: ints first (a view), then the tensors
        return _index_put_split(input, split, values, accumulate)
    v = _fit_value(input, key, values, "index_put")
    return _index_put(input, v, key=key, accumulate=bool(accumulate))


def _index_put_split(input, split, values, accumulate):
    out = clone(input)
    index_put_(_getitem_view(out, key=split[0]), split[1], values, accumulate)
    return out


def index_put_(input, indices, values, accumulate=False):
    """In-place :func:`index_put`; ``x[key] = v`` with an advanced key lands here."""
    _need_tensor(values, "index_put_", "values")
    key = expand_ellipsis(_put_key(input, indices, "index_put_"), input._data.ndim)
    split = split_key(key)
    if split is not None:
        index_put_(_getitem_view(input, key=split[0]), split[1], values, accumulate)
        return input
    v = _fit_value(input, key, values, "index_put_")
    return _put_inplace(input, key, v, bool(accumulate), "index_put_")


# -- along a dim: gather, scatter, scatter_add, scatter_reduce ---------------------------------
def _axis_key(xp, index, dim):
    """The key that reads/writes ``x[i, j, index[i, j, k], ...]`` for every element of index:
    ``index`` along ``dim``, ``arange`` along the other dims."""
    key = []
    for d, n in enumerate(index.shape):
        if d == dim:
            key.append(index)
        else:
            shape = [1] * index.ndim
            shape[d] = n
            key.append(xp.arange(n).reshape(shape))
    return tuple(key)


@primitive("gather", save=(1,))
def _gather(xp, x, index, dim):
    return x[_axis_key(xp, index, dim)]


@_gather.defvjp
def _(ctx, g):
    z = _zeros(ctx._metas[0][0], g)
    return _scatter_add(z, ctx.inputs[1], g, dim=ctx.params["dim"]), None


@primitive("scatter", save=(1,))
def _scatter(xp, x, index, src, dim):
    out = x.copy()
    out[_axis_key(xp, index, dim)] = src
    return out


@_scatter.defvjp
def _(ctx, g):
    index, d = ctx.inputs[1], ctx.params["dim"]
    gx = _scatter(g, index, 0, dim=d) if ctx._next[0] is not None else None
    gs = _gather(g, index, dim=d) if ctx._next[2] is not None else None
    return gx, None, gs


@primitive("scatter_add", save=(1,))
def _scatter_add(xp, x, index, src, dim):
    out = x.copy()
    compat.scatter_add(xp, out, _axis_key(xp, index, dim), src)
    return out


@_scatter_add.defvjp
def _(ctx, g):
    gs = _gather(g, ctx.inputs[1], dim=ctx.params["dim"]) if ctx._next[2] is not None else None
    return g, None, gs


def _check_along(op, x, dim, index, src=None):
    """PyTorch's checks for gather/scatter: dims, sizes and index range. Returns the dim."""
    idx = _int_index(index, op)
    nd = max(x._data.ndim, 1)
    d = wrap_dim(dim, nd, op)
    xs = x._data.shape or (1,)
    ishp = idx.shape or (1,)
    if idx.ndim and len(ishp) != nd:
        raise RuntimeError(f"{op}(): Index tensor must have the same number of dimensions as "
                           f"input tensor")
    if src is not None and idx.ndim and max(src._data.ndim, 1) != len(ishp):
        raise RuntimeError(f"{op}(): Index tensor must have the same number of dimensions as "
                           f"src tensor")
    sshp = (src._data.shape or (1,)) if src is not None else None
    for k, n in enumerate(ishp if idx.ndim else ()):
        if (k != d and n > xs[k]) or (sshp is not None and n > sshp[k]):
            extra = f" and to be no larger size than src {list(sshp)}" if sshp else ""
            raise RuntimeError(f"{op}(): Expected index {list(idx.shape)} to be no larger than "
                               f"self {list(x._data.shape)} apart from dimension {d}{extra}")
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        if lo < 0 or hi >= xs[d]:
            raise RuntimeError(f"{op}(): index {lo if lo < 0 else hi} is out of bounds for "
                               f"dimension {d} with size {xs[d]}")
    return d


def _lift(t):
    """This family treats a 0-d tensor as a 1-element 1-d one."""
    return reshape(t, (1,)) if isinstance(t, Tensor) and t._data.ndim == 0 else t


def _shaped(t, shape):
    return t if t._data.shape == shape else reshape(t, shape)


def _src_like(src, index):
    """``src`` (lifted) cut to ``index``'s shape (a view; the gradient pads back with zeros)."""
    src = _lift(src)
    ishp = index._data.shape
    if src._data.shape == ishp:
        return src
    return getitem(src, tuple(slice(0, n) for n in ishp))


def gather(input, dim, index, *, sparse_grad=False, out=None):
    """Values along ``dim`` at ``index``: ``out[i][j] = input[index[i][j]][j]`` for ``dim=0``.

    Example:
        >>> import ember
        >>> ember.tensor([[1, 2], [3, 4]]).gather(1, ember.tensor([[0, 0], [1, 0]]))
        tensor([[1, 1],
                [4, 3]])
    """
    _need_tensor(input, "gather", "input")
    d = _check_along("gather", input, dim, index)
    return _shaped(_gather(_lift(input), _lift(index), dim=d), index._data.shape)


def scatter(input, dim, index, src=None, *, value=None, reduce=None, out=None):
    """A copy of ``input`` with ``src`` (a tensor, or a number ``value``) written along ``dim``
    at ``index``: ``out[index[i][j]][j] = src[i][j]`` for ``dim=0``.

    ``reduce="add"`` or ``"multiply"`` combines instead of overwriting (prefer
    :func:`scatter_reduce`).
    """
    _need_tensor(input, "scatter", "input")
    src = value if src is None else src
    if src is None:
        raise TypeError("scatter() missing required argument 'src' or 'value'")
    t = src if isinstance(src, Tensor) else None
    d = _check_along("scatter", input, dim, index, t)
    if reduce is not None:
        mode = {"add": "sum", "multiply": "prod"}.get(reduce)
        if mode is None:
            raise RuntimeError(f"reduce argument must be either add or multiply, got {reduce}")
        if t is None:
            xp = input._device.xp
            t = _wrap(xp.full(index._data.shape, src, dtype=input._data.dtype), input._device)
        return scatter_reduce(input, d, index, t, mode)
    x, idx = _lift(input), _lift(index)
    if t is None:
        return _shaped(_scatter(x, idx, src, dim=d), input._data.shape)
    _same_dtype(input, t, "scatter")
    return _shaped(_scatter(x, idx, _src_like(t, idx), dim=d), input._data.shape)


def scatter_add(input, dim, index, src):
    """A copy of ``input`` with ``src`` added along ``dim`` at ``index`` (repeats accumulate).

    Example:
        >>> import ember
        >>> ember.zeros(3).scatter_add(0, ember.tensor([0, 0, 2]), ember.ones(3))
        tensor([2., 0., 1.])
    """
    _need_tensor(input, "scatter_add", "input")
    _need_tensor(src, "scatter_add", "src")
    d = _check_along("scatter_add", input, dim, index, src)
    _same_dtype(input, src, "scatter_add")
    idx = _lift(index)
    return _shaped(_scatter_add(_lift(input), idx, _src_like(src, idx), dim=d),
                   input._data.shape)


# scatter_reduce: one primitive for every reduction; the gradient rule below handles each
_UFUNCS = {"sum": "add", "mean": "add", "prod": "multiply", "amax": "maximum", "amin": "minimum"}


def _identity(reduce, dt):
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    if dt.kind == "b":
        return reduce == "amin"
    if dt.kind in "iu":
        info = np.iinfo(dt)
        return info.min if reduce == "amax" else info.max
    return -np.inf if reduce == "amax" else np.inf


def _hits(xp, shape, key, include_self):
    """How many values each output position reduces (self counted when included)."""
    cnt = xp.full(shape, int(include_self), dtype=np.int64)
    compat.scatter_add(xp, cnt, key, 1)
    return cnt


@primitive("scatter_reduce", save_output=True)
def _scatter_reduce(xp, x, index, src, dim, reduce, include_self):
    key = _axis_key(xp, index, dim)
    out = x.copy()
    if not include_self:
        out[key] = _identity(reduce, x.dtype)
    compat.scatter(xp, _UFUNCS[reduce], out, key, src)
    if reduce == "mean":
        cnt = xp.maximum(_hits(xp, x.shape, key, include_self), 1)
        out = xp.floor_divide(out, cnt) if out.dtype.kind in "biu" else \
            (out / cnt).astype(out.dtype)
    return out


@_scatter_reduce.defvjp
def _(ctx, g):
    x, index, src = ctx.inputs
    p = ctx.params
    xp = g._device.xp
    key = _axis_key(xp, index._data, p["dim"])
    rule = {"sum": _sum_grads, "mean": _mean_grads, "prod": _prod_grads,
            "amax": _extreme_grads, "amin": _extreme_grads}[p["reduce"]]
    gx, gs = rule(ctx, g, x, index, src, key)
    if not p["include_self"]:  # positions reached by src no longer depend on self
        hit = xp.zeros(x._data.shape, dtype=bool)
        hit[key] = True
        gx = where(_wrap(hit, g._device), 0, gx)
    return (gx if ctx._next[0] is not None else None, None,
            gs if ctx._next[2] is not None else None)


def _sum_grads(ctx, g, x, index, src, key):
    return g, _gather(g, index, dim=ctx.params["dim"])


def _mean_grads(ctx, g, x, index, src, key):
    xp = g._device.xp
    cnt = xp.maximum(_hits(xp, x._data.shape, key, ctx.params["include_self"]), 1)
    gm = g / _const(cnt, g)
    return gm, _gather(gm, index, dim=ctx.params["dim"])


def _extreme_grads(ctx, g, x, index, src, key):
    # the gradient is shared evenly among the values equal to the result (ties)
    xp = g._device.xp
    out = ctx.out._data
    if ctx.params["include_self"]:
        x_hit = x._data == out
    else:
        x_hit = xp.ones(out.shape, dtype=bool)
        x_hit[key] = False
    s_hit = src._data == out[key]
    cnt = x_hit.astype(np.int64)
    compat.scatter_add(xp, cnt, key, s_hit.astype(np.int64))
    gm = g / _const(xp.maximum(cnt, 1), g)
    return gm * _const(x_hit, g), _gather(gm, index, dim=ctx.params["dim"]) * _const(s_hit, g)


def _prod_grads(ctx, g, x, index, src, key):
    # d out / d v is the product of the other values at v's position: the nonzero ones (their
    # product over v, smooth) times the exact zeros, a product written to first order (by
    # zero count: 1 + their sum, their sum, ...) so that this rule's own gradient is exact.
    xp = g._device.xp
    p = ctx.params
    dim = p["dim"]
    x_zero = x._data == 0 if p["include_self"] else xp.zeros(x._data.shape, dtype=bool)
    s_zero = src._data == 0
    n_zero = x_zero.astype(np.int64)
    compat.scatter_add(xp, n_zero, key, s_zero.astype(np.int64))
    xz, sz = _wrap(x_zero, g._device), _wrap(s_zero, g._device)
    nz_prod = _scatter_reduce(where(xz, 1, x), index, where(sz, 1, src), **p)
    z_sum = _scatter_add(where(xz, x, 0), index, where(sz, src, 0), dim=dim)

    def others(v, zero, nz_at, n_at, z_at):
        nonzero_part = where(zero, nz_at, nz_at / where(zero, 1, v))
        zero_part = where(zero, _const(n_at == 1, g) + _const(n_at == 2, g) * (z_at - v),
                          _const(n_at == 0, g) + _const(n_at == 1, g) * z_at)
        return nonzero_part * zero_part

    gx = g * others(x, xz, nz_prod, n_zero, z_sum) if p["include_self"] else g
    gs = _gather(g, index, dim=dim) * others(src, sz, _gather(nz_prod, index, dim=dim),
                                             n_zero[key], _gather(z_sum, index, dim=dim))
    return gx, gs


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    """A copy of ``input`` where the ``src`` values sent to each position along ``dim`` by
    ``index`` are reduced with ``reduce``: ``"sum"``, ``"prod"``, ``"mean"``, ``"amax"`` or
    ``"amin"``; ``include_self`` counts ``input``'s own value in.

    Example:
        >>> import ember
        >>> x = ember.tensor([5., 5., 5.])
        >>> x.scatter_reduce(0, ember.tensor([0, 0, 1]), ember.tensor([1., 7., 2.]), "amax")
        tensor([7., 5., 5.])
    """
    _need_tensor(input, "scatter_reduce", "input")
    _need_tensor(src, "scatter_reduce", "src")
    reduce = {"max": "amax", "min": "amin"}.get(reduce, reduce)  # PyTorch's aliases
    if reduce not in _UFUNCS:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got "
                           f"{reduce}")
    d = _check_along("scatter_reduce", input, dim, index, src)
    _same_dtype(input, src, "scatter_reduce")
    idx = _lift(index)
    out = _scatter_reduce(_lift(input), idx, _src_like(src, idx), dim=d, reduce=reduce,
                          include_self=bool(include_self))
    return _shaped(out, input._data.shape)


# -- index_select / index_add / index_copy / index_fill ---------------------------------------
def _dim_index(op, x, dim, index):
    """``(dim, key)`` for ops that index one dim with a vector of indices."""
    idx = _int_index(index, op)
    if idx.ndim > 1:
        raise IndexError(f"{op}(): Index is supposed to be a vector")
    nd = x._data.ndim
    d = wrap_dim(dim, nd, op)
    n = x._data.shape[d] if nd else 1
    if idx.size and (int(idx.min()) < -n or int(idx.max()) >= n):
        raise IndexError(f"{op}(): index out of range in self (indices must be in [{-n}, {n}) "
                         f"for dimension {d})")
    if not nd:
        if idx.size != 1:
            raise RuntimeError(f"{op}(): Index to scalar can have only 1 value, got {idx.size} "
                               f"value(s)")
        return d, ()
    return d, (slice(None),) * d + (idx.reshape(-1),)


def _check_source(op, x, d, index, source):
    _need_tensor(source, op, "source")
    xs, ss = x._data.shape, source._data.shape
    want = xs[:d] + (index._data.size,) + xs[d + 1:] if xs else ss
    if ss != want:
        raise RuntimeError(f"{op}(): source of shape {list(ss)} does not match: expected "
                           f"{list(want)} (self {list(xs)} with dim {d} of size "
                           f"{index._data.size}, the number of indices)")
    if source._data.dtype != x._data.dtype:
        raise RuntimeError(f"{op}(): self ({_type_name(x)}) and source ({_type_name(source)}) "
                           f"must have the same scalar type")


def index_select(input, dim, index, *, out=None):
    """The slices of ``input`` along ``dim`` at the positions in the vector ``index``.

    Example:
        >>> import ember
        >>> ember.tensor([[1, 2], [3, 4]]).index_select(1, ember.tensor([1, 1]))
        tensor([[2, 2],
                [4, 4]])
    """
    _need_tensor(input, "index_select", "input")
    _, key = _dim_index("index_select", input, dim, index)
    return _getitem_copy(input, key=key)


def _add_args(op, input, dim, index, source, alpha):
    d, key = _dim_index(op, input, dim, index)
    _check_source(op, input, d, index, source)
    return key, (source if alpha == 1 else source * alpha)


def index_add(input, dim, index, source, *, alpha=1, out=None):
    """A copy of ``input`` with ``alpha * source`` added at ``index`` along ``dim``."""
    key, v = _add_args("index_add", input, dim, index, source, alpha)
    return _index_put(input, v, key=key, accumulate=True)


def index_add_(input, dim, index, source, *, alpha=1):
    """In-place :func:`index_add`."""
    key, v = _add_args("index_add_", input, dim, index, source, alpha)
    return _put_inplace(input, key, v, True, "index_add_")


def index_copy(input, dim, index, source):
    """A copy of ``input`` with the slices of ``source`` written at ``index`` along ``dim``."""
    key, v = _add_args("index_copy", input, dim, index, source, 1)
    return _index_put(input, v, key=key, accumulate=False)


def index_copy_(input, dim, index, source):
    """In-place :func:`index_copy`."""
    key, v = _add_args("index_copy_", input, dim, index, source, 1)
    return _put_inplace(input, key, v, False, "index_copy_")


def _fill_value(value, x, op):
    """``value`` (a number or a 0-d tensor) as a 0-d tensor of ``x``'s dtype."""
    if isinstance(value, Tensor):
        if value._data.ndim != 0:
            raise RuntimeError(f"{op} only supports a 0-dimensional value tensor, but got "
                               f"tensor with {value._data.ndim} dimension(s).")
        return cast(value, x._data.dtype)
    if _dtype.scalar_category(value) is None:
        raise TypeError(f"{op}(): argument 'value' must be a number or a 0-d Tensor, not "
                        f"{type(value).__name__}")
    return _wrap(x._device.xp.asarray(value).astype(x._data.dtype), x._device)


def index_fill(input, dim, index, value):
    """A copy of ``input`` with ``value`` written in the slices at ``index`` along ``dim``."""
    _, key = _dim_index("index_fill", input, dim, index)
    return _index_put(input, _fill_value(value, input, "index_fill"), key=key, accumulate=False)


def index_fill_(input, dim, index, value):
    """In-place :func:`index_fill`."""
    _, key = _dim_index("index_fill_", input, dim, index)
    return _put_inplace(input, key, _fill_value(value, input, "index_fill_"), False,
                        "index_fill_")


# -- masks ----------------------------------------------------------------------------------------
def _bool_mask(mask, op):
    _need_tensor(mask, op, "mask")
    if mask._data.dtype != np.bool_:
        raise RuntimeError(f"{op} only supports boolean masks, but got mask with dtype "
                           f"{mask.dtype.name}")
    return mask


def _mask_key(x, mask, op):
    """The mask broadcast to ``x``'s own shape (in-place ops cannot grow ``x``)."""
    shp = x._data.shape
    try:
        ok = np.broadcast_shapes(mask._data.shape, shp) == shp
    except ValueError:
        ok = False
    if not ok:
        raise RuntimeError(f"{op}: mask of shape {list(mask._data.shape)} cannot be broadcast "
                           f"to self of shape {list(shp)}")
    return (mask._device.xp.broadcast_to(mask._data, shp),)


def masked_fill(input, mask, value):
    """A copy of ``input`` with ``value`` (a number or 0-d tensor) where ``mask`` is True.

    Example:
        >>> import ember
        >>> x = ember.tensor([1., 2., 3.])
        >>> x.masked_fill(x > 1, 0.)
        tensor([1., 0., 0.])
    """
    _need_tensor(input, "masked_fill", "input")
    _bool_mask(mask, "masked_fill")
    return where(mask, _fill_value(value, input, "masked_fill"), input)


def masked_fill_(input, mask, value):
    """In-place :func:`masked_fill`."""
    key = _mask_key(input, _bool_mask(mask, "masked_fill_"), "masked_fill_")
    return _put_inplace(input, key, _fill_value(value, input, "masked_fill_"), False,
                        "masked_fill_")


def _broadcast_pair(x, mask, op):
    try:
        shp = np.broadcast_shapes(x._data.shape, mask._data.shape)
    except ValueError:
        raise RuntimeError(f"{op}: mask of shape {list(mask._data.shape)} and input of shape "
                           f"{list(x._data.shape)} cannot be broadcast together") from None
    return expand(x, shp), mask._device.xp.broadcast_to(mask._data, shp)


def masked_select(input, mask, *, out=None):
    """The elements of ``input`` where ``mask`` is True, as a 1-d tensor (both broadcast)."""
    _need_tensor(input, "masked_select", "input")
    x, m = _broadcast_pair(input, _bool_mask(mask, "masked_select"), "masked_select")
    return _getitem_copy(x, key=(m,))


def _scatter_source(op, x, n, source):
    _need_tensor(source, op, "source")
    if source._data.dtype != x._data.dtype:
        raise RuntimeError(f"{op}: expected self and source to have same dtypes but got "
                           f"{_type_name(x)} and {_type_name(source)}")
    if source._data.size < n:
        raise RuntimeError(f"{op}: expected source to have at least {n} elements (the number "
                           f"of True values in mask), but it has {source._data.size}")
    return getitem(reshape(source, (-1,)), slice(0, n))


def masked_scatter(input, mask, source):
    """A copy of ``input`` with the first elements of ``source``, in order, where ``mask`` is
    True."""
    _need_tensor(input, "masked_scatter", "input")
    x, m = _broadcast_pair(input, _bool_mask(mask, "masked_scatter"), "masked_scatter")
    v = _scatter_source("masked_scatter", x, int(m.sum()), source)
    return _index_put(x, v, key=(m,), accumulate=False)


def masked_scatter_(input, mask, source):
    """In-place :func:`masked_scatter`."""
    key = _mask_key(input, _bool_mask(mask, "masked_scatter_"), "masked_scatter_")
    v = _scatter_source("masked_scatter_", input, int(key[0].sum()), source)
    return _put_inplace(input, key, v, False, "masked_scatter_")


# -- flat indices: take, take_along_dim, put ----------------------------------------------------
def _flat(x):
    """``x`` seen as at least 1-d (a 0-d tensor as its 1-element view)."""
    return reshape(x, (1,)) if x._data.ndim == 0 else x


def _flat_key(x, index, op):
    """The key into ``x`` (at least 1-d) of flat, row-major positions ``index``."""
    idx = _int_index(index, op)
    n = x._data.size
    if idx.size and (int(idx.min()) < -n or int(idx.max()) >= n):
        bad = int(idx.max()) if int(idx.max()) >= n else int(idx.min())
        raise IndexError(f"out of range: tried to access index {bad} on a tensor of {n} "
                         f"elements.")
    return x._device.xp.unravel_index(idx % max(n, 1), x._data.shape)


def take(input, index):
    """Elements of ``input`` read as a flat, row-major 1-d tensor, at ``index`` (its shape).

    Example:
        >>> import ember
        >>> ember.tensor([[1, 2], [3, 4]]).take(ember.tensor([0, -1]))
        tensor([1, 4])
    """
    _need_tensor(input, "take", "input")
    x = _flat(input)
    return _getitem_copy(x, key=_flat_key(x, index, "take"))


def take_along_dim(input, indices, dim=None, *, out=None):
    """:func:`gather` with ``input`` and ``indices`` broadcast against each other (except
    along ``dim``); with ``dim=None``, both are flattened first."""
    _need_tensor(input, "take_along_dim", "input")
    _int_index(indices, "take_along_dim", "indices")
    if dim is None:
        return gather(reshape(input, (-1,)), 0, reshape(indices, (-1,)))
    nd = input._data.ndim
    if indices._data.ndim != nd:
        raise RuntimeError(f"torch.take_along_dim(): input and indices should have the same "
                           f"number of dimensions, but got {nd} dimensions for input, and "
                           f"{indices._data.ndim} dimensions for indices")
    d = wrap_dim(dim, nd, "take_along_dim")
    xs, ks = list(input._data.shape), list(indices._data.shape)
    xs[d] = ks[d] = 1
    shp = list(np.broadcast_shapes(tuple(xs), tuple(ks)))
    x = expand(input, shp[:d] + [input._data.shape[d]] + shp[d + 1:])
    k = expand(indices, shp[:d] + [indices._data.shape[d]] + shp[d + 1:])
    return gather(x, d, k)


def _put_args(op, x, index, source):
    key = _flat_key(x, index, op)
    _need_tensor(source, op, "source")
    if source._data.size != index._data.size:
        raise IndexError(f"{op}(): Expected source and index to have the same number of "
                         f"elements, but got source.numel() = {source._data.size}, "
                         f"index.numel() = {index._data.size}")
    if source._data.dtype != x._data.dtype:
        raise RuntimeError(f"{op}(): self and source expected to have the same dtype, but got "
                           f"self.dtype = {_type_name(x)} and source.dtype = "
                           f"{_type_name(source)}")
    return key, reshape(source, index._data.shape)


def put(input, index, source, accumulate=False):
    """A copy of ``input`` with ``source`` written at flat positions ``index``."""
    x = _flat(input)
    key, v = _put_args("put", x, index, source)
    return _shaped(_index_put(x, v, key=key, accumulate=bool(accumulate)), input._data.shape)


def put_(input, index, source, accumulate=False):
    """In-place :func:`put`."""
    x = _flat(input)  # a 0-d input is written through its 1-element view
    key, v = _put_args("put_", x, index, source)
    _put_inplace(x, key, v, bool(accumulate), "put_")
    return input


# -- nonzero, bucketing, counting (not differentiable) -------------------------------------------
@primitive("nonzero", differentiable=False)
def _nonzero(xp, x):
    if x.ndim == 0:
        return xp.zeros((int(bool(x)), 0), dtype=np.int64)
    return xp.stack(xp.nonzero(x), axis=1).astype(np.int64, copy=False)


def nonzero(input, *, out=None, as_tuple=False):
    """Indices of the nonzero elements: an ``(n, ndim)`` tensor, or with ``as_tuple`` one 1-d
    tensor per dim (a 0-d input counts as 1-d).

    Example:
        >>> import ember
        >>> ember.tensor([[0, 1], [2, 0]]).nonzero()
        tensor([[0, 1],
                [1, 0]])
    """
    _need_tensor(input, "nonzero", "input")
    if not as_tuple:
        return _nonzero(input)
    x = input._data.reshape(-1) if input._data.ndim == 0 else input._data
    xp = input._device.xp
    return tuple(_wrap(i.astype(np.int64, copy=False), input._device) for i in xp.nonzero(x))


def argwhere(input):
    """Indices of the nonzero elements, one row each (``nonzero(input)``)."""
    return nonzero(input)


@primitive("searchsorted", differentiable=False)
def _searchsorted(xp, seq, values, sorter, side, np_dtype):
    if seq.ndim <= 1:
        out = xp.searchsorted(seq, values, side=side, sorter=sorter)
    else:  # one search per row of the leading dims
        rows = seq.reshape(-1, seq.shape[-1])
        vals = values.reshape(rows.shape[0], -1)
        srt = sorter.reshape(rows.shape) if sorter is not None else [None] * len(rows)
        out = xp.stack([xp.searchsorted(r, v, side=side, sorter=s)
                        for r, v, s in zip(rows, vals, srt)]).reshape(values.shape)
    return xp.asarray(out, dtype=np_dtype)


def _search_side(side, right):
    if side is None:
        return "right" if right else "left"
    if side not in ("left", "right"):
        raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but got "
                           f"{side}")
    if right and side == "left":
        raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, got "
                           "side of left while right was True")
    return side


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None, out=None,
                 sorter=None):
    """Where each value of ``input`` would be inserted in the innermost dim of
    ``sorted_sequence`` to keep it sorted (``side="right"`` goes after equal values).

    Example:
        >>> import ember
        >>> ember.searchsorted(ember.tensor([1, 3, 5]), ember.tensor([3, 6]))
        tensor([1, 3])
    """
    _need_tensor(sorted_sequence, "searchsorted", "sorted_sequence")
    side = _search_side(side, right)
    seq = sorted_sequence
    if not isinstance(input, Tensor):
        input = _wrap(seq._device.xp.asarray(input), seq._device)
    if seq._data.ndim > 1 and seq._data.shape[:-1] != input._data.shape[:-1]:
        raise RuntimeError(f"torch.searchsorted(): boundaries tensor should be 1 dimension or "
                           f"the first N-1 dimensions of boundaries tensor and input value "
                           f"tensor must match, but we got boundaries tensor "
                           f"{list(seq._data.shape)} and input value tensor "
                           f"{list(input._data.shape)}")
    if sorter is not None and sorter._data.shape != seq._data.shape:
        raise RuntimeError(f"torch.searchsorted(): boundary and sorter must have the same size, "
                           f"but got boundary tensor {list(seq._data.shape)} and got sorter "
                           f"tensor {list(sorter._data.shape)}")
    return _searchsorted(seq, input, sorter, side=side,
                         np_dtype=np.dtype(np.int32 if out_int32 else np.int64))


def bucketize(input, boundaries, *, out_int32=False, right=False, out=None):
    """The bucket of each value of ``input`` given 1-d increasing ``boundaries``: ``i`` with
    ``boundaries[i-1] < x <= boundaries[i]`` (``<=``, ``<`` with ``right=True``)."""
    _need_tensor(boundaries, "bucketize", "boundaries")
    if boundaries._data.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim("
                           f"{boundaries._data.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


@primitive("bincount", differentiable=False)
def _bincount(xp, x, weights, minlength, np_dtype):
    return xp.bincount(x, weights, minlength).astype(np_dtype, copy=False)


def bincount(input, weights=None, minlength=0):
    """How many times each value ``0..max(input)`` occurs in the 1-d non-negative int
    ``input`` (summing ``weights`` instead of ones when given).

    Example:
        >>> import ember
        >>> ember.bincount(ember.tensor([0, 2, 2]))
        tensor([1, 0, 2])
    """
    _need_tensor(input, "bincount", "input")
    x = input._data
    if x.dtype.kind not in "biu":
        raise NotImplementedError(f"\"bincount_cpu\" not implemented for '{_type_name(input)}'")
    if x.ndim != 1 or (x.size and int(x.min()) < 0):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if weights is None:
        return _bincount(input, None, minlength=int(minlength), np_dtype=np.dtype(np.int64))
    if weights._data.shape != x.shape:
        raise RuntimeError("weights should be 1-d and have the same length as input")
    dt = np.dtype(np.float32 if weights._data.dtype == np.float32 else np.float64)
    return _bincount(input, weights, minlength=int(minlength), np_dtype=dt)


@primitive("histc", differentiable=False)
def _histc(xp, x, bins, lo, hi):
    counts, _ = xp.histogram(x.astype(np.float64), bins=bins, range=(lo, hi))
    return counts.astype(x.dtype)


def histc(input, bins=100, min=0, max=0, *, out=None):  # noqa: A002
    """Histogram of ``input`` in ``bins`` equal bins over ``[min, max]`` (the data's range when
    both are 0); values outside are ignored.

    Example:
        >>> import ember
        >>> ember.histc(ember.tensor([1., 2., 1.]), bins=4, min=0, max=3)
        tensor([0., 2., 1., 0.])
    """
    _need_tensor(input, "histc", "input")
    if input._data.dtype.kind not in "fV":
        raise NotImplementedError(f"\"histogram_cpu\" not implemented for "
                                  f"'{_type_name(input)}'")
    if bins <= 0:
        raise RuntimeError(f"torch.histc(): bins must be > 0, but got {bins}")
    lo, hi = float(min), float(max)
    if lo > hi:
        raise RuntimeError("torch.histc(): max must be larger than min")
    if lo == hi and input._data.size:
        lo, hi = float(input._data.min()), float(input._data.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise RuntimeError(f"torch.histc(): range of [{lo}, {hi}] is not finite")
    return _histc(input, bins=int(bins), lo=lo, hi=hi)
