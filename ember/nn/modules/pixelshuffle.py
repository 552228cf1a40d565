"""``PixelShuffle``, ``PixelUnshuffle`` and ``ChannelShuffle``."""

from ember.nn._functional.spatial import pixel_shuffle, pixel_unshuffle, channel_shuffle
from ember.nn.modules.module import Module

__all__ = ["PixelShuffle", "PixelUnshuffle", "ChannelShuffle"]


class PixelShuffle(Module):
    r"""Rearranges :math:`(*, C r^2, H, W) \to (*, C, H r, W r)` (sub-pixel convolution).

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.PixelShuffle(3)(ember.randn(1, 9, 4, 4)).shape
        ember.Size([1, 1, 12, 12])
    """

    def __init__(self, upscale_factor):
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input):
        return pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self):
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    r"""The inverse of ``PixelShuffle``: :math:`(*, C, H r, W r) \to (*, C r^2, H, W)`.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.PixelUnshuffle(3)(ember.randn(1, 1, 12, 12)).shape
        ember.Size([1, 9, 4, 4])
    """

    def __init__(self, downscale_factor):
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input):
        return pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self):
        return f"downscale_factor={self.downscale_factor}"


class ChannelShuffle(Module):
    r"""Interleaves ``groups`` channel groups of :math:`(N, C, *)` (ShuffleNet).

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.ChannelShuffle(2)(ember.arange(4.).reshape(1, 4, 1, 1)).flatten()
        tensor([0., 2., 1., 3.])
    """

    def __init__(self, groups):
        super().__init__()
        self.groups = groups

    def forward(self, input):
        return channel_shuffle(input, self.groups)

    def extra_repr(self):
        return f"groups={self.groups}"
