"""Device arguments of ``ember.cuda`` functions: an int, ``"cuda"``, ``"cuda:N"`` or a device."""

from ember.backend import Device, device as _parse


def _index(device, optional=True):
    """The GPU index ``device`` names; -1 for "the current one" (``None``, ``"cuda"``).

    Raises:
        ValueError: for a CPU device, as PyTorch does.
    """
    if device is None:
        if optional:
            return -1
        raise ValueError("Expected a cuda device, but got: None")
    if isinstance(device, int) and not isinstance(device, bool):
        return device
    d = device if isinstance(device, Device) else _parse(device)
    if d.type != "cuda":
        raise ValueError(f"Expected a cuda device, but got: {d}")
    return -1 if d.index is None else d.index
