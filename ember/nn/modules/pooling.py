"""Pooling layers: thin modules over :mod:`ember.nn._functional.pooling`."""

from ember.nn._functional import pooling as P
from ember.nn._functional import adaptive as A
from ember.nn.modules.module import Module

__all__ = ["MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d",
           "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "AdaptiveMaxPool1d",
           "AdaptiveMaxPool2d", "AdaptiveMaxPool3d", "MaxUnpool1d", "MaxUnpool2d",
           "MaxUnpool3d", "LPPool1d", "LPPool2d", "LPPool3d"]


def _ntuple(v, n):
    return tuple(v) if isinstance(v, (list, tuple)) else (v,) * n


class _MaxPoolNd(Module):
    _fn = None

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, input):
        return type(self)._fn(input, self.kernel_size, self.stride, self.padding, self.dilation,
                              ceil_mode=self.ceil_mode, return_indices=self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    r"""1-D max pooling: :math:`\text{out}(n, c, l) = \max_{m<k} x(n, c, s l + d m - p)`.

    Args:
        kernel_size: window size ``k``.
        stride: window step (default ``kernel_size``).
        padding: implicit ``-inf`` padding on both sides (at most ``k // 2``).
        dilation: spacing between window elements.
        return_indices: also return the argmax positions (for ``MaxUnpool1d``).
        ceil_mode: round the output size up.

    Shape:
        :math:`(N, C, L_{in}) \to (N, C, L_{out})`,
        :math:`L_{out} = \lfloor (L_{in} + 2p - d(k-1) - 1)/s \rfloor + 1`.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.MaxPool1d(3, stride=2)(ember.randn(20, 16, 50)).shape
        ember.Size([20, 16, 24])
    """

    _fn = staticmethod(P.max_pool1d)


class MaxPool2d(_MaxPoolNd):
    r"""2-D max pooling over :math:`(N, C, H, W)`; arguments as in ``MaxPool1d`` (int or pair).

    Shape:
        Output :math:`(N, C, H_{out}, W_{out})`, per dim
        :math:`\lfloor (S + 2p - d(k-1) - 1)/s \rfloor + 1`.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.MaxPool2d((3, 2), stride=(2, 1))(ember.randn(20, 16, 50, 32)).shape
        ember.Size([20, 16, 24, 31])
    """

    _fn = staticmethod(P.max_pool2d)


class MaxPool3d(_MaxPoolNd):
    r"""3-D max pooling over :math:`(N, C, D, H, W)`; arguments as in ``MaxPool1d``.

    Shape:
        Output :math:`(N, C, D_{out}, H_{out}, W_{out})`, each
        :math:`\lfloor (S + 2p - d(k-1) - 1)/s \rfloor + 1`.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.MaxPool3d(2)(ember.randn(1, 2, 4, 6, 8)).shape
        ember.Size([1, 2, 2, 3, 4])
    """

    _fn = staticmethod(P.max_pool3d)


class AvgPool1d(Module):
    r"""1-D average pooling: :math:`\text{out}(n, c, l) = \frac1k \sum_{m<k} x(n, c, s l + m - p)`.

    Args:
        kernel_size: window size ``k``.
        stride: window step (default ``kernel_size``).
        padding: implicit zero padding on both sides.
        ceil_mode: round the output size up.
        count_include_pad: count the padding zeros in the divisor.

    Shape:
        :math:`(N, C, L_{in}) \to (N, C, L_{out})`,
        :math:`L_{out} = \lfloor (L_{in} + 2p - k)/s \rfloor + 1`.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.AvgPool1d(3, stride=2)(ember.tensor([[[1., 2, 3, 4, 5, 6, 7]]]))
        tensor([[[2., 4., 6.]]])
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True):
        super().__init__()
        self.kernel_size = _ntuple(kernel_size, 1)
        self.stride = _ntuple(stride if stride is not None else kernel_size, 1)
        self.padding = _ntuple(padding, 1)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, input):
        return P.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _AvgPoolNd(Module):
    _fn = None

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input):
        return type(self)._fn(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                              self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(_AvgPoolNd):
    r"""2-D average pooling over :math:`(N, C, H, W)`.

    Args:
        kernel_size, stride, padding: int or pair (stride defaults to kernel_size).
        ceil_mode: round output sizes up.
        count_include_pad: count the padding zeros in the divisor.
        divisor_override: divide by this instead of the window size.

    Shape:
        Output :math:`(N, C, H_{out}, W_{out})`, per dim :math:`\lfloor (S + 2p - k)/s \rfloor + 1`.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.AvgPool2d(3, stride=2)(ember.randn(20, 16, 50, 32)).shape
        ember.Size([20, 16, 24, 15])
    """

    _fn = staticmethod(P.avg_pool2d)


class AvgPool3d(_AvgPoolNd):
    r"""3-D average pooling over :math:`(N, C, D, H, W)`; arguments as in ``AvgPool2d``.

    Shape:
        Output :math:`(N, C, D_{out}, H_{out}, W_{out})`, each
        :math:`\lfloor (S + 2p - k)/s \rfloor + 1`.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.AvgPool3d(2)(ember.randn(1, 2, 4, 4, 4)).shape
        ember.Size([1, 2, 2, 2, 2])
    """

    _fn = staticmethod(P.avg_pool3d)


class _AdaptiveAvgPoolNd(Module):
    _fn = None

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):
        return type(self)._fn(input, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptiveAvgPoolNd):
    r"""Average pooling to a fixed length ``O``: window ``i`` is
    :math:`[\lfloor iL/O \rfloor, \lceil (i+1)L/O \rceil)`.

    Shape:
        :math:`(N, C, L) \to (N, C, O)`.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.AdaptiveAvgPool1d(5)(ember.randn(1, 64, 8)).shape
        ember.Size([1, 64, 5])
    """

    _fn = staticmethod(A.adaptive_avg_pool1d)


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    r"""Average pooling to a fixed ``(H_out, W_out)`` (``None`` keeps the input size).

    Shape:
        :math:`(N, C, H, W) \to (N, C, H_{out}, W_{out})`.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.AdaptiveAvgPool2d((5, None))(ember.randn(1, 64, 10, 9)).shape
        ember.Size([1, 64, 5, 9])
    """

    _fn = staticmethod(A.adaptive_avg_pool2d)


class AdaptiveAvgPool3d(_AdaptiveAvgPoolNd):
    r"""Average pooling to a fixed ``(D_out, H_out, W_out)``.

    Shape:
        :math:`(N, C, D, H, W) \to (N, C, D_{out}, H_{out}, W_{out})`.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.AdaptiveAvgPool3d(1)(ember.randn(1, 4, 3, 5, 7)).shape
        ember.Size([1, 4, 1, 1, 1])
    """

    _fn = staticmethod(A.adaptive_avg_pool3d)


class _AdaptiveMaxPoolNd(Module):
    _fn = None

    def __init__(self, output_size, return_indices=False):
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def forward(self, input):
        return type(self)._fn(input, self.output_size, self.return_indices)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    r"""Max pooling to a fixed length (windows as in ``AdaptiveAvgPool1d``).

    Shape:
        :math:`(N, C, L) \to (N, C, O)`.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.AdaptiveMaxPool1d(5)(ember.randn(1, 64, 8)).shape
        ember.Size([1, 64, 5])
    """

    _fn = staticmethod(A.adaptive_max_pool1d)


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    r"""Max pooling to a fixed ``(H_out, W_out)``.

    Shape:
        :math:`(N, C, H, W) \to (N, C, H_{out}, W_{out})`.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.AdaptiveMaxPool2d(7)(ember.randn(1, 64, 10, 9)).shape
        ember.Size([1, 64, 7, 7])
    """

    _fn = staticmethod(A.adaptive_max_pool2d)


class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
    r"""Max pooling to a fixed ``(D_out, H_out, W_out)``.

    Shape:
        :math:`(N, C, D, H, W) \to (N, C, D_{out}, H_{out}, W_{out})`.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.AdaptiveMaxPool3d((2, 3, 2))(ember.randn(1, 2, 5, 7, 3)).shape
        ember.Size([1, 2, 2, 3, 2])
    """

    _fn = staticmethod(A.adaptive_max_pool3d)


class _MaxUnpoolNd(Module):
    _fn = None
    _nd = 0

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        nd = self._nd
        self.kernel_size = _ntuple(kernel_size, nd)
        self.stride = _ntuple(stride if stride is not None else kernel_size, nd)
        self.padding = _ntuple(padding, nd)

    def forward(self, input, indices, output_size=None):
        return type(self)._fn(input, indices, self.kernel_size, self.stride, self.padding,
                              output_size)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    r"""Partial inverse of ``MaxPool1d``: values scattered to their indices, zeros elsewhere.

    Shape:
        :math:`(N, C, L_{in}) \to (N, C, L_{out})`, :math:`L_{out} = (L_{in} - 1)s - 2p + k`
        unless ``output_size`` is given to ``forward``.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> out, idx = nn.MaxPool1d(2, return_indices=True)(ember.tensor([[[1., 3, 2, 5]]]))
        >>> nn.MaxUnpool1d(2)(out, idx)
        tensor([[[0., 3., 0., 5.]]])
    """

    _nd = 1
    _fn = staticmethod(A.max_unpool1d)


class MaxUnpool2d(_MaxUnpoolNd):
    r"""Partial inverse of ``MaxPool2d``.

    Shape:
        Output :math:`(N, C, H_{out}, W_{out})`, per dim :math:`(S - 1)s - 2p + k` unless
        ``output_size``.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> out, idx = nn.MaxPool2d(2, return_indices=True)(ember.randn(1, 1, 4, 4))
        >>> nn.MaxUnpool2d(2)(out, idx).shape
        ember.Size([1, 1, 4, 4])
    """

    _nd = 2
    _fn = staticmethod(A.max_unpool2d)


class MaxUnpool3d(_MaxUnpoolNd):
    r"""Partial inverse of ``MaxPool3d``.

    Shape:
        Output :math:`(N, C, D_{out}, H_{out}, W_{out})`, each :math:`(S - 1)s - 2p + k`
        unless ``output_size``.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> out, idx = nn.MaxPool3d(2, return_indices=True)(ember.randn(1, 1, 4, 4, 4))
        >>> nn.MaxUnpool3d(2)(out, idx).shape
        ember.Size([1, 1, 4, 4, 4])
    """

    _nd = 3
    _fn = staticmethod(A.max_unpool3d)


class _LPPoolNd(Module):
    _fn = None

    def __init__(self, norm_type, kernel_size, stride=None, ceil_mode=False):
        super().__init__()
        self.norm_type = norm_type
        self.kernel_size = kernel_size
        self.stride = stride
        self.ceil_mode = ceil_mode

    def forward(self, input):
        return type(self)._fn(input, float(self.norm_type), self.kernel_size, self.stride,
                              self.ceil_mode)

    def extra_repr(self):
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, ceil_mode={self.ceil_mode}")


class LPPool1d(_LPPoolNd):
    r"""Power-average pooling :math:`(\sum_{window} x^p)^{1/p}` (``p = inf``: max pooling,
    ``p = 1``: sum pooling).

    Shape:
        :math:`(N, C, L_{in}) \to (N, C, L_{out})`,
        :math:`L_{out} = \lfloor (L_{in} - k)/s \rfloor + 1`.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.LPPool1d(2, 3, stride=2)(ember.randn(20, 16, 50)).shape
        ember.Size([20, 16, 24])
    """

    _fn = staticmethod(P.lp_pool1d)


class LPPool2d(_LPPoolNd):
    r"""2-D power-average pooling :math:`(\sum_{window} x^p)^{1/p}`.

    Shape:
        Output :math:`(N, C, H_{out}, W_{out})`, per dim :math:`\lfloor (S - k)/s \rfloor + 1`.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.LPPool2d(1.2, (3, 2), stride=(2, 1))(ember.rand(20, 16, 50, 32)).shape
        ember.Size([20, 16, 24, 31])
    """

    _fn = staticmethod(P.lp_pool2d)


class LPPool3d(_LPPoolNd):
    r"""3-D power-average pooling :math:`(\sum_{window} x^p)^{1/p}`.

    Shape:
        Output :math:`(N, C, D_{out}, H_{out}, W_{out})`, each
        :math:`\lfloor (S - k)/s \rfloor + 1`.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.LPPool3d(2, 2)(ember.randn(1, 2, 4, 4, 4)).shape
        ember.Size([1, 2, 2, 2, 2])
    """

    _fn = staticmethod(P.lp_pool3d)
