"""Pooling: max, average and power-average pooling over 1, 2 or 3 spatial dims.

The work is done by the window primitives in :mod:`ember.nn._functional._window`: one
vectorised op per kernel offset (``max``/``add`` of a strided slice), and for the max-pool
gradient one masked product per offset (each window's first maximum gets the gradient).
Average pooling is a window sum divided by a (possibly per-position) divisor. Adaptive
pooling and unpooling are in ``adaptive.py``.
"""

import math

import numpy as np

from ember._tensor import Tensor, _wrap
from ember.ops.views import unsqueeze, squeeze
from ember.nn._functional._window import (window_sum, max_pool_nd, pool_out_size,
                                          max_pool_indices)

__all__ = ["max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices",
           "max_pool2d_with_indices", "max_pool3d_with_indices", "avg_pool1d", "avg_pool2d",
           "avg_pool3d", "lp_pool1d", "lp_pool2d", "lp_pool3d"]


# -- argument handling -------------------------------------------------------------------------
def _tuple(v, nd, name, op):
    if isinstance(v, (list, tuple)):
        if len(v) == 1:
            v = tuple(v) * nd
        if len(v) != nd:
            raise RuntimeError(f"{op}: {name} must either be a single int, or a tuple of {nd} "
                               f"ints")
        return tuple(int(a) for a in v)
    return (int(v),) * nd


def _batched(x, nd, op):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(x).__name__}")
    if x.ndim == nd + 1 and all(x.shape):
        return unsqueeze(x, 0), True
    if x.ndim != nd + 2 or not all(x.shape[1:]):
        dims = " or ".join(f"{d}D" for d in (nd + 1, nd + 2))
        raise RuntimeError(f"{op}: non-empty {dims} (batch mode) tensor expected for input, "
                           f"got {list(x.shape)}")
    return x, False


def _geometry(x, nd, kernel_size, stride, padding, dilation, ceil_mode, op):
    """Normalised args, output size and the ``(lo, hi)`` padding every window fits in."""
    ks = _tuple(kernel_size, nd, "kernel_size", op)
    st = ks if stride is None or (isinstance(stride, (list, tuple)) and not stride) else \
        _tuple(stride, nd, "stride", op)
    pad = _tuple(padding, nd, "padding", op)
    dil = _tuple(dilation, nd, "dilation", op)
    if any(k <= 0 for k in ks):
        raise RuntimeError(f"{op}: kernel_size must be greater than zero, but got {list(ks)}")
    if any(s <= 0 for s in st):
        raise RuntimeError("stride should not be zero")
    if any(d <= 0 for d in dil):
        raise RuntimeError(f"{op}: dilation must be greater than zero, but got {list(dil)}")
    for p, k, d in zip(pad, ks, dil):
        if p < 0 or p > (d * (k - 1) + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={p}, kernel_size={k} and dilation={d}")
    size = tuple(x.shape[2:])
    osz = tuple(pool_out_size(*a, ceil_mode) for a in zip(size, ks, st, pad, dil))
    if any(o <= 0 for o in osz):
        raise RuntimeError(f"Given input size: ({'x'.join(map(str, x.shape[1:]))}). Calculated "
                           f"output size: ({'x'.join(map(str, x.shape[1:2] + osz))}). Output "
                           f"size is too small")
    pads = tuple((p, max(p, (o - 1) * s + d * (k - 1) + 1 - n - p))
                 for p, o, s, d, k, n in zip(pad, osz, st, dil, ks, size))
    return ks, st, pad, dil, osz, pads


# -- max pooling -------------------------------------------------------------------------------
def _max_poolnd(nd, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    op = f"max_pool{nd}d"
    x, added = _batched(input, nd, op)
    ks, st, _, dil, osz, pads = _geometry(x, nd, kernel_size, stride, padding, dilation,
                                          ceil_mode, op)
    out = max_pool_nd(x, ksize=ks, stride=st, padding=pads, dilation=dil, osize=osz)
    if return_indices:
        idx = _wrap(max_pool_indices(x._device.xp, x._data, out._data, ks, st, pads, dil),
                    x._device)
        if added:
            return squeeze(out, 0), squeeze(idx, 0)
        return out, idx
    return squeeze(out, 0) if added else out


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    r"""1-D max pooling over :math:`(N, C, L)` (or unbatched :math:`(C, L)`).

    :math:`\text{out}(n, c, l) = \max_{m < k} \text{input}(n, c, s l + d m - p)`, with
    :math:`-\infty` outside the input.

    Args:
        kernel_size: window length ``k``.
        stride: window step ``s`` (default: ``kernel_size``).
        padding: implicit ``-inf`` padding ``p`` on both sides (at most ``k // 2``).
        dilation: spacing ``d`` between window elements.
        ceil_mode: round the output length up (a last window may hang over the end).
        return_indices: also return the position of each maximum in its input row.

    Returns:
        :math:`(N, C, L_{out})`,
        :math:`L_{out} = \lfloor (L + 2p - d(k-1) - 1) / s \rfloor + 1` (ceil in ceil mode).

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.max_pool1d(ember.tensor([[[1., 3., 2., 5.]]]), 2)
        tensor([[[3., 5.]]])
    """
    return _max_poolnd(1, input, kernel_size, stride, padding, dilation, ceil_mode,
                       return_indices)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    r"""2-D max pooling over :math:`(N, C, H, W)` (or unbatched :math:`(C, H, W)`).

    Args:
        kernel_size, stride, padding, dilation: int or pair (stride defaults to kernel_size).
        ceil_mode: round output sizes up.
        return_indices: also return each maximum's flat position ``h * W + w`` in its plane.

    Returns:
        :math:`(N, C, H_{out}, W_{out})`, per dim
        :math:`\lfloor (S + 2p - d(k-1) - 1) / s \rfloor + 1`.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.max_pool2d(ember.arange(16.).reshape(1, 1, 4, 4), 2)
        tensor([[[[ 5.,  7.],
                  [13., 15.]]]])
    """
    return _max_poolnd(2, input, kernel_size, stride, padding, dilation, ceil_mode,
                       return_indices)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    r"""3-D max pooling over :math:`(N, C, D, H, W)` (or unbatched :math:`(C, D, H, W)`).

    Args:
        kernel_size, stride, padding, dilation: int or triple (stride defaults to
            kernel_size).
        ceil_mode: round output sizes up.
        return_indices: also return each maximum's flat position in its ``D*H*W`` volume.

    Returns:
        :math:`(N, C, D_{out}, H_{out}, W_{out})`, each
        :math:`\lfloor (S + 2p - d(k-1) - 1) / s \rfloor + 1`.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.max_pool3d(ember.ones(1, 1, 4, 4, 4), 2).shape
        ember.Size([1, 1, 2, 2, 2])
    """
    return _max_poolnd(3, input, kernel_size, stride, padding, dilation, ceil_mode,
                       return_indices)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    """``max_pool1d`` returning ``(output, indices)``."""
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    """``max_pool2d`` returning ``(output, indices)``."""
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    """``max_pool3d`` returning ``(output, indices)``."""
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


# -- average pooling ---------------------------------------------------------------------------
def _divisor(size, osz, ks, st, pad, count_include_pad):
    """Per-output window sizes (PyTorch's rule), as an array over the output grid."""
    div = np.ones((), dtype=np.float64)
    for n, o, k, s, p in zip(size, osz, ks, st, pad):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, n + p)
        if count_include_pad:
            d = end - start
        else:
            d = np.minimum(end, n) - np.maximum(start, 0)
        div = np.multiply.outer(div, d)
    return div


def _avg_poolnd(nd, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                divisor_override):
    op = f"avg_pool{nd}d"
    x, added = _batched(input, nd, op)
    ks, st, pad, _, osz, pads = _geometry(x, nd, kernel_size, stride, padding, 1, ceil_mode,
                                          op)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    s = window_sum(x, ksize=ks, stride=st, padding=pads, osize=osz)
    if divisor_override is not None:
        out = s / divisor_override
    else:
        div = _divisor(x.shape[2:], osz, ks, st, pad, count_include_pad)
        if np.all(div == div.flat[0]):
            out = s / float(div.flat[0])
        else:
            xp = x._device.xp
            out = s / _wrap(xp.asarray(div.astype(x._data.dtype if x._data.dtype.kind == "f"
                                                  else np.float32)), x._device)
    if x._data.dtype.kind in "iu":
        out = out.to(x.dtype)
    return squeeze(out, 0) if added else out


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    r"""1-D average pooling over :math:`(N, C, L)`.

    :math:`\text{out}(n, c, l) = \frac{1}{k}\sum_{m<k} \text{input}(n, c, s l + m - p)`
    (zeros outside). With ``count_include_pad=False`` the divisor counts only real inputs.

    Returns:
        :math:`(N, C, L_{out})`, :math:`L_{out} = \lfloor (L + 2p - k) / s \rfloor + 1`.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.avg_pool1d(ember.tensor([[[1., 3., 2., 6.]]]), 2)
        tensor([[[2., 4.]]])
    """
    return _avg_poolnd(1, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                       None)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    r"""2-D average pooling over :math:`(N, C, H, W)`.

    Args:
        kernel_size, stride, padding: int or pair (stride defaults to kernel_size).
        ceil_mode: round output sizes up.
        count_include_pad: count the zero padding in the divisor.
        divisor_override: divide every window sum by this instead.

    Returns:
        :math:`(N, C, H_{out}, W_{out})`, per dim :math:`\lfloor (S + 2p - k) / s \rfloor + 1`.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.avg_pool2d(ember.ones(1, 1, 4, 4), 2, padding=1).shape
        ember.Size([1, 1, 3, 3])
    """
    return _avg_poolnd(2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                       divisor_override)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    r"""3-D average pooling over :math:`(N, C, D, H, W)`; arguments as in ``avg_pool2d``.

    Returns:
        :math:`(N, C, D_{out}, H_{out}, W_{out})`, each
        :math:`\lfloor (S + 2p - k) / s \rfloor + 1`.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.avg_pool3d(ember.ones(1, 1, 4, 4, 4), 2).shape
        ember.Size([1, 1, 2, 2, 2])
    """
    return _avg_poolnd(3, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                       divisor_override)


# -- power-average pooling ---------------------------------------------------------------------
def _lp_poolnd(nd, input, norm_type, kernel_size, stride, ceil_mode):
    ks = _tuple(kernel_size, nd, "kernel_size", f"lp_pool{nd}d")
    avg = (avg_pool1d, avg_pool2d, avg_pool3d)[nd - 1]
    if stride is not None:
        out = avg(input.pow(norm_type), ks, stride, 0, ceil_mode)
    else:
        out = avg(input.pow(norm_type), ks, padding=0, ceil_mode=ceil_mode)
    return (out.sign() * out.abs().relu()).mul(math.prod(ks)).pow(1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    r"""Power-average pooling: :math:`(\sum_{window} x^p)^{1/p}` over 1-D windows.

    Returns:
        :math:`(N, C, L_{out})`, :math:`L_{out} = \lfloor (L - k) / s \rfloor + 1`.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.lp_pool1d(ember.tensor([[[3., 4.]]]), 2, 2)
        tensor([[[5.]]])
    """
    return _lp_poolnd(1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    r"""Power-average pooling :math:`(\sum_{window} x^p)^{1/p}` over 2-D windows.

    Returns:
        :math:`(N, C, H_{out}, W_{out})`, per dim :math:`\lfloor (S - k) / s \rfloor + 1`.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.lp_pool2d(ember.ones(1, 1, 4, 4), 1, 2)
        tensor([[[[4., 4.],
                  [4., 4.]]]])
    """
    return _lp_poolnd(2, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    r"""Power-average pooling :math:`(\sum_{window} x^p)^{1/p}` over 3-D windows.

    Returns:
        :math:`(N, C, D_{out}, H_{out}, W_{out})`, each :math:`\lfloor (S - k) / s \rfloor + 1`.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.lp_pool3d(ember.ones(1, 1, 2, 2, 2), 1, 2).shape
        ember.Size([1, 1, 1, 1, 1])
    """
    return _lp_poolnd(3, input, norm_type, kernel_size, stride, ceil_mode)
