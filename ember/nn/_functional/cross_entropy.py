"""Losses over class indices: ``cross_entropy``, ``nll_loss`` and the margin losses
``multi_margin_loss`` and ``multilabel_margin_loss``.

Cross-entropy with class indices is one fused primitive: the log-softmax is never
materialised, and the gradient costs three passes over the logits (see ``_ce``).
"""

import numpy as np

from ember.ops._registry import primitive
from ember.ops.elementwise import exp, clamp_min
from ember.ops.reduce import sum as _sum
from ember.ops.views import unsqueeze, squeeze, reshape
from ember.nn._functional._seq_ops import recording, const, pick, place, lse_array, _put_along
from ember.nn._functional.activation import log_softmax
from ember.nn._functional._loss_util import (_reduction, _reduce, _weighted_mean, _need_tensor,
                                             _float, _like, _dtype_name, _batched)
from ember.amp.autocast_mode import autocast_op

__all__ = ["cross_entropy", "nll_loss", "multi_margin_loss", "multilabel_margin_loss"]


# -- class-index targets: shared validation ------------------------------------------------
def _class_targets(input, target, weight, ignore_index):
    """Check a class-index target against ``input`` (N, C, d1, ...).

    Returns ``(index, wt, keep)``: ``index`` is ``target`` with ignored entries set to 0
    (an int64 tensor), ``wt`` holds ``weight[target]`` (1 without weight) with ignored
    entries 0, and ``keep`` is 1 where the target is not ignored (both in ``input``'s
    dtype).
    """
    if target._data.dtype not in (np.int64, np.uint8):
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got "
                           f"{_dtype_name(target)}")
    n, c = input.shape[0], input.shape[1]
    if target.ndim and target.shape[0] != n:
        raise ValueError(f"Expected input batch_size ({n}) to match target batch_size "
                         f"({target.shape[0]}).")
    if input.ndim == 2 and target.ndim != 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if tuple(target.shape) != (n,) + tuple(input.shape[2:]):
        raise RuntimeError(f"Expected target size {[n] + list(input.shape[2:])}, got "
                           f"{list(target.shape)}")
    if weight is not None and tuple(weight.shape) != (c,):
        raise RuntimeError(f"weight tensor should be defined either for all {c} classes or no "
                           f"classes but got weight tensor of shape: {list(weight.shape)}")
    xp = input._device.xp
    t = target._data.astype(np.int64, copy=False)
    keep = t != ignore_index
    bad = keep & ((t < 0) | (t >= c))
    if bad.any():
        raise IndexError(f"Target {int(t[bad].ravel()[0])} is out of bounds.")
    index = xp.where(keep, t, 0)
    dt = input._data.dtype
    if weight is None:
        wt = keep.astype(dt)
    else:
        wt = xp.where(keep, weight._data.astype(dt, copy=False)[index], 0).astype(dt)
    return const(index, input), const(wt, input), const(keep.astype(dt), input)


# -- cross-entropy with class indices: one fused primitive ---------------------------------------
# Why fused: the naive composite (log_softmax, then gather, weight and reduce) makes
# several passes over the (N, C) logits and stores the full log-probabilities. This
# primitive computes the loss from one log-sum-exp pass and a gather, and saves only the
# (N,) log-sum-exp. Its second output ``lse`` is differentiable, so the rule below can
# rebuild softmax = exp(x - lse) through the graph and gradients of gradients stay exact.
#
# With a per-element target coefficient a (weight[t] * (1 - smoothing), 0 if ignored), a
# dense class coefficient beta (smoothing * weight / C, masked by mk) and s = sum of all
# coefficients, the loss is   l_n = s_n * lse_n - a_n * x[n, t_n] - mk_n * <beta, x_n>
# and its gradient is         dl/dx_n = s_n * softmax(x_n) - a_n * onehot(t_n) - mk_n * beta.
@primitive("cross_entropy_fused", n_out=2, save_output=True)
def _ce(xp, x, index, a, s, beta, mk):
    lse = lse_array(xp, x, 1)
    xt = xp.take_along_axis(x, index[:, None], axis=1)
    loss = s * lse[:, 0] - a * xt[:, 0]
    if beta is not None:
        loss = loss - mk * (x @ beta if x.ndim == 2 else xp.sum(x * beta, axis=1))
    return loss.astype(x.dtype, copy=False), lse[:, 0]


@_ce.defvjp
def _(ctx, grads):
    g, glse = grads
    x, index, a, s, beta, mk = ctx.inputs
    lse = ctx.out[1]
    if not recording():  # first-order backward: three passes over the logits, in place
        xp = x._device.xp
        p = x._data - lse._data[:, None]
        xp.exp(p, out=p)
        p *= (g._data * s._data + glse._data)[:, None]
        idx = index._data[:, None]
        picked = xp.take_along_axis(p, idx, axis=1) - (g._data * a._data)[:, None]
        _put_along(xp, p, idx, picked, 1)
        if beta is not None:
            p -= (g._data * mk._data)[:, None] * _bshape(beta._data, x.ndim)
        return (const(p, x),) + (None,) * 5
    p = exp(x - unsqueeze(lse, 1))
    gx = p * unsqueeze(g * s + glse, 1) - place(g * a, index, 1, x.shape)
    if beta is not None:
        gx = gx - unsqueeze(g * mk, 1) * const(_bshape(beta._data, x.ndim), x)
    return (gx,) + (None,) * 5


def _bshape(beta, ndim):
    return beta.reshape((beta.shape[0],) + (1,) * (ndim - 2)) if beta.ndim == 1 else beta


def _ce_class(x, target, weight, ignore_index, reduction, ls):
    index, wt, keep = _class_targets(x, target, weight, ignore_index)
    c = x.shape[1]
    a = wt * (1.0 - ls) if ls else wt
    beta = mk = None
    s = a
    if ls:
        xp = x._device.xp
        w = weight._data.astype(x._data.dtype) if weight is not None else \
            xp.ones(c, dtype=x._data.dtype)
        beta_arr = (w * (ls / c)).astype(x._data.dtype)
        beta = const(beta_arr.reshape((c,) + (1,) * (x.ndim - 2)) if x.ndim > 2 else beta_arr,
                     x)
        mk = keep
        s = a + mk * float(beta_arr.sum())
    loss = _ce(x, index, a, s, beta, mk)[0]
    if reduction == "mean":
        return _weighted_mean(_sum(loss), _sum(wt))
    return _reduce(loss, reduction)


def _ce_probs(x, target, weight, reduction, ls):
    if not target.is_floating_point():
        raise RuntimeError(f"Expected floating point type for target with class probabilities, "
                           f"got {_dtype_name(target)}")
    c = x.shape[1]
    if weight is not None and tuple(weight.shape) != (c,):
        raise RuntimeError(f"weight tensor should be defined either for all {c} classes or no "
                           f"classes but got weight tensor of shape: {list(weight.shape)}")
    q = target * (1.0 - ls) + ls / c if ls else target
    terms = log_softmax(x, 1) * q
    if weight is not None:
        terms = terms * reshape(_like(weight, x), (c,) + (1,) * (x.ndim - 2))
    loss = -_sum(terms, 1)
    if reduction == "mean":
        return _sum(loss) / (x.numel() // c if c else 1)
    return _reduce(loss, reduction)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    r"""Cross-entropy between logits and a class index or class probabilities per sample.

    With class indices :math:`t_n` (``input`` of shape (N, C, d1, ...) or (C,)):

    .. math::
        \ell_n = -w_{t_n} \log \frac{\exp x_{n,t_n}}{\sum_c \exp x_{n,c}}

    and ``'mean'`` divides the sum by :math:`\sum_n w_{t_n}` over non-ignored samples.
    With class probabilities :math:`q` (same shape as ``input``),
    :math:`\ell_n = -\sum_c w_c q_{n,c} \log \mathrm{softmax}(x_n)_c` and ``'mean'`` divides
    by the number of samples. ``label_smoothing`` :math:`\varepsilon` mixes the target with
    the uniform distribution: :math:`q \to (1-\varepsilon) q + \varepsilon / C`.

    Args:
        input: logits, (N, C), (N, C, d1, ...) or unbatched (C,).
        target: class indices (N,) / (N, d1, ...) / () (integer), or probabilities
            shaped like ``input`` (float).
        weight: optional (C,) rescaling weight per class.
        ignore_index: class index whose samples contribute nothing (index targets only).
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.
        label_smoothing: :math:`\varepsilon` in [0, 1].

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> x = ember.tensor([[2.0, 0.0, -1.0]])
        >>> round(F.cross_entropy(x, ember.tensor([0])).item(), 4)
        0.1698
    """
    _need_tensor(input, "input", "cross_entropy")
    _need_tensor(target, "target", "cross_entropy")
    reduction = _reduction(reduction, size_average, reduce)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if input.ndim == 0:
        raise RuntimeError("cross_entropy: expected input with at least 1 dimension (the class "
                           "dimension), got a 0-d tensor")
    x = _float(input)
    if tuple(target.shape) == tuple(x.shape):
        if ignore_index != -100:
            raise RuntimeError("ignore_index is not supported for floating point target")
        if x.ndim > 1:
            return _ce_probs(x, target, weight, reduction, label_smoothing)
        loss = _ce_probs(unsqueeze(x, 0), unsqueeze(target, 0), weight, reduction,
                         label_smoothing)
        return squeeze(loss, 0) if reduction == "none" else loss
    x, t, unbatched = _batched(x, target)
    loss = _ce_class(x, t, weight, ignore_index, reduction, label_smoothing)
    return squeeze(loss, 0) if unbatched and reduction == "none" else loss


@autocast_op("nll_loss")
def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    r"""Negative log-likelihood of log-probabilities ``input`` at class indices ``target``.

    .. math::
        \ell_n = -w_{t_n} x_{n, t_n}, \qquad
        \text{mean} = \frac{\sum_n \ell_n}{\sum_{n: t_n \ne \text{ignore}} w_{t_n}}

    Args:
        input: log-probabilities (N, C), (N, C, d1, ...) or unbatched (C,).
        target: class indices (N,), (N, d1, ...) or ().
        weight: optional (C,) per-class weight.
        ignore_index: class index whose samples contribute nothing.
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.nll_loss(ember.tensor([[-0.5, -1.0]]), ember.tensor([1])).item()
        1.0
    """
    _need_tensor(input, "input", "nll_loss")
    _need_tensor(target, "target", "nll_loss")
    reduction = _reduction(reduction, size_average, reduce)
    if input.ndim == 0:
        raise ValueError("Expected 1 or more dimensions (got 0)")
    x, t, unbatched = _batched(_float(input), target)
    index, wt, _ = _class_targets(x, t, weight, ignore_index)
    loss = pick(x, index, 1) * (-wt)
    if reduction == "mean":
        return _weighted_mean(_sum(loss), _sum(wt))
    loss = _reduce(loss, reduction)
    return squeeze(loss, 0) if unbatched and reduction == "none" else loss



def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None,
                      reduce=None, reduction="mean"):
    r"""Multi-class hinge loss.

    .. math::
        \ell_n = \frac1C \sum_{c \ne t_n} w_{t_n} \max(0, \text{margin} - x_{n,t_n} + x_{n,c})^p

    with ``p`` 1 or 2; ``input`` is (N, C) or (C,).
    """
    reduction = _reduction(reduction, size_average, reduce)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.ndim != 1:
        raise ValueError("weight must be one-dimensional")
    if input.ndim > 2 or target.ndim > 1 or (input.ndim == 2 and target.ndim != 1):
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    x, t, unbatched = _batched(_float(input), target)
    n, c = x.shape
    if t.shape[0] != n:
        raise RuntimeError(f"multi_margin_loss: target tensor should be 1-D with size equal to "
                           f"the number of input samples (batch size). Expected target size "
                           f"[{n}], but got {list(t.shape)}. Input has shape {list(x.shape)}.")
    td = t._data.astype(np.int64)
    if td.size and bool(((td < 0) | (td >= c)).any()):
        raise RuntimeError("target out of range")
    index = const(td, x)
    z = clamp_min(x + (margin - unsqueeze(pick(x, index, 1), 1)), 0)
    if p == 2:
        z = z * z
    xp = x._device.xp
    off = const((xp.arange(c)[None, :] != td[:, None]).astype(x._data.dtype), x)
    if weight is not None:
        off = off * unsqueeze(const(_like(weight, x)._data[td], x), 1)
    loss = _sum(z * off, 1) / c
    if unbatched:
        loss = squeeze(loss, 0)
    return _reduce(loss, reduction)


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    r"""Multi-class multi-label hinge loss.

    Each row of ``target`` lists the sample's classes, ended by the first -1. With
    :math:`J` those classes and :math:`I` the others,

    .. math::
        \ell_n = \frac1C \sum_{j \in J} \sum_{i \in I} \max(0, 1 - (x_{n,j} - x_{n,i}))

    ``input`` is (N, C) or (C,); ``target`` is an int64 tensor of the same shape.
    """
    reduction = _reduction(reduction, size_average, reduce)
    if target._data.dtype != np.int64:
        raise RuntimeError(f"expected scalar type Long but found {_dtype_name(target)}")
    if tuple(target.shape) != tuple(input.shape) or input.ndim > 2:
        raise RuntimeError(f"inconsistent target size: {list(target.shape)} for input of size: "
                           f"{list(input.shape)}")
    x = _float(input)
    unbatched = x.ndim == 1
    x2 = unsqueeze(x, 0) if unbatched else x
    counts = _label_counts(target._data.reshape(x2.shape), x2.shape[1], x._device.xp)
    c = x2.shape[1]
    hinge = clamp_min(1 - unsqueeze(x2, 2) + unsqueeze(x2, 1), 0)  # [n, j, i]
    pairs = counts[:, :, None] * (counts == 0)[:, None, :]
    loss = _sum(hinge * const(pairs.astype(x._data.dtype), x), (1, 2)) / c
    return _reduce(squeeze(loss, 0) if unbatched else loss, reduction)


def _label_counts(t, c, xp):
    """How often each class is listed in each row before the first -1 (N, C)."""
    stop = xp.cumsum(t < 0, axis=1) > 0
    if bool((~stop & ((t < -1) | (t >= c))).any()):
        raise RuntimeError("argument #2 'target' is out of range")
    hits = (t[:, :, None] == xp.arange(c)[None, None, :]) & ~stop[:, :, None]
    return hits.sum(1)
