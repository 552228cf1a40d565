"""Mixed precision on the CPU, against PyTorch: autocast's op lists (output dtypes and
values inside ``autocast("cpu", dtype=bfloat16)``), gradients in float32, nesting, the
parameter-cast cache, and GradScaler step by step (scales, skipped steps, parameters)."""

import warnings

import numpy as np
import pytest

import ember
from ember.amp import autocast_mode as am
from ember.ops import REGISTRY

torch = pytest.importorskip("torch")

R = np.random.default_rng(0)
A = {
    "x": R.standard_normal((4, 8)), "w": R.standard_normal((6, 8)), "b": R.standard_normal(6),
    "img": R.standard_normal((2, 3, 6, 6)), "k": R.standard_normal((4, 3, 3, 3)),
    "seq": R.standard_normal((2, 3, 9)), "k1": R.standard_normal((4, 3, 3)),
    "vol": R.standard_normal((1, 2, 4, 4, 4)), "k3": R.standard_normal((3, 2, 2, 2, 2)),
    "p": R.uniform(0.05, 0.95, (4, 8)), "t": R.integers(0, 6, 4),
}


def _in(m, name, dt="float32"):
    a = A[name]
    if a.dtype.kind != "f":
        return m.tensor(a)
    return m.tensor(a.astype(np.float32)).to(getattr(m, dt))


def bf(m, name):
    return _in(m, name, "bfloat16")


def f(m, name):
    return _in(m, name)


def F(m):
    return m.nn.functional


CASES = [
    ("linear", lambda m: F(m).linear(f(m, "x"), f(m, "w"), f(m, "b"))),
    ("conv1d", lambda m: F(m).conv1d(f(m, "seq"), f(m, "k1"))),
    ("conv2d", lambda m: F(m).conv2d(f(m, "img"), f(m, "k"), padding=1)),
    ("conv3d", lambda m: F(m).conv3d(f(m, "vol"), f(m, "k3"))),
    ("conv_transpose2d", lambda m: F(m).conv_transpose2d(f(m, "img"), f(m, "k").transpose(0, 1))),
    pytest.param("matmul", lambda m: f(m, "x") @ f(m, "w").T),
    pytest.param("bmm", lambda m: m.bmm(f(m, "x")[None], f(m, "w").T[None])),
    pytest.param("einsum", lambda m: m.einsum("ij,kj->ik", f(m, "x"), f(m, "w"))),
    pytest.param("sdpa", lambda m: F(m).scaled_dot_product_attention(
        f(m, "x")[None], f(m, "x")[None], f(m, "x")[None])),
    ("matmul_float64", lambda m: f(m, "x").double() @ f(m, "w").double().T),
    ("linear_float64", lambda m: F(m).linear(f(m, "x").double(), f(m, "w").double())),
    ("softmax_f32", lambda m: F(m).softmax(f(m, "x"), -1)),
    ("softmax_bf16", lambda m: F(m).softmax(bf(m, "x"), -1)),
    ("log_softmax_bf16", lambda m: F(m).log_softmax(bf(m, "x"), 1)),
    ("exp_bf16", lambda m: bf(m, "x").exp()),
    ("sum_bf16", lambda m: bf(m, "x").sum()),
    ("cumsum_bf16", lambda m: bf(m, "x").cumsum(0)),
    ("prod_bf16", lambda m: (bf(m, "p") + 0.5).prod(1)),
    ("layer_norm_bf16", lambda m: F(m).layer_norm(bf(m, "x"), (8,))),
    ("layer_norm_f32", lambda m: F(m).layer_norm(f(m, "x"), (8,))),
    ("group_norm_bf16", lambda m: F(m).group_norm(bf(m, "img"), 3)),
    ("gelu_bf16", lambda m: F(m).gelu(bf(m, "x"))),
    ("cross_entropy_bf16", lambda m: F(m).cross_entropy(bf(m, "x")[:, :6], _in(m, "t"))),
    ("cross_entropy_of_linear", lambda m: F(m).cross_entropy(
        F(m).linear(f(m, "x"), f(m, "w"), f(m, "b")), _in(m, "t"))),
    ("bce_bf16", lambda m: F(m).binary_cross_entropy(bf(m, "p"), bf(m, "p"))),
    ("bce_with_logits_bf16", lambda m: F(m).binary_cross_entropy_with_logits(
        bf(m, "x"), f(m, "p"))),
    ("soft_margin_bf16", lambda m: F(m).soft_margin_loss(bf(m, "x"), bf(m, "x").sign())),
    ("mse_mixed", lambda m: F(m).mse_loss(bf(m, "x"), f(m, "p"))),
    pytest.param("mse_bf16", lambda m: F(m).mse_loss(bf(m, "x"), bf(m, "p"))),
    pytest.param("l1_bf16", lambda m: F(m).l1_loss(bf(m, "x"), bf(m, "p"))),
    pytest.param("nll_bf16", lambda m: F(m).nll_loss(bf(m, "x")[:, :6], _in(m, "t"))),
    ("cat_mixed", lambda m: m.cat([bf(m, "x"), f(m, "x")])),
    ("add_mixed", lambda m: bf(m, "x") + f(m, "x")),
    ("embedding", lambda m: F(m).embedding(_in(m, "t"), f(m, "w"))),
    ("fft", lambda m: m.fft.rfft(f(m, "x"))),
]


def _run(m, fn):
    with m.autocast("cpu", dtype=m.bfloat16):
        return fn(m)


def _np(t):
    t = t.detach()
    if t.dtype in (torch.bfloat16, ember.bfloat16):
        t = t.float()
    return t.numpy() if isinstance(t, torch.Tensor) else t.numpy(force=True)


@pytest.mark.parametrize("name,fn", CASES, ids=[c.values[0] if hasattr(c, "marks") else c[0]
                                                 for c in CASES])
def test_output_dtype_and_value_match_torch(name, fn):
    want, got = _run(torch, fn), _run(ember, fn)
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1], name
    tol = 3e-2 if want.dtype in (torch.bfloat16,) else 1e-4
    np.testing.assert_allclose(_np(got), _np(want), rtol=tol, atol=tol * 3, err_msg=name)


MODULES = [
    ("Linear", lambda nn: nn.Linear(8, 6), "x"),
    ("Conv2d", lambda nn: nn.Conv2d(3, 4, 3), "img"),
    ("LSTM", lambda nn: nn.LSTM(8, 5, batch_first=True), "x3"),
    ("LSTMCell", lambda nn: nn.LSTMCell(8, 5), "x"),
    ("GRUCell", lambda nn: nn.GRUCell(8, 5), "x"),
    ("LayerNorm", lambda nn: nn.LayerNorm(8), "x"),
]


@pytest.mark.parametrize("name,make,inp", MODULES, ids=[m[0] for m in MODULES])
def test_module_forward_backward_grads_in_float32(name, make, inp):
    """Forward inside autocast, backward outside: output dtype as PyTorch's, parameter
    gradients float32 and close to PyTorch's."""
    torch.manual_seed(0)
    tm, em = make(torch.nn), make(ember.nn)
    em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    x = A["x"][None] if inp == "x3" else A[inp]
    outs = []
    for m, mod in ((torch, tm), (ember, em)):
        with m.autocast("cpu", dtype=m.bfloat16):
            y = mod(m.tensor(x.astype(np.float32)))
            y = y[0] if isinstance(y, tuple) else y
        (y.float() ** 2).sum().backward()
        outs.append(y)
    assert str(outs[1].dtype).split(".")[-1] == str(outs[0].dtype).split(".")[-1]
    np.testing.assert_allclose(_np(outs[1]), _np(outs[0]), rtol=5e-2, atol=5e-2)
    tp = dict(tm.named_parameters())
    for k, p in em.named_parameters():
        assert p.grad.dtype is ember.float32, k
        g, want = _np(p.grad), _np(tp[k].grad)
        np.testing.assert_allclose(g, want, rtol=5e-2, atol=5e-2 * np.abs(want).max(), err_msg=k)


def _mlp(m):
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 6))


def test_two_layer_mlp_training_step_matches_torch():
    tm = _mlp(torch)
    em = ember.nn.Sequential(ember.nn.Linear(8, 16), ember.nn.ReLU(), ember.nn.Linear(16, 6))
    em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    for m, mod in ((torch, tm), (ember, em)):
        opt = m.optim.SGD(mod.parameters(), lr=0.1)
        with m.autocast("cpu", dtype=m.bfloat16):
            loss = m.nn.functional.cross_entropy(mod(_in(m, "x")), _in(m, "t"))
        assert loss.dtype == m.float32
        loss.backward()
        opt.step()
    for (k, p), tp in zip(em.named_parameters(), tm.parameters()):
        np.testing.assert_allclose(_np(p), _np(tp), rtol=1e-2, atol=1e-3, err_msg=k)


def test_autocast_op_decorator_casts_before_checks():
    """autocast_op casts before a function's own dtype checks (a wrapped F.linear)."""
    lin = am.autocast_op("linear")(ember.nn.functional.linear)
    x, w = bf(ember, "x"), f(ember, "w")
    with ember.autocast("cpu"):
        assert lin(x, w).dtype is ember.bfloat16
        assert lin(x, weight=w).dtype is ember.bfloat16

    @am.autocast_op("mse_loss")
    def mse(a, b):
        return ((a - b) ** 2).mean()
    with ember.autocast("cpu"):
        assert mse(x, x).dtype is ember.float32
        with ember.autocast("cpu", enabled=False):
            assert mse(x, x).dtype is ember.bfloat16
    assert mse(x, x).dtype is ember.bfloat16


# -- state, nesting, cache -------------------------------------------------------------------------
def test_nesting_state_and_decorator():
    lin = ember.nn.Linear(8, 6)
    x = f(ember, "x")
    assert not ember.is_autocast_enabled("cpu") and ember.get_autocast_dtype("cpu") is \
        ember.bfloat16 and ember.get_autocast_dtype("cuda") is ember.float16
    with ember.autocast("cpu"):
        assert ember.is_autocast_enabled("cpu") and not ember.is_autocast_enabled()
        assert lin(x).dtype is ember.bfloat16
        with ember.autocast("cpu", enabled=False):
            assert not ember.is_autocast_enabled("cpu") and lin(x).dtype is ember.float32
            with ember.autocast("cpu", dtype=ember.float16):
                assert lin(x).dtype is ember.float16
                assert ember.get_autocast_dtype("cpu") is ember.float16
        assert lin(x).dtype is ember.bfloat16
    assert lin(x).dtype is ember.float32 and not ember.is_autocast_enabled("cpu")

    @ember.autocast("cpu")
    def fwd(v):
        return lin(v)
    assert fwd(x).dtype is ember.bfloat16 and lin(x).dtype is ember.float32
    assert ember.amp.autocast is ember.autocast


def test_hooks_are_removed_outside_autocast():
    with ember.autocast("cpu"):
        assert REGISTRY["matmul"].amp is not None and not REGISTRY["exp"]._unary
    assert all(p.amp is None for p in REGISTRY.values())
    assert REGISTRY["exp"]._unary and not REGISTRY["permute"]._unary


def test_parameter_casts_are_cached_per_region():
    lin = ember.nn.Linear(8, 6)
    x = f(ember, "x")
    with ember.autocast("cpu"):
        y1, y2 = lin(x), lin(x)
        w1 = y1.grad_fn.next_functions[0][0]  # x needs no grad: edges are (weight, bias)
        assert w1 is y2.grad_fn.next_functions[0][0]  # one cast of the weight, shared
        assert len(am._cache) == 2
        with ember.no_grad():
            lin.weight.add_(1.0)  # an in-place update: the stale cast is not reused
        y3 = lin(x)
        assert y3.grad_fn.next_functions[0][0] is not w1
        np.testing.assert_allclose(_np(y3), _np(y1) + _np(x).sum(1, keepdims=True),
                                   rtol=2e-2, atol=0.2)
        with ember.autocast("cpu", cache_enabled=False):
            assert not ember.is_autocast_cache_enabled()
        assert ember.is_autocast_cache_enabled()
    assert len(am._cache) == 0
    (y1.float().sum() + y2.float().sum()).backward()
    assert lin.weight.grad.dtype is ember.float32


def test_backward_inside_autocast_keeps_float32_gradients():
    lin = ember.nn.Linear(8, 6)
    with ember.autocast("cpu"):
        loss = ember.nn.functional.cross_entropy(lin(f(ember, "x")), _in(ember, "t"))
        loss.backward()
    assert lin.weight.grad.dtype is ember.float32 and lin.bias.grad.dtype is ember.float32
    ref = ember.nn.functional.cross_entropy(lin(f(ember, "x")), _in(ember, "t"))
    assert abs(loss.item() - ref.item()) < 0.05


def test_custom_fwd_and_bwd():
    class Square(ember.autograd.Function):
        @staticmethod
        @ember.amp.custom_fwd(device_type="cpu", cast_inputs=ember.float32)
        def forward(ctx, x):
            ctx.save_for_backward(x)
            assert not ember.is_autocast_enabled("cpu")
            return x * x

        @staticmethod
        @ember.amp.custom_bwd(device_type="cpu")
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            assert ember.is_autocast_enabled("cpu")
            return 2 * x * g

    x = ember.ones(3, dtype=ember.bfloat16, requires_grad=True)
    with ember.autocast("cpu"):
        y = Square.apply(x)
    assert y.dtype is ember.float32
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0, 2.0] and x.grad.dtype is ember.bfloat16


def test_argument_errors_match_torch():
    for m in (torch, ember):
        with pytest.raises(ValueError, match="Expected `device_type` of type `str`"):
            m.autocast(m.device("cpu"))
        with pytest.warns(UserWarning, match="CPU Autocast only supports dtypes of"):
            with m.autocast("cpu", dtype=m.float32):
                assert not m.is_autocast_enabled("cpu")
    with pytest.raises(RuntimeError, match="unsupported autocast device_type 'xpu'"):
        ember.autocast("xpu")
    with pytest.raises(RuntimeError, match="unsupported autocast device_type 'xpu'"):
        ember.autocast("xpu", dtype=ember.float16)


# -- GradScaler, step by step against torch.amp.GradScaler("cpu") ------------------------------
def _scaler_run(m, steps, inf_steps, nan_steps, **kw):
    torch.manual_seed(0)
    w0 = np.linspace(-1, 1, 6).astype(np.float32).reshape(2, 3)
    params = [m.nn.Parameter(m.tensor(w0)), m.nn.Parameter(m.tensor(w0[0] * 2))]
    opt = m.optim.SGD(params, lr=0.05, momentum=0.9)
    scaler = m.amp.GradScaler("cpu", **kw)
    log = []
    for k in range(steps):
        data = np.full((2, 3), 0.1 * (k + 1), dtype=np.float32)
        if k in inf_steps:
            data[1, 2] = np.inf
        if k in nan_steps:
            data[0, 0] = np.nan
        opt.zero_grad()
        loss = (params[0] * m.tensor(data)).sum() + (params[1] ** 2).sum()
        scaled = scaler.scale(loss)
        scaled.backward()
        before = [p.detach().clone() for p in params]
        scaler.step(opt)
        skipped = all(np.array_equal(_np(a), _np(p)) for a, p in zip(before, params))
        scaler.update()
        log.append((scaler.get_scale(), scaler._get_growth_tracker(), skipped,
                    float(scaled.item()), [_np(p).copy() for p in params]))
    return log, scaler.state_dict()


@pytest.mark.parametrize("kw", [dict(init_scale=2.0 ** 4, growth_interval=3),
                                dict(init_scale=3.0e38, growth_factor=4.0, backoff_factor=0.25,
                                     growth_interval=1)])
def test_gradscaler_sequence_matches_torch(kw):
    args = (12, {2, 7, 8}, {5})
    (tl, tsd), (el, esd) = _scaler_run(torch, *args, **kw), _scaler_run(ember, *args, **kw)
    assert esd == tsd
    assert all(el[k][2] for k in (2, 5, 7, 8))  # the steps with inf/NaN were skipped
    for k, (t, e) in enumerate(zip(tl, el)):
        assert e[:3] == t[:3], f"step {k}: ember {e[:3]} torch {t[:3]}"
        np.testing.assert_allclose(e[3], t[3], rtol=1e-6)  # scaled loss (sums may differ by
        for pe, pt in zip(e[4], t[4]):                     # an ulp: summation order)
            np.testing.assert_allclose(pe, pt, rtol=1e-6, atol=1e-7, err_msg=f"step {k}")


def test_gradscaler_unscale_clip_and_errors():
    p = ember.nn.Parameter(ember.ones(3))
    opt = ember.optim.SGD([p], lr=1.0)
    s = ember.amp.GradScaler("cpu", init_scale=4.0)
    with pytest.raises(AssertionError, match="_scale is None"):
        s.step(opt)
    s.scale((p * 2).sum()).backward()
    assert p.grad.tolist() == [8.0] * 3
    s.unscale_(opt)
    assert p.grad.tolist() == [2.0] * 3
    ember.nn.utils.clip_grad_norm_([p], 1.0)
    with pytest.raises(RuntimeError, match="unscale_\\(\\) has already been called"):
        s.unscale_(opt)
    s.step(opt)
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        s.step(opt)
    with pytest.raises(RuntimeError, match="unscale_\\(\\) is being called after step"):
        s.unscale_(opt)
    s.update(2.0)
    assert s.get_scale() == 2.0
    s.scale(p.sum()).backward()
    s.step(opt)
    s.update(ember.tensor(8.0))
    assert s.get_scale() == 8.0
    with pytest.raises(RuntimeError, match="Closure use is not currently supported"):
        s.step(opt, closure=lambda: 0)
    with pytest.raises(AssertionError, match="No inf checks were recorded prior to update"):
        s.update()
    with pytest.raises(ValueError, match="outputs must be a Tensor or an iterable"):
        s.scale([p.sum(), 3])
    outs = s.scale([p.sum(), (p.sum(), p.sum())])
    assert isinstance(outs, list) and isinstance(outs[1], tuple) and outs[1][0].item() == \
        8.0 * p.sum().item()
    h = ember.nn.Parameter(ember.ones(2, dtype=ember.float16))
    opt_h = ember.optim.SGD([h], lr=1.0)
    s.scale(h.float().sum()).backward()
    with pytest.raises(ValueError, match="Attempting to unscale FP16 gradients."):
        s.unscale_(opt_h)


def test_gradscaler_state_dict_disabled_and_deprecated_alias():
    s = ember.amp.GradScaler("cpu", init_scale=16.0, growth_interval=5)
    t = torch.amp.GradScaler("cpu", init_scale=16.0, growth_interval=5)
    assert s.state_dict() == t.state_dict() and s.is_enabled()
    s2 = ember.amp.GradScaler("cpu")
    s2.load_state_dict(s.state_dict())
    assert s2.get_scale() == 16.0 and s2.get_growth_interval() == 5
    with pytest.raises(RuntimeError, match="source state dict is empty"):
        s2.load_state_dict({})
    off = ember.amp.GradScaler("cpu", enabled=False)
    p = ember.nn.Parameter(ember.ones(2))
    opt = ember.optim.SGD([p], lr=1.0)
    loss = p.sum()
    assert off.scale(loss) is loss and off.get_scale() == 1.0 and off.state_dict() == {}
    loss.backward()
    off.step(opt)
    off.update()
    assert p.tolist() == [0.0, 0.0]
    with pytest.raises(AssertionError, match="growth factor must be > 1.0"):
        ember.amp.GradScaler("cpu", growth_factor=0.5)
    import pickle
    assert pickle.loads(pickle.dumps(s)).get_scale() == 16.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert isinstance(ember.cuda.amp.GradScaler(enabled=False), ember.amp.GradScaler)


@pytest.mark.parametrize("mod", ["ember.amp", "ember.amp.autocast_mode", "ember.amp.grad_scaler",
                                 "ember.cuda", "ember.cuda.memory"])
def test_docstring_examples(mod):
    import doctest
    import importlib
    res = doctest.testmod(importlib.import_module(mod), extraglobs={"ember": ember},
                          optionflags=doctest.ELLIPSIS)
    assert res.failed == 0 and res.attempted > 0
