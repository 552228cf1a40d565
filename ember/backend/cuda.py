"""CUDA through CuPy, imported only when first used."""

_state = {"cupy": None, "current": 0}


def _cupy():
    if _state["cupy"] is None:
        try:
            import cupy
        except ImportError as e:  # pragma: no cover - depends on the machine
            raise RuntimeError("CUDA is not available: ember needs CuPy for CUDA tensors "
                               "(pip install 'ember[cuda]')") from e
        _state["cupy"] = cupy
    return _state["cupy"]


def xp():
    """The cupy module."""
    return _cupy()


def is_available():
    """True when CuPy imports and sees at least one GPU."""
    try:
        return _cupy().cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def current_device():
    return _state["current"]


def set_device(index):
    _state["current"] = int(index)
    if _state["cupy"] is not None:
        _state["cupy"].cuda.Device(int(index)).use()
