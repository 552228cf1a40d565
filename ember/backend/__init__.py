"""Devices: the one place that knows which array library runs a tensor.

A :class:`Device` carries ``xp``, the array module its arrays belong to (NumPy
for the CPU, CuPy for CUDA). Ops call ``xp.<fn>`` on whatever arrays they get,
so one forward serves every device. CuPy is imported only when a CUDA device is
first used (``ember/backend/cuda.py``).
"""

import numpy as np


class Device:
    """Where a tensor lives: ``ember.device("cpu")``, ``ember.device("cuda", 0)``."""

    __slots__ = ("type", "index", "xp")

    def __init__(self, type, index=None):
        self.type = type
        self.index = index
        # the array module (numpy or cupy); a plain attribute because every op reads it.
        # CUDA devices get cupy when a tensor is first placed on them (tensor_device).
        self.xp = np if type == "cpu" else None

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        if not isinstance(other, Device):
            return NotImplemented
        return self.type == other.type and self.index == other.index

    def __hash__(self):
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (str(self),))


_VALID = ("cpu", "cuda")
_cache = {}


def device(spec, index=None):
    """Parse ``"cpu"``, ``"cuda"``, ``"cuda:1"``, a Device, or an int (a CUDA index)."""
    if isinstance(spec, Device):
        return spec
    if isinstance(spec, int):
        spec, index = "cuda", spec
    key = (spec, index)
    d = _cache.get(key)
    if d is not None:
        return d
    if not isinstance(spec, str):
        raise TypeError(f"device(): expected a string, int or device, got {type(spec).__name__}")
    kind, _, idx = spec.partition(":")
    if kind not in _VALID:
        raise RuntimeError(f"Expected one of cpu, cuda device type at start of device string: "
                           f"{spec}")
    if idx:
        if index is not None or not idx.isdigit():
            raise RuntimeError(f"Invalid device string: '{spec}'")
        index = int(idx)
    if kind == "cpu" and index not in (None, 0):
        raise RuntimeError(f"cpu device index must be 0 or None, got {index}")
    d = _cache.get((kind, index))  # "cuda:0" and ("cuda", 0) are one object: ops compare by `is`
    if d is None:
        d = _cache[(kind, index)] = Device(kind, index)
    _cache[key] = d
    return d


cpu = device("cpu")


def tensor_device(spec):
    """The concrete device a tensor is placed on (``cuda`` means the current CUDA device)."""
    d = device(spec)
    if d.type == "cpu":
        return cpu  # "cpu:0" too: CPU tensors all share one device object
    if d.type == "cuda":
        from ember.backend import cuda
        if d.index is None:
            d = device("cuda", cuda.current_device())
        if d.xp is None:
            cp = cuda.xp()  # RuntimeError naming CuPy on machines without CUDA
            cuda.check_index(d.index)
            d.xp = cp
    return d


def device_of_array(arr):
    """The Device of an array (NumPy -> cpu, CuPy -> cuda:N)."""
    if isinstance(arr, np.ndarray) or np.isscalar(arr):
        return cpu
    dev = getattr(arr, "device", None)
    if dev is not None and hasattr(dev, "id"):
        return tensor_device(f"cuda:{dev.id}")
    return cpu
