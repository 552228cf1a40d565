"""LU factorisation with partial pivoting, its unpacking and the solves that use it.

``A = P L U`` with ``P`` a permutation, ``L`` unit lower triangular (``m x k``) and ``U``
upper triangular (``k x n``), ``k = min(m, n)``. ``LU`` packs ``L`` (below the diagonal)
and ``U`` (on and above it) in one matrix; ``pivots`` are LAPACK's 1-based ``int32`` row
swaps (row ``i`` was swapped with row ``pivots[i] - 1``, in order), as in PyTorch.

The factorisation is one primitive (``linalg_lu_factor_ex``). On the CPU it runs SciPy's
``lu_factor`` (LAPACK ``getrf``) when SciPy is installed, except for batches of many small
matrices; otherwise, and on CuPy, a right-looking elimination written with ``xp`` array
operations: a Python loop over the columns, vectorised over the batch. Its gradient rule
is written in ember ops (triangular solves with ``L`` and ``U``), so ``linalg.lu`` and
``lu_factor`` differentiate to any order; ``lu_unpack`` and ``lu_solve`` are composites
(``tril``/``triu``, ``solve_triangular``) and need no rule of their own.
"""

import warnings

import numpy as np

from ember._tensor import _wrap
from ember.ops import elementwise as E
from ember.ops._linalg_util import (check_matrix, check_square, linalg_error, mH, mT,
                                    need_tensor, tril, triu)
from ember.ops._registry import primitive
from ember.ops.linalg import matmul
from ember.ops.linalg_solve import _broadcast_batch, solve_triangular
from ember.ops.reduce import result_type
from ember.ops.shape import cat
from ember.ops.views import getitem

__all__ = ["lu", "lu_unpack", "lu_solve"]
METHODS = ["lu", "lu_solve"]  # Tensor methods: plain ops with the tensor first
INPLACE = []  # names whose in-place variant name_ is bound too

_LUFactor = result_type("linalg_lu_factor", ("LU", "pivots"))
_LUFactorEx = result_type("linalg_lu_factor_ex", ("LU", "pivots", "info"))
_LU = result_type("linalg_lu", ("P", "L", "U"))
_LUUnpack = result_type("lu_unpack", ("P", "L", "U"))
_LUWithInfo = result_type("_lu_with_info", ("LU", "pivots", "info"))


# -- the factorisation -------------------------------------------------------------------------
def _scipy_lu_factor():
    try:
        import scipy.linalg
    except ImportError:
        return None
    return scipy.linalg.lu_factor


def _getrf(xp, a, pivot):
    """``(LU, pivots)`` of a batch ``(B, m, n)`` by elimination, one column per step."""
    a = a.copy()
    nb, m, n = a.shape
    k = min(m, n)
    piv = xp.empty((nb, k), dtype=np.int32)
    rows = xp.arange(nb)
    for j in range(k):
        if pivot:
            p = xp.argmax(xp.abs(a[:, j:, j]), axis=1) + j  # the first largest, like LAPACK
            piv[:, j] = p
            top = a[:, j, :].copy()
            a[:, j, :] = a[rows, p, :]
            a[rows, p, :] = top
        else:
            piv[:, j] = j
        d = a[:, j, j]
        nonzero = (d != 0)[:, None]  # a zero pivot leaves its column as it is (LAPACK)
        a[:, j + 1:, j] = xp.where(nonzero, a[:, j + 1:, j] / xp.where(nonzero, d[:, None], 1),
                                   a[:, j + 1:, j])
        a[:, j + 1:, j + 1:] -= a[:, j + 1:, j, None] * a[:, j, None, j + 1:]
    return a, piv + 1


@primitive("linalg_lu_factor_ex", n_out=2, save="none", save_output=True, nondiff_outputs=(1,))
def _lu_factor(xp, A, pivot):
    batch, (m, n) = A.shape[:-2], A.shape[-2:]
    flat = A.reshape((-1, m, n))
    # LAPACK per matrix on the CPU, but the loop (vectorised over the batch) for many small
    # matrices, where SciPy's per-matrix overhead dominates (measured: 1000 4x4 in 1.2 ms
    # by the loop, 26 ms by SciPy)
    many_small = flat.shape[0] > 4 * min(m, n)
    scipy_lu = _scipy_lu_factor() if xp is np and pivot and A.size and not many_small else None
    if scipy_lu is not None:
        with warnings.catch_warnings():  # a singular matrix is reported by `info`
            warnings.simplefilter("ignore")
            LU, piv = scipy_lu(flat, check_finite=False)
        piv = (piv + 1).astype(np.int32)
    else:
        LU, piv = _getrf(xp, flat, pivot)
    return LU.reshape(A.shape).astype(A.dtype, copy=False), piv.reshape(batch + (min(m, n),))


@_lu_factor.defvjp
def _(ctx, grads):
    """With ``M = tril_{-1}(L^H gL) + triu(gU U^H)``, a square ``A`` has
    ``gA = P L^-H M U^-H``. A tall ``A`` adds the rows below ``U`` (``L2 = A2 U^-1``), a wide
    one the columns right of ``L`` (``U2 = L^-1 A2``), as extra terms."""
    gLU, (LU, piv) = grads[0], ctx.out
    m, n = LU._data.shape[-2:]
    k = min(m, n)
    L, U = _unpack_lu(LU)
    gL = tril(_cols(gLU, 0, k), -1)
    gU = triu(_rows(gLU, 0, k))
    if m > n:
        L1, L2, gL1, gL2 = _rows(L, 0, n), _rows(L, n, m), _rows(gL, 0, n), _rows(gL, n, m)
        gA2 = solve_triangular(mH(U), gL2, upper=False, left=False)
        gA = cat([_square_grad(L1, U, gL1, gU - matmul(mH(L2), gA2)), gA2], -2)
    elif m < n:
        U1, U2, gU1, gU2 = _cols(U, 0, m), _cols(U, m, n), _cols(gU, 0, m), _cols(gU, m, n)
        gA2 = solve_triangular(mH(L), gU2, upper=True, unitriangular=True)
        gA = cat([_square_grad(L, U1, gL - matmul(gA2, mH(U2)), gU1), gA2], -1)
    else:
        gA = _square_grad(L, U, gL, gU)
    return matmul(_permutation(piv, m, LU), gA)


def _square_grad(L, U, gL, gU):
    M = tril(matmul(mH(L), gL), -1) + triu(matmul(gU, mH(U)))
    Y = solve_triangular(mH(L), M, upper=True, unitriangular=True)
    return solve_triangular(mH(U), Y, upper=False, left=False)


def _rows(x, a, b):
    return getitem(x, (Ellipsis, slice(a, b), slice(None)))


def _cols(x, a, b):
    return getitem(x, (Ellipsis, slice(a, b)))


def _info_of(LU):
    """LAPACK's ``info``: the 1-based index of the first zero on ``U``'s diagonal, else 0."""
    xp, d = LU._device.xp, LU._data
    k = min(d.shape[-2:])
    zero = xp.diagonal(d[..., :k, :k], axis1=-2, axis2=-1) == 0
    info = xp.where(zero.any(axis=-1), xp.argmax(zero, axis=-1) + 1, 0).astype(np.int32)
    return _wrap(info, LU._device)


def _check_factor_args(A, pivot, op):
    need_tensor(A, op)
    if A._data.ndim < 2:
        raise RuntimeError(f"torch.lu_factor: Expected tensor with 2 or more dimensions. Got "
                           f"size: {list(A._data.shape)} instead")
    check_matrix(A, op)
    if not pivot and A._device.type == "cpu":
        raise RuntimeError(f"{op}: LU without pivoting is not implemented on the CPU")


def _raise_singular(A, info, op):
    """PyTorch's error for the first matrix whose ``U`` has a zero on its diagonal."""
    flat = np.asarray(info._data.get() if hasattr(info._data, "get") else info._data).ravel()
    i = int(np.argmax(flat != 0))
    k = int(flat[i])
    raise linalg_error(op, A._data, i, f"U[{k},{k}] is zero and using it on lu_solve would "
                       f"result in a division by zero. If you still want to perform the "
                       f"factorization, consider calling linalg.lu(A, pivot) or "
                       f"linalg.lu_factor_ex(A, pivot)")


def lu_factor_ex(A, *, pivot=True, check_errors=False, out=None):
    """``(LU, pivots, info)``: the LU factorisation of a (batch of) ``m x n`` matrices,
    packed; ``info`` is 0, or the 1-based index of the first zero pivot on ``U``'s diagonal
    (raises then only when ``check_errors``). ``pivot=False`` is not supported on the CPU.

    Example:
        >>> LU, pivots, info = ember.linalg.lu_factor_ex(ember.tensor([[1.0, 2.0], [3.0, 4.0]]))
        >>> pivots, info
        (tensor([2, 2], dtype=ember.int32), tensor(0, dtype=ember.int32))
    """
    op = "torch.linalg.lu_factor_ex"
    _check_factor_args(A, pivot, op)
    LU, piv = _lu_factor(A, pivot=bool(pivot))
    info = _info_of(LU)
    if check_errors and bool(info._device.xp.any(info._data)):
        _raise_singular(A, info, op)
    return _LUFactorEx(LU, piv, info)


def lu_factor(A, *, pivot=True, out=None):
    """``(LU, pivots)``: the LU factorisation ``A = P L U`` with partial pivoting, packed.

    Raises if a ``U`` has a zero on its diagonal (``lu_solve`` would divide by zero); use
    :func:`lu_factor_ex` or :func:`ember.linalg.lu` to factor singular matrices.

    Example:
        >>> A = ember.tensor([[1.0, 2.0], [3.0, 4.0]])
        >>> LU, pivots = ember.linalg.lu_factor(A)
        >>> LU
        tensor([[3.0000, 4.0000],
                [0.3333, 0.6667]])
        >>> ember.linalg.lu_solve(LU, pivots, ember.tensor([[5.0], [11.0]]))
        tensor([[1.],
                [2.]])
    """
    op = "torch.linalg.lu_factor"
    _check_factor_args(A, pivot, op)
    LU, piv = _lu_factor(A, pivot=bool(pivot))
    info = _info_of(LU)
    if bool(info._device.xp.any(info._data)):
        _raise_singular(A, info, op)
    return _LUFactor(LU, piv)


def linalg_lu(A, *, pivot=True, out=None):
    """``ember.linalg.lu``: ``(P, L, U)`` with ``A = P @ L @ U`` for a (batch of) ``m x n``
    matrices: ``P`` a permutation (empty when ``pivot=False``), ``L`` unit lower triangular
    ``m x k`` and ``U`` upper triangular ``k x n``, ``k = min(m, n)``. Differentiable.

    Example:
        >>> P, L, U = ember.linalg.lu(ember.tensor([[1.0, 2.0], [3.0, 4.0]]))
        >>> P
        tensor([[0., 1.],
                [1., 0.]])
        >>> U
        tensor([[3.0000, 4.0000],
                [0.0000, 0.6667]])
    """
    _check_factor_args(A, pivot, "linalg.lu")
    LU, piv = _lu_factor(A, pivot=bool(pivot))
    return _LU(*lu_unpack(LU, piv, unpack_pivots=bool(pivot)))


def lu(A, pivot=True, get_infos=False, out=None):
    """``ember.lu`` (deprecated in PyTorch): ``(LU, pivots)``, with ``info`` as a third
    item when ``get_infos``; never raises for singular input.
    Use :func:`ember.linalg.lu_factor` instead."""
    LU, piv, info = lu_factor_ex(A, pivot=pivot)
    return _LUWithInfo(LU, piv, info) if get_infos else (LU, piv)


# -- unpacking ---------------------------------------------------------------------------------
def _unpack_lu(LU):
    """``L`` (unit lower, ``m x k``) and ``U`` (upper, ``k x n``) from the packed ``LU``."""
    m, n = LU._data.shape[-2:]
    k = min(m, n)
    xp = LU._device.xp
    eye = _wrap(xp.eye(m, k, dtype=LU._data.dtype), LU._device)
    return tril(_cols(LU, 0, k), -1) + eye, triu(_rows(LU, 0, k))


def _perm_of(xp, piv, m):
    """Row order ``perm`` with ``A[perm] = L U``, from the 1-based swaps ``piv`` (batched)."""
    batch, k = piv.shape[:-1], piv.shape[-1]
    swaps = piv.reshape((-1, k)).astype(np.int64) - 1
    nb = swaps.shape[0]
    perm = xp.broadcast_to(xp.arange(m), (nb, m)).copy()
    rows = xp.arange(nb)
    for i in range(k):
        j = swaps[:, i]
        here = perm[:, i].copy()
        perm[:, i] = perm[rows, j]
        perm[rows, j] = here
    return perm.reshape(batch + (m,))


def _permutation(piv, m, like):
    """The permutation matrix ``P`` (a constant, ``like``'s dtype) of ``A = P L U``."""
    xp = like._device.xp
    perm = _perm_of(xp, piv._data, m)
    Pt = xp.eye(m, dtype=like._data.dtype)[perm]  # row r of P^T A is row perm[r] of A
    return _wrap(xp.ascontiguousarray(xp.swapaxes(Pt, -1, -2)), like._device)


def _check_pivots(LU, pivots, op):
    need_tensor(pivots, op, "pivots")
    k = min(LU._data.shape[-2:])
    if pivots._data.dtype != np.int32:
        raise RuntimeError(f"{op}: LU_pivots is expected to be a contiguous tensor of "
                           f"torch.int32 dtype. Note: this function is intended to be used "
                           f"with the output produced by torch.linalg.lu_factor, got "
                           f"{pivots.dtype}")
    if tuple(pivots._data.shape) != tuple(LU._data.shape[:-2]) + (k,):
        raise RuntimeError(f"{op}: the pivots of shape {tuple(pivots._data.shape)} do not "
                           f"match LU of shape {tuple(LU._data.shape)}: expected "
                           f"{tuple(LU._data.shape[:-2]) + (k,)}")


def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True, *, out=None):
    """``(P, L, U)`` from the packed output of :func:`ember.linalg.lu_factor`; ``L``/``U``
    are empty unless ``unpack_data`` and ``P`` is empty unless ``unpack_pivots``.
    Differentiable in ``LU_data``.

    Example:
        >>> A = ember.tensor([[1.0, 2.0], [3.0, 4.0]])
        >>> P, L, U = ember.lu_unpack(*ember.linalg.lu_factor(A))
        >>> L
        tensor([[1.0000, 0.0000],
                [0.3333, 1.0000]])
    """
    op = "torch.lu_unpack"
    need_tensor(LU_data, op, "LU_data")
    if LU_data._data.ndim < 2:
        raise RuntimeError(f"{op}: Expected tensor with 2 or more dimensions. Got size: "
                           f"{list(LU_data._data.shape)} instead")
    xp, dev, dt = LU_data._device.xp, LU_data._device, LU_data._data.dtype
    empty = _wrap(xp.empty((0,), dtype=dt), dev)
    L, U = _unpack_lu(LU_data) if unpack_data else (empty, empty)
    P = empty
    if unpack_pivots:
        _check_pivots(LU_data, LU_pivots, op)
        P = _permutation(LU_pivots, LU_data._data.shape[-2], LU_data)
    return _LUUnpack(P, L, U)


# -- solves ------------------------------------------------------------------------------------
def _check_solve_args(LU, pivots, B, op):
    check_square(LU, op, "A")
    need_tensor(B, op, "B")
    if B._data.ndim < 2:
        raise RuntimeError(f"{op}: The input tensor B must have at least 2 dimensions.")
    if LU._data.dtype != B._data.dtype:
        raise RuntimeError(f"{op}: Expected LU and B to have the same dtype, but found LU of "
                           f"type {LU.dtype} and B of type {B.dtype} instead")
    check_matrix(LU, op, "LU")
    _check_pivots(LU, pivots, op)


def _solve_left(LU, P, B, adjoint):
    """``A X = B`` (or ``A^H X = B``) with ``A = P L U``; only the triangles of ``LU`` that
    hold ``L`` and ``U`` are read, so the gradient reaches exactly those entries."""
    if not adjoint:
        Y = solve_triangular(LU, matmul(mT(P), B), upper=False, unitriangular=True)
        return solve_triangular(LU, Y, upper=True)
    LUh = mH(LU)  # A^H = U^H L^H P^T
    Y = solve_triangular(LUh, B, upper=False)
    return matmul(P, solve_triangular(LUh, Y, upper=True, unitriangular=True))


def linalg_lu_solve(LU, pivots, B, *, left=True, adjoint=False, out=None):
    """``ember.linalg.lu_solve``: the solution ``X`` of ``A X = B`` given the LU factorisation
    of ``A`` from :func:`ember.linalg.lu_factor` (``X A = B`` when ``left=False``; ``A^H``
    for ``A`` when ``adjoint``). Batch dims broadcast; differentiable in ``LU`` and ``B``.

    Example:
        >>> A = ember.tensor([[3.0, 1.0], [1.0, 2.0]])
        >>> LU, pivots = ember.linalg.lu_factor(A)
        >>> ember.linalg.lu_solve(LU, pivots, ember.tensor([[9.0], [8.0]]))
        tensor([[2.],
                [3.]])
    """
    op = "linalg.lu_solve"
    _check_solve_args(LU, pivots, B, op)
    n = LU._data.shape[-1]
    size = B._data.shape[-2] if left else B._data.shape[-1]
    if size != n:
        r, c = B._data.shape[-2:]
        eq = "AX = B" if left else "XA = B"
        raise RuntimeError(f"{op}: Incompatible shapes of A and B for the equation {eq} "
                           f"({n}x{n} and {r}x{c})")
    P = _permutation(pivots, n, LU)
    if left:
        LU, B = _broadcast_batch(op, LU, B)
        return E._out(_solve_left(LU, P, B, adjoint), out)
    # X A = B  <=>  A^H X^H = B^H  (and X A^H = B  <=>  A X^H = B^H)
    Bh = mH(B)
    LU, Bh = _broadcast_batch(op, LU, Bh)
    return E._out(mH(_solve_left(LU, P, Bh, not adjoint)), out)


def lu_solve(b, LU_data, LU_pivots, *, out=None):
    """``ember.lu_solve`` (deprecated in PyTorch): ``linalg.lu_solve(LU_data, LU_pivots, b)``.

    Example:
        >>> A = ember.tensor([[3.0, 1.0], [1.0, 2.0]])
        >>> b = ember.tensor([[9.0], [8.0]])
        >>> ember.lu_solve(b, *ember.linalg.lu_factor(A))
        tensor([[2.],
                [3.]])
    """
    return linalg_lu_solve(LU_data, LU_pivots, b, out=out)
