"""Loss functions and modules vs PyTorch: forward, gradients (inputs and targets where
differentiable), second-order gradients, every reduction, and PyTorch's errors."""

import math
import warnings

import numpy as np
import pytest

import ember
import ember.nn as enn
import ember.nn.functional as EF

torch = pytest.importorskip("torch")
import torch.nn.functional as TF  # noqa: E402

pytestmark = pytest.mark.torch

REDS = ("none", "mean", "sum")


def _np(t):
    if isinstance(t, torch.Tensor) and t._is_zerotensor():
        return np.zeros(tuple(t.shape))
    return t.detach().numpy() if hasattr(t, "detach") else np.asarray(t)


def _make(m, arrays, diff):
    out = {}
    for k, a in arrays.items():
        if isinstance(a, np.ndarray):
            out[k] = m.tensor(a, requires_grad=k in diff)
        else:
            out[k] = a
    return out


def check(fn, arrays, diff, gradgrad=True, atol=1e-9, seed=0):
    """Run ``fn(m, F, **tensors)`` in ember and torch (float64); compare value, gradients of
    a random projection, and (``gradgrad``) the gradient of <grad, u> w.r.t. the inputs."""
    rng = np.random.default_rng(seed)
    te, tt = _make(ember, arrays, diff), _make(torch, arrays, diff)
    oe, ot = fn(ember, EF, **te), fn(torch, TF, **tt)
    assert tuple(oe.shape) == tuple(ot.shape)
    np.testing.assert_allclose(_np(oe), _np(ot), atol=atol, rtol=1e-7, equal_nan=True)
    if not diff:
        return
    v = rng.standard_normal(tuple(ot.shape))
    ge = ember.autograd.grad(oe, [te[k] for k in diff], ember.tensor(v), create_graph=gradgrad,
                             allow_unused=True)
    gt = torch.autograd.grad(ot, [tt[k] for k in diff], torch.tensor(v), create_graph=gradgrad,
                             allow_unused=True)
    for k, a, b in zip(diff, ge, gt):
        if b is None:
            assert a is None or np.allclose(_np(a), 0), k
            continue
        np.testing.assert_allclose(_np(a), _np(b), atol=atol, rtol=1e-7, equal_nan=True,
                                   err_msg=f"grad {k}")
    if not gradgrad:
        return
    pairs = [(a, b, k) for a, b, k in zip(ge, gt, diff) if b is not None and b.requires_grad]
    if not any(a.requires_grad for a, _, _ in pairs):  # gradient constant in the inputs
        return
    us = [rng.standard_normal(tuple(b.shape)) for _, b, _ in pairs]
    se = sum(((a * ember.tensor(u)).sum() for (a, _, _), u in zip(pairs, us)
              if a.requires_grad), ember.tensor(0.0))
    st = sum(((b * torch.tensor(u)).sum() for (_, b, _), u in zip(pairs, us)), torch.tensor(0.0))
    hh = torch.autograd.grad(st, [tt[k] for k in diff], allow_unused=True)
    he = ember.autograd.grad(se, [te[k] for k in diff], allow_unused=True)
    for k, a, b in zip(diff, he, hh):
        if b is None:
            assert a is None or np.allclose(_np(a), 0), k
            continue
        np.testing.assert_allclose(_np(a), _np(b), atol=atol * 10, rtol=1e-6, equal_nan=True,
                                   err_msg=f"second-order grad {k}")


R = np.random.default_rng(1234)


def rn(*shape):
    return R.standard_normal(shape)


def ru(*shape, lo=0.0, hi=1.0):
    return R.uniform(lo, hi, shape)


def sign(*shape):
    return np.where(R.random(shape) < 0.5, -1.0, 1.0)


W5 = ru(5, lo=0.2, hi=2.0)
T_IGN = np.array([0, 3, -100, 4, 1, 3])
T_IGN7 = np.array([0, 3, 7, 4, 1, 7])

CASES = {
    "ce": (lambda m, F, x, t, w, r: F.cross_entropy(x, t, reduction=r),
           dict(x=rn(6, 5), t=R.integers(0, 5, 6)), ["x"]),
    "ce_weight_ignore": (lambda m, F, x, t, w, r: F.cross_entropy(x, t, weight=w, reduction=r),
                         dict(x=rn(6, 5), t=T_IGN, w=W5), ["x"]),
    "ce_ignore_index7": (lambda m, F, x, t, w, r: F.cross_entropy(x, t, ignore_index=7,
                                                                  reduction=r),
                         dict(x=rn(6, 8), t=T_IGN7), ["x"]),
    "ce_smooth": (lambda m, F, x, t, w, r: F.cross_entropy(x, t, label_smoothing=0.15,
                                                           reduction=r),
                  dict(x=rn(6, 5), t=T_IGN), ["x"]),
    "ce_smooth_weight": (lambda m, F, x, t, w, r: F.cross_entropy(
        x, t, weight=w, label_smoothing=0.3, reduction=r), dict(x=rn(6, 5), t=T_IGN, w=W5),
        ["x"]),
    "ce_nd": (lambda m, F, x, t, w, r: F.cross_entropy(x, t, weight=w, label_smoothing=0.1,
                                                       reduction=r),
              dict(x=rn(2, 5, 3, 2), t=np.where(R.random((2, 3, 2)) < 0.2, -100,
                                                R.integers(0, 5, (2, 3, 2))), w=W5), ["x"]),
    "ce_unbatched": (lambda m, F, x, t, w, r: F.cross_entropy(x, t, label_smoothing=0.1,
                                                              reduction=r),
                     dict(x=rn(5), t=np.array(3)), ["x"]),
    "ce_probs": (lambda m, F, x, t, w, r: F.cross_entropy(x, t, reduction=r),
                 dict(x=rn(4, 5), t=ru(4, 5)), ["x", "t"]),
    "ce_probs_nd_smooth_w": (lambda m, F, x, t, w, r: F.cross_entropy(
        x, t, weight=w, label_smoothing=0.2, reduction=r),
        dict(x=rn(2, 5, 3), t=ru(2, 5, 3), w=W5), ["x", "t"]),
    "ce_probs_unbatched": (lambda m, F, x, t, w, r: F.cross_entropy(x, t, reduction=r),
                           dict(x=rn(5), t=ru(5)), ["x", "t"]),
    "nll": (lambda m, F, x, t, w, r: F.nll_loss(x, t, reduction=r),
            dict(x=rn(6, 5), t=R.integers(0, 5, 6)), ["x"]),
    "nll_weight_ignore": (lambda m, F, x, t, w, r: F.nll_loss(x, t, weight=w, reduction=r),
                          dict(x=rn(6, 5), t=T_IGN, w=W5), ["x"]),
    "nll_nd": (lambda m, F, x, t, w, r: F.nll_loss(x, t, weight=w, reduction=r),
               dict(x=rn(2, 5, 4), t=R.integers(0, 5, (2, 4)), w=W5), ["x"]),
    "nll_unbatched": (lambda m, F, x, t, w, r: F.nll_loss(x, t, reduction=r),
                      dict(x=rn(5), t=np.array(1)), ["x"]),
}


@pytest.mark.parametrize("red", REDS)
@pytest.mark.parametrize("name", list(CASES))
def test_class_losses(name, red):
    fn, arrays, diff = CASES[name]
    arrays = dict(arrays)
    arrays.setdefault("w", None)
    check(lambda m, F, **k: fn(m, F, k["x"], k["t"], k["w"], red), arrays, diff)


ELEM = {
    "mse": (lambda m, F, a, b, r: F.mse_loss(a, b, reduction=r), dict(a=rn(3, 4), b=rn(3, 4))),
    "mse_weight": (lambda m, F, a, b, w, r: F.mse_loss(a, b, reduction=r, weight=w),
                   dict(a=rn(3, 4), b=rn(3, 4), w=ru(3, 4))),
    "l1": (lambda m, F, a, b, r: F.l1_loss(a, b, reduction=r), dict(a=rn(3, 4), b=rn(3, 4))),
    "l1_weight": (lambda m, F, a, b, w, r: F.l1_loss(a, b, reduction=r, weight=w),
                  dict(a=rn(3, 4), b=rn(3, 4), w=ru(3, 4))),
    "smooth_l1": (lambda m, F, a, b, r: F.smooth_l1_loss(a, b, reduction=r, beta=0.7),
                  dict(a=rn(3, 4), b=rn(3, 4))),
    "smooth_l1_beta0": (lambda m, F, a, b, r: F.smooth_l1_loss(a, b, reduction=r, beta=0.0),
                        dict(a=rn(3, 4), b=rn(3, 4))),
    "huber": (lambda m, F, a, b, r: F.huber_loss(a, b, reduction=r, delta=0.6),
              dict(a=rn(3, 4), b=rn(3, 4))),
    "huber_weight": (lambda m, F, a, b, w, r: F.huber_loss(a, b, reduction=r, delta=1.5,
                                                           weight=w),
                     dict(a=rn(3, 4), b=rn(3, 4), w=ru(3, 4))),
    "bce": (lambda m, F, a, b, r: F.binary_cross_entropy(a, b, reduction=r),
            dict(a=ru(3, 4, lo=0.05, hi=0.95), b=ru(3, 4))),
    "bce_weight": (lambda m, F, a, b, w, r: F.binary_cross_entropy(a, b, weight=w, reduction=r),
                   dict(a=ru(3, 4, lo=0.05, hi=0.95), b=ru(3, 4), w=ru(4))),
    "bce_logits": (lambda m, F, a, b, r: F.binary_cross_entropy_with_logits(a, b, reduction=r),
                   dict(a=np.concatenate([rn(11) * 5, [0.0]]).reshape(3, 4), b=ru(3, 4))),
    "bce_logits_w_pw": (lambda m, F, a, b, w, p, r: F.binary_cross_entropy_with_logits(
        a, b, weight=w, pos_weight=p, reduction=r),
        dict(a=rn(3, 4) * 3, b=ru(3, 4), w=ru(3, 1), p=ru(4, lo=0.5, hi=3))),
    "kl_div": (lambda m, F, a, b, r: F.kl_div(a, b, reduction=r),
               dict(a=rn(3, 4), b=np.where(R.random((3, 4)) < 0.2, 0.0, ru(3, 4)))),
    "kl_div_pos": (lambda m, F, a, b, r: F.kl_div(a, b, reduction=r),
                   dict(a=rn(3, 4), b=ru(3, 4, lo=0.1))),
    "kl_div_log_target": (lambda m, F, a, b, r: F.kl_div(a, b, reduction=r, log_target=True),
                          dict(a=rn(3, 4), b=rn(3, 4))),
    "soft_margin": (lambda m, F, a, b, r: F.soft_margin_loss(a, b, reduction=r),
                    dict(a=rn(3, 4) * 4, b=sign(3, 4))),
    "multilabel_soft_margin": (lambda m, F, a, b, w, r: F.multilabel_soft_margin_loss(
        a, b, weight=w, reduction=r), dict(a=rn(3, 4), b=(R.random((3, 4)) < 0.5) * 1.0,
                                         w=ru(4))),
    "poisson": (lambda m, F, a, b, r: F.poisson_nll_loss(a, b, reduction=r),
                dict(a=rn(3, 4), b=ru(3, 4, hi=4))),
    "poisson_full_nolog": (lambda m, F, a, b, r: F.poisson_nll_loss(
        a, b, log_input=False, full=True, reduction=r),
        dict(a=ru(3, 4, lo=0.1, hi=3), b=np.floor(ru(3, 4, hi=5)))),
    "gaussian": (lambda m, F, a, b, v, r: F.gaussian_nll_loss(a, b, v, reduction=r),
                 dict(a=rn(3, 4), b=rn(3, 4), v=ru(3, 4, lo=0.1, hi=2))),
    "gaussian_full_homo": (lambda m, F, a, b, v, r: F.gaussian_nll_loss(a, b, v, full=True,
                                                                        reduction=r),
                           dict(a=rn(3, 4), b=rn(3, 4), v=ru(3, lo=0.1, hi=2))),
    "gaussian_clamped": (lambda m, F, a, b, v, r: F.gaussian_nll_loss(a, b, v, eps=0.3,
                                                                      reduction=r),
                         dict(a=rn(3, 4), b=rn(3, 4), v=ru(1, 4, lo=0.0, hi=0.6))),
    "hinge_embedding": (lambda m, F, a, b, r: F.hinge_embedding_loss(a, b, margin=0.5,
                                                                     reduction=r),
                        dict(a=rn(3, 4), b=sign(3, 4))),
    "margin_ranking": (lambda m, F, a, b, c, r: F.margin_ranking_loss(a, b, c, margin=0.1,
                                                                      reduction=r),
                       dict(a=rn(6), b=rn(6), c=sign(6))),
    "cosine_embedding": (lambda m, F, a, b, c, r: F.cosine_embedding_loss(a, b, c, margin=0.2,
                                                                          reduction=r),
                         dict(a=rn(6, 4), b=rn(6, 4), c=sign(6))),
    "cosine_embedding_1d": (lambda m, F, a, b, c, r: F.cosine_embedding_loss(a, b, c,
                                                                             reduction=r),
                            dict(a=rn(4), b=rn(4), c=np.array(-1.0))),
    "triplet": (lambda m, F, a, b, c, r: F.triplet_margin_loss(a, b, c, margin=1.5,
                                                               reduction=r),
                dict(a=rn(5, 4), b=rn(5, 4), c=rn(5, 4))),
    "triplet_p1_swap": (lambda m, F, a, b, c, r: F.triplet_margin_loss(a, b, c, p=1, swap=True,
                                                                       margin=2.0, reduction=r),
                        dict(a=rn(5, 4), b=rn(5, 4), c=rn(5, 4))),
    "triplet_p3": (lambda m, F, a, b, c, r: F.triplet_margin_loss(a, b, c, p=3, margin=2.0,
                                                                  reduction=r),
                   dict(a=rn(5, 4), b=rn(5, 4), c=rn(5, 4))),
    "triplet_pinf_1d": (lambda m, F, a, b, c, r: F.triplet_margin_loss(
        a, b, c, p=math.inf, margin=2.0, reduction=r), dict(a=rn(4), b=rn(4), c=rn(4))),
}

# inputs that are not differentiated (targets) per case; the rest are
NO_GRAD = {"kl_div": "b", "soft_margin": "b", "hinge_embedding": "b", "margin_ranking": "c",
           "cosine_embedding": "c", "cosine_embedding_1d": "c", "multilabel_soft_margin": "bw",
           "bce_weight": "w", "bce_logits_w_pw": "wp", "mse_weight": "w", "l1_weight": "w",
           "huber_weight": "w", "poisson_full_nolog": "b"}


@pytest.mark.parametrize("red", REDS)
@pytest.mark.parametrize("name", list(ELEM))
def test_elementwise_losses(name, red):
    fn, arrays = ELEM[name]
    names = list(arrays)
    diff = [k for k in names if k not in NO_GRAD.get(name, "")]
    check(lambda m, F, **k: fn(m, F, *[k[n] for n in names], red), arrays, diff)


def test_kl_div_batchmean_and_mean_warning():
    a, b = rn(4, 3), ru(4, 3)
    check(lambda m, F, a, b: F.kl_div(a, b, reduction="batchmean"), dict(a=a, b=b), ["a", "b"])
    with pytest.warns(UserWarning, match="batchmean"):
        EF.kl_div(ember.tensor(a), ember.tensor(b))


def test_multi_margin():
    for p in (1, 2):
        for w in (None, ru(5, lo=0.2, hi=2)):
            for r in REDS:
                arrays = dict(x=rn(4, 5), t=np.array([0, 4, 2, 2]), w=w)
                check(lambda m, F, x, t, w: F.multi_margin_loss(x, t, p=p, margin=0.8, weight=w,
                                                                reduction=r), arrays, ["x"],
                      gradgrad=False)  # PyTorch has no double backward here
    check(lambda m, F, x, t: F.multi_margin_loss(x, t), dict(x=rn(5), t=np.array(3)), ["x"],
          gradgrad=False)


def test_multilabel_margin_and_triplet_with_distance():
    t = np.array([[3, 0, -1, 1], [1, 2, 3, -1], [0, 0, 2, -1], [-1, 1, 2, 3]])
    for r in REDS:
        check(lambda m, F, x, t: F.multilabel_margin_loss(x, t, reduction=r),
              dict(x=rn(4, 4), t=t), ["x"], gradgrad=False)
        check(lambda m, F, a, b, c: F.triplet_margin_with_distance_loss(a, b, c, swap=True,
                                                                        reduction=r),
              dict(a=rn(5, 4), b=rn(5, 4), c=rn(5, 4)), ["a", "b", "c"])
        check(lambda m, F, a, b, c: F.triplet_margin_with_distance_loss(
            a, b, c, distance_function=lambda u, v: 1 - F.cosine_similarity(u, v), margin=0.5,
            reduction=r), dict(a=rn(5, 4), b=rn(5, 4), c=rn(5, 4)), ["a", "b", "c"])
    check(lambda m, F, x, t: F.multilabel_margin_loss(x, t), dict(x=rn(4), t=np.array(
        [2, -1, 0, 0])), ["x"], gradgrad=False)


def test_bce_boundaries_match_torch():
    # inputs of exactly 0 and 1: the log clamp gives 100 and PyTorch's finite gradient
    a = np.array([0.0, 1.0, 0.0, 1.0, 0.5])
    b = np.array([1.0, 0.0, 0.0, 1.0, 0.3])
    for r in REDS:
        check(lambda m, F, a, b: F.binary_cross_entropy(a, b, reduction=r), dict(a=a, b=b),
              ["a"], gradgrad=False)


def test_bce_with_logits_extreme_stable():
    x = ember.tensor([-1000.0, 1000.0, 0.0], requires_grad=True)
    y = ember.tensor([1.0, 0.0, 1.0])
    loss = EF.binary_cross_entropy_with_logits(x, y, reduction="none")
    np.testing.assert_allclose(loss.detach().numpy(), [1000.0, 1000.0, math.log(2)], rtol=1e-6)
    loss.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [-1.0, 1.0, -0.5], rtol=1e-6)


def test_gaussian_var_shapes_and_float():
    a, b = rn(2, 3, 4), rn(2, 3, 4)
    for vs in [(2, 3, 4), (2, 3), (2, 3, 1), (1, 3, 4), (2, 1, 4)]:
        check(lambda m, F, a, b, v: F.gaussian_nll_loss(a, b, v, reduction="none"),
              dict(a=a, b=b, v=ru(*vs, lo=0.1, hi=1)), ["a", "v"])
    check(lambda m, F, a, b: F.gaussian_nll_loss(a, b, 0.7), dict(a=a, b=b), ["a"])
    for vs in [(1, 1, 4), (3, 4), (4,)]:
        with pytest.raises(ValueError, match="var is of incorrect size"):
            EF.gaussian_nll_loss(ember.tensor(a), ember.tensor(b), ember.ones(*vs))
    with pytest.raises(ValueError, match="negative"):
        EF.gaussian_nll_loss(ember.tensor(a), ember.tensor(b), -ember.ones(2, 3, 4))


# -- CTC ----------------------------------------------------------------------------------------
def _ctc_data(seed=0, t_max=12, n=4, c=6, smax=5):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((t_max, n, c))
    lp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    tg = rng.integers(1, c, (n, smax))
    tg[1, 1] = tg[1, 0]  # a repeated label needs a blank between
    il = np.array([t_max, 10, 7, t_max])[:n]
    tl = np.array([smax, 3, 0, 4])[:n]
    return logits, lp, tg, il, tl


@pytest.mark.parametrize("red", REDS)
@pytest.mark.parametrize("zero_inf", [False, True])
def test_ctc_padded(red, zero_inf):
    logits, lp, tg, il, tl = _ctc_data()
    for x in (lp, logits):  # unnormalised inputs check PyTorch's exp(log_probs) gradient term
        check(lambda m, F, x, t, i, n: F.ctc_loss(x, t, i, n, reduction=red,
                                                  zero_infinity=zero_inf),
              dict(x=x, t=tg, i=il, n=tl), ["x"], gradgrad=False, atol=1e-8)


def test_ctc_concatenated_blank_and_infinite():
    logits, lp, tg, il, tl = _ctc_data(seed=3)
    tl = np.array([5, 3, 2, 4])
    il = np.array([12, 3, 7, 12])  # sample 1: 3 labels incl. a repeat cannot fit in 3 frames
    flat = np.concatenate([tg[i, :tl[i]] for i in range(4)])
    for zi in (False, True):
        check(lambda m, F, x, t, i, n: F.ctc_loss(x, t, i, n, reduction="none", zero_infinity=zi),
              dict(x=lp, t=flat, i=il, n=tl), ["x"], gradgrad=False, atol=1e-8)
    # another blank index; lengths as Python lists
    tg2 = np.where(tg == 2, 0, tg)
    xe = ember.tensor(lp, requires_grad=True)
    xt = torch.tensor(lp, requires_grad=True)
    le = EF.ctc_loss(xe, ember.tensor(tg2), list(il), list(tl), blank=2, zero_infinity=True)
    lt = TF.ctc_loss(xt, torch.tensor(tg2), tuple(il), tuple(tl), blank=2, zero_infinity=True)
    le.backward()
    lt.backward()
    np.testing.assert_allclose(le.item(), lt.item(), rtol=1e-9)
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), atol=1e-9)


def test_ctc_unbatched_float32_and_module():
    _, lp, tg, _, _ = _ctc_data(seed=5)
    x = lp[:, 0].astype(np.float32)
    le = enn.CTCLoss()(ember.tensor(x), ember.tensor(tg[0]), ember.tensor(12), ember.tensor(5))
    lt = torch.nn.CTCLoss()(torch.tensor(x), torch.tensor(tg[0]), torch.tensor(12),
                            torch.tensor(5))
    assert le.dtype == ember.float32 and le.shape == ()
    np.testing.assert_allclose(le.item(), lt.item(), rtol=1e-5)


def test_ctc_errors():
    _, lp, tg, il, tl = _ctc_data()
    x = ember.tensor(lp)
    with pytest.raises(RuntimeError, match="input_lengths to have value at most 12"):
        EF.ctc_loss(x, ember.tensor(tg), [13, 1, 1, 1], list(tl))
    with pytest.raises(RuntimeError, match="size at least 5 at dimension 1"):
        EF.ctc_loss(x, ember.tensor(tg[:, :3]), list(il), list(tl))
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        EF.ctc_loss(x, ember.tensor(tg), list(il), list(tl), reduction="avg")


def test_ctc_double_backward_raises_like_torch():
    _, lp, tg, il, tl = _ctc_data()
    x = ember.tensor(lp, requires_grad=True)
    loss = EF.ctc_loss(x, ember.tensor(tg), list(il), list(tl))
    g, = ember.autograd.grad(loss, x, create_graph=True)
    with pytest.raises(RuntimeError, match="not implemented"):
        g.sum().backward()


# -- errors and modules -------------------------------------------------------------------------
def _same_error(fe, ft):
    with pytest.raises(Exception) as ee:
        fe()
    with pytest.raises(Exception) as et:
        ft()
    assert type(ee.value) is type(et.value), (ee.value, et.value)
    assert str(ee.value) == str(et.value), (str(ee.value), str(et.value))


@pytest.mark.parametrize("case", [
    lambda m, F: F.cross_entropy(m.randn(3, 5), m.tensor([0, 1, 5])),
    lambda m, F: F.nll_loss(m.randn(3, 5), m.tensor([0, -1, 2])),
    lambda m, F: F.cross_entropy(m.randn(3, 5), m.tensor([0, 1])),
    lambda m, F: F.cross_entropy(m.randn(3, 5, 2), m.tensor([0, 1, 2])),
    lambda m, F: F.cross_entropy(m.randn(3, 5), m.tensor([0.0, 1.0, 2.0])),
    lambda m, F: F.cross_entropy(m.randn(3, 5), m.tensor([0, 1, 2], dtype=m.int32)),
    lambda m, F: F.cross_entropy(m.randn(3, 5), m.tensor([[0, 1, 2]])),
    lambda m, F: F.cross_entropy(m.randn(3, 5), m.tensor([0, 1, 2]), weight=m.ones(4)),
    lambda m, F: F.cross_entropy(m.randn(3, 5), m.tensor([0, 1, 2]), label_smoothing=1.5),
    lambda m, F: F.cross_entropy(m.randn(3, 5), m.tensor([0, 1, 2]), reduction="avg"),
    lambda m, F: F.cross_entropy(m.randn(3, 5), m.ones(3, 5, dtype=m.int64)),
    lambda m, F: F.cross_entropy(m.randn(3, 5), m.rand(3, 5), ignore_index=1),
    lambda m, F: F.binary_cross_entropy(m.rand(3), m.rand(4)),
    lambda m, F: F.binary_cross_entropy(m.tensor([0.5, 1.5, 0.2]), m.rand(3)),
    lambda m, F: F.binary_cross_entropy_with_logits(m.rand(3), m.rand(4)),
    lambda m, F: F.multi_margin_loss(m.randn(3, 5), m.tensor([0, 1, 2]), p=3),
    lambda m, F: F.multi_margin_loss(m.randn(3, 5), m.tensor([0, 1, 2]), weight=m.ones(5, 1)),
    lambda m, F: F.margin_ranking_loss(m.randn(3), m.randn(3, 1), m.randn(3)),
    lambda m, F: F.triplet_margin_loss(m.randn(3, 4), m.randn(3, 4), m.randn(4)),
    lambda m, F: F.mse_loss(m.randn(3, 4), m.randn(3, 4), weight=m.rand(4)),
    lambda m, F: F.gaussian_nll_loss(m.randn(3, 5), m.randn(3, 5), m.ones(5)),
    lambda m, F: F.multilabel_margin_loss(m.randn(3, 4), m.zeros(3, 3, dtype=m.int64)),
    lambda m, F: F.multilabel_margin_loss(m.randn(3, 4), m.full((3, 4), 5, dtype=m.int64)),
    lambda m, F: F.multilabel_margin_loss(m.randn(3, 4), m.zeros(3, 4)),
    lambda m, F: F.triplet_margin_with_distance_loss(m.randn(3, 4), m.randn(3, 4),
                                                     m.randn(3, 4), margin=0),
])
def test_errors_match_torch(case):
    _same_error(lambda: case(ember, EF), lambda: case(torch, TF))


def test_size_mismatch_warning():
    with pytest.warns(UserWarning, match="target size"):
        EF.mse_loss(ember.randn(3, 4), ember.randn(4))


def test_all_ignored_mean_is_nan():
    x = ember.randn(3, 5)
    t = ember.tensor([-100, -100, -100])
    assert math.isnan(EF.cross_entropy(x, t).item())
    assert EF.cross_entropy(x, t, reduction="sum").item() == 0.0
    assert math.isnan(EF.nll_loss(x, t).item())


def test_float32_cross_entropy_dtype_and_value():
    x = R.standard_normal((8, 10)).astype(np.float32)
    t = R.integers(0, 10, 8)
    xe = ember.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    le, lt = EF.cross_entropy(xe, ember.tensor(t)), TF.cross_entropy(xt, torch.tensor(t))
    assert le.dtype == ember.float32
    le.backward()
    lt.backward()
    np.testing.assert_allclose(le.item(), lt.item(), rtol=1e-6)
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), atol=1e-7)


MODULES = [
    ("CrossEntropyLoss", dict(weight=W5, label_smoothing=0.1), (rn(6, 5), T_IGN)),
    ("NLLLoss", dict(weight=W5, reduction="sum"), (rn(6, 5), T_IGN)),
    ("MSELoss", dict(), (rn(3, 4), rn(3, 4))),
    ("L1Loss", dict(reduction="none"), (rn(3, 4), rn(3, 4))),
    ("SmoothL1Loss", dict(beta=0.5), (rn(3, 4), rn(3, 4))),
    ("HuberLoss", dict(delta=0.5), (rn(3, 4), rn(3, 4))),
    ("BCELoss", dict(weight=ru(4)), (ru(3, 4, lo=0.1, hi=0.9), ru(3, 4))),
    ("BCEWithLogitsLoss", dict(pos_weight=ru(4)), (rn(3, 4), ru(3, 4))),
    ("KLDivLoss", dict(reduction="batchmean", log_target=True), (rn(3, 4), rn(3, 4))),
    ("CosineEmbeddingLoss", dict(margin=0.1), (rn(3, 4), rn(3, 4), sign(3))),
    ("MarginRankingLoss", dict(margin=0.2), (rn(3), rn(3), sign(3))),
    ("TripletMarginLoss", dict(p=1.0, swap=True), (rn(3, 4), rn(3, 4), rn(3, 4))),
    ("HingeEmbeddingLoss", dict(margin=2.0), (rn(3, 4), sign(3, 4))),
    ("SoftMarginLoss", dict(), (rn(3, 4), sign(3, 4))),
    ("MultiLabelSoftMarginLoss", dict(weight=ru(4)), (rn(3, 4), (R.random((3, 4)) < .5) * 1.)),
    ("MultiMarginLoss", dict(p=2, margin=0.5), (rn(3, 4), np.array([0, 3, 1]))),
    ("PoissonNLLLoss", dict(full=True), (rn(3, 4), ru(3, 4, hi=4))),
    ("GaussianNLLLoss", dict(full=True), (rn(3, 4), rn(3, 4), ru(3, 4, lo=0.1))),
    ("MultiLabelMarginLoss", dict(), (rn(2, 4), np.array([[3, 0, -1, 1], [1, 2, 3, -1]]))),
    ("TripletMarginWithDistanceLoss", dict(swap=True), (rn(3, 4), rn(3, 4), rn(3, 4))),
]


@pytest.mark.parametrize("name,kw,args", MODULES, ids=[m[0] for m in MODULES])
def test_modules_match_torch(name, kw, args):
    ke = {k: ember.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    kt = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    me, mt = getattr(enn, name)(**ke), getattr(torch.nn, name)(**kt)
    ae = [ember.tensor(a, requires_grad=a.dtype.kind == "f" and i == 0)
          for i, a in enumerate(args)]
    at = [torch.tensor(a, requires_grad=a.dtype.kind == "f" and i == 0)
          for i, a in enumerate(args)]
    le, lt = me(*ae), mt(*at)
    np.testing.assert_allclose(_np(le), _np(lt), atol=1e-10)
    le.sum().backward()
    lt.sum().backward()
    np.testing.assert_allclose(ae[0].grad.numpy(), at[0].grad.numpy(), atol=1e-10)
    assert sorted(me.state_dict()) == sorted(mt.state_dict())
    assert repr(me) == repr(mt)


def test_legacy_size_average_reduce():
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        m = enn.MSELoss(size_average=False)
    assert m.reduction == "sum" and any("reduction='sum'" in str(w.message) for w in rec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert enn.L1Loss(reduce=False).reduction == "none"
        x, y = rn(3), rn(3)
        got = EF.mse_loss(ember.tensor(x), ember.tensor(y), size_average=False).item()
    np.testing.assert_allclose(got, ((x - y) ** 2).sum())
