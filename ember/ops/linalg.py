"""Matrix products (BLAS through xp.matmul)."""

from ember._tensor import Tensor
from ember.ops._registry import primitive
from ember.ops._util import promote
from ember.ops.views import unsqueeze, squeeze, transpose


def _shape_err(x, y):
    return RuntimeError(f"matmul: cannot multiply {tuple(x.shape)} by {tuple(y.shape)}: inner "
                        f"sizes {x.shape[-1]} and {y.shape[-2] if y.ndim > 1 else y.shape[0]} "
                        f"differ")


@primitive("matmul")
def _matmul(xp, x, y):
    return xp.matmul(x, y)


@_matmul.defvjp
def _(ctx, g):
    x, y = ctx.inputs
    gx = gy = None
    if ctx._next[0] is not None:
        gx = _matmul(g, _mT(y).conj() if y._data.dtype.kind == "c" else _mT(y))
    if ctx._next[1] is not None:
        gy = _matmul(_mT(x).conj() if x._data.dtype.kind == "c" else _mT(x), g)
    return gx, gy


def _mT(t):
    return transpose(t, -1, -2)


def matmul(input, other, *, out=None):
    """Matrix product with NumPy's broadcasting rules (1-d operands are promoted/squeezed)."""
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):
        raise TypeError("matmul(): arguments must be Tensors")
    x, y = input, other
    if x._data.ndim == 0 or y._data.ndim == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are "
                           f"{x._data.ndim}D and {y._data.ndim}D")
    kx = x._data.shape[-1]
    ky = y._data.shape[-2] if y._data.ndim > 1 else y._data.shape[0]
    if kx != ky:
        raise _shape_err(x, y)
    if x._data.dtype != y._data.dtype:
        x, y = promote("matmul", x, y)
    if x._data.ndim == 1 and y._data.ndim == 1:
        return squeeze(_matmul(unsqueeze(x, 0), unsqueeze(y, 1)), (0, 1))
    if x._data.ndim == 1:
        return squeeze(_matmul(unsqueeze(x, 0), y), -2)
    if y._data.ndim == 1:
        return squeeze(_matmul(x, unsqueeze(y, 1)), -1)
    try:
        return _matmul(x, y)
    except ValueError:
        raise RuntimeError(f"matmul: shapes {tuple(x.shape)} and {tuple(y.shape)} cannot be "
                           f"broadcast in their batch dims") from None
