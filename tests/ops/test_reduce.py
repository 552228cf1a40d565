"""Op table and focused tests: reductions (sum ... count_nonzero) and scans (cumsum ...)."""

import math
import pickle

import numpy as np
import pytest
import scipy.special

import ember
from tests.harness import OpInfo, op_tests

S = (3, 4)
FULL = [[S], [()], [(2, 3, 4)], [(0, 3)]]  # reductions with an identity
NONEMPTY = [[S], [()], [(2, 3, 4)]]
DIM1 = [[S], [(2, 3, 4)], [(0, 3)]]  # reduce dim 1 / -1
INTS = np.array([[3, -1, 4], [1, 5, -9]], dtype=np.int32)
NAN = np.array([[1.0, np.nan, 2.5], [0.5, -1.0, 0.25]])
POS = (0.5, 2.0)


def first_index(ref_idx):
    """(values, indices) reference of a value-selecting reduction from a NumPy arg-function."""
    def ref(x, axis, keepdims=False):
        i = ref_idx(x, axis=axis, keepdims=True)
        v = np.take_along_axis(x, i, axis=axis)
        return (v, i) if keepdims else (v.squeeze(axis), i.squeeze(axis))
    return ref


max_ref, min_ref = first_index(np.argmax), first_index(np.argmin)


def cum_extreme_ref(x, largest):
    """Running extreme and the index of its last occurrence along the last dim."""
    vals, idx = np.empty_like(x), np.zeros(x.shape, dtype=np.int64)
    for r in np.ndindex(x.shape[:-1]):
        best, at = x[r][0], 0
        for j, v in enumerate(x[r]):
            if (v >= best) if largest else (v <= best):
                best, at = v, j
            vals[r][j], idx[r][j] = best, at
    return vals, idx


def pnorm(x, p, axis=None):
    return np.sum(np.abs(x) ** p, axis=axis) ** (1 / p)


ROWS = [
    # sums and means
    OpInfo("sum", lambda m, x: m.sum(x), FULL, np.sum),
    OpInfo("sum_dim", lambda m, x: x.sum(1), DIM1, lambda x: x.sum(1)),
    OpInfo("sum_dims_keepdim", lambda m, x: m.sum(x, (0, -1), keepdim=True), DIM1,
           lambda x: x.sum((0, -1), keepdims=True)),
    OpInfo("sum_0d_dim", lambda m, x: m.sum(x, 0), [[()]], lambda x: x),
    OpInfo("sum_int", lambda m, x: m.sum(x, 1), [[INTS]], lambda x: x.sum(1), grad=False),
    OpInfo("mean", lambda m, x: m.mean(x, -1, keepdim=True), NONEMPTY,
           lambda x: x.mean(-1, keepdims=True) if x.ndim else x),
    OpInfo("nansum", lambda m, x: m.nansum(x, 1), [[S], [NAN]], lambda x: np.nansum(x, 1)),
    OpInfo("nanmean", lambda m, x: m.nanmean(x), [[S], [NAN]], np.nanmean),
    OpInfo("prod", lambda m, x: m.prod(x), FULL, np.prod),
    OpInfo("prod_dim", lambda m, x: m.prod(x, -1, keepdim=True), DIM1,
           lambda x: x.prod(-1, keepdims=True)),
    OpInfo("prod_int", lambda m, x: m.prod(x, 0), [[INTS]], lambda x: x.prod(0), grad=False),
    # variance
    OpInfo("var", lambda m, x: m.var(x), NONEMPTY[::2], lambda x: np.var(x, ddof=1)),
    OpInfo("var_dim", lambda m, x: m.var(x, 1, keepdim=True), DIM1[:2],
           lambda x: np.var(x, 1, ddof=1, keepdims=True)),
    OpInfo("var_correction0", lambda m, x: m.var(x, (0, 1), correction=0), DIM1[:2],
           lambda x: np.var(x, (0, 1))),
    OpInfo("var_unbiased_legacy", lambda m, x: x.var(0, False), [[S]],
           lambda x: np.var(x, 0)),
    OpInfo("std", lambda m, x: m.std(x, -1), [[S], [(2, 3, 4)]],
           lambda x: np.std(x, -1, ddof=1)),
    OpInfo("var_mean", lambda m, x: m.var_mean(x, 0), [[S]],
           lambda x: (np.var(x, 0, ddof=1), x.mean(0))),
    OpInfo("std_mean", lambda m, x: m.std_mean(x, 1, keepdim=True), [[S]],
           lambda x: (np.std(x, 1, ddof=1, keepdims=True), x.mean(1, keepdims=True))),
    # extremes
    OpInfo("amax", lambda m, x: m.amax(x), NONEMPTY, np.amax),
    OpInfo("amax_dims", lambda m, x: m.amax(x, (0, -1), keepdim=True), DIM1[:2],
           lambda x: np.amax(x, (0, -1), keepdims=True)),
    OpInfo("amax_dim_empty", lambda m, x: m.amax(x, 1), [[(0, 3)]], lambda x: x.max(1)),
    OpInfo("amin", lambda m, x: m.amin(x, 1), DIM1, lambda x: np.amin(x, 1)),
    OpInfo("max_all", lambda m, x: m.max(x), NONEMPTY, np.max),
    OpInfo("max_dim", lambda m, x: m.max(x, 1), DIM1, lambda x: max_ref(x, 1)),
    OpInfo("max_dim_keepdim_neg", lambda m, x: x.max(-2, keepdim=True), [[S], [(2, 3, 4)]],
           lambda x: max_ref(x, -2, True)),
    OpInfo("max_0d", lambda m, x: m.max(x, 0, True), [[()]],
           lambda x: (x, np.array(0))),
    OpInfo("max_int", lambda m, x: m.max(x, 0), [[INTS]], lambda x: max_ref(x, 0),
           grad=False),
    OpInfo("min_dim", lambda m, x: m.min(x, 0), [[S], [(2, 3, 4)]], lambda x: min_ref(x, 0)),
    OpInfo("min_all", lambda m, x: x.min(), NONEMPTY, np.min),
    OpInfo("max_binary", lambda m, x, y: m.max(x, y), [[S, (4,)]], np.maximum),
    OpInfo("argmax", lambda m, x: m.argmax(x), NONEMPTY, np.argmax, grad=False),
    OpInfo("argmax_dim", lambda m, x: x.argmax(1, keepdim=True), DIM1,
           lambda x: np.argmax(x, 1, keepdims=True), grad=False),
    OpInfo("argmin_dim", lambda m, x: m.argmin(x, -1), [[S], [(2, 3, 4)]],
           lambda x: np.argmin(x, -1), grad=False),
    OpInfo("aminmax", lambda m, x: m.aminmax(x), NONEMPTY,
           lambda x: (np.amin(x), np.amax(x))),
    OpInfo("aminmax_dim", lambda m, x: m.aminmax(x, dim=1, keepdim=True), DIM1[:2],
           lambda x: (np.amin(x, 1, keepdims=True), np.amax(x, 1, keepdims=True))),
    # logsumexp, norm
    OpInfo("logsumexp", lambda m, x: m.logsumexp(x, 1), DIM1, lambda x: scipy.special.logsumexp(
        x, 1)),
    OpInfo("logsumexp_keepdim", lambda m, x: m.logsumexp(x, (0, 1), keepdim=True),
           [[S], [(2, 3, 4)]], lambda x: scipy.special.logsumexp(x, (0, 1), keepdims=True)),
    OpInfo("logsumexp_0d", lambda m, x: m.logsumexp(x, 0), [[()]], lambda x: x),
    OpInfo("logsumexp_large", lambda m, x: m.logsumexp(x * 1000, 0), [[(5,)]],
           lambda x: scipy.special.logsumexp(x * 1000, 0), grad_atol=1e-3, grad_rtol=1e-3,
           atol32=1e-2),
    OpInfo("norm", lambda m, x: m.norm(x), FULL, lambda x: np.sqrt(np.sum(x * x))),
    OpInfo("norm_dim", lambda m, x: x.norm(dim=1, keepdim=True), DIM1[:2],
           lambda x: np.linalg.norm(x, axis=1, keepdims=True)),
    OpInfo("norm_p1", lambda m, x: m.norm(x, 1, dim=-1), [[S]], lambda x: pnorm(x, 1, -1),
           gradgrad=False),
    OpInfo("norm_p3", lambda m, x: m.norm(x, 3, dim=(0, 1)), [[S]],
           lambda x: pnorm(x, 3, (0, 1))),
    OpInfo("norm_p05", lambda m, x: m.norm(x, 0.5), [[S]], lambda x: pnorm(x, 0.5),
           domain=POS),
    OpInfo("norm_inf", lambda m, x: m.norm(x, math.inf, dim=0), [[S]],
           lambda x: np.abs(x).max(0)),
    OpInfo("norm_ninf", lambda m, x: m.norm(x, -math.inf), [[S]], lambda x: np.abs(x).min()),
    OpInfo("norm_p0", lambda m, x: m.norm(x, 0), [[S]], lambda x: np.sum(x != 0) + 0.0,
           grad=False),
    # logic
    OpInfo("all", lambda m, x: m.all(x > -1.5), FULL, lambda x: np.all(x > -1.5), grad=False),
    OpInfo("any_dim", lambda m, x: m.any(x > 1, 1, keepdim=True), DIM1,
           lambda x: np.any(x > 1, 1, keepdims=True), grad=False),
    OpInfo("all_int_dims", lambda m, x: x.all((0, 1)), [[INTS]], lambda x: np.all(x),
           grad=False),
    OpInfo("count_nonzero", lambda m, x: m.count_nonzero(x > 0, -1), DIM1,
           lambda x: np.count_nonzero(x > 0, -1), grad=False),
    OpInfo("count_nonzero_all", lambda m, x: m.count_nonzero(x), [[INTS]],
           lambda x: np.count_nonzero(x), grad=False),
    # scans
    OpInfo("cumsum", lambda m, x: m.cumsum(x, 1), DIM1, lambda x: np.cumsum(x, 1)),
    OpInfo("cumsum_neg_0d", lambda m, x: x.cumsum(-1), [[S], [()]],
           lambda x: np.cumsum(x, -1) if x.ndim else x),
    OpInfo("cumsum_int", lambda m, x: m.cumsum(x, 0), [[INTS]], lambda x: np.cumsum(x, 0),
           grad=False),
    OpInfo("cumprod", lambda m, x: m.cumprod(x, -1), DIM1 + [[()]],
           lambda x: np.cumprod(x, -1) if x.ndim else x),
    OpInfo("cumprod_zeros", lambda m, x: m.cumprod(x, 0),
           [[np.array([2.0, 0.0, 3.0, 0.0, 5.0])], [np.array([[0.5, 1.5], [0.0, 2.0],
                                                              [3.0, -1.0]])]],
           lambda x: np.cumprod(x, 0)),
    OpInfo("cummax", lambda m, x: m.cummax(x, -1), [[S], [(2, 3, 4)], [(0, 3)], [()]],
           lambda x: cum_extreme_ref(x, True) if x.ndim else (x, np.array(0))),
    OpInfo("cummin", lambda m, x: x.cummin(1), [[S]], lambda x: cum_extreme_ref(x, False)),
    OpInfo("cummax_int", lambda m, x: m.cummax(x, 1), [[INTS]],
           lambda x: cum_extreme_ref(x, True), grad=False),
    OpInfo("logcumsumexp", lambda m, x: m.logcumsumexp(x, 1), DIM1,
           lambda x: np.logaddexp.accumulate(x, 1)),
    OpInfo("logcumsumexp_range", lambda m, x: m.logcumsumexp(x * 300, 0), [[(6,)]],
           lambda x: np.logaddexp.accumulate(x * 300, 0), atol32=1e-3,
           grad_atol=1e-3, grad_rtol=1e-3),
]

test_forward, test_grad, test_gradgrad, test_vs_torch = op_tests(ROWS)

torch = pytest.importorskip("torch")


def both(fn, *arrays, grad=False):
    """``fn(m, *tensors)`` run with ember and torch on the same arrays."""
    e = [ember.tensor(a, requires_grad=grad) for a in arrays]
    t = [torch.tensor(a, requires_grad=grad) for a in arrays]
    return (fn(ember, *e), e), (fn(torch, *t), t)


def close(a, b, **kw):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), equal_nan=True, **kw)


def name(dt):
    return str(dt).split(".")[-1]


# -- errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize("call", [
    lambda m, x: m.sum(x, 5), lambda m, x: m.max(x, 5), lambda m, x: m.amax(x, (0, 5)),
    lambda m, x: m.argmax(x, 5), lambda m, x: m.var(x, 5), lambda m, x: m.cumsum(x, 5),
    lambda m, x: m.logsumexp(x, 5), lambda m, x: m.all(x, 5), lambda m, x: m.cummax(x, 5)])
def test_dim_out_of_range(call):
    x = np.zeros((2, 3))
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of "
                                         r"\[-2, 1\], but got 5\)"):
        call(ember, ember.tensor(x))


@pytest.mark.parametrize("call,exc", [
    (lambda m, x: m.max(x), RuntimeError), (lambda m, x: x.min(), RuntimeError),
    (lambda m, x: m.argmax(x), IndexError), (lambda m, x: m.amax(x), RuntimeError),
    (lambda m, x: m.max(x, 0), IndexError), (lambda m, x: m.argmin(x, 0), IndexError),
    (lambda m, x: m.amin(x, 0), IndexError), (lambda m, x: m.aminmax(x), RuntimeError)])
def test_empty_without_identity(call, exc):
    x = np.zeros((0, 3))
    with pytest.raises(exc) as got:
        call(ember, ember.tensor(x))
    with pytest.raises(exc) as want:
        call(torch, torch.tensor(x))
    assert str(want.value).split(".")[0] in str(got.value)


def test_errors_on_dtypes_and_args():
    i = ember.tensor([1, 2])
    with pytest.raises(RuntimeError, match="floating point"):
        ember.var(i)
    with pytest.raises(RuntimeError, match="nanmean"):
        ember.nanmean(i)
    with pytest.raises(RuntimeError, match="linalg.vector_norm: Expected a floating point"):
        ember.norm(i)
    with pytest.raises(RuntimeError, match="bool"):
        ember.argmax(ember.tensor([True, False]))
    with pytest.raises(TypeError):
        ember.var(ember.ones(3), unbiased=False, correction=0)
    with pytest.raises(NotImplementedError):
        ember.logcumsumexp(i, 0)
    x = ember.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="inf norm on an empty"):
        ember.norm(ember.ones(0), math.inf)
    assert x.grad is None


# -- result dtypes ---------------------------------------------------------------------------
@pytest.mark.parametrize("dt", ["bool", "uint8", "int32", "int64", "float32", "float64"])
@pytest.mark.parametrize("op", [
    lambda m, x: m.sum(x), lambda m, x: m.prod(x, 0), lambda m, x: m.cumsum(x, 0),
    lambda m, x: m.cumprod(x, 0), lambda m, x: m.nansum(x), lambda m, x: m.max(x),
    lambda m, x: m.amin(x, 0), lambda m, x: m.all(x), lambda m, x: m.any(x, 0),
    lambda m, x: m.count_nonzero(x), lambda m, x: m.max(x, 0)[1],
    lambda m, x: m.cummax(x, 0)[0], lambda m, x: m.logsumexp(x, 0),
    lambda m, x: m.sum(x, dtype=m.float64)])
def test_result_dtype(op, dt):
    a = np.array([1, 0, 3]).astype(dt)
    (e, _), (t, _) = both(op, a)
    assert name(e.dtype) == name(t.dtype)
    close(e, t)


def test_arg_dtype_and_keepdim_without_dim():
    x = np.random.default_rng(0).standard_normal((2, 3))
    (e, _), (t, _) = both(lambda m, a: m.argmax(a, keepdim=True), x)
    assert e.shape == t.shape and e.dtype == ember.int64
    close(e, t)


# -- ties and NaN ----------------------------------------------------------------------------
TIES = np.array([[1.0, 3.0, 3.0, 2.0], [0.5, 0.5, -1.0, 0.5]])


@pytest.mark.parametrize("op", [
    lambda m, x: m.max(x), lambda m, x: m.amax(x, 1), lambda m, x: m.amin(x),
    lambda m, x: m.max(x, 1).values, lambda m, x: m.min(x, 1).values,
    lambda m, x: m.norm(x, math.inf), lambda m, x: m.aminmax(x, dim=1)[1],
    lambda m, x: m.cummax(x, 1).values, lambda m, x: m.logsumexp(x, 1),
    lambda m, x: m.prod(x, 0), lambda m, x: m.var(x, 1)])
def test_ties_grad_like_torch(op):
    (e, ex), (t, tx) = both(op, TIES, grad=True)
    close(e, t)
    e.sum().backward()
    t.sum().backward()
    close(ex[0].grad, tx[0].grad)


def test_ties_indices_are_first():
    (e, _), (t, _) = both(lambda m, x: (m.max(x, 1), m.argmin(x, 1), m.argmax(x)), TIES)
    for a, b in zip([*e[0], e[1], e[2]], [*t[0], t[1], t[2]]):
        close(a, b)


NANS = np.array([[1.0, np.nan, 3.0, np.nan], [2.0, 0.0, -1.0, 4.0]])


@pytest.mark.parametrize("op", [
    lambda m, x: m.max(x, 1), lambda m, x: m.min(x, 1), lambda m, x: m.argmax(x, 1),
    lambda m, x: m.argmin(x), lambda m, x: m.max(x), lambda m, x: m.amax(x, 1),
    lambda m, x: m.aminmax(x, dim=1), lambda m, x: m.nansum(x, 1), lambda m, x: m.nanmean(x, 1),
    lambda m, x: m.cummax(x, 1), lambda m, x: m.cummin(x, 1), lambda m, x: m.logsumexp(x, 1),
    lambda m, x: m.cumsum(x, 1), lambda m, x: m.norm(x, dim=1)])
def test_nan_like_torch(op):
    (e, _), (t, _) = both(op, NANS)
    for a, b in zip(e if isinstance(e, tuple) else [e], t if isinstance(t, tuple) else [t]):
        close(a, b)


@pytest.mark.parametrize("op", [lambda m, x: m.max(x), lambda m, x: m.nansum(x),
                                lambda m, x: m.nanmean(x, 1)])
def test_nan_grad_like_torch(op):
    (e, ex), (t, tx) = both(op, NANS, grad=True)
    e.sum().backward()
    t.sum().backward()
    close(ex[0].grad, tx[0].grad)


def test_logsumexp_infinities():
    a = np.array([[-np.inf, -np.inf], [np.inf, 1.0], [-np.inf, 2.0]])
    (e, _), (t, _) = both(lambda m, x: m.logsumexp(x, 1), a)
    close(e, t)


# -- gradients at zeros ----------------------------------------------------------------------
ZEROS = [np.array([1.0, 0.0, 2.0, 3.0]), np.array([1.0, 0.0, 0.0, 3.0, 0.0]),
         np.array([[2.0, 0.0, 3.0, 0.0, 5.0], [1.5, 2.0, 0.0, -1.0, 0.5]])]


@pytest.mark.parametrize("a", ZEROS, ids=["one_zero", "two_zeros", "rows"])
@pytest.mark.parametrize("op", [lambda m, x: m.prod(x, -1), lambda m, x: m.cumprod(x, -1)],
                         ids=["prod", "cumprod"])
def test_zero_grads_like_torch(op, a):
    (e, ex), (t, tx) = both(op, a, grad=True)
    ge, = ember.autograd.grad(e.sum(), ex, create_graph=True)
    gt, = torch.autograd.grad(t.sum(), tx, create_graph=True)
    close(ge, gt)
    w = np.linspace(-1, 1, a.size).reshape(a.shape)
    hh, = ember.autograd.grad((ge * ember.tensor(w)).sum(), ex)
    ht, = torch.autograd.grad((gt * torch.tensor(w)).sum(), tx)
    close(hh, ht, atol=1e-12)


def test_norm_grad_at_zero_is_zero():
    for p in (2, 1, 3, 0.5, "fro"):
        x = ember.zeros(3, requires_grad=True)
        ember.norm(x, p).backward()
        assert np.array_equal(x.grad.numpy(), np.zeros(3)), p


# -- API details -----------------------------------------------------------------------------
def test_named_tuples():
    x = ember.tensor([[1.0, 5.0], [7.0, 2.0]])
    r = x.max(1)
    v, i = r
    assert r.values is v and r.indices is i
    assert type(r).__name__ == "max" and type(r) is ember.return_types.max
    assert ember.aminmax(x)._fields == ("min", "max")
    assert ember.cummin(x, 0)._fields == ("values", "indices")
    back = pickle.loads(pickle.dumps(r))
    assert back.indices.tolist() == [1, 0]


def test_var_overloads():
    a = np.random.default_rng(1).standard_normal((3, 4))
    for f in (lambda m, x: m.var(x, True), lambda m, x: m.var(x, 1, True, True),
              lambda m, x: x.std(0, unbiased=False), lambda m, x: m.var(x, correction=2),
              lambda m, x: m.std(x, dim=(0, 1), correction=0, keepdim=True)):
        (e, _), (t, _) = both(f, a)
        assert e.shape == t.shape
        close(e, t)
    with pytest.warns(UserWarning, match="degrees of freedom"):
        v = ember.var(ember.ones(1))
    assert math.isnan(v.item())


def test_complex_var_is_real():
    a = np.array([1 + 2j, -1j, 3 + 0j])
    (e, _), (t, _) = both(lambda m, x: (m.var(x), m.std(x)), a)
    for x, y in zip(e, t):
        assert name(x.dtype) == name(y.dtype)
        close(x, y)


def test_out_and_inplace():
    x = ember.tensor([[1.0, 5.0], [7.0, 2.0]])
    v, i = ember.empty(0), ember.empty(0, dtype=ember.int64)
    r = ember.max(x, 1, out=(v, i))
    assert r.values is v and v.tolist() == [5.0, 7.0] and i.tolist() == [1, 0]
    s = ember.empty(0)
    assert ember.sum(x, 0, out=None).tolist() == [8.0, 7.0]
    ember.amax(x, 0, out=s)
    assert s.tolist() == [7.0, 5.0]
    y = ember.tensor([1, 2, 3], dtype=ember.int32)
    y.cumsum_(0)
    assert y.tolist() == [1, 3, 6] and y.dtype == ember.int32


def test_logcumsumexp_wide_range_grad():
    a = np.array([-800.0, 0.0, 5.0, -900.0, 700.0])
    (e, ex), (t, tx) = both(lambda m, x: m.logcumsumexp(x, 0), a, grad=True)
    close(e, t)
    w = np.array([1.0, -2.0, 0.5, 3.0, -1.0])
    ge, = ember.autograd.grad(e, ex, ember.tensor(w))
    gt, = torch.autograd.grad(t, tx, torch.tensor(w))
    close(ge, gt, rtol=1e-10, atol=1e-300)


def test_methods_bound():
    for name_ in ("nansum nanmean prod var std amax amin max min argmax argmin aminmax "
                  "logsumexp norm all any count_nonzero cumsum cumprod cummax cummin "
                  "logcumsumexp cumsum_ cumprod_").split():
        assert hasattr(ember.Tensor, name_), name_
        assert name_.endswith("_") or hasattr(ember, name_), name_


def test_std_grad_of_constant_like_torch():
    a = np.array([[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]])
    for f in (lambda m, x: m.std(x, 1), lambda m, x: m.std_mean(x, 1)[0]):
        (e, ex), (t, tx) = both(f, a, grad=True)
        e.sum().backward()
        t.sum().backward()
        close(ex[0].grad, tx[0].grad)
