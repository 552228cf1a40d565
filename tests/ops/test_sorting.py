"""Op table and focused tests: sort, topk, kthvalue, median, mode, quantile, unique."""

import numpy as np
import pytest

import ember
from tests.harness import OpInfo, op_tests

S = (3, 4)
INTS = np.array([[3, -1, 4, 1], [5, -9, 2, 6], [5, 3, 5, 8]], dtype=np.int64)
REPEATS = np.array([[3, 1, 1, 3, 2], [7, 7, 0, 0, 7], [4, 2, 2, 4, 9]], dtype=np.int32)
NAN = np.array([[1.0, np.nan, 3.0, 0.5], [2.0, 0.0, -1.0, 4.0], [np.nan, np.nan, 1.0, 2.0]])


def sort_ref(x, axis=-1, descending=False):
    if x.ndim == 0:
        return x, np.array(0)
    i = np.argsort(-x if descending else x, axis=axis, kind="stable")
    return np.take_along_axis(x, i, axis), i


def select_ref(pos_of):
    """(values, indices) reference picking sorted position ``pos_of(n)`` along ``axis``."""
    def ref(x, axis, keepdims=False):
        if x.ndim == 0:
            return x, np.array(0)
        i = np.argsort(x, axis=axis, kind="stable")
        n = x.shape[axis]
        i = np.take(i, [pos_of(n)], axis=axis)
        v = np.take_along_axis(x, i, axis)
        return (v, i) if keepdims else (v.squeeze(axis), i.squeeze(axis))
    return ref


median_ref = select_ref(lambda n: (n - 1) // 2)
second_ref = select_ref(lambda n: 1)


def lower_median(x):
    return np.sort(x.ravel())[(x.size - 1) // 2]


def mode_ref(x, axis=-1):
    """Most frequent value (smallest among ties) and its last index along ``axis``."""
    xm = np.moveaxis(x, axis, -1)
    vals, idx = np.empty(xm.shape[:-1], x.dtype), np.empty(xm.shape[:-1], np.int64)
    for r in np.ndindex(xm.shape[:-1]):
        row = list(xm[r])
        best = min(set(row), key=lambda v: (-row.count(v), v))
        vals[r], idx[r] = best, len(row) - 1 - row[::-1].index(best)
    return vals, idx


def topk_ref(x, k, axis=-1, largest=True):
    v, i = sort_ref(x, axis, descending=largest)
    return np.take(v, range(k), axis), np.take(i, range(k), axis)


Q2 = [0.25, 0.7]

ROWS = [
    OpInfo("sort", lambda m, x: m.sort(x), [[S], [(2, 3, 4)], [()], [(0, 3)], [(5,)]],
           sort_ref),
    OpInfo("sort_desc_dim0", lambda m, x: x.sort(0, descending=True), [[S], [(2, 3, 4)]],
           lambda x: sort_ref(x, 0, True)),
    OpInfo("sort_stable_kw", lambda m, x: m.sort(x, stable=True, dim=-2), [[S]],
           lambda x: sort_ref(x, -2)),
    OpInfo("sort_int", lambda m, x: m.sort(x, 1, descending=True), [[INTS]],
           lambda x: sort_ref(x, 1, descending=True), grad=False, torch=False),
    OpInfo("argsort", lambda m, x: m.argsort(x, 1), [[S], [(2, 0)]],
           lambda x: np.argsort(x, 1), grad=False),
    OpInfo("argsort_desc", lambda m, x: x.argsort(descending=True), [[S], [()]],
           lambda x: np.argsort(-x, -1) if x.ndim else np.array(0), grad=False),
    OpInfo("msort", lambda m, x: m.msort(x), [[S], [(4,)]], lambda x: np.sort(x, 0)),
    OpInfo("topk", lambda m, x: m.topk(x, 2), [[S], [(2, 3, 4)], [(3,)]],
           lambda x: topk_ref(x, 2)),
    OpInfo("topk_smallest_dim0", lambda m, x: x.topk(3, 0, largest=False), [[S], [(3,)]],
           lambda x: topk_ref(x, 3, 0, largest=False)),
    OpInfo("topk_k0", lambda m, x: m.topk(x, 0), [[S]], lambda x: topk_ref(x, 0)),
    OpInfo("topk_0d", lambda m, x: m.topk(x, 1), [[()]], lambda x: (x, np.array(0))),
    OpInfo("kthvalue", lambda m, x: m.kthvalue(x, 2, 1), [[S], [(2, 3, 4)]],
           lambda x: second_ref(x, 1)),
    OpInfo("kthvalue_keepdim", lambda m, x: x.kthvalue(2, keepdim=True), [[S]],
           lambda x: second_ref(x, -1, True)),
    OpInfo("kthvalue_0d", lambda m, x: m.kthvalue(x, 1), [[()]], lambda x: (x, np.array(0))),
    OpInfo("median", lambda m, x: m.median(x), [[S], [(5,)], [()]], lower_median),
    OpInfo("median_dim", lambda m, x: m.median(x, 1), [[S], [(2, 3, 4)], [(0, 3)]],
           lambda x: median_ref(x, 1)),
    OpInfo("median_keepdim_neg", lambda m, x: x.median(-1, keepdim=True), [[S], [()]],
           lambda x: median_ref(x, -1, True)),
    OpInfo("median_int", lambda m, x: m.median(x, 0), [[INTS]], lambda x: median_ref(x, 0),
           grad=False),
    OpInfo("nanmedian", lambda m, x: m.nanmedian(x), [[S], [NAN]],
           lambda x: np.sort(x[~np.isnan(x)])[(np.sum(~np.isnan(x)) - 1) // 2]),
    OpInfo("nanmedian_dim", lambda m, x: m.nanmedian(x, 1), [[S], [NAN]], None),
    OpInfo("mode", lambda m, x: m.mode(x), [[S], [()]],
           lambda x: mode_ref(x) if x.ndim else (x, np.array(0))),
    OpInfo("mode_repeats", lambda m, x: m.mode(x, 0, keepdim=True), [[REPEATS]],
           lambda x: tuple(np.expand_dims(r, 0) for r in mode_ref(x, 0)), grad=False),
    OpInfo("mode_repeats_dim1", lambda m, x: x.mode(1), [[REPEATS]],
           lambda x: mode_ref(x, 1), grad=False),
    OpInfo("quantile", lambda m, x: m.quantile(x, 0.3), [[S], [(5,)], [()]],
           lambda x: np.quantile(x, 0.3)),
    OpInfo("quantile_dim_q", lambda m, x: m.quantile(x, m.tensor(Q2, dtype=x.dtype), dim=1),
           [[S], [(2, 3, 4)]], lambda x: np.quantile(x, Q2, axis=1)),
    OpInfo("quantile_keepdim", lambda m, x: x.quantile(m.tensor(Q2, dtype=x.dtype), dim=0,
                                                        keepdim=True),
           [[S]], lambda x: np.quantile(x, Q2, axis=0, keepdims=True)),
    OpInfo("quantile_keepdim_all", lambda m, x: m.quantile(x, 0.5, keepdim=True), [[S]],
           lambda x: np.quantile(x, 0.5, keepdims=True)),
    OpInfo("quantile_ends", lambda m, x: m.quantile(x, m.tensor([0.0, 1.0], dtype=x.dtype), -1),
           [[S]], lambda x: np.quantile(x, [0.0, 1.0], axis=-1)),
    OpInfo("quantile_lower", lambda m, x: m.quantile(x, 0.4, 1, interpolation="lower"), [[S]],
           lambda x: np.quantile(x, 0.4, axis=1, method="lower")),
    OpInfo("quantile_higher", lambda m, x: m.quantile(x, 0.4, 1, interpolation="higher"),
           [[S]], lambda x: np.quantile(x, 0.4, axis=1, method="higher")),
    OpInfo("quantile_midpoint", lambda m, x: m.quantile(x, 0.4, 1, interpolation="midpoint"),
           [[S]], lambda x: np.quantile(x, 0.4, axis=1, method="midpoint")),
    OpInfo("quantile_nearest", lambda m, x: m.quantile(x, m.tensor([0.4, 0.5], dtype=x.dtype),
                                                      1, interpolation="nearest"),
           [[S]], lambda x: np.quantile(x, [0.4, 0.5], axis=1, method="nearest")),
    OpInfo("quantile_nan", lambda m, x: m.quantile(x, 0.5, 1), [[NAN]],
           lambda x: np.quantile(x, 0.5, axis=1), grad=False),
    OpInfo("nanquantile", lambda m, x: m.nanquantile(x, m.tensor(Q2, dtype=x.dtype), 1),
           [[NAN], [S]], lambda x: np.nanquantile(x, Q2, axis=1)),
    OpInfo("unique", lambda m, x: m.unique(x), [[INTS], [np.array([], dtype=np.int64)]],
           np.unique, grad=False),
    OpInfo("unique_all", lambda m, x: m.unique(x, return_inverse=True, return_counts=True),
           [[INTS], [np.array(4)]],
           lambda x: (np.unique(x), np.unique(x, return_inverse=True)[1].reshape(x.shape),
                      np.unique(x, return_counts=True)[1]), grad=False),
    OpInfo("unique_dim", lambda m, x: x.unique(dim=0, return_counts=True),
           [[np.array([[1, 2], [0, 1], [1, 2]])]],
           lambda x: np.unique(x, axis=0, return_counts=True), grad=False),
    OpInfo("unique_consecutive", lambda m, x: m.unique_consecutive(
        x, return_inverse=True, return_counts=True),
        [[np.array([1, 1, 2, 2, 3, 1, 1, 2])], [np.array([], dtype=np.int64)]],
        None, grad=False),
    OpInfo("unique_consecutive_dim", lambda m, x: x.unique_consecutive(
        return_counts=True, dim=1), [[np.array([[1, 1, 2, 1], [0, 0, 1, 1]])]], None,
        grad=False),
]

test_forward, test_grad, test_gradgrad, test_vs_torch = op_tests(ROWS)

torch = pytest.importorskip("torch")


def both(fn, *arrays, grad=False):
    """``fn(m, *tensors)`` run with ember and torch on the same arrays."""
    e = [ember.tensor(a, requires_grad=grad) for a in arrays]
    t = [torch.tensor(a, requires_grad=grad) for a in arrays]
    return (fn(ember, *e), e), (fn(torch, *t), t)


def close(a, b, **kw):
    assert tuple(a.shape) == tuple(b.shape)
    assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), equal_nan=True, **kw)


def close_all(e, t):
    e, t = (e, t) if isinstance(t, tuple) else ((e,), (t,))
    assert len(e) == len(t)
    for a, b in zip(e, t):
        close(a, b)


# -- ties and NaN ----------------------------------------------------------------------------
TIES = np.array([[2.0, 1.0, 2.0, 1.0, 3.0, 2.0], [0.0, 0.0, -1.0, 0.0, 5.0, 5.0]])


@pytest.mark.parametrize("op", [
    lambda m, x: m.sort(x, stable=True), lambda m, x: m.sort(x, stable=True, descending=True),
    lambda m, x: m.argsort(x, stable=True, descending=True),
    lambda m, x: m.sort(x.t(), dim=0, stable=True, descending=True)])
def test_stable_sort_ties_like_torch(op):
    (e, _), (t, _) = both(op, TIES)
    close_all(e, t)


@pytest.mark.parametrize("op", [
    lambda m, x: m.sort(x), lambda m, x: m.sort(x, descending=True), lambda m, x: m.msort(x),
    lambda m, x: m.topk(x, 3), lambda m, x: m.topk(x, 2, largest=False),
    lambda m, x: m.kthvalue(x, 3), lambda m, x: m.median(x), lambda m, x: m.median(x, 1),
    lambda m, x: m.nanmedian(x), lambda m, x: m.nanmedian(x, 1), lambda m, x: m.mode(x, 1),
    lambda m, x: m.quantile(x, 0.5, 1), lambda m, x: m.nanquantile(x, 0.5, 1),
    lambda m, x: m.nanquantile(x, 0.3), lambda m, x: m.quantile(x, 0.3),
    lambda m, x: m.unique(x), lambda m, x: m.unique_consecutive(x)])
def test_nan_like_torch(op):
    a = np.array([[1.0, np.nan, 3.0, np.nan, -1.0], [2.0, 0.5, 0.5, 1.0, 4.0]])
    (e, _), (t, _) = both(op, a)
    close_all(e, t)
    # a slice of NaN only: PyTorch leaves the index among equal NaNs unspecified
    all_nan = np.concatenate([a, np.full((1, 5), np.nan)])
    (e, _), (t, _) = both(op, all_nan)
    if isinstance(t, tuple):
        e, t = e.values, t.values
    close_all(e, t)


@pytest.mark.parametrize("op", [
    lambda m, x: m.median(x), lambda m, x: m.nanmedian(x), lambda m, x: m.median(x, 1)[0],
    lambda m, x: m.mode(x, 1)[0],
    lambda m, x: m.sort(x, dim=1, stable=True)[0] * m.arange(6.0, dtype=m.float64),
    lambda m, x: m.quantile(x, 0.5, 1), lambda m, x: m.nanquantile(x, 0.5)])
def test_tie_grads_like_torch(op):
    (e, ex), (t, tx) = both(op, TIES, grad=True)
    close(e, t)
    e.sum().backward()
    t.sum().backward()
    close(ex[0].grad, tx[0].grad)


@pytest.mark.parametrize("op", [lambda m, x: m.median(x), lambda m, x: m.quantile(x, 0.5, 1),
                                lambda m, x: m.nanquantile(x, 0.3, 1), lambda m, x: m.nanmedian(x),
                                lambda m, x: m.median(x, 1).values])
def test_nan_grads_like_torch(op):
    a = np.array([[1.0, np.nan, 3.0, 0.5], [2.0, 0.0, -1.0, 4.0], [np.nan, 7.0, 1.0, 2.0]])
    (e, ex), (t, tx) = both(op, a, grad=True)
    close(e, t)
    e.sum().backward()
    t.sum().backward()
    close(ex[0].grad, tx[0].grad)


def test_mode_ties_like_torch():
    a = np.array([[3, 1, 1, 3, 2], [5, 5, 5, 5, 5], [9, 8, 7, 6, 5], [2, 1, 2, 1, 0]])
    for dim in (0, 1):
        (e, _), (t, _) = both(lambda m, x: m.mode(x, dim), a)
        close_all(e, t)


# -- gradients of any order through the gathers ----------------------------------------------
@pytest.mark.parametrize("op", [
    lambda m, x: m.sort(x, 0, descending=True).values, lambda m, x: m.topk(x, 2, 1).values,
    lambda m, x: m.kthvalue(x, 2, 0, keepdim=True).values, lambda m, x: m.median(x, 1).values,
    lambda m, x: m.cummax(x, 1).values, lambda m, x: m.quantile(x, 0.4, 1),
    lambda m, x: m.max(x, 0).values])
def test_double_backward_like_torch(op):
    a = np.random.default_rng(3).standard_normal((4, 5))
    w = np.random.default_rng(4).standard_normal((4, 5))
    (e, ex), (t, tx) = both(lambda m, x: op(m, x) ** 3, a, grad=True)
    ge, = ember.autograd.grad(e.sum(), ex, create_graph=True)
    gt, = torch.autograd.grad(t.sum(), tx, create_graph=True)
    close(ge, gt)
    he, = ember.autograd.grad((ge * ember.tensor(w)).sum(), ex)
    ht, = torch.autograd.grad((gt * torch.tensor(w)).sum(), tx)
    close(he, ht)


def test_cummax_grad_accumulates_repeated_indices():
    a = np.array([1.0, 3.0, 2.0, 2.5, 4.0, 0.0])
    (e, ex), (t, tx) = both(lambda m, x: m.cummax(x, 0).values, a, grad=True)
    e.backward(ember.arange(6.0, dtype=ember.float64))
    t.backward(torch.arange(6.0, dtype=torch.float64))
    close(ex[0].grad, tx[0].grad)


# -- errors ----------------------------------------------------------------------------------
def test_dim_out_of_range():
    x = ember.zeros(2, 3)
    for call in (lambda: ember.sort(x, 5), lambda: x.topk(1, 5), lambda: x.kthvalue(1, 5),
                 lambda: x.median(5), lambda: x.mode(5), lambda: x.quantile(0.5, 5),
                 lambda: x.argsort(5), lambda: x.unique(dim=5)):
        with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range "
                                             r"of \[-2, 1\], but got 5\)"):
            call()


@pytest.mark.parametrize("call,exc,msg", [
    (lambda m, x: m.topk(x, 4), RuntimeError, "selected index k out of range"),
    (lambda m, x: m.topk(x, -1), RuntimeError, "selected index k out of range"),
    (lambda m, x: m.kthvalue(x, 4), RuntimeError, "kthvalue\\(\\): selected number k out of "
                                                  "range for dimension 1"),
    (lambda m, x: m.kthvalue(x, 0, 0), RuntimeError, "selected number k out of range"),
    (lambda m, x: m.median(x[:, :0], 1), IndexError, "median\\(\\): Expected reduction dim 1 "
                                                     "to have non-zero size"),
    (lambda m, x: m.mode(x[:0], 0), IndexError, "mode\\(\\): Expected reduction dim 0"),
    (lambda m, x: m.quantile(x, 1.5), RuntimeError, "q must be in the range \\[0, 1\\]"),
    (lambda m, x: m.quantile(x, m.tensor([[0.5]], dtype=x.dtype)), RuntimeError,
     "q must be a scalar or 1D tensor"),
    (lambda m, x: m.quantile(x, m.tensor([0.5])), RuntimeError,
     "q tensor must be same dtype as the input tensor"),
    (lambda m, x: m.quantile(x[:0], 0.5), RuntimeError, "input tensor must be non-empty"),
    (lambda m, x: m.quantile(x.long(), 0.5), RuntimeError,
     "input tensor must be either float or double dtype"),
    (lambda m, x: m.quantile(x, 0.5, interpolation="foo"), RuntimeError,
     "interpolation must be one of linear, lower, higher, midpoint or nearest"),
])
def test_errors_like_torch(call, exc, msg):
    a = np.arange(6.0).reshape(2, 3)
    with pytest.raises(exc, match=msg):
        call(torch, torch.tensor(a))
    x = ember.tensor(a, requires_grad=True)
    with pytest.raises(exc, match=msg):
        call(ember, x)
    assert x.grad is None and x.tolist() == a.tolist()


# -- unique ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kw", [{}, {"return_inverse": True}, {"return_counts": True},
                                {"return_inverse": True, "return_counts": True, "dim": 0},
                                {"return_inverse": True, "dim": 1}, {"sorted": False}])
@pytest.mark.parametrize("fn", ["unique", "unique_consecutive"])
def test_unique_like_torch(fn, kw):
    if fn == "unique_consecutive":
        kw = {k: v for k, v in kw.items() if k != "sorted"}
    a = np.array([[1, 2, 2, 1], [1, 2, 2, 1], [0, 5, 5, 0], [1, 2, 2, 1]])
    (e, _), (t, _) = both(lambda m, x: getattr(m, fn)(x, **kw), a)
    close_all(e, t)


def test_unique_nan_and_dtypes():
    a = np.array([1.0, np.nan, np.nan, 1.0, -0.0, 0.0])
    (e, _), (t, _) = both(lambda m, x: m.unique(x, return_counts=True), a)
    close_all(e, t)
    b = np.array([True, False, True])
    (e, _), (t, _) = both(lambda m, x: m.unique(x, return_inverse=True), b)
    close_all(e, t)


# -- dtypes and API --------------------------------------------------------------------------
@pytest.mark.parametrize("dt", ["bool", "uint8", "int32", "float16", "bfloat16", "float32"])
@pytest.mark.parametrize("op", [
    lambda m, x: m.sort(x), lambda m, x: m.topk(x, 2), lambda m, x: m.kthvalue(x, 2),
    lambda m, x: m.median(x, 0), lambda m, x: m.mode(x), lambda m, x: m.argsort(x),
    lambda m, x: m.unique(x)])
def test_dtypes_like_torch(op, dt):
    a = np.array([3, 0, 1, 0, 2])
    try:
        t = op(torch, torch.tensor(a).to(getattr(torch, dt)))
    except (RuntimeError, NotImplementedError):
        pytest.skip(f"torch has no {dt} kernel for this op")
    e = op(ember, ember.tensor(a).to(getattr(ember, dt)))
    e, t = (e, t) if isinstance(t, tuple) else ((e,), (t,))
    for x, y in zip(e, t):
        assert str(x.dtype).split(".")[-1] == str(y.dtype).split(".")[-1]
        assert x.float().tolist() == y.float().tolist()


def test_named_tuples_and_methods():
    x = ember.tensor([[3.0, 1.0, 2.0]])
    for name in ("sort", "topk", "kthvalue", "median", "nanmedian", "mode"):
        args = (1,) if name in ("topk", "kthvalue") else ()
        r = getattr(x, name)(*args) if name not in ("median", "nanmedian") else \
            getattr(x, name)(1)
        assert type(r).__name__ == name and r._fields == ("values", "indices")
        assert getattr(ember.return_types, name) is type(r)
    for name in ("argsort", "msort", "quantile", "nanquantile", "unique",
                 "unique_consecutive"):
        assert hasattr(ember.Tensor, name) and hasattr(ember, name)


def test_out_argument():
    x = ember.tensor([[3.0, 1.0, 2.0]])
    v, i = ember.empty(0), ember.empty(0, dtype=ember.int64)
    ember.sort(x, out=(v, i))
    assert v.tolist() == [[1.0, 2.0, 3.0]] and i.tolist() == [[1, 2, 0]]
    q = ember.empty(0)
    ember.quantile(x, 0.5, out=q)
    assert q.item() == 2.0


def test_indices_are_not_differentiable_and_no_graph_without_grad():
    x = ember.tensor([3.0, 1.0, 2.0], requires_grad=True)
    r = x.sort()
    assert r.values.requires_grad and not r.indices.requires_grad
    with ember.no_grad():
        assert not x.topk(2).values.requires_grad
