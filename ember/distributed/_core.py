"""Process groups, backends and the job-wide failure handling."""

import datetime
import sys
import time
import traceback


class ReduceOp:
    """Reduction operations for collectives (``ReduceOp.SUM`` etc.)."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    BAND = "band"
    BOR = "bor"
    BXOR = "bxor"


class Work:
    """Handle of an asynchronous collective (``async_op=True``)."""

    def __init__(self, poll, finish=None, timeout=None, what="collective", result=None):
        self._poll, self._finish, self._timeout, self._what = poll, finish, timeout, what
        self._done = False
        self._result = result

    def is_completed(self):
        if not self._done and self._poll():
            self._complete()
        return self._done

    def wait(self, timeout=None):
        """Block until the operation finished; raises RuntimeError after the timeout."""
        if self._done:
            return True
        limit = _seconds(timeout) if timeout is not None else self._timeout
        _spin(self._poll, limit, self._what)
        self._complete()
        return True

    def _complete(self):
        if not self._done:
            self._done = True
            if self._finish is not None:
                self._finish()

    def result(self):
        return self._result

    def get_future(self):
        return self


def _seconds(t):
    if t is None:
        return None
    return t.total_seconds() if isinstance(t, datetime.timedelta) else float(t)


def _spin(poll, timeout, what):
    """Poll until done; back off from busy-waiting to 1 ms sleeps; honour the timeout."""
    start = time.monotonic()
    n = 0
    while not poll():
        n += 1
        if n > 200:
            time.sleep(min(1e-3, 1e-6 * n))
            if timeout is not None and time.monotonic() - start > timeout:
                raise RuntimeError(f"{what}: timed out after {timeout:.1f} s on rank "
                                   f"{get_rank()}: another rank may have failed or called a "
                                   f"different collective")


class ProcessGroup:
    """A set of ranks that run collectives together."""

    def __init__(self, backend, impl, ranks, timeout):
        self.backend = backend
        self.impl = impl
        self.ranks = ranks
        self.timeout = timeout

    def rank(self):
        return self.impl.rank

    def size(self):
        return self.impl.size

    def __repr__(self):
        return f"ProcessGroup(backend={self.backend}, ranks={self.ranks})"


class GroupMember:
    WORLD = None
    NON_GROUP_MEMBER = object()


class group:
    WORLD = None


_state = {"default": None, "hook_installed": False}


def is_available():
    """True when mpi4py (with an MPI library) can be imported."""
    return is_mpi_available()


def is_mpi_available():
    try:
        import mpi4py  # noqa: F401
        return True
    except ImportError:
        return False


def is_nccl_available():
    try:
        from cupy.cuda import nccl  # noqa: F401
        return True
    except Exception:
        return False


def is_initialized():
    return _state["default"] is not None


def _default():
    pg = _state["default"]
    if pg is None:
        raise RuntimeError("Default process group has not been initialized, please make sure "
                           "to call init_process_group.")
    return pg


def _resolve(group_):
    if group_ is None or group_ is GroupMember.WORLD:
        return _default()
    if group_ is GroupMember.NON_GROUP_MEMBER:
        raise RuntimeError("this rank is not a member of the group")
    return group_


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1,
                       store=None, group_name="", pg_options=None, device_id=None):
    """Join the job's default process group.

    Args:
        backend: ``"mpi"`` (CPU tensors; the default) or ``"nccl"`` (CUDA tensors).
        timeout: a ``datetime.timedelta`` (or seconds) bounding every collective.
        world_size, rank: optional checks against what MPI reports.
    """
    if is_initialized():
        raise RuntimeError("trying to initialize the default process group twice!")
    backend = (backend or "mpi").lower()
    if backend in ("gloo", "cpu:gloo"):
        backend = "mpi"  # our CPU engine
    from ember.distributed._mpi import MPIBackend
    mpi = MPIBackend.world()
    if world_size not in (-1, None) and world_size != mpi.size:
        raise ValueError(f"init_process_group: world_size={world_size} but MPI started "
                         f"{mpi.size} processes")
    if rank not in (-1, None) and rank != mpi.rank:
        raise ValueError(f"init_process_group: rank={rank} but MPI says this is rank "
                         f"{mpi.rank}")
    secs = _seconds(timeout) if timeout is not None else 1800.0
    if backend == "nccl":
        from ember.distributed._nccl import NCCLBackend
        impl = NCCLBackend(mpi, device_id)
    elif backend == "mpi":
        impl = mpi
    else:
        raise ValueError(f"init_process_group: unknown backend {backend!r}; valid: 'mpi', "
                         f"'nccl'")
    pg = ProcessGroup(backend, impl, list(range(mpi.size)), secs)
    _state["default"] = pg
    GroupMember.WORLD = group.WORLD = pg
    _install_abort_hook(mpi)


def _install_abort_hook(mpi):
    """An uncaught exception on any rank ends the whole job (instead of MPI's hang)."""
    if _state["hook_installed"]:
        return
    _state["hook_installed"] = True
    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        text = "".join(traceback.format_exception(exc_type, exc, tb))
        sys.stderr.write(f"[ember.distributed rank {mpi.rank}/{mpi.size}] uncaught exception, "
                         f"aborting the job:\n{text}")
        sys.stderr.flush()
        if exc_type is KeyboardInterrupt:
            previous(exc_type, exc, tb)
        time.sleep(0.25)  # let mpiexec forward our output before the abort tears the job down
        mpi.abort(1)
    sys.excepthook = hook


def destroy_process_group(group=None):
    """Leave the process group (the default one when ``group`` is None)."""
    pg = _resolve(group)
    if pg is _state["default"]:
        barrier()
        _state["default"] = None
        GroupMember.WORLD = globals()["group"].WORLD = None


def get_rank(group=None):
    if not is_initialized():
        return -1 if group is None else _resolve(group).rank()
    return _resolve(group).rank()


def get_world_size(group=None):
    if not is_initialized():
        return -1
    return _resolve(group).size()


def get_backend(group=None):
    return _resolve(group).backend


def get_process_group_ranks(group):
    return list(_resolve(group).ranks)


def new_group(ranks=None, timeout=None, backend=None, pg_options=None,
              use_local_synchronization=False):
    """A group of some ranks; every rank of the default group must call it."""
    pg = _default()
    ranks = sorted(set(ranks)) if ranks is not None else list(range(pg.size()))
    impl = pg.impl.subgroup(ranks)
    if impl is None:
        return GroupMember.NON_GROUP_MEMBER
    secs = _seconds(timeout) if timeout is not None else pg.timeout
    return ProcessGroup(backend or pg.backend, impl, ranks, secs)


def barrier(group=None, async_op=False, device_ids=None):
    """Wait until every rank of the group reaches this call."""
    pg = _resolve(group)
    work = pg.impl.barrier(pg.timeout)
    return work if async_op else work.wait()
