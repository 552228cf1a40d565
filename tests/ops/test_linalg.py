"""Op table and behaviour tests: products, einsum, solves, factorisations, norms."""

import math
import warnings

import numpy as np
import pytest

import ember
from tests.harness import OpInfo, op_tests

pytestmark = pytest.mark.filterwarnings("ignore:torch.*is deprecated:UserWarning")

_rng = np.random.default_rng(1234)


def wc(*shape):
    """A well-conditioned (batch of) square matrices: random plus n * I."""
    n = shape[-1]
    return _rng.standard_normal(shape) + n * np.eye(n)


def spd_fn(m, a):
    """A symmetric positive-definite matrix built from any square ``a`` (differentiably)."""
    return a @ a.mT + a.shape[-1] * m.eye(a.shape[-1], dtype=a.dtype)


def sym_fn(m, a):
    return a + a.mT


def _svd_invariants(m, A, full=False):
    """SVD outputs that do not depend on the signs LAPACK picks for singular vectors."""
    U, S, Vh = m.linalg.svd(A, full_matrices=full)
    k = S.shape[-1]
    U, Vh = U[..., :k], Vh[..., :k, :]
    return S, U @ Vh, U * U, Vh * Vh


def _np_svd_invariants(A, full=False):
    U, S, Vh = np.linalg.svd(A, full_matrices=full)
    k = S.shape[-1]
    U, Vh = U[..., :k], Vh[..., :k, :]
    return S, U @ Vh, U * U, Vh * Vh


def _eigh_invariants(m, A, UPLO="L"):
    w, V = m.linalg.eigh(sym_fn(m, A), UPLO=UPLO)
    return w, V * V


def _np_eigh(A, UPLO="L"):
    w, V = np.linalg.eigh(A + np.swapaxes(A, -1, -2), UPLO=UPLO)
    return w, V * V


def _expm_ref(A):
    import scipy.linalg
    return scipy.linalg.expm(A)


def _cross_ref(a, b, axis=-1):
    return np.cross(a, b, axis=axis)


def _mnorm(o):
    return lambda A: np.linalg.norm(A, o, axis=(-2, -1))


INF = math.inf
SQ, TALL, WIDE = (3, 3), (4, 3), (3, 4)
LOOSE = dict(atol32=1e-4, rtol32=1e-3)

ROWS = [
    # -- products ---------------------------------------------------------------------------
    OpInfo("matmul", lambda m, a, b: m.matmul(a, b),
           [[(3, 4), (4, 2)], [(2, 3, 4), (4,)], [(4,), (2, 4, 3)], [(2, 1, 3, 4), (5, 4, 2)]],
           np.matmul),
    OpInfo("mm", lambda m, a, b: m.mm(a, b), [[(3, 4), (4, 5)]], np.matmul),
    OpInfo("bmm", lambda m, a, b: m.bmm(a, b), [[(2, 3, 4), (2, 4, 5)]], np.matmul),
    OpInfo("mv", lambda m, a, b: m.mv(a, b), [[(3, 4), (4,)]], np.matmul),
    OpInfo("dot", lambda m, a, b: m.dot(a, b), [[(5,), (5,)]], np.dot),
    OpInfo("vdot", lambda m, a, b: m.vdot(a, b), [[(5,), (5,)]], np.vdot),
    OpInfo("inner", lambda m, a, b: m.inner(a, b), [[(2, 3), (4, 3)], [(3,), (3,)], [(), (2,)]],
           np.inner),
    OpInfo("outer", lambda m, a, b: m.outer(a, b), [[(3,), (4,)]], np.outer),
    OpInfo("ger", lambda m, a, b: m.ger(a, b), [[(3,), (2,)]], np.outer),
    OpInfo("addmm", lambda m, x, a, b: m.addmm(x, a, b, beta=0.5, alpha=2),
           [[(3, 5), (3, 4), (4, 5)], [(5,), (3, 4), (4, 5)]],
           lambda x, a, b: 0.5 * x + 2 * a @ b),
    OpInfo("addmm_beta0", lambda m, x, a, b: m.addmm(x, a, b, beta=0),
           [[(3, 5), (3, 4), (4, 5)]], lambda x, a, b: a @ b),
    OpInfo("addmv", lambda m, x, a, b: m.addmv(x, a, b, beta=2, alpha=-1),
           [[(3,), (3, 4), (4,)]], lambda x, a, b: 2 * x - a @ b),
    OpInfo("addr", lambda m, x, a, b: m.addr(x, a, b, alpha=3), [[(3, 2), (3,), (2,)]],
           lambda x, a, b: x + 3 * np.outer(a, b)),
    OpInfo("baddbmm", lambda m, x, a, b: m.baddbmm(x, a, b, beta=0.5),
           [[(2, 3, 5), (2, 3, 4), (2, 4, 5)]], lambda x, a, b: 0.5 * x + a @ b),
    OpInfo("addbmm", lambda m, x, a, b: m.addbmm(x, a, b, alpha=2),
           [[(3, 5), (2, 3, 4), (2, 4, 5)]], lambda x, a, b: x + 2 * (a @ b).sum(0)),
    OpInfo("tensordot", lambda m, a, b: m.tensordot(a, b),
           [[(3, 4, 5), (4, 5, 2)]], lambda a, b: np.tensordot(a, b)),
    OpInfo("tensordot_lists", lambda m, a, b: m.tensordot(a, b, dims=([1, 0], [0, 1])),
           [[(3, 4, 5), (4, 3, 2)]], lambda a, b: np.tensordot(a, b, axes=([1, 0], [0, 1]))),
    OpInfo("kron", lambda m, a, b: m.kron(a, b), [[(2, 3), (3, 2)], [(2,), (3, 2)]], np.kron),
    OpInfo("linalg_cross", lambda m, a, b: m.linalg.cross(a, b),
           [[(4, 3), (4, 3)], [(4, 3), (1, 3)]], _cross_ref),
    OpInfo("cross_dim_none", lambda m, a, b: m.cross(a, b, dim=0), [[(3, 4), (3, 4)]],
           lambda a, b: _cross_ref(a, b, 0)),
    OpInfo("vecdot", lambda m, a, b: m.linalg.vecdot(a, b), [[(3, 4), (4,)]],
           lambda a, b: (a * b).sum(-1)),
    OpInfo("multi_dot", lambda m, a, b, c, d: m.linalg.multi_dot([a, b, c, d]),
           [[(3,), (3, 10), (10, 2), (2,)], [(2, 3), (3, 4), (4, 2), (2, 5)]],
           lambda a, b, c, d: np.linalg.multi_dot([a, b, c, d])),
    OpInfo("chain_matmul", lambda m, a, b, c: m.chain_matmul(a, b, c),
           [[(2, 3), (3, 4), (4, 2)]], lambda a, b, c: a @ b @ c),
    OpInfo("matrix_power_3", lambda m, a: m.linalg.matrix_power(a, 3), [[SQ], [(2, 3, 3)]],
           lambda a: np.linalg.matrix_power(a, 3)),
    OpInfo("matrix_power_neg", lambda m, a: m.matrix_power(a, -2), [[wc(3, 3)]],
           lambda a: np.linalg.matrix_power(a, -2)),
    OpInfo("vander", lambda m, x: m.linalg.vander(x, N=4), [[(2, 3)], [(3,)]],
           lambda x: x[..., None] ** np.arange(4)),
    # -- einsum --------------------------------------------------------------------------------
    OpInfo("einsum_mm", lambda m, a, b: m.einsum("ij,jk->ik", a, b), [[(3, 4), (4, 2)]],
           lambda a, b: a @ b),
    OpInfo("einsum_implicit", lambda m, a, b: m.einsum("bj,ja", a, b), [[(3, 4), (4, 2)]],
           lambda a, b: np.einsum("bj,ja", a, b)),
    OpInfo("einsum_diag", lambda m, a: m.einsum("ii->i", a), [[SQ]],
           lambda a: np.einsum("ii->i", a)),
    OpInfo("einsum_trace", lambda m, a: m.einsum("ii", a), [[SQ]], np.trace),
    OpInfo("einsum_batch_diag", lambda m, a: m.einsum("bii->bi", a), [[(2, 3, 3)]],
           lambda a: np.einsum("bii->bi", a)),
    OpInfo("einsum_sum_alone", lambda m, a, b: m.einsum("ij,kl->il", a, b),
           [[(3, 2), (4, 5)]], lambda a, b: np.einsum("ij,kl->il", a, b)),
    OpInfo("einsum_ellipsis", lambda m, a, b: m.einsum("...ij,...jk", a, b),
           [[(2, 1, 3, 4), (5, 4, 2)]], lambda a, b: a @ b),
    OpInfo("einsum_ellipsis_summed", lambda m, a: m.einsum("...ij->ij", a), [[(2, 3, 4)]],
           lambda a: a.sum(0)),
    OpInfo("einsum_broadcast_letter", lambda m, a, b: m.einsum("ij,ij->i", a, b),
           [[(3, 1), (3, 4)]], lambda a, b: (a * b).sum(-1)),
    OpInfo("einsum_three", lambda m, a, b, c: m.einsum("ij,jk,kl->il", a, b, c),
           [[(3, 4), (4, 5), (5, 2)]], lambda a, b, c: a @ b @ c),
    OpInfo("einsum_outer_permute", lambda m, a, b: m.einsum("i,jk->kji", a, b),
           [[(3,), (2, 4)]], lambda a, b: np.einsum("i,jk->kji", a, b)),
    OpInfo("einsum_attention", lambda m, q, k: m.einsum("bhqd,bhkd->bhqk", q, k),
           [[(2, 3, 4, 5), (2, 3, 6, 5)]], lambda q, k: q @ np.swapaxes(k, -1, -2)),
    OpInfo("einsum_sum_and_contract", lambda m, a, b: m.einsum("ijk,jl->il", a, b),
           [[(2, 3, 4), (3, 5)]], lambda a, b: np.einsum("ijk,jl->il", a, b)),
    OpInfo("einsum_list", lambda m, a, b: m.einsum("ij,jk", [a, b]), [[(3, 4), (4, 2)]],
           lambda a, b: a @ b),
    OpInfo("einsum_sublist", lambda m, a, b: m.einsum(a, [0, 1], b, [1, 2], [0, 2]),
           [[(3, 4), (4, 2)]], lambda a, b: a @ b),
    # -- inverses, solves, determinants ------------------------------------------------------
    OpInfo("inv", lambda m, a: m.linalg.inv(a), [[wc(3, 3)], [wc(2, 3, 3)]], np.linalg.inv),
    OpInfo("inverse", lambda m, a: m.inverse(a), [[wc(4, 4)]], np.linalg.inv),
    OpInfo("solve", lambda m, a, b: m.linalg.solve(a, b),
           [[wc(3, 3), (3, 2)], [wc(3, 3), (3,)], [wc(2, 3, 3), (3, 2)], [wc(2, 3, 3), (2, 3)]],
           lambda a, b: np.linalg.solve(a, b[..., None])[..., 0] if b.ndim == 1 or
           b.shape == a.shape[:-1] else np.linalg.solve(a, b)),
    OpInfo("solve_right", lambda m, a, b: m.linalg.solve(a, b, left=False),
           [[wc(3, 3), (2, 3)]], lambda a, b: np.linalg.solve(a.T, b.T).T),
    OpInfo("solve_triangular_upper",
           lambda m, a, b: m.linalg.solve_triangular(a, b, upper=True),
           [[wc(3, 3), (3, 2)], [wc(2, 3, 3), (3, 2)]],
           lambda a, b: np.linalg.solve(np.triu(a), b)),
    OpInfo("solve_triangular_lower_right_unit",
           lambda m, a, b: m.linalg.solve_triangular(a, b, upper=False, left=False,
                                                     unitriangular=True),
           [[wc(3, 3), (2, 3)]],
           lambda a, b: b @ np.linalg.inv(np.tril(a, -1) + np.eye(3))),
    OpInfo("tensorinv", lambda m, a: m.linalg.tensorinv(a, 1), [[wc(6, 6).reshape(6, 2, 3)]],
           lambda a: np.linalg.tensorinv(a, 1), **LOOSE),
    OpInfo("tensorsolve", lambda m, a, b: m.linalg.tensorsolve(a, b, dims=(0,)),
           [[wc(6, 6).reshape(6, 2, 3), (2, 3)]],
           lambda a, b: np.linalg.tensorsolve(a, b, axes=(0,)), **LOOSE),
    OpInfo("triangular_solve_legacy",
           lambda m, b, a: m.triangular_solve(b, a, transpose=True).solution,
           [[(3, 2), wc(3, 3)]], lambda b, a: np.linalg.solve(np.triu(a).T, b)),
    OpInfo("det", lambda m, a: m.linalg.det(a), [[wc(3, 3)], [(2, 3, 3)]], np.linalg.det),
    OpInfo("slogdet", lambda m, a: m.linalg.slogdet(a), [[(3, 3)], [(2, 4, 4)]],
           lambda a: tuple(np.linalg.slogdet(a))),
    OpInfo("logdet", lambda m, a: m.logdet(spd_fn(m, a)), [[SQ]],
           lambda a: np.linalg.slogdet(a @ a.T + 3 * np.eye(3))[1]),
    OpInfo("pinv", lambda m, a: m.linalg.pinv(a), [[TALL], [WIDE], [(2, 4, 3)]],
           np.linalg.pinv, **LOOSE),
    OpInfo("pinv_hermitian", lambda m, a: m.linalg.pinv(sym_fn(m, a), hermitian=True),
           [[wc(3, 3)]], lambda a: np.linalg.pinv(a + a.T), **LOOSE),
    OpInfo("pinverse", lambda m, a: m.pinverse(a), [[TALL]], np.linalg.pinv, **LOOSE),
    OpInfo("pinv_atol", lambda m, a: m.linalg.pinv(a, atol=1.0),
           [[np.diag([3.0, 2.0, 0.5]) + 0.01 * _rng.standard_normal((3, 3))]],
           lambda a: np.linalg.pinv(a, rcond=1 / np.linalg.norm(a, 2)), grad=False, **LOOSE),
    OpInfo("lstsq", lambda m, a, b: m.linalg.lstsq(a, b).solution,
           [[(5, 3), (5, 2)], [(2, 5, 3), (2, 5, 2)], [(5, 3), (5,)]],
           lambda a, b: np.linalg.pinv(a) @ b, **LOOSE),
    OpInfo("lstsq_gelsd", lambda m, a, b: m.linalg.lstsq(a, b, driver="gelsd"),
           [[(5, 3), (5, 2)]],
           lambda a, b: (np.linalg.lstsq(a, b, rcond=None)[0], np.linalg.lstsq(a, b)[1],
                         np.array(3), np.linalg.svd(a, compute_uv=False)), **LOOSE),
    OpInfo("matrix_exp", lambda m, a: m.linalg.matrix_exp(a),
           [[SQ], [(2, 3, 3)], [4 * _rng.standard_normal((3, 3))]], _expm_ref, **LOOSE),
    # -- factorisations ------------------------------------------------------------------------
    OpInfo("cholesky", lambda m, a: m.linalg.cholesky(spd_fn(m, a)), [[SQ], [(2, 3, 3)]],
           lambda a: np.linalg.cholesky(a @ np.swapaxes(a, -1, -2) + 3 * np.eye(3)), **LOOSE),
    OpInfo("cholesky_upper", lambda m, a: m.linalg.cholesky(spd_fn(m, a), upper=True), [[SQ]],
           lambda a: np.linalg.cholesky(a @ a.T + 3 * np.eye(3)).T, **LOOSE),
    OpInfo("cholesky_ex", lambda m, a: m.linalg.cholesky_ex(spd_fn(m, a)).L, [[SQ]],
           lambda a: np.linalg.cholesky(a @ a.T + 3 * np.eye(3)), **LOOSE),
    OpInfo("cholesky_solve",
           lambda m, b, a: m.cholesky_solve(b, m.linalg.cholesky(spd_fn(m, a))),
           [[(3, 2), SQ]], lambda b, a: np.linalg.solve(a @ a.T + 3 * np.eye(3), b), **LOOSE),
    OpInfo("cholesky_inverse",
           lambda m, a: m.cholesky_inverse(m.linalg.cholesky(spd_fn(m, a))),
           [[SQ]], lambda a: np.linalg.inv(a @ a.T + 3 * np.eye(3)), **LOOSE),
    OpInfo("qr", lambda m, a: tuple(m.linalg.qr(a)), [[TALL], [SQ], [WIDE], [(2, 4, 3)]],
           lambda a: tuple(np.linalg.qr(a)), **LOOSE),
    OpInfo("qr_complete", lambda m, a: tuple(m.linalg.qr(a, mode="complete")), [[WIDE]],
           lambda a: tuple(np.linalg.qr(a, mode="complete")), **LOOSE),
    OpInfo("svd", _svd_invariants, [[TALL], [WIDE], [SQ], [(2, 4, 3)]], _np_svd_invariants,
           **LOOSE),
    OpInfo("svd_full", lambda m, a: _svd_invariants(m, a, True), [[TALL]],
           lambda a: _np_svd_invariants(a, True), **LOOSE),
    OpInfo("svdvals", lambda m, a: m.linalg.svdvals(a), [[TALL], [(2, 3, 4)]],
           lambda a: np.linalg.svd(a, compute_uv=False), **LOOSE),
    OpInfo("svd_legacy", lambda m, a: (lambda r: (r.S, r.U @ r.V.mT))(m.svd(a)), [[TALL]],
           lambda a: (lambda U, S, Vh: (S, U @ Vh))(*np.linalg.svd(a, full_matrices=False)),
           **LOOSE),
    OpInfo("eigh", _eigh_invariants, [[SQ], [(2, 4, 4)]], _np_eigh, **LOOSE),
    OpInfo("eigh_upper", lambda m, a: _eigh_invariants(m, a, "U"), [[SQ]],
           lambda a: _np_eigh(a, "U"), **LOOSE),
    OpInfo("eigvalsh", lambda m, a: m.linalg.eigvalsh(sym_fn(m, a)), [[SQ]],
           lambda a: np.linalg.eigvalsh(a + a.T), **LOOSE),
    OpInfo("eigvals", lambda m, a: m.real(m.linalg.eigvals(sym_fn(m, a))), [[SQ]],
           lambda a: np.linalg.eigvals(a + a.T), grad=False, **LOOSE),
    # -- norms and distances -------------------------------------------------------------------
    OpInfo("vector_norm", lambda m, a: m.linalg.vector_norm(a), [[TALL], [(5,)]],
           lambda a: np.linalg.norm(a.ravel())),
    OpInfo("vector_norm_p3_dim", lambda m, a: m.linalg.vector_norm(a, 3, dim=1, keepdim=True),
           [[TALL]], lambda a: (np.abs(a) ** 3).sum(1, keepdims=True) ** (1 / 3)),
    OpInfo("vector_norm_1", lambda m, a: m.linalg.vector_norm(a, 1, dim=(0, 1)), [[(2, 3, 2)]],
           lambda a: np.abs(a).sum((0, 1))),
    OpInfo("vector_norm_inf", lambda m, a: m.linalg.vector_norm(a, INF, dim=0), [[TALL]],
           lambda a: np.abs(a).max(0)),
    OpInfo("vector_norm_neg_inf", lambda m, a: m.linalg.vector_norm(a, -INF), [[TALL]],
           lambda a: np.abs(a).min()),
    OpInfo("vector_norm_half", lambda m, a: m.linalg.vector_norm(a, 0.5), [[TALL]],
           lambda a: (np.abs(a) ** 0.5).sum() ** 2, domain=(0.5, 2.0)),
    OpInfo("vector_norm_0", lambda m, a: m.linalg.vector_norm(a, 0), [[TALL]],
           lambda a: np.array(float((a != 0).sum())), grad=False),
] + [
    OpInfo(f"matrix_norm_{o}", (lambda o: lambda m, a: m.linalg.matrix_norm(a, o))(o),
           [[TALL], [(2, 3, 3)]], _mnorm(o), **LOOSE)
    for o in ("fro", "nuc", 2, -2, 1, -1, INF, -INF)
] + [
    OpInfo("matrix_norm_dims_keepdim",
           lambda m, a: m.linalg.matrix_norm(a, 1, dim=(2, 0), keepdim=True), [[(3, 2, 4)]],
           lambda a: np.abs(a).sum(2, keepdims=True).max(0, keepdims=True)),
    OpInfo("linalg_norm", lambda m, a: m.linalg.norm(a), [[(2, 3, 4)]],
           lambda a: np.linalg.norm(a.ravel())),
    OpInfo("linalg_norm_ord", lambda m, a: m.linalg.norm(a, 2), [[TALL], [(4,)]],
           lambda a: np.linalg.norm(a, 2), **LOOSE),
    OpInfo("linalg_norm_dim", lambda m, a: m.linalg.norm(a, INF, dim=(1, 2)), [[(2, 3, 4)]],
           lambda a: np.linalg.norm(a, INF, axis=(1, 2))),
    OpInfo("cond", lambda m, a: m.linalg.cond(a), [[wc(3, 3)], [TALL]], np.linalg.cond,
           **LOOSE),
    OpInfo("cond_1", lambda m, a: m.linalg.cond(a, 1), [[wc(3, 3)]],
           lambda a: np.linalg.cond(a, 1), torch=False, **LOOSE),
    OpInfo("dist", lambda m, a, b: m.dist(a, b, 3), [[TALL, (3,)]],
           lambda a, b: (np.abs(a - b) ** 3).sum() ** (1 / 3)),
    OpInfo("cdist", lambda m, a, b: m.cdist(a, b), [[(5, 3), (4, 3)], [(2, 5, 3), (4, 3)]],
           lambda a, b: np.linalg.norm(a[..., :, None, :] - b[..., None, :, :], axis=-1)),
    OpInfo("cdist_mm", lambda m, a, b: m.cdist(a, b), [[(30, 3), (4, 3)]],
           lambda a, b: np.linalg.norm(a[:, None] - b[None], axis=-1), atol=1e-6, **LOOSE),
    OpInfo("cdist_p1", lambda m, a, b: m.cdist(a, b, p=1), [[(5, 3), (4, 3)]],
           lambda a, b: np.abs(a[:, None] - b[None]).sum(-1)),
    OpInfo("cdist_p3", lambda m, a, b: m.cdist(a, b, p=3), [[(5, 3), (4, 3)]],
           lambda a, b: (np.abs(a[:, None] - b[None]) ** 3).sum(-1) ** (1 / 3)),
    OpInfo("cdist_inf", lambda m, a, b: m.cdist(a, b, p=INF), [[(5, 3), (4, 3)]],
           lambda a, b: np.abs(a[:, None] - b[None]).max(-1)),
]

test_forward, test_grad, test_gradgrad, test_vs_torch = op_tests(ROWS)


def _torch():
    return pytest.importorskip("torch")


def _t(a):
    return ember.tensor(np.asarray(a, dtype=np.float64))


# -- errors -------------------------------------------------------------------------------------
@pytest.mark.parametrize("fn,msg", [
    (lambda: ember.mm(ember.ones(2, 3), ember.ones(4, 5)),
     r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)"),
    (lambda: ember.mm(ember.ones(2, 3), ember.ones(3)), "mat2 must be a matrix"),
    (lambda: ember.bmm(ember.ones(2, 3, 4), ember.ones(3, 4, 6)),
     r"batch2 tensor to be: \[2, 4\] but got: \[3, 4\]"),
    (lambda: ember.mv(ember.ones(2, 3), ember.ones(4)), r"size mismatch"),
    (lambda: ember.dot(ember.ones(3), ember.ones(4)), "inconsistent tensor size"),
    (lambda: ember.dot(ember.ones(3, 1), ember.ones(3)), "1D tensors expected"),
    (lambda: ember.matmul(ember.ones(2, 3, 4), ember.ones(5, 4, 2)), "batch dims"),
    (lambda: ember.matmul(ember.ones(2, 3), ember.ones(4, 2)),
     r"cannot multiply \(2, 3\) by \(4, 2\): inner sizes 3 and 4 differ"),
    (lambda: ember.addmm(ember.ones(4, 5), ember.ones(3, 4), ember.ones(4, 5)),
     "cannot be broadcast"),
    (lambda: ember.linalg.inv(ember.ones(2, 3)), "must be batches of square matrices"),
    (lambda: ember.linalg.inv(ember.ones(3, dtype=ember.int64)), "at least 2 dimensions"),
    (lambda: ember.linalg.inv(ember.ones(2, 2, dtype=ember.int64)),
     "Expected a floating point or complex tensor as input. Got Long"),
    (lambda: ember.linalg.det(ember.ones(2, 2, dtype=ember.float16)), "Low precision"),
    (lambda: ember.linalg.solve(ember.eye(3), ember.zeros(4)),
     r"Incompatible shapes of A and B for the equation AX = B \(3x3 and 4x1\)"),
    (lambda: ember.linalg.solve_triangular(ember.eye(3), ember.zeros(3), upper=True),
     "B must have at least 2 dimensions"),
    (lambda: ember.linalg.qr(ember.ones(2, 3), mode="x"), "unrecognized mode 'x'"),
    (lambda: ember.linalg.eigh(ember.eye(2), UPLO="X"), "UPLO"),
    (lambda: ember.einsum("ij,jk", ember.ones(2, 3), ember.ones(4, 5)),
     "subscript j has size 4 for operand 1 which does not broadcast with previously seen "
     "size 3"),
    (lambda: ember.cdist(ember.ones(3), ember.ones(3)), "at least 2D tensors, X1 got: 1D"),
    (lambda: ember.cdist(ember.ones(2, 3), ember.ones(2, 4)), "same number of columns"),
    (lambda: ember.cdist(ember.ones(2, 3), ember.ones(2, 3), p=-1), "non-negative p"),
    (lambda: ember.linalg.vector_norm(ember.arange(3)), "Got Long"),
    (lambda: ember.linalg.matrix_norm(ember.ones(3)), "at least 2 dimensions"),
    (lambda: ember.linalg.matrix_norm(ember.ones(3, 3), 3), "Order 3 not supported"),
    (lambda: ember.linalg.norm(ember.ones(3, 3, 3), 2), "input must be 1D or 2D. Got 3D"),
    (lambda: ember.linalg.cross(ember.ones(4, 2), ember.ones(4, 2)), "must have length 3"),
    (lambda: ember.tensordot(ember.ones(3, 4), ember.ones(5, 6), dims=1),
     "contracted dimensions need to match"),
    (lambda: ember.linalg.multi_dot([ember.ones(2, 3)]), "at least 2 tensors"),
    (lambda: ember.linalg.lstsq(ember.ones(4, 3), ember.ones(5, 2)), "should match"),
    (lambda: ember.linalg.lstsq(ember.ones(4, 3), ember.ones(4, 2), driver="x"), "driver"),
])
def test_errors(fn, msg):
    with pytest.raises(RuntimeError, match=msg):
        fn()


def test_einsum_value_errors():
    with pytest.raises(ValueError, match="more operands"):
        ember.einsum("ij", ember.ones(2, 2), ember.ones(2, 2))
    with pytest.raises(ValueError, match="does not match the number of dimensions"):
        ember.einsum("ij->i", ember.ones(2, 2, 2))
    with pytest.raises(ValueError, match="invalid subscript"):
        ember.einsum("i1->i", ember.ones(2, 2))


@pytest.mark.parametrize("op,arg,msg", [
    ("inv", np.zeros((3, 3)), "linalg.inv: The diagonal element 1 is zero"),
    ("inv", np.stack([np.eye(2), np.zeros((2, 2))]), r"\(Batch element 1\)"),
    ("cholesky", -np.eye(3), "leading minor of order 1 is not positive-definite"),
    ("cholesky", np.array([[1.0, 2.0], [2.0, 1.0]]), "minor of order 2"),
])
def test_linalg_error(op, arg, msg):
    A = _t(arg)
    before = A.numpy().copy()
    with pytest.raises(ember.linalg.LinAlgError, match=msg):
        getattr(ember.linalg, op)(A)
    assert issubclass(ember.linalg.LinAlgError, RuntimeError)
    np.testing.assert_array_equal(A.numpy(), before)  # nothing changed


def test_solve_singular():
    with pytest.raises(ember.linalg.LinAlgError, match="linalg.solve: The solver failed"):
        ember.linalg.solve(ember.zeros(3, 3), ember.ones(3))


# -- named tuples and the _ex variants ----------------------------------------------------------
def test_named_tuples():
    A = _t(wc(3, 3))
    assert ember.linalg.slogdet(A)._fields == ("sign", "logabsdet")
    assert ember.linalg.qr(A)._fields == ("Q", "R")
    assert ember.linalg.svd(A)._fields == ("U", "S", "Vh")
    assert ember.svd(A)._fields == ("U", "S", "V")
    assert ember.linalg.eigh(A)._fields == ("eigenvalues", "eigenvectors")
    assert ember.linalg.eig(A)._fields == ("eigenvalues", "eigenvectors")
    assert ember.linalg.inv_ex(A)._fields == ("inverse", "info")
    assert ember.linalg.cholesky_ex(A @ A.mT)._fields == ("L", "info")
    assert ember.linalg.lstsq(A, A)._fields == ("solution", "residuals", "rank",
                                                "singular_values")
    assert type(ember.linalg.slogdet(A)).__name__ == "linalg_slogdet"


def test_ex_variants_report_failures():
    A = _t(np.stack([np.eye(2), np.zeros((2, 2))]))
    inv, info = ember.linalg.inv_ex(A)
    assert info.dtype == ember.int32 and info.tolist() == [0, 1]
    np.testing.assert_allclose(inv[0].numpy(), np.eye(2))
    assert np.isnan(inv[1].numpy()).all()
    L, info = ember.linalg.cholesky_ex(_t([[1.0, 2.0], [2.0, 1.0]]))
    assert info.item() == 2
    X, info = ember.linalg.solve_ex(A, ember.ones(2, 2, dtype=ember.float64))
    assert info.tolist() == [0, 1]
    with pytest.raises(ember.linalg.LinAlgError):
        ember.linalg.inv_ex(A, check_errors=True)


def test_lstsq_fields_follow_driver():
    A, B = _t(_rng.standard_normal((5, 3))), _t(_rng.standard_normal((5, 2)))
    r = ember.linalg.lstsq(A, B)
    assert r.residuals.shape == (0,) and r.singular_values.shape == (0,)
    assert r.rank.item() == 3 and r.rank.dtype == ember.int64
    r = ember.linalg.lstsq(A, B, driver="gels")
    assert r.rank.shape == (0,) and r.residuals.shape == (2,)
    want = ((A.numpy() @ r.solution.numpy() - B.numpy()) ** 2).sum(0)
    np.testing.assert_allclose(r.residuals.numpy(), want)


def test_qr_r_mode_and_gradient_errors():
    A = _t(_rng.standard_normal((4, 3))).requires_grad_()
    Q, R = ember.linalg.qr(A, mode="r")
    assert Q.shape == (0,)
    np.testing.assert_allclose(np.abs(R.detach().numpy()),
                               np.abs(np.linalg.qr(A.detach().numpy(), mode="r")))
    with pytest.raises(RuntimeError, match="mode='r'"):
        R.sum().backward()
    Q, R = ember.linalg.qr(A, mode="complete")
    with pytest.raises(RuntimeError, match="mode='complete' and nrows > ncols"):
        Q.sum().backward()


def test_eig_is_complex_and_forward_only():
    A = ember.tensor([[0.0, -1.0], [1.0, 0.0]], requires_grad=True)
    w, V = ember.linalg.eig(A)
    assert w.dtype == ember.complex64 and V.dtype == ember.complex64
    np.testing.assert_allclose(sorted(w.detach().numpy().imag), [-1, 1], atol=1e-6)
    assert ember.linalg.eigvals(ember.eye(2, dtype=ember.float64)).dtype == ember.complex128
    with pytest.raises(NotImplementedError, match="eigh"):
        ember.real(w).sum().backward()


def test_matrix_rank():
    A = _t(np.outer([1.0, 2, 3], [1.0, 1, 1]) + np.outer([0.0, 1, 0], [0.0, 0, 1]))
    assert ember.linalg.matrix_rank(A).item() == 2
    assert ember.linalg.matrix_rank(A, hermitian=False, atol=10.0).item() == 0
    S = _t(np.diag([3.0, 1e-3, 0.0]))
    assert ember.linalg.matrix_rank(S, hermitian=True).item() == 2
    assert ember.linalg.matrix_rank(S, rtol=1e-2).item() == 1
    batch = ember.linalg.matrix_rank(ember.zeros(2, 3, 3))
    assert batch.tolist() == [0, 0] and batch.dtype == ember.int64


def test_cond_singular_is_inf():
    assert ember.linalg.cond(_t([[1.0, 0.0], [0.0, 0.0]])).item() == math.inf
    assert ember.linalg.cond(_t([[1.0, 0.0], [0.0, 0.0]]), 1).item() == math.inf


def test_matrix_power_zero_and_one():
    A = _t(_rng.standard_normal((2, 3, 3)))
    np.testing.assert_array_equal(ember.linalg.matrix_power(A, 0).numpy(),
                                  np.broadcast_to(np.eye(3), (2, 3, 3)))
    one = ember.linalg.matrix_power(A, 1)
    assert one is not A and np.array_equal(one.numpy(), A.numpy())


def test_norm_gradient_is_zero_at_zero():
    x = ember.zeros(3, requires_grad=True)
    ember.linalg.vector_norm(x).backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]
    a = ember.zeros(1, 2, requires_grad=True)
    ember.cdist(a, ember.zeros(1, 2)).sum().backward()
    assert a.grad.tolist() == [[0.0, 0.0]]


def test_inf_norm_splits_ties():
    x = ember.tensor([1.0, -3.0, 3.0], requires_grad=True)
    ember.linalg.vector_norm(x, INF).backward()
    assert x.grad.tolist() == [0.0, -0.5, 0.5]


def test_solve_triangular_without_scipy(monkeypatch):
    from ember.ops import linalg_solve
    A, B = wc(2, 3, 3), _rng.standard_normal((2, 3, 2))
    want = ember.linalg.solve_triangular(_t(A), _t(B), upper=True, unitriangular=True).numpy()
    monkeypatch.setattr(linalg_solve, "_scipy_linalg", lambda: None)
    got = ember.linalg.solve_triangular(_t(A), _t(B), upper=True, unitriangular=True).numpy()
    np.testing.assert_allclose(got, want)
    T = np.triu(A, 1) + np.eye(3)
    np.testing.assert_allclose(got, np.linalg.solve(T, B))


# -- methods, in-place, out=, dtypes ---------------------------------------------------------------
def test_tensor_methods():
    A = _t(wc(3, 3))
    x = _t(_rng.standard_normal(3))
    np.testing.assert_allclose(A.mm(A).numpy(), A.numpy() @ A.numpy())
    np.testing.assert_allclose(A.mv(x).numpy(), A.numpy() @ x.numpy())
    np.testing.assert_allclose(x.dot(x).numpy(), x.numpy() @ x.numpy())
    np.testing.assert_allclose(A.det().numpy(), np.linalg.det(A.numpy()))
    np.testing.assert_allclose(A.inverse().numpy(), np.linalg.inv(A.numpy()))
    np.testing.assert_allclose(A.matrix_power(2).numpy(), A.numpy() @ A.numpy())
    np.testing.assert_allclose(x.outer(x).numpy(), np.outer(x.numpy(), x.numpy()))
    assert A.slogdet().sign.item() == np.sign(np.linalg.det(A.numpy()))


def test_inplace_and_out():
    x = ember.zeros(2, 2)
    a, b = ember.ones(2, 3), ember.ones(3, 2)
    assert x.addmm_(a, b, alpha=2) is x and x.tolist() == [[6.0, 6.0], [6.0, 6.0]]
    out = ember.empty(2, 2)
    ember.mm(a, b, out=out)
    assert out.tolist() == [[3.0, 3.0], [3.0, 3.0]]
    y = ember.ones(2, 2, requires_grad=True)
    z = y * 1
    z.addmm_(a, b)
    z.sum().backward()
    assert y.grad.tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_float32_results_stay_float32():
    A = ember.tensor(wc(3, 3), dtype=ember.float32)
    for fn in (ember.linalg.inv, ember.linalg.det, ember.linalg.matrix_exp, ember.linalg.pinv,
               ember.linalg.svdvals, ember.linalg.cond, ember.linalg.vector_norm):
        assert fn(A).dtype == ember.float32, fn
    assert ember.linalg.eigvals(A).dtype == ember.complex64
    assert ember.einsum("ij,jk", A, A.double()).dtype == ember.float64


def test_singular_det_forward():
    assert ember.linalg.det(ember.zeros(3, 3)).item() == 0.0
    assert ember.logdet(_t(-np.eye(3))).isnan().item()
    assert ember.logdet(ember.zeros(2, 2, dtype=ember.float64)).item() == -math.inf


def test_linalg_diagonal():
    A = _t(np.arange(12.0).reshape(3, 4))
    np.testing.assert_array_equal(ember.linalg.diagonal(A).numpy(), [0.0, 5.0, 10.0])


def test_multiple_outputs_as_roots():
    A = _t(_rng.standard_normal((4, 3))).requires_grad_()
    U, S, Vh = ember.linalg.svd(A, full_matrices=False)
    g = ember.autograd.grad([S, (U @ Vh).sum()], [A], [ember.ones(3, dtype=ember.float64),
                                                       None])
    assert g[0].shape == (4, 3)


@pytest.mark.torch
def test_raw_leaf_gradients_match_torch():
    """Cholesky and eigh read one triangle; their gradients are symmetrised like PyTorch's.
    A truncated pseudo-inverse gets the same (Golub-Pereyra) gradient as in PyTorch."""
    torch = _torch()
    S = wc(3, 3)
    S = S @ S.T
    G = _rng.standard_normal((3, 3))
    for name, fn in (("cholesky", lambda m, a: m.linalg.cholesky(a)),
                     ("pinv_truncated", lambda m, a: m.linalg.pinv(a, atol=5.0)),
                     ("eigh", lambda m, a: m.linalg.eigh(a)[0] * 2 + m.linalg.eigh(a)[1] ** 2)):
        e, t = ember.tensor(S, requires_grad=True), torch.tensor(S, requires_grad=True)
        (ge,) = ember.autograd.grad(fn(ember, e), e, ember.tensor(G))
        (gt,) = torch.autograd.grad(fn(torch, t), t, torch.tensor(G))
        np.testing.assert_allclose(ge.numpy(), gt.numpy(), atol=1e-8, err_msg=name)


@pytest.mark.torch
def test_complex_inverse_and_solve_grads_match_torch():
    torch = _torch()
    A = wc(3, 3) + 1j * _rng.standard_normal((3, 3))
    B = _rng.standard_normal((3, 2)) + 1j * _rng.standard_normal((3, 2))
    G = _rng.standard_normal((3, 2)) + 1j * _rng.standard_normal((3, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = []
        for m in (ember, torch):
            a, b = m.tensor(A, requires_grad=True), m.tensor(B, requires_grad=True)
            out = m.linalg.solve(m.linalg.inv(a) @ a @ a, b) * m.linalg.det(a)
            res.append([g.numpy() for g in m.autograd.grad(out, (a, b), m.tensor(G))])
    for ge, gt in zip(*res):
        np.testing.assert_allclose(ge, gt, atol=1e-8)


def test_det_gradient_at_singular_matrices_is_zero():
    A = _t([[[1.0, 2.0], [2.0, 4.0]], [[1.0, 2.0], [3.0, 4.0]]]).requires_grad_()
    ember.linalg.det(A).sum().backward()
    np.testing.assert_allclose(A.grad.numpy(), [[[0, 0], [0, 0]], [[4, -3], [-2, 1]]])


def test_legacy_svd_and_qr():
    A = _t(_rng.standard_normal((4, 3)))
    U, S, V = ember.svd(A, compute_uv=False)
    assert U.shape == (4, 4) and V.shape == (3, 3) and not U.numpy().any()
    np.testing.assert_allclose(S.numpy(), np.linalg.svd(A.numpy(), compute_uv=False))
    U, S, V = ember.svd(A, some=False)
    assert U.shape == (4, 4) and V.shape == (3, 3)
    Q, R = ember.qr(A, some=False)
    assert Q.shape == (4, 4) and R.shape == (4, 3)
    np.testing.assert_allclose((Q @ R).numpy(), A.numpy(), atol=1e-12)
    X, A2 = ember.triangular_solve(ember.ones(4, 1, dtype=ember.float64), _t(wc(4, 4)))
    assert A2.shape == (4, 4) and X.shape == (4, 1)
