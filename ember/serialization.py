"""``ember.save`` / ``ember.load``: tensors in a safetensors file, structure in JSON.

A saved object (a tensor, a state dict, optimizer/scheduler state, nested lists, tuples
and dicts of tensors and plain Python values) becomes one safetensors file: every tensor
is an entry, and the structure is JSON in the file's metadata. Loading parses JSON and
raw arrays only, so it never runs code from the file. Writes go to a temporary file that
replaces the target atomically, so a crash mid-save leaves the previous file intact.

``ember.load`` also reads PyTorch checkpoints (``torch.save``'s zip + pickle format)
through a restricted unpickler that rebuilds only tensors and plain containers and
refuses every other global.
"""

import collections
import io
import json
import math
import os
import pickle
import tempfile
import zipfile

import numpy as np
import ml_dtypes

from ember import _dtype
from ember._tensor import Tensor, _wrap
from ember.backend import cpu

_FORMAT = "ember.v1"


class _Encoder:
    """Turns an object tree into JSON-able structure plus a dict of named arrays."""

    def __init__(self):
        self.arrays = {}
        self.by_id = {}

    def encode(self, obj, path="obj"):
        if isinstance(obj, Tensor):
            return self._tensor(obj)
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, (int, np.integer)):
            return int(obj)
        if isinstance(obj, (float, np.floating)):
            f = float(obj)
            return f if math.isfinite(f) else {"__float__": repr(f)}
        if isinstance(obj, _dtype.dtype):
            return {"__dtype__": obj.name}
        if isinstance(obj, tuple):
            return {"__tuple__": [self.encode(v, f"{path}[{i}]") for i, v in enumerate(obj)]}
        if isinstance(obj, list):
            return [self.encode(v, f"{path}[{i}]") for i, v in enumerate(obj)]
        if isinstance(obj, dict):
            kind = "ordered" if isinstance(obj, collections.OrderedDict) else "dict"
            items = [[self.encode(k, path), self.encode(v, f"{path}[{k!r}]")]
                     for k, v in obj.items()]
            return {"__dict__": items, "kind": kind}
        if isinstance(obj, np.ndarray):
            return {"__ndarray__": self._array(obj)}
        raise TypeError(f"ember.save: cannot save {type(obj).__name__} at {path}: only tensors, "
                        f"numbers, strings, None, dtypes, and lists/tuples/dicts of them can be "
                        f"saved (the file format never stores code)")

    def _array(self, arr):
        name = f"t{len(self.arrays)}"
        self.arrays[name] = np.ascontiguousarray(arr)
        return name

    def _tensor(self, t):
        key = id(t)
        if key in self.by_id:
            return {"__tensor__": self.by_id[key]}
        name = self._array(t.numpy(force=True))
        self.by_id[key] = name
        meta = {"__tensor__": name, "device": str(t.device), "shape": list(t.shape)}
        if t.requires_grad:
            meta["requires_grad"] = True
        if type(t).__name__ == "Parameter":
            meta["parameter"] = True
        return meta


def _serialize(arrays, metadata):
    """safetensors bytes; dtypes it lacks travel as same-width views, named in the metadata."""
    from safetensors.numpy import save as st_save
    out = {}
    for name, arr in arrays.items():
        dt = _dtype.from_numpy_dtype(arr.dtype)
        stored = _STORED_AS.get(dt.name)
        if stored is not None:
            metadata[f"dtype:{name}"] = dt.name
            arr = arr.view(stored)
        out[name] = arr
    return st_save(out, metadata=metadata)


# dtypes safetensors' NumPy writer lacks, stored as views of the same width
_STORED_AS = {"bfloat16": np.uint16, "complex128": np.float64}


def save(obj, f, pickle_module=None, pickle_protocol=None, _use_new_zipfile_serialization=True):
    """Save ``obj`` to path or binary file object ``f`` (safetensors + JSON structure).

    Example:
        >>> import ember, tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "x.pt")
        >>> ember.save({"w": ember.ones(2), "step": 3}, path)
        >>> ember.load(path)["step"]
        3
    """
    enc = _Encoder()
    structure = enc.encode(obj)
    metadata = {"format": _FORMAT, "structure": json.dumps(structure)}
    data = _serialize(enc.arrays, metadata)
    if hasattr(f, "write"):
        f.write(data)
        return
    _atomic_write(os.fspath(f), data)


def _atomic_write(path, data):
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".ember", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# -- loading ---------------------------------------------------------------------------------
class _Decoder:
    def __init__(self, arrays, map_location):
        self.arrays = arrays
        self.map_location = map_location
        self.made = {}

    def decode(self, node):
        if isinstance(node, list):
            return [self.decode(v) for v in node]
        if not isinstance(node, dict):
            return node
        if "__tensor__" in node:
            return self._tensor(node)
        if "__tuple__" in node:
            return tuple(self.decode(v) for v in node["__tuple__"])
        if "__dict__" in node:
            cls = collections.OrderedDict if node.get("kind") == "ordered" else dict
            return cls((_hashable(self.decode(k)), self.decode(v)) for k, v in node["__dict__"])
        if "__float__" in node:
            return float(node["__float__"])
        if "__dtype__" in node:
            return _dtype.to_dtype(node["__dtype__"])
        if "__ndarray__" in node:
            return self.arrays[node["__ndarray__"]]
        raise ValueError(f"ember.load: unknown entry in the file's structure: {sorted(node)}")

    def _tensor(self, node):
        name = node["__tensor__"]
        if name in self.made:
            return self.made[name]
        if name not in self.arrays:
            raise ValueError(f"ember.load: the structure names tensor {name!r}, which the file "
                             f"does not contain (corrupt file?)")
        arr = self.arrays[name]
        if "shape" in node and list(arr.shape) != node["shape"]:
            arr = arr.reshape(node["shape"])  # safetensors stores 0-d arrays as shape [1]
        t = _place(_wrap(arr, cpu), node.get("device", "cpu"), self.map_location)
        if node.get("parameter"):
            from ember.nn.parameter import Parameter
            t = Parameter(t, requires_grad=node.get("requires_grad", False))
        elif node.get("requires_grad"):
            t.requires_grad_(True)
        self.made[name] = t
        return t


def _hashable(k):
    return tuple(k) if isinstance(k, list) else k


def _place(t, saved_device, map_location):
    if map_location is None:
        target = saved_device
    elif callable(map_location):
        out = map_location(t, saved_device)
        return out if out is not None else t
    elif isinstance(map_location, dict):
        target = map_location.get(saved_device, saved_device)
    else:
        target = map_location
    target = str(target)
    if target.startswith("cuda"):
        from ember.backend import cuda as _cuda
        if not _cuda.is_available():
            raise RuntimeError("Attempting to deserialize object on a CUDA device but CUDA is "
                               "not available. Use map_location='cpu' to map your storages to "
                               "the CPU.")
    return t if target == "cpu" else t.to(target)


def _read_bytes(f):
    if hasattr(f, "read"):
        return f.read()
    path = os.fspath(f)
    with open(path, "rb") as fh:
        return fh.read()


def load(f, map_location=None, pickle_module=None, *, weights_only=True, mmap=None, **kwargs):
    """Load an object saved by :func:`save` (or a PyTorch checkpoint, safely).

    Args:
        f: a path or a binary file object.
        map_location: ``"cpu"``, a device, a dict mapping saved device names to new ones, or
            a callable ``(tensor, saved_device) -> tensor``.
    Raises:
        RuntimeError: if the file is truncated, corrupt, or not in a known format.
    """
    data = _read_bytes(f)
    name = getattr(f, "name", f if isinstance(f, (str, os.PathLike)) else "<file object>")
    if data[:4] == b"PK\x03\x04":
        return _load_torch_zip(data, map_location, name)
    return _load_safetensors(data, map_location, name)


def _load_safetensors(data, map_location, name):
    from safetensors.numpy import load as st_load
    if len(data) < 8:
        raise RuntimeError(f"ember.load: {name} is not an ember checkpoint (only {len(data)} "
                           f"bytes; truncated?)")
    n = int.from_bytes(data[:8], "little")
    if n <= 0 or 8 + n > len(data):
        raise RuntimeError(f"ember.load: {name} is truncated or not an ember/safetensors file "
                           f"(header of {n} bytes, file of {len(data)} bytes)")
    try:
        header = json.loads(data[8:8 + n])
        arrays = st_load(data)
    except Exception as e:
        raise RuntimeError(f"ember.load: {name} is corrupt: {e}") from None
    meta = header.get("__metadata__", {}) or {}
    for key in list(arrays):
        real = meta.get(f"dtype:{key}")
        arr = arrays[key]
        if real is not None:
            arr = arr.view(_dtype.to_dtype(real).np)
        arrays[key] = arr if arr.flags.writeable else arr.copy()
    if meta.get("format") != _FORMAT:  # a plain safetensors file: a flat dict of tensors
        return {k: _wrap(v, cpu) for k, v in arrays.items()}
    try:
        structure = json.loads(meta["structure"])
    except (KeyError, ValueError) as e:
        raise RuntimeError(f"ember.load: {name} has a corrupt structure record: {e}") from None
    return _Decoder(arrays, map_location).decode(structure)


# -- PyTorch checkpoints -------------------------------------------------------------------
_TORCH_STORAGES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "BFloat16Storage": ml_dtypes.bfloat16, "LongStorage": np.int64, "IntStorage": np.int32,
    "ShortStorage": np.int16, "CharStorage": np.int8, "ByteStorage": np.uint8,
    "BoolStorage": np.bool_, "ComplexFloatStorage": np.complex64,
    "ComplexDoubleStorage": np.complex128}


class _StorageType:
    def __init__(self, np_dtype):
        self.np_dtype = np.dtype(np_dtype)


def _rebuild_tensor(storage, offset, size, stride, requires_grad=False, hooks=None,
                    metadata=None):
    item = storage.itemsize
    arr = np.lib.stride_tricks.as_strided(storage[offset:], shape=tuple(size),
                                          strides=tuple(s * item for s in stride))
    t = _wrap(np.array(arr), cpu)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _rebuild_parameter(data, requires_grad, hooks, *args):
    from ember.nn.parameter import Parameter
    return Parameter(data, requires_grad=requires_grad)


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickles only tensors and plain containers; every other global is refused."""

    _ALLOWED = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
        ("builtins", "set"): set, ("builtins", "frozenset"): frozenset,
        ("builtins", "slice"): slice, ("builtins", "complex"): complex,
    }

    def __init__(self, file, zf, prefix):
        super().__init__(file)
        self._zf, self._prefix, self._storages = zf, prefix, {}

    def find_class(self, module, name):
        if module == "torch" and name in _TORCH_STORAGES:
            return _StorageType(_TORCH_STORAGES[name])
        fn = self._ALLOWED.get((module, name))
        if fn is None:
            raise pickle.UnpicklingError(
                f"ember.load: refusing to load global {module}.{name} from a PyTorch checkpoint: "
                f"only tensors, parameters and plain containers can be loaded safely")
        return fn

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"ember.load: unsupported persistent id {pid!r}")
        _, stype, key, _location, numel = pid
        if key not in self._storages:
            raw = self._zf.read(f"{self._prefix}/data/{key}")
            dt = stype.np_dtype if isinstance(stype, _StorageType) else np.dtype(np.uint8)
            self._storages[key] = np.frombuffer(raw, dtype=dt)[:numel]
        return self._storages[key]


def _load_torch_zip(data, map_location, name):
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        pkl = [n for n in zf.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
        if not pkl:
            raise RuntimeError("no data.pkl record")
        prefix = pkl[0].rsplit("/", 1)[0] if "/" in pkl[0] else ""
        obj = _RestrictedUnpickler(io.BytesIO(zf.read(pkl[0])), zf, prefix).load()
    except pickle.UnpicklingError:
        raise
    except Exception as e:
        raise RuntimeError(f"ember.load: {name} is not a readable PyTorch checkpoint: {e}") \
            from None
    if map_location is not None:
        obj = _map_tree(obj, lambda t: _place(t, "cpu", map_location))
    return obj


def _map_tree(obj, fn):
    if isinstance(obj, Tensor):
        return fn(obj)
    if isinstance(obj, list):
        return [_map_tree(v, fn) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_map_tree(v, fn) for v in obj)
    if isinstance(obj, dict):
        out = type(obj)() if isinstance(obj, collections.OrderedDict) else {}
        for k, v in obj.items():
            out[k] = _map_tree(v, fn)
        return out
    return obj
