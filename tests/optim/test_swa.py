"""swa_utils against PyTorch: AveragedModel (SWA/EMA), SWALR and update_bn."""

import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def _model(mod):
    nn = mod.nn
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))


def _np(t):
    return t.detach().cpu().numpy().copy()


def _pair(seed=0):
    """An ember and a torch model with identical weights."""
    torch.manual_seed(seed)
    tm, em = _model(torch), _model(ember)
    _copy_into(em, {k: _np(v) for k, v in tm.state_dict().items()})
    return em, tm


def _copy_into(em, arrays):
    tensors = dict(em.named_parameters())
    tensors.update(dict(em.named_buffers()))
    for k, a in arrays.items():
        tensors[k]._data[...] = a


def _perturb(em, tm, rng):
    """Move both models' weights (and running stats) to the same new values."""
    arrays = {}
    for k, v in tm.state_dict().items():
        a = _np(v)
        if a.dtype.kind == "f":
            a = a + rng.standard_normal(a.shape).astype(a.dtype)
            a = np.abs(a) if k.endswith("running_var") else a
        else:
            a = np.asarray(a + 3)
        arrays[k] = a
    tm.load_state_dict({k: torch.from_numpy(a) for k, a in arrays.items()})
    _copy_into(em, arrays)


def _assert_models_equal(ea, ta, rtol=1e-6):
    e, t = dict(ea.state_dict()), dict(ta.state_dict())
    assert list(e) == list(t)
    for k in t:
        np.testing.assert_allclose(_np(e[k]), _np(t[k]), rtol=rtol, atol=1e-7, err_msg=k)


AVG = {
    "swa": lambda m: {},
    "swa-buffers": lambda m: dict(use_buffers=True),
    "ema-multi": lambda m: dict(multi_avg_fn=m.optim.swa_utils.get_ema_multi_avg_fn(0.9)),
    "ema-multi-buffers": lambda m: dict(multi_avg_fn=m.optim.swa_utils.get_ema_multi_avg_fn(0.7),
                                        use_buffers=True),
    "swa-multi": lambda m: dict(multi_avg_fn=m.optim.swa_utils.get_swa_multi_avg_fn()),
    "ema-fn": lambda m: dict(avg_fn=m.optim.swa_utils.get_ema_avg_fn(0.8)),
    "swa-fn": lambda m: dict(avg_fn=m.optim.swa_utils.get_swa_avg_fn()),
}


@pytest.mark.parametrize("name", list(AVG))
def test_averaged_model_matches_torch(name):
    em, tm = _pair()
    ea = ember.optim.swa_utils.AveragedModel(em, **AVG[name](ember))
    ta = torch.optim.swa_utils.AveragedModel(tm, **AVG[name](torch))
    rng = np.random.default_rng(0)
    for _ in range(6):
        _perturb(em, tm, rng)
        ea.update_parameters(em)
        ta.update_parameters(tm)
        _assert_models_equal(ea, ta)
    assert int(ea.n_averaged) == 6
    x = np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32)
    ea.eval(), ta.eval()
    np.testing.assert_allclose(_np(ea(ember.tensor(x))), _np(ta(torch.tensor(x))), rtol=1e-5,
                               atol=1e-6)


def test_averaged_model_is_a_copy():
    em, _ = _pair()
    ea = ember.optim.swa_utils.AveragedModel(em)
    assert all(a is not b for a, b in zip(ea.module.parameters(), em.parameters()))
    assert [k for k, _ in ea.named_buffers()][0] == "n_averaged"
    with pytest.raises(AssertionError, match="Only one of avg_fn and multi_avg_fn"):
        ember.optim.swa_utils.AveragedModel(em, avg_fn=lambda *a: a[0],
                                            multi_avg_fn=lambda *a: None)
    with pytest.raises(ValueError, match="Invalid decay value 1.5"):
        ember.optim.swa_utils.get_ema_multi_avg_fn(1.5)


def test_update_bn_matches_torch():
    em, tm = _pair()
    rng = np.random.default_rng(2)
    data = [rng.standard_normal((8, 3)).astype(np.float32) * (i + 1) for i in range(5)]
    em.eval(), tm.eval()
    ember.optim.swa_utils.update_bn([(ember.tensor(x), 0) for x in data], em)
    torch.optim.swa_utils.update_bn([(torch.tensor(x), 0) for x in data], tm)
    _assert_models_equal(em, tm, rtol=1e-5)
    assert not em.training
    assert em[1].momentum == 0.1


def test_update_bn_without_batchnorm_is_a_no_op():
    m = ember.nn.Linear(2, 2)
    ember.optim.swa_utils.update_bn([ember.ones(1, 2)], m)


@pytest.mark.parametrize("kw", [dict(swa_lr=0.05), dict(swa_lr=[0.05, 0.5], anneal_epochs=5,
                                                         anneal_strategy="linear"),
                                dict(swa_lr=0.01, anneal_epochs=0)])
def test_swalr_matches_torch(kw):
    def trace(mod):
        groups = [{"params": [mod.zeros(1, requires_grad=True)], "lr": lr} for lr in (0.1, 0.2)]
        opt = mod.optim.SGD(groups)
        sched = mod.optim.swa_utils.SWALR(opt, **kw)
        out = [[g["lr"] for g in opt.param_groups]]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(20):
                opt.step()
                sched.step()
                out.append(sched.get_last_lr())
        return out
    np.testing.assert_allclose(trace(ember), trace(torch), rtol=1e-12)


def test_swalr_errors():
    opt = ember.optim.SGD([ember.zeros(1, requires_grad=True)])
    with pytest.raises(ValueError, match="anneal_strategy must be one of 'cos' or 'linear'"):
        ember.optim.swa_utils.SWALR(opt, 0.1, anneal_strategy="exp")
    with pytest.raises(ValueError, match="anneal_epochs must be equal or greater than 0"):
        ember.optim.swa_utils.SWALR(opt, 0.1, anneal_epochs=-1)
