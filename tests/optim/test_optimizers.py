"""Optimizers against PyTorch: identical trajectories, state, state_dict, and the base API."""

import copy

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

SHAPES = [(5,), (3, 4), (2, 3, 2)]
STEPS = 30
TOL = {np.float32: dict(rtol=2e-6, atol=2e-6), np.float64: dict(rtol=1e-10, atol=1e-12)}

# (optimizer, options): each row runs in float32 and float64 against PyTorch.
GRID = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.05, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.02, betas=(0.5, 0.9), eps=1e-3, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.05, maximize=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.01, maximize=True, betas=(0.6, 0.95))),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.005, alpha=0.9, momentum=0.5, centered=True, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, maximize=True, eps=1e-4)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, initial_accumulator_value=0.1)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1, maximize=True, eps=1e-6)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.5, weight_decay=0.1)),
    ("Adadelta", dict(maximize=True, eps=1e-4)),
    ("Adamax", dict(lr=0.02)),
    ("Adamax", dict(lr=0.02, betas=(0.7, 0.9), weight_decay=0.1)),
    ("Adamax", dict(lr=0.02, maximize=True)),
    ("NAdam", dict(lr=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, momentum_decay=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict(lr=0.01)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
]


def _ids(row):
    name, kw = row
    return name + "-" + ",".join(f"{k}={v}" for k, v in kw.items())


class Problem:
    """Deterministic gradients: a quadratic pull toward a target plus a fixed noise sequence.

    Gradients are computed once per step (in float64, from PyTorch's parameters) and fed to
    both frameworks, so only the optimizers' own arithmetic can make them differ.
    """

    def __init__(self, dtype, seed=0, shapes=SHAPES, steps=STEPS):
        rng = np.random.default_rng(seed)
        self.dtype = dtype
        self.init = [rng.standard_normal(s).astype(dtype) for s in shapes]
        self.target = [rng.standard_normal(s) for s in shapes]
        self.scale = [rng.uniform(0.5, 2.0, s) for s in shapes]
        self.noise = [[0.3 * rng.standard_normal(s) for s in shapes] for _ in range(steps)]

    def grads(self, t, params):
        return [(sc * (p.astype(np.float64) - tg) + nz).astype(self.dtype)
                for p, tg, sc, nz in zip(params, self.target, self.scale, self.noise[t])]


def _params(mod, arrays):
    return [mod.tensor(a.copy(), requires_grad=True) for a in arrays]


def _np(t):
    return t.detach().cpu().numpy().copy() if hasattr(t, "cpu") else np.asarray(t)


def _set_grads(params, grads, mod):
    for p, g in zip(params, grads):
        p.grad = mod.tensor(g.copy())


def _lockstep(name, kw, dtype, steps=STEPS, check_each=True):
    """Run ember and torch side by side; return both optimizers and parameter lists."""
    prob = Problem(dtype, steps=steps)
    ep, tp = _params(ember, prob.init), _params(torch, prob.init)
    eo = getattr(ember.optim, name)(ep, **kw)
    to = getattr(torch.optim, name)(tp, **kw)
    for t in range(steps):
        grads = prob.grads(t, [_np(p) for p in tp])
        _set_grads(ep, grads, ember)
        _set_grads(tp, grads, torch)
        eo.step()
        to.step()
        if check_each or t == steps - 1:
            for e, r in zip(ep, tp):
                np.testing.assert_allclose(_np(e), _np(r), **TOL[dtype],
                                           err_msg=f"{name} {kw} step {t}")
    return eo, to, ep, tp


def _assert_state_matches(eo, to, ep, tp, dtype):
    for e, r in zip(ep, tp):
        es, ts = eo.state.get(e, {}), to.state.get(r, {})
        assert list(es.keys()) == list(ts.keys())
        for k in ts:
            ev, tv = es[k], ts[k]
            if isinstance(tv, torch.Tensor):
                assert str(ev.dtype).split(".")[-1] == str(tv.dtype).split(".")[-1], k
                assert tuple(ev.shape) == tuple(tv.shape), k
                np.testing.assert_allclose(_np(ev), _np(tv), **TOL[dtype], err_msg=k)
            else:
                assert ev == tv, k


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("row", GRID, ids=[_ids(r) for r in GRID])
def test_matches_torch(row, dtype):
    name, kw = row
    eo, to, ep, tp = _lockstep(name, kw, dtype)
    _assert_state_matches(eo, to, ep, tp, dtype)


def _plain(value):
    """A state_dict value in comparable form (tensors as (dtype, array))."""
    if isinstance(value, (ember.Tensor, torch.Tensor)):
        return (str(value.dtype).split(".")[-1], _np(value))
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return value


def _assert_same(a, b, path="", tol=TOL[np.float64]):
    if isinstance(b, tuple) and len(b) == 2 and isinstance(b[1], np.ndarray):
        assert a[0] == b[0], path
        np.testing.assert_allclose(a[1], b[1], **tol, err_msg=path)
    elif isinstance(b, dict):
        assert list(a.keys()) == list(b.keys()), path
        for k in b:
            _assert_same(a[k], b[k], f"{path}.{k}", tol)
    elif isinstance(b, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{path}[{i}]", tol)
    else:
        assert a == b, path


SD_ROWS = [("SGD", dict(lr=0.05, momentum=0.9)), ("Adam", dict(lr=0.01, amsgrad=True)),
           ("AdamW", dict(lr=0.01)), ("RMSprop", dict(momentum=0.9, centered=True)),
           ("Adagrad", dict(lr=0.1)), ("Adadelta", dict()), ("Adamax", dict()),
           ("NAdam", dict()), ("RAdam", dict())]


@pytest.mark.torch
@pytest.mark.parametrize("row", SD_ROWS, ids=[r[0] for r in SD_ROWS])
def test_state_dict_structure_matches_torch(row):
    name, kw = row
    eo, to, _, _ = _lockstep(name, kw, np.float64, steps=3, check_each=False)
    _assert_same(_plain(eo.state_dict()), _plain(to.state_dict()))


@pytest.mark.parametrize("row", SD_ROWS, ids=[r[0] for r in SD_ROWS])
def test_state_dict_round_trip(row):
    name, kw = row
    prob = Problem(np.float64, steps=15)
    full = _params(ember, prob.init)
    opt = getattr(ember.optim, name)(full, **kw)
    half = _params(ember, prob.init)
    opt_half = getattr(ember.optim, name)(half, **kw)
    for t in range(15):
        grads = prob.grads(t, [_np(p) for p in full])
        _set_grads(full, grads, ember)
        opt.step()
        if t < 5:
            _set_grads(half, grads, ember)
            opt_half.step()
        if t == 4:
            saved = copy.deepcopy(opt_half.state_dict())
            resumed = [ember.tensor(_np(p), requires_grad=True) for p in half]
            opt_new = getattr(ember.optim, name)(resumed, lr=123.0)
            opt_new.load_state_dict(saved)
            assert opt_new.param_groups[0]["lr"] == opt_half.param_groups[0]["lr"]
        if t >= 5:
            _set_grads(resumed, grads, ember)
            opt_new.step()
    for a, b in zip(full, resumed):      # NAdam's float32 mu_product loads as float64, as in torch
        np.testing.assert_allclose(_np(a), _np(b), rtol=1e-10, atol=0)


def test_load_state_dict_copies_and_casts():
    p = ember.tensor([1.0, 2.0], requires_grad=True)
    opt = ember.optim.Adam([p], lr=0.1)
    p.grad = ember.tensor([0.5, -0.5])
    opt.step()
    sd = opt.state_dict()
    q = ember.tensor([1.0, 2.0], dtype=ember.float64, requires_grad=True)
    opt2 = ember.optim.Adam([q])
    opt2.load_state_dict(sd)
    st = opt2.state[q]
    assert st["exp_avg"].dtype == ember.float64
    assert st["step"].dtype == ember.float32            # step keeps its dtype, like torch
    st["exp_avg"].add_(1.0)
    st["step"].add_(1.0)
    assert float(opt.state[p]["step"]) == 1.0           # deep copy: the source is untouched
    assert opt.state[p]["exp_avg"].tolist() != st["exp_avg"].tolist()


def test_load_state_dict_errors():
    a, b = (ember.zeros(2, requires_grad=True) for _ in range(2))
    opt = ember.optim.SGD([a, b])
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict({"state": {}, "param_groups": []})
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        opt.load_state_dict(ember.optim.SGD([a]).state_dict())


def _rosenbrock(x):
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


def _convex(x):         # well conditioned: float32 runs stay comparable
    return ((x - 0.5) ** 2).sum() + 0.25 * (x ** 4).sum() + (x[1:] * x[:-1]).sum() * 0.3


@pytest.mark.torch
@pytest.mark.parametrize("search", [None, "strong_wolfe"])
@pytest.mark.parametrize("fn,dtype", [(_rosenbrock, np.float64), (_convex, np.float32)],
                         ids=["rosenbrock-f64", "convex-f32"])
def test_lbfgs_matches_torch(fn, dtype, search):
    x0 = np.array([-1.5, 2.0, 0.5, -0.7], dtype=dtype)
    results = {}
    for mod in (ember, torch):
        x = mod.tensor(x0.copy(), requires_grad=True)
        opt = mod.optim.LBFGS([x], lr=1 if search else 0.05, max_iter=10, history_size=5,
                              line_search_fn=search)

        def closure():
            opt.zero_grad()
            loss = fn(x)
            loss.backward()
            return loss
        traj, losses = [], []
        for _ in range(8):
            losses.append(float(opt.step(closure).detach()))
            traj.append(_np(x))
        st = opt.state[x]
        results[mod.__name__] = (traj, losses, st["func_evals"], st["n_iter"])
    (et, el, ef, en), (tt, tl, tf, tn) = results["ember"], results["torch"]
    tol = dict(rtol=1e-9, atol=1e-10) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-6)
    for i, (a, b) in enumerate(zip(et, tt)):
        np.testing.assert_allclose(a, b, **tol, err_msg=f"step {i}")
    np.testing.assert_allclose(el, tl, **tol)
    assert (ef, en) == (tf, tn)
    assert el[-1] < el[0]


@pytest.mark.torch
def test_lbfgs_state_dict_structure():
    def run(mod):
        x = mod.tensor([1.5, -0.5], dtype=mod.float64, requires_grad=True)
        opt = mod.optim.LBFGS([x], max_iter=4)

        def closure():
            opt.zero_grad()
            loss = ((x - 2) ** 4).sum()
            loss.backward()
            return loss
        opt.step(closure)
        opt.step(closure)
        return opt.state_dict()
    _assert_same(_plain(run(ember)), _plain(run(torch)), tol=dict(rtol=1e-9, atol=1e-12))


def test_lbfgs_one_group_only():
    a, b = ember.zeros(1, requires_grad=True), ember.zeros(1, requires_grad=True)
    with pytest.raises(ValueError, match="doesn't support per-parameter options"):
        ember.optim.LBFGS([{"params": [a]}, {"params": [b]}])


# -- the base class ----------------------------------------------------------------------
def test_constructor_errors():
    p = ember.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        ember.optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        ember.optim.Adam([p], lr=-1)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1: 1.0"):
        ember.optim.Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Invalid momentum value: -0.5"):
        ember.optim.SGD([p], momentum=-0.5)
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum"):
        ember.optim.SGD([p], nesterov=True)
    with pytest.raises(ValueError, match="Invalid rho value: 1.5"):
        ember.optim.Adadelta([p], rho=1.5)
    with pytest.raises(TypeError, match="should be an iterable of Tensors or dicts"):
        ember.optim.SGD(p)
    with pytest.raises(TypeError, match="optimizer can only optimize Tensors"):
        ember.optim.SGD([p, 3.0])
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        ember.optim.SGD([p * 2])
    with pytest.raises(TypeError, match="ordered collections"):
        ember.optim.SGD([{"params": {p}}])


def test_param_groups_defaults_and_duplicates():
    a, b, c = (ember.zeros(2, requires_grad=True) for _ in range(3))
    opt = ember.optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[1]["params"] == [b] or opt.param_groups[1]["params"][0] is b
    assert all(g["momentum"] == 0.9 for g in opt.param_groups)
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter "
                                         "group"):
        opt.add_param_group({"params": [a, c]})
    opt.add_param_group({"params": [c], "momentum": 0.0})
    assert opt.param_groups[2]["lr"] == 0.1 and opt.param_groups[2]["momentum"] == 0.0
    named = ember.optim.Adam([("w", a), ("b", b)])
    assert named.state_dict()["param_groups"][0]["param_names"] == ["w", "b"]


def test_zero_grad_and_skipping_params_without_grad():
    a, b = ember.ones(2, requires_grad=True), ember.ones(2, requires_grad=True)
    opt = ember.optim.Adam([a, b], lr=0.1)
    a.grad = ember.tensor([1.0, 1.0])
    v = b._version_value
    opt.step()
    assert b.tolist() == [1.0, 1.0] and b not in opt.state and b._version_value == v
    assert a._version_value > 0
    opt.zero_grad(set_to_none=False)
    assert a.grad.tolist() == [0.0, 0.0] and b.grad is None
    opt.zero_grad()
    assert a.grad is None


def test_closure_runs_with_grad_and_returns_loss():
    w = ember.tensor([2.0], requires_grad=True)
    opt = ember.optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        assert ember.is_grad_enabled()
        loss = (w * w).sum()
        loss.backward()
        return loss
    with ember.no_grad():
        loss = opt.step(closure)
    assert float(loss) == 4.0 and w.tolist() == [1.0]
    assert not w.requires_grad or w.grad_fn is None


def test_step_hooks_and_tensor_lr():
    w = ember.tensor([1.0], requires_grad=True)
    opt = ember.optim.SGD([w], lr=ember.tensor(0.5))
    calls = []
    h1 = opt.register_step_pre_hook(lambda o, a, k: calls.append("pre"))
    opt.register_step_post_hook(lambda o, a, k: calls.append("post"))
    w.grad = ember.tensor([1.0])
    opt.step()
    assert calls == ["pre", "post"] and w.tolist() == [0.5]
    h1.remove()
    opt.step()
    assert calls == ["pre", "post", "post"]


def test_updates_run_without_recording():
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    opt = ember.optim.Adam([w], lr=0.1)
    w.grad = ember.tensor([1.0, 1.0])
    opt.step()
    assert w.grad_fn is None and w.is_leaf and w.requires_grad
    assert not opt.state[w]["exp_avg"].requires_grad


def test_repr_and_defaults():
    w = ember.zeros(1, requires_grad=True)
    text = repr(ember.optim.Adam([w]))
    assert text.startswith("Adam (") and "lr: 0.001" in text and "amsgrad: False" in text
    assert ember.optim.AdamW([w]).defaults["weight_decay"] == 1e-2
    assert ember.optim.SGD([w]).defaults["lr"] == 1e-3
    assert ember.optim.Adadelta([w]).defaults["lr"] == 1.0


def test_adagrad_state_created_at_construction():
    w = ember.zeros(3, requires_grad=True)
    opt = ember.optim.Adagrad([w], initial_accumulator_value=0.5)
    assert opt.state[w]["sum"].tolist() == [0.5, 0.5, 0.5] and float(opt.state[w]["step"]) == 0


@pytest.mark.torch
def test_float64_default_dtype_step_counter():
    ember.set_default_dtype(ember.float64)
    torch.set_default_dtype(torch.float64)
    try:
        w = ember.zeros(2, requires_grad=True)
        opt = ember.optim.Adam([w])
        w.grad = ember.ones(2)
        opt.step()
        assert opt.state[w]["step"].dtype == ember.float64
    finally:
        torch.set_default_dtype(torch.float32)


COMPLEX_ROWS = [("SGD", dict(lr=0.05, momentum=0.9, weight_decay=0.1)),
                ("Adam", dict(lr=0.01, amsgrad=True, maximize=True)),
                ("RMSprop", dict(centered=True, momentum=0.5)),
                ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.2)),
                ("NAdam", dict(lr=0.01, weight_decay=0.1))]


@pytest.mark.torch
@pytest.mark.parametrize("row", COMPLEX_ROWS, ids=[r[0] for r in COMPLEX_ROWS])
def test_complex_params_match_torch(row):
    name, kw = row
    rng = np.random.default_rng(3)
    init = [(rng.standard_normal(s) + 1j * rng.standard_normal(s)).astype(np.complex128)
            for s in [(4,), (2, 3)]]
    ep, tp = _params(ember, init), _params(torch, init)
    eo = getattr(ember.optim, name)(ep, **kw)
    to = getattr(torch.optim, name)(tp, **kw)
    for _ in range(10):
        grads = [(0.5 * p + 0.1 * (rng.standard_normal(p.shape)
                                   + 1j * rng.standard_normal(p.shape))) for p in map(_np, tp)]
        _set_grads(ep, grads, ember)
        _set_grads(tp, grads, torch)
        eo.step()
        to.step()
    for e, r in zip(ep, tp):
        np.testing.assert_allclose(_np(e), _np(r), rtol=1e-10, atol=1e-12)


@pytest.mark.torch
def test_lbfgs_complex_params_match_torch():
    x0 = np.array([1 + 2j, -0.5 + 0.3j, 2 - 1j])
    out = []
    for mod in (ember, torch):
        x = mod.tensor(x0.copy(), requires_grad=True)
        opt = mod.optim.LBFGS([x], max_iter=5, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            y = x - 0.5j
            loss = (y.real ** 2 + 3 * y.imag ** 2).sum() + 0.1 * (x.real ** 4).sum()
            loss.backward()
            return loss
        for _ in range(3):
            opt.step(closure)
        out.append(_np(x))
    np.testing.assert_allclose(out[0], out[1], rtol=1e-10, atol=1e-12)


def test_hooks_survive_load_state_dict_and_pickling():
    import pickle
    w = ember.tensor([1.0], requires_grad=True)
    opt = ember.optim.Adam([w])
    calls = []
    opt.register_step_post_hook(lambda *a: calls.append(1))
    opt.register_load_state_dict_post_hook(lambda o: calls.append("loaded"))
    w.grad = ember.tensor([1.0])
    opt.step()
    opt.load_state_dict(opt.state_dict())
    opt.step()
    assert calls == [1, "loaded", 1]
    clone = pickle.loads(pickle.dumps(opt))
    (p,) = clone.param_groups[0]["params"]
    assert float(clone.state[p]["step"]) == 2.0
    p.grad = ember.tensor([1.0])
    clone.step()
    assert float(clone.state[p]["step"]) == 3.0


@pytest.mark.torch
@pytest.mark.parametrize("name,kw", [("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
                                     ("AdamW", dict(lr=0.01))])
def test_training_an_mlp_matches_torch(name, kw):
    """nn.Parameters from modules, a scheduler, zero_grad/backward/step: torch's losses."""
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((32, 4)), rng.standard_normal((32, 1))
    weights = [rng.standard_normal(s) * 0.5 for s in [(8, 4), (8,), (1, 8), (1,)]]
    losses = {}
    for m in (ember, torch):
        model = m.nn.Sequential(m.nn.Linear(4, 8), m.nn.Tanh(), m.nn.Linear(8, 1)).double()
        for p, w in zip(model.parameters(), weights):
            p.data = m.tensor(w)
        opt = getattr(m.optim, name)(model.parameters(), **kw)
        sched = m.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.7)
        xs, ys = m.tensor(x), m.tensor(y)
        out = []
        for _ in range(20):
            opt.zero_grad()
            loss = ((model(xs) - ys) ** 2).mean()
            loss.backward()
            opt.step()
            sched.step()
            out.append(float(loss.detach()))
        losses[m.__name__] = out
    np.testing.assert_allclose(losses["ember"], losses["torch"], rtol=1e-10)
    assert losses["ember"][-1] < losses["ember"][0]


def test_global_hooks_and_closure_replacement():
    from ember.optim.optimizer import register_optimizer_step_pre_hook
    w = ember.tensor([2.0], requires_grad=True)
    opt = ember.optim.SGD([w], lr=0.5)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss
    seen = []
    handle = register_optimizer_step_pre_hook(lambda o, a, k: seen.append(o) or ((closure,), {}))
    try:
        loss = opt.step()                   # the hook supplies the closure
    finally:
        handle.remove()
    assert seen == [opt] and float(loss) == 4.0 and w.tolist() == [0.0]
    opt.step(closure)
    assert seen == [opt]
