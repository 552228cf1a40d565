"""Views between complex and real tensors (view_as_real, view_as_complex), writing a tensor
into a slice of another (select_scatter, slice_scatter), renorm, and a few Tensor methods
(sum_to_size, fill_diagonal_, new_empty_strided, is_signed).

The primitives are the two views (zero-copy, with their own vjps) and the slice scatters.
"""

import builtins

import numpy as np

from ember import _dtype
from ember._tensor import _wrap
from ember.backend import compat
from ember.ops._registry import primitive
from ember.ops._util import commit_inplace, wrap_dim
from ember.ops.creation import empty_strided
from ember.ops.elementwise import (complex as _complex, full_like_, imag, positive, real, where)
from ember.ops.index import _need_tensor, _type_name
from ember.ops.linalg_norms import vector_norm
from ember.ops.reduce import sum_to
from ember.ops.shape import (select, split_with_sizes, stack)
from ember.ops.views import _shape_args, getitem

__all__ = ["view_as_real", "view_as_complex", "select_scatter", "slice_scatter", "renorm",
           "is_signed"]
METHODS = ["select_scatter", "slice_scatter", "renorm", "sum_to_size", "split_with_sizes",
           "positive", "is_signed", "fill_diagonal_", "new_empty_strided"]
INPLACE = ["renorm"]


# -- complex <-> real views ------------------------------------------------------------------------
@primitive("view_as_real", save="none", view=True)
def _view_as_real(xp, x):
    re = x.real  # a float view of the same memory, with x's strides
    return compat.as_strided(xp, re, x.shape + (2,), x.strides + (re.itemsize,))


_view_as_real.defvjp(lambda ctx, g: (_complex(select(g, -1, 0), select(g, -1, 1)),))


@primitive("view_as_complex", save="none", view=True)
def _view_as_complex(xp, x):
    return x.view(np.result_type(x.dtype, np.complex64))[..., 0]


_view_as_complex.defvjp(lambda ctx, g: (stack([real(g), imag(g)], -1),))


def view_as_real(input):
    """A real view of complex ``input`` with a last dim of size 2 holding (real, imag);
    it shares memory with ``input``.

    Example:
        >>> import ember
        >>> ember.view_as_real(ember.tensor([1 + 2j]))
        tensor([[1., 2.]])
    """
    _need_tensor(input, "view_as_real", "input")
    if input._data.dtype.kind != "c":
        raise RuntimeError("view_as_real is only supported for complex tensors")
    return _view_as_real(input)


def view_as_complex(input):
    """A complex view of float ``input`` whose last dim (size 2, stride 1) holds (real, imag);
    it shares memory with ``input``.

    Example:
        >>> import ember
        >>> ember.view_as_complex(ember.tensor([[1., 2.]]))
        tensor([1.+2.j])
    """
    _need_tensor(input, "view_as_complex", "input")
    dt = input._data.dtype
    if dt not in (np.float32, np.float64):
        raise RuntimeError(f"view_as_complex is only supported for float and double tensors "
                           f"(ember has no complex32), but got a tensor of scalar type: "
                           f"{_type_name(input)}")
    if input._data.ndim == 0 or input._data.shape[-1] != 2:
        raise RuntimeError("Tensor must have a last dimension of size 2")
    strides = input.stride()
    if strides[-1] != 1:
        raise RuntimeError("Tensor must have a last dimension with stride 1")
    if any(s % 2 for s in strides[:-1]):
        raise RuntimeError("Tensor must have a stride divisible by 2 for all but last dimension")
    if input.storage_offset() % 2:
        raise RuntimeError("Tensor must have a storage_offset divisible by 2")
    return _view_as_complex(input)


# -- writing into slices -----------------------------------------------------------------------
def _scatter_primitive(name):
    @primitive(name, save="none")
    def prim(xp, x, src, key):
        out = x.copy()
        out[key] = src
        return out

    @prim.defvjp
    def _(ctx, g):
        key = ctx.params["key"]
        gx = prim(g, 0, key=key) if ctx._next[0] is not None else None
        gs = getitem(g, key) if ctx._next[1] is not None else None
        return gx, gs
    return prim


_select_scatter = _scatter_primitive("select_scatter")
_slice_scatter = _scatter_primitive("slice_scatter")


def _scatter_into(prim, input, src, key, op):
    _need_tensor(input, op, "input")
    _need_tensor(src, op, "src")
    want = getitem(input.detach(), key)._data.shape
    if src._data.shape != want:
        raise RuntimeError(f"{op}(): expected src to have a size equal to the slice of self. "
                           f"src size = {list(src._data.shape)}, slice size = {list(want)}")
    return prim(input, src, key=key)


def select_scatter(input, src, dim, index):
    """A copy of ``input`` with ``src`` written into ``input.select(dim, index)``.

    Example:
        >>> import ember
        >>> ember.select_scatter(ember.zeros(2, 2), ember.ones(2), 0, 0)
        tensor([[1., 1.],
                [0., 0.]])
    """
    _need_tensor(input, "select_scatter", "input")
    d = wrap_dim(dim, input._data.ndim, "select_scatter")
    n = input._data.shape[d]
    if not -n <= index < n:
        raise IndexError(f"select_scatter(): index {index} out of range for tensor of size "
                         f"{list(input._data.shape)} at dimension {d}")
    key = (slice(None),) * d + (int(index) % n,)
    return _scatter_into(_select_scatter, input, src, key, "select_scatter")


def slice_scatter(input, src, dim=0, start=None, end=None, step=1):
    """A copy of ``input`` with ``src`` written into the slice ``start:end:step`` of ``dim``.

    Example:
        >>> import ember
        >>> ember.slice_scatter(ember.zeros(2, 4), ember.ones(2, 2), 1, 0, None, 2)
        tensor([[1., 0., 1., 0.],
                [1., 0., 1., 0.]])
    """
    _need_tensor(input, "slice_scatter", "input")
    d = wrap_dim(dim, input._data.ndim, "slice_scatter")
    if step <= 0:
        raise RuntimeError(f"slice_scatter(): slice step must be positive, got {step}")
    key = (slice(None),) * d + (slice(start, end, step),)
    return _scatter_into(_slice_scatter, input, src, key, "slice_scatter")


# -- norms and sums ----------------------------------------------------------------------------
def renorm(input, p, dim, maxnorm):
    """Rescale each slice ``input.select(dim, i)`` whose ``p``-norm exceeds ``maxnorm`` to
    norm ``maxnorm`` (``x * maxnorm / (norm + 1e-7)``); other slices are unchanged.

    Example:
        >>> import ember
        >>> ember.renorm(ember.tensor([[3., 4.], [0.3, 0.4]]), 2, 0, 1.)
        tensor([[0.6000, 0.8000],
                [0.3000, 0.4000]])
    """
    _need_tensor(input, "renorm", "input")
    nd = input._data.ndim
    if nd < 2:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {nd} dimensions")
    if p <= 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    if input._data.dtype.kind not in "fcV":
        raise RuntimeError(f"renorm: Expected a floating point or complex tensor as input. Got "
                           f"{_type_name(input)}")
    d = wrap_dim(dim, nd, "renorm")
    norm = vector_norm(input, p, tuple(k for k in builtins.range(nd) if k != d), keepdim=True)
    return input * where(norm > maxnorm, maxnorm / (norm + 1e-7), 1.0)


def sum_to_size(self, *size):
    """Sum this tensor down to ``size`` (which must broadcast to this tensor's shape).

    Example:
        >>> import ember
        >>> ember.ones(2, 3).sum_to_size(1, 3)
        tensor([[2., 2., 2.]])
    """
    size = _shape_args(size)
    shape = self._data.shape
    if len(size) > len(shape) or any(s != t and s != 1 for s, t in
                                     zip(reversed(size), reversed(shape))):
        raise RuntimeError(f"sum_to_size: size {{{list(size)}}} is not expandable to size "
                           f"{{{list(shape)}}}.")
    return self if size == shape else sum_to(self, size)


def is_signed(input):
    """Whether ``input``'s dtype is signed (everything but bool and uint8... uint64).

    Example:
        >>> import ember
        >>> ember.is_signed(ember.tensor([1], dtype=ember.uint8))
        False
    """
    _need_tensor(input, "is_signed", "input")
    return bool(_dtype.from_numpy_dtype(input._data.dtype).is_signed)


# -- Tensor methods ------------------------------------------------------------------------------
def fill_diagonal_(self, fill_value, wrap=False):
    """Fill the main diagonal (all indices equal) with ``fill_value`` in place; a tall matrix
    with ``wrap=True`` starts the diagonal again after every ``ncols + 1`` rows.

    Example:
        >>> import ember
        >>> ember.zeros(2, 3).fill_diagonal_(5.)
        tensor([[5., 0., 0.],
                [0., 5., 0.]])
    """
    shape = self._data.shape
    if len(shape) < 2:
        raise RuntimeError("fill_diagonal_: dimensions must larger than 1")
    if len(shape) > 2 and len(set(shape)) != 1:
        raise RuntimeError("fill_diagonal_: all dimensions of input must be of equal length")
    mask = np.zeros(int(np.prod(shape)), dtype=bool)
    if len(shape) == 2:
        rows, cols = shape
        mask[:None if wrap or rows <= cols else cols * cols:cols + 1] = True
    else:
        mask[::builtins.sum(shape[0] ** k for k in builtins.range(len(shape)))] = True
    m = _wrap(compat.on(self._device.xp, mask.reshape(shape)), self._device)
    return commit_inplace(self, lambda x: where(m, full_like_(x, fill_value), x),
                          op="fill_diagonal_")


def new_empty_strided(self, size, stride, *, dtype=None, device=None, requires_grad=False,
                      layout=None, pin_memory=False):
    """An uninitialised tensor with the given sizes and strides, and this tensor's dtype and
    device unless given."""
    return empty_strided(size, stride, dtype=dtype or self.dtype,
                         device=device or self.device, requires_grad=requires_grad)


_ = (positive, split_with_sizes)  # bound as Tensor methods (METHODS)
