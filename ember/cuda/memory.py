"""GPU memory statistics of CuPy's default memory pool, with PyTorch's names.

*Allocated* memory is what live tensors (and CuPy's scratch arrays) hold; *reserved*
memory is what the pool has taken from the driver, allocated or cached for reuse.
``empty_cache()`` returns the cached part. Peaks are kept by ember's allocator and a
CuPy memory hook (``ember/backend/cuda.py``) since CuPy's pool keeps none.

Before CUDA is set up every counter reads 0 and nothing is imported, as in PyTorch.
"""

import collections
import warnings

from ember.backend import cuda as _backend
from ember.cuda._device import _index


def _device(device):
    idx = _index(device)
    return _backend.current_device() if idx < 0 else _backend.check_index(idx)


def _counts(device):
    """``(index, used, reserved, stats)``, or None before CUDA is set up."""
    if not _backend.is_initialized():
        return None
    idx = _device(device)
    used, reserved = _backend.pool_bytes(idx)
    return idx, used, reserved, _backend.stats(idx)


def memory_allocated(device=None):
    """Bytes held by live GPU arrays on ``device`` (default: current).

    Example:
        >>> import ember
        >>> ember.cuda.memory_allocated() >= 0
        True
    """
    c = _counts(device)
    return 0 if c is None else c[1]


def max_memory_allocated(device=None):
    """Peak of :func:`memory_allocated` since start or ``reset_peak_memory_stats``."""
    c = _counts(device)
    if c is None:
        return 0
    _, used, _, st = c
    st.peak_allocated = max(st.peak_allocated, used)
    return st.peak_allocated


def memory_reserved(device=None):
    """Bytes the pool holds from the driver on ``device`` (allocated + cached)."""
    c = _counts(device)
    return 0 if c is None else c[2]


def max_memory_reserved(device=None):
    """Peak of :func:`memory_reserved`."""
    c = _counts(device)
    if c is None:
        return 0
    _, _, reserved, st = c
    st.peak_reserved = max(st.peak_reserved, reserved)
    return st.peak_reserved


def reset_peak_memory_stats(device=None):
    """Restart the peaks (allocated and reserved) from the current values."""
    c = _counts(device)
    if c is not None:
        _, used, reserved, st = c
        st.peak_allocated, st.peak_reserved, st.live = used, reserved, used


def reset_max_memory_allocated(device=None):
    """Deprecated PyTorch name: resets all peaks (:func:`reset_peak_memory_stats`)."""
    warnings.warn("ember.cuda.reset_max_memory_allocated now calls "
                  "ember.cuda.reset_peak_memory_stats, which resets /all/ peak memory stats.",
                  FutureWarning, stacklevel=2)
    reset_peak_memory_stats(device)


def reset_max_memory_cached(device=None):
    """Deprecated PyTorch name: resets all peaks (:func:`reset_peak_memory_stats`)."""
    warnings.warn("ember.cuda.reset_max_memory_cached now calls "
                  "ember.cuda.reset_peak_memory_stats, which resets /all/ peak memory stats.",
                  FutureWarning, stacklevel=2)
    reset_peak_memory_stats(device)


def memory_cached(device=None):
    """Deprecated PyTorch name of :func:`memory_reserved`."""
    return memory_reserved(device)


def max_memory_cached(device=None):
    """Deprecated PyTorch name of :func:`max_memory_reserved`."""
    return max_memory_reserved(device)


def empty_cache():
    """Return the pool's cached (unallocated) blocks to the driver."""
    _backend.empty_cache()


def mem_get_info(device=None):
    """``(free, total)`` GPU memory in bytes as the driver reports it (all processes)."""
    _backend.xp()
    return _backend.mem_get_info(_device(device))


def set_per_process_memory_fraction(fraction, device=None):
    """Cap the pool on ``device`` at ``fraction`` of the GPU's memory (CuPy's pool limit)."""
    if not 0 <= fraction <= 1:
        raise ValueError(f"Invalid fraction value: {fraction}. Allowed range: 0~1")
    cp = _backend.xp()
    with cp.cuda.Device(_device(device)):
        cp.get_default_memory_pool().set_limit(fraction=fraction)


def memory_stats(device=None):
    """A flat dict of counters, with PyTorch's key names where ember keeps the same thing.

    Keys: ``allocated_bytes.all.{current,peak}``, ``reserved_bytes.all.{current,peak}``,
    ``active_bytes.all.{current,peak}``, ``inactive_split_bytes.all.current`` (cached),
    ``allocation.all.{allocated,freed}`` (pool mallocs and frees), ``num_ooms``,
    ``num_alloc_retries`` (CuPy retries inside its pool: reported as 0). Empty before
    CUDA is set up.
    """
    c = _counts(device)
    if c is None:
        return collections.OrderedDict()
    idx, used, reserved, st = c
    peak_alloc = max(st.peak_allocated, used)
    peak_res = max(st.peak_reserved, reserved)
    d = {"allocated_bytes.all.current": used, "allocated_bytes.all.peak": peak_alloc,
         "active_bytes.all.current": used, "active_bytes.all.peak": peak_alloc,
         "reserved_bytes.all.current": reserved, "reserved_bytes.all.peak": peak_res,
         "inactive_split_bytes.all.current": reserved - used,
         "allocation.all.allocated": st.num_alloc, "allocation.all.freed": st.num_free,
         "num_ooms": st.num_ooms, "num_alloc_retries": 0}
    return collections.OrderedDict(sorted(d.items()))


def memory_summary(device=None, abbreviated=False):
    """A printable table of :func:`memory_stats` for ``device``."""
    s = memory_stats(device)
    idx = _device(device) if s else max(_index(device), 0)
    fmt = _backend.format_bytes
    rows = [("Allocated memory", "allocated_bytes"), ("Active memory", "active_bytes"),
            ("GPU reserved memory", "reserved_bytes")]
    width = 75
    title = f" ember CUDA memory summary, device ID {idx} (CuPy memory pool)"
    out = ["|" + "=" * (width - 2) + "|", f"|{title:<{width - 2}}|",
           "|" + "-" * (width - 2) + "|",
           f"|{'':<28}|{'Cur Usage':>21} |{'Peak Usage':>21} |",
           "|" + "-" * (width - 2) + "|"]
    for title, key in rows:
        cur, peak = s.get(f"{key}.all.current", 0), s.get(f"{key}.all.peak", 0)
        out.append(f"| {title:<27}|{fmt(cur):>21} |{fmt(peak):>21} |")
    out.append("|" + "-" * (width - 2) + "|")
    cached = s.get("inactive_split_bytes.all.current", 0)
    out.append(f"| {'Cached (reusable) memory':<27}|{fmt(cached):>21} |{'':>21} |")
    out.append(f"| {'Pool mallocs / frees':<27}|"
               f"{s.get('allocation.all.allocated', 0):>21} |"
               f"{s.get('allocation.all.freed', 0):>21} |")
    out.append(f"| {'Out-of-memory errors':<27}|{s.get('num_ooms', 0):>21} |{'':>21} |")
    out.append("|" + "=" * (width - 2) + "|")
    return "\n".join(out) + "\n"
