"""Padding layers: constant/zero, reflection, replication and circular, over 1-3 dims."""

from ember.nn._functional.spatial import pad
from ember.nn.modules.module import Module

__all__ = ["ConstantPad1d", "ConstantPad2d", "ConstantPad3d", "ZeroPad1d", "ZeroPad2d",
           "ZeroPad3d", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
           "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d", "CircularPad1d",
           "CircularPad2d", "CircularPad3d"]


def _amounts(padding, nd):
    if isinstance(padding, (list, tuple)):
        if len(padding) != 2 * nd:
            raise ValueError(f"expected padding to be an int or a {2 * nd}-tuple, got {padding}")
        return tuple(padding)
    return (padding,) * (2 * nd)


class _PadNd(Module):
    """``F.pad(input, self.padding, mode)``; ``padding`` is ``(left, right, top, bottom,
    front, back)`` up to the layer's number of dims (an int pads every side)."""

    _nd = 0
    _mode = "constant"

    def __init__(self, padding):
        super().__init__()
        self.padding = _amounts(padding, self._nd)

    def forward(self, input):
        return pad(input, self.padding, self._mode)

    def extra_repr(self):
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value):
        super().__init__(padding)
        self.value = value

    def forward(self, input):
        return pad(input, self.padding, "constant", self.value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


def _doc(name, what, nd):
    dims = ["W", "H", "D"][:nd]
    sides = ", ".join(f"{d}_lo, {d}_hi" for d in dims)
    return (f"Pads the last {nd} dim(s) {what}.\n\n    Args:\n        padding: int (every side) "
            f"or ``({sides})``.\n\n    Shape:\n        Each padded size grows by its two "
            f"amounts, e.g. :math:`W_{{out}} = W_{{in}} + W_{{lo}} + W_{{hi}}`.\n\n"
            f"    Example:\n        >>> import ember\n        >>> from ember import nn\n"
            f"        >>> nn.{name}(1)(ember.ones((1, 1) + (3,) * {nd})).shape\n"
            f"        ember.Size([1, 1{', 5' * nd}])\n    ")


def _make(name, base, nd, mode, what):
    attrs = {"_nd": nd, "_mode": mode, "__doc__": _doc(name, what, nd), "__module__": __name__}
    if base is _ConstantPadNd and name.startswith("Zero"):
        attrs["__init__"] = lambda self, padding: _ConstantPadNd.__init__(self, padding, 0.0)
        attrs["extra_repr"] = _PadNd.extra_repr
    return type(name, (base,), attrs)


for _nd in (1, 2, 3):
    for _name, _base, _mode, _what in (
            ("ConstantPad", _ConstantPadNd, "constant", "with a constant ``value``"),
            ("ZeroPad", _ConstantPadNd, "constant", "with zeros"),
            ("ReflectionPad", _PadNd, "reflect", "by reflecting about the edge samples"),
            ("ReplicationPad", _PadNd, "replicate", "by repeating the edge samples"),
            ("CircularPad", _PadNd, "circular", "by wrapping around (periodic)")):
        globals()[f"{_name}{_nd}d"] = _make(f"{_name}{_nd}d", _base, _nd, _mode, _what)
del _nd, _name, _base, _mode, _what
