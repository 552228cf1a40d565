"""Attention and Transformers vs PyTorch: scaled_dot_product_attention (masks, causal,
scale, GQA, dropout), MultiheadAttention and the Transformer stacks in eval mode with the
same weights (outputs, attention weights, gradients of inputs and parameters), and
training-mode dropout behaviour."""

import numpy as np
import pytest

import ember
import ember.nn as enn
import ember.nn.functional as EF

torch = pytest.importorskip("torch")
import torch.nn.functional as TF  # noqa: E402

pytestmark = pytest.mark.torch


def _np(t):
    return t.detach().numpy()


def close(a, b, atol=1e-10, msg=""):
    np.testing.assert_allclose(_np(a), _np(b), atol=atol, rtol=1e-7, err_msg=msg)


def both(a, grad=True):
    return ember.tensor(a, requires_grad=grad), torch.tensor(a, requires_grad=grad)


def pair(cls, *args, **kw):
    """The same module in both frameworks (float64, ember's weights copied from torch's)."""
    tm = getattr(torch.nn, cls)(*args, **kw).double()
    em = getattr(enn, cls)(*args, **kw).to(ember.float64)
    em.load_state_dict({k: ember.tensor(v.detach().numpy().copy())
                        for k, v in tm.state_dict().items()})
    return em, tm


def backward_both(oe, ot, rng):
    g = rng.standard_normal(tuple(ot.shape))
    (oe * ember.tensor(g)).sum().backward()
    (ot * torch.tensor(g)).sum().backward()


def check_param_grads(em, tm):
    for n, p in tm.named_parameters():
        a = em.get_parameter(n) if hasattr(em, "get_parameter") else dict(
            em.named_parameters())[n]
        if p.grad is None:
            assert a.grad is None or np.allclose(_np(a.grad), 0), n
            continue
        close(a.grad, p.grad, msg=n)


# -- scaled_dot_product_attention ------------------------------------------------------------------
R = np.random.default_rng(0)
Q, K, V = R.standard_normal((2, 3, 4, 5)), R.standard_normal((2, 3, 6, 5)), \
    R.standard_normal((2, 3, 6, 7))
BOOL = R.random((4, 6)) < 0.7
BOOL[:, 0] = True
BOOL_DEAD = BOOL.copy()
BOOL_DEAD[2] = False  # a query with no key
FLOAT = R.standard_normal((2, 1, 4, 6))
FLOAT_DEAD = np.where(BOOL_DEAD, FLOAT, -np.inf)

SDPA = {
    "plain": dict(),
    "scale": dict(scale=0.3),
    "bool_mask": dict(attn_mask=BOOL),
    "bool_mask_dead_row": dict(attn_mask=BOOL_DEAD),
    "float_mask": dict(attn_mask=FLOAT),
    "float_mask_dead_row": dict(attn_mask=FLOAT_DEAD),
    "causal_rect": dict(is_causal=True),
}


@pytest.mark.parametrize("name", list(SDPA))
def test_sdpa_matches_torch(name):
    kw = SDPA[name]
    rng = np.random.default_rng(1)
    (qe, qt), (ke, kt), (ve, vt) = both(Q), both(K), both(V)
    ke_kw = {k: ember.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    kt_kw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    oe = EF.scaled_dot_product_attention(qe, ke, ve, **ke_kw)
    ot = TF.scaled_dot_product_attention(qt, kt, vt, **kt_kw)
    close(oe, ot)
    backward_both(oe, ot, rng)
    for a, b in ((qe, qt), (ke, kt), (ve, vt)):
        close(a.grad, b.grad)


def test_sdpa_float_mask_grad_and_double_backward():
    rng = np.random.default_rng(2)
    (qe, qt), (ke, kt), (ve, vt), (me, mt) = both(Q), both(K), both(V), both(FLOAT)
    oe = EF.scaled_dot_product_attention(qe, ke, ve, attn_mask=me)
    ot = TF.scaled_dot_product_attention(qt, kt, vt, attn_mask=mt)
    g = rng.standard_normal(tuple(ot.shape))
    ge = ember.autograd.grad((oe * ember.tensor(g)).sum(), [qe, ke, ve, me], create_graph=True)
    gt = torch.autograd.grad((ot * torch.tensor(g)).sum(), [qt, kt, vt, mt], create_graph=True)
    for a, b in zip(ge, gt):
        close(a, b)
    u = [rng.standard_normal(tuple(b.shape)) for b in gt]
    sum((a * ember.tensor(w)).sum() for a, w in zip(ge, u)).backward()
    sum((b * torch.tensor(w)).sum() for b, w in zip(gt, u)).backward()
    for a, b in ((qe, qt), (ke, kt), (ve, vt), (me, mt)):
        close(a.grad, b.grad, atol=1e-9)


def test_sdpa_gqa_unbatched_and_errors():
    (qe, qt), (ke, kt), (ve, vt) = both(R.standard_normal((2, 4, 3, 5))), \
        both(R.standard_normal((2, 2, 6, 5))), both(R.standard_normal((2, 2, 6, 7)))
    oe = EF.scaled_dot_product_attention(qe, ke, ve, enable_gqa=True)
    ot = TF.scaled_dot_product_attention(qt, kt, vt, enable_gqa=True)
    close(oe, ot)
    backward_both(oe, ot, np.random.default_rng(3))
    for a, b in ((qe, qt), (ke, kt), (ve, vt)):
        close(a.grad, b.grad)
    (qe, qt), (ke, kt), (ve, vt) = both(R.standard_normal((3, 4))), \
        both(R.standard_normal((3, 4))), both(R.standard_normal((3, 2)))
    close(EF.scaled_dot_product_attention(qe, ke, ve, is_causal=True),
          TF.scaled_dot_product_attention(qt, kt, vt, is_causal=True))
    with pytest.raises(RuntimeError, match="Explicit attn_mask should not be set"):
        EF.scaled_dot_product_attention(qe, ke, ve, attn_mask=ember.ones(3, 3, dtype=ember.bool),
                                        is_causal=True)
    with pytest.raises(RuntimeError, match="Expected attn_mask dtype"):
        EF.scaled_dot_product_attention(qe, ke, ve, attn_mask=ember.ones(3, 3,
                                                                         dtype=ember.int64))


def test_sdpa_dropout_scales_kept_weights():
    ember.manual_seed(0)
    s = 50
    q = ember.zeros(1, 2, 8, 4)  # uniform attention: every weight is 1/s
    k = ember.zeros(1, 2, s, 4)
    v = ember.eye(s).reshape(1, 1, s, s).expand(1, 2, s, s)
    out = EF.scaled_dot_product_attention(q, k, v, dropout_p=0.4).numpy()
    kept = np.isclose(out, 1 / s / 0.6)
    assert np.all(kept | np.isclose(out, 0.0))
    assert 0.45 < kept.mean() < 0.75


# -- MultiheadAttention ----------------------------------------------------------------------------
MHA_CONFIGS = {
    "default": dict(),
    "no_bias": dict(bias=False),
    "bias_kv_zero_attn": dict(add_bias_kv=True, add_zero_attn=True),
    "kdim_vdim": dict(kdim=3, vdim=5),
    "batch_first": dict(batch_first=True),
}


def _mha_inputs(cfg, rng, self_attn, batched=True):
    e = 8
    L, S, N = 4, 6, 2
    bf = cfg.get("batch_first", False)

    def shape(n, d):
        if not batched:
            return (n, d)
        return (N, n, d) if bf else (n, N, d)
    if self_attn:
        x = rng.standard_normal(shape(L, e))
        xe, xt = both(x)
        return (xe, xe, xe), (xt, xt, xt), L, L
    q = rng.standard_normal(shape(L, e))
    k = rng.standard_normal(shape(S, cfg.get("kdim", e)))
    v = rng.standard_normal(shape(S, cfg.get("vdim", e)))
    (qe, qt), (ke, kt), (ve, vt) = both(q), both(k), both(v)
    return (qe, ke, ve), (qt, kt, vt), L, S


def _masks(kind, rng, L, S, N=2, H=2):
    kpm = rng.random((N, S)) < 0.3
    kpm[:, 0] = False
    out = {}
    if "kpm_bool" in kind:
        out["key_padding_mask"] = kpm
    if "kpm_float" in kind:
        out["key_padding_mask"] = np.where(kpm, -1e9, rng.standard_normal((N, S)) * 0.1)
    if "mask2d_bool" in kind:
        m = rng.random((L, S)) < 0.3
        m[:, 0] = False
        out["attn_mask"] = m
    if "mask3d_float" in kind:
        out["attn_mask"] = rng.standard_normal((N * H, L, S))
    if "causal" in kind:
        out["attn_mask"] = np.triu(np.full((L, S), -np.inf), 1)
        out["is_causal"] = True
    return out


@pytest.mark.parametrize("cfg_name", list(MHA_CONFIGS))
@pytest.mark.parametrize("masks", ["", "kpm_bool+mask2d_bool", "kpm_float+mask3d_float"])
@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_matches_torch(cfg_name, masks, need_weights):
    cfg = MHA_CONFIGS[cfg_name]
    rng = np.random.default_rng(4)
    em, tm = pair("MultiheadAttention", 8, 2, dropout=0.3, **cfg)
    em.eval()
    tm.eval()
    for self_attn in ((True, False) if "kdim" not in cfg else (False,)):
        ins_e, ins_t, L, S = _mha_inputs(cfg, rng, self_attn)
        mk = _masks(masks, rng, L, S)
        mk_e = {k: ember.tensor(v) if isinstance(v, np.ndarray) else v for k, v in mk.items()}
        mk_t = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in mk.items()}
        for avg in ((True, False) if need_weights else (True,)):
            oe, we = em(*ins_e, need_weights=need_weights, average_attn_weights=avg, **mk_e)
            ot, wt = tm(*ins_t, need_weights=need_weights, average_attn_weights=avg, **mk_t)
            close(oe, ot)
            if need_weights:
                close(we, wt)
            else:
                assert we is None and wt is None
        backward_both(oe, ot, rng)
        for a, b in zip(ins_e, ins_t):
            close(a.grad, b.grad)
        check_param_grads(em, tm)
        em.zero_grad()
        tm.zero_grad()


@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_causal_unbatched_and_fully_masked(need_weights):
    rng = np.random.default_rng(5)
    em, tm = pair("MultiheadAttention", 8, 2)
    ins_e, ins_t, L, S = _mha_inputs({}, rng, True)
    mk = _masks("causal", rng, L, S)
    mk_e = {k: ember.tensor(v) if isinstance(v, np.ndarray) else v for k, v in mk.items()}
    mk_t = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in mk.items()}
    oe, _ = em(*ins_e, need_weights=need_weights, **mk_e)
    ot, _ = tm(*ins_t, need_weights=need_weights, **mk_t)
    close(oe, ot)
    ins_e, ins_t, L, S = _mha_inputs({}, rng, False, batched=False)
    oe, we = em(*ins_e, need_weights=need_weights)
    ot, wt = tm(*ins_t, need_weights=need_weights)
    close(oe, ot)
    if need_weights:
        close(we, wt)
    # a batch element whose keys are all padded: NaN with weights, 0 without (as PyTorch)
    ins_e, ins_t, L, S = _mha_inputs({}, rng, False)
    kpm = np.zeros((2, S), dtype=bool)
    kpm[0] = True
    oe, _ = em(*ins_e, key_padding_mask=ember.tensor(kpm), need_weights=need_weights)
    ot, _ = tm(*ins_t, key_padding_mask=torch.tensor(kpm), need_weights=need_weights)
    np.testing.assert_allclose(_np(oe), _np(ot), atol=1e-10, equal_nan=True)


def test_mha_structure_and_errors():
    em, tm = enn.MultiheadAttention(4, 2, kdim=3, vdim=5, add_bias_kv=True), \
        torch.nn.MultiheadAttention(4, 2, kdim=3, vdim=5, add_bias_kv=True)
    assert [(n, tuple(p.shape)) for n, p in em.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in tm.named_parameters()]
    assert list(em.state_dict()) == list(tm.state_dict())
    assert repr(em) == repr(tm)
    e2 = enn.MultiheadAttention(8, 2)
    assert np.all(e2.in_proj_bias.detach().numpy() == 0)
    assert np.all(e2.out_proj.bias.detach().numpy() == 0)
    lim = np.sqrt(6 / (8 + 24))
    assert np.abs(e2.in_proj_weight.detach().numpy()).max() <= lim
    cases = [
        lambda m: m.nn.MultiheadAttention(5, 2),
        lambda m: m.nn.MultiheadAttention(0, 2),
        lambda m: m.nn.MultiheadAttention(4, 2)(m.randn(3, 2, 4), m.randn(5, 2, 4),
                                                m.randn(5, 2, 4), is_causal=True),
        lambda m: m.nn.MultiheadAttention(4, 2)(m.randn(3, 2, 5), m.randn(5, 2, 4),
                                                m.randn(5, 2, 4)),
        lambda m: m.nn.MultiheadAttention(4, 2)(m.randn(3, 2, 4), m.randn(5, 2, 4),
                                                m.randn(5, 2, 4),
                                                attn_mask=m.ones(3, 4, dtype=m.bool)),
        lambda m: m.nn.MultiheadAttention(4, 2)(m.randn(3, 2, 4), m.randn(5, 2, 4),
                                                m.randn(5, 2, 4),
                                                attn_mask=m.ones(3, 3, 5, dtype=m.bool)),
    ]
    for case in cases:
        with pytest.raises(Exception) as ee:
            case(ember)
        with pytest.raises(Exception) as et:
            case(torch)
        assert type(ee.value) is type(et.value) and str(ee.value) == str(et.value)


def test_mha_training_dropout():
    ember.manual_seed(1)
    m = enn.MultiheadAttention(8, 2, dropout=0.5)
    x = ember.randn(5, 3, 8)
    m.eval()
    a, wa = m(x, x, x)
    m.train()
    b, wb = m(x, x, x)
    assert tuple(b.shape) == (5, 3, 8) and tuple(wb.shape) == (3, 5, 5)
    assert not np.allclose(_np(a), _np(b))
    # dropped weights are scaled by 1 / (1 - p): rows sum to ~1 / 0.5 * kept mass
    assert np.isclose(_np(wa).sum(-1), 1).all()
    assert not np.isclose(_np(wb).sum(-1), 1).all()


# -- Transformer -----------------------------------------------------------------------------------
LAYER_CONFIGS = {
    "post_ln_relu": dict(),
    "pre_ln_gelu": dict(norm_first=True, activation="gelu"),
    "batch_first_no_bias": dict(batch_first=True, bias=False),
    "callable_act_eps": dict(activation=TF.silu, layer_norm_eps=1e-3),
}


def _act(cfg):
    out = dict(cfg)
    if out.get("activation") is TF.silu:
        return out, dict(out, activation=EF.silu)
    return out, out


def _seq(rng, n, bf, e=8, batch=3):
    return both(rng.standard_normal((batch, n, e) if bf else (n, batch, e)))


@pytest.mark.parametrize("name", list(LAYER_CONFIGS))
def test_encoder_layer_matches_torch(name):
    kt, ke = _act(LAYER_CONFIGS[name])
    rng = np.random.default_rng(6)
    tm = torch.nn.TransformerEncoderLayer(8, 2, 16, **kt).double().eval()
    em = enn.TransformerEncoderLayer(8, 2, 16, **ke).to(ember.float64).eval()
    em.load_state_dict({k: ember.tensor(v.numpy().copy()) for k, v in tm.state_dict().items()})
    bf = kt.get("batch_first", False)
    xe, xt = _seq(rng, 5, bf)
    kpm = np.zeros((3, 5), dtype=bool)
    kpm[1, 3:] = True
    mask = np.triu(np.full((5, 5), -np.inf), 1)
    for extra in ({}, dict(src_mask=mask, src_key_padding_mask=kpm),
                  dict(src_mask=mask, is_causal=True)):
        ee = {k: ember.tensor(v) if isinstance(v, np.ndarray) else v for k, v in extra.items()}
        et = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in extra.items()}
        oe, ot = em(xe, **ee), tm(xt, **et)
        close(oe, ot)
    backward_both(oe, ot, rng)
    close(xe.grad, xt.grad)
    check_param_grads(em, tm)


@pytest.mark.parametrize("name", list(LAYER_CONFIGS))
def test_decoder_layer_matches_torch(name):
    kt, ke = _act(LAYER_CONFIGS[name])
    rng = np.random.default_rng(7)
    tm = torch.nn.TransformerDecoderLayer(8, 2, 16, **kt).double().eval()
    em = enn.TransformerDecoderLayer(8, 2, 16, **ke).to(ember.float64).eval()
    em.load_state_dict({k: ember.tensor(v.numpy().copy()) for k, v in tm.state_dict().items()})
    bf = kt.get("batch_first", False)
    (te, tt), (me, mt) = _seq(rng, 4, bf), _seq(rng, 6, bf)
    tmask = np.triu(np.full((4, 4), -np.inf), 1)
    mkpm = np.zeros((3, 6), dtype=bool)
    mkpm[2, 4:] = True
    oe = em(te, me, tgt_mask=ember.tensor(tmask), memory_key_padding_mask=ember.tensor(mkpm),
            tgt_is_causal=True)
    ot = tm(tt, mt, tgt_mask=torch.tensor(tmask), memory_key_padding_mask=torch.tensor(mkpm),
            tgt_is_causal=True)
    close(oe, ot)
    backward_both(oe, ot, rng)
    close(te.grad, tt.grad)
    close(me.grad, mt.grad)
    check_param_grads(em, tm)


@pytest.mark.parametrize("batch_first", [False, True])
def test_full_transformer_matches_torch(batch_first):
    rng = np.random.default_rng(8)
    kw = dict(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=2,
              dim_feedforward=16, batch_first=batch_first)
    em, tm = pair("Transformer", **kw)
    em.eval()
    tm.eval()
    (se, st), (te, tt) = _seq(rng, 6, batch_first), _seq(rng, 4, batch_first)
    me = enn.Transformer.generate_square_subsequent_mask(4, dtype=ember.float64)
    mt = torch.nn.Transformer.generate_square_subsequent_mask(4, dtype=torch.float64)
    close(me, mt)
    skpm = np.zeros((3, 6), dtype=bool)
    skpm[0, 5:] = True
    oe = em(se, te, tgt_mask=me, src_key_padding_mask=ember.tensor(skpm),
            memory_key_padding_mask=ember.tensor(skpm))
    ot = tm(st, tt, tgt_mask=mt, src_key_padding_mask=torch.tensor(skpm),
            memory_key_padding_mask=torch.tensor(skpm))
    close(oe, ot)
    backward_both(oe, ot, rng)
    close(se.grad, st.grad)
    close(te.grad, tt.grad)
    check_param_grads(em, tm)


def test_transformer_structure_init_and_errors():
    em = enn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                         dim_feedforward=16)
    tm = torch.nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                              dim_feedforward=16)
    assert [(n, tuple(p.shape)) for n, p in em.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in tm.named_parameters()]
    assert repr(em.encoder.layers[0]) == repr(tm.encoder.layers[0])
    w = em.encoder.layers[0].linear1.weight.detach().numpy()
    assert np.abs(w).max() <= np.sqrt(6 / (8 + 16)) + 1e-7  # xavier_uniform_
    enc = enn.TransformerEncoder(enn.TransformerEncoderLayer(8, 2, 16), 3)
    assert len(enc.layers) == 3
    assert enc.layers[0].linear1.weight is not enc.layers[1].linear1.weight
    cases = [
        lambda m: m.nn.Transformer(8, 2, 1, 1, 16)(m.randn(5, 3, 8), m.randn(4, 2, 8)),
        lambda m: m.nn.Transformer(8, 2, 1, 1, 16)(m.randn(5, 3, 8), m.randn(4, 3, 6)),
        lambda m: m.nn.TransformerEncoderLayer(8, 2, 16, activation="tanh"),
    ]
    for case in cases:
        with pytest.raises(Exception) as ee:
            case(ember)
        with pytest.raises(Exception) as et:
            case(torch)
        assert type(ee.value) is type(et.value) and str(ee.value) == str(et.value)


def test_transformer_training_mode_dropout():
    ember.manual_seed(2)
    layer = enn.TransformerEncoderLayer(8, 2, 16, dropout=0.5)
    x = ember.randn(5, 3, 8)
    layer.eval()
    a = layer(x)
    b = layer(x)
    np.testing.assert_allclose(_np(a), _np(b))
    layer.train()
    c = layer(x)
    assert tuple(c.shape) == (5, 3, 8) and not np.allclose(_np(a), _np(c))
    c.sum().backward()
    assert layer.linear1.weight.grad is not None
