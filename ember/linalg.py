"""``ember.linalg``: linear algebra with ``torch.linalg``'s names, arguments and results.

Everything here is implemented in ``ember/ops/linalg*.py`` (products, solves and inverses,
factorisations, norms); this module is the public namespace. Functions take batches of
matrices (leading dims), return named tuples where PyTorch does, and raise
:class:`LinAlgError` (a ``RuntimeError``) for singular or non-positive-definite input.

Example:
    >>> import ember
    >>> A = ember.tensor([[4.0, 2.0], [2.0, 3.0]])
    >>> ember.linalg.cholesky(A)
    tensor([[2.0000, 0.0000],
            [1.0000, 1.4142]])
"""

from ember.ops import views as _views
from ember.ops._linalg_util import LinAlgError
from ember.ops.linalg import (linalg_cross as cross, matmul, matrix_power, multi_dot,
                              vander, vecdot)
from ember.ops.linalg_decomp import (cholesky_ex, eig, eigh, eigvals, eigvalsh, svdvals,
                                     linalg_cholesky as cholesky, linalg_qr as qr,
                                     linalg_svd as svd)
from ember.ops.linalg_lu import (linalg_lu as lu, linalg_lu_solve as lu_solve, lu_factor,
                                 lu_factor_ex)
from ember.ops.linalg_norms import cond, linalg_norm as norm, matrix_norm, matrix_rank, \
    vector_norm
from ember.ops.linalg_solve import (det, inv, inv_ex, lstsq, matrix_exp, pinv, slogdet, solve,
                                    solve_ex, solve_triangular, tensorinv, tensorsolve)

__all__ = ["LinAlgError", "cholesky", "cholesky_ex", "cond", "cross", "det", "diagonal", "eig",
           "eigh", "eigvals", "eigvalsh", "inv", "inv_ex", "lstsq", "lu",
           "lu_factor", "lu_factor_ex", "lu_solve", "matmul", "matrix_exp",
           "matrix_norm", "matrix_power", "matrix_rank", "multi_dot", "norm", "pinv", "qr",
           "slogdet", "solve", "solve_ex", "solve_triangular", "svd", "svdvals", "tensorinv",
           "tensorsolve", "vander", "vecdot", "vector_norm"]


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    """``ember.diagonal`` with the matrix dims (the last two) as defaults: a view."""
    return _views.diagonal(A, offset, dim1, dim2)
