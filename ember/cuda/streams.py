"""CUDA streams and events (CuPy's, behind PyTorch's ``torch.cuda`` classes).

Kernels run in order on a stream; work on different streams may overlap. ember ops
launch on CuPy's *current* stream, so ``with ember.cuda.stream(s):`` sends every op
in the block to ``s``. Events mark a point in a stream: to wait for it, or to time
the GPU work between two of them.

Example (on a GPU)::

    start, end = ember.cuda.Event(enable_timing=True), ember.cuda.Event(enable_timing=True)
    s = ember.cuda.Stream()
    with ember.cuda.stream(s):
        start.record()
        y = x @ x
        end.record()
    end.synchronize()
    print(start.elapsed_time(end), "ms")
"""

from ember.backend import cuda as _backend
from ember.cuda._device import _index


def _cupy():
    return _backend.xp()


def _resolve(device):
    idx = _index(device)
    return _backend.current_device() if idx < 0 else _backend.check_index(idx)


class Stream:
    """A CUDA stream on ``device`` (default: current); ``priority`` -1 is high, 0 normal."""

    def __init__(self, device=None, priority=0, **kwargs):
        cp = _cupy()
        self.device_index = _resolve(device)
        with cp.cuda.Device(self.device_index):
            try:  # newer CuPy takes a priority; older ones create every stream at priority 0
                self._s = cp.cuda.Stream(priority=priority) if priority else cp.cuda.Stream()
            except TypeError:
                self._s = cp.cuda.Stream()

    @classmethod
    def _of(cls, cupy_stream, device_index):
        s = cls.__new__(cls)
        s._s, s.device_index = cupy_stream, device_index
        return s

    @property
    def device(self):
        from ember.backend import device
        return device("cuda", self.device_index)

    @property
    def cuda_stream(self):
        """The raw ``cudaStream_t`` as an int (0 for the default stream)."""
        return int(self._s.ptr)

    @property
    def priority(self):
        return int(getattr(self._s, "priority", 0) or 0)

    def query(self):
        """True when all work queued on this stream has finished."""
        return bool(self._s.done)

    def synchronize(self):
        """Wait for all work queued on this stream."""
        self._s.synchronize()

    def wait_event(self, event):
        """Make future work on this stream wait for ``event``."""
        self._s.wait_event(event._e)

    def wait_stream(self, stream):
        """Make future work on this stream wait for the work queued so far on ``stream``."""
        self.wait_event(stream.record_event())

    def record_event(self, event=None):
        """Record ``event`` (a new one by default) on this stream; returns it."""
        event = Event() if event is None else event
        event.record(self)
        return event

    def __enter__(self):
        self._s.__enter__()
        return self

    def __exit__(self, *exc):
        self._s.__exit__(*exc)
        return False

    def __eq__(self, other):
        return isinstance(other, Stream) and self.cuda_stream == other.cuda_stream and \
            self.device_index == other.device_index

    def __hash__(self):
        return hash((self.cuda_stream, self.device_index))

    def __repr__(self):
        return f"<ember.cuda.Stream device=cuda:{self.device_index} " \
               f"cuda_stream={hex(self.cuda_stream)}>"


class Event:
    """A CUDA event: ``record`` it on a stream, then ``wait``, ``query``, ``synchronize``
    or time it (``elapsed_time``, milliseconds; needs ``enable_timing=True``)."""

    def __init__(self, enable_timing=False, blocking=False, interprocess=False):
        cp = _cupy()
        self.enable_timing = enable_timing
        self._e = cp.cuda.Event(block=blocking, disable_timing=not enable_timing,
                                interprocess=interprocess)

    def record(self, stream=None):
        """Mark the current point of ``stream`` (default: the current stream)."""
        self._e.record((current_stream() if stream is None else stream)._s)

    def wait(self, stream=None):
        """Make future work on ``stream`` (default: current) wait for this event."""
        (current_stream() if stream is None else stream)._s.wait_event(self._e)

    def query(self):
        """True when the work before the recorded point has finished."""
        return bool(self._e.done)

    def synchronize(self):
        """Wait until the work before the recorded point has finished."""
        self._e.synchronize()

    def elapsed_time(self, end_event):
        """Milliseconds of GPU time between this event and ``end_event``."""
        if not (self.enable_timing and end_event.enable_timing):
            raise RuntimeError("Both events must be created with argument "
                               "'enable_timing=True'.")
        return float(_cupy().cuda.get_elapsed_time(self._e, end_event._e))

    @property
    def cuda_event(self):
        return int(self._e.ptr)

    def __repr__(self):
        return f"<ember.cuda.Event {hex(self.cuda_event)}>"


def current_stream(device=None):
    """The stream ops on ``device`` (default: current) are launched on."""
    cp = _cupy()
    idx = _resolve(device)
    return Stream._of(cp.cuda.get_current_stream(idx), idx)


def default_stream(device=None):
    """The device's default (legacy null) stream."""
    cp = _cupy()
    return Stream._of(cp.cuda.Stream.null, _resolve(device))


def set_stream(stream):
    """Make ``stream`` current (prefer the ``stream(s)`` context manager)."""
    if stream is not None:
        stream._s.use()


class StreamContext:
    """Context manager that makes ``stream`` current inside the block (None: no-op)."""

    def __init__(self, stream):
        self.stream = stream

    def __enter__(self):
        if self.stream is not None:
            self.stream._s.__enter__()
        return self.stream

    def __exit__(self, *exc):
        if self.stream is not None:
            self.stream._s.__exit__(*exc)
        return False


def stream(stream):
    """``with ember.cuda.stream(s):`` runs the block's ops on ``s``."""
    return StreamContext(stream)
