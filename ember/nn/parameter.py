"""Parameters and buffers: the tensors a :class:`~ember.nn.Module` registers by assignment.

A :class:`Parameter` is an ember Tensor (same array, same version counter as the data it
wraps) whose type tells ``Module.__setattr__`` to register it; it requires grad by default.
:class:`UninitializedParameter` is a placeholder whose shape is only known at the first
forward (lazy modules); :class:`Buffer` marks a tensor to be registered as a buffer.
"""

from ember._tensor import Tensor, _wrap
from ember.autograd.grad_mode import no_grad

__all__ = ["Parameter", "UninitializedParameter", "UninitializedBuffer", "Buffer",
           "is_lazy"]


def _share(dst, src):
    """Make ``dst`` a detached alias of ``src``: same array, device and version counter."""
    alias = src.detach()
    for slot in Tensor.__slots__:
        if slot != "__weakref__":
            setattr(dst, slot, getattr(alias, slot))


class Parameter(Tensor):
    """A tensor that is a module parameter: assigning it to a Module attribute registers it.

    Args:
        data: the tensor to wrap (shared, not copied). Defaults to an empty tensor.
        requires_grad: whether the parameter requires gradient. Default: ``True``.

    Example:
        >>> import ember
        >>> p = ember.nn.Parameter(ember.zeros(2))
        >>> p
        Parameter containing:
        tensor([0., 0.], requires_grad=True)
    """

    __slots__ = ()

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            from ember.ops.creation import empty
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter(): expected a Tensor as data, got "
                            f"{type(data).__name__}")
        self = object.__new__(cls)
        _share(self, data)
        if requires_grad:
            self.requires_grad_(True)
        return self

    def __init__(self, data=None, requires_grad=True):
        pass  # everything happens in __new__ (Tensor.__init__ would rebuild the data)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        out = type(self)(_wrap(self._data.copy(), self._device), self._requires_grad)
        if self.grad is not None:
            out.grad = self.grad.clone()
        memo[id(self)] = out
        return out

    def __reduce_ex__(self, proto):
        return (_rebuild_parameter, (self.detach(), self._requires_grad, type(self).__name__))


def _rebuild_parameter(data, requires_grad, kind="Parameter"):
    return Parameter(data, requires_grad)


class _Uninitialized:
    """Behaviour shared by uninitialized parameters and buffers (lazy modules)."""

    __slots__ = ()
    cls_to_become = None

    def materialize(self, shape, device=None, dtype=None):
        """Allocate the data with ``shape`` and turn into ``cls_to_become``."""
        from ember.ops.creation import empty
        device = self._device if device is None else device
        dtype = self.dtype if dtype is None else dtype
        with no_grad():
            data = empty(tuple(shape), device=device, dtype=dtype)
        req = self._requires_grad
        self._data = data._data
        self._device = data._device
        self.__class__ = self.cls_to_become
        self._requires_grad = req

    @property
    def shape(self):
        raise RuntimeError("Can't access the shape of an uninitialized parameter or buffer. "
                           "This error usually happens in `load_state_dict` when trying to load "
                           "an uninitialized parameter into an initialized one. Call `forward` "
                           "to initialize the parameters before accessing their attributes.")

    def size(self, dim=None):
        return self.shape

    def numel(self):
        return self.shape

    def __repr__(self):
        return f"<{type(self).__name__}>"

    def __deepcopy__(self, memo):
        if id(self) not in memo:
            memo[id(self)] = type(self)(self._requires_grad, self._device, self.dtype)
        return memo[id(self)]

    def __reduce_ex__(self, proto):
        return (type(self), (self._requires_grad, str(self._device), self.dtype))


class UninitializedParameter(_Uninitialized, Parameter):
    """A parameter whose shape is set at the first forward of a lazy module.

    It becomes a :class:`Parameter` once :meth:`materialize` is called.
    """

    __slots__ = ()
    cls_to_become = Parameter

    def __new__(cls, requires_grad=True, device=None, dtype=None):
        from ember.ops.creation import empty
        return Parameter.__new__(cls, empty(0, device=device, dtype=dtype), requires_grad)

    def __init__(self, requires_grad=True, device=None, dtype=None):
        pass


class _BufferMeta(type):
    """``isinstance(t, Buffer)`` holds for tensors built by ``Buffer(...)``."""

    def __instancecheck__(cls, obj):
        if cls is Buffer:
            return isinstance(obj, Tensor) and bool(obj._extra and obj._extra.get("is_buffer"))
        return super().__instancecheck__(obj)


class Buffer(Tensor, metaclass=_BufferMeta):
    """Marks a tensor as a buffer: assigned to a Module attribute it is registered as one.

    ``Buffer(data)`` returns a plain tensor (sharing ``data``'s memory) flagged as a buffer.

    Args:
        data: the buffer's tensor. Defaults to an empty tensor.
        persistent: whether the buffer is part of the module's ``state_dict``.
    """

    __slots__ = ()

    def __new__(cls, data=None, *, persistent=True):
        from ember.ops.creation import empty
        if data is None:
            data = empty(0)
        t = data.detach()
        t._requires_grad = data._requires_grad
        t._extra = {"is_buffer": True, "persistent": bool(persistent)}
        return t


class UninitializedBuffer(_Uninitialized, Tensor):
    """A buffer whose shape is set at the first forward of a lazy module."""

    __slots__ = ()
    cls_to_become = Tensor

    def __new__(cls, requires_grad=False, device=None, dtype=None):
        from ember.ops.creation import empty
        self = object.__new__(cls)
        _share(self, empty(0, device=device, dtype=dtype))
        self._requires_grad = requires_grad
        return self

    def __init__(self, requires_grad=False, device=None, dtype=None):
        pass


def is_lazy(param):
    """True for uninitialized parameters and buffers."""
    return isinstance(param, _Uninitialized)
