"""A simulated CuPy on NumPy, so the CUDA plumbing can be tested on machines without a GPU.

It models only what ``ember/backend/cuda.py`` and ``ember/cuda`` use of CuPy (device
selection, the default memory pool with hooks and an allocator, pinned memory, streams,
events), written against CuPy's documented API. "Device" arrays are NumPy arrays of a
subclass with ``get``/``set``, so every op forward runs unchanged. What this checks is
ember's logic; tests/gpu checks the real CuPy.

Use ``with installed():``; ember's CUDA state is restored afterwards. ``installed(strict=True)``
swaps the lenient arrays for tests/gpu/strict_cupy.py's, which hold ember to CuPy's rules.
"""

import contextlib
import sys
import types

import numpy as np


class DevArray(np.ndarray):
    """A NumPy array standing in for a cupy.ndarray."""

    class _Dev:
        id = 0

    device = _Dev()

    def get(self, stream=None):
        return np.array(self.view(np.ndarray))

    def set(self, arr, stream=None):
        self.view(np.ndarray)[...] = arr
        FAKE_LOG.append(("set", stream))


FAKE_LOG = []


def _dev(x):
    if isinstance(x, np.ndarray) and not isinstance(x, DevArray):
        return x.view(DevArray)
    if isinstance(x, tuple):
        return type(x)(*map(_dev, x)) if hasattr(x, "_fields") else tuple(map(_dev, x))
    return x


def _wrap(fn):
    def f(*a, **k):
        return _dev(fn(*a, **k))
    return f


class _Namespace(types.ModuleType):
    """NumPy's submodule ``mod`` (linalg, fft, lib.stride_tricks...) with device results."""

    def __init__(self, mod):
        super().__init__(mod.__name__)
        self._mod = mod

    def __getattr__(self, name):
        attr = getattr(self._mod, name)
        if isinstance(attr, types.ModuleType):
            return _Namespace(attr)
        return _wrap(attr) if callable(attr) and not isinstance(attr, type) else attr


class OutOfMemoryError(MemoryError):
    def __init__(self, size, total, limit=0):
        super().__init__(f"Out of memory allocating {size:,} bytes (allocated so far: "
                         f"{total:,} bytes).")


class MemoryHook:
    name = "hook"

    def __enter__(self):
        POOL.hooks.append(self)
        return self

    def __exit__(self, *exc):
        POOL.hooks.remove(self)

    def malloc_postprocess(self, **kw):
        pass

    def free_postprocess(self, **kw):
        pass


class _Mem:
    def __init__(self, size, device_id, ptr):
        self.size, self.device_id, self.ptr = size, device_id, ptr


class _Pool:
    """CuPy's MemoryPool: per-device used/total bytes, a limit, hooks on malloc and free."""

    def __init__(self):
        self.used, self.total, self.hooks, self.limit, self.next_ptr = {}, {}, [], 1 << 20, 1

    def malloc(self, size):
        dev = RUNTIME.current
        rounded = -(-size // 512) * 512
        if self.used.get(dev, 0) + rounded > self.limit:
            raise OutOfMemoryError(size, self.used.get(dev, 0))
        self.used[dev] = self.used.get(dev, 0) + rounded
        self.total[dev] = max(self.total.get(dev, 0), self.used[dev])
        self.next_ptr += rounded
        mem = _Mem(rounded, dev, self.next_ptr)
        for h in self.hooks:
            h.malloc_postprocess(device_id=dev, size=size, mem_size=rounded, mem_ptr=mem.ptr,
                                 pmem_id=id(mem))
        return mem

    def free(self, mem):
        self.used[mem.device_id] -= mem.size
        for h in self.hooks:
            h.free_postprocess(device_id=mem.device_id, mem_size=mem.size, mem_ptr=mem.ptr,
                               pmem_id=id(mem))

    def used_bytes(self):
        return self.used.get(RUNTIME.current, 0)

    def total_bytes(self):
        return self.total.get(RUNTIME.current, 0)

    def free_all_blocks(self, stream=None):
        self.total[RUNTIME.current] = self.used_bytes()

    def set_limit(self, size=None, fraction=None):
        self.limit = int(fraction * RUNTIME.memGetInfo()[1]) if fraction is not None else size


class _Runtime:
    def __init__(self, count):
        self.count, self.current = count, 0

    def getDeviceCount(self):
        return self.count

    def getDevice(self):
        return self.current

    def setDevice(self, i):
        self.current = i

    def memGetInfo(self):
        return 3 << 30, 8 << 30

    def getDeviceProperties(self, i):
        return {"name": b"Fake GPU", "major": 8, "minor": 0, "totalGlobalMem": 8 << 30,
                "multiProcessorCount": 4, "l2CacheSize": 1 << 22}

    def pointerGetAttributes(self, ptr):
        raise RuntimeError("not a device pointer")


class Device:
    def __init__(self, i=None):
        self.id = RUNTIME.current if i is None else i

    def __enter__(self):
        self._prev = RUNTIME.current
        RUNTIME.current = self.id
        return self

    def __exit__(self, *exc):
        RUNTIME.current = self._prev

    def use(self):
        RUNTIME.current = self.id

    def synchronize(self):
        FAKE_LOG.append(("synchronize", self.id))


class PinnedMemoryPointer(bytearray):
    """Pinned host memory: a bytearray here (it exports the buffer protocol, as CuPy's)."""


class Stream:
    _n = [100]
    null = None

    def __init__(self, null=False, non_blocking=False, ptds=False):
        Stream._n[0] += 1
        self.ptr, self.device_id, self.done = (0 if null else Stream._n[0]), RUNTIME.current, True

    def synchronize(self):
        FAKE_LOG.append(("stream_sync", self.ptr))

    def wait_event(self, ev):
        FAKE_LOG.append(("wait_event", self.ptr, ev.ptr))

    def __enter__(self):
        STREAMS.append(self)
        return self

    def __exit__(self, *exc):
        STREAMS.pop()

    def use(self):
        STREAMS[-1:] = [self]


STREAMS = []


class Event:
    _n = [500]

    def __init__(self, block=False, disable_timing=False, interprocess=False):
        Event._n[0] += 1
        self.ptr, self.done, self.timing = Event._n[0], True, not disable_timing

    def record(self, stream=None):
        FAKE_LOG.append(("record", self.ptr, getattr(stream, "ptr", None)))

    def synchronize(self):
        FAKE_LOG.append(("event_sync", self.ptr))


def get_current_stream(device_id=-1):
    return STREAMS[-1]


def get_elapsed_time(a, b):
    return 1.5


RUNTIME = _Runtime(2)
POOL = _Pool()


def make_module():
    """A fresh fake ``cupy`` module (and reset simulated device state)."""
    global RUNTIME, POOL
    RUNTIME, POOL = _Runtime(2), _Pool()
    Stream.null = Stream(null=True)
    STREAMS[:] = [Stream.null]
    FAKE_LOG.clear()
    allocator = {}
    cuda = types.SimpleNamespace(
        runtime=RUNTIME, Device=Device, MemoryHook=MemoryHook, Stream=Stream, Event=Event,
        PinnedMemoryPointer=PinnedMemoryPointer, get_current_stream=get_current_stream,
        get_elapsed_time=get_elapsed_time, memory=types.SimpleNamespace(
            OutOfMemoryError=OutOfMemoryError),
        set_allocator=lambda fn: allocator.__setitem__("fn", fn),
        alloc_pinned_memory=lambda n: PinnedMemoryPointer(n))
    mod = types.ModuleType("cupy")
    mod.__version__ = "0.fake"
    mod.cuda = cuda
    mod.get_default_memory_pool = lambda: POOL
    mod._allocator = allocator

    def __getattr__(name):  # every other name: NumPy's, results as "device" arrays
        attr = getattr(np, name)
        if isinstance(attr, types.ModuleType):
            return _Namespace(attr)
        if isinstance(attr, np.ufunc):
            return attr  # ufuncs keep the subclass (and their methods)
        return _wrap(attr) if callable(attr) and not isinstance(attr, type) else attr
    mod.__getattr__ = __getattr__
    mod.asarray = lambda a, dtype=None: _dev(np.array(a, dtype=dtype))
    mod.empty = lambda shape, dtype=float: _dev(np.empty(shape, dtype))
    mod.from_dlpack = lambda x: _dev(np.from_dlpack(x))
    return mod


@contextlib.contextmanager
def installed(strict=False):
    """Run the block with ember believing CuPy and two GPUs are present (with ``strict``,
    the arrays and functions of tests/gpu/strict_cupy.py, and its ``cupyx``)."""
    from ember import backend
    from ember.backend import cuda as bc
    from ember.ops import random as rnd
    import ember.cuda as ec
    saved = (dict(bc._state), dict(bc._stats), list(bc._inflight), dict(rnd._cuda_generators),
             dict(ec._bf16))
    cuda_devs = [d for d in set(backend._cache.values()) if d.type == "cuda"]
    saved_xp = [(d, d.xp) for d in cuda_devs]
    if strict:
        from tests.gpu import strict_cupy
        module = strict_cupy.make_module()
        from tests.gpu import fake_nccl
        module.cuda.nccl = fake_nccl.module()
        cupyx = {"cupy": module, "cupy.cuda": module.cuda, "cupy.cuda.nccl": module.cuda.nccl,
                 "cupyx": module._cupyx, "cupyx.scipy": module._cupyx.scipy}
        if hasattr(module._cupyx.scipy, "special"):
            cupyx["cupyx.scipy.special"] = module._cupyx.scipy.special
    else:
        module, cupyx = make_module(), {}
    saved_modules = {k: sys.modules.get(k) for k in cupyx}
    sys.modules.update(cupyx)
    bc._state.update(cupy=module, error=None, ready=False, current=0, count=None)
    bc._stats.clear()
    for d in cuda_devs:
        d.xp = None
    try:
        yield bc._state["cupy"]
    finally:
        for k, v in saved_modules.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
        for target, value in zip((bc._state, bc._stats, rnd._cuda_generators, ec._bf16),
                                 (saved[0], saved[1], saved[3], saved[4])):
            target.clear()
            target.update(value)
        bc._inflight[:] = saved[2]
        for d in set(backend._cache.values()):
            if d.type == "cuda":
                d.xp = None
        for d, xp in saved_xp:
            d.xp = xp
