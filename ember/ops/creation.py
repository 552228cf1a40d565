"""Tensor creation: from data, filled, ranges, identity."""

import numpy as np

from ember import _dtype
from ember._tensor import Tensor, _wrap
from ember.backend import cpu, tensor_device


def _size(size):
    """Accept ``f(2, 3)``, ``f((2, 3))``, ``f([2, 3])`` or ``f(ember.Size)``."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    try:
        out = tuple(int(s) for s in size)
    except TypeError:
        raise TypeError(f"size must be a sequence of ints, got {size!r}") from None
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
    if isinstance(data, (list, tuple)):
        best = None
        for item in data:
            d = _infer_dtype(item)
            if d is None:
                continue
            best = d if best is None else _dtype.promote_types(best, d)
        return best
    return None


def _to_numpy(data):
    if isinstance(data, Tensor):
        return data.numpy(force=True)
    if isinstance(data, (list, tuple)) and any(isinstance(i, (Tensor, list, tuple)) for i in data):
        return np.array([_to_numpy(i) for i in data])
    if hasattr(data, "__array__") or hasattr(data, "__dlpack__") and not isinstance(
            data, np.ndarray):
        return np.asarray(data)
    return data


def _from_data(data, dtype=None, device=None, copy=True):
    dt = _dtype.to_dtype(dtype) if dtype is not None else _infer_dtype(data)
    if dt is None:  # empty list
        dt = _dtype.get_default_dtype()
    try:
        arr = np.array(_to_numpy(data), dtype=dt.np, copy=copy if copy else None)
    except (ValueError, TypeError) as e:
        raise ValueError(f"tensor(): could not build a {dt} tensor from {type(data).__name__}: "
                         f"{e}") from None
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
        return _wrap(np.from_dlpack(ext), cpu)
    dev = tensor_device(f"cuda:{dev_id}")
    return _wrap(dev.xp.from_dlpack(ext), dev)


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
    dt = x.dtype if dtype is None else dtype
    dev = x.device if device is None else device
    return _filled(fill, x.shape, dt, dev, requires_grad)


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
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError(f"arange: upper bound and larger bound inconsistent with step sign "
                           f"(start={start}, end={end}, step={step})")
    if dtype is None:
        dtype = _infer_dtype([start, end, step])
    dt = _dtype.to_dtype(dtype)
    n = max(int(np.ceil((end - start) / step)), 0)
    arr = (start + np.arange(n, dtype=np.float64) * step) if dt.category >= 2 else \
        np.arange(start, end, step)
    out = _place(arr.astype(dt.np), device)
    return out.requires_grad_(True) if requires_grad else out


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False, out=None,
             layout=None):
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    dt = _dt(dtype)
    arr = np.linspace(_num(start), _num(end), int(steps), dtype=np.float64).astype(dt.np)
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
