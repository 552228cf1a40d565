"""nn.utils: gradient clipping, parameter vectors, weight norm, spectral norm (vs torch)."""

import math

import numpy as np
import pytest

import ember
from ember import nn

torch = pytest.importorskip("torch")


def _np(t):
    return t.detach().numpy(force=True) if isinstance(t, ember.Tensor) else t.detach().numpy()


def _params_with_grads(m, seed=0):
    rng = np.random.default_rng(seed)
    shapes = [(3, 4), (4,), (2, 2, 2)]
    grads = [rng.standard_normal(s) for s in shapes]
    ep = [nn.Parameter(ember.zeros(*s)) for s in shapes]
    tp = [torch.nn.Parameter(torch.zeros(*s)) for s in shapes]
    for e, t, g in zip(ep, tp, grads):
        e.grad = ember.tensor(g.astype(np.float32))
        t.grad = torch.tensor(g.astype(np.float32))
    return ep, tp


@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, math.inf, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    ep, tp = _params_with_grads(None)
    en = nn.utils.clip_grad_norm_(ep, max_norm, norm_type)
    tn = torch.nn.utils.clip_grad_norm_(tp, max_norm, norm_type)
    assert isinstance(en, ember.Tensor) and en.dim() == 0
    np.testing.assert_allclose(en.item(), tn.item(), rtol=1e-5)
    for e, t in zip(ep, tp):
        np.testing.assert_allclose(_np(e.grad), _np(t.grad), rtol=1e-5, atol=1e-7)


def test_clip_grad_norm_edge_cases():
    p = nn.Parameter(ember.ones(2))
    assert nn.utils.clip_grad_norm_([p], 1.0).item() == 0.0  # no grads
    p.grad = ember.tensor([float("nan"), 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    q = nn.Parameter(ember.ones(2))
    q.grad = ember.tensor([3.0, 4.0])
    np.testing.assert_allclose(nn.utils.clip_grad_norm_(q, 1.0, foreach=True).item(), 5.0)
    np.testing.assert_allclose(q.grad.numpy(), [0.6, 0.8], rtol=1e-5)
    assert nn.utils.get_total_norm([ember.tensor([3.0, 4.0])]).item() == pytest.approx(5.0)


def test_clip_grad_value():
    ep, tp = _params_with_grads(None)
    nn.utils.clip_grad_value_(ep, 0.5)
    torch.nn.utils.clip_grad_value_(tp, 0.5)
    for e, t in zip(ep, tp):
        np.testing.assert_array_equal(_np(e.grad), _np(t.grad))


def test_parameters_to_vector_roundtrip():
    m = nn.Linear(3, 2)
    v = nn.utils.parameters_to_vector(m.parameters())
    assert v.shape == (8,) and v.requires_grad
    np.testing.assert_array_equal(_np(v[:6]), _np(m.weight).ravel())
    new = ember.arange(8.0)
    w = m.weight
    nn.utils.vector_to_parameters(new, m.parameters())
    assert m.weight is w
    np.testing.assert_array_equal(_np(m.weight), np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(_np(m.bias), [6.0, 7.0])
    with pytest.raises(TypeError, match="expected torch.Tensor"):
        nn.utils.vector_to_parameters([1.0], m.parameters())


def _copy_linear(tm, em):
    em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})


@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_matches_torch(dim):
    torch.manual_seed(0)
    with pytest.warns(FutureWarning):
        tm = torch.nn.utils.weight_norm(torch.nn.Linear(4, 3), dim=dim)
    with pytest.warns(FutureWarning):
        em = nn.utils.weight_norm(nn.Linear(4, 3), dim=dim)
    assert [n for n, _ in em.named_parameters()] == [n for n, _ in tm.named_parameters()]
    _copy_linear(tm, em)
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    ty = tm(torch.tensor(x))
    ey = em(ember.tensor(x))
    np.testing.assert_allclose(_np(ey), _np(ty), rtol=1e-5, atol=1e-6)
    (ty ** 2).sum().backward()
    (ey ** 2).sum().backward()
    for name in ("weight_g", "weight_v", "bias"):
        np.testing.assert_allclose(_np(getattr(em, name).grad), _np(getattr(tm, name).grad),
                                   rtol=1e-4, atol=1e-5, err_msg=name)
    nn.utils.remove_weight_norm(em)
    assert [n for n, _ in em.named_parameters()] == ["bias", "weight"]
    np.testing.assert_allclose(_np(em(ember.tensor(x))), _np(ty), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="weight_norm of 'weight' not found"):
        nn.utils.remove_weight_norm(em)


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_weight_norm_twice_raises():
    m = nn.utils.weight_norm(nn.Linear(2, 2))
    with pytest.raises(RuntimeError, match="Cannot register two weight_norm hooks"):
        nn.utils.weight_norm(m)


def test_spectral_norm_matches_torch():
    torch.manual_seed(0)
    tm = torch.nn.utils.spectral_norm(torch.nn.Linear(5, 4), n_power_iterations=2)
    em = nn.utils.spectral_norm(nn.Linear(5, 4), n_power_iterations=2)
    assert list(em.state_dict()) == list(tm.state_dict())
    _copy_linear(tm, em)
    x = np.random.default_rng(1).standard_normal((3, 5)).astype(np.float32)
    for step in range(2):
        ty = tm(torch.tensor(x))
        ey = em(ember.tensor(x))
        np.testing.assert_allclose(_np(ey), _np(ty), rtol=1e-4, atol=1e-5)
        ty.sum().backward()
        ey.sum().backward()
    np.testing.assert_allclose(_np(em.weight_orig.grad), _np(tm.weight_orig.grad), rtol=1e-4,
                               atol=1e-5)
    np.testing.assert_allclose(_np(em.weight_u), _np(tm.weight_u), rtol=1e-4, atol=1e-6)
    tm.eval()
    em.eval()
    u_before = _np(em.weight_u).copy()
    np.testing.assert_allclose(_np(em(ember.tensor(x))), _np(tm(torch.tensor(x))), rtol=1e-4,
                               atol=1e-5)
    np.testing.assert_array_equal(_np(em.weight_u), u_before)  # no power iteration in eval


def test_spectral_norm_sigma_is_top_singular_value():
    m = nn.utils.spectral_norm(nn.Linear(6, 4), n_power_iterations=30)
    m(ember.ones(1, 6))
    w = _np(m.weight)
    assert np.linalg.svd(w, compute_uv=False)[0] == pytest.approx(1.0, rel=1e-3)
    nn.utils.remove_spectral_norm(m)
    assert [n for n, _ in m.named_parameters()] == ["bias", "weight"]
    assert list(m.state_dict()) == ["bias", "weight"]


# -- parametrize -------------------------------------------------------------------------------
def _copy_all(tm, em):
    em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})


@pytest.mark.parametrize("dim", [0, 1, None])
def test_parametrized_weight_norm_matches_torch(dim):
    torch.manual_seed(0)
    P, TP = nn.utils.parametrizations, torch.nn.utils.parametrizations
    tm, em = TP.weight_norm(torch.nn.Linear(4, 3), dim=dim), P.weight_norm(nn.Linear(4, 3), dim=dim)
    assert list(em.state_dict()) == list(tm.state_dict())
    assert type(em).__name__ == type(tm).__name__ == "ParametrizedLinear"
    assert repr(em) == repr(tm)
    _copy_all(tm, em)
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    ty, ey = tm(torch.tensor(x)), em(ember.tensor(x))
    np.testing.assert_allclose(_np(ey), _np(ty), rtol=1e-5, atol=1e-6)
    (ty ** 2).sum().backward()
    (ey ** 2).sum().backward()
    tp = dict(tm.named_parameters())
    for name, p in em.named_parameters():
        np.testing.assert_allclose(_np(p.grad), _np(tp[name].grad), rtol=1e-4, atol=1e-5,
                                   err_msg=name)


def test_parametrized_spectral_norm_matches_torch():
    torch.manual_seed(0)
    P, TP = nn.utils.parametrizations, torch.nn.utils.parametrizations
    tm, em = TP.spectral_norm(torch.nn.Linear(5, 4)), P.spectral_norm(nn.Linear(5, 4))
    assert list(em.state_dict()) == list(tm.state_dict())
    _copy_all(tm, em)
    x = np.random.default_rng(1).standard_normal((3, 5)).astype(np.float32)
    for _ in range(2):
        ty, ey = tm(torch.tensor(x)), em(ember.tensor(x))
        np.testing.assert_allclose(_np(ey), _np(ty), rtol=1e-4, atol=1e-5)
        ty.sum().backward()
        ey.sum().backward()
    np.testing.assert_allclose(_np(em.parametrizations.weight.original.grad),
                               _np(tm.parametrizations.weight.original.grad), rtol=1e-4,
                               atol=1e-5)
    fresh = P.spectral_norm(nn.Linear(6, 4))  # 15 power iterations at registration
    assert np.linalg.svd(_np(fresh.weight), compute_uv=False)[0] == pytest.approx(1, rel=1e-2)


def test_register_and_remove_parametrization():
    parametrize = nn.utils.parametrize

    class Double(nn.Module):
        def forward(self, x):
            return 2 * x

        def right_inverse(self, x):
            return x / 2

    m = nn.Linear(3, 3)
    w = m.weight
    before = _np(w).copy()
    parametrize.register_parametrization(m, "weight", Double())
    assert parametrize.is_parametrized(m) and parametrize.is_parametrized(m, "weight")
    assert not parametrize.is_parametrized(m, "bias")
    assert m.parametrizations.weight.original is w  # the same Parameter object
    np.testing.assert_allclose(_np(m.weight), before, rtol=1e-6)
    assert [n for n, _ in m.named_parameters()] == ["bias", "parametrizations.weight.original"]
    m.weight = ember.ones(3, 3)  # goes through right_inverse
    np.testing.assert_allclose(_np(w), 0.5)
    m(ember.ones(1, 3)).sum().backward()
    np.testing.assert_allclose(_np(w.grad), 2.0)
    with parametrize.cached():
        assert m.weight is m.weight
    parametrize.register_parametrization(m, "weight", Double())  # chained
    np.testing.assert_allclose(_np(m.weight), 2.0)
    assert parametrize.type_before_parametrizations(m) is nn.Linear
    parametrize.remove_parametrizations(m, "weight")
    assert type(m) is nn.Linear and isinstance(m.weight, nn.Parameter) and m.weight is w
    np.testing.assert_allclose(_np(m.weight), 2.0)
    assert not parametrize.is_parametrized(m)
    with pytest.raises(ValueError, match="does not have a parametrization"):
        parametrize.remove_parametrizations(m, "weight")


def test_parametrized_module_copy_and_pickle():
    import copy
    import pickle
    m = nn.utils.parametrizations.weight_norm(nn.Linear(3, 2))
    c = copy.deepcopy(m)
    np.testing.assert_allclose(_np(c.weight), _np(m.weight))
    assert c.parametrizations.weight.original0 is not m.parametrizations.weight.original0
    with pytest.raises(RuntimeError, match="only supported through state_dict"):
        pickle.dumps(m)


def test_skip_init():
    m = nn.utils.skip_init(nn.Linear, 3, 2)
    assert isinstance(m, nn.Linear) and m.weight.shape == (2, 3)
    with pytest.raises(RuntimeError, match="must support a 'device' arg"):
        nn.utils.skip_init(nn.ReLU)
