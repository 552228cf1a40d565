"""Upsampling layers over :func:`ember.nn.functional.interpolate`."""

from ember.nn._functional.sampling import interpolate
from ember.nn.modules.module import Module

__all__ = ["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"]


class Upsample(Module):
    r"""Resizes :math:`(N, C, *S)` by ``scale_factor`` or to ``size`` (see ``interpolate``).

    Args:
        size: output spatial size.
        scale_factor: multiplier(s) for the spatial size.
        mode: ``'nearest'``, ``'linear'``, ``'bilinear'``, ``'bicubic'``, ``'trilinear'``,
            ``'area'`` or ``'nearest-exact'``. Default: ``'nearest'``.
        align_corners: align the corner samples (interpolating modes only).
        recompute_scale_factor: derive the coordinate scale from the output size.

    Shape:
        Output size :math:`\lfloor S \times \text{scale\_factor} \rfloor` per dim, or ``size``.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.Upsample(scale_factor=2, mode="nearest")(ember.tensor([[[[1., 2.]]]]))
        tensor([[[[1., 1., 2., 2.],
                  [1., 1., 2., 2.]]]])
    """

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        self.name = type(self).__name__
        self.size = size
        if isinstance(scale_factor, tuple):
            self.scale_factor = tuple(float(f) for f in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input):
        return interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                           recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self):
        if self.scale_factor is not None:
            info = "scale_factor=" + repr(self.scale_factor)
        else:
            info = "size=" + repr(self.size)
        return info + ", mode=" + repr(self.mode)


class UpsamplingNearest2d(Upsample):
    r"""Nearest-neighbour upsampling of :math:`(N, C, H, W)` (``Upsample(mode='nearest')``).

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.UpsamplingNearest2d(scale_factor=2)(ember.ones(1, 1, 2, 3)).shape
        ember.Size([1, 1, 4, 6])
    """

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    r"""Bilinear upsampling of :math:`(N, C, H, W)` with ``align_corners=True``.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.UpsamplingBilinear2d(scale_factor=2)(ember.ones(1, 1, 2, 3)).shape
        ember.Size([1, 1, 4, 6])
    """

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)
