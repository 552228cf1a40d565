"""CUDA through CuPy: the one module that imports CuPy, lazily, on first CUDA use.

``import ember`` never imports CuPy. The first CUDA tensor (or ``ember.cuda`` call that
needs the GPU) imports it, checks that a GPU exists, and installs ember's allocator:
CuPy's default memory pool behind a wrapper that turns CuPy's out-of-memory error into
:class:`OutOfMemoryError` (saying how much was asked, allocated, reserved and free) and
keeps the peak of reserved memory. Frees never reach an allocator, so the peak of
*allocated* memory comes from a CuPy ``MemoryHook`` that sees every pool malloc and free.

Host/device copies live here too: ``to_device`` (asynchronous from pinned memory when
``non_blocking``), ``to_host``, and pinned host buffers (``pinned_empty``, ``is_pinned``).
"""

import math
import threading

import numpy as np

NOT_AVAILABLE = ("CUDA is not available: ember needs CuPy (pip install 'ember[cuda]') and an "
                 "NVIDIA GPU")

_state = {"cupy": None, "error": None, "ready": False, "current": 0, "count": None}
_lock = threading.RLock()


class OutOfMemoryError(RuntimeError, MemoryError):
    """The GPU ran out of memory (``ember.cuda.OutOfMemoryError``, like PyTorch's).

    A RuntimeError as in PyTorch, and a MemoryError so code that catches CuPy's
    out-of-memory error (a MemoryError) still does.
    """


# -- import and availability --------------------------------------------------------------------
def _import():
    cp = _state["cupy"]
    if cp is not None:
        return cp
    if _state["error"] is not None:
        raise RuntimeError(_state["error"])
    try:
        import cupy as cp
    except Exception as e:  # ImportError, or a CUDA library CuPy could not load
        _state["error"] = f"{NOT_AVAILABLE} (importing CuPy failed: {e})"
        raise RuntimeError(_state["error"]) from None
    _state["cupy"] = cp
    return cp


def _count(cp):
    if _state["count"] is None:
        try:
            _state["count"] = int(cp.cuda.runtime.getDeviceCount())
        except Exception:  # CUDARuntimeError: no driver, no device
            _state["count"] = 0
    return _state["count"]


def is_available():
    """True when CuPy imports and sees at least one GPU (never raises)."""
    try:
        cp = _import()
    except RuntimeError:
        return False
    return _count(cp) > 0


def device_count():
    """Number of GPUs CuPy sees (0 without CuPy)."""
    try:
        return _count(_import())
    except RuntimeError:
        return 0


def is_initialized():
    """Whether ember has set CUDA up (first CUDA tensor or ``ember.cuda.init()``)."""
    return _state["ready"]


def xp():
    """The cupy module, ready for use: a GPU exists and ember's allocator is installed.

    Raises:
        RuntimeError: without CuPy or without a GPU (the message says which).
    """
    if not _state["ready"]:
        init()
    return _state["cupy"]


def loaded():
    """The cupy module if ember has set CUDA up, else None (never imports anything)."""
    return _state["cupy"] if _state["ready"] else None


def init():
    """Import CuPy, check for a GPU and install the allocator (idempotent)."""
    with _lock:
        if _state["ready"]:
            return
        cp = _import()
        if _count(cp) == 0:
            raise RuntimeError(f"{NOT_AVAILABLE} (CuPy {cp.__version__} is installed but found "
                               f"no GPU)")
        _install_allocator(cp)
        _state["ready"] = True


# -- current device ---------------------------------------------------------------------------
def check_index(index):
    """``index`` as an int, validated against the GPUs present (PyTorch's message)."""
    index = int(index)
    n = device_count()
    if not 0 <= index < n:
        raise RuntimeError(f"CUDA error: invalid device ordinal (device {index} requested, "
                           f"{n} device{'s' if n != 1 else ''} available)")
    return index


def current_device():
    """Index of the current CUDA device (CuPy's, once CUDA is set up)."""
    cp = loaded()
    if cp is None:
        return _state["current"]
    return int(cp.cuda.runtime.getDevice())


def set_device(index):
    """Make GPU ``index`` current for new allocations and kernels."""
    index = int(index)
    if index < 0:  # PyTorch ignores negative indices
        return
    cp = xp()
    cp.cuda.runtime.setDevice(check_index(index))
    _state["current"] = index


def on_device(index):
    """Context manager that makes GPU ``index`` current inside the block."""
    return xp().cuda.Device(index)


def properties(index):
    """CuPy's ``getDeviceProperties`` dict for GPU ``index``."""
    return xp().cuda.runtime.getDeviceProperties(check_index(index))


def synchronize(index=None):
    cp = xp()
    cp.cuda.Device(current_device() if index is None else check_index(index)).synchronize()


# -- the allocator: OOM translation and peaks -----------------------------------------------------
class _DeviceStats:
    __slots__ = ("live", "peak_allocated", "peak_reserved", "num_alloc", "num_free", "num_ooms")

    def __init__(self):
        self.live = self.peak_allocated = self.peak_reserved = 0
        self.num_alloc = self.num_free = self.num_ooms = 0


_stats = {}


def stats(index):
    """The counters of GPU ``index`` (created empty on first use)."""
    st = _stats.get(index)
    if st is None:
        st = _stats[index] = _DeviceStats()
    return st


def _install_allocator(cp):
    pool = cp.get_default_memory_pool()
    malloc = pool.malloc
    cupy_oom = cp.cuda.memory.OutOfMemoryError

    def allocate(size):
        try:
            mem = malloc(size)
        except cupy_oom as e:
            raise _oom_error(cp, pool, size) from e
        st = _stats.get(mem.device_id) or stats(mem.device_id)
        st.num_alloc += 1
        reserved = pool.total_bytes()  # O(1); the pool of the current device, which mem is on
        if reserved > st.peak_reserved:
            st.peak_reserved = reserved
        return mem

    stats(int(cp.cuda.runtime.getDevice())).live = pool.used_bytes()  # blocks CuPy already had
    cp.cuda.set_allocator(allocate)
    _make_hook(cp).__enter__()  # MemoryHooks are per thread: this is the thread that set up CUDA


def _make_hook(cp):
    table, new = _stats, stats  # bound here: frees also run while the interpreter exits

    class _PeakHook(cp.cuda.MemoryHook):
        """Counts the bytes of live pool blocks per device, and their peak."""

        name = "ember_peak_memory"

        def malloc_postprocess(self, **kw):
            if kw.get("mem_ptr"):
                st = table.get(kw["device_id"]) or new(kw["device_id"])
                st.live += kw["mem_size"]
                if st.live > st.peak_allocated:
                    st.peak_allocated = st.live

        def free_postprocess(self, **kw):
            st = table.get(kw["device_id"])
            if st is not None:
                st.live -= kw["mem_size"]
                st.num_free += 1

    return _PeakHook()


def _oom_error(cp, pool, size):
    dev = int(cp.cuda.runtime.getDevice())
    stats(dev).num_ooms += 1
    try:
        free, total = cp.cuda.runtime.memGetInfo()
    except Exception:
        free = total = float("nan")
    used, reserved = pool.used_bytes(), pool.total_bytes()
    return OutOfMemoryError(
        f"CUDA out of memory. Tried to allocate {format_bytes(size)}. GPU {dev} has a total "
        f"capacity of {format_bytes(total)} of which {format_bytes(free)} is free. Of the "
        f"allocated memory {format_bytes(used)} is allocated by ember (CuPy's memory pool), "
        f"and {format_bytes(reserved - used)} is reserved by ember but unallocated. If "
        f"reserved but unallocated memory is large, ember.cuda.empty_cache() returns it to "
        f"the driver.")


def format_bytes(n):
    """``1536 -> '1.50 KiB'``, like PyTorch's memory messages."""
    if isinstance(n, float) and math.isnan(n):
        return "unknown"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n} bytes" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024.0


def pool_bytes(index):
    """``(used, reserved)`` bytes of CuPy's default pool on GPU ``index``."""
    cp = xp()
    pool = cp.get_default_memory_pool()
    with cp.cuda.Device(index):
        return pool.used_bytes(), pool.total_bytes()


def empty_cache():
    """Return the pool's free blocks (on every GPU ember has used) to the driver."""
    cp = loaded()
    if cp is None:
        return
    pool = cp.get_default_memory_pool()
    for i in list(_stats):  # only GPUs that have allocated (a context per GPU costs memory)
        with cp.cuda.Device(i):
            pool.free_all_blocks()


def mem_get_info(index):
    """``(free, total)`` bytes of GPU ``index`` as the driver reports them."""
    cp = xp()
    with cp.cuda.Device(check_index(index)):
        free, total = cp.cuda.runtime.memGetInfo()
    return int(free), int(total)


# -- host <-> device copies and pinned memory ----------------------------------------------------
_inflight = []  # (event, host array): pinned sources of asynchronous copies still running


def to_device(arr, index, non_blocking=False):
    """``arr`` (NumPy or CuPy) copied to GPU ``index``.

    From pinned host memory with ``non_blocking`` the copy is queued on the current stream
    and returns at once; the source is kept alive until the copy has run.
    """
    cp = xp()
    with cp.cuda.Device(index):
        if not isinstance(arr, np.ndarray):
            return arr.copy()  # device to device (CuPy copies across GPUs)
        if non_blocking and arr.flags.c_contiguous and arr.size and is_pinned(arr):
            out = cp.empty(arr.shape, dtype=arr.dtype)
            stream = cp.cuda.get_current_stream()
            out.set(arr, stream=stream)
            _keep_alive(cp, arr, stream)
            return out
        return cp.asarray(arr)


def _keep_alive(cp, arr, stream):
    ev = cp.cuda.Event(disable_timing=True)
    ev.record(stream)
    _inflight[:] = [(e, a) for e, a in _inflight if not e.done]
    _inflight.append((ev, arr))


def to_host(arr):
    """``arr`` as a NumPy array (a synchronous copy for CuPy arrays)."""
    return arr if isinstance(arr, np.ndarray) else arr.get()


def pinned_empty(shape, dtype):
    """An uninitialised NumPy array in page-locked (pinned) host memory from CuPy's pool."""
    cp = xp()
    dt = np.dtype(dtype)
    count = int(np.prod(shape, dtype=np.int64))
    if count == 0:
        return np.empty(shape, dtype=dt)
    mem = cp.cuda.alloc_pinned_memory(count * dt.itemsize)
    return np.frombuffer(mem, dtype=dt, count=count).reshape(shape)


def is_pinned(arr):
    """Whether NumPy array ``arr`` lives in pinned host memory (False without CUDA)."""
    cp = loaded()
    if cp is None or not isinstance(arr, np.ndarray):
        return False
    pinned = cp.cuda.PinnedMemoryPointer
    b = arr
    while b is not None:
        if isinstance(b, pinned):
            return True
        b = b.obj if isinstance(b, memoryview) else getattr(b, "base", None)
    try:  # pinned by someone else (e.g. a PyTorch tensor shared through NumPy)
        ptr = arr.__array_interface__["data"][0]
        return int(cp.cuda.runtime.pointerGetAttributes(ptr).type) == 1  # cudaMemoryTypeHost
    except Exception:
        return False


def _reset_for_tests():
    """Forget what was learnt about CuPy (tests simulate machines with and without it)."""
    _state.update(cupy=None, error=None, ready=False, current=0, count=None)
