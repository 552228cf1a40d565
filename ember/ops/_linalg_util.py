"""Helpers shared by the linear-algebra files: argument checks, LAPACK errors, and small
matrix building blocks (``mT``, ``mH``, ``eye_like``, ``diagonal``; ``tril``, ``triu`` and
``diag_embed`` come from the shape family) written in ember ops so gradient rules that use
them stay differentiable.
"""

import numpy as np

from ember import _dtype
from ember._tensor import Tensor, _wrap
from ember.ops import elementwise as E
from ember.ops import views
from ember.ops.shape import diag_embed, tril, triu  # noqa: F401  (re-exported)
from ember.ops.views import transpose


class LinAlgError(RuntimeError):
    """A linear-algebra routine failed on its input (singular or not positive-definite).

    ``ember.linalg.LinAlgError``, like ``torch.linalg.LinAlgError``, is a ``RuntimeError``.
    """


# -- argument checks --------------------------------------------------------------------------
def need_tensor(x, op, name="A"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument '{name}' must be Tensor, not {type(x).__name__}")


def check_matrix(A, op, name="A"):
    """A stack of matrices of a floating or complex dtype NumPy's LAPACK supports."""
    need_tensor(A, op, name)
    if A._data.ndim < 2:
        raise RuntimeError(f"{op}: The input tensor {name} must have at least 2 dimensions.")
    kind, size = A._data.dtype.kind, A._data.dtype.itemsize
    if kind not in "fcV":
        raise RuntimeError(f"{op}: Expected a floating point or complex tensor as input. Got "
                           f"{_dtype.scalar_name(A.dtype)}")
    if kind == "V" or (kind == "f" and size < 4):
        raise RuntimeError(f"{op}: Low precision dtypes not supported. Got "
                           f"{_dtype.scalar_name(A.dtype)}")


def check_square(A, op, name="A"):
    """PyTorch's errors for an argument that must be a stack of square matrices."""
    need_tensor(A, op, name)
    if A._data.ndim < 2:
        raise RuntimeError(f"{op}: The input tensor {name} must have at least 2 dimensions.")
    if A._data.shape[-1] != A._data.shape[-2]:
        raise RuntimeError(f"{op}: {name} must be batches of square matrices, but they are "
                           f"{A._data.shape[-2]} by {A._data.shape[-1]} matrices")


def check_square_float(A, op, name="A"):
    check_square(A, op, name)
    check_matrix(A, op, name)


def complex_dtype(np_dtype):
    """The complex dtype matching a real one (complex dtypes map to themselves)."""
    return np.result_type(np_dtype, np.complex64)


def real_dtype(np_dtype):
    """The real dtype matching a complex one (real dtypes map to themselves)."""
    return np.empty(0, np_dtype).real.dtype


# -- LAPACK failures ---------------------------------------------------------------------------
def failing_element(A, fn):
    """Index (into the flattened batch) and matrix of the first one on which ``fn`` raises."""
    flat = host(A).reshape((-1,) + A.shape[-2:])
    for i, a in enumerate(flat):
        try:
            fn(a)
        except np.linalg.LinAlgError:
            return i, a
    return 0, flat[0]


def linalg_error(op, A, i, msg):
    """``LinAlgError`` naming the op and, for a batch, the failing element (like PyTorch)."""
    where = f"(Batch element {i}): " if A.ndim > 2 else ""
    return LinAlgError(f"{op}: {where}{msg}")


def zero_pivot(a):
    """1-based index of the first zero pivot of LU with partial pivoting (0 if none)."""
    a = np.array(a, dtype=np.result_type(a.dtype, np.float64))
    for k in range(a.shape[0]):
        p = k + int(np.argmax(np.abs(a[k:, k])))
        if a[p, k] == 0:
            return k + 1
        a[[k, p]] = a[[p, k]]
        a[k + 1:, k:] -= np.outer(a[k + 1:, k] / a[k, k], a[k, k:])
    return 0


def singular_msg(a, what):
    k = zero_pivot(a)
    lead = f"The diagonal element {k} is zero, the" if k else "The"
    return f"{lead} {what} could not be completed because the input matrix is singular."


def host(a):
    return a if isinstance(a, np.ndarray) else a.get()


# -- matrix building blocks in ember ops --------------------------------------------------------
def mT(x):
    """The transpose of the last two dims (a view)."""
    return transpose(x, -1, -2)


def mH(x):
    """The conjugate transpose of the last two dims."""
    return E.conj(transpose(x, -1, -2))


def eye_like(x, n=None):
    """A constant ``n x n`` identity with ``x``'s dtype and device (``n``: x's last dim)."""
    n = x._data.shape[-1] if n is None else n
    return _wrap(x._device.xp.eye(n, dtype=x._data.dtype), x._device)


def diagonal(x):
    """The main diagonals of the last two dims, ``(..., min(n, m))`` (a view)."""
    return views.diagonal(x, 0, -2, -1)


def is_zero(g):
    """True for a gradient that is identically zero and carries no graph (a filled-in
    placeholder for an output nobody used): rules skip its terms, which may be 0 * inf."""
    return not g._requires_grad and not bool(g._device.xp.any(g._data))


def as_array(xp, v):
    """A forward's result as an array (NumPy returns scalars for single matrices)."""
    return v if hasattr(v, "shape") and not np.isscalar(v) else xp.asarray(v)
