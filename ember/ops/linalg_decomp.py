"""Matrix factorisations: Cholesky, QR, SVD, symmetric and general eigendecompositions.

Forwards call ``xp.linalg``; gradient rules are written in ember ops (matmul, triangular
solves, the factorisations' own outputs), so they can be differentiated again. The SVD and
``eigh`` rules assume distinct singular values / eigenvalues (their vectors are not unique
otherwise); the gradients of the values alone are always defined. Gradients of the
factorisations are for real inputs (complex ones raise ``NotImplementedError``).
"""

import numpy as np

from ember._tensor import _wrap
from ember.autograd.grad_mode import STATE
from ember.ops import elementwise as E
from ember.ops._linalg_util import (LinAlgError, check_matrix, check_square_float, complex_dtype,
                                    diag_embed, diagonal, eye_like, failing_element, host,
                                    is_zero, linalg_error, mH, tril, triu)
from ember.ops._registry import primitive
from ember.ops.linalg import matmul
from ember.ops.linalg_solve import _info, _per_matrix, solve_triangular
from ember.ops.reduce import result_type
from ember.ops.shape import cat
from ember.ops.views import getitem, unsqueeze

__all__ = ["cholesky", "cholesky_solve", "cholesky_inverse", "qr", "svd"]

_CholeskyEx = result_type("linalg_cholesky_ex", ("L", "info"))
_QR = result_type("linalg_qr", ("Q", "R"))
_QRLegacy = result_type("qr", ("Q", "R"))
_SVD = result_type("linalg_svd", ("U", "S", "Vh"))
_SVDLegacy = result_type("svd", ("U", "S", "V"))
_Eigh = result_type("linalg_eigh", ("eigenvalues", "eigenvectors"))
_Eig = result_type("linalg_eig", ("eigenvalues", "eigenvectors"))


def _real_only(ctx, op):
    if any(m is not None and m[1].kind == "c" for m in ctx._metas):
        raise NotImplementedError(f"{op}: gradients for complex inputs are not supported yet")


def _needs_graph(A):
    return A._requires_grad and STATE.enabled


# -- Cholesky ------------------------------------------------------------------------------------
@primitive("linalg_cholesky_ex", save="none", save_output=True)
def _cholesky(xp, A):
    try:
        return xp.linalg.cholesky(A)
    except np.linalg.LinAlgError:
        i, a = failing_element(A, np.linalg.cholesky)
        raise linalg_error("linalg.cholesky", A, i, _not_pd_msg(a)) from None


def _not_pd_order(a):
    """Order of the first leading minor of ``a`` that is not positive-definite."""
    for k in range(1, a.shape[0] + 1):
        try:
            np.linalg.cholesky(a[:k, :k])
        except np.linalg.LinAlgError:
            return k
    return a.shape[0]


def _not_pd_msg(a):
    return (f"The factorization could not be completed because the input is not "
            f"positive-definite (the leading minor of order {_not_pd_order(a)} is not "
            f"positive-definite).")


@_cholesky.defvjp
def _(ctx, g):
    """With ``Phi`` the lower triangle at half weight on the diagonal:
    ``gA = L^-H Phi(L^H G) L^-1``, symmetrised (A is read as Hermitian)."""
    _real_only(ctx, "linalg.cholesky")
    L = ctx.out
    M = matmul(mH(L), g)
    phi = tril(M, -1) + 0.5 * diag_embed(diagonal(M))
    Lh = mH(L)
    Y = solve_triangular(Lh, phi, upper=True)
    Z = mH(solve_triangular(Lh, mH(Y), upper=True))
    return 0.5 * (Z + mH(Z))


def linalg_cholesky(A, *, upper=False, out=None):
    """``ember.linalg.cholesky``: ``L`` lower triangular with ``A = L L^H`` for Hermitian
    positive-definite ``A`` (only its lower triangle is read); ``U = L^H`` if ``upper``.

    Raises ``LinAlgError`` naming the leading minor that is not positive-definite.
    """
    check_square_float(A, "linalg.cholesky")
    L = _cholesky(A)
    return E._out(mH(L) if upper else L, out)


def cholesky(input, upper=False, *, out=None):
    """``ember.cholesky`` (deprecated in PyTorch): :func:`linalg_cholesky`."""
    return linalg_cholesky(input, upper=upper, out=out)


def cholesky_ex(A, *, upper=False, check_errors=False, out=None):
    """``(L, info)``: ``info`` is 0, or the order of the leading minor that is not
    positive-definite (``L`` is then NaN); raises only when ``check_errors``."""
    check_square_float(A, "linalg.cholesky_ex")
    try:
        return _CholeskyEx(linalg_cholesky(A, upper=upper), _info(A, 0))
    except LinAlgError:
        if check_errors:
            raise
    L, info = _per_matrix(A, np.linalg.cholesky, _not_pd_order)
    return _CholeskyEx(mH(L) if upper else L, info)


def cholesky_solve(B, L, upper=False, *, out=None):
    """Solve ``A X = B`` given the Cholesky factor of ``A`` (lower, or upper if ``upper``)."""
    Lh = mH(L)
    if upper:
        L, Lh = Lh, L
    Y = solve_triangular(L, B, upper=False)
    return E._out(solve_triangular(Lh, Y, upper=True), out)


def cholesky_inverse(L, upper=False, *, out=None):
    """Inverse of ``A`` from its Cholesky factor (lower, or upper if ``upper``)."""
    return E._out(cholesky_solve(eye_like(L), L, upper), out)


# -- QR --------------------------------------------------------------------------------------
@primitive("linalg_qr", n_out=2, save="none", save_output=True)
def _qr(xp, A, mode):
    if mode == "r":
        return xp.empty((0,), dtype=A.dtype), xp.linalg.qr(A, mode="r")
    return xp.linalg.qr(A, mode=mode)


@_qr.defvjp
def _(ctx, grads):
    _real_only(ctx, "linalg.qr")
    mode = ctx.params["mode"]
    if mode == "r":
        raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when "
                           "mode='r'. Please use linalg.qr(A, mode='reduced') if you are going "
                           "to differentiate through linalg.qr.")
    (gQ, gR), (Q, R) = grads, ctx.out
    m, n = Q._data.shape[-2], R._data.shape[-1]
    if mode == "complete" and m > n:
        raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and "
                           "nrows > ncols.")
    if m >= n:
        return _qr_grad(Q, R, gQ, gR)
    # wide A = Q [R1 R2]: A1 = Q R1 is a square QR, and R2 = Q^H A2 also depends on Q
    R1, R2 = _split_cols(R, m)
    gR1, gR2 = _split_cols(gR, m)
    gA1 = _qr_grad(Q, R1, gQ + matmul(matmul(Q, R2), mH(gR2)), gR1)
    return cat([gA1, matmul(Q, gR2)], -1)


def _split_cols(x, m):
    return (getitem(x, (Ellipsis, slice(0, m))), getitem(x, (Ellipsis, slice(m, None))))


def _qr_grad(Q, R, gQ, gR):
    """``A = QR`` with ``m >= n``: ``gA = (gQ + Q N) R^-H`` where ``N`` is
    ``M = gR R^H - Q^H gQ`` with its upper triangle copied (conjugated) below."""
    M = matmul(gR, mH(R)) - matmul(mH(Q), gQ)
    N = triu(M) + mH(triu(M, 1))
    return solve_triangular(mH(R), gQ + matmul(Q, N), upper=False, left=False)


def linalg_qr(A, mode="reduced", *, out=None):
    """``ember.linalg.qr``: ``A = Q R`` with orthonormal columns in ``Q`` and ``R`` upper
    triangular; ``mode`` is ``'reduced'``, ``'complete'`` or ``'r'`` (``Q`` is then empty).

    Example:
        >>> Q, R = ember.linalg.qr(ember.tensor([[1.0, 2.0], [3.0, 4.0]]))
        >>> bool((Q @ R - ember.tensor([[1.0, 2.0], [3.0, 4.0]])).abs().max() < 1e-5)
        True
    """
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of "
                           f"'reduced' (default), 'r', or 'complete'")
    check_matrix(A, "linalg.qr")
    return _QR(*_qr(A, mode=mode))


def qr(input, some=True, *, out=None):
    """``ember.qr`` (deprecated in PyTorch): reduced QR when ``some``, else complete."""
    return _QRLegacy(*linalg_qr(input, "reduced" if some else "complete"))


# -- SVD ---------------------------------------------------------------------------------------
@primitive("linalg_svd", n_out=3, save="none", save_output=True)
def _svd(xp, A, full_matrices):
    return xp.linalg.svd(A, full_matrices=full_matrices)


@_svd.defvjp
def _(ctx, grads):
    _real_only(ctx, "linalg.svd")
    (gU, gS, gVh), (U, S, Vh) = grads, ctx.out
    k = S._data.shape[-1]
    if ctx.params["full_matrices"]:  # the extra columns of U or rows of Vh are arbitrary
        U, gU = (getitem(t, (Ellipsis, slice(0, k))) for t in (U, gU))
        Vh, gVh = (getitem(t, (Ellipsis, slice(0, k), slice(None))) for t in (Vh, gVh))
    V, gV = mH(Vh), mH(gVh)
    if is_zero(gU) and is_zero(gV):
        return matmul(U * unsqueeze(gS, -2), Vh)
    if U._data.shape[-2] < V._data.shape[-2]:  # wide: differentiate A^H = V S U^H
        return mH(_svd_grad(V, S, U, gV, gS, gU))
    return _svd_grad(U, S, V, gU, gS, gV)


def _svd_grad(U, S, V, gU, gS, gV):
    """``A = U S V^H`` with ``m >= n``, distinct singular values:
    ``gA = U [diag(gS) + F o (J - J^H) S + S F o (K - K^H)] V^H + (I - U U^H) gU S^-1 V^H``
    with ``J = U^H gU``, ``K = V^H gV`` and ``F_ij = 1 / (s_j^2 - s_i^2)`` off the diagonal."""
    F = _inverse_gaps(S * S)
    J, K = matmul(mH(U), gU), matmul(mH(V), gV)
    Sr, Sc = unsqueeze(S, -2), unsqueeze(S, -1)  # scale columns / rows
    inner = diag_embed(gS) + F * (J - mH(J)) * Sr + Sc * (F * (K - mH(K)))
    gA = matmul(matmul(U, inner), mH(V))
    if U._data.shape[-2] > U._data.shape[-1]:
        gA = gA + matmul((gU - matmul(U, J)) / Sr, mH(V))
    return gA


def _inverse_gaps(s):
    """``F_ij = 1 / (s_j - s_i)`` off the diagonal, 0 on it (no inf in either pass)."""
    D = unsqueeze(s, -2) - unsqueeze(s, -1)
    eye = E.cast(eye_like(D), np.bool_)
    return E.where(eye, 0, 1 / E.where(eye, 1, D))


def linalg_svd(A, full_matrices=True, *, driver=None, out=None):
    """``ember.linalg.svd``: ``A = U diag(S) Vh`` with ``S`` descending (real).

    Example:
        >>> U, S, Vh = ember.linalg.svd(ember.tensor([[3.0, 0.0], [0.0, 4.0]]))
        >>> S
        tensor([4., 3.])
    """
    check_matrix(A, "linalg.svd")
    return _SVD(*_svd(A, full_matrices=full_matrices))


def svdvals(A, *, driver=None, out=None):
    """Singular values of ``A``, descending (computes ``U`` and ``Vh`` only for autograd)."""
    check_matrix(A, "linalg.svdvals")
    if _needs_graph(A):
        return E._out(_svd(A, full_matrices=False)[1], out)
    xp = A._device.xp
    return E._out(_wrap(xp.linalg.svd(A._data, compute_uv=False), A._device), out)


def svd(input, some=True, compute_uv=True, *, out=None):
    """``ember.svd`` (deprecated in PyTorch): ``(U, S, V)`` with ``V`` not transposed, reduced
    when ``some``; with ``compute_uv=False`` ``U`` and ``V`` are zero matrices."""
    check_matrix(input, "svd")
    if not compute_uv:
        xp, dev, shp = input._device.xp, input._device, input._data.shape
        zeros = [_wrap(xp.zeros(shp[:-2] + (k, k), dtype=input._data.dtype), dev)
                 for k in shp[-2:]]
        return _SVDLegacy(zeros[0], svdvals(input), zeros[1])
    U, S, Vh = _svd(input, full_matrices=not some)
    return _SVDLegacy(U, S, mH(Vh))


# -- symmetric / Hermitian eigendecomposition ------------------------------------------------------
@primitive("linalg_eigh", n_out=2, save="none", save_output=True)
def _eigh(xp, A, UPLO):
    return xp.linalg.eigh(A, UPLO=UPLO)


@_eigh.defvjp
def _(ctx, grads):
    """``gA = V (diag(gw) + F o (V^H gV)) V^H`` with ``F_ij = 1 / (w_j - w_i)``, symmetrised
    (A is read as Hermitian)."""
    _real_only(ctx, "linalg.eigh")
    (gw, gV), (w, V) = grads, ctx.out
    inner = diag_embed(gw)
    if not is_zero(gV):
        inner = inner + _inverse_gaps(w) * matmul(mH(V), gV)
    gA = matmul(matmul(V, inner), mH(V))
    return 0.5 * (gA + mH(gA))


def _check_uplo(UPLO, op):
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"{op}: Expected UPLO argument to be 'L' or 'U', but got {UPLO}")


def eigh(A, UPLO="L", *, out=None):
    """Eigenvalues (ascending, real) and orthonormal eigenvectors of Hermitian ``A``; only
    the ``UPLO`` (``'L'`` or ``'U'``) triangle is read."""
    check_square_float(A, "linalg.eigh")
    _check_uplo(UPLO, "linalg.eigh")
    return _Eigh(*_eigh(A, UPLO=UPLO))


def eigvalsh(A, UPLO="L", *, out=None):
    """Eigenvalues (ascending, real) of Hermitian ``A``."""
    check_square_float(A, "linalg.eigvalsh")
    _check_uplo(UPLO, "linalg.eigvalsh")
    if _needs_graph(A):
        return E._out(_eigh(A, UPLO=UPLO)[0], out)
    xp = A._device.xp
    return E._out(_wrap(xp.linalg.eigvalsh(A._data, UPLO=UPLO), A._device), out)


# -- general eigendecomposition (forward only) ------------------------------------------------
@primitive("linalg_eig", n_out=2, save="none")
def _eig(xp, A):
    w, V = np.linalg.eig(host(A))  # CuPy has no general eig: compute on the host
    ct = complex_dtype(A.dtype)
    return xp.asarray(w.astype(ct, copy=False)), xp.asarray(V.astype(ct, copy=False))


@_eig.defvjp
def _(ctx, grads):
    raise NotImplementedError("linalg.eig: the gradient is not implemented in ember; for "
                              "symmetric or Hermitian matrices use linalg.eigh")


def eig(A, *, out=None):
    """Eigenvalues and eigenvectors of a general square matrix, always complex
    (``complex64`` for ``float32`` input). Forward only: no gradient."""
    check_square_float(A, "linalg.eig")
    return _Eig(*_eig(A))


def eigvals(A, *, out=None):
    """Eigenvalues of a general square matrix, always complex."""
    return E._out(eig(A).eigenvalues, out)
