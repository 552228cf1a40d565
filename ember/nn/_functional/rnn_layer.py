r"""One recurrent layer (one direction) over all time steps as a single primitive.

Why fused: the per-step cells of :mod:`ember.nn._functional.rnn` record a graph node per
step, and their backward accumulates a full (G, H) weight gradient at every step. Here the
forward loop runs on arrays and saves each step's activations into (total, .) buffers, and
the backward loop (backpropagation through time) fills one (total, G) buffer of gate
gradients, so that

.. math::
    \frac{\partial L}{\partial W_{hh}} = D^T H_{\text{prev}}, \qquad
    \frac{\partial L}{\partial (x W_{ih}^T)} = D

are one GEMM and no copy for the whole sequence. Inputs and outputs are packed and
time-major (see :func:`run_layer`). When the backward pass is itself recorded
(``create_graph=True``), the rule replays the layer with the per-step cells and
differentiates that, so gradients of gradients stay exact.
"""

import numpy as np

from ember.ops._registry import primitive
from ember.nn._functional._seq_ops import recording, const
from ember.nn._functional.rnn import run_direction

__all__ = []


class _Steps:
    """Row ranges of the time steps in packed, time-major data."""

    def __init__(self, batch_sizes):
        self.bs = batch_sizes
        self.n = len(batch_sizes)
        self.off = np.concatenate([[0], np.cumsum(batch_sizes)]).tolist()

    def rows(self, t):
        return slice(self.off[t], self.off[t] + self.bs[t])


def _sigmoid_into(xp, src, dst):
    xp.multiply(src, 0.5, out=dst)
    xp.tanh(dst, out=dst)
    dst *= 0.5
    dst += 0.5


def _scan(xp, step, st, h0, c0, reverse):
    """Run ``step(t, h, c) -> (h, c)`` over the steps; returns each sequence's final state."""
    hn = xp.empty_like(h0)
    cn = xp.empty_like(c0) if c0 is not None else None
    if reverse:  # sequences join as we go back in time
        h = h0[:st.bs[-1]]
        c = c0[:st.bs[-1]] if c0 is not None else None
        for t in range(st.n - 1, -1, -1):
            k = h.shape[0]
            if st.bs[t] > k:
                h = xp.concatenate([h, h0[k:st.bs[t]]])
                c = xp.concatenate([c, c0[k:st.bs[t]]]) if c0 is not None else None
            h, c = step(t, h, c)
        hn[...] = h
        if c0 is not None:
            cn[...] = c
        return hn, cn
    h, c = h0, c0
    for t in range(st.n):  # sequences that end keep their last state
        k, bs = h.shape[0], st.bs[t]
        if bs < k:
            hn[bs:k] = h[bs:]
            h = h[:bs]
            if c0 is not None:
                cn[bs:k] = c[bs:]
                c = c[:bs]
        h, c = step(t, h, c)
    hn[:h.shape[0]] = h
    if c0 is not None:
        cn[:c.shape[0]] = c
    return hn, cn


def _bptt(xp, step_bwd, st, g_out, g_hn, g_cn, reverse):
    """Backpropagation through time: ``step_bwd(t, dh, dc) -> (dh_prev, dc_prev)``.

    Returns the gradients of the initial states.
    """
    dh0 = xp.empty_like(g_hn)
    dc0 = xp.empty_like(g_cn) if g_cn is not None else None
    if reverse:
        dh, dc = g_hn, g_cn
        for t in range(st.n):
            k, bs = dh.shape[0], st.bs[t]
            if bs < k:  # these sequences started (from h0) at step t - 1
                dh0[bs:k] = dh[bs:]
                dh = dh[:bs]
                if dc is not None:
                    dc0[bs:k] = dc[bs:]
                    dc = dc[:bs]
            dh, dc = step_bwd(t, dh + g_out[st.rows(t)], dc)
        dh0[:dh.shape[0]] = dh
        if dc is not None:
            dc0[:dc.shape[0]] = dc
        return dh0, dc0
    dh = dc = None
    for t in range(st.n - 1, -1, -1):
        bs = st.bs[t]
        if dh is None:
            dh, dc = g_hn[:bs], (g_cn[:bs] if g_cn is not None else None)
        elif bs > dh.shape[0]:  # these sequences ended at step t
            k = dh.shape[0]
            dh = xp.concatenate([dh, g_hn[k:bs]])
            dc = xp.concatenate([dc, g_cn[k:bs]]) if dc is not None else None
        dh, dc = step_bwd(t, dh + g_out[st.rows(t)], dc)
    dh0[...] = dh
    if dc is not None:
        dc0[...] = dc
    return dh0, dc0


def _arrays(ctx, grads, n_diff):
    return [g._data for g in grads[:n_diff]], [getattr(t, "_data", t) for t in ctx.inputs]


def _replayed(ctx, grads, mode, n_diff, nonlinearity="tanh"):
    """The rule under ``create_graph``: differentiate the per-step replay of the layer."""
    from ember.autograd import grad
    ins = list(ctx.inputs)
    p = ctx.params
    if mode == "LSTM":
        xw, h0, c0, w_hh, w_hr = ins
        b_hh = None
    elif mode == "GRU":
        xw, h0, w_hh, b_hh = ins
        c0 = w_hr = None
    else:
        xw, h0, w_hh = ins
        c0 = b_hh = w_hr = None
    outs = run_direction(mode, xw, list(p["batch_sizes"]), h0, c0, (w_hh, b_hh, w_hr),
                         p["reverse"], nonlinearity)[:n_diff]
    want = [i for i, e in enumerate(ctx._next) if e is not None]
    got = grad(list(outs), [ins[i] for i in want], list(grads[:n_diff]), create_graph=True,
               allow_unused=True)
    res = [None] * len(ins)
    for i, g in zip(want, got):
        res[i] = g
    return tuple(res)


def _wrap(ctx, arrays):
    like = ctx.inputs[0]
    return tuple(None if e is None or a is None else const(a, like)
                 for e, a in zip(ctx._next, arrays))


# -- Elman RNN -------------------------------------------------------------------------------------
@primitive("rnn_layer", n_out=3, save_output=True, nondiff_outputs=(2,))
def _rnn_layer(xp, xw, h0, w, batch_sizes, reverse, relu):
    st = _Steps(batch_sizes)
    out = xp.empty((st.off[-1], h0.shape[1]), dtype=xw.dtype)
    hprev = xp.empty_like(out)
    wt = xp.ascontiguousarray(w.T)  # BLAS is faster on a contiguous right operand

    def step(t, h, c):
        r = st.rows(t)
        hprev[r] = h
        pre = h @ wt
        pre += xw[r]
        return (xp.maximum(pre, 0, out=out[r]) if relu else xp.tanh(pre, out=out[r])), None
    hn, _ = _scan(xp, step, st, h0, None, reverse)
    return out, hn, hprev


@_rnn_layer.defvjp
def _(ctx, grads):
    if recording():
        return _replayed(ctx, grads, "RNN", 2, "relu" if ctx.params["relu"] else "tanh")
    (g_out, g_hn), (xw, h0, w) = _arrays(ctx, grads, 2)
    xp = ctx.inputs[0]._device.xp
    out, hprev = ctx.out[0]._data, ctx.out[2]._data
    st = _Steps(ctx.params["batch_sizes"])
    d = xp.empty_like(xw)

    def step_bwd(t, dh, dc):
        r = st.rows(t)
        y = out[r]
        d[r] = dh * (y > 0) if ctx.params["relu"] else dh * (1 - y * y)
        return d[r] @ w, None
    dh0, _ = _bptt(xp, step_bwd, st, g_out, g_hn, None, ctx.params["reverse"])
    dw = d.T @ hprev if ctx._next[2] is not None else None
    return _wrap(ctx, (d, dh0, dw))


# -- LSTM ------------------------------------------------------------------------------------------
# Outputs: out, h_n, c_n, then the saved activations (not differentiable): the activated
# gates (i, f, g, o), tanh(c_t), c_{t-1}, h_{t-1}, and the unprojected h_t (proj only).
@primitive("lstm_layer", n_out=8, save_output=True, nondiff_outputs=(3, 4, 5, 6, 7))
def _lstm_layer(xp, xw, h0, c0, w, w_hr, batch_sizes, reverse):
    st = _Steps(batch_sizes)
    total, hs = st.off[-1], c0.shape[1]
    out = xp.empty((total, h0.shape[1]), dtype=xw.dtype)
    act = xp.empty((total, 4 * hs), dtype=xw.dtype)
    tcs, cprev = xp.empty((total, hs), dtype=xw.dtype), xp.empty((total, hs), dtype=xw.dtype)
    hprev = xp.empty_like(out)
    hraw = xp.empty((total, hs) if w_hr is not None else (0, hs), dtype=xw.dtype)

    wt = xp.ascontiguousarray(w.T)  # BLAS is faster on a contiguous right operand
    wrt = xp.ascontiguousarray(w_hr.T) if w_hr is not None else None

    def step(t, h, c):
        r = st.rows(t)
        hprev[r], cprev[r] = h, c
        gates = h @ wt
        gates += xw[r]
        a = act[r]
        _sigmoid_into(xp, gates, a)  # all four; the g block is overwritten next
        xp.tanh(gates[:, 2 * hs:3 * hs], out=a[:, 2 * hs:3 * hs])
        c2 = a[:, hs:2 * hs] * c
        c2 += a[:, :hs] * a[:, 2 * hs:3 * hs]
        tc = xp.tanh(c2, out=tcs[r])
        if w_hr is None:
            return xp.multiply(a[:, 3 * hs:], tc, out=out[r]), c2
        xp.multiply(a[:, 3 * hs:], tc, out=hraw[r])
        return xp.matmul(hraw[r], wrt, out=out[r]), c2
    hn, cn = _scan(xp, step, st, h0, c0, reverse)
    return out, hn, cn, act, tcs, cprev, hprev, hraw


@_lstm_layer.defvjp
def _(ctx, grads):
    if recording():
        return _replayed(ctx, grads, "LSTM", 3)
    (g_out, g_hn, g_cn), (xw, h0, c0, w, w_hr) = _arrays(ctx, grads, 3)
    xp = ctx.inputs[0]._device.xp
    act, tcs, cprev, hprev, hraw = (o._data for o in ctx.out[3:])
    st = _Steps(ctx.params["batch_sizes"])
    hs = c0.shape[1]
    d = xp.empty_like(xw)
    dhp = xp.empty((xw.shape[0], w_hr.shape[0]), dtype=xw.dtype) if w_hr is not None else None

    def step_bwd(t, dh, dc):
        r = st.rows(t)
        if w_hr is not None:
            dhp[r] = dh
            dh = dh @ w_hr
        a, tc = act[r], tcs[r]
        i, f, g, o = a[:, :hs], a[:, hs:2 * hs], a[:, 2 * hs:3 * hs], a[:, 3 * hs:]
        dct = dh * o
        dct *= 1 - tc * tc
        dct += dc
        dr = d[r]  # d(gates) = [dc g, dc c_prev, dc i, dh tanh(c)] * activation slopes
        xp.multiply(dct, g, out=dr[:, :hs])
        xp.multiply(dct, cprev[r], out=dr[:, hs:2 * hs])
        xp.multiply(dct, i, out=dr[:, 2 * hs:3 * hs])
        xp.multiply(dh, tc, out=dr[:, 3 * hs:])
        slope = a * (1 - a)
        slope[:, 2 * hs:3 * hs] = 1 - g * g
        dr *= slope
        return dr @ w, dct * f
    dh0, dc0 = _bptt(xp, step_bwd, st, g_out, g_hn, g_cn, ctx.params["reverse"])
    dw = d.T @ hprev if ctx._next[3] is not None else None
    dw_hr = dhp.T @ hraw if w_hr is not None and ctx._next[4] is not None else None
    return _wrap(ctx, (d, dh0, dc0, dw, dw_hr))


# -- GRU -------------------------------------------------------------------------------------------
# Outputs: out, h_n, then saved (not differentiable): sigmoid(r, z), n, the hidden part
# h W_hn^T + b_hn, and h_{t-1}.
@primitive("gru_layer", n_out=6, save_output=True, nondiff_outputs=(2, 3, 4, 5))
def _gru_layer(xp, xw, h0, w, b, batch_sizes, reverse):
    st = _Steps(batch_sizes)
    total, hs = st.off[-1], h0.shape[1]
    out = xp.empty((total, hs), dtype=xw.dtype)
    rz = xp.empty((total, 2 * hs), dtype=xw.dtype)
    ns, hns, hprev = (xp.empty((total, hs), dtype=xw.dtype) for _ in range(3))

    wt = xp.ascontiguousarray(w.T)  # BLAS is faster on a contiguous right operand

    def step(t, h, c):
        r = st.rows(t)
        hprev[r] = h
        hg = h @ wt
        if b is not None:
            hg += b
        x = xw[r]
        _sigmoid_into(xp, x[:, :2 * hs] + hg[:, :2 * hs], rz[r])
        hns[r] = hg[:, 2 * hs:]
        n = xp.tanh(x[:, 2 * hs:] + rz[r][:, :hs] * hg[:, 2 * hs:], out=ns[r])
        o = xp.subtract(h, n, out=out[r])
        o *= rz[r][:, hs:]
        o += n
        return o, None
    hn, _ = _scan(xp, step, st, h0, None, reverse)
    return out, hn, rz, ns, hns, hprev


@_gru_layer.defvjp
def _(ctx, grads):
    if recording():
        return _replayed(ctx, grads, "GRU", 2)
    (g_out, g_hn), (xw, h0, w, b) = _arrays(ctx, grads, 2)
    xp = ctx.inputs[0]._device.xp
    rz, ns, hns, hprev = (o._data for o in ctx.out[2:])
    st = _Steps(ctx.params["batch_sizes"])
    hs = h0.shape[1]
    dx = xp.empty_like(xw)
    dhg = xp.empty_like(xw)

    def step_bwd(t, dh, dc):
        r = st.rows(t)
        rr, z, n = rz[r][:, :hs], rz[r][:, hs:], ns[r]
        dn = dh * (1 - z) * (1 - n * n)
        dxr = dx[r]
        dxr[:, :hs] = dn * hns[r] * rr * (1 - rr)
        dxr[:, hs:2 * hs] = dh * (hprev[r] - n) * z * (1 - z)
        dxr[:, 2 * hs:] = dn
        dgr = dhg[r]
        dgr[:, :2 * hs] = dxr[:, :2 * hs]
        dgr[:, 2 * hs:] = dn * rr
        return dh * z + dgr @ w, None
    dh0, _ = _bptt(xp, step_bwd, st, g_out, g_hn, None, ctx.params["reverse"])
    dw = dhg.T @ hprev if ctx._next[2] is not None else None
    db = dhg.sum(0) if ctx._next[3] is not None else None
    return _wrap(ctx, (dx, dh0, dw, db))


def run_layer(mode, xw, batch_sizes, h0, c0, weights, reverse, nonlinearity="tanh"):
    """One layer in one direction over packed time-major rows; see ``run_direction``.

    Returns ``(out, h_n, c_n)`` with ``c_n`` None except for LSTM.
    """
    w_hh, b_hh, w_hr = weights
    bs = tuple(int(b) for b in batch_sizes)
    if mode == "LSTM":
        r = _lstm_layer(xw, h0, c0, w_hh, w_hr, batch_sizes=bs, reverse=reverse)
        return r[0], r[1], r[2]
    if mode == "GRU":
        r = _gru_layer(xw, h0, w_hh, b_hh, batch_sizes=bs, reverse=reverse)
        return r[0], r[1], None
    r = _rnn_layer(xw, h0, w_hh, batch_sizes=bs, reverse=reverse, relu=nonlinearity == "relu")
    return r[0], r[1], None
