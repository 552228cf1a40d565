"""Tensor methods: operators, in-place variants and conversions, delegating to ops."""

import numpy as np

from ember.backend import compat
from ember import _dtype
from ember._tensor import (Tensor, _wrap, contiguous_format, preserve_format,
                           channels_last_perm)
from ember.backend import tensor_device, Device
from ember.ops import elementwise as E
from ember.ops import views as V
from ember.ops._registry import primitive
from ember.ops._util import commit_inplace, replace_values


# -- copies and conversions ------------------------------------------------------------------
@primitive("clone", save="none")
def _clone(xp, x, order="K", perm=None):
    """A copy in C order, in the input's own layout ("K", PyTorch's preserve_format), or
    dense in the dim order ``perm`` (channels-last layouts)."""
    if perm is None:
        return x.copy(order=order)
    return xp.ascontiguousarray(x.transpose(perm)).transpose(tuple(np.argsort(perm).tolist()))


_clone.defvjp(lambda ctx, g: (g,))


def clone(input, *, memory_format=None):
    """A copy of ``input`` that stays in the graph; it keeps ``input``'s memory layout unless
    ``memory_format`` (``ember.contiguous_format``, ``ember.channels_last``) says otherwise."""
    if memory_format is None or memory_format is preserve_format:
        return _clone(input)
    return _layout_copy(input, memory_format)


def contiguous(input, memory_format=None):
    """``input`` itself when already laid out in ``memory_format`` (C order by default),
    else a copy that is."""
    fmt = contiguous_format if memory_format is None else memory_format
    if input.is_contiguous(memory_format=fmt):
        return input
    return _layout_copy(input, fmt)


def _layout_copy(x, fmt):
    if fmt is contiguous_format:
        return _clone(x, order="C")
    return _clone(x, perm=channels_last_perm(x._data.ndim, fmt))


@primitive("to_device", save="none")
def _to_device(xp, x, device, non_blocking=False):
    from ember.backend import cuda  # host/device copies (async from pinned memory) live there
    if device.type == "cpu":
        return cuda.to_host(x)
    return cuda.to_device(x, device.index, non_blocking)


@_to_device.defvjp
def _(ctx, g):
    return (_move(g, ctx.params["src"]),)


def _parse_to(args, kwargs):
    dev = kwargs.pop("device", None)
    dt = kwargs.pop("dtype", None)
    for a in args:
        if isinstance(a, Tensor):
            dev, dt = a.device, a.dtype
        elif isinstance(a, (str, Device)) and not (isinstance(a, str) and a in _dtype._NAMES):
            dev = a
        elif isinstance(a, int) and not isinstance(a, bool):
            dev = a
        elif a is not None:
            dt = a
    return dev, dt


def to(self, *args, non_blocking=False, copy=False, memory_format=None, **kwargs):
    """Convert dtype and/or device: ``t.to("cuda")``, ``t.to(ember.float64)``, ``t.to(other)``."""
    dev, dt = _parse_to(args, kwargs)
    out = self
    if dev is not None:
        d = tensor_device(dev)
        if d is not self._device:
            out = _move(out, d, non_blocking)
    if dt is not None:
        npd = _dtype.to_dtype(dt).np
        if out._data.dtype != npd:
            out = E._cast(out, npd)
    if copy and out is self:
        out = _clone(self)
    return out


def _move(t, d, non_blocking=False):
    from ember.ops._registry import apply
    prim = _to_device
    res = apply(prim, (t,), {"device": d, "non_blocking": non_blocking})
    res._device = d  # apply wraps the output on its input's device
    if res._node is not None:
        res._node.params = {"device": d, "src": t._device}
    return res


def cpu(self, memory_format=None):
    return to(self, "cpu")


def cuda(self, device=None, non_blocking=False, memory_format=None):
    """A copy on GPU ``device`` (default: current); asynchronous from pinned memory with
    ``non_blocking=True``."""
    return to(self, "cuda" if device is None else (f"cuda:{device}" if isinstance(device, int)
                                                   else device), non_blocking=non_blocking)


def _caster(dt):
    def f(self, memory_format=None):
        return to(self, dt)
    return f


def type_as(self, other):
    return to(self, other.dtype)


def type_(self, dtype=None, non_blocking=False, **kwargs):
    """The type name (``'ember.FloatTensor'``) or, given a dtype or type name, a cast."""
    from ember._tensor import LEGACY_TYPES
    if dtype is None:
        where = "" if self._device.type == "cpu" else "cuda."
        return f"ember.{where}{_dtype.scalar_name(self.dtype)}Tensor"
    if isinstance(dtype, str) and dtype.endswith("Tensor"):
        dtype = LEGACY_TYPES[dtype.split(".")[-1]]
    return to(self, getattr(dtype, "dtype", dtype))


# -- new tensors like this one -------------------------------------------------------------
def _new(self, make, size, dtype, device, requires_grad):
    from ember.ops import creation
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    return getattr(creation, make)(*size, dtype=dtype or self.dtype,
                                   device=device or self.device, requires_grad=requires_grad)


def new_tensor(self, data, dtype=None, device=None, requires_grad=False, **kwargs):
    """A copy of ``data`` with this tensor's dtype and device unless given."""
    from ember.ops.creation import tensor
    return tensor(data, dtype=dtype or self.dtype, device=device or self.device,
                  requires_grad=requires_grad)


def new_zeros(self, *size, dtype=None, device=None, requires_grad=False, **kwargs):
    """Zeros of ``size`` with this tensor's dtype and device unless given."""
    return _new(self, "zeros", size, dtype, device, requires_grad)


def new_ones(self, *size, dtype=None, device=None, requires_grad=False, **kwargs):
    """Ones of ``size`` with this tensor's dtype and device unless given."""
    return _new(self, "ones", size, dtype, device, requires_grad)


def new_empty(self, *size, dtype=None, device=None, requires_grad=False, **kwargs):
    """An uninitialised tensor of ``size`` with this tensor's dtype and device unless given."""
    return _new(self, "empty", size, dtype, device, requires_grad)


def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False, **kwargs):
    """``fill_value`` of ``size`` with this tensor's dtype and device unless given."""
    from ember.ops.creation import full
    return full(size, fill_value, dtype=dtype or self.dtype, device=device or self.device,
                requires_grad=requires_grad)


def is_same_size(self, other):
    return self._data.shape == other._data.shape


def dim_order(self):
    """Dims from outermost to innermost in memory (by decreasing stride)."""
    st = self.stride()
    return tuple(sorted(range(len(st)), key=lambda d: -st[d]))


def apply_(self, callable):
    """Apply a Python function to every element in place (CPU only, slow, like PyTorch's)."""
    return _map_elements(self, lambda v: callable(v), ())


def map_(self, tensor, callable):
    """``self[i] = callable(self[i], tensor[i])`` in place, ``tensor`` broadcast to self."""
    other = np.broadcast_to(tensor.numpy(force=True), self._data.shape)
    return _map_elements(self, callable, (other,))


def _map_elements(self, fn, others):
    if self._device.type != "cpu":
        raise TypeError("apply_ and map_ are only implemented on CPU tensors")
    if self._requires_grad and self._node is None:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                           "operation.")
    flat = [a.ravel().tolist() for a in (self._data,) + others]
    vals = [fn(*vs) for vs in zip(*flat)]
    self._data[...] = np.asarray(vals, dtype=self._data.dtype).reshape(self._data.shape)
    self._bump()
    return self


# -- in-place ops ------------------------------------------------------------------------------
def _inplace(fn, name):
    def method(self, *args, **kwargs):
        return commit_inplace(self, lambda x, *a: fn(x, *a, **kwargs), *args, op=name)
    method.__name__ = name
    method.__doc__ = f"In-place version of :meth:`{name[:-1]}`."
    return method


def _ufunc_inplace(fn, ufunc, name):
    """In-place arithmetic; writes straight into the array when nothing is recorded."""
    generic = _inplace(fn, name)

    def method(self, other, *, alpha=1):
        from ember.autograd.grad_mode import STATE
        if (STATE.enabled and (self._requires_grad or isinstance(other, Tensor) and
                               other._requires_grad)) or alpha != 1 or \
                self._data.dtype.kind not in "fcV" or \
                not compat.writeable(self._data):
            return generic(self, other, **({"alpha": alpha} if alpha != 1 else {}))
        o = _direct_operand(self, other)
        if o is None:
            return generic(self, other)
        ufunc(self._data, o, out=self._data, casting="unsafe")
        self._bump()
        return self
    method.__name__ = name
    return method


def _direct_operand(x, other):
    """``other``'s array or number when it can be written into floating ``x`` directly (same
    device, broadcasts to x's shape, no complex into real); None otherwise."""
    real = x._data.dtype.kind != "c"
    if isinstance(other, Tensor):
        o = other._data
        if other._device is not x._device or real and o.dtype.kind == "c" or (
                o.shape != x._data.shape and o.ndim != 0):
            return None
        return o
    if type(other) in (int, float, bool) or not real and type(other) is complex:
        return other
    return None


def zero_(self):
    """Fill with zeros in place."""
    return fill_(self, 0)


def fill_(self, value):
    """Fill with ``value`` (a number or a 0-d tensor) in place."""
    if isinstance(value, Tensor):
        if value._data.ndim != 0:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor "
                               f"with {value._data.ndim} dimensions.")
        return commit_inplace(self, lambda x, v: replace_values(x, E.cast(v, x._data.dtype)),
                              value, op="fill_")
    return commit_inplace(self, lambda x: replace_values(x, E.full_like_(x, value)), op="fill_")


def copy_(self, src, non_blocking=False):
    """Copy ``src`` (broadcast) into this tensor in place."""
    if not isinstance(src, Tensor):
        raise TypeError("copy_(): argument 'src' must be Tensor")

    def compute(x, s):
        if s._device is not x._device:
            s = to(s, x._device)
        s = E.cast(s, x._data.dtype) if s._data.dtype != x._data.dtype else s
        return replace_values(x, s)
    return commit_inplace(self, compute, src, op="copy_")


def _inplace_view(name):
    """``t_``, ``unsqueeze_``, ...: ``self`` takes the metadata (shape, strides) of the view."""
    def method(self, *args, **kwargs):
        from ember.autograd.grad_mode import STATE
        if STATE.enabled and self._requires_grad and self._node is None:
            raise RuntimeError("a leaf Variable that requires grad is being used in an "
                               "in-place operation.")
        res = getattr(Tensor, name)(self, *args, **kwargs)
        self._data = res._data
        if res._node is not None:
            self._node, self._output_nr = res._node, res._output_nr
        if self._base is not None:
            self._view_fn = res._view_fn
        self._bump()
        return self
    method.__name__ = name + "_"
    method.__doc__ = f"In-place version of :meth:`{name}` (changes this tensor's shape)."
    return method


def resize_(self, *sizes, memory_format=None):
    """Give this tensor a new shape, keeping the leading elements (new ones uninitialised)."""
    from ember.ops.creation import _size
    if self._requires_grad:
        raise RuntimeError("cannot resize variables that require grad")
    shape = _size(sizes)
    xp = self._device.xp
    if int(np.prod(shape)) == self._data.size and self._data.flags.c_contiguous:
        self._data = self._data.reshape(shape)
        return self
    new = xp.empty(shape, dtype=self._data.dtype)
    n = min(new.size, self._data.size)
    new.reshape(-1)[:n] = self._data.reshape(-1)[:n]
    self._data = new
    return self


def resize_as_(self, other, memory_format=None):
    return resize_(self, other._data.shape)


def set_(self, source=None, storage_offset=0, size=None, stride=None):
    """Make this tensor share ``source``'s memory and shape (empty without a source)."""
    from ember.autograd.grad_mode import STATE
    if STATE.enabled and self._requires_grad and self._node is None:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                           "operation.")
    if source is None:
        self._data = self._device.xp.empty((0,), dtype=self._data.dtype)
    else:
        self._data, self._device = source._data, source._device
    self._bump()
    return self


def setitem(self, key, value):
    """``x[key] = value``: through a view for basic keys, ``index_put_`` otherwise."""
    xp = self._device.xp
    nkey, basic = V.normalize_key(key, xp)
    V._check_bounds(self._data, nkey)
    if not isinstance(value, Tensor):
        value = _wrap(xp.asarray(value, dtype=self._data.dtype), self._device)
    if basic:
        copy_(V._getitem_view(self, key=nkey), value)
        return
    from ember.ops.index import index_put_
    index_put_(self, nkey, value)


def _invert(self):
    """``~x``: logical NOT for bool tensors, bitwise NOT for integers."""
    kind = self._data.dtype.kind
    if kind == "b":
        return E.logical_not(self)
    if kind not in "iu":
        raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type "
                        "tensors")
    return E.bitwise_not(self)


def _reflect(fn):
    def r(self, other):
        return fn(other, self)
    return r


def _attach():
    T = Tensor
    for name, fn in [("__add__", E.add), ("__sub__", E.sub), ("__mul__", E.mul),
                     ("__truediv__", E.div), ("__floordiv__", E.floor_divide),
                     ("__mod__", E.remainder), ("__pow__", E.pow), ("__matmul__", None),
                     ("__and__", E.bitwise_and), ("__or__", E.bitwise_or),
                     ("__xor__", E.bitwise_xor), ("__lshift__", E.bitwise_left_shift),
                     ("__rshift__", E.bitwise_right_shift),
                     ("__eq__", E.eq), ("__ne__", E.ne), ("__lt__", E.lt), ("__le__", E.le),
                     ("__gt__", E.gt), ("__ge__", E.ge)]:
        if fn is not None:
            setattr(T, name, fn)
    for name, fn in [("__radd__", E.add), ("__rsub__", E.sub), ("__rmul__", E.mul),
                     ("__rtruediv__", E.div), ("__rfloordiv__", E.floor_divide),
                     ("__rmod__", E.remainder), ("__rpow__", E.pow), ("__rand__", E.bitwise_and),
                     ("__ror__", E.bitwise_or), ("__rxor__", E.bitwise_xor)]:
        setattr(T, name, _reflect(fn))
    T.__neg__ = E.neg
    T.__pos__ = E.positive
    T.__abs__ = E.abs
    T.__invert__ = _invert
    T.__getitem__ = V.getitem
    T.__setitem__ = setitem
    T.__iadd__ = _ufunc_inplace(E.add, np.add, "add_")
    T.__isub__ = _ufunc_inplace(E.sub, np.subtract, "sub_")
    T.__imul__ = _ufunc_inplace(E.mul, np.multiply, "mul_")
    T.__itruediv__ = _ufunc_inplace(E.div, np.true_divide, "div_")
    T.add_, T.sub_, T.mul_, T.div_ = T.__iadd__, T.__isub__, T.__imul__, T.__itruediv__
    T.__ifloordiv__ = _inplace(E.floor_divide, "floor_divide_")
    T.__imod__ = _inplace(E.remainder, "remainder_")
    T.__ipow__ = _inplace(E.pow, "pow_")
    T.__iand__ = _inplace(E.bitwise_and, "bitwise_and_")
    T.__ior__ = _inplace(E.bitwise_or, "bitwise_or_")
    T.__ixor__ = _inplace(E.bitwise_xor, "bitwise_xor_")
    T.zero_, T.fill_, T.copy_ = zero_, fill_, copy_
    T.to, T.cpu, T.cuda, T.type_as, T.type = to, cpu, cuda, type_as, type_
    T.clone, T.contiguous = clone, contiguous
    T.new_tensor, T.new_zeros, T.new_ones, T.new_empty = new_tensor, new_zeros, new_ones, new_empty
    T.new_full, T.is_same_size, T.dim_order = new_full, is_same_size, dim_order
    T.apply_, T.map_ = apply_, map_
    for name in ("t", "transpose", "swapdims", "swapaxes", "unsqueeze", "squeeze"):
        setattr(T, name + "_", _inplace_view(name))
    T.resize_, T.resize_as_, T.set_ = resize_, resize_as_, set_
    T.real = property(E.real, doc="The real part (the tensor itself when not complex).")
    T.imag = property(E.imag, doc="The imaginary part of a complex tensor.")

    for name, dt in [("float", "float32"), ("double", "float64"), ("half", "float16"),
                     ("bfloat16", "bfloat16"), ("long", "int64"), ("int", "int32"),
                     ("short", "int16"), ("char", "int8"), ("byte", "uint8"), ("bool", "bool"),
                     ("cfloat", "complex64"), ("cdouble", "complex128")]:
        setattr(T, name, _caster(dt))


INPLACE = _inplace
