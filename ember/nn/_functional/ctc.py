"""Connectionist Temporal Classification loss (``F.ctc_loss``).

The forward pass is the alpha recursion over the blank-extended label sequence
``l' = (blank, l1, blank, l2, ..., lS, blank)`` (length ``L = 2S + 1``), one time step at a
time and vectorised over the batch and the label positions. It runs in probability space
with each frame rescaled to sum to one (Graves et al., 2006), in float64, so no
log/exp is needed inside the loop and nothing underflows:

.. math::
    \\hat\\alpha_t(s) \\propto y_t(l'_s) \\left[\\hat\\alpha_{t-1}(s) + \\hat\\alpha_{t-1}(s-1)
        + [l'_s \\ne \\text{blank}, l'_s \\ne l'_{s-2}]\\, \\hat\\alpha_{t-1}(s-2)\\right],
    \\qquad -\\log p(l|x) = -\\sum_t \\log c_t - \\log(\\hat\\alpha_{T-1}(L-1)
        + \\hat\\alpha_{T-1}(L-2))

where :math:`c_t` are the per-frame normalisers. The backward pass runs the matching beta
recursion; the state occupancies :math:`\\gamma_t(s) = \\hat\\alpha_t(s)\\hat\\beta_t(s) /
\\sum_{s'} \\hat\\alpha_t(s')\\hat\\beta_t(s')` need no normalisers at all.
"""

import numpy as np

from ember._tensor import Tensor
from ember.ops._registry import primitive
from ember.ops.reduce import sum as _sum
from ember.ops.elementwise import clamp_min, cast
from ember.nn._functional._seq_ops import recording, const

__all__ = ["ctc_loss"]


def _extended(xp, targets, tlen, blank):
    """Blank-extended labels (N, L), allowed skips (s-2 -> s) and live states (s <= 2 S_n)."""
    n, smax = targets.shape
    ext = xp.full((n, 2 * smax + 1), blank, dtype=np.int64)
    ext[:, 1::2] = targets
    skip = xp.zeros(ext.shape, dtype=bool)
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    live = xp.arange(2 * smax + 1)[None, :] <= 2 * tlen[:, None]
    return ext, skip & live, live


def _alpha(xp, y, skip, ilen, tlen):
    """Scaled alphas (T, N, L) and each sample's -log p (N,)."""
    t_max, n, L = y.shape
    alpha = xp.zeros_like(y)
    logc = xp.zeros((t_max, n))
    a = xp.zeros((n, L))
    a[:, 0] = 1.0
    a[:, 1] = (tlen > 0) if L > 1 else 0.0
    a = a * y[0]
    for t in range(t_max):
        if t:
            prev = alpha[t - 1]
            a = prev.copy()
            a[:, 1:] += prev[:, :-1]
            a[:, 2:] += prev[:, :-2] * skip[:, 2:]
            a *= y[t]
        c = a.sum(1)
        alive = (t < ilen) & (c > 0)
        a /= xp.where(alive, c, 1.0)[:, None]
        logc[t] = xp.where(alive, xp.log(xp.where(alive, c, 1.0)), 0.0)
        logc[t] = xp.where((t < ilen) & (c <= 0), -np.inf, logc[t])
        alpha[t] = a
    rows = xp.arange(n)
    last = alpha[xp.maximum(ilen - 1, 0), rows]
    end = last[rows, 2 * tlen] + xp.where(tlen > 0, last[rows, xp.maximum(2 * tlen - 1, 0)], 0)
    with np.errstate(divide="ignore"):
        nll = -logc.sum(0) - xp.log(end)
    nll = xp.where(ilen > 0, nll, xp.where(tlen > 0, np.inf, 0.0))
    return alpha, nll


def _gamma(xp, y, alpha, skip, ilen, tlen):
    """State occupancies (T, N, L): alpha * beta normalised per frame (0 for t >= T_n)."""
    t_max, n, L = y.shape
    rows = xp.arange(n)
    init = xp.zeros((n, L))
    init[rows, 2 * tlen] = 1.0
    init[rows, xp.maximum(2 * tlen - 1, 0)] += xp.where(tlen > 0, 1.0, 0.0)
    gamma = xp.zeros_like(y)
    b = init
    for t in range(t_max - 1, -1, -1):
        if t < t_max - 1:
            u = y[t + 1] * b
            rec = u.copy()
            rec[:, :-1] += u[:, 1:]
            rec[:, :-2] += (u * skip)[:, 2:]
            s = rec.sum(1)
            rec /= xp.where(s > 0, s, 1.0)[:, None]
            b = xp.where((t == ilen - 1)[:, None], init, rec)
        else:
            b = xp.where((t == ilen - 1)[:, None], init, 0.0)
        ab = alpha[t] * b
        z = ab.sum(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            gamma[t] = xp.where((t < ilen)[:, None], ab / z[:, None], 0.0)
    return gamma


def _emissions(xp, log_probs, ext, live):
    """Probabilities of each extended label per frame (T, N, L), 0 at dead states."""
    n = ext.shape[0]
    return xp.exp(log_probs.astype(np.float64)[:, xp.arange(n)[:, None], ext]) * live


# Outputs: the per-sample loss, and (not differentiable) the scaled alphas and the raw
# -log p before zero_infinity, which the gradient rule reuses.
@primitive("ctc_loss", n_out=3, save_output=True, nondiff_outputs=(1, 2))
def _ctc(xp, log_probs, ext, skip, live, ilen, tlen, zero_infinity):
    alpha, nll = _alpha(xp, _emissions(xp, log_probs, ext, live), skip, ilen, tlen)
    out = xp.where(xp.isinf(nll), 0.0, nll) if zero_infinity else nll
    return out.astype(log_probs.dtype), alpha, nll


@_ctc.defvjp
def _(ctx, grads):
    g = grads[0]
    lp, ext, skip, live, ilen, tlen, zero_infinity = ctx.inputs
    _, alpha, raw = ctx.out
    xp = lp._device.xp
    t_max, n, c = lp.shape
    lpd = lp._data
    y = _emissions(xp, lpd, ext._data, live._data)
    gamma = _gamma(xp, y, alpha._data, skip._data, ilen._data, tlen._data)
    # sum the occupancies of the states that emit each class: one bincount
    flat = ((xp.arange(t_max)[:, None, None] * n + xp.arange(n)[None, :, None]) * c
            + ext._data[None, :, :])
    occ = xp.bincount(flat.ravel(), weights=gamma.ravel(), minlength=t_max * n * c)
    # PyTorch's gradient: exp(log_probs) - occupancy, i.e. the gradient with respect to the
    # logits when log_probs = log_softmax(logits). We return the same so that training
    # matches step by step (after a log_softmax the exp term cancels exactly).
    active = xp.arange(t_max)[:, None, None] < ilen._data[None, :, None]
    grad = xp.where(active, xp.exp(lpd.astype(np.float64)) - occ.reshape(t_max, n, c), 0.0)
    dead = xp.isinf(raw._data)[None, :, None]  # impossible alignments: NaN (or 0) gradients
    grad = xp.where(dead & active, 0.0 if zero_infinity else np.nan, grad)
    grad = grad.astype(lpd.dtype)
    if not recording():
        return (const(grad * g._data[None, :, None], lp),) + (None,) * 6
    return (_ctc_backward(g, lp, G=grad),) + (None,) * 6


@primitive("ctc_loss_backward", save="none")
def _ctc_backward_prim(xp, g, lp, G):
    return G * g[None, :, None]


@_ctc_backward_prim.defvjp
def _(ctx, gg):
    if ctx._next[1] is not None:
        raise RuntimeError("derivative for ctc_loss_backward is not implemented")
    G = const(ctx.params["G"], gg)
    return _sum(gg * G, (0, 2)), None


def _ctc_backward(g, lp, G):
    return _ctc_backward_prim(g, lp, G=G)


def _lengths(v, xp, name):
    if isinstance(v, Tensor):
        a = v._data
    else:
        a = np.asarray(v)
    if a.dtype.kind not in "iu":
        raise RuntimeError(f"ctc_loss: {name} must be integers, got {a.dtype}")
    return xp.asarray(a, dtype=np.int64).reshape(-1)


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
             zero_infinity=False):
    r"""The CTC loss: :math:`-\log p(\text{target} \mid \text{input})` summed over alignments.

    Args:
        log_probs: (T, N, C) or unbatched (T, C) log-probabilities (e.g. ``log_softmax``).
        targets: (N, S) padded class indices, or the concatenation of all targets (1-D,
            ``sum(target_lengths)`` long); unbatched: (S,).
        input_lengths: (N,) lengths of the inputs (each at most T).
        target_lengths: (N,) lengths of the targets.
        blank: the blank class index.
        reduction: ``'none'`` (per sample), ``'sum'``, or ``'mean'``: each loss divided by
            its target length (at least 1), then averaged over the batch.
        zero_infinity: replace infinite losses (impossible alignments) and their gradients
            by zero.

    As in PyTorch, the gradient returned for ``log_probs`` is ``exp(log_probs) - occupancy``
    (the gradient with respect to the logits under a ``log_softmax``).

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> lp = ember.full((3, 1, 2), -0.6931471805599453)  # log(1/2): blank or label 1
        >>> # 6 of the 8 paths collapse to "1": -log(6/8)
        >>> round(F.ctc_loss(lp, ember.tensor([[1]]), [3], [1], reduction="sum").item(), 4)
        0.2877
    """
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    unbatched = log_probs.ndim == 2
    xp = log_probs._device.xp
    lp = log_probs.unsqueeze(1) if unbatched else log_probs
    if lp.ndim != 3:
        raise RuntimeError(f"ctc_loss: expected log_probs to be 2D or 3D, got {log_probs.ndim}D")
    t_max, n, c = lp.shape
    if not 0 <= blank < c:
        raise RuntimeError("blank must be in label range")
    ilen = _lengths(input_lengths, xp, "input_lengths")
    tlen = _lengths(target_lengths, xp, "target_lengths")
    if ilen.shape[0] != n:
        raise RuntimeError(f"input_lengths must be of size batch_size ({n}), got {ilen.shape[0]}")
    if tlen.shape[0] != n:
        raise RuntimeError(f"target_lengths must be of size batch_size ({n}), got "
                           f"{tlen.shape[0]}")
    if n and int(ilen.max()) > t_max:
        raise RuntimeError(f"Expected input_lengths to have value at most {t_max}, but got value "
                           f"{int(ilen.max())} (while checking arguments for ctc_loss_cpu)")
    tgt = _padded_targets(targets, tlen, n, unbatched, xp, blank)
    if tgt.size and bool(((tgt < 0) | (tgt >= c)).any()):
        raise RuntimeError(f"ctc_loss: target labels must be in [0, {c}), got "
                           f"{int(tgt[(tgt < 0) | (tgt >= c)][0])}")
    ext, skip, live = _extended(xp, tgt, tlen, blank)
    nll = _ctc(lp, const(ext, lp), const(skip, lp), const(live, lp), const(ilen, lp),
               const(tlen, lp), bool(zero_infinity))[0]
    if reduction == "none":
        return nll.squeeze(0) if unbatched else nll
    if reduction == "sum":
        return _sum(nll)
    denom = cast(clamp_min(const(tlen, lp), 1), nll._data.dtype)
    return (nll / denom).mean()


def _padded_targets(targets, tlen, n, unbatched, xp, blank):
    t = targets._data if isinstance(targets, Tensor) else xp.asarray(targets)
    t = t.astype(np.int64, copy=False)
    smax = int(tlen.max()) if n else 0
    if unbatched:
        t = t.reshape(1, -1)
    if t.ndim == 2 and not unbatched or unbatched:
        if t.shape[1] < smax:
            raise RuntimeError(f"Expected tensor to have size at least {smax} at dimension 1, "
                               f"but got size {t.shape[1]} for argument #2 'targets' (while "
                               f"checking arguments for ctc_loss_cpu)")
        return xp.where(xp.arange(smax)[None, :] < tlen[:, None], t[:, :smax], blank)
    if int(tlen.sum()) != t.shape[0]:
        raise RuntimeError(f"Expected tensor to have size {int(tlen.sum())} at dimension 0, but "
                           f"got size {t.shape[0]} for argument #2 'targets' (while checking "
                           f"arguments for ctc_loss_cpu)")
    out = xp.full((n, smax), blank, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(np.asarray(tlen.tolist()))[:-1]]) if n else []
    for i in range(n):
        k = int(tlen[i])
        out[i, :k] = t[int(starts[i]):int(starts[i]) + k]
    return out
