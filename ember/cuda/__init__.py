"""``ember.cuda``: NVIDIA GPUs through CuPy, with PyTorch's ``torch.cuda`` API.

Devices, random seeds, synchronisation, streams and events, and the memory statistics
of CuPy's memory pool. Nothing here imports CuPy until a function needs the GPU; on a
machine without CuPy or without a GPU, ``is_available()`` is False, the memory counters
read 0, seeding is silently skipped (as in PyTorch), and everything that needs a GPU
raises a RuntimeError that says what is missing.

Example:
    >>> import ember
    >>> ember.cuda.is_available() in (True, False)
    True
    >>> dev = "cuda" if ember.cuda.is_available() else "cpu"
    >>> ember.ones(2, device=dev).sum().item()
    2.0
"""

from ember.backend import cuda as _backend
from ember.backend.cuda import OutOfMemoryError  # noqa: F401
from ember.cuda._device import _index
from ember.cuda.memory import (memory_allocated, max_memory_allocated, memory_reserved,  # noqa: F401
                               max_memory_reserved, memory_cached, max_memory_cached,
                               reset_peak_memory_stats, reset_max_memory_allocated,
                               reset_max_memory_cached, empty_cache, memory_stats,
                               memory_summary, mem_get_info, set_per_process_memory_fraction)
from ember.cuda.streams import (Stream, Event, StreamContext, current_stream,  # noqa: F401
                                default_stream, stream, set_stream)

__all__ = ["is_available", "device_count", "init", "is_initialized", "current_device",
           "set_device", "device", "device_of", "get_device_name", "get_device_capability",
           "get_device_properties", "synchronize", "manual_seed", "manual_seed_all", "seed",
           "seed_all", "initial_seed", "get_rng_state", "set_rng_state", "is_bf16_supported",
           "OutOfMemoryError", "Stream", "Event", "StreamContext", "current_stream",
           "default_stream", "stream", "set_stream", "memory_allocated", "max_memory_allocated",
           "memory_reserved", "max_memory_reserved", "reset_peak_memory_stats",
           "reset_max_memory_allocated", "empty_cache", "memory_stats", "memory_summary",
           "mem_get_info", "set_per_process_memory_fraction", "amp"]


def is_available():
    """True when CuPy imports and finds at least one GPU.

    Example:
        >>> import ember
        >>> isinstance(ember.cuda.is_available(), bool)
        True
    """
    return _backend.is_available()


def device_count():
    """Number of GPUs (0 without CuPy or a GPU)."""
    return _backend.device_count()


def init():
    """Set CUDA up now (otherwise done by the first CUDA tensor)."""
    _backend.init()


def is_initialized():
    """Whether CUDA has been set up in this process."""
    return _backend.is_initialized()


def current_device():
    """Index of the current GPU (where ``device="cuda"`` places new tensors)."""
    _backend.xp()
    return _backend.current_device()


def set_device(device):
    """Make ``device`` (an index, ``"cuda:N"`` or an ``ember.device``) current."""
    _backend.set_device(_index(device))


class device:
    """Context manager that makes ``device`` current inside the block (-1 or None: no-op).

    Example:
        >>> import ember
        >>> ctx = ember.cuda.device(-1)   # a no-op, even without a GPU
        >>> with ctx:
        ...     pass
    """

    def __init__(self, device):
        self.idx = -1 if device is None else _index(device)
        self.prev_idx = -1

    def __enter__(self):
        if self.idx >= 0:
            self.prev_idx = current_device()
            if self.prev_idx != self.idx:
                set_device(self.idx)
        return self

    def __exit__(self, *exc):
        if self.idx >= 0 and self.prev_idx != self.idx:
            set_device(self.prev_idx)
        return False


class device_of(device):
    """Context manager that makes the GPU of tensor ``obj`` current (no-op for CPU tensors)."""

    def __init__(self, obj):
        super().__init__(obj.get_device() if obj.is_cuda else -1)


class _CudaDeviceProperties:
    """What ``get_device_properties`` reports about a GPU."""

    def __init__(self, p):
        name = p.get("name", b"")
        self.name = name.decode(errors="replace") if isinstance(name, bytes) else str(name)
        self.major, self.minor = int(p.get("major", 0)), int(p.get("minor", 0))
        self.total_memory = int(p.get("totalGlobalMem", 0))
        self.multi_processor_count = int(p.get("multiProcessorCount", 0))
        self.is_integrated = int(p.get("integrated", 0))
        self.L2_cache_size = int(p.get("l2CacheSize", 0))
        self.warp_size = int(p.get("warpSize", 32))
        self.max_threads_per_multi_processor = int(p.get("maxThreadsPerMultiProcessor", 0))
        self.regs_per_multiprocessor = int(p.get("regsPerMultiprocessor", 0))
        self.shared_memory_per_block = int(p.get("sharedMemPerBlock", 0))

    def __repr__(self):
        return (f"_CudaDeviceProperties(name='{self.name}', major={self.major}, "
                f"minor={self.minor}, total_memory={self.total_memory // 2 ** 20}MB, "
                f"multi_processor_count={self.multi_processor_count}, "
                f"L2_cache_size={self.L2_cache_size // 2 ** 20}MB)")


def get_device_properties(device=None):
    """Name, compute capability, memory and multiprocessors of a GPU (default: current)."""
    return _CudaDeviceProperties(_backend.properties(_current_or(device)))


def get_device_name(device=None):
    """The GPU's name, e.g. ``'NVIDIA H100 80GB HBM3'``."""
    return get_device_properties(device).name


def get_device_capability(device=None):
    """The GPU's compute capability ``(major, minor)``, e.g. ``(9, 0)``."""
    p = get_device_properties(device)
    return p.major, p.minor


def synchronize(device=None):
    """Wait until every kernel queued on the GPU (default: current) has finished."""
    _backend.synchronize(_current_or(device))


def _current_or(device):
    _backend.xp()
    idx = -1 if device is None else _index(device)
    return _backend.current_device() if idx < 0 else idx


# -- random numbers ------------------------------------------------------------------------------
def _generator(idx=None):
    from ember.ops.random import _gen
    return _gen(None, f"cuda:{_backend.current_device() if idx is None else idx}")


def manual_seed(seed):
    """Seed the current GPU's generator (silently nothing without CUDA, as in PyTorch)."""
    if is_available():
        _generator().manual_seed(seed)


def manual_seed_all(seed):
    """Seed every GPU's generator (silently nothing without CUDA)."""
    for i in range(device_count()):
        _generator(i).manual_seed(seed)


def seed():
    """Seed the current GPU's generator from fresh entropy."""
    if is_available():
        _generator().seed()


def seed_all():
    """Seed every GPU's generator from fresh entropy (one seed for all)."""
    if is_available():
        s = _generator().seed()
        manual_seed_all(s)


def initial_seed():
    """The current GPU generator's seed."""
    return _generator().initial_seed()


def get_rng_state(device="cuda"):
    """The state of a GPU's generator as a uint8 tensor."""
    return _generator(_current_or(device)).get_state()


def set_rng_state(new_state, device="cuda"):
    """Restore a GPU's generator from ``get_rng_state()``."""
    _generator(_current_or(device)).set_state(new_state)


def get_rng_state_all():
    return [get_rng_state(i) for i in range(device_count())]


def set_rng_state_all(new_states):
    for i, s in enumerate(new_states):
        set_rng_state(s, i)


# -- capabilities --------------------------------------------------------------------------------
_bf16 = {}


def is_bf16_supported(including_emulation=True):
    """Whether bfloat16 tensors work on the current GPU.

    Needs a GPU of compute capability 8.0+ (Ampere) and a CuPy that computes in
    bfloat16 (CuPy 14 with ml_dtypes; CuPy 13 has no bfloat16), probed once.
    """
    if not is_available():
        return False
    idx = current_device()
    if idx not in _bf16:
        _bf16[idx] = _probe_bf16() and get_device_capability(idx)[0] >= 8
    return _bf16[idx]


def _probe_bf16():
    try:
        import ml_dtypes
        import numpy as np
        cp = _backend.xp()
        a = cp.asarray(np.ones(4, dtype=ml_dtypes.bfloat16))
        return bool(((a * 2) @ a).get() == 8)
    except Exception:
        return False


from ember.cuda import amp  # noqa: E402,F401
