"""Op table and behaviour tests for the LU family: linalg.lu_factor(_ex), linalg.lu,
lu_unpack, linalg.lu_solve and the legacy torch.lu / torch.lu_solve."""

import numpy as np
import pytest

import ember
from ember.ops import linalg_lu
from tests.harness import OpInfo, op_tests

pytestmark = pytest.mark.filterwarnings("ignore:torch.*is deprecated:UserWarning")

_rng = np.random.default_rng(4321)
SQ, TALL, WIDE, BATCH = (3, 3), (4, 3), (3, 4), (2, 3, 3)


def _sl():
    return pytest.importorskip("scipy.linalg")


def _ref_lu_factor(a):
    lu, piv = _sl().lu_factor(a)
    return lu, (piv + 1).astype(np.int32)


def _ref_lu(a):
    return _sl().lu(a)


def _lu_solve_fn(left=True, adjoint=False):
    def fn(m, a, b):
        LU, piv = m.linalg.lu_factor(a)
        return m.linalg.lu_solve(LU, piv, b, left=left, adjoint=adjoint)
    return fn


def _solve_ref(left=True, adjoint=False):
    def ref(a, b):
        a = np.conj(np.swapaxes(a, -1, -2)) if adjoint else a
        if left:
            return np.linalg.solve(a, b)
        return np.swapaxes(np.linalg.solve(np.swapaxes(a, -1, -2), np.swapaxes(b, -1, -2)),
                           -1, -2)
    return ref


def _reconstruct(m, a):
    P, L, U = m.linalg.lu(a)
    return P @ L @ U


# a packed LU with fixed pivots, to differentiate lu_solve in LU directly
_PIV = np.array([2, 3, 3], dtype=np.int32)
_LU_IN = _rng.standard_normal(SQ) + 3 * np.eye(3)


def _piv(m):
    return m.tensor(_PIV)


def _solve_packed_ref(lu, b):
    L = np.tril(lu, -1) + np.eye(3)
    U = np.triu(lu)
    perm = np.arange(3)
    for i, j in enumerate(_PIV - 1):
        perm[[i, j]] = perm[[j, i]]
    A = np.empty_like(lu)
    A[perm] = L @ U
    return np.linalg.solve(A, b)


ROWS = [
    OpInfo("lu_factor", lambda m, a: m.linalg.lu_factor(a),
           [[SQ], [TALL], [WIDE], [BATCH], [(20, 3, 3)]], _ref_lu_factor),  # the last: by loop
    OpInfo("lu_factor_ex", lambda m, a: m.linalg.lu_factor_ex(a), [[SQ], [(2, 4, 3)]],
           lambda a: _ref_lu_factor(a) + (np.zeros(a.shape[:-2], np.int32),)),
    # P is a float output that needs no gradient: rows that differentiate leave it out
    OpInfo("linalg_lu", lambda m, a: m.linalg.lu(a)[1:], [[SQ], [TALL], [WIDE], [(2, 4, 4)]],
           lambda a: _ref_lu(a)[1:]),
    OpInfo("linalg_lu_P", lambda m, a: m.linalg.lu(a).P, [[SQ], [TALL], [(2, 3, 5)]],
           lambda a: _ref_lu(a)[0], grad=False),
    OpInfo("linalg_lu_reconstruct", _reconstruct, [[SQ], [(2, 5, 3)], [(2, 3, 5)]],
           lambda a: a),
    OpInfo("lu_unpack", lambda m, a: m.lu_unpack(*m.linalg.lu_factor(a))[1:], [[SQ], [TALL]],
           lambda a: _ref_lu(a)[1:]),
    OpInfo("lu_legacy", lambda m, a: m.lu(a, get_infos=True), [[BATCH]],
           lambda a: _ref_lu_factor(a) + (np.zeros(a.shape[:-2], np.int32),)),
    OpInfo("lu_method", lambda m, a: a.lu()[0], [[SQ]], lambda a: _ref_lu_factor(a)[0]),
    OpInfo("lu_solve", _lu_solve_fn(), [[SQ, (3, 2)], [BATCH, (3, 1)], [(3, 3), (2, 3, 4)]],
           _solve_ref(), rtol=1e-6, atol=1e-6, rtol32=1e-3, atol32=1e-3),
    OpInfo("lu_solve_right", _lu_solve_fn(left=False), [[SQ, (2, 3)], [BATCH, (2, 4, 3)]],
           _solve_ref(left=False), rtol=1e-6, atol=1e-6, rtol32=1e-3, atol32=1e-3),
    OpInfo("lu_solve_adjoint", _lu_solve_fn(adjoint=True), [[SQ, (3, 2)]],
           _solve_ref(adjoint=True), rtol=1e-6, atol=1e-6, rtol32=1e-3, atol32=1e-3),
    OpInfo("lu_solve_right_adjoint", _lu_solve_fn(left=False, adjoint=True), [[BATCH, (2, 3)]],
           lambda a, b: _solve_ref(left=False)(np.swapaxes(a, -1, -2), b),
           rtol=1e-6, atol=1e-6, rtol32=1e-3, atol32=1e-3),
    OpInfo("lu_solve_packed", lambda m, lu, b: m.linalg.lu_solve(lu, _piv(m), b),
           [[_LU_IN, (3, 2)]], _solve_packed_ref, rtol=1e-6, atol=1e-6),
    OpInfo("lu_solve_legacy", lambda m, lu, b: m.lu_solve(b, lu, _piv(m)),
           [[_LU_IN, (3, 2)]], _solve_packed_ref, rtol=1e-6, atol=1e-6),
    OpInfo("lu_solve_method", lambda m, lu, b: b.lu_solve(lu, _piv(m)),
           [[_LU_IN, (3, 2)]], _solve_packed_ref, rtol=1e-6, atol=1e-6),
]

test_forward, test_grad, test_gradgrad, test_vs_torch = op_tests(ROWS)


SINGULAR = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])


def test_info_of_singular_matrices():
    LU, piv, info = ember.linalg.lu_factor_ex(ember.tensor(SINGULAR))
    assert info.dtype == ember.int32 and int(info) == 3
    np.testing.assert_array_equal(piv.numpy(), [2, 3, 3])
    batch = np.stack([np.eye(3), SINGULAR, np.zeros((3, 3))])
    info = ember.linalg.lu_factor_ex(ember.tensor(batch)).info
    np.testing.assert_array_equal(info.numpy(), [0, 3, 1])
    assert ember.lu(ember.tensor(batch), get_infos=True)[2].tolist() == [0, 3, 1]
    P, L, U = ember.linalg.lu(ember.tensor(SINGULAR))  # never raises
    np.testing.assert_allclose((P @ L @ U).numpy(), SINGULAR, atol=1e-12)


def test_singular_errors():
    msg = r"torch.linalg.lu_factor: \(Batch element 1\): U\[3,3\] is zero"
    with pytest.raises(RuntimeError, match=msg):
        ember.linalg.lu_factor(ember.tensor(np.stack([np.eye(3), SINGULAR])))
    with pytest.raises(RuntimeError, match=r"lu_factor_ex: U\[3,3\] is zero"):
        ember.linalg.lu_factor_ex(ember.tensor(SINGULAR), check_errors=True)


@pytest.mark.parametrize("fn,exc,msg", [
    (lambda: ember.linalg.lu_factor(ember.ones(3)), RuntimeError, "2 or more dimensions"),
    (lambda: ember.linalg.lu_factor(ember.ones(3, 3, dtype=ember.int64)), RuntimeError,
     "floating point"),
    (lambda: ember.linalg.lu_factor(ember.ones(3, 3), pivot=False), RuntimeError,
     "LU without pivoting is not implemented on the CPU"),
    (lambda: ember.linalg.lu(ember.ones(3, 3), pivot=False), RuntimeError,
     "LU without pivoting is not implemented on the CPU"),
    (lambda: ember.linalg.lu_solve(*ember.linalg.lu_factor(ember.randn(4, 3)),
                                   ember.randn(4, 1)), RuntimeError,
     "A must be batches of square matrices, but they are 4 by 3 matrices"),
    (lambda: ember.linalg.lu_solve(*ember.linalg.lu_factor(ember.randn(3, 3)),
                                   ember.randn(4, 1)), RuntimeError,
     r"Incompatible shapes of A and B for the equation AX = B \(3x3 and 4x1\)"),
    (lambda: ember.linalg.lu_solve(*ember.linalg.lu_factor(ember.randn(3, 3)),
                                   ember.randn(3)), RuntimeError, "at least 2 dimensions"),
    (lambda: ember.linalg.lu_solve(*ember.linalg.lu_factor(ember.randn(3, 3)),
                                   ember.randn(3, 2, dtype=ember.float64)), RuntimeError,
     "Expected LU and B to have the same dtype"),
])
def test_errors(fn, exc, msg):
    with pytest.raises(exc, match=msg):
        fn()


def test_unpack_flags_and_empty_batch():
    LU, piv = ember.linalg.lu_factor(ember.randn(2, 4, 3))
    P, L, U = ember.lu_unpack(LU, piv, unpack_data=False)
    assert P.shape == (2, 4, 4) and L.shape == (0,) and U.shape == (0,)
    P, L, U = ember.lu_unpack(LU, piv, unpack_pivots=False)
    assert P.shape == (0,) and L.shape == (2, 4, 3) and U.shape == (2, 3, 3)
    LU, piv = ember.linalg.lu_factor(ember.randn(0, 3, 3))
    assert LU.shape == (0, 3, 3) and piv.shape == (0, 3) and piv.dtype == ember.int32


def test_elimination_matches_lapack(monkeypatch):
    """The xp loop (CuPy's path, and the CPU's without SciPy) gives LAPACK's factors."""
    a = _rng.standard_normal((3, 5, 4))
    want = ember.linalg.lu_factor_ex(ember.tensor(a))
    monkeypatch.setattr(linalg_lu, "_scipy_lu_factor", lambda: None)
    got = ember.linalg.lu_factor_ex(ember.tensor(a))
    np.testing.assert_allclose(got.LU.numpy(), want.LU.numpy(), atol=1e-12)
    np.testing.assert_array_equal(got.pivots.numpy(), want.pivots.numpy())
    got = ember.linalg.lu_factor_ex(ember.tensor(np.stack([SINGULAR, np.zeros((3, 3))])))
    np.testing.assert_array_equal(got.info.numpy(), [3, 1])


def test_complex_matches_torch():
    torch = pytest.importorskip("torch")
    a = _rng.standard_normal((2, 3, 3)) + 1j * _rng.standard_normal((2, 3, 3))
    b = _rng.standard_normal((2, 3, 2)) + 1j * _rng.standard_normal((2, 3, 2))
    for adjoint in (False, True):
        res = []
        for m in (ember, torch):
            LU, piv = m.linalg.lu_factor(m.tensor(a))
            res.append((LU.numpy(), piv.numpy(),
                        m.linalg.lu_solve(LU, piv, m.tensor(b), adjoint=adjoint).numpy()))
        for x, y in zip(*res):
            np.testing.assert_allclose(x, y, atol=1e-10)


def test_gradient_through_lu_matches_torch_on_tall_and_wide():
    torch = pytest.importorskip("torch")
    for shape in ((5, 3), (3, 5)):
        a = _rng.standard_normal(shape)
        grads = []
        for m in (ember, torch):
            x = m.tensor(a, requires_grad=True)
            P, L, U = m.linalg.lu(x)
            (L.sin().sum() + (U * U).sum()).backward()
            grads.append(x.grad.numpy())
        np.testing.assert_allclose(grads[0], grads[1], atol=1e-10)
