"""Learning-rate schedulers against PyTorch: lr (and momentum) sequences and state_dicts."""

import copy
import math
import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

EPOCHS = 120


def _optimizer(mod, kind="SGD", lrs=(0.1, 0.02)):
    groups = [{"params": [mod.zeros(2, requires_grad=True)], "lr": lr} for lr in lrs]
    if kind == "SGD":
        return mod.optim.SGD(groups, lr=lrs[0], momentum=0.9)
    return mod.optim.Adam(groups, lr=lrs[0])


def _trace(mod, make, epochs=EPOCHS, kind="SGD", metrics=None, epoch_arg=None):
    """lrs (and momenta) after construction and after every epoch's step."""
    opt = _optimizer(mod, kind)
    sched = make(mod.optim.lr_scheduler, opt)
    out = [_snapshot(opt, sched)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for e in range(epochs):
            opt.step()
            if metrics is not None:
                sched.step(metrics[e])
            elif epoch_arg is not None:
                sched.step(epoch_arg(e))
            else:
                sched.step()
            out.append(_snapshot(opt, sched))
    return out


def _snapshot(opt, sched):
    groups = opt.param_groups
    mom = [g["betas"][0] if "betas" in g else g.get("momentum") for g in groups]
    return [float(g["lr"]) for g in groups], [float(x) for x in sched.get_last_lr()], mom


def _assert_traces_equal(make, **kw):
    a, b = _trace(ember, make, **kw), _trace(torch, make, **kw)
    assert len(a) == len(b)
    for i, (x, y) in enumerate(zip(a, b)):
        for u, v in zip(x, y):
            np.testing.assert_allclose(u, v, rtol=1e-12, atol=1e-15, err_msg=f"epoch {i}")


CASES = {
    "StepLR": lambda S, o: S.StepLR(o, step_size=7, gamma=0.5),
    "MultiStepLR": lambda S, o: S.MultiStepLR(o, milestones=[10, 30, 30, 80], gamma=0.3),
    "ExponentialLR": lambda S, o: S.ExponentialLR(o, gamma=0.97),
    "CosineAnnealingLR": lambda S, o: S.CosineAnnealingLR(o, T_max=25),
    "CosineAnnealingLR-eta": lambda S, o: S.CosineAnnealingLR(o, T_max=40, eta_min=1e-3),
    "WarmRestarts": lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=10),
    "WarmRestarts-mult": lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2,
                                                                    eta_min=1e-4),
    "LambdaLR": lambda S, o: S.LambdaLR(o, [lambda e: 0.95 ** e, lambda e: 1 / (1 + e)]),
    "MultiplicativeLR": lambda S, o: S.MultiplicativeLR(o, lambda e: 0.98),
    "LinearLR": lambda S, o: S.LinearLR(o, start_factor=0.1, total_iters=30),
    "LinearLR-down": lambda S, o: S.LinearLR(o, start_factor=1.0, end_factor=0.2,
                                             total_iters=50),
    "ConstantLR": lambda S, o: S.ConstantLR(o, factor=0.25, total_iters=20),
    "PolynomialLR": lambda S, o: S.PolynomialLR(o, total_iters=60, power=2.0),
    "SequentialLR": lambda S, o: S.SequentialLR(
        o, [S.LinearLR(o, start_factor=0.1, total_iters=10), S.ExponentialLR(o, gamma=0.9),
            S.CosineAnnealingLR(o, T_max=30)], milestones=[10, 40]),
    "ChainedScheduler": lambda S, o: S.ChainedScheduler(
        [S.ConstantLR(o, factor=0.5, total_iters=15), S.ExponentialLR(o, gamma=0.98),
         S.StepLR(o, step_size=25, gamma=0.5)]),
    "CyclicLR-triangular": lambda S, o: S.CyclicLR(o, 0.01, 0.1, step_size_up=15),
    "CyclicLR-triangular2": lambda S, o: S.CyclicLR(o, [0.01, 0.001], [0.1, 0.05],
                                                    step_size_up=10, step_size_down=5,
                                                    mode="triangular2"),
    "CyclicLR-exp_range": lambda S, o: S.CyclicLR(o, 0.01, 0.1, step_size_up=8,
                                                  mode="exp_range", gamma=0.99,
                                                  base_momentum=0.7, max_momentum=0.95),
    "CyclicLR-no-momentum": lambda S, o: S.CyclicLR(o, 0.01, 0.1, step_size_up=8,
                                                    cycle_momentum=False),
    "OneCycleLR-cos": lambda S, o: S.OneCycleLR(o, max_lr=0.5, total_steps=EPOCHS),
    "OneCycleLR-linear": lambda S, o: S.OneCycleLR(o, max_lr=[0.5, 0.2], epochs=12,
                                                   steps_per_epoch=10, pct_start=0.25,
                                                   anneal_strategy="linear", div_factor=10.0),
    "OneCycleLR-three-phase": lambda S, o: S.OneCycleLR(o, max_lr=0.3, total_steps=EPOCHS,
                                                        three_phase=True,
                                                        final_div_factor=100.0),
}


# the optimizer kind matters for momentum cycling (SGD momentum vs Adam beta1)
RUNS = [(n, "SGD") for n in CASES] + [(n, "Adam") for n in CASES
                                      if n.startswith(("CyclicLR", "OneCycleLR"))]


@pytest.mark.parametrize("name,kind", RUNS, ids=[f"{n}-{k}" for n, k in RUNS])
def test_lr_sequence_matches_torch(name, kind):
    _assert_traces_equal(CASES[name], kind=kind)


@pytest.mark.parametrize("kw", [
    dict(),
    dict(mode="max", factor=0.5, patience=3, threshold=0.05, threshold_mode="abs",
         cooldown=4, min_lr=[1e-3, 5e-3]),
    dict(patience=2, cooldown=1, threshold=1e-3, min_lr=1e-4, eps=1e-3),
    dict(mode="max", patience=0, threshold_mode="rel"),
])
def test_reduce_lr_on_plateau_matches_torch(kw):
    rng = np.random.default_rng(1)
    metrics = list(np.maximum.accumulate(rng.random(EPOCHS))[::-1] + 0.05 * rng.random(EPOCHS))
    _assert_traces_equal(lambda S, o: S.ReduceLROnPlateau(o, **kw), metrics=metrics)


def test_warm_restarts_fractional_epochs_match_torch():
    make = lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.001)  # noqa
    _assert_traces_equal(make, epoch_arg=lambda e: e / 4.0)
    _assert_traces_equal(lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=4),
                         epoch_arg=lambda e: e * 0.7)


@pytest.mark.parametrize("name", ["StepLR", "MultiStepLR", "ExponentialLR", "LinearLR",
                                  "ConstantLR", "PolynomialLR", "CosineAnnealingLR"])
def test_closed_form_step_epoch_matches_torch(name):
    _assert_traces_equal(CASES[name], epochs=40, epoch_arg=lambda e: (e * 3) % 50)


def test_onecycle_overstep_error():
    opt = _optimizer(ember)
    sched = ember.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=3)
    for _ in range(3):
        opt.step()
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 4 times. The specified number of total "
                                         "steps is 3"):
        sched.step()


@pytest.mark.parametrize("name", ["StepLR", "CosineAnnealingLR", "WarmRestarts-mult",
                                  "SequentialLR", "ChainedScheduler", "CyclicLR-triangular2",
                                  "OneCycleLR-three-phase", "LambdaLR", "PolynomialLR"])
def test_state_dict_round_trip(name):
    make = CASES[name]
    S = ember.optim.lr_scheduler
    full_opt = _optimizer(ember)
    full = make(S, full_opt)
    part_opt = _optimizer(ember)
    part = make(S, part_opt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(37):
            full_opt.step(), full.step()
            part_opt.step(), part.step()
        saved = copy.deepcopy(part.state_dict())
        saved_opt = copy.deepcopy(part_opt.state_dict())
        new_opt = _optimizer(ember)
        new = make(S, new_opt)
        new.load_state_dict(saved)
        new_opt.load_state_dict(saved_opt)
        for _ in range(40):
            full_opt.step(), full.step()
            new_opt.step(), new.step()
            assert new.get_last_lr() == full.get_last_lr()
            assert [g["lr"] for g in new_opt.param_groups] == \
                [g["lr"] for g in full_opt.param_groups]


def test_reduce_lr_on_plateau_state_dict():
    opt = _optimizer(ember)
    sched = ember.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=1, mode="max")
    for m in [1.0, 0.5, 0.5]:
        sched.step(m)
    sd = sched.state_dict()
    fresh = ember.optim.lr_scheduler.ReduceLROnPlateau(_optimizer(ember))
    fresh.load_state_dict(sd)
    assert fresh.mode == "max" and fresh.best == 1.0 and fresh.num_bad_epochs == 0
    assert fresh.mode_worse == -math.inf


@pytest.mark.parametrize("name", ["StepLR", "CosineAnnealingLR", "OneCycleLR-cos",
                                  "CyclicLR-triangular"])
def test_state_dict_keys_match_torch(name):
    def keys(mod):
        opt = _optimizer(mod)
        sched = CASES[name](mod.optim.lr_scheduler, opt)
        opt.step()
        sched.step()
        return set(sched.state_dict())
    assert keys(ember) == keys(torch)


def test_initial_lr_and_resume():
    opt = _optimizer(ember)
    S = ember.optim.lr_scheduler
    sched = S.StepLR(opt, step_size=2)
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.02]
    assert sched.last_epoch == 0 and sched.base_lrs == [0.1, 0.02]
    with pytest.raises(KeyError, match="param 'initial_lr' is not specified"):
        S.StepLR(_optimizer(ember), step_size=2, last_epoch=5)
    with pytest.raises(TypeError, match="is not an Optimizer"):
        S.StepLR(object(), step_size=2)


def test_warnings():
    opt = _optimizer(ember)
    sched = ember.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()
    with pytest.warns(UserWarning, match="please use `get_last_lr\\(\\)`"):
        sched.get_lr()


def test_tensor_lr_stays_a_tensor():
    w = ember.zeros(1, requires_grad=True)
    opt = ember.optim.SGD([w], lr=ember.tensor(0.5))
    lr = opt.param_groups[0]["lr"]
    sched = ember.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    opt.step()
    sched.step()
    assert opt.param_groups[0]["lr"] is lr and float(lr) == 0.25


def test_constructor_errors():
    S = ember.optim.lr_scheduler
    opt = _optimizer(ember)
    with pytest.raises(ValueError, match="Factor should be < 1.0."):
        S.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="mode bad is unknown!"):
        S.ReduceLROnPlateau(opt, mode="bad")
    with pytest.raises(ValueError, match="Expected positive integer T_0, but got 0"):
        S.CosineAnnealingWarmRestarts(opt, T_0=0)
    with pytest.raises(ValueError, match="You must define either total_steps OR"):
        S.OneCycleLR(opt, max_lr=1.0)
    with pytest.raises(ValueError, match="max_lr must have the same length"):
        S.OneCycleLR(opt, max_lr=[1.0], total_steps=10)
    with pytest.raises(ValueError, match="optimizer must support momentum"):
        S.CyclicLR(ember.optim.Adagrad([ember.zeros(1, requires_grad=True)]), 0.1, 1.0)
    with pytest.raises(ValueError, match="Sequential Schedulers expects number of schedulers"):
        S.SequentialLR(opt, [S.StepLR(opt, 2), S.StepLR(opt, 3)], milestones=[])
    with pytest.raises(ValueError, match="does not support `ReduceLROnPlateau`"):
        S.ChainedScheduler([S.ReduceLROnPlateau(opt)])
