"""Norms, condition numbers, ranks and pairwise distances.

All are composites: vector norms come from the reduction family (``reduce._vector_norm``,
which is also ``ember.norm``'s), matrix norms from sums, ``amax``/``amin`` and singular
values, so their gradients (ties split evenly, zero where a norm is zero) come for free.
"""

import math

import numpy as np

from ember._tensor import _wrap
from ember.ops import elementwise as E
from ember.ops._linalg_util import LinAlgError, check_matrix, check_square, mT, need_tensor
from ember.ops._util import promote, wrap_dim
from ember.ops.linalg import matmul
from ember.ops.linalg_decomp import eigvalsh, svdvals
from ember.ops.linalg_solve import _above_cutoff, _tolerances, inv, inv_ex
from ember.ops.reduce import _vector_norm, amax, amin, reduce_dims
from ember.ops.reduce import sum as _sum
from ember.ops.views import expand, movedim, squeeze, unsqueeze

__all__ = ["cdist", "dist"]

_INF = math.inf


def _float_input(x, op):
    need_tensor(x, op, "x")
    if x._data.dtype.kind not in "fcV":
        from ember import _dtype
        raise RuntimeError(f"{op}: Expected a floating point or complex tensor as input. Got "
                           f"{_dtype.scalar_name(x.dtype)}")


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None, out=None):
    """``sum(|x|^ord)^(1/ord)`` over ``dim`` (all dims by default).

    ``ord`` is any number: ``inf``/``-inf`` give ``max``/``min`` of ``|x|``, 0 the number of
    non-zeros. The result is real; its gradient is 0 where the norm is 0.

    Example:
        >>> ember.linalg.vector_norm(ember.tensor([3.0, -4.0]))
        tensor(5.)
    """
    _float_input(x, "linalg.vector_norm")
    if isinstance(ord, str) or isinstance(ord, bool):
        raise RuntimeError(f"linalg.vector_norm: ord must be a number, got {ord!r}")
    if dtype is not None:
        x = x.to(dtype)
    dims = reduce_dims(x, dim, "linalg.vector_norm")
    return E._out(_vector_norm(x, ord, dims, keepdim), out)


_MATRIX_ORDS = ("fro", "nuc", _INF, -_INF, 1, -1, 2, -2)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None, out=None):
    """Matrix norm over the two dims ``dim``: ``'fro'`` (default), ``'nuc'`` (sum of singular
    values), 2 / -2 (largest / smallest singular value), 1 / -1 (max / min column sum of
    ``|A|``), ``inf`` / ``-inf`` (max / min row sum)."""
    op = "linalg.matrix_norm"
    need_tensor(A, op)
    if A._data.ndim < 2:
        raise RuntimeError(f"{op}: The input tensor A must have at least 2 dimensions.")
    _float_input(A, op)
    if ord not in _MATRIX_ORDS:
        raise RuntimeError(f"{op}: Order {ord} not supported.")
    d0, d1 = (wrap_dim(d, A._data.ndim, op) for d in dim)
    if d0 == d1:
        raise RuntimeError(f"{op}: dims must be different. Got ({dim[0]}, {dim[1]})")
    if dtype is not None:
        A = A.to(dtype)
    if ord == "fro":
        res = _vector_norm(A, 2, tuple(sorted((d0, d1))), keepdim)
    elif ord in ("nuc", 2, -2):
        s = svdvals(movedim(A, (d0, d1), (-2, -1)))
        res = _sum(s, -1) if ord == "nuc" else (amax if ord == 2 else amin)(s, -1)
        if keepdim:
            for d in sorted((d0, d1)):
                res = unsqueeze(res, d)
    else:
        rows, cols = (d0, d1) if ord in (1, -1) else (d1, d0)  # sum over rows, pick a column
        pick = amax if ord > 0 else amin
        res = pick(_sum(E.abs(A), rows, keepdim=True), cols, keepdim=True)
        if not keepdim:
            res = squeeze(res, (d0, d1))
    return E._out(res, out)


def linalg_norm(A, ord=None, dim=None, keepdim=False, *, dtype=None, out=None):
    """``ember.linalg.norm``: a vector norm over one dim, a matrix norm over two.

    Without ``dim``: with ``ord`` None the 2-norm of all elements; otherwise ``A`` must be
    1-D (vector norm) or 2-D (matrix norm).
    """
    op = "linalg.norm"
    need_tensor(A, op)
    if isinstance(dim, int):
        dim = (dim,)
    if dim is None:
        if ord is None:
            return vector_norm(A, 2, None, keepdim, dtype=dtype, out=out)
        if A._data.ndim not in (1, 2):
            raise RuntimeError(f"{op}: If dim is not specified but ord is, the input must be 1D "
                               f"or 2D. Got {A._data.ndim}D.")
        dim = tuple(range(A._data.ndim))
    if len(dim) == 1 and not isinstance(ord, str):
        return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype, out=out)
    if len(dim) != 2:
        raise RuntimeError(f"{op}: If dim is specified, it must be of length 1 or 2. Got "
                           f"{list(dim)}")
    return matrix_norm(A, "fro" if ord is None else ord, dim, keepdim, dtype=dtype, out=out)


def dist(input, other, p=2):
    """``vector_norm(input - other, p)``: the p-norm distance between two tensors."""
    return vector_norm(E.sub(input, other), p)


def cond(A, p=None, *, out=None):
    """Condition number of ``A`` in the norm ``p``: ``sigma_max / sigma_min`` by default
    (``p`` None or 2; -2 inverts it), else ``norm(A, p) * norm(inv(A), p)`` (inf where ``A``
    is singular)."""
    op = "linalg.cond"
    check_matrix(A, op)
    if p in (None, 2, -2):
        s = svdvals(A)
        first, last = s[..., 0], s[..., -1]
        with np.errstate(divide="ignore", invalid="ignore"):  # singular: inf (or NaN for 0)
            return E._out(first / last if p != -2 else last / first, out)
    if p not in _MATRIX_ORDS:
        raise RuntimeError(f"{op}: Order {p} not supported.")
    check_square(A, op)
    try:
        return E._out(matrix_norm(A, p) * matrix_norm(inv(A), p), out)
    except LinAlgError:
        Ai, info = inv_ex(A)
        res = matrix_norm(A, p) * matrix_norm(Ai, p)
        return E._out(E.where(info > 0, _INF, res), out)


def matrix_rank(A, tol=None, hermitian=False, *, atol=None, rtol=None, out=None):
    """Number of singular values above ``max(atol, rtol * largest)`` (int64).

    Tolerances default like :func:`ember.linalg.pinv`; ``tol`` is the deprecated ``atol``.
    """
    check_matrix(A, "linalg.matrix_rank")
    atol, rtol = _tolerances(A, tol if atol is None else atol, rtol)
    xp = A._device.xp
    if hermitian:
        s = xp.abs(eigvalsh(A.detach())._data)
    else:
        s = svdvals(A.detach())._data
    rank = _above_cutoff(xp, s, atol, rtol).sum(-1).astype(np.int64)
    return E._out(_wrap(xp.asarray(rank), A._device), out)


_CDIST_MODES = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                "donot_use_mm_for_euclid_dist")


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """p-norm distances between the rows of ``x1`` ``(*, P, M)`` and ``x2`` ``(*, R, M)``:
    ``(*, P, R)``. For ``p = 2`` with more than 25 rows, the distances come from matrix
    products (faster, slightly less accurate), as in PyTorch."""
    for name, x in (("X1", x1), ("X2", x2)):
        need_tensor(x, "cdist", name.lower())
        if x._data.ndim < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: "
                               f"{x._data.ndim}D")
    if x1._data.shape[-1] != x2._data.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: "
                           f"{x1._data.shape[-1]} X2: {x2._data.shape[-1]}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    if compute_mode not in _CDIST_MODES:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    x1, x2 = promote("cdist", x1, x2)
    if x1._data.dtype.kind not in "fV":
        raise RuntimeError(f"cdist only supports floating-point dtypes, X1 got: {x1.dtype}")
    x1, x2 = _broadcast_rows(x1, x2)
    P, R = x1._data.shape[-2], x2._data.shape[-2]
    use_mm = p == 2 and (compute_mode == _CDIST_MODES[1] or
                         compute_mode == _CDIST_MODES[0] and (P > 25 or R > 25))
    if use_mm:
        sq = _sum(x1 * x1, -1, keepdim=True) + unsqueeze(_sum(x2 * x2, -1), -2) \
            - 2 * matmul(x1, mT(x2))
        return E.sqrt(E.clamp(sq, min=1e-30))  # clamped: gradient 0 at zero distance
    return _vector_norm(unsqueeze(x1, -2) - unsqueeze(x2, -3), p, (x1._data.ndim,), False)


def _broadcast_rows(x1, x2):
    try:
        batch = np.broadcast_shapes(x1._data.shape[:-2], x2._data.shape[:-2])
    except ValueError:
        raise RuntimeError(f"cdist: the batch dims of X1 {tuple(x1._data.shape[:-2])} and X2 "
                           f"{tuple(x2._data.shape[:-2])} cannot be broadcast") from None
    return tuple(x if x._data.shape[:-2] == batch else expand(x, batch + x._data.shape[-2:])
                 for x in (x1, x2))

