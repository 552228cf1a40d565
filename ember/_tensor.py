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


def _wrap(arr, dev):
    """Fast constructor: a tensor around ``arr`` on ``dev`` that needs no gradient."""
    t = _new(Tensor)
    t._data = arr
    t._device = dev
    t._requires_grad = False
    t._node = None
    t._output_nr = 0
    t.grad = None
    t._version = None
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

    __slots__ = ("_data", "_device", "_requires_grad", "_node", "_output_nr", "grad", "_version",
                 "_base", "_view_fn", "_acc", "_extra", "__weakref__")
    __array_priority__ = 1000  # NumPy scalars defer to our reflected operators

    def __init__(self, *args, dtype=None, device=None):
        from ember.ops.creation import _from_data
        dt = _dtype.to_dtype(dtype) if dtype is not None else _dtype.get_default_dtype()
        if len(args) == 1 and not isinstance(args[0], int):
            src = _from_data(args[0], dt, device)
        else:
            shape = args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else args
            src = _from_data(np.empty(tuple(shape), dtype=dt.np), dt, device)
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
        """The same data, detached from the graph (shares memory)."""
        return self.detach()

    @data.setter
    def data(self, other):
        self._data = other._data
        self._device = other._device

    @property
    def _version_value(self):
        return self._version[0] if self._version is not None else 0

    def _bump(self):
        """Record an in-place change (the version counter is shared with views)."""
        if self._version is None:
            self._version = [0]
            if self._base is not None:
                self._base._version = self._version
        self._version[0] += 1

    def stride(self, dim=None):
        """Strides in elements, like PyTorch's."""
        st = tuple(s // self._data.itemsize for s in self._data.strides)
        return st if dim is None else st[_wrap_dim(dim, self._data.ndim, "stride")]

    def is_contiguous(self, memory_format=None):
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

    # -- Python protocol --------------------------------------------------------------
    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __hash__(self):
        return id(self)

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with more than one value is ambiguous"
                               f" (shape {tuple(self._data.shape)})")
        return bool(self._data.reshape(()))

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __complex__(self):
        return complex(self.item())

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
        a = self.numpy(force=False) if not self._requires_grad else self._data
        if self._device.type != "cpu":
            a = self.numpy(force=True)
        if dtype is not None and a.dtype != dtype:
            return a.astype(dtype)
        return a.copy() if copy else a

    def __dlpack__(self, stream=None, **kwargs):
        return self._data.__dlpack__(**({"stream": stream} if stream is not None else {}))

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()

    def detach(self):
        """A new tensor sharing data (and version counter) with this one, outside the graph."""
        out = _wrap(self._data, self._device)
        if self._version is None:
            self._version = [0]
        out._version = self._version
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
        return accumulator(self)._add_pre_hook(0, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """``hook(tensor)`` runs after this leaf's ``.grad`` has been accumulated."""
        if self._node is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf "
                               "tensors")
        from ember.autograd.graph import accumulator, _Handle
        acc = accumulator(self)
        if self._extra is None:
            self._extra = {}
        self._extra["acc"] = acc  # keep the node (and its hooks) alive
        if acc._post_acc_hooks is None:
            acc._post_acc_hooks = []
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


def _rebuild(arr, dev, requires_grad):
    from ember.ops.creation import tensor
    return tensor(arr, device=dev, requires_grad=requires_grad)


__all__ = ["Tensor", "Size", "_wrap", "Device", "cpu", "STATE"]
