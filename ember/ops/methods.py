"""Tensor methods: operators, in-place variants and conversions, delegating to ops."""

import numpy as np

from ember import _dtype
from ember._tensor import Tensor, _wrap
from ember.backend import tensor_device, Device
from ember.ops import elementwise as E
from ember.ops import views as V
from ember.ops._registry import primitive
from ember.ops._util import commit_inplace


# -- copies and conversions ------------------------------------------------------------------
@primitive("clone", save="none")
def _clone(xp, x):
    return x.copy()


_clone.defvjp(lambda ctx, g: (g,))


def clone(input, *, memory_format=None):
    """A copy of ``input`` that stays in the graph."""
    return _clone(input)


def contiguous(input, memory_format=None):
    """``input`` itself when C-contiguous, else a contiguous copy."""
    return input if input._data.flags.c_contiguous else _clone(input)


@primitive("to_device", save="none")
def _to_device(xp, x, device):
    if device.type == "cpu":
        return x.get() if hasattr(x, "get") else x
    with device.xp.cuda.Device(device.index):
        return device.xp.asarray(x)


@_to_device.defvjp
def _(ctx, g):
    return (_to_device(g, device=ctx.params["src"]),)


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
            out = _move(out, d)
    if dt is not None:
        npd = _dtype.to_dtype(dt).np
        if out._data.dtype != npd:
            out = E._cast(out, npd)
    if copy and out is self:
        out = _clone(self)
    return out


def _move(t, d):
    from ember.ops._registry import apply
    prim = _to_device
    res = apply(prim, (t,), {"device": d})
    if res._node is not None:
        res._node.params = {"device": d, "src": t._device}
    return res


def cpu(self, memory_format=None):
    return to(self, "cpu")


def cuda(self, device=None, non_blocking=False, memory_format=None):
    return to(self, "cuda" if device is None else (f"cuda:{device}" if isinstance(device, int)
                                                   else device))


def _caster(dt):
    def f(self, memory_format=None):
        return to(self, dt)
    return f


def type_as(self, other):
    return to(self, other.dtype)


def type_(self, dtype=None, non_blocking=False):
    if dtype is None:
        return f"ember.{self.dtype.name.capitalize()}Tensor"
    return to(self, dtype)


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
                self._data.dtype.kind not in "fcV":
            return generic(self, other, **({"alpha": alpha} if alpha != 1 else {}))
        o = other._data if isinstance(other, Tensor) else other
        if isinstance(other, Tensor) and other._data.dtype.kind == "c" \
                and self._data.dtype.kind != "c":
            return generic(self, other)
        ufunc(self._data, o, out=self._data, casting="unsafe")
        self._bump()
        return self
    method.__name__ = name
    return method


def zero_(self):
    """Fill with zeros in place."""
    return fill_(self, 0)


def fill_(self, value):
    """Fill with ``value`` (a number or a 0-d tensor) in place."""
    if isinstance(value, Tensor):
        if value._data.ndim != 0:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor "
                               f"with {value._data.ndim} dimensions.")
        return commit_inplace(self, lambda x, v: E.where(
            _wrap(x._device.xp.ones(x._data.shape, dtype=bool), x._device), E.cast(v, x._data.dtype), x), value,
            op="fill_")
    return commit_inplace(self, lambda x: E.full_like_(x, value) + x * 0 if x._requires_grad
                          else E.full_like_(x, value), op="fill_")


def copy_(self, src, non_blocking=False):
    """Copy ``src`` (broadcast) into this tensor in place."""
    if not isinstance(src, Tensor):
        raise TypeError("copy_(): argument 'src' must be Tensor")

    def compute(x, s):
        if s._device is not x._device:
            s = to(s, x._device)
        s = E.cast(s, x._data.dtype) if s._data.dtype != x._data.dtype else s
        return s + x * 0 if x._requires_grad else V.expand(s, x._data.shape)
    return commit_inplace(self, compute, src, op="copy_")


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
    T.__invert__ = lambda self: E.logical_not(self) if self._data.dtype == np.bool_ else \
        E.bitwise_not(self)
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
    for name, dt in [("float", "float32"), ("double", "float64"), ("half", "float16"),
                     ("bfloat16", "bfloat16"), ("long", "int64"), ("int", "int32"),
                     ("short", "int16"), ("char", "int8"), ("byte", "uint8"), ("bool", "bool"),
                     ("cfloat", "complex64"), ("cdouble", "complex128")]:
        setattr(T, name, _caster(dt))


INPLACE = _inplace
