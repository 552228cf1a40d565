"""RNN, LSTM, GRU, their cells and sequence packing vs PyTorch on the same weights:
outputs, final states, gradients of inputs, initial states and every parameter."""

import warnings

import numpy as np
import pytest

import ember
import ember.nn as enn
from ember.nn.utils import rnn as eutils

torch = pytest.importorskip("torch")
from torch.nn.utils import rnn as tutils  # noqa: E402

pytestmark = pytest.mark.torch

CONFIGS = [
    ("RNN", {}), ("RNN", dict(nonlinearity="relu")), ("LSTM", {}), ("LSTM", dict(proj_size=3)),
    ("GRU", {}), ("GRU", dict(bias=False)), ("LSTM", dict(bias=False)),
]


def _np(t):
    return t.detach().numpy()


def close(a, b, atol=1e-10, msg=""):
    np.testing.assert_allclose(_np(a), _np(b), atol=atol, rtol=1e-7, err_msg=msg)


def pair(cls, *args, **kw):
    """The same module in both frameworks (float64, ember's weights copied from torch's)."""
    tm = getattr(torch.nn, cls)(*args, **kw).double()
    em = getattr(enn, cls)(*args, **kw).to(ember.float64)
    em.load_state_dict({k: ember.tensor(v.detach().numpy().copy())
                        for k, v in tm.state_dict().items()})
    return em, tm


def both(a, grad=True):
    return ember.tensor(a, requires_grad=grad), torch.tensor(a, requires_grad=grad)


def check_grads(em, tm, pairs):
    for n, p in tm.named_parameters():
        close(getattr(em, n).grad, p.grad, msg=n)
    for a, b in pairs:
        close(a.grad, b.grad)


def _states(cls, rng, shape, proj):
    h = rng.standard_normal(shape[:-1] + (proj or shape[-1],))
    if cls != "LSTM":
        return both(h)
    c = rng.standard_normal(shape)
    (he, ht), (ce, ct) = both(h), both(c)
    return (he, ce), (ht, ct)


def _flat(state):
    return list(state) if isinstance(state, tuple) else [state]


@pytest.mark.parametrize("cls,kw", CONFIGS, ids=[f"{c}-{k}" for c, k in CONFIGS])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_rnn_matches_torch(cls, kw, bidirectional, batch_first):
    rng = np.random.default_rng(0)
    em, tm = pair(cls, 4, 5, 2, bidirectional=bidirectional, batch_first=batch_first, **kw)
    t_len, b = 6, 3
    x = rng.standard_normal((b, t_len, 4) if batch_first else (t_len, b, 4))
    xe, xt = both(x)
    dirs = 2 if bidirectional else 1
    se, st = _states(cls, rng, (2 * dirs, b, 5), kw.get("proj_size"))
    oe, he = em(xe, se)
    ot, ht = tm(xt, st)
    close(oe, ot)
    for a, c in zip(_flat(he), _flat(ht)):
        close(a, c)
    ge = [rng.standard_normal(tuple(o.shape)) for o in [ot] + _flat(ht)]
    le = sum(((o * ember.tensor(g)).sum() for o, g in zip([oe] + _flat(he), ge)),
             ember.tensor(0.0))
    lt = sum((o * torch.tensor(g)).sum() for o, g in zip([ot] + _flat(ht), ge))
    le.backward()
    lt.backward()
    check_grads(em, tm, [(xe, xt)] + list(zip(_flat(se), _flat(st))))


@pytest.mark.parametrize("cls,kw", [("LSTM", {}), ("GRU", {}), ("RNN", {}),
                                    ("LSTM", dict(proj_size=2))])
def test_packed_unsorted_matches_torch(cls, kw):
    rng = np.random.default_rng(1)
    em, tm = pair(cls, 3, 4, 2, bidirectional=True, **kw)
    lengths = [4, 6, 2, 6, 5]  # unsorted, with a tie
    x = rng.standard_normal((6, 5, 3))
    xe, xt = both(x)
    pe = eutils.pack_padded_sequence(xe, lengths, enforce_sorted=False)
    pt = tutils.pack_padded_sequence(xt, torch.tensor(lengths), enforce_sorted=False)
    assert pe.batch_sizes.tolist() == pt.batch_sizes.tolist()
    se, st = _states(cls, rng, (4, 5, 4), kw.get("proj_size"))
    oe, he = em(pe, se)
    ot, ht = tm(pt, st)
    assert isinstance(oe, eutils.PackedSequence)
    pad_e, len_e = eutils.pad_packed_sequence(oe, batch_first=True, padding_value=-1.0)
    pad_t, len_t = tutils.pad_packed_sequence(ot, batch_first=True, padding_value=-1.0)
    close(pad_e, pad_t)
    assert len_e.tolist() == len_t.tolist() and len_e.dtype == ember.int64
    for a, c in zip(_flat(he), _flat(ht)):
        close(a, c)
    g = rng.standard_normal(tuple(pad_t.shape))
    gh = [rng.standard_normal(tuple(h.shape)) for h in _flat(ht)]
    le = (pad_e * ember.tensor(g)).sum() + sum((h * ember.tensor(v)).sum()
                                               for h, v in zip(_flat(he), gh))
    lt = (pad_t * torch.tensor(g)).sum() + sum((h * torch.tensor(v)).sum()
                                               for h, v in zip(_flat(ht), gh))
    le.backward()
    lt.backward()
    check_grads(em, tm, [(xe, xt)] + list(zip(_flat(se), _flat(st))))


def test_packed_sorted_data_order_matches_torch():
    rng = np.random.default_rng(2)
    em, tm = pair("GRU", 3, 4, batch_first=True)
    seqs = [rng.standard_normal((n, 3)) for n in (5, 3, 2)]
    pe = eutils.pack_sequence([ember.tensor(s) for s in seqs])
    pt = tutils.pack_sequence([torch.tensor(s) for s in seqs])
    close(pe.data, pt.data)
    assert pe.sorted_indices is None and pt.sorted_indices is None
    oe, he = em(pe)
    ot, ht = tm(pt)
    close(oe.data, ot.data)
    close(he, ht)


def test_unbatched_input():
    rng = np.random.default_rng(3)
    for cls in ("LSTM", "GRU", "RNN"):
        em, tm = pair(cls, 3, 4, 2, bidirectional=True)
        xe, xt = both(rng.standard_normal((5, 3)))
        se, st = _states(cls, rng, (4, 4), None)
        oe, he = em(xe, se)
        ot, ht = tm(xt, st)
        assert tuple(oe.shape) == (5, 8)
        close(oe, ot)
        for a, c in zip(_flat(he), _flat(ht)):
            close(a, c)
        oe.sum().backward()
        ot.sum().backward()
        check_grads(em, tm, [(xe, xt)] + list(zip(_flat(se), _flat(st))))


@pytest.mark.parametrize("cls", ["LSTM", "GRU", "RNN"])
def test_double_backward_matches_torch(cls):
    rng = np.random.default_rng(4)
    em, tm = pair(cls, 3, 4)
    xe, xt = both(rng.standard_normal((4, 2, 3)))
    oe, _ = em(xe)
    ot, _ = tm(xt)
    ge, = ember.autograd.grad((oe * oe).sum(), xe, create_graph=True)
    gt, = torch.autograd.grad((ot * ot).sum(), xt, create_graph=True)
    close(ge, gt)
    u = rng.standard_normal((4, 2, 3))
    (ge * ember.tensor(u)).sum().backward()
    (gt * torch.tensor(u)).sum().backward()
    check_grads(em, tm, [(xe, xt)])


@pytest.mark.parametrize("cls,kw", [("RNNCell", {}), ("RNNCell", dict(nonlinearity="relu")),
                                    ("LSTMCell", {}), ("GRUCell", {}),
                                    ("GRUCell", dict(bias=False))])
def test_cells_match_torch(cls, kw):
    rng = np.random.default_rng(5)
    em, tm = pair(cls, 3, 4, **kw)
    for batched in (True, False):
        shape = (2, 3) if batched else (3,)
        xe, xt = both(rng.standard_normal(shape))
        hs = shape[:-1] + (4,)
        if cls == "LSTMCell":
            (he, ht), (ce, ct) = both(rng.standard_normal(hs)), both(rng.standard_normal(hs))
            se, st = (he, ce), (ht, ct)
        else:
            se, st = both(rng.standard_normal(hs))
        for s_e, s_t in ((se, st), (None, None)):
            oe, ot = em(xe, s_e), tm(xt, s_t)
            for a, c in zip(_flat(oe), _flat(ot)):
                close(a, c)
            sum((o * o).sum() for o in _flat(oe)).backward()
            sum((o * o).sum() for o in _flat(ot)).backward()
        check_grads(em, tm, [(xe, xt)] + list(zip(_flat(se), _flat(st))))
        em.zero_grad()
        tm.zero_grad()


def test_parameters_names_shapes_init_repr():
    for args, kw in [((10, 20, 2), dict(proj_size=5, bidirectional=True, batch_first=True,
                                         dropout=0.1, bias=False)), ((3, 4), {})]:
        em, tm = enn.LSTM(*args, **kw), torch.nn.LSTM(*args, **kw)
        assert [(n, tuple(p.shape)) for n, p in em.named_parameters()] == \
            [(n, tuple(p.shape)) for n, p in tm.named_parameters()]
        assert repr(em) == repr(tm)
        assert em._flat_weights_names == tm._flat_weights_names
        assert em._all_weights == tm._all_weights
        bound = 1 / np.sqrt(em.hidden_size)
        for p in em.parameters():
            assert np.abs(p.detach().numpy()).max() <= bound
        em.flatten_parameters()
    for cls, kw in [("RNN", dict(nonlinearity="relu")), ("GRU", dict(num_layers=3)),
                    ("RNNCell", dict(nonlinearity="relu")), ("LSTMCell", dict(bias=False)),
                    ("GRUCell", {})]:
        assert repr(getattr(enn, cls)(3, 4, **kw)) == repr(getattr(torch.nn, cls)(3, 4, **kw))
    gru = enn.GRU(3, 6)
    assert gru.weight_ih_l0.shape == (18, 3) and len(gru.all_weights[0]) == 4
    assert enn.RNN(3, 4, 2, "relu").nonlinearity == "relu"  # positional, like PyTorch


def test_dropout_between_layers_training_only():
    ember.manual_seed(0)
    m = enn.LSTM(3, 8, num_layers=2, dropout=0.5)
    x = ember.randn(5, 2, 3)
    m.eval()
    o1, _ = m(x)
    o2, _ = m(x)
    np.testing.assert_array_equal(o1.detach().numpy(), o2.detach().numpy())
    m.train()
    o3, (h, c) = m(x)
    assert tuple(o3.shape) == (5, 2, 8) and tuple(h.shape) == (2, 2, 8)
    assert not np.allclose(o3.detach().numpy(), o1.detach().numpy())
    m1 = enn.GRU(3, 8, num_layers=1)  # no dropout layer: train == eval
    m1.train()
    a, _ = m1(x)
    m1.eval()
    b, _ = m1(x)
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy())


def _same_error(fe, ft):
    with pytest.raises(Exception) as ee:
        fe()
    with pytest.raises(Exception) as et:
        ft()
    assert type(ee.value) is type(et.value), (ee.value, et.value)
    assert str(ee.value) == str(et.value)


@pytest.mark.parametrize("case", [
    lambda m: m.nn.LSTM(3, 4, 2)(m.randn(5, 2, 4)),
    lambda m: m.nn.LSTM(3, 4, 2)(m.randn(5, 2, 2, 3)),
    lambda m: m.nn.LSTM(3, 4, 2)(m.randn(5, 2, 3), (m.randn(2, 2, 5), m.randn(2, 2, 4))),
    lambda m: m.nn.LSTM(3, 4, 2)(m.randn(5, 2, 3), (m.randn(2, 2, 4), m.randn(2, 3, 4))),
    lambda m: m.nn.LSTM(3, 4, 2)(m.randn(5, 2, 3), (m.randn(2, 4), m.randn(2, 4))),
    lambda m: m.nn.LSTM(3, 4, 2)(m.randn(5, 3), (m.randn(2, 1, 4), m.randn(2, 1, 4))),
    lambda m: m.nn.GRU(3, 4, 2)(m.randn(5, 2, 3), m.randn(2, 3, 4)),
    lambda m: m.nn.GRU(3, 4, 2)(m.randn(5, 2, 3), m.randn(2, 4)),
    lambda m: m.nn.GRU(3, 4, 2)(m.randn(5, 3), m.randn(2, 1, 4)),
    lambda m: m.nn.RNNCell(3, 4)(m.randn(2, 2, 3)),
    lambda m: m.nn.RNNCell(3, 4)(m.randn(2, 4)),
    lambda m: m.nn.RNNCell(3, 4)(m.randn(2, 3), m.randn(3, 4)),
    lambda m: m.nn.LSTMCell(3, 4)(m.randn(2, 3), (m.randn(2, 4),)),
    lambda m: m.nn.LSTM(3, 4, proj_size=4),
    lambda m: m.nn.LSTM(3, 4, proj_size=-1),
    lambda m: m.nn.RNN(3, 4, dropout=1.5),
    lambda m: m.nn.RNN(3, 0),
    lambda m: m.nn.RNN(3, 4, num_layers=0),
    lambda m: m.nn.RNN(3, 4, nonlinearity="sigmoid"),
    lambda m: m.nn.GRU(3, 4, proj_size=2),
    lambda m: m.nn.LSTM(3, 4)(m.randn(2, 1, 3, dtype=m.float64)),
])
def test_errors_match_torch(case):
    _same_error(lambda: case(ember), lambda: case(torch))


def test_dropout_single_layer_warns():
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        enn.RNN(3, 4, dropout=0.2)


# -- packing utilities ----------------------------------------------------------------------------
def test_pad_sequence_options_and_grad():
    rng = np.random.default_rng(6)
    seqs = [rng.standard_normal((n, 2)) for n in (3, 5, 1)]
    for bf in (False, True):
        for side in ("right", "left"):
            se = [ember.tensor(s, requires_grad=True) for s in seqs]
            st = [torch.tensor(s, requires_grad=True) for s in seqs]
            pe = eutils.pad_sequence(se, batch_first=bf, padding_value=7.0, padding_side=side)
            pt = tutils.pad_sequence(st, batch_first=bf, padding_value=7.0, padding_side=side)
            close(pe, pt)
            g = rng.standard_normal(tuple(pt.shape))
            (pe * ember.tensor(g)).sum().backward()
            (pt * torch.tensor(g)).sum().backward()
            for a, b in zip(se, st):
                close(a.grad, b.grad)
    _same_error(lambda: eutils.pad_sequence([ember.ones(2)], padding_side="middle"),
                lambda: tutils.pad_sequence([torch.ones(2)], padding_side="middle"))


def test_pack_pad_roundtrip_and_errors():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((4, 3, 2))  # batch_first (B=4, T=3)
    lengths = [2, 3, 1, 3]
    xe, xt = both(x)
    pe = eutils.pack_padded_sequence(xe, lengths, batch_first=True, enforce_sorted=False)
    pt = tutils.pack_padded_sequence(xt, lengths, batch_first=True, enforce_sorted=False)
    assert pe.batch_sizes.tolist() == pt.batch_sizes.tolist()
    for tl in (None, 5):
        ue, le = eutils.pad_packed_sequence(pe, total_length=tl, padding_value=0.5)
        ut, lt = tutils.pad_packed_sequence(pt, total_length=tl, padding_value=0.5)
        close(ue, ut)
        assert le.tolist() == lt.tolist()
    ue.sum().backward()
    ut.sum().backward()
    close(xe.grad, xt.grad)
    parts = eutils.unpack_sequence(pe)
    assert [tuple(p.shape) for p in parts] == [(2, 2), (3, 2), (1, 2), (3, 2)]
    np.testing.assert_allclose(parts[1].detach().numpy(), x[1])
    un = eutils.unpad_sequence(ember.tensor(x), ember.tensor(lengths), batch_first=True)
    np.testing.assert_allclose(un[0].numpy(), x[0, :2])
    _same_error(lambda: eutils.pack_padded_sequence(ember.ones(3, 2), [2, 3]),
                lambda: tutils.pack_padded_sequence(torch.ones(3, 2), [2, 3]))
    _same_error(lambda: eutils.pack_padded_sequence(ember.ones(3, 2), [3, 0]),
                lambda: tutils.pack_padded_sequence(torch.ones(3, 2), [3, 0]))
    p = eutils.pack_padded_sequence(ember.ones(3, 2), [3, 2])
    q = tutils.pack_padded_sequence(torch.ones(3, 2), [3, 2])
    _same_error(lambda: eutils.pad_packed_sequence(p, total_length=2),
                lambda: tutils.pad_packed_sequence(q, total_length=2))
    assert isinstance(p, tuple) and p.to(ember.float64).data.dtype == ember.float64


def test_lstm_trains_like_torch():
    """A few SGD steps on the same data give the same weights (learning step by step)."""
    rng = np.random.default_rng(8)
    em, tm = pair("LSTM", 3, 5, batch_first=True)
    he, ht = pair("Linear", 5, 2)
    params_e = list(em.parameters()) + list(he.parameters())
    params_t = list(tm.parameters()) + list(ht.parameters())
    oe = ember.optim.SGD(params_e, lr=0.1) if hasattr(ember, "optim") else None
    if oe is None:
        pytest.skip("ember.optim not available")
    ot = torch.optim.SGD(params_t, lr=0.1)
    for _ in range(3):
        x = rng.standard_normal((4, 6, 3))
        y = rng.integers(0, 2, 4)
        for m, mod, head, opt in ((ember, em, he, oe), (torch, tm, ht, ot)):
            opt.zero_grad()
            out, _ = mod(m.tensor(x))
            loss = m.nn.functional.cross_entropy(head(out[:, -1]), m.tensor(y))
            loss.backward()
            opt.step()
    for a, b in zip(params_e, params_t):
        close(a, b, atol=1e-9)


def test_no_grad_and_float32():
    m = enn.GRU(3, 4, 2)
    with ember.no_grad():
        out, h = m(ember.randn(5, 2, 3))
    assert out.grad_fn is None and out.dtype == ember.float32 and h.dtype == ember.float32
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warnings from large pre-activations
        m(ember.randn(5, 2, 3) * 1e4)
