r"""Recurrent cells as fused primitives, and a per-step loop over them.

The cell modules (``RNNCell``, ``LSTMCell``, ``GRUCell``) call one cell primitive; each
computes the hidden matmul and all gate nonlinearities of a step in one node, from the
input already projected as :math:`x_g = x W_{ih}^T + b`:

- RNN: :math:`h' = \tanh(x_g + h W_{hh}^T)` (or ReLU);
- LSTM (gates i, f, g, o from one 4H product):
  :math:`c' = \sigma(f) c + \sigma(i) \tanh(g)`, :math:`h' = \sigma(o) \tanh(c')`;
- GRU (gates r, z, n):
  :math:`n = \tanh(x_n + \sigma(r) (h W_{hn}^T + b_{hn}))`,
  :math:`h' = (1 - \sigma(z)) n + \sigma(z) h`.

:func:`run_direction` chains cells over (packed) time steps. The RNN modules run the
faster whole-layer primitives of :mod:`ember.nn._functional.rnn_layer` instead, and use
this loop only when their backward pass is itself recorded (``create_graph=True``).

Why fused: a composite cell is ~15 graph nodes per step and the loop is dominated by
their overhead. The cell math is written once over a small namespace (:class:`_ArrayMath`
on arrays for the forward and the first-order backward, :class:`_TensorMath` on ember
tensors when the backward itself is recorded), so gradients of gradients stay exact.
"""

import numpy as np

from ember.ops._registry import primitive
from ember.ops.elementwise import sigmoid, tanh, cast
from ember.ops.reduce import sum as _sum
from ember.ops.shape import cat
from ember.ops.views import transpose
from ember.nn._functional._seq_ops import recording, const, split_rows

__all__ = []


class _ArrayMath:
    """Cell math on NumPy/CuPy arrays."""

    def __init__(self, xp):
        self.xp = xp

    def sigmoid(self, x):
        return 0.5 * self.xp.tanh(0.5 * x) + 0.5  # exact and never overflows

    def tanh(self, x):
        return self.xp.tanh(x)

    def relu_mask(self, y):
        return (y > 0).astype(y.dtype)

    def cat(self, xs):
        return self.xp.concatenate(xs, -1)

    @staticmethod
    def mT(w):
        return w.T

    @staticmethod
    def sum0(x):
        return x.sum(0)


class _TensorMath:
    """The same math on ember tensors (recorded, for higher-order gradients)."""

    sigmoid = staticmethod(sigmoid)
    tanh = staticmethod(tanh)

    @staticmethod
    def relu_mask(y):
        return cast(y > 0, y._data.dtype)

    @staticmethod
    def cat(xs):
        return cat(xs, -1)

    @staticmethod
    def mT(w):
        return transpose(w, 0, 1)

    @staticmethod
    def sum0(x):
        return _sum(x, 0)


def _math(ctx):
    """Arrays of the saved inputs and the math to use, depending on whether we record."""
    ins = ctx.inputs
    if recording():
        return _TensorMath, ins, True
    return _ArrayMath(ins[0]._device.xp), [getattr(t, "_data", t) for t in ins], False


def _wrap_grads(ctx, grads, rec):
    like = ctx.inputs[0]
    return tuple(None if e is None or g is None else (g if rec else const(g, like))
                 for e, g in zip(ctx._next, grads))


# -- vanilla RNN ---------------------------------------------------------------------------------
@primitive("rnn_cell", save_output=True)
def _rnn_cell(xp, xg, h, w, relu_act):
    pre = xg + h @ w.T
    return xp.maximum(pre, 0) if relu_act else xp.tanh(pre)


@_rnn_cell.defvjp
def _(ctx, g):
    m, (xg, h, w, relu_act), rec = _math(ctx)
    out = ctx.out if rec else ctx.out._data
    g = g if rec else g._data
    d = g * m.relu_mask(out) if relu_act else g * (1 - out * out)
    dh = d @ w if ctx._next[1] is not None else None
    dw = m.mT(d) @ h if ctx._next[2] is not None else None
    return _wrap_grads(ctx, (d, dh, dw, None), rec)


# -- LSTM ----------------------------------------------------------------------------------------
def _lstm_math(m, xg, h, c, w, gates=None):
    if gates is None:
        gates = xg + h @ m.mT(w)
    hs = c.shape[-1]
    s = m.sigmoid(gates)
    i, f, o = s[:, :hs], s[:, hs:2 * hs], s[:, 3 * hs:]
    g = m.tanh(gates[:, 2 * hs:3 * hs])
    c2 = f * c + i * g
    tc = m.tanh(c2)
    return gates, i, f, g, o, c2, tc, o * tc


# Outputs (h', c', gates); the pre-activation gates are saved for the backward pass
# (not differentiable: a recorded backward recomputes them from the inputs).
@primitive("lstm_cell", n_out=3, save_output=True, nondiff_outputs=(2,))
def _lstm_cell(xp, xg, h, c, w):
    gates, _, _, _, _, c2, _, h2 = _lstm_math(_ArrayMath(xp), xg, h, c, w)
    return h2, c2, gates


@_lstm_cell.defvjp
def _(ctx, grads):
    m, (xg, h, c, w), rec = _math(ctx)
    gh, gc = (grads[0], grads[1]) if rec else (grads[0]._data, grads[1]._data)
    gates = None if rec else ctx.out[2]._data
    _, i, f, g, o, _, tc, _ = _lstm_math(m, xg, h, c, w, gates)
    dc = gc + gh * o * (1 - tc * tc)
    d = m.cat([dc * g * i * (1 - i), dc * c * f * (1 - f), dc * i * (1 - g * g),
               gh * tc * o * (1 - o)])
    dh = d @ w if ctx._next[1] is not None else None
    dw = m.mT(d) @ h if ctx._next[3] is not None else None
    return _wrap_grads(ctx, (d, dh, dc * f, dw), rec)


# -- GRU -----------------------------------------------------------------------------------------
def _gru_math(m, xg, h, w, b, hg=None):
    if hg is None:
        hg = h @ m.mT(w)
        if b is not None:
            hg = hg + b
    hs = h.shape[-1]
    rz = m.sigmoid(xg[:, :2 * hs] + hg[:, :2 * hs])
    r, z = rz[:, :hs], rz[:, hs:]
    hn = hg[:, 2 * hs:]
    n = m.tanh(xg[:, 2 * hs:] + r * hn)
    return hg, r, z, hn, n, n + z * (h - n)


# Outputs (h', h W_hh^T + b_hh); the second is saved for the backward pass only.
@primitive("gru_cell", n_out=2, save_output=True, nondiff_outputs=(1,))
def _gru_cell(xp, xg, h, w, b):
    hg, _, _, _, _, h2 = _gru_math(_ArrayMath(xp), xg, h, w, b)
    return h2, hg


@_gru_cell.defvjp
def _(ctx, grads):
    m, (xg, h, w, b), rec = _math(ctx)
    g = grads[0] if rec else grads[0]._data
    hg = None if rec else ctx.out[1]._data
    _, r, z, hn, n, _ = _gru_math(m, xg, h, w, b, hg)
    dn = g * (1 - z) * (1 - n * n)
    drz = m.cat([dn * hn * r * (1 - r), g * (h - n) * z * (1 - z)])
    dhg = m.cat([drz, dn * r])
    dh = g * z + dhg @ w if ctx._next[1] is not None else None
    dw = m.mT(dhg) @ h if ctx._next[2] is not None else None
    db = m.sum0(dhg) if ctx._next[3] is not None else None
    return _wrap_grads(ctx, (m.cat([drz, dn]), dh, dw, db), rec)


# -- public cell functions (inputs already projected: xg = x W_ih^T + b) ---------------------------
def rnn_cell(xg, h, w_hh, nonlinearity="tanh"):
    """One RNN step from the projected input ``xg`` (B, H) and hidden state ``h`` (B, H)."""
    return _rnn_cell(xg, h, w_hh, nonlinearity == "relu")


def lstm_cell(xg, h, c, w_hh):
    """One LSTM step from the projected input ``xg`` (B, 4H); returns ``(h', c')``."""
    out = _lstm_cell(xg, h, c, w_hh)
    return out[0], out[1]


def gru_cell(xg, h, w_hh, b_hh):
    """One GRU step from the projected input ``xg`` (B, 3H); returns ``h'``."""
    return _gru_cell(xg, h, w_hh, b_hh)[0]


# -- one layer, one direction, over time -------------------------------------------------------
def run_direction(mode, xw, batch_sizes, h0, c0, weights, reverse, nonlinearity="tanh"):
    """Run one layer in one direction over the (packed) time steps.

    Args:
        mode: ``"RNN"``, ``"LSTM"`` or ``"GRU"``.
        xw: (total, G) input projections, time-major and packed: the rows of step ``t``
            are the first ``batch_sizes[t]`` sequences (sorted by decreasing length).
        batch_sizes: Python ints, non-increasing.
        h0, c0: (B, H_out) / (B, H) initial states (``c0`` only for LSTM).
        weights: ``(w_hh, b_hh, w_hr)``; ``b_hh`` is used by GRU only (the others fold it
            into ``xw``), ``w_hr`` is the LSTM projection or None.
        reverse: run from the last step back to the first.

    Returns:
        ``(out, h_n, c_n)``: out (total, H_out) in the order of ``xw``; the final states of
        every sequence (B, ...) — each at its own last step.
    """
    w_hh, b_hh, w_hr = weights
    steps = split_rows(xw, batch_sizes)
    n_steps = len(batch_sizes)
    outs = [None] * n_steps
    if reverse:
        h, c = _rows(h0, c0, 0, batch_sizes[-1])
        for t in range(n_steps - 1, -1, -1):
            bs = batch_sizes[t]
            if bs > h.shape[0]:  # longer sequences join as we go back in time
                hn, cn = _rows(h0, c0, h.shape[0], bs)
                h = cat([h, hn], 0)
                c = cat([c, cn], 0) if c is not None else None
            h, c = _step(mode, steps[t], h, c, w_hh, b_hh, w_hr, nonlinearity)
            outs[t] = h
        return cat(outs, 0), h, c
    h, c = h0, c0
    done_h, done_c = [], []
    for t in range(n_steps):
        bs = batch_sizes[t]
        if bs < h.shape[0]:  # sequences that ended keep their last state
            done_h.append(h[bs:])
            h = h[:bs]
            if c is not None:
                done_c.append(c[bs:])
                c = c[:bs]
        h, c = _step(mode, steps[t], h, c, w_hh, b_hh, w_hr, nonlinearity)
        outs[t] = h
    h_n = cat([h] + done_h[::-1], 0) if done_h else h
    c_n = (cat([c] + done_c[::-1], 0) if done_c else c) if c is not None else None
    return cat(outs, 0), h_n, c_n


def _rows(h0, c0, a, b):
    if a == 0 and b == h0.shape[0]:
        return h0, c0
    return h0[a:b], (c0[a:b] if c0 is not None else None)


def _step(mode, x, h, c, w_hh, b_hh, w_hr, nonlinearity):
    if mode == "LSTM":
        h, c = lstm_cell(x, h, c, w_hh)
        if w_hr is not None:
            h = h @ transpose(w_hr, 0, 1)
        return h, c
    if mode == "GRU":
        return gru_cell(x, h, w_hh, b_hh), None
    return rnn_cell(x, h, w_hh, nonlinearity), None


def np_int_list(x):
    """A host list of ints from a tensor, array or sequence."""
    a = x._data if hasattr(x, "_data") else x
    if hasattr(a, "get"):
        a = a.get()
    return [int(v) for v in np.asarray(a).reshape(-1)]
