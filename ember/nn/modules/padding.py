"""Padding layers: constant/zero, reflection, replication and circular, over 1-3 dims.

Each is ``F.pad(input, self.padding, mode)`` with ``padding`` given as an int (every side)
or ``(left, right[, top, bottom[, front, back]])``.
"""

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


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ConstantPad1d(_ConstantPadNd):
    r"""Pads the last 1 dim(s) (W) with a constant ``value``.

    Args:
        padding: int (every side) or ``(left, right)``.
        value: the fill value.

    Shape:
        Each padded size grows by its two amounts, e.g.
        :math:`W_{out} = W_{in} + \text{left} + \text{right}`.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.ConstantPad1d(1, 2.5)(ember.ones(1, 1, 2)).shape
        ember.Size([1, 1, 4])
    """

    _nd = 1


class ConstantPad2d(_ConstantPadNd):
    r"""Pads the last 2 dim(s) (H, W) with a constant ``value``.

    Args:
        padding: int (every side) or ``(left, right, top, bottom)``.
        value: the fill value.

    Shape:
        Each padded size grows by its two amounts, e.g.
        :math:`W_{out} = W_{in} + \text{left} + \text{right}`.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.ConstantPad2d(1, 2.5)(ember.ones(1, 1, 2, 2)).shape
        ember.Size([1, 1, 4, 4])
    """

    _nd = 2


class ConstantPad3d(_ConstantPadNd):
    r"""Pads the last 3 dim(s) (D, H, W) with a constant ``value``.

    Args:
        padding: int (every side) or ``(left, right, top, bottom, front, back)``.
        value: the fill value.

    Shape:
        Each padded size grows by its two amounts, e.g.
        :math:`W_{out} = W_{in} + \text{left} + \text{right}`.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.ConstantPad3d(1, 2.5)(ember.ones(1, 1, 2, 2, 2)).shape
        ember.Size([1, 1, 4, 4, 4])
    """

    _nd = 3


class ZeroPad1d(_ZeroPadNd):
    r"""Pads the last 1 dim(s) (W) with zeros.

    Args:
        padding: int (every side) or ``(left, right)``.

    Shape:
        Each padded size grows by its two amounts, e.g.
        :math:`W_{out} = W_{in} + \text{left} + \text{right}`.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.ZeroPad1d(1)(ember.ones(1, 1, 2)).shape
        ember.Size([1, 1, 4])
    """

    _nd = 1


class ZeroPad2d(_ZeroPadNd):
    r"""Pads the last 2 dim(s) (H, W) with zeros.

    Args:
        padding: int (every side) or ``(left, right, top, bottom)``.

    Shape:
        Each padded size grows by its two amounts, e.g.
        :math:`W_{out} = W_{in} + \text{left} + \text{right}`.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.ZeroPad2d(1)(ember.ones(1, 1, 2, 2)).shape
        ember.Size([1, 1, 4, 4])
    """

    _nd = 2


class ZeroPad3d(_ZeroPadNd):
    r"""Pads the last 3 dim(s) (D, H, W) with zeros.

    Args:
        padding: int (every side) or ``(left, right, top, bottom, front, back)``.

    Shape:
        Each padded size grows by its two amounts, e.g.
        :math:`W_{out} = W_{in} + \text{left} + \text{right}`.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.ZeroPad3d(1)(ember.ones(1, 1, 2, 2, 2)).shape
        ember.Size([1, 1, 4, 4, 4])
    """

    _nd = 3


class ReflectionPad1d(_PadNd):
    r"""Pads the last 1 dim(s) (W) by reflecting about the edge samples (no repeat).

    Args:
        padding: int (every side) or ``(left, right)``.

    Shape:
        Each padded size grows by its two amounts, e.g.
        :math:`W_{out} = W_{in} + \text{left} + \text{right}`.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.ReflectionPad1d(1)(ember.ones(1, 1, 2)).shape
        ember.Size([1, 1, 4])
    """

    _nd = 1
    _mode = "reflect"


class ReflectionPad2d(_PadNd):
    r"""Pads the last 2 dim(s) (H, W) by reflecting about the edge samples (no repeat).

    Args:
        padding: int (every side) or ``(left, right, top, bottom)``.

    Shape:
        Each padded size grows by its two amounts, e.g.
        :math:`W_{out} = W_{in} + \text{left} + \text{right}`.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.ReflectionPad2d(1)(ember.ones(1, 1, 2, 2)).shape
        ember.Size([1, 1, 4, 4])
    """

    _nd = 2
    _mode = "reflect"


class ReflectionPad3d(_PadNd):
    r"""Pads the last 3 dim(s) (D, H, W) by reflecting about the edge samples (no repeat).

    Args:
        padding: int (every side) or ``(left, right, top, bottom, front, back)``.

    Shape:
        Each padded size grows by its two amounts, e.g.
        :math:`W_{out} = W_{in} + \text{left} + \text{right}`.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.ReflectionPad3d(1)(ember.ones(1, 1, 2, 2, 2)).shape
        ember.Size([1, 1, 4, 4, 4])
    """

    _nd = 3
    _mode = "reflect"


class ReplicationPad1d(_PadNd):
    r"""Pads the last 1 dim(s) (W) by repeating the edge samples.

    Args:
        padding: int (every side) or ``(left, right)``.

    Shape:
        Each padded size grows by its two amounts, e.g.
        :math:`W_{out} = W_{in} + \text{left} + \text{right}`.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.ReplicationPad1d(1)(ember.ones(1, 1, 2)).shape
        ember.Size([1, 1, 4])
    """

    _nd = 1
    _mode = "replicate"


class ReplicationPad2d(_PadNd):
    r"""Pads the last 2 dim(s) (H, W) by repeating the edge samples.

    Args:
        padding: int (every side) or ``(left, right, top, bottom)``.

    Shape:
        Each padded size grows by its two amounts, e.g.
        :math:`W_{out} = W_{in} + \text{left} + \text{right}`.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.ReplicationPad2d(1)(ember.ones(1, 1, 2, 2)).shape
        ember.Size([1, 1, 4, 4])
    """

    _nd = 2
    _mode = "replicate"


class ReplicationPad3d(_PadNd):
    r"""Pads the last 3 dim(s) (D, H, W) by repeating the edge samples.

    Args:
        padding: int (every side) or ``(left, right, top, bottom, front, back)``.

    Shape:
        Each padded size grows by its two amounts, e.g.
        :math:`W_{out} = W_{in} + \text{left} + \text{right}`.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.ReplicationPad3d(1)(ember.ones(1, 1, 2, 2, 2)).shape
        ember.Size([1, 1, 4, 4, 4])
    """

    _nd = 3
    _mode = "replicate"


class CircularPad1d(_PadNd):
    r"""Pads the last 1 dim(s) (W) by wrapping around (periodic).

    Args:
        padding: int (every side) or ``(left, right)``.

    Shape:
        Each padded size grows by its two amounts, e.g.
        :math:`W_{out} = W_{in} + \text{left} + \text{right}`.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.CircularPad1d(1)(ember.ones(1, 1, 2)).shape
        ember.Size([1, 1, 4])
    """

    _nd = 1
    _mode = "circular"


class CircularPad2d(_PadNd):
    r"""Pads the last 2 dim(s) (H, W) by wrapping around (periodic).

    Args:
        padding: int (every side) or ``(left, right, top, bottom)``.

    Shape:
        Each padded size grows by its two amounts, e.g.
        :math:`W_{out} = W_{in} + \text{left} + \text{right}`.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.CircularPad2d(1)(ember.ones(1, 1, 2, 2)).shape
        ember.Size([1, 1, 4, 4])
    """

    _nd = 2
    _mode = "circular"


class CircularPad3d(_PadNd):
    r"""Pads the last 3 dim(s) (D, H, W) by wrapping around (periodic).

    Args:
        padding: int (every side) or ``(left, right, top, bottom, front, back)``.

    Shape:
        Each padded size grows by its two amounts, e.g.
        :math:`W_{out} = W_{in} + \text{left} + \text{right}`.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.CircularPad3d(1)(ember.ones(1, 1, 2, 2, 2)).shape
        ember.Size([1, 1, 4, 4, 4])
    """

    _nd = 3
    _mode = "circular"
