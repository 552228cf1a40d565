"""Inverses, linear solves, determinants, pseudo-inverses, least squares, matrix exponential.

Each primitive runs ``xp.linalg`` (LAPACK on the CPU) and its gradient rule is written in
ember ops, mostly with the primitives themselves (the gradient of ``inv`` uses the inverse
it computed, the gradient of ``solve`` solves with ``A^H``), so gradients of any order work.
"""

import numpy as np

from ember._tensor import _wrap
from ember.ops import elementwise as E
from ember.ops._linalg_util import (LinAlgError, as_array, check_matrix, check_square_float,
                                    failing_element, host, is_zero, linalg_error, mH, mT,
                                    need_tensor, real_dtype, singular_msg, tril, triu,
                                    zero_pivot)
from ember.ops._registry import primitive
from ember.ops._util import promote
from ember.ops.linalg import matmul
from ember.ops.reduce import result_type
from ember.ops.shape import cat
from ember.ops.views import expand, getitem, permute, reshape, squeeze, unsqueeze

__all__ = ["inverse", "det", "logdet", "slogdet", "pinverse", "matrix_exp", "triangular_solve"]

_InvEx = result_type("linalg_inv_ex", ("inverse", "info"))
_SolveEx = result_type("linalg_solve_ex", ("result", "info"))
_Slogdet = result_type("linalg_slogdet", ("sign", "logabsdet"))
_TriangularSolve = result_type("triangular_solve", ("solution", "cloned_coefficient"))
_Lstsq = result_type("linalg_lstsq", ("solution", "residuals", "rank", "singular_values"))


# -- inverse ---------------------------------------------------------------------------------
@primitive("linalg_inv_ex", save="none", save_output=True)
def _inv(xp, A):
    try:
        return xp.linalg.inv(A)
    except np.linalg.LinAlgError:
        i, a = failing_element(A, np.linalg.inv)
        raise linalg_error("linalg.inv", A, i, singular_msg(a, "inversion")) from None


@_inv.defvjp
def _(ctx, g):
    Ai = mH(ctx.out)
    return -matmul(matmul(Ai, g), Ai)


def inv(A, *, out=None):
    """Inverse of a (batch of) square matrices; raises ``LinAlgError`` if one is singular.

    Example:
        >>> ember.linalg.inv(ember.tensor([[2.0, 0.0], [0.0, 4.0]]))
        tensor([[0.5000, 0.0000],
                [0.0000, 0.2500]])
    """
    check_square_float(A, "linalg.inv")
    return E._out(_inv(A), out)


def inverse(input, *, out=None):
    """``ember.inverse``: the same as :func:`ember.linalg.inv`."""
    return inv(input, out=out)


def inv_ex(A, *, check_errors=False, out=None):
    """``(inverse, info)``: ``info`` is 0 where a matrix was inverted, else the index of the
    zero pivot (the inverse there is NaN); raises only when ``check_errors``."""
    check_square_float(A, "linalg.inv_ex")
    try:
        return _InvEx(_inv(A), _info(A, 0))
    except LinAlgError:
        if check_errors:
            raise
    return _InvEx(*_per_matrix(A, np.linalg.inv, _zero_pivot_info))


def _info(A, value):
    xp = A._device.xp
    return _wrap(xp.full(A._data.shape[:-2], value, dtype=np.int32), A._device)


def _zero_pivot_info(a):
    return zero_pivot(a) or 1


def _per_matrix(A, fn, info_of):
    """Apply ``fn`` matrix by matrix (no gradient), NaN and ``info_of`` where it fails."""
    flat = host(A._data).reshape((-1,) + A._data.shape[-2:])
    outs, infos = [], []
    for a in flat:
        try:
            outs.append(fn(a))
            infos.append(0)
        except np.linalg.LinAlgError:
            outs.append(np.full(a.shape, np.nan, dtype=a.dtype))
            infos.append(info_of(a))
    xp = A._device.xp
    res = xp.asarray(np.stack(outs).reshape(A._data.shape))
    info = xp.asarray(np.array(infos, dtype=np.int32).reshape(A._data.shape[:-2]))
    return _wrap(res, A._device), _wrap(info, A._device)


# -- solve -----------------------------------------------------------------------------------
@primitive("linalg_solve_ex", save=(0,), save_output=True)
def _solve(xp, A, B):
    try:
        return xp.linalg.solve(A, B)
    except np.linalg.LinAlgError:
        i, a = failing_element(A, np.linalg.inv)
        raise linalg_error("linalg.solve", A, i, "The solver failed because the input matrix "
                           "is singular.") from None


@_solve.defvjp
def _(ctx, g):
    A = ctx.inputs[0]
    gB = _solve(mH(A), g)
    gA = -matmul(gB, mH(ctx.out)) if ctx._next[0] is not None else None
    return gA, gB


def solve(A, B, *, left=True, out=None):
    """The solution ``X`` of ``A @ X = B`` (or ``X @ A = B`` with ``left=False``).

    ``B`` is a batch of vectors when it is 1-D or has one dim fewer than ``A`` with
    ``B.shape == A.shape[:-1]``; otherwise a batch of matrices. Batch dims broadcast.

    Example:
        >>> A = ember.tensor([[3.0, 1.0], [1.0, 2.0]])
        >>> ember.linalg.solve(A, ember.tensor([9.0, 8.0]))
        tensor([2., 3.])
    """
    check_square_float(A, "linalg.solve")
    need_tensor(B, "linalg.solve", "B")
    A, B = promote("linalg.solve", A, B)
    vector = _vector_rhs(A, B)
    if not left:
        X = solve(mT(A), B if vector else mT(B))
        return E._out(X if vector else mT(X), out)
    Bm = unsqueeze(B, -1) if vector else B
    n = A._data.shape[-1]
    if Bm._data.shape[-2] != n:
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation "
                           f"AX = B ({n}x{n} and {Bm._data.shape[-2]}x{Bm._data.shape[-1]})")
    A, Bm = _broadcast_batch("linalg.solve", A, Bm)
    X = _solve(A, Bm)
    return E._out(squeeze(X, -1) if vector else X, out)


def solve_ex(A, B, *, left=True, check_errors=False, out=None):
    """``(result, info)`` like :func:`solve`; ``info`` is nonzero where ``A`` is singular."""
    try:
        X = solve(A, B, left=left)
        return _SolveEx(X, _info(A, 0))
    except LinAlgError:
        if check_errors:
            raise
    Ai, info = inv_ex(A)  # NaN inverses where singular: the result is NaN there
    if _vector_rhs(A, B):
        X = squeeze(matmul(Ai, unsqueeze(B, -1)), -1) if left else \
            squeeze(matmul(unsqueeze(B, -2), Ai), -2)
    else:
        X = matmul(Ai, B) if left else matmul(B, Ai)
    return _SolveEx(X, info)


def tensorinv(A, ind=2, *, out=None):
    """The inverse of ``A`` seen as a linear map from its last dims to its first ``ind``
    dims: ``tensordot(tensorinv(A, ind), A, ind)`` is the identity, of shape
    ``A.shape[ind:] + A.shape[:ind]``."""
    need_tensor(A, "linalg.tensorinv")
    if ind <= 0:
        raise RuntimeError(f"linalg.tensorinv: Expected a strictly positive integer for 'ind', "
                           f"but got {ind}")
    lead, rest = A._data.shape[:ind], A._data.shape[ind:]
    n, m = int(np.prod(lead)), int(np.prod(rest))
    if n != m:
        raise RuntimeError(f"linalg.tensorinv: Expected self to satisfy the requirement "
                           f"prod(self.shape[ind:]) == prod(self.shape[:ind]), but got {m} != {n}")
    return E._out(reshape(inv(reshape(A, (n, m))), rest + lead), out)


def tensorsolve(A, B, dims=None, *, out=None):
    """``X`` with ``tensordot(A, X, X.ndim) == B``; ``dims`` of ``A`` are first moved last."""
    need_tensor(A, "linalg.tensorsolve")
    need_tensor(B, "linalg.tensorsolve", "B")
    if dims is not None:
        nd = A._data.ndim
        dims = [d % nd for d in dims]
        A = permute(A, [d for d in range(nd) if d not in dims] + dims)
    shape = A._data.shape[B._data.ndim:]
    n, m = int(np.prod(B._data.shape)), int(np.prod(shape))
    if A._data.shape[:B._data.ndim] != B._data.shape or n != m:
        raise RuntimeError(f"linalg.tensorsolve: A of shape {tuple(A._data.shape)} does not fit "
                           f"B of shape {tuple(B._data.shape)}: expected A.shape[:B.ndim] == "
                           f"B.shape and a square reshaped system")
    X = solve(reshape(A, (n, m)), reshape(B, (n,)))
    return E._out(reshape(X, shape), out)


def _vector_rhs(A, B):
    """Whether ``B`` is a (batch of) vectors for ``solve``, by PyTorch's rule."""
    return B._data.ndim == 1 or (B._data.ndim == A._data.ndim - 1 and
                                 B._data.shape == A._data.shape[:-1])


def _broadcast_batch(op, A, B):
    try:
        batch = np.broadcast_shapes(A._data.shape[:-2], B._data.shape[:-2])
    except ValueError:
        raise RuntimeError(f"{op}: the batch dims of A {tuple(A._data.shape[:-2])} and B "
                           f"{tuple(B._data.shape[:-2])} cannot be broadcast") from None
    return (t if t._data.shape[:-2] == batch else expand(t, batch + t._data.shape[-2:])
            for t in (A, B))


# -- triangular solve ------------------------------------------------------------------------
def _scipy_linalg():
    """SciPy's linalg when it is installed and solves batches (1.15+), else None."""
    try:
        import scipy
        import scipy.linalg
    except ImportError:
        return None
    major, minor = (int(v) for v in scipy.__version__.split(".")[:2])
    return scipy.linalg if (major, minor) >= (1, 15) else None


@primitive("linalg_solve_triangular", save=(0,), save_output=True)
def _solve_tri(xp, A, B, upper, unitriangular):
    sl = _scipy_linalg() if xp is np else None
    try:
        if sl is not None:
            return sl.solve_triangular(A, B, lower=not upper, unit_diagonal=unitriangular,
                                       check_finite=False)
        T = xp.triu(A) if upper else xp.tril(A)
        if unitriangular:
            k = xp.arange(A.shape[-1])
            T[..., k, k] = 1
        return xp.linalg.solve(T, B)
    except np.linalg.LinAlgError:
        d = np.diagonal(host(A), axis1=-2, axis2=-1).reshape(-1, A.shape[-1])
        i, k = (int(v) for v in np.argwhere(d == 0)[0]) if (d == 0).any() else (0, 0)
        raise linalg_error("linalg.solve_triangular", A, i, f"The diagonal element {k + 1} is "
                           f"zero, the solve could not be completed because the input matrix "
                           f"is singular.") from None


@_solve_tri.defvjp
def _(ctx, g):
    A, p = ctx.inputs[0], ctx.params
    gB = _solve_tri(mH(A), g, upper=not p["upper"], unitriangular=p["unitriangular"])
    gA = None
    if ctx._next[0] is not None:
        gA = -matmul(gB, mH(ctx.out))
        k = 1 if p["unitriangular"] else 0
        gA = triu(gA, k) if p["upper"] else tril(gA, -k)
    return gA, gB


def solve_triangular(A, B, *, upper, left=True, unitriangular=False, out=None):
    """Solve ``A X = B`` (or ``X A = B``) for triangular ``A``; only its ``upper`` or lower
    triangle is read, and its diagonal is taken as ones when ``unitriangular``."""
    op = "linalg.solve_triangular"
    check_square_float(A, op)
    need_tensor(B, op, "B")
    if B._data.ndim < 2:
        raise RuntimeError(f"{op}: The input tensor B must have at least 2 dimensions.")
    A, B = promote(op, A, B)
    if not left:
        return E._out(mT(solve_triangular(mT(A), mT(B), upper=not upper,
                                          unitriangular=unitriangular)), out)
    n = A._data.shape[-1]
    if B._data.shape[-2] != n:
        raise RuntimeError(f"{op}: Incompatible shapes of A and B for the equation AX = B "
                           f"({n}x{n} and {B._data.shape[-2]}x{B._data.shape[-1]})")
    A, B = _broadcast_batch(op, A, B)
    return E._out(_solve_tri(A, B, upper=upper, unitriangular=unitriangular), out)


def triangular_solve(b, A, upper=True, transpose=False, unitriangular=False, *, out=None):
    """``ember.triangular_solve`` (deprecated in PyTorch): ``(solution, cloned_coefficient)``
    of ``op(A) X = b`` with ``op`` the transpose when ``transpose``."""
    X = solve_triangular(mT(A) if transpose else A, b, upper=upper != transpose,
                         unitriangular=unitriangular)
    return _TriangularSolve(X, A.clone())


# -- determinants --------------------------------------------------------------------------------
@primitive("linalg_det", save_output=True)
def _det(xp, A):
    return as_array(xp, xp.linalg.det(A))


@_det.defvjp
def _(ctx, g):
    """``g * conj(det) * A^-H``; 0 where ``det`` is exactly 0, as in PyTorch."""
    A, d = ctx.inputs[0], _as_matrix(ctx.out)
    scale = _as_matrix(g) * E.conj(d)
    if not bool(A._device.xp.any(d._data == 0)):
        return scale * mH(inv(A))
    Ai = _pinv(A, atol=0.0, rtol=0.0, hermitian=False)  # finite where A is singular
    return E.where(d == 0, 0, scale * mH(Ai))


def _as_matrix(t):
    """``(...)`` -> ``(..., 1, 1)``, to scale a batch of matrices."""
    return unsqueeze(unsqueeze(t, -1), -1)


def det(A, *, out=None):
    """Determinant of a (batch of) square matrices.

    The gradient is ``det(A) * inv(A)^H`` (0 where ``A`` is exactly singular, like PyTorch).

    Example:
        >>> ember.linalg.det(ember.tensor([[1.0, 2.0], [3.0, 4.0]]))
        tensor(-2.)
    """
    check_square_float(A, "linalg.det")
    return E._out(_det(A), out)


@primitive("linalg_slogdet", n_out=2)
def _slogdet(xp, A):
    sign, logabsdet = xp.linalg.slogdet(A)
    return as_array(xp, sign), as_array(xp, logabsdet)


@_slogdet.defvjp
def _(ctx, grads):
    """A real ``sign`` is piecewise constant (gradient 0, as in PyTorch)."""
    A = ctx.inputs[0]
    if A._data.dtype.kind == "c" and not is_zero(grads[0]):
        raise NotImplementedError("linalg.slogdet: the gradient of a complex sign is not "
                                  "supported yet")
    return _as_matrix(grads[1]) * mH(inv(A))


def slogdet(A, *, out=None):
    """``(sign, logabsdet)`` with ``det(A) = sign * exp(logabsdet)``, stable for large or
    tiny determinants (``sign`` is 0 and ``logabsdet`` is -inf for singular ``A``)."""
    check_square_float(A, "linalg.slogdet")
    return _Slogdet(*_slogdet(A))


def logdet(input):
    """``log(det(input))``: NaN for a negative determinant, -inf for a zero one."""
    check_square_float(input, "logdet")
    sign, logabs = _slogdet(input)
    if input._data.dtype.kind == "c":
        return E.log(sign) + logabs
    return E.where(sign < 0, float("nan"), logabs)


# -- pseudo-inverse and least squares ---------------------------------------------------------
@primitive("linalg_pinv", save_output=True)
def _pinv(xp, A, atol, rtol, hermitian):
    if hermitian:
        w, V = xp.linalg.eigh(A)
        keep = _above_cutoff(xp, xp.abs(w), atol, rtol)
        winv = xp.where(keep, 1 / xp.where(keep, w, 1), 0)
        return xp.matmul(V * winv[..., None, :], xp.conj(xp.swapaxes(V, -1, -2)))
    U, S, Vh = xp.linalg.svd(A, full_matrices=False)
    keep = _above_cutoff(xp, S, atol, rtol)
    sinv = xp.where(keep, 1 / xp.where(keep, S, 1), 0).astype(S.dtype)
    return xp.matmul(xp.conj(xp.swapaxes(Vh, -1, -2)) * sinv[..., None, :],
                     xp.conj(xp.swapaxes(U, -1, -2)))


def _above_cutoff(xp, s, atol, rtol):
    """Which of the (non-negative) values ``s`` exceed ``max(atol, rtol * max(s))``."""
    smax = s.max(axis=-1, keepdims=True) if s.shape[-1] else xp.zeros(s.shape[:-1] + (1,))
    cut = xp.maximum(_col(xp, atol), _col(xp, rtol) * smax)
    return s > cut


def _col(xp, v):
    return v if np.isscalar(v) else xp.asarray(v)[..., None]


@_pinv.defvjp
def _(ctx, g):
    """Golub and Pereyra's derivative of the pseudo-inverse (valid where the rank is locally
    constant): -X^H G X^H + (I - A X) G^H X X^H + X^H X G^H (I - X A)."""
    A, X = ctx.inputs[0], ctx.out
    Xh, gh = mH(X), mH(g)
    p1 = matmul(gh, matmul(X, Xh))
    p2 = matmul(matmul(Xh, X), gh)
    return (-matmul(matmul(Xh, g), Xh) + p1 - matmul(A, matmul(X, p1))
            + p2 - matmul(matmul(p2, X), A))


def pinv(A, *, atol=None, rtol=None, hermitian=False, out=None):
    """Moore-Penrose pseudo-inverse, by SVD (or ``eigh`` when ``hermitian``).

    Singular values at or below ``max(atol, rtol * largest)`` count as zero. Without either
    tolerance ``rtol`` is ``eps * max(m, n)``; with only ``atol > 0`` it is 0.
    """
    check_matrix(A, "linalg.pinv")
    atol, rtol = _tolerances(A, atol, rtol)
    return E._out(_pinv(A, atol=atol, rtol=rtol, hermitian=hermitian), out)


def _tolerances(A, atol, rtol):
    def value(v):
        if v is None or np.isscalar(v):
            return v
        return v._data if v._data.ndim else v.item()
    atol, rtol = value(atol), value(rtol)
    default = np.finfo(real_dtype(A._data.dtype)).eps * max(A._data.shape[-2:])
    if rtol is None:
        rtol = default if atol is None or (np.isscalar(atol) and atol <= 0) else 0.0
    return (0.0 if atol is None else atol), rtol


def pinverse(input, rcond=1e-15):
    """``ember.pinverse``: the pseudo-inverse, cutting singular values below ``rcond`` times
    the largest."""
    return pinv(input, rtol=rcond)


_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def lstsq(A, B, rcond=None, *, driver=None):
    """Least-squares solution of ``A X = B``: a named tuple
    ``(solution, residuals, rank, singular_values)`` like ``torch.linalg.lstsq``.

    The solution is ``pinv(A) @ B`` (the minimum-norm one), differentiable in ``A`` and
    ``B``. Which extra fields are filled depends on ``driver`` as in PyTorch: ``rank`` for
    all but ``gels``, ``singular_values`` for ``gelsd``/``gelss``, ``residuals`` (squared
    norms of ``A X - B``) for tall full-rank ``A`` with any driver but ``gelsy``.
    """
    op = "torch.linalg.lstsq"
    check_matrix(A, op)
    need_tensor(B, op, "B")
    driver = "gelsy" if driver is None else driver
    if driver not in _DRIVERS:
        raise RuntimeError(f"{op}: parameter `driver` should be one of (gels, gelsy, gelsd, "
                           f"gelss), got {driver!r}")
    A, B = promote(op, A, B)
    vector = B._data.ndim == A._data.ndim - 1
    Bm = unsqueeze(B, -1) if vector else B
    m, n = A._data.shape[-2:]
    if Bm._data.ndim < 2 or Bm._data.shape[-2] != m:
        raise RuntimeError(f"{op}: input.size(-2) should match other.size(-2): A is "
                           f"{tuple(A._data.shape)} and B is {tuple(B._data.shape)}")
    eps = np.finfo(real_dtype(A._data.dtype)).eps
    rtol = eps * max(m, n) if rcond is None or rcond < 0 else rcond
    X = matmul(_pinv(A, atol=0.0, rtol=rtol, hermitian=False), Bm)
    S, rank = _rank_of(A, rtol)
    xp, dev = A._device.xp, A._device
    empty = _wrap(xp.empty((0,), dtype=S._data.dtype), dev)
    residuals = empty
    if driver != "gelsy" and m > n and (driver == "gels" or bool((rank._data == n).all())):
        r = matmul(A, X) - Bm
        residuals = E.real(r * E.conj(r)).sum(-2)
    return _Lstsq(squeeze(X, -1) if vector else X, residuals,
                  rank if driver != "gels" else _wrap(xp.empty((0,), dtype=np.int64), dev),
                  S if driver in ("gelsd", "gelss") else empty)


def _rank_of(A, rtol, atol=0.0):
    """Singular values (no gradient) and how many exceed ``max(atol, rtol * largest)``."""
    xp = A._device.xp
    S = xp.linalg.svd(A._data, compute_uv=False)
    rank = _above_cutoff(xp, S, atol, rtol).sum(-1).astype(np.int64)
    return _wrap(S, A._device), _wrap(as_array(xp, rank), A._device)


# -- matrix exponential ---------------------------------------------------------------------------
# Pade (13, 13) coefficients and the 1-norm bound it is accurate to (Higham 2005)
_PADE13 = (64764752532480000., 32382376266240000., 7771770303897600., 1187353796428800.,
           129060195264000., 10559470521600., 670442572800., 33522128640., 1323241920.,
           40840800., 960960., 16380., 182., 1.)
_THETA13 = 5.371920351148152


def _expm(xp, A):
    """``exp(A)`` by scaling and squaring with the degree-13 Pade approximant."""
    b = _PADE13
    norm = xp.abs(A).sum(axis=-2).max(axis=-1) if A.size else xp.zeros(A.shape[:-2])
    with np.errstate(divide="ignore", invalid="ignore"):
        s = xp.ceil(xp.log2(norm / _THETA13))
    s = xp.where(xp.isfinite(s) & (s > 0), s, 0).astype(np.int64)
    A = A / (2.0 ** s)[..., None, None].astype(A.dtype)
    eye = xp.eye(A.shape[-1], dtype=A.dtype)
    A2 = A @ A
    A4 = A2 @ A2
    A6 = A4 @ A2
    U = A @ (A6 @ (b[13] * A6 + b[11] * A4 + b[9] * A2) + b[7] * A6 + b[5] * A4 + b[3] * A2
             + b[1] * eye)
    V = A6 @ (b[12] * A6 + b[10] * A4 + b[8] * A2) + b[6] * A6 + b[4] * A4 + b[2] * A2 \
        + b[0] * eye
    R = xp.linalg.solve(V - U, V + U)
    for k in range(int(s.max()) if s.size else 0):
        R = xp.where((s > k)[..., None, None], R @ R, R)
    return R.astype(A.dtype, copy=False)


@primitive("linalg_matrix_exp")
def _matrix_exp(xp, A):
    return _expm(xp, A)


@_matrix_exp.defvjp
def _(ctx, g):
    """The adjoint of the Frechet derivative: the top-right block of
    ``exp([[A^H, G], [0, A^H]])``; written with ``matrix_exp`` itself, so it nests."""
    Ah = mH(ctx.inputs[0])
    n = Ah._data.shape[-1]
    zero = _wrap(Ah._device.xp.zeros(Ah._data.shape, dtype=Ah._data.dtype), Ah._device)
    block = cat([cat([Ah, g], -1), cat([zero, Ah], -1)], -2)
    return getitem(_matrix_exp(block), (Ellipsis, slice(0, n), slice(n, 2 * n)))


def matrix_exp(A):
    """Matrix exponential ``sum_k A^k / k!`` of a (batch of) square matrices.

    Example:
        >>> ember.linalg.matrix_exp(ember.zeros(2, 2))
        tensor([[1., 0.],
                [0., 1.]])
    """
    check_square_float(A, "linalg.matrix_exp")
    return _matrix_exp(A)
