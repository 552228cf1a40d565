"""Numerical utilities: differences and integrals (diff, gradient, trapezoid), statistics (cov,
corrcoef, histogram), combinatorics (cartesian_prod, combinations), block/Vandermonde matrices
and directional splits. (Complex/real views, slice scatters and a few Tensor methods are in
``numeric_views.py``.)

Almost everything is a composite of differentiable ember ops (so gradients of any order come
free); the primitives are the non-differentiable ``isin`` and ``histogram`` counts.
"""

import builtins
import itertools
import warnings

import numpy as np

from ember import _dtype
from ember._tensor import Tensor, _wrap
from ember.backend import compat
from ember.ops._registry import primitive
from ember.ops._util import dims_arg, result_type_of, wrap_dim
from ember.ops.creation import linspace
from ember.ops.elementwise import (cast, clamp, complex as _complex, conj, imag, ne,
                                   real, sqrt)
from ember.ops.index import _need_tensor, _type_name, index_select
from ember.ops.linalg import matmul
from ember.ops.reduce import result_type, sum as _sum, mean
from ember.ops.scan import cumprod, cumsum
from ember.ops.shape import (cat, flip, meshgrid, narrow, stack,
                             tensor_split)
from ember.ops.views import reshape, squeeze, transpose, unsqueeze

__all__ = ["diff", "cartesian_prod", "combinations", "block_diag", "cov", "corrcoef", "isin",
           "unravel_index", "trapezoid", "trapz", "cumulative_trapezoid", "vander", "hsplit",
           "vsplit", "dsplit", "histogram", "gradient"]
METHODS = ["diff", "cov", "corrcoef", "hsplit", "vsplit", "dsplit", "histogram"]
INPLACE = []

_HistogramResult = result_type("histogram", ("hist", "bin_edges"))


def _zeros(shape, np_dtype, like):
    return _wrap(like._device.xp.zeros(shape, dtype=np_dtype), like._device)


def _floating(x):
    """``x`` itself if floating or complex, else cast to the default float dtype."""
    if x._data.dtype.kind in "fcV":
        return x
    return cast(x, _dtype.get_default_dtype().np)


def _along(t, d, nd):
    """1-d ``t`` reshaped to broadcast along dim ``d`` of an ``nd``-dim tensor."""
    shape = [1] * nd
    shape[d] = -1
    return reshape(t, tuple(shape))


# -- differences ---------------------------------------------------------------------------------
def diff(input, n=1, dim=-1, prepend=None, append=None):
    """The ``n``-th forward difference along ``dim`` (``out[i] = x[i + 1] - x[i]``);
    ``prepend``/``append`` are joined to ``input`` along ``dim`` first. Bool tensors give
    ``x[i + 1] != x[i]``.

    Example:
        >>> import ember
        >>> ember.diff(ember.tensor([1, 3, 7, 8]))
        tensor([2, 4, 1])
    """
    _need_tensor(input, "diff", "input")
    nd = input._data.ndim
    if nd == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    d = wrap_dim(dim, nd, "diff")
    parts = [input]
    for extra, first in ((prepend, True), (append, False)):
        if extra is None:
            continue
        _need_tensor(extra, "diff", "prepend" if first else "append")
        if extra._data.ndim != nd:
            raise RuntimeError("diff expects prepend or append to be the same dimension as input")
        for k, (a, b) in enumerate(zip(input._data.shape, extra._data.shape)):
            if k != d and a != b:
                raise RuntimeError(f"diff expects the shape of tensor to prepend or append to "
                                   f"match that of input except along the differencing "
                                   f"dimension; input.size({k}) = {a}, but got tensor.size({k}) "
                                   f"= {b}")
        parts.insert(0 if first else len(parts), extra)
    x = cat(parts, d) if len(parts) > 1 else input
    for _ in builtins.range(n):
        m = x._data.shape[d]
        if m == 0:
            break
        hi, lo = narrow(x, d, 1, m - 1), narrow(x, d, 0, m - 1)
        x = ne(hi, lo) if x._data.dtype == np.bool_ else hi - lo
    return x


def gradient(input, *, spacing=1, dim=None, edge_order=1):
    """Estimate the derivative of ``input`` along each of ``dim`` (all dims by default) with
    second-order central differences inside and one-sided differences of order
    ``edge_order`` (1 or 2) at the ends. ``spacing`` is a scalar step, one step per dim, or
    one 1-d tensor of sample coordinates per dim. Returns one tensor per dim.

    Example:
        >>> import ember
        >>> ember.gradient(ember.tensor([1., 4., 9., 16.]))
        (tensor([3., 4., 6., 7.]),)
    """
    _need_tensor(input, "gradient", "input")
    nd = input._data.ndim
    if edge_order not in (1, 2):
        raise RuntimeError("torch.gradient only supports edge_order=1 and edge_order=2.")
    dims = list(builtins.range(nd)) if dim is None else (
        [wrap_dim(dim, nd, "gradient")] if isinstance(dim, int) else list(dim))
    if dim is not None and not isinstance(dim, int):
        dims_arg(dims, nd, "gradient")  # raises on repeats
        dims = [wrap_dim(d, nd, "gradient") for d in dims]
    if isinstance(spacing, (list, tuple)):
        if len(spacing) != len(dims):
            raise RuntimeError(
                f"torch.gradient expected spacing to be unspecified, a scalar, or a list of "
                f"length equal to 'self.dim() = {nd}', since dim argument was not given, but got "
                f"a list of length {len(spacing)}" if dim is None else
                f"torch.gradient expected spacing to be unspecified, a scalar or it's spacing "
                f"and dim arguments to have the same length, but got a spacing argument of "
                f"length {len(spacing)} and a dim argument of length {len(dims)}.")
        steps = list(spacing)
        for s in steps:
            if isinstance(s, Tensor) and s._data.ndim != 1:
                raise RuntimeError(f"torch.gradient expected each element of spacing to have one "
                                   f"dimension, but got an element with {s._data.ndim} "
                                   f"dimensions!")
    else:
        steps = [spacing.item() if isinstance(spacing, Tensor) else spacing] * len(dims)
    for d, s in zip(dims, steps):
        if input._data.shape[d] < edge_order + 1:
            raise RuntimeError("torch.gradient expected each dimension size to be at least "
                               "edge_order+1")
        if isinstance(s, Tensor) and s._data.shape[0] != input._data.shape[d]:
            raise RuntimeError(f"torch.gradient expected the coordinates of dim {d} to have "
                               f"{input._data.shape[d]} values, but got {s._data.shape[0]}")
    f = _floating(input)
    return tuple(_gradient_along(f, d, s, edge_order) for d, s in zip(dims, steps))


def _gradient_along(f, d, h, order):
    n = f._data.shape[d]

    def at(i, length=1):
        return narrow(f, d, i % n, length)
    if isinstance(h, Tensor):  # sample coordinates: NumPy's non-uniform formulas
        dx = _floating(diff(h))
        dx1, dx2 = _along(dx[:-1], d, f.ndim), _along(dx[1:], d, f.ndim)
        inner = (-dx2 / (dx1 * (dx1 + dx2)) * at(0, n - 2) + (dx2 - dx1) / (dx1 * dx2) *
                 at(1, n - 2) + dx1 / (dx2 * (dx1 + dx2)) * at(2, n - 2))
        if order == 1:
            first, last = (at(1) - at(0)) / dx[0], (at(-1) - at(-2)) / dx[-1]
        else:
            a, b = dx[0], dx[1]
            first = (-(2 * a + b) / (a * (a + b)) * at(0) + (a + b) / (a * b) * at(1)
                     - a / (b * (a + b)) * at(2))
            a, b = dx[-2], dx[-1]
            last = (b / (a * (a + b)) * at(-3) - (a + b) / (a * b) * at(-2)
                    + (2 * b + a) / (b * (a + b)) * at(-1))
    else:
        inner = (at(2, n - 2) - at(0, n - 2)) / (2 * h)
        if order == 1:
            first, last = (at(1) - at(0)) / h, (at(-1) - at(-2)) / h
        else:
            first = (-1.5 * at(0) + 2 * at(1) - 0.5 * at(2)) / h
            last = (0.5 * at(-3) - 2 * at(-2) + 1.5 * at(-1)) / h
    return cat([first, inner, last], d)


# -- integrals ---------------------------------------------------------------------------------
def _trapezoids(op, y, x, dx, dim):
    """The areas of the trapezoids under ``y`` along ``dim`` (and that dim)."""
    _need_tensor(y, op, "y")
    if x is not None and dx is not None:
        raise TypeError(f"{op}(): pass either x (sample points) or dx (spacing), not both")
    if y._data.ndim == 0:
        raise IndexError(f"{op}: Dimension specified as {dim} but tensor has no dimensions")
    d = wrap_dim(dim, y._data.ndim, op)
    y = _floating(y)
    n = y._data.shape[d]
    if n == 0:
        return None, d
    area = (narrow(y, d, 1, n - 1) + narrow(y, d, 0, n - 1)) / 2
    if x is None:
        return (area if dx is None else area * dx), d
    _need_tensor(x, op, "x")
    if x._data.ndim == 1:
        if x._data.shape[0] != n:
            raise RuntimeError(f"{op}: There must be one `x` value for each sample point")
        return area * _along(diff(x), d, y._data.ndim), d
    return area * diff(x, dim=dim), d


def trapezoid(y, x=None, *, dx=None, dim=-1):
    """Integrate ``y`` along ``dim`` with the trapezoidal rule, at sample points ``x`` or with
    constant spacing ``dx`` (1 by default).

    Example:
        >>> import ember
        >>> ember.trapezoid(ember.tensor([1., 5., 10.]))
        tensor(10.5000)
    """
    area, d = _trapezoids("trapezoid", y, x, dx, dim)
    if area is None:
        return _sum(_floating(y), d)  # no samples: zeros
    return _sum(area, d)


trapz = trapezoid


def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    """The running trapezoidal integral of ``y`` along ``dim`` (one value fewer than ``y``).

    Example:
        >>> import ember
        >>> ember.cumulative_trapezoid(ember.tensor([1., 5., 10.]))
        tensor([ 3.0000, 10.5000])
    """
    area, d = _trapezoids("cumulative_trapezoid", y, x, dx, dim)
    if area is None:
        return _floating(y)
    return cumsum(area, d)


# -- statistics --------------------------------------------------------------------------------
def _check_weights(w, name, integral, num_obs):
    if w._data.ndim > 1:
        raise RuntimeError(f"cov(): expected {name} to have one or fewer dimensions but got "
                           f"{name} with {w._data.ndim} dimensions")
    kind = w._data.dtype.kind
    if integral and kind not in "iu":
        raise RuntimeError(f"cov(): expected {name} to have integral dtype but got {name} with "
                           f"{_type_name(w)} dtype")
    if not integral and kind not in "fV":
        raise RuntimeError(f"cov(): expected {name} to have floating point dtype but got {name} "
                           f"with {_type_name(w)} dtype")
    if w._data.size != num_obs:
        raise RuntimeError(f"cov(): expected {name} to have the same numel as there are "
                           f"observations in the input but got {w._data.size} != {num_obs}")
    if w._data.size and bool((w._data < 0).any().item()):
        raise RuntimeError(f"cov(): {name} cannot be negative")


def cov(input, *, correction=1, fweights=None, aweights=None):
    """Covariance of the variables in the rows of ``input`` (observations in the columns),
    with integer frequency weights ``fweights`` and float observation weights ``aweights``;
    ``correction=1`` is Bessel's correction. A 1-d ``input`` is one variable (result 0-d).

    Example:
        >>> import ember
        >>> ember.cov(ember.tensor([[0., 1., 2.], [2., 1., 0.]]))
        tensor([[ 1., -1.],
                [-1.,  1.]])
    """
    _need_tensor(input, "cov", "input")
    if input._data.ndim > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an "
                           f"input with {input._data.ndim} dimensions")
    x = _floating(reshape(input, (1, -1)) if input._data.ndim < 2 else input)
    num_obs = x._data.shape[1]
    w = None
    if fweights is not None:
        _check_weights(fweights, "fweights", True, num_obs)
        w = fweights
    if aweights is not None:
        _check_weights(aweights, "aweights", False, num_obs)
        w = aweights if w is None else w * aweights
    if w is None:
        avg, norm = mean(x, 1), num_obs - correction
    else:
        w_sum = _sum(w)
        avg = _sum(x * w, 1) / w_sum
        norm = w_sum if correction == 0 else w_sum - correction if aweights is None else \
            w_sum - correction * _sum(w * aweights) / w_sum
    if (norm <= 0) if not isinstance(norm, Tensor) else bool((norm._data <= 0).item()):
        warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less "
                      "than the number of observations.", stacklevel=2)
        norm = norm * 0 if isinstance(norm, Tensor) else 0
    xm = x - unsqueeze(avg, 1)
    c = matmul(xm if w is None else xm * w, conj(transpose(xm, 0, 1))) / norm
    return squeeze(c)


def corrcoef(input):
    """Pearson correlation coefficients of the variables in the rows of ``input`` (the
    covariance normalised by the standard deviations, clipped to [-1, 1]).

    Example:
        >>> import ember
        >>> ember.corrcoef(ember.tensor([[0., 1., 2.], [2., 1., 0.]]))
        tensor([[ 1., -1.],
                [-1.,  1.]])
    """
    _need_tensor(input, "corrcoef", "input")
    if input._data.ndim > 2:
        raise RuntimeError(f"corrcoef(): expected input to have two or fewer dimensions but got "
                           f"an input with {input._data.ndim} dimensions")
    c = cov(input)
    if c._data.ndim == 0:
        return c / c
    std = sqrt(real(c.diagonal()))
    c = c / unsqueeze(std, 1) / unsqueeze(std, 0)
    if c._data.dtype.kind == "c":
        return _complex(clamp(real(c), -1, 1), clamp(imag(c), -1, 1))
    return clamp(c, -1, 1)


@primitive("histogram", differentiable=False)
def _histogram(xp, x, edges, w, density):
    x = x.ravel()
    nb = edges.shape[0] - 1
    idx = xp.searchsorted(edges, x, side="right") - 1
    idx = xp.where(x == edges[-1], nb - 1, idx)  # the last bin holds its right edge
    keep = (idx >= 0) & (idx < nb)
    wts = None if w is None else w.ravel()[keep].astype(np.float64)
    hist = xp.bincount(idx[keep], weights=wts, minlength=nb).astype(x.dtype)
    if density:
        hist = hist / (hist.sum() * (edges[1:] - edges[:-1]))
    return hist


def histogram(input, bins, *, range=None, weight=None, density=False, out=None):  # noqa: A002
    """Histogram of the values of ``input``: ``bins`` equal-width bins over ``range`` (the
    data's min and max by default), or the bins whose increasing edges the 1-d tensor
    ``bins`` lists. Returns ``(hist, bin_edges)``. The last bin includes its right edge.

    Example:
        >>> import ember
        >>> ember.histogram(ember.tensor([1., 2., 1.]), bins=4, range=(0., 3.)).hist
        tensor([0., 2., 1., 0.])
    """
    _need_tensor(input, "histogram", "input")
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f"\"histogramdd\" not implemented for '{_type_name(input)}'")
    if isinstance(bins, Tensor):
        if bins._data.ndim != 1:
            raise RuntimeError(f"torch.histogramdd: bins tensor should have one dimension, but "
                               f"got {bins._data.ndim} dimensions in the bins tensor for "
                               f"dimension 0")
        if bins._data.dtype != input._data.dtype:
            raise RuntimeError(f"torch.histogramdd: input tensor and bins tensors should have "
                               f"the same dtype, but got input with dtype {input.dtype} and "
                               f"bins for dimension 0 with dtype {bins.dtype}")
        edges = _wrap(bins._data.copy(), bins._device)  # a new tensor, like PyTorch's
    else:
        edges = _int_bins_edges(input, int(bins), range)
    if edges._data.shape[0] < 2:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got "
                           f"{edges._data.shape[0] - 1} for dimension 0")
    if weight is not None and weight._data.shape != input._data.shape:
        raise RuntimeError(f"torch.histogramdd: if weight tensor is provided it should have the "
                           f"same shape as the input tensor, but got input with shape "
                           f"{list(input._data.shape)} and weight with shape "
                           f"{list(weight._data.shape)}")
    hist = _histogram(input.detach(), edges.detach(),
                      None if weight is None else weight.detach(), density=bool(density))
    return _HistogramResult(hist, edges)


def _int_bins_edges(input, bins, rng):
    if bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
    if rng is not None:
        lo, hi = float(rng[0]), float(rng[1])
    elif input._data.size:
        lo, hi = input._data.min().item(), input._data.max().item()
    else:
        lo, hi = 0.0, 1.0
    if lo > hi:
        raise RuntimeError(f"torch.histogramdd: min should not exceed max, but got min {lo:g} "
                           f"max {hi:g} for dimension 0")
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise RuntimeError(f"torch.histogramdd: dimension 0's range [{lo:g}, {hi:g}] is not "
                           f"finite")
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    return linspace(lo, hi, bins + 1, dtype=input.dtype, device=input.device)


@primitive("isin", differentiable=False)
def _isin(xp, elements, test, invert):
    s = xp.sort(test.ravel())
    if s.size == 0:
        found = xp.zeros(elements.shape, dtype=bool)
    else:
        idx = xp.minimum(xp.searchsorted(s, elements), s.size - 1)
        found = s[idx] == elements
    return ~found if invert else found


def isin(elements, test_elements, *, assume_unique=False, invert=False):
    """Whether each element of ``elements`` is in ``test_elements`` (either may be a
    scalar); ``invert=True`` gives the opposite. NaN is never found.

    Example:
        >>> import ember
        >>> ember.isin(ember.tensor([1, 2, 3, 4]), ember.tensor([2, 4]))
        tensor([False,  True, False,  True])
    """
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError(f"isin(): expected elements or test_elements to be a Tensor, but got "
                        f"{type(elements).__name__} and {type(test_elements).__name__}")
    like = elements if isinstance(elements, Tensor) else test_elements
    npd = result_type_of(elements, test_elements).np

    def as_tensor(v):
        if isinstance(v, Tensor):
            return v if v._data.dtype == npd else cast(v, npd)
        return _wrap(like._device.xp.asarray(v, dtype=npd), like._device)
    return _isin(as_tensor(elements), as_tensor(test_elements), invert=bool(invert))


# -- indices and combinatorics ------------------------------------------------------------------
def unravel_index(indices, shape):
    """The coordinates in a tensor of ``shape`` of the flat (row-major) ``indices``: a tuple
    of int64 tensors, one per dim. Negative indices count from the end.

    Example:
        >>> import ember
        >>> ember.unravel_index(ember.tensor([4, 1]), (2, 3))
        (tensor([1, 0]), tensor([1, 1]))
    """
    if not isinstance(indices, Tensor):
        raise TypeError(f"unravel_index(): expected 'indices' to be a Tensor, but got "
                        f"{type(indices).__name__}")
    if indices._data.dtype.kind not in "iu":
        raise TypeError(f"expected 'indices' to be integer dtype, but got {indices.dtype}")
    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(
        int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise ValueError(f"'shape' cannot have negative values, but got {shape}")
    if 0 in shape:
        raise RuntimeError(f"unravel_index: cannot unravel into shape {shape}, which has no "
                           f"elements")
    idx = cast(indices, np.int64) if indices._data.dtype != np.int64 else indices
    out, stride = [], 1
    for s in reversed(shape):
        out.append((idx // stride) % s)
        stride *= s
    return tuple(reversed(out))


def cartesian_prod(*tensors):
    """The Cartesian product of 1-d tensors: one row per combination (like
    ``itertools.product``); a single tensor is returned as it is.

    Example:
        >>> import ember
        >>> ember.cartesian_prod(ember.tensor([1, 2]), ember.tensor([3, 4]))
        tensor([[1, 3],
                [1, 4],
                [2, 3],
                [2, 4]])
    """
    if not tensors:
        raise RuntimeError("cartesian_prod expects at least one tensor")
    for t in tensors:
        _need_tensor(t, "cartesian_prod", "tensors")
        if t._data.ndim != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {list(t._data.shape)}")
    if len(tensors) == 1:
        return tensors[0]
    if len({t._data.dtype for t in tensors}) > 1:
        raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    return stack([reshape(g, (-1,)) for g in meshgrid(*tensors, indexing="ij")], 1)


def combinations(input, r=2, with_replacement=False):
    """The ``r``-element combinations of the elements of 1-d ``input`` (like
    ``itertools.combinations``, or ``combinations_with_replacement``), one per row.

    Example:
        >>> import ember
        >>> ember.combinations(ember.tensor([1, 2, 3]))
        tensor([[1, 2],
                [1, 3],
                [2, 3]])
    """
    _need_tensor(input, "combinations", "input")
    if input._data.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input._data.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    gen = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    idx = np.array(list(gen(builtins.range(input._data.shape[0]), r)), dtype=np.int64)
    flat = _wrap(compat.on(input._device.xp, idx.reshape(-1)), input._device)
    out = index_select(input, 0, flat)
    return out if r == 0 else reshape(out, (-1, r))


def block_diag(*tensors):
    """The block-diagonal matrix of ``tensors`` (each 0-, 1- or 2-d; a 1-d tensor is one row).

    Example:
        >>> import ember
        >>> ember.block_diag(ember.tensor([[1, 2]]), ember.tensor(3))
        tensor([[1, 2, 0],
                [0, 0, 3]])
    """
    mats = []
    for i, t in enumerate(tensors):
        _need_tensor(t, "block_diag", "tensors")
        if t._data.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer "
                               f"dimensions. Input {i} has {t._data.ndim} dimensions")
        mats.append(t if t._data.ndim == 2 else reshape(t, (1, -1)))
    if not mats:
        from ember.ops.creation import zeros
        return zeros(1, 0)
    npd = result_type_of(*tensors).np
    cols = builtins.sum(m._data.shape[1] for m in mats)
    rows, left = [], 0
    for m in mats:
        r, c = m._data.shape
        m = m if m._data.dtype == npd else cast(m, npd)
        rows.append(cat([_zeros((r, left), npd, m), m, _zeros((r, cols - left - c), npd, m)], 1))
        left += c
    return cat(rows, 0)


def vander(x, N=None, increasing=False):
    """The Vandermonde matrix of 1-d ``x``: columns ``x ** (N - 1), ..., x, 1`` (reversed
    with ``increasing=True``); ``N`` defaults to ``len(x)``. Integer input gives int64.

    Example:
        >>> import ember
        >>> ember.vander(ember.tensor([1, 2, 3]))
        tensor([[1, 1, 1],
                [4, 2, 1],
                [9, 3, 1]])
    """
    _need_tensor(x, "vander", "x")
    if x._data.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x._data.shape[0]
    N = n if N is None else int(N)
    if N < 0:
        raise RuntimeError("N must be non-negative.")
    if x._data.dtype.kind in "biu" and x._data.dtype != np.int64:
        x = cast(x, np.int64)
    col = unsqueeze(x, 1)
    if N == 0:
        return narrow(col, 1, 0, 0)
    ones = _wrap(x._device.xp.ones((n, 1), dtype=x._data.dtype), x._device)
    out = cumprod(cat([ones] + [col] * (N - 1), 1), 1)  # cumprod keeps x = 0 differentiable
    return out if increasing else flip(out, (1,))


# -- directional splits ----------------------------------------------------------------------------
def _dir_split(input, sections, dim, min_dim, name):
    _need_tensor(input, name, "input")
    nd = input._data.ndim
    if nd < min_dim:
        raise RuntimeError(f"torch.{name} requires a tensor with at least {min_dim} dimension, "
                           f"but got a tensor with {nd} dimensions!")
    if isinstance(sections, (int, np.integer)):
        size = input._data.shape[dim]
        if sections == 0 or size % sections:
            raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but the "
                               f"size of the dimension {size} is not divisible by the split_size "
                               f"{sections}!")
    return tensor_split(input, sections, dim)


def hsplit(input, indices_or_sections):
    """Split along dim 1 (dim 0 for 1-d tensors) into equal parts or at the given indices.

    Example:
        >>> import ember
        >>> ember.hsplit(ember.arange(4), 2)
        (tensor([0, 1]), tensor([2, 3]))
    """
    dim = 0 if isinstance(input, Tensor) and input._data.ndim == 1 else 1
    return _dir_split(input, indices_or_sections, dim, 1, "hsplit")


def vsplit(input, indices_or_sections):
    """Split a tensor of at least 2 dims along dim 0 (see :func:`hsplit`)."""
    return _dir_split(input, indices_or_sections, 0, 2, "vsplit")


def dsplit(input, indices_or_sections):
    """Split a tensor of at least 3 dims along dim 2 (see :func:`hsplit`)."""
    return _dir_split(input, indices_or_sections, 2, 3, "dsplit")
