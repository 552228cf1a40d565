"""Tensor: an array (NumPy or CuPy) with its device and autograd fields.

Math lives in ``ember/ops``; the methods attached at the end of ``ember/ops/__init__``
delegate there. This file keeps the data model: construction, attributes,
conversions, and the autograd entry points (``backward``, hooks, ``detach``).
"""

import numpy as np

from ember import _dtype
from ember.backend import cpu, Device
from ember.autograd.grad_mode import STATE

_new = object.__new__
_np_generic = np.generic


def _wrap(arr, dev):
    """Fast constructor: a tensor around ``arr`` on ``dev`` that needs no gradient."""
    if isinstance(arr, _np_generic):  # NumPy ops on 0-d arrays return scalars
        arr = np.asarray(arr)
    t = _new(Tensor)
    t._data = arr
    t._device = dev
    t._requires_grad = False
    t._node = None
    t._output_nr = 0
    t.grad = None
    t._vc = None
    t._base = None
    t._view_fn = None
    t._acc = None
    t._extra = None
    return t


class Tensor:
    """A multi-dimensional array with autograd, on the CPU or a CUDA GPU.

    ``ember.Tensor(data)`` and ``ember.Tensor(2, 3)`` behave like PyTorch's legacy
    constructor (default dtype); prefer :func:`ember.tensor`.

    Example:
        >>> import ember
        >>> x = ember.tensor([1.0, 2.0], requires_grad=True)
        >>> (x * x).sum().backward()
        >>> x.grad
        tensor([2., 4.])
    """

    __slots__ = ("_data", "_device", "_requires_grad", "_node", "_output_nr", "grad", "_vc",
                 "_base", "_view_fn", "_acc", "_extra", "__weakref__")
    __array_priority__ = 1000  # NumPy scalars defer to our reflected operators

    def __init__(self, *args, dtype=None, device=None):
        src = _legacy_new(args, dtype, device)
        for s in Tensor.__slots__[:-1]:
            setattr(self, s, getattr(src, s))

    # -- attributes ------------------------------------------------------------------
    @property
    def shape(self):
        return Size(self._data.shape)

    def size(self, dim=None):
        """The shape as an ``ember.Size``, or the size of one dimension."""
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_wrap_dim(dim, self._data.ndim, "size")]

    @property
    def dtype(self):
        return _dtype.from_numpy_dtype(self._data.dtype)

    @property
    def device(self):
        return self._device

    @property
    def is_cuda(self):
        return self._device.type == "cuda"

    @property
    def ndim(self):
        return self._data.ndim

    def dim(self):
        return self._data.ndim

    ndimension = dim

    def numel(self):
        return int(self._data.size)

    nelement = numel

    def element_size(self):
        return self._data.itemsize

    @property
    def itemsize(self):
        return self._data.itemsize

    @property
    def nbytes(self):
        return self._data.nbytes

    def is_floating_point(self):
        return self._data.dtype.kind == "f" or self._data.dtype.kind == "V"

    def is_complex(self):
        return self._data.dtype.kind == "c"

    @property
    def is_leaf(self):
        return self._node is None

    @property
    def grad_fn(self):
        return self._node

    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag):
        self.requires_grad_(flag)

    def requires_grad_(self, requires_grad=True):
        """Set whether autograd records ops on this leaf tensor; returns self."""
        if self._node is not None:
            if requires_grad:
                return self
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If "
                               "you want to use a computed variable in a subgraph that doesn't "
                               "require differentiation use var_no_grad = var.detach().")
        if requires_grad and self._data.dtype.kind not in "fcV":
            raise RuntimeError(f"only Tensors of floating point and complex dtype can require "
                               f"gradients, got {self.dtype}")
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def data(self):
        """The same memory outside the graph, with its own version counter (unlike
        ``detach()``, in-place changes through it are invisible to autograd's checks)."""
        return _wrap(self._data, self._device)

    @data.setter
    def data(self, other):
        self._data = other._data
        self._device = other._device

    @property
    def _version(self):
        """How many in-place changes this tensor's memory has had (shared with its views)."""
        return self._vc[0] if self._vc is not None else 0

    _version_value = _version

    def _bump(self):
        """Record an in-place change (the version counter is shared with views)."""
        if self._vc is None:
            self._vc = [0]
            if self._base is not None:
                self._base._vc = self._vc
        self._vc[0] += 1

    def stride(self, dim=None):
        """Strides in elements, like PyTorch's."""
        st = tuple(s // self._data.itemsize for s in self._data.strides)
        return st if dim is None else st[_wrap_dim(dim, self._data.ndim, "stride")]

    def is_contiguous(self, memory_format=None):
        """Whether the elements are laid out densely in C order (or ``memory_format``'s)."""
        if memory_format in (channels_last, channels_last_3d):
            return self.stride() == channels_last_strides(self._data.shape, memory_format)
        return bool(self._data.flags.c_contiguous)

    def data_ptr(self):
        if self._device.type == "cpu":
            return self._data.__array_interface__["data"][0]
        return self._data.data.ptr

    def storage_offset(self):
        base = self._base._data if self._base is not None else self._data
        return (self.data_ptr() - _ptr_of(base, self._device)) // self._data.itemsize

    def untyped_storage(self):
        return _Storage(self)

    def get_device(self):
        return -1 if self._device.type == "cpu" else self._device.index

    def is_pinned(self, device=None):
        """Whether this CPU tensor is in pinned (page-locked) host memory."""
        from ember.backend import cuda
        return self._device.type == "cpu" and cuda.is_pinned(self._data)

    def pin_memory(self, device=None):
        """A copy in pinned host memory (``self`` if already pinned), so that
        ``.cuda(non_blocking=True)`` copies asynchronously. Needs CUDA."""
        from ember.backend import cuda
        if self._device.type != "cpu":
            raise RuntimeError(f"cannot pin '{self.type()}' only dense CPU tensors can be "
                               f"pinned")
        if not cuda.is_available():
            raise RuntimeError("Cannot access accelerator device when none is available. "
                               f"({cuda.NOT_AVAILABLE})")
        if cuda.is_pinned(self._data):
            return self
        out = self.clone()  # stays in the graph; its node saves nothing, so the data can move
        arr = cuda.pinned_empty(self._data.shape, self._data.dtype)
        arr[...] = self._data
        out._data = arr
        return out

    # -- Python protocol --------------------------------------------------------------
    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __contains__(self, element):
        if not isinstance(element, (Tensor, int, float, complex, bool, np.generic)):
            raise RuntimeError(f"Tensor.__contains__ only supports Tensor or scalar, but you "
                               f"passed in a {type(element).__name__}.")
        return bool((self == element).any())

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __hash__(self):
        return id(self)

    def __bool__(self):
        if self._data.size != 1:
            what = "no values" if self._data.size == 0 else "more than one value"
            raise RuntimeError(f"Boolean value of Tensor with {what} is ambiguous (shape "
                               f"{tuple(self._data.shape)})")
        return bool(self.item())

    def _scalar(self):
        if self._data.size != 1:
            raise ValueError(f"only one element tensors can be converted to Python scalars "
                             f"(got shape {tuple(self._data.shape)})")
        return self.item()

    def __float__(self):
        return float(self._scalar())

    def __int__(self):
        return int(self._scalar())

    def __complex__(self):
        return complex(self._scalar())

    def __index__(self):
        if self._data.dtype.kind not in "biu" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an "
                            "index")
        return int(self.item())

    def __format__(self, spec):
        if self._data.ndim == 0:
            return format(self.item(), spec)
        return object.__format__(self, spec)

    def __repr__(self):
        from ember._print import tensor_repr
        return tensor_repr(self)

    def __reduce_ex__(self, proto):
        return (_rebuild, (self.numpy(force=True), str(self._device), self._requires_grad))

    def __deepcopy__(self, memo):
        if not self.is_leaf:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) "
                               "support the deepcopy protocol at the moment.")
        out = _wrap(self._data.copy(), self._device)
        out._requires_grad = self._requires_grad
        if self.grad is not None:
            out.grad = self.grad.clone()
        memo[id(self)] = out
        if type(self) is not Tensor:
            out = type(self).__new__(type(self), out, self._requires_grad)
        return out

    # -- conversions ------------------------------------------------------------------
    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted "
                               f"to Scalar")
        v = self._data.reshape(()).item() if self._device.type == "cpu" else \
            self._data.reshape(()).get().item()
        return float(v) if self._data.dtype.kind == "V" else v

    def tolist(self):
        a = self.numpy(force=True)
        if a.dtype.kind == "V":
            a = a.astype(np.float32)
        return a.tolist()

    def numpy(self, force=False):
        """The data as a NumPy array; shares memory for CPU tensors that need no gradient."""
        if self._requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        if self._device.type != "cpu":
            if not force:
                raise TypeError(f"can't convert {self._device} device type tensor to numpy. "
                                f"Use Tensor.cpu() to copy the tensor to host memory first.")
            return self._data.get()
        return self._data

    def __array__(self, dtype=None, copy=None):
        a = self.numpy()
        if dtype is not None and a.dtype != dtype:
            return a.astype(dtype)
        return a.copy() if copy else a

    def __dlpack__(self, stream=None, **kwargs):
        if self._requires_grad:
            raise BufferError("Can't export tensors that require gradient, use "
                              "tensor.detach()")
        if stream is not None:
            kwargs["stream"] = stream
        if self._device.type != "cpu":
            return self._data.__dlpack__(**kwargs)
        from ember.backend.dlpack import export_capsule
        return export_capsule(self._data, **kwargs)

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()

    def detach(self):
        """A new tensor sharing data (and version counter) with this one, outside the graph."""
        out = _wrap(self._data, self._device)
        if self._vc is None:
            self._vc = [0]
        out._vc = self._vc
        out._base = self._base
        return out

    def detach_(self):
        if self._base is not None and self._node is not None:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self._node = None
        self._requires_grad = False
        return self

    # -- autograd ---------------------------------------------------------------------
    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate the gradient of this tensor w.r.t. graph leaves into their ``.grad``."""
        from ember.autograd import backward
        backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    def register_hook(self, hook):
        """``hook(grad)`` runs when this tensor's gradient is computed; may return a new one."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require "
                               "gradient")
        from ember.autograd.graph import accumulator
        if self._node is not None:
            return self._node._add_pre_hook(self._output_nr, hook)
        acc = accumulator(self)
        handle = acc._add_pre_hook(0, hook)
        self._extra_dict()["pre_hooks"] = acc._pre_hooks  # kept with the tensor
        return handle

    def _extra_dict(self):
        if self._extra is None:
            self._extra = {}
        return self._extra

    def register_post_accumulate_grad_hook(self, hook):
        """``hook(tensor)`` runs after this leaf's ``.grad`` has been accumulated."""
        if self._node is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf "
                               "tensors")
        from ember.autograd.graph import accumulator, _Handle
        acc = accumulator(self)
        if acc._post_acc_hooks is None:
            acc._post_acc_hooks = []
        self._extra_dict()["post_acc_hooks"] = acc._post_acc_hooks  # kept with the tensor
        acc._post_acc_hooks.append(hook)
        return _Handle(acc._post_acc_hooks, hook)

    def retain_grad(self):
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self._node is None or self.retains_grad:
            return
        import weakref
        ref = weakref.ref(self)

        def hook(g):
            t = ref()
            if t is not None:
                t.grad = g.detach() if t.grad is None else t.grad + g.detach()
        self._node._add_pre_hook(self._output_nr, hook)
        if self._extra is None:
            self._extra = {}
        self._extra["retains_grad"] = True

    @property
    def retains_grad(self):
        return bool(self._extra and self._extra.get("retains_grad"))

    @property
    def _base_tensor(self):
        return self._base


class memory_format:
    """A memory layout: ``ember.contiguous_format``, ``preserve_format``, ``channels_last``."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"ember.{self.name}"

    def __reduce__(self):
        return (_memory_format_by_name, (self.name,))


contiguous_format = memory_format("contiguous_format")
preserve_format = memory_format("preserve_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")


def _memory_format_by_name(name):
    return globals()[name]


def channels_last_perm(ndim, fmt):
    """The dim order (outermost first) of ``fmt`` for ``ndim`` dims: NHWC, NDHWC."""
    want = 4 if fmt is channels_last else 5
    if ndim != want:
        raise RuntimeError(f"required rank {want} tensor to use {fmt.name} format")
    return (0,) + tuple(range(2, ndim)) + (1,)


def channels_last_strides(shape, fmt):
    """Element strides of a dense tensor of ``shape`` laid out in ``fmt``."""
    if len(shape) != (4 if fmt is channels_last else 5):
        return None
    strides, step = [0] * len(shape), 1
    for d in reversed(channels_last_perm(len(shape), fmt)):
        strides[d] = step
        step *= max(shape[d], 1)
    return tuple(strides)


class Size(tuple):
    """A tensor's shape: a tuple with ``numel()``, printed like PyTorch's."""

    __slots__ = ()

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self):
        return f"ember.Size({list(self)})"

    def __getitem__(self, i):
        r = tuple.__getitem__(self, i)
        return Size(r) if isinstance(i, slice) else r

    def __add__(self, other):
        return Size(tuple(self) + tuple(other))


class _Storage:
    def __init__(self, t):
        self._t = t

    def data_ptr(self):
        base = self._t._base if self._t._base is not None else self._t
        return _ptr_of(base._data, base._device)

    def nbytes(self):
        base = self._t._base if self._t._base is not None else self._t
        return base._data.nbytes


def _ptr_of(arr, dev):
    if dev.type == "cpu":
        while arr.base is not None and isinstance(arr.base, np.ndarray):
            arr = arr.base
        return arr.__array_interface__["data"][0]
    return arr.data.ptr


def _wrap_dim(dim, ndim, op="dim"):
    """Normalise a possibly negative dim; PyTorch's IndexError when out of range."""
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"{op}: Dimension out of range (expected to be in range of "
                         f"[{-n}, {n - 1}], but got {dim})")
    return dim % n


def _legacy_new(args, dtype=None, device=None):
    """``ember.Tensor(...)``: no args (empty), sizes (uninitialised), or data (copied)."""
    from ember.ops.creation import _from_data, _place
    dt = _dtype.to_dtype(dtype) if dtype is not None else _dtype.get_default_dtype()
    if len(args) == 1:
        a = args[0]
        if isinstance(a, Tensor):
            return a.detach() if dtype is None else a.detach().to(dt)
        if not isinstance(a, (int, Size)):
            return _from_data(a, dt, device)
        if isinstance(a, Size):
            args = tuple(a)
    if not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in args):
        raise TypeError(f"new(): expected sizes (ints) or data, got "
                        f"{tuple(type(a).__name__ for a in args)}")
    return _place(np.empty(tuple(int(s) for s in args) if args else (0,), dtype=dt.np), device)


class _LegacyType(type):
    """``ember.FloatTensor`` and friends: constructors of one dtype, and isinstance checks."""

    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj._data.dtype == cls.dtype.np

    def __call__(cls, *args, device=None):
        return _legacy_new(args, cls.dtype, device)

    def __repr__(cls):
        return f"<class 'ember.{cls.__name__}'>"


def _legacy_types():
    """``{"FloatTensor": class, ...}`` for every dtype (PyTorch's legacy type names)."""
    out = {}
    for d in _dtype.ALL:
        name = _dtype.scalar_name(d) + "Tensor"
        out[name] = _LegacyType(name, (), {"dtype": d, "__doc__": f"Legacy {d} constructor."})
    return out


LEGACY_TYPES = _legacy_types()


def _rebuild(arr, dev, requires_grad):

    from ember.ops.creation import tensor
    return tensor(arr, device=dev, requires_grad=requires_grad)


__all__ = ["Tensor", "Size", "_wrap", "Device", "cpu", "STATE"]
