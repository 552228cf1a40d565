"""Loss functions (``ember.nn.functional``), with PyTorch's arguments, defaults and errors.

Every loss computes an elementwise (or per-sample) loss ``l`` and then reduces it:
``reduction='none'`` returns ``l``, ``'sum'`` returns ``sum(l)`` and ``'mean'`` returns
``mean(l)`` (or a weighted mean where PyTorch defines one). The deprecated
``size_average``/``reduce`` pair is still understood.

Most losses are composites of ember ops and get their gradients for free. Binary
cross-entropy is a primitive because its gradient must stay finite at 0 and 1. The
class-index losses (cross-entropy, NLL, multi-margin) live in
:mod:`ember.nn._functional.cross_entropy` and CTC in :mod:`ember.nn._functional.ctc`;
both are re-exported here.
"""

import math
import warnings

import numpy as np

from ember._tensor import Tensor
from ember.ops._registry import primitive
from ember.ops.elementwise import (exp, log, log1p, abs, sqrt, where, clamp_min, xlogy, minimum,
                                   cast)
from ember.ops.reduce import sum as _sum, amax
from ember.ops.views import unsqueeze
from ember.nn._functional._seq_ops import log_sigmoid
from ember.nn._functional._loss_util import (_reduction, _reduce, _warn_size, _tsize, _float,
                                             _like)
from ember.nn._functional.cross_entropy import (cross_entropy, nll_loss, multi_margin_loss,
                                                multilabel_margin_loss)
from ember.amp.autocast_mode import autocast_op

__all__ = ["cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div",
           "cosine_embedding_loss", "margin_ranking_loss", "triplet_margin_loss",
           "hinge_embedding_loss", "soft_margin_loss", "multilabel_soft_margin_loss",
           "multi_margin_loss", "multilabel_margin_loss", "poisson_nll_loss",
           "gaussian_nll_loss", "triplet_margin_with_distance_loss"]


# -- regression losses -----------------------------------------------------------------------------
def _check_loss_weight(weight, input):
    if weight is not None and tuple(weight.shape) != tuple(input.shape):
        raise ValueError("Weights and input must have the same size.")


def _weighted(loss, weight, reduction, normalise):
    """Apply an elementwise weight; ``normalise`` makes 'mean' divide by ``sum(weight)``."""
    if weight is None:
        return _reduce(loss, reduction)
    loss = loss * weight
    if reduction == "mean" and normalise:
        return _sum(loss) / _sum(weight)
    return _reduce(loss, reduction)


@autocast_op("mse_loss")
def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    r"""Mean squared error :math:`\ell = (x - y)^2`, optionally weighted per element.

    With ``weight`` :math:`w`, ``'mean'`` is :math:`\sum w \ell / \sum w`.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.mse_loss(ember.tensor([1.0, 2.0]), ember.tensor([1.0, 4.0])).item()
        2.0
    """
    reduction = _reduction(reduction, size_average, reduce)
    _warn_size(input, target)
    _check_loss_weight(weight, input)
    d = input - target
    return _weighted(d * d, weight, reduction, True)


@autocast_op("l1_loss")
def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    r"""Mean absolute error :math:`\ell = |x - y|`, optionally weighted per element.

    With ``weight`` :math:`w`, ``'mean'`` is :math:`\sum w \ell / \sum w`.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.l1_loss(ember.tensor([1.0, 2.0]), ember.tensor([1.0, 4.0])).item()
        1.0
    """
    reduction = _reduction(reduction, size_average, reduce)
    _warn_size(input, target)
    _check_loss_weight(weight, input)
    return _weighted(abs(input - target), weight, reduction, True)


@autocast_op("smooth_l1_loss")
def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    r"""Smooth L1: quadratic below ``beta``, linear above.

    .. math::
        \ell = \begin{cases} 0.5 (x-y)^2 / \beta & |x-y| < \beta \\
                             |x-y| - 0.5 \beta & \text{otherwise} \end{cases}

    ``beta = 0`` is the L1 loss.
    """
    reduction = _reduction(reduction, size_average, reduce)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    _warn_size(input, target)
    d = input - target
    z = abs(d)
    if beta == 0:
        return _reduce(z, reduction)
    return _reduce(where(z < beta, (0.5 / beta) * d * d, z - 0.5 * beta), reduction)


@autocast_op("huber_loss")
def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    r"""Huber loss: quadratic below ``delta``, ``delta``-scaled linear above.

    .. math::
        \ell = \begin{cases} 0.5 (x-y)^2 & |x-y| < \delta \\
                             \delta (|x-y| - 0.5 \delta) & \text{otherwise} \end{cases}

    With ``weight``, ``'mean'`` is the plain mean of :math:`w \ell`.
    """
    reduction = _reduction(reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    _warn_size(input, target)
    _check_loss_weight(weight, input)
    d = input - target
    z = abs(d)
    loss = where(z < delta, 0.5 * d * d, delta * (z - 0.5 * delta))
    return _weighted(loss, weight, reduction, False)


# -- binary cross-entropy ------------------------------------------------------------------------
# A primitive for stability: with the logs clamped at -100 (as in PyTorch), the composite's
# gradient would be 0 * inf = nan at x = 0 or 1; PyTorch's gradient there is the finite
# (x - y) / max(x (1 - x), 1e-12), which the rule below reproduces.
@primitive("binary_cross_entropy")
def _bce(xp, x, y):
    with np.errstate(divide="ignore"):
        lx = xp.maximum(xp.log(x), -100)
        l1x = xp.maximum(xp.log1p(-x), -100)
    return (-(y * lx + (1 - y) * l1x)).astype(x.dtype, copy=False)


@_bce.defvjp
def _(ctx, g):
    x, y = ctx.inputs
    gx = gy = None
    if ctx._next[0] is not None:
        gx = g * (x - y) / clamp_min(x * (1 - x), 1e-12)
    if ctx._next[1] is not None:
        gy = g * (clamp_min(log1p(-x), -100) - clamp_min(log(x), -100))
    return gx, gy


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    r"""Binary cross-entropy between probabilities ``input`` and ``target``.

    .. math::
        \ell = -w \left[ y \log x + (1 - y) \log (1 - x) \right]

    with each log clamped below at -100, so ``x`` of exactly 0 or 1 gives a finite loss.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> round(F.binary_cross_entropy(ember.tensor([0.8]), ember.tensor([1.0])).item(), 4)
        0.2231
    """
    reduction = _reduction(reduction, size_average, reduce)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Using a target size ({_tsize(target)}) that is different to the input "
                         f"size ({_tsize(input)}) is deprecated. Please ensure they have the "
                         f"same size.")
    xd = input._data
    if xd.size and bool(((xd < 0) | (xd > 1)).any()):
        raise RuntimeError("all elements of input should be between 0 and 1")
    x = _float(input)
    loss = _bce(x, _like(_float(target), x))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    r"""Sigmoid and binary cross-entropy in one stable expression.

    .. math::
        \ell = -w \left[ p\, y \log \sigma(x) + (1 - y) \log (1 - \sigma(x)) \right]
             = w \left[ (1 - y) x - (1 + (p - 1) y) \log \sigma(x) \right]

    where :math:`p` is ``pos_weight`` (broadcast along the last, class, dim) and
    :math:`\log\sigma` is evaluated without overflow.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> x, y = ember.tensor([0.0]), ember.tensor([1.0])
        >>> round(F.binary_cross_entropy_with_logits(x, y).item(), 4)
        0.6931
    """
    reduction = _reduction(reduction, size_average, reduce)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Target size ({_tsize(target)}) must be the same as input size "
                         f"({_tsize(input)})")
    x = _float(input)
    y = _float(target)
    ls = log_sigmoid(x)
    if pos_weight is not None:
        loss = (1 - y) * x - (1 + (pos_weight - 1) * y) * ls
    else:
        loss = (1 - y) * x - ls
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


# -- divergences and likelihoods -----------------------------------------------------------------
@autocast_op("kl_div")
def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    r"""Kullback-Leibler divergence with ``input`` given as log-probabilities.

    .. math::
        \ell = y (\log y - x) \quad\text{or, with log\_target,}\quad \ell = e^{y} (y - x)

    ``reduction='batchmean'`` divides the sum by the batch size (the true KL divergence);
    ``'mean'`` divides by the number of elements and warns, as PyTorch does.
    """
    reduction = _reduction(reduction, size_average, reduce,
                           allowed=("none", "mean", "sum", "batchmean"))
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns with "
                      "the KL div math definition.'mean' will be changed to behave the same as "
                      "'batchmean' in the next major release.", stacklevel=2)
    if log_target:
        loss = exp(target) * (target - input)
    else:
        loss = xlogy(target, target) - target * input
    if reduction == "batchmean":
        total = _sum(loss)
        return total / input.shape[0] if input.ndim else total
    return _reduce(loss, reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    r"""Negative log-likelihood of ``target`` under a Poisson distribution.

    .. math::
        \ell = e^{x} - y x \ \ (\text{log\_input}) \qquad
        \ell = x - y \log(x + \epsilon) \ \ (\text{otherwise})

    ``full`` adds Stirling's term :math:`y \log y - y + \tfrac12 \log(2\pi y)` where
    :math:`y > 1`.
    """
    reduction = _reduction(reduction, size_average, reduce)
    if log_input:
        loss = exp(input) - target * input
    else:
        loss = input - target * log(input + eps)
    if full:
        big = target > 1
        ys = where(big, target, 1.0)
        stirling = ys * log(ys) - ys + 0.5 * log(2 * math.pi * ys)
        loss = loss + where(big, stirling, 0.0)
    return _reduce(loss, reduction)


def _var_shape(input, var):
    ishape, vshape = tuple(input.shape), tuple(var.shape)
    if vshape == ishape:
        return var
    if ishape[:-1] == vshape:
        return unsqueeze(var, -1)
    if len(vshape) == len(ishape):
        diff = [i for i in range(len(ishape)) if ishape[i] != vshape[i]]
        if len(diff) == 1 and vshape[diff[0]] == 1:
            return var
    raise ValueError("var is of incorrect size")


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    r"""Negative log-likelihood of ``target`` under :math:`\mathcal N(\text{input}, \text{var})`.

    .. math::
        \ell = \tfrac12 \left( \log \max(v, \epsilon) + \frac{(x - y)^2}{\max(v, \epsilon)}
        \right) \ [+ \tfrac12 \log 2\pi]

    ``var`` may match ``input``, lack its last dim, have size 1 in one dim (shared), or be
    a float. The clamp at ``eps`` changes the value only: the gradient with respect to
    ``var`` flows as if unclamped, like PyTorch's.
    """
    reduction = _reduction(reduction)
    if not isinstance(var, Tensor):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        from ember.ops.creation import full_like
        var = full_like(input, float(var))
    else:
        var = _var_shape(input, var)
        if var.numel() and bool((var._data < 0).any()):
            raise ValueError("var has negative entry/entries")
    vd = var.detach()
    var = var + (clamp_min(vd, eps) - vd)  # value clamped, gradient passed straight through
    loss = 0.5 * (log(var) + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


# -- margin and embedding losses ------------------------------------------------------------------
def cosine_embedding_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                          reduction="mean"):
    r"""Pull pairs together (``y = 1``) or push them below a cosine ``margin`` (``y = -1``).

    .. math::
        \ell = \begin{cases} 1 - \cos(x_1, x_2) & y = 1 \\
                             \max(0, \cos(x_1, x_2) - \text{margin}) & y = -1 \end{cases}
    """
    reduction = _reduction(reduction, size_average, reduce)
    if input1.ndim != input2.ndim or input1.ndim not in (1, 2):
        raise RuntimeError(f"cosine_embedding_loss: expected 1D or 2D inputs of the same "
                           f"dimension, got {input1.ndim}D and {input2.ndim}D")
    if target.ndim != input1.ndim - 1:
        raise RuntimeError(f"{input1.ndim - 1}D target tensor expected, multi-target not "
                           f"supported")
    d = input1.ndim - 1
    eps = 1e-12
    prod = _sum(input1 * input2, d)
    m1 = _sum(input1 * input1, d) + eps
    m2 = _sum(input2 * input2, d) + eps
    cos = prod / sqrt(m1 * m2)
    loss = where(target == 1, 1 - cos, 0.0) + where(target == -1, clamp_min(cos - margin, 0),
                                                    0.0)
    return _reduce(loss, reduction)


def margin_ranking_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                        reduction="mean"):
    r"""Rank ``input1`` above ``input2`` when ``y = 1`` (below when ``y = -1``).

    .. math::
        \ell = \max(0, -y (x_1 - x_2) + \text{margin})
    """
    reduction = _reduction(reduction, size_average, reduce)
    if not input1.ndim == input2.ndim == target.ndim:
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension "
                           f"but got sizes: input1: {_tsize(input1)}, input2: {_tsize(input2)}, "
                           f"target: {_tsize(target)} ")
    return _reduce(clamp_min(-target * (input1 - input2) + margin, 0), reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    r"""Hinge loss for similar (``y = 1``) / dissimilar (``y = -1``) pairs given distances.

    .. math::
        \ell = \begin{cases} x & y = 1 \\ \max(0, \text{margin} - x) & y = -1 \end{cases}

    (an entry whose target is neither contributes both terms, as in PyTorch).
    """
    reduction = _reduction(reduction, size_average, reduce)
    loss = where(target != 1, clamp_min(margin - input, 0), 0.0) + where(target != -1, input,
                                                                         0.0)
    return _reduce(loss, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    r"""Two-class logistic loss :math:`\ell = \log(1 + e^{-y x})` for ``y`` in {-1, 1}."""
    reduction = _reduction(reduction, size_average, reduce)
    return _reduce(-log_sigmoid(target * input), reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction="mean"):
    r"""One-vs-all logistic loss averaged over the C classes of the last dim.

    .. math::
        \ell_n = -\frac1C \sum_c w_c \left[ y_{nc} \log\sigma(x_{nc})
                 + (1 - y_{nc}) \log\sigma(-x_{nc}) \right]
    """
    reduction = _reduction(reduction, size_average, reduce)
    loss = -(target * log_sigmoid(input) + (1 - target) * log_sigmoid(-input))
    if weight is not None:
        loss = loss * weight
    c = input.shape[-1]
    loss = _sum(loss, input.ndim - 1) / c
    return _reduce(loss, reduction)


def _pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    r"""p-norm distance along the last dim: :math:`\| x_1 - x_2 + \epsilon \|_p`."""
    return _pnorm(x1 - x2 + eps, p, keepdim)


def _pnorm(d, p, keepdim=False):
    dim = d.ndim - 1 if d.ndim else None
    if p == 2:
        return sqrt(_sum(d * d, dim, keepdim))
    if p == 1:
        return _sum(abs(d), dim, keepdim)
    if p == math.inf:
        return amax(abs(d), dim, keepdim)
    if p == 0:
        return _sum(cast(d != 0, d._data.dtype), dim, keepdim)
    return _sum(abs(d) ** p, dim, keepdim) ** (1.0 / p)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    r"""Triplet loss: the anchor should be closer to the positive than to the negative.

    .. math::
        \ell = \max(0, d(a, p) - d(a, n) + \text{margin}), \quad
        d(u, v) = \| u - v + \epsilon \|_p

    With ``swap``, :math:`d(a, n)` is replaced by :math:`\min(d(a, n), d(p, n))`.
    """
    reduction = _reduction(reduction, size_average, reduce)
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the "
                           f"same number of dimensions, but got: anchor {anchor.ndim}D, positive "
                           f"{positive.ndim}D, and negative {negative.ndim}D inputs")
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    d_ap = _pairwise_distance(anchor, positive, p, eps)
    d_an = _pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_an = minimum(d_an, _pairwise_distance(positive, negative, p, eps))
    return _reduce(clamp_min(margin + d_ap - d_an, 0), reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None,
                                      margin=1.0, swap=False, reduction="mean"):
    r"""Triplet loss with any distance :math:`d` (default: the Euclidean pairwise distance).

    .. math::
        \ell = \max(0, d(a, p) - d(a, n) + \text{margin})

    With ``swap``, :math:`d(a, n)` is replaced by :math:`\min(d(a, n), d(p, n))`.
    """
    reduction = _reduction(reduction)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the "
                           f"same number of dimensions, but got: anchor {anchor.ndim}D, positive "
                           f"{positive.ndim}D, and negative {negative.ndim}D inputs")
    dist = distance_function if distance_function is not None else _pairwise_distance
    d_ap, d_an = dist(anchor, positive), dist(anchor, negative)
    if swap:
        d_an = minimum(d_an, dist(positive, negative))
    return _reduce(clamp_min(margin + d_ap - d_an, 0), reduction)
