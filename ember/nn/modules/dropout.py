"""Dropout modules: active in training mode only (``module.train()``/``eval()``)."""

from ember.nn._functional import dropout as F
from ember.nn.modules.module import Module

__all__ = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
           "FeatureAlphaDropout"]


class _DropoutNd(Module):
    fn = None

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, input):
        return type(self).fn(input, self.p, self.training, self.inplace)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    r"""In training, zero each element with probability ``p`` and scale the others by
    :math:`1 / (1 - p)`; the identity in evaluation.

    Args:
        p: probability of an element to be zeroed. Default: 0.5.
        inplace: operate in place. Default: ``False``.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.Dropout(0.5).eval()(ember.ones(3))
        tensor([1., 1., 1.])
    """

    fn = staticmethod(F.dropout)


class Dropout1d(_DropoutNd):
    """Zero whole channels of a ``(N, C, L)`` or ``(C, L)`` input with probability ``p``."""

    fn = staticmethod(F.dropout1d)


class Dropout2d(_DropoutNd):
    """Zero whole channels of a ``(N, C, H, W)`` input with probability ``p``."""

    fn = staticmethod(F.dropout2d)


class Dropout3d(_DropoutNd):
    """Zero whole channels of a ``(N, C, D, H, W)`` or ``(C, D, H, W)`` input."""

    fn = staticmethod(F.dropout3d)


class AlphaDropout(_DropoutNd):
    r"""Dropout for SELU networks: dropped units are set to SELU's negative saturation value
    and an affine map keeps the input's mean and variance (zero and one)."""

    fn = staticmethod(F.alpha_dropout)


class FeatureAlphaDropout(_DropoutNd):
    """Alpha dropout of whole channels."""

    fn = staticmethod(F.feature_alpha_dropout)
