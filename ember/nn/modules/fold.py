"""``Fold`` (col2im) and ``Unfold`` (im2col) layers."""

from ember.nn._functional.spatial import fold, unfold
from ember.nn.modules.module import Module

__all__ = ["Fold", "Unfold"]


class Fold(Module):
    r"""Sums sliding blocks into a tensor: :math:`(N, C k_H k_W, L) \to (N, C, H, W)`.

    Args:
        output_size: ``(H, W)`` of the result.
        kernel_size, dilation, padding, stride: the block geometry (int or pair);
            ``L`` must equal the number of blocks
            :math:`\prod_d \lfloor (S_d + 2p_d - d_d(k_d-1) - 1)/s_d \rfloor + 1`.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.Fold(output_size=(4, 5), kernel_size=(2, 2))(ember.randn(1, 12, 12)).shape
        ember.Size([1, 3, 4, 5])
    """

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.output_size = output_size
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input):
        return fold(input, self.output_size, self.kernel_size, self.dilation, self.padding,
                    self.stride)

    def extra_repr(self):
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, "
                f"dilation={self.dilation}, padding={self.padding}, stride={self.stride}")


class Unfold(Module):
    r"""Extracts sliding blocks: :math:`(N, C, H, W) \to (N, C k_H k_W, L)`.

    Args:
        kernel_size, dilation, padding, stride: the block geometry (int or pair).

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.Unfold(kernel_size=(2, 3))(ember.randn(2, 5, 3, 4)).shape
        ember.Size([2, 30, 4])
    """

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input):
        return unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")
