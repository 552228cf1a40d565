r"""Dropout: zero inputs at random in training, scaling the rest by :math:`1 / (1 - p)`.

The mask is drawn from ember's RNG (``ember.manual_seed`` repeats it) with recording off;
the output is one ``mul`` by the scaled mask, so the gradient is ``grad * mask``.
"""

import warnings

from ember._tensor import _wrap
from ember.autograd.grad_mode import no_grad
from ember.ops._util import commit_inplace
from ember.ops.random import rand

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
           "feature_alpha_dropout"]

# -SELU scale * SELU alpha: the value SELU saturates to for large negative inputs
_ALPHA_PRIME = -1.7580993408473766


def _check_p(p):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _keep_mask(x, p, shape, scale=1.0):
    """``scale`` where an element is kept (probability ``1 - p``), else 0; a tensor of
    ``shape`` (broadcastable to ``x``) that needs no gradient."""
    u = rand(shape, dtype=x.dtype, device=x.device)._data
    return _wrap((u >= p).astype(u.dtype) * u.dtype.type(scale), x.device)


def _apply(x, fn, inplace, name):
    if inplace:
        return commit_inplace(x, fn, op=name)
    return fn(x)


def _dropout(x, p, training, inplace, shape, name):
    _check_p(p)
    if not training or p == 0:
        return x
    mask = _keep_mask(x, p, shape, 0.0 if p == 1 else 1.0 / (1.0 - p))
    return _apply(x, lambda t: t * mask, inplace, name)


def dropout(input, p=0.5, training=True, inplace=False):
    r"""Zero each element with probability ``p`` and scale the others by :math:`1/(1-p)`.

    Args:
        input: any shape.
        p: probability of an element to be zeroed. Default: 0.5.
        training: apply dropout if ``True`` (else return ``input``). Default: ``True``.
        inplace: write the result into ``input``. Default: ``False``.
    """
    return _dropout(input, p, training, inplace, tuple(input.shape), "dropout_")


def _feature_shape(x, batched=True):
    """Mask shape for channel-wise dropout: ``(N, C, 1, ...)``, or ``(C, 1, ...)`` unbatched."""
    lead = 2 if batched else 1
    return tuple(x.shape[:lead]) + (1,) * (x.dim() - lead)


def _feature_dropout(x, p, training, inplace, batched, name):
    return _dropout(x, p, training, inplace, _feature_shape(x, batched), name)


def dropout1d(input, p=0.5, training=True, inplace=False):
    r"""Zero whole channels: each channel of a ``(N, C, L)`` or ``(C, L)`` input with
    probability ``p``; the others are scaled by :math:`1/(1-p)`."""
    _check_p(p)
    if input.dim() not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {input.dim()}D "
                           f"input. Note that dropout1d exists to provide channel-wise dropout "
                           f"on inputs with 1 spatial dimension, a channel dimension, and an "
                           f"optional batch dimension (i.e. 2D or 3D inputs).")
    return _feature_dropout(input, p, training, inplace, input.dim() == 3, "dropout1d_")


def dropout2d(input, p=0.5, training=True, inplace=False):
    r"""Zero whole channels of a ``(N, C, H, W)`` input (see :func:`dropout1d`).

    Like PyTorch, a 3-D input is read as ``(N, C, L)`` (channel-wise 1-D dropout).
    """
    _check_p(p)
    nd = input.dim()
    if nd not in (3, 4):
        warnings.warn(f"dropout2d: Received a {nd}-D input to dropout2d, which is deprecated "
                      f"and will result in an error in a future release. To retain the behavior "
                      f"and silence this warning, please use dropout instead. Note that "
                      f"dropout2d exists to provide channel-wise dropout on inputs with 2 "
                      f"spatial dimensions, a channel dimension, and an optional batch dimension "
                      f"(i.e. 3D or 4D inputs).", stacklevel=2)
    if nd == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise "
                      "1D dropout behavior is desired - input is interpreted as shape (N, C, L), "
                      "where C is the channel dim. This behavior will change in a future release "
                      "to interpret the input as one without a batch dimension, i.e. shape "
                      "(C, H, W). To maintain the 1D channel-wise dropout behavior, please switch "
                      "to using dropout1d instead.", stacklevel=2)
    if nd < 2:
        return dropout(input, p, training, inplace)
    return _feature_dropout(input, p, training, inplace, True, "dropout2d_")


def dropout3d(input, p=0.5, training=True, inplace=False):
    r"""Zero whole channels of a ``(N, C, D, H, W)`` or ``(C, D, H, W)`` input."""
    _check_p(p)
    nd = input.dim()
    if nd not in (4, 5):
        warnings.warn(f"dropout3d: Received a {nd}-D input to dropout3d, which is deprecated "
                      f"and will result in an error in a future release. To retain the behavior "
                      f"and silence this warning, please use dropout instead. Note that "
                      f"dropout3d exists to provide channel-wise dropout on inputs with 3 "
                      f"spatial dimensions, a channel dimension, and an optional batch dimension "
                      f"(i.e. 4D or 5D inputs).", stacklevel=2)
    if nd < 2:
        return dropout(input, p, training, inplace)
    return _feature_dropout(input, p, training, inplace, nd != 4, "dropout3d_")


def _alpha(x, p, training, inplace, shape, name):
    r"""Alpha dropout: dropped units take SELU's saturation value :math:`\alpha'`, then an
    affine map :math:`a y + b` restores zero mean and unit variance:
    :math:`a = ((1 - p)(1 + p \alpha'^2))^{-1/2}`, :math:`b = -a \alpha' p`."""
    _check_p(p)
    if not training or p == 0:
        return x
    if p == 1:
        return _apply(x, lambda t: t * 0, inplace, name)
    a = ((1 - p) * (1 + p * _ALPHA_PRIME ** 2)) ** -0.5
    with no_grad():
        keep = _keep_mask(x, p, shape)
        mul = keep * a
        add = (1 - keep) * (a * _ALPHA_PRIME) - a * _ALPHA_PRIME * p
    return _apply(x, lambda t: t * mul + add, inplace, name)


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Dropout that keeps SELU's self-normalising mean and variance (see :class:`AlphaDropout`)."""
    return _alpha(input, p, training, inplace, tuple(input.shape), "alpha_dropout_")


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Alpha dropout of whole channels of a ``(N, C, *)`` input."""
    shape = _feature_shape(input) if input.dim() >= 2 else tuple(input.shape)
    return _alpha(input, p, training, inplace, shape, "feature_alpha_dropout_")
