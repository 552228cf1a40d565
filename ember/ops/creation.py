"""Tensor creation: from data, filled, ranges, identity."""

import builtins as _builtins
import operator as _operator
import warnings as _warnings

import numpy as np

from ember import _dtype
from ember._tensor import Tensor, _wrap
from ember.backend import cpu, tensor_device


def _size(size):
    """Accept ``f(2, 3)``, ``f((2, 3))``, ``f([2, 3])`` or ``f(ember.Size)``."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    try:
        out = tuple(_operator.index(s) for s in size)
    except TypeError:
        raise TypeError(f"size must be a tuple of ints, got {size!r}") from None
    if any(s < 0 for s in out):
        raise RuntimeError(f"Trying to create tensor with negative dimension: {list(out)}")
    return out


def _infer_dtype(data):
    """PyTorch's dtype inference for Python data (floats -> default dtype, ints -> int64)."""
    if isinstance(data, Tensor):
        return data.dtype
    if isinstance(data, np.ndarray):
        return _dtype.from_numpy_dtype(data.dtype)
    if isinstance(data, np.generic):
        return _dtype.from_numpy_dtype(data.dtype)
    cat = _dtype.scalar_category(data)
    if cat is not None:
        return _dtype.default_for_category(cat)
    if _is_sequence(data):
        best = None
        for item in data:
            d = _infer_dtype(item)
            if d is None:
                continue
            best = d if best is None else _dtype.promote_types(best, d)
        return best
    if hasattr(data, "__array__") or hasattr(data, "__dlpack__"):
        return _infer_dtype(np.asarray(data))
    _check_data_type(data)
    raise RuntimeError(f"Could not infer dtype of {type(data).__name__}")


def _is_sequence(data):
    return isinstance(data, (list, tuple, _builtins.range))  # `range` is ember.range here


def _check_data_type(data):
    if data is None:
        raise RuntimeError("Could not infer dtype of NoneType")
    if isinstance(data, (str, bytes, dict, set)):
        raise TypeError(f"new(): invalid data type '{type(data).__name__}'")


def _to_numpy(data):
    """``data`` as something ``np.array`` reads: tensors inside sequences count as scalars."""
    if isinstance(data, Tensor):
        return data.numpy(force=True)
    if _is_sequence(data) and any(isinstance(i, Tensor) or _is_sequence(i) for i in data):
        return [_element(i) for i in data]
    if hasattr(data, "__array__") or hasattr(data, "__dlpack__") and not isinstance(
            data, np.ndarray):
        return np.asarray(data)
    return data


def _element(item):
    if isinstance(item, Tensor):
        if item._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return item.numpy(force=True).reshape(())
    if _is_sequence(item):
        return _to_numpy(item)
    _check_data_type(item)
    return item


def _ragged(data, dim=0):
    """PyTorch's message for nested sequences of uneven lengths, or None."""
    items = [i for i in data if _is_sequence(i)]
    if items and len(items) != len(data):
        raise TypeError(f"not a sequence: sequences and scalars are mixed at dim {dim + 1}")
    for i in items[1:]:
        if len(i) != len(items[0]):
            return f"expected sequence of length {len(items[0])} at dim {dim + 1} (got {len(i)})"
    for i in items:
        msg = _ragged(i, dim + 1)
        if msg:
            return msg
    return None


def _from_data(data, dtype=None, device=None, copy=True):
    _check_data_type(data)
    dt = _dtype.to_dtype(dtype) if dtype is not None else _infer_dtype(data)
    if dt is None:  # empty list
        dt = _dtype.get_default_dtype()
    try:
        arr = np.array(_to_numpy(data), dtype=dt.np, copy=copy if copy else None)
    except OverflowError as e:
        if dtype is not None:  # PyTorch: RuntimeError for an explicit dtype, else ValueError
            raise RuntimeError(f"value cannot be converted to type {dt.name} without overflow "
                               f"({e})") from None
        raise ValueError(f"tensor(): a value is out of the range of {dt}: {e}") from None
    except (ValueError, TypeError) as e:
        msg = _ragged(data) if _is_sequence(data) else None
        if msg:
            raise ValueError(msg) from None
        raise type(e)(f"tensor(): could not build a {dt} tensor from "
                      f"{type(data).__name__}: {e}") from None
    return _place(arr, device)


def _place(arr, device):
    dev = cpu if device is None else tensor_device(device)
    if dev is not cpu:
        arr = dev.xp.asarray(arr)
    return _wrap(arr, dev)


def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """Build a tensor by copying ``data`` (a number, nested lists, an array or a tensor).

    Example:
        >>> import ember
        >>> ember.tensor([[1, 2], [3, 4]]).dtype
        ember.int64
    """
    if isinstance(data, Tensor) and data._device.type != "cpu" and device is None:
        out = data.detach().clone()
        out = out if dtype is None else out.to(dtype)
    else:
        if device is None and isinstance(data, Tensor):
            device = data._device
        out = _from_data(data, dtype, device)
    if requires_grad:
        out.requires_grad_(True)
    return out


def as_tensor(data, dtype=None, device=None):
    """Like :func:`tensor` but shares memory with ``data`` when dtype and device allow."""
    if isinstance(data, Tensor):
        return data.to(device=device if device is not None else data.device, dtype=dtype)
    if isinstance(data, np.ndarray) and (dtype is None or _dtype.to_dtype(dtype).np == data.dtype):
        if device is None or tensor_device(device) is cpu:
            return from_numpy(data)
    return _from_data(data, dtype, device, copy=False)


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=False):
    out = as_tensor(obj, dtype, device) if not copy else tensor(obj, dtype=dtype, device=device)
    return out.requires_grad_(True) if requires_grad else out


def from_numpy(ndarray):
    """A tensor sharing memory with a NumPy array (writes show through both ways)."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray (got {type(ndarray).__name__})")
    _dtype.from_numpy_dtype(ndarray.dtype)  # validates
    return _wrap(ndarray, cpu)


def from_dlpack(ext):
    """Zero-copy import of any DLPack-capable tensor (PyTorch, CuPy, JAX, NumPy)."""
    dev_type, dev_id = ext.__dlpack_device__()
    if int(dev_type) == 1:  # kDLCPU
        from ember.backend.dlpack import import_cpu
        arr, dev = import_cpu(ext), cpu
    else:
        dev = tensor_device(f"cuda:{dev_id}")
        arr = dev.xp.from_dlpack(ext)
    _dtype.from_numpy_dtype(arr.dtype)  # raises TypeError for dtypes ember lacks
    return _wrap(arr, dev)


def _dt(dtype):
    return _dtype.to_dtype(dtype) if dtype is not None else _dtype.get_default_dtype()


def _filled(fill, size, dtype, device, requires_grad):
    dt = _dt(dtype)
    dev = cpu if device is None else tensor_device(device)
    xp = dev.xp
    shape = _size(size)
    arr = xp.empty(shape, dtype=dt.np) if fill is None else xp.full(shape, fill, dtype=dt.np)
    out = _wrap(arr, dev)
    return out.requires_grad_(True) if requires_grad else out


def zeros(*size, dtype=None, device=None, requires_grad=False, out=None, layout=None,
          pin_memory=False):
    """A tensor of zeros of the given shape (default dtype float32)."""
    return _filled(0, size, dtype, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False, out=None, layout=None,
         pin_memory=False):
    """A tensor of ones of the given shape."""
    return _filled(1, size, dtype, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False, out=None, layout=None,
          pin_memory=False, memory_format=None):
    """An uninitialised tensor of the given shape."""
    return _filled(None, size, dtype, device, requires_grad)


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False, out=None,
         layout=None):
    """A tensor of ``fill_value``; its dtype is inferred from the value like PyTorch's."""
    if dtype is None:
        dtype = _infer_dtype(fill_value.item() if isinstance(fill_value, Tensor) else fill_value)
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    return _filled(fill_value, (size,) if isinstance(size, int) else tuple(size), dtype, device,
                   requires_grad)


def _like(fill, x, dtype, device, requires_grad):
    """A tensor shaped like ``x``; on ``x``'s device it keeps ``x``'s memory layout."""
    dt = x.dtype if dtype is None else _dtype.to_dtype(dtype)
    dev = x.device if device is None else tensor_device(device)
    if dev is not x._device:
        return _filled(fill, x.shape, dt, dev, requires_grad)
    xp = dev.xp
    arr = xp.empty_like(x._data, dtype=dt.np) if fill is None else \
        xp.full_like(x._data, fill, dtype=dt.np)
    out = _wrap(arr, dev)
    return out.requires_grad_(True) if requires_grad else out


def zeros_like(input, *, dtype=None, device=None, requires_grad=False, layout=None,
               memory_format=None):
    return _like(0, input, dtype, device, requires_grad)


def ones_like(input, *, dtype=None, device=None, requires_grad=False, layout=None,
              memory_format=None):
    return _like(1, input, dtype, device, requires_grad)


def empty_like(input, *, dtype=None, device=None, requires_grad=False, layout=None,
               memory_format=None):
    return _like(None, input, dtype, device, requires_grad)


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False, layout=None,
              memory_format=None):
    return _like(fill_value, input, dtype, device, requires_grad)


def _num(v):
    return v.item() if isinstance(v, Tensor) else v


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False, out=None,
           layout=None):
    """Values from ``start`` to ``end`` (exclusive); int64 unless any argument is a float."""
    start, end, step = _num(start), _num(end), _num(step)
    if end is None:
        start, end = 0, start
    dt = _dtype.to_dtype(dtype) if dtype is not None else _infer_dtype([start, end, step])
    if dt is _dtype.bool_:
        raise NotImplementedError("\"arange_cpu\" not implemented for 'Bool'")
    if dt.category < _dtype.FLOAT:  # integer dtypes truncate the bounds and step first
        start, end, step = int(start), int(end), int(step)
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError(f"arange: upper bound and lower bound inconsistent with step sign "
                           f"(start={start}, end={end}, step={step})")
    if dt.category < _dtype.FLOAT:
        arr = np.arange(start, end, step, dtype=np.int64)
    else:  # the count is ceil((end - start) / step) in float64, as PyTorch computes it
        n = max(int(np.ceil((end - start) / step)), 0)
        arr = start + np.arange(n, dtype=np.float64) * step
    out = _place(arr.astype(dt.np), device)
    return out.requires_grad_(True) if requires_grad else out


def range(start=0, end=None, step=1, *, dtype=None, device=None, requires_grad=False, out=None,
          layout=None):
    """Deprecated ``torch.range``: like :func:`arange` but includes ``end``; float by default."""
    _warnings.warn("ember.range is deprecated and will be removed in a future release because "
                   "its behavior is inconsistent with Python's range builtin. Instead, use "
                   "ember.arange, which produces values in [start, end).", UserWarning,
                   stacklevel=2)
    if end is None:
        start, end = 0, start
    start, end, step = _num(start), _num(end), _num(step)
    dt = _dt(dtype)
    if step == 0 or (end - start) * step < 0:
        raise RuntimeError(f"range: upper bound and lower bound inconsistent with step sign "
                           f"(start={start}, end={end}, step={step})")
    n = int(np.floor((end - start) / step)) + 1
    res = _place((start + np.arange(n, dtype=np.float64) * step).astype(dt.np), device)
    return res.requires_grad_(True) if requires_grad else res


def scalar_tensor(s, *, dtype=None, device=None, requires_grad=False, layout=None,
                  pin_memory=False):
    """A 0-d tensor holding number ``s`` (default dtype unless given)."""
    res = _place(np.asarray(_num(s), dtype=_dt(dtype).np), device)
    return res.requires_grad_(True) if requires_grad else res


def empty_strided(size, stride, *, dtype=None, device=None, requires_grad=False, layout=None,
                  pin_memory=False):
    """An uninitialised tensor with the given sizes and element strides."""
    size, stride = _size((size,)), tuple(_operator.index(s) for s in stride)
    if len(size) != len(stride):
        raise RuntimeError(f"empty_strided: mismatch in length of strides and shape ({size} vs "
                           f"{stride})")
    dt = _dt(dtype)
    span = 1 + sum((n - 1) * s for n, s in zip(size, stride)) if all(size) else 0
    buf = np.empty(span, dtype=dt.np)
    arr = np.lib.stride_tricks.as_strided(buf, size, tuple(s * dt.itemsize for s in stride))
    res = _place(arr, device)
    return res.requires_grad_(True) if requires_grad else res


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False, out=None,
             layout=None):
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    start, end = _num(start), _num(end)
    if dtype is None and (isinstance(start, complex) or isinstance(end, complex)):

        dtype = _dtype.get_default_dtype().to_complex()
    dt = _dt(dtype)
    if steps < 0:
        raise RuntimeError("linspace: number of steps must be non-negative")
    work = np.complex128 if dt.is_complex else np.float64
    arr = np.linspace(start, end, int(steps), dtype=work).astype(dt.np)
    out = _place(arr, device)
    return out.requires_grad_(True) if requires_grad else out


def logspace(start, end, steps, base=10.0, *, dtype=None, device=None, requires_grad=False,
             out=None, layout=None):
    """``base ** linspace(start, end, steps)``."""
    dt = _dt(dtype)
    arr = np.power(base, np.linspace(_num(start), _num(end), int(steps))).astype(dt.np)
    out = _place(arr, device)
    return out.requires_grad_(True) if requires_grad else out


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    """The identity matrix (``n`` x ``m``)."""
    out = _place(np.eye(n, n if m is None else m, dtype=_dt(dtype).np), device)
    return out.requires_grad_(True) if requires_grad else out
