"""Discrete Fourier transforms, the functions of ``ember.fft``.

Three primitives cover every transform: ``fft_c2c`` (complex to complex, either
direction), ``fft_r2c`` (real to the one-sided spectrum) and ``fft_c2r`` (its inverse), each
over any set of dims, on ``xp.fft``. Their gradients are transforms again (the adjoint of a
DFT is the inverse DFT with the "dual" normalisation), so they nest to any order. Complex
gradients follow PyTorch's convention (``dL/dRe + i dL/dIm``); a real input's gradient is
the real part. ``float32`` inputs give ``complex64``, ``float64`` give ``complex128``.
"""

import numpy as np

from ember import _dtype
from ember._tensor import Tensor, _wrap
from ember.ops import elementwise as E
from ember.ops._linalg_util import complex_dtype, real_dtype
from ember.ops._registry import primitive
from ember.ops._util import wrap_dim
from ember.ops.shape import cat
from ember.ops.views import getitem

__all__ = []  # public through ember.fft only (ember.fft is a module, like torch.fft)

_NORMS = ("backward", "ortho", "forward")
_DUAL = {"backward": "forward", "forward": "backward", "ortho": "ortho"}


# -- primitives ------------------------------------------------------------------------------
@primitive("fft_c2c", save="none")
def _c2c(xp, x, dims, s, norm, forward):
    f = xp.fft.fftn if forward else xp.fft.ifftn
    return f(x, s=s, axes=dims, norm=norm).astype(complex_dtype(x.dtype), copy=False)


@_c2c.defvjp
def _(ctx, g):
    p, (shape, dt) = ctx.params, ctx._metas[0]
    gx = _c2c(g, dims=p["dims"], s=None, norm=_DUAL[p["norm"]], forward=not p["forward"])
    gx = _resize(gx, p["dims"], [shape[d] for d in p["dims"]])
    return gx if dt.kind == "c" else E.real(gx)


@primitive("fft_r2c", save="none")
def _r2c(xp, x, dims, s, norm):
    return xp.fft.rfftn(x, s=s, axes=dims, norm=norm).astype(complex_dtype(x.dtype),
                                                              copy=False)


@_r2c.defvjp
def _(ctx, g):
    """Zero-fill the missing half of the spectrum, inverse-transform, keep the real part."""
    p, shape = ctx.params, ctx._metas[0][0]
    dims = p["dims"]
    full = _resize(g, dims[-1:], p["s"][-1:])
    gx = E.real(_c2c(full, dims=dims, s=None, norm=_DUAL[p["norm"]], forward=False))
    return _resize(gx, dims, [shape[d] for d in dims])


@primitive("fft_c2r", save="none")
def _c2r(xp, x, dims, s, norm):
    return xp.fft.irfftn(x, s=s, axes=dims, norm=norm).astype(real_dtype(x.dtype), copy=False)


@_c2r.defvjp
def _(ctx, g):
    """The one-sided transform of ``g``, doubled on the bins that stand for two (all but
    the zero and Nyquist frequencies), fitted back to the input's shape."""
    p, (shape, dt) = ctx.params, ctx._metas[0]
    dims, n = p["dims"], p["s"][-1]
    gx = _r2c(g, dims=dims, s=None, norm=_DUAL[p["norm"]])
    w = np.full(n // 2 + 1, 2.0, dtype=real_dtype(gx._data.dtype))
    w[0] = 1.0
    if n % 2 == 0:
        w[-1] = 1.0
    w_shape = [1] * gx._data.ndim
    w_shape[dims[-1]] = w.size
    gx = gx * _wrap(g._device.xp.asarray(w.reshape(w_shape)), g._device)
    gx = _resize(gx, dims, [shape[d] for d in dims])
    return gx if dt.kind == "c" else E.real(gx)


def _resize(x, dims, sizes):
    """Crop or zero-pad ``x`` along ``dims`` to ``sizes`` (differentiable)."""
    for d, n in zip(dims, sizes):
        cur = x._data.shape[d]
        if cur > n:
            x = getitem(x, (slice(None),) * d + (slice(0, n),))
        elif cur < n:
            pad = list(x._data.shape)
            pad[d] = n - cur
            zeros = _wrap(x._device.xp.zeros(tuple(pad), dtype=x._data.dtype), x._device)
            x = cat([x, zeros], d)
    return x


# -- argument handling -------------------------------------------------------------------------
def _input(x, op, real=False):
    """``x`` in a dtype the transforms take: ints and bools become the default float."""
    if not isinstance(x, Tensor):
        raise TypeError(f"fft_{op}(): argument 'input' must be Tensor, not {type(x).__name__}")
    kind = x._data.dtype.kind
    if kind in "biu":
        return E.cast(x, _dtype.get_default_dtype().np)
    if kind == "V" or x._data.dtype == np.float16:
        raise RuntimeError(f"Unsupported dtype {_dtype.scalar_name(x.dtype)}")
    if real and kind == "c":
        raise RuntimeError(f"{op} expects a real input tensor, but got "
                           f"{_dtype.scalar_name(x.dtype)}")
    return x


def _norm(norm):
    if norm is None:
        return "backward"
    if norm not in _NORMS:
        raise RuntimeError(f'Invalid normalization mode: "{norm}"')
    return norm


def _check_n(n):
    if n < 1:
        raise RuntimeError(f"Invalid number of data points ({n}) specified")
    return n


def _dims_and_sizes(x, s, dim, op):
    """The transformed dims and their signal sizes, resolved like PyTorch's ``fftn``."""
    nd = x._data.ndim
    if isinstance(dim, int):
        dim = (dim,)
    if dim is not None and nd == 0:
        raise IndexError(f"{op}: Dimension specified as {dim[0]} but tensor has no dimensions")
    if dim is None:
        dims = tuple(range(nd)) if s is None else tuple(range(nd - len(s), nd))
        if s is not None and len(s) > nd:
            raise RuntimeError(f"{op}: got shape with {len(s)} values but input tensor only has "
                               f"{nd} dimensions.")
    else:
        dims = tuple(wrap_dim(d, nd, op) for d in dim)
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"{op}: FFT dims must be unique, got {list(dim)}")
        if s is not None and len(s) != len(dims):
            raise RuntimeError(f"{op}: When given, dim and shape arguments must have the same "
                               f"length, got dim {list(dim)} and s {list(s)}")
    if not dims:
        raise RuntimeError(f"{op}: expected at least one dim to transform")
    sizes = [x._data.shape[d] for d in dims] if s is None else list(s)
    return dims, sizes


def _one(n):
    return None if n is None else (n,)


def _fix_sizes(x, dims, sizes):
    return tuple(_check_n(x._data.shape[d] if n == -1 else int(n)) for d, n in zip(dims, sizes))


def _c2r_sizes(x, dims, sizes, given):
    """Output sizes of a complex-to-real transform: the last defaults to ``2 * (m - 1)``."""
    sizes = list(sizes)
    if not given or sizes[-1] == -1:
        sizes[-1] = 2 * (x._data.shape[dims[-1]] - 1)
    return _fix_sizes(x, dims, sizes)


# -- complex transforms ---------------------------------------------------------------------------
def fft(input, n=None, dim=-1, norm=None, *, out=None):
    """One-dimensional discrete Fourier transform along ``dim``.

    ``n`` crops or zero-pads the signal; ``norm`` is ``"backward"`` (default: no scaling),
    ``"ortho"`` (``1/sqrt(n)``) or ``"forward"`` (``1/n``).

    Example:
        >>> ember.fft.fft(ember.tensor([1.0, 0.0, 0.0, 0.0]))
        tensor([1.+0.j, 1.+0.j, 1.+0.j, 1.+0.j])
    """
    return _complex_transform(input, _one(n), (dim,), norm, True, "fft", out)


def ifft(input, n=None, dim=-1, norm=None, *, out=None):
    """One-dimensional inverse DFT (``norm="backward"`` scales by ``1/n``)."""
    return _complex_transform(input, _one(n), (dim,), norm, False, "ifft", out)


def fft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    """Two-dimensional DFT over ``dim``."""
    return _complex_transform(input, s, dim, norm, True, "fft2", out)


def ifft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    """Two-dimensional inverse DFT over ``dim``."""
    return _complex_transform(input, s, dim, norm, False, "ifft2", out)


def fftn(input, s=None, dim=None, norm=None, *, out=None):
    """N-dimensional DFT over ``dim`` (all dims, or the last ``len(s)``, by default)."""
    return _complex_transform(input, s, dim, norm, True, "fftn", out)


def ifftn(input, s=None, dim=None, norm=None, *, out=None):
    """N-dimensional inverse DFT."""
    return _complex_transform(input, s, dim, norm, False, "ifftn", out)


def _complex_transform(input, s, dim, norm, forward, op, out):
    x = _input(input, op)
    if x._data.ndim == 0 and dim is None and s is None:  # nothing to transform
        return E._out(E.cast(x, complex_dtype(x._data.dtype)), out)
    dims, sizes = _dims_and_sizes(x, s, dim, op)
    res = _c2c(x, dims=dims, s=_fix_sizes(x, dims, sizes), norm=_norm(norm), forward=forward)
    return E._out(res, out)


# -- real-input transforms and their inverses --------------------------------------------------
def rfft(input, n=None, dim=-1, norm=None, *, out=None):
    """DFT of a real signal: the ``n // 2 + 1`` non-negative frequencies."""
    return _real_to_complex(input, _one(n), (dim,), norm, "rfft", out)


def irfft(input, n=None, dim=-1, norm=None, *, out=None):
    """Inverse of :func:`rfft`: a real signal of length ``n`` (default ``2 * (m - 1)``)."""
    return _complex_to_real(input, _one(n), (dim,), norm, "irfft", out)


def rfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    """Two-dimensional DFT of a real signal (one-sided along the last dim)."""
    return _real_to_complex(input, s, dim, norm, "rfft2", out)


def irfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    """Inverse of :func:`rfft2`."""
    return _complex_to_real(input, s, dim, norm, "irfft2", out)


def rfftn(input, s=None, dim=None, norm=None, *, out=None):
    """N-dimensional DFT of a real signal, one-sided along the last transformed dim."""
    return _real_to_complex(input, s, dim, norm, "rfftn", out)


def irfftn(input, s=None, dim=None, norm=None, *, out=None):
    """Inverse of :func:`rfftn`: a real signal (last size ``2 * (m - 1)`` by default)."""
    return _complex_to_real(input, s, dim, norm, "irfftn", out)


def _real_to_complex(input, s, dim, norm, op, out):
    x = _input(input, op, real=True)
    dims, sizes = _dims_and_sizes(x, s, dim, op)
    return E._out(_r2c(x, dims=dims, s=_fix_sizes(x, dims, sizes), norm=_norm(norm)), out)


def _complex_to_real(input, s, dim, norm, op, out):
    x = _input(input, op)
    dims, sizes = _dims_and_sizes(x, s, dim, op)
    sizes = _c2r_sizes(x, dims, sizes, s is not None)
    return E._out(_c2r(x, dims=dims, s=sizes, norm=_norm(norm)), out)


# -- Hermitian-input transforms (composites) ---------------------------------------------------
def hfft(input, n=None, dim=-1, norm=None, *, out=None):
    """DFT of a Hermitian-symmetric signal given by its first half: a real result."""
    return _hermitian_forward(input, _one(n), (dim,), norm, "hfft", out)


def ihfft(input, n=None, dim=-1, norm=None, *, out=None):
    """Inverse of :func:`hfft`: the first half of the inverse DFT of a real signal."""
    return _hermitian_inverse(input, _one(n), (dim,), norm, "ihfft", out)


def hfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    """Two-dimensional :func:`hfft`."""
    return _hermitian_forward(input, s, dim, norm, "hfft2", out)


def ihfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    """Two-dimensional :func:`ihfft`."""
    return _hermitian_inverse(input, s, dim, norm, "ihfft2", out)


def hfftn(input, s=None, dim=None, norm=None, *, out=None):
    """N-dimensional :func:`hfft`: ``irfftn(conj(x))`` with the dual normalisation."""
    return _hermitian_forward(input, s, dim, norm, "hfftn", out)


def ihfftn(input, s=None, dim=None, norm=None, *, out=None):
    """N-dimensional :func:`ihfft`: ``conj(rfftn(x))`` with the dual normalisation."""
    return _hermitian_inverse(input, s, dim, norm, "ihfftn", out)


def _hermitian_forward(input, s, dim, norm, op, out):
    x = _input(input, op)
    return _complex_to_real(E.conj(x), s, dim, _DUAL[_norm(norm)], op, out)


def _hermitian_inverse(input, s, dim, norm, op, out):
    x = _input(input, op, real=True)
    return E._out(E.conj(_real_to_complex(x, s, dim, _DUAL[_norm(norm)], op, None)), out)


# -- frequencies and shifts --------------------------------------------------------------------
def fftfreq(n, d=1.0, *, dtype=None, device=None, requires_grad=False, layout=None, out=None):
    """Sample frequencies of an ``n``-point DFT with spacing ``d``: ``[0, 1, ..., -1] / (d n)``.

    Example:
        >>> ember.fft.fftfreq(4)
        tensor([ 0.0000,  0.2500, -0.5000, -0.2500])
    """
    k = np.concatenate([np.arange((n + 1) // 2), np.arange(-(n // 2), 0)])
    return _freqs(k, n * d, dtype, device, requires_grad)


def rfftfreq(n, d=1.0, *, dtype=None, device=None, requires_grad=False, layout=None, out=None):
    """Sample frequencies of :func:`rfft`: ``[0, 1, ..., n // 2] / (d n)``."""
    return _freqs(np.arange(n // 2 + 1), n * d, dtype, device, requires_grad)


def _freqs(k, scale, dtype, device, requires_grad):
    from ember.ops.creation import tensor
    dt = _dtype.get_default_dtype() if dtype is None else _dtype.to_dtype(dtype)
    return tensor(k / scale, dtype=dt, device=device, requires_grad=requires_grad)


def fftshift(input, dim=None):
    """Move the zero frequency to the centre: roll each of ``dim`` (all) by ``n // 2``."""
    return _roll(input, dim, lambda n: n // 2)


def ifftshift(input, dim=None):
    """Inverse of :func:`fftshift`: roll by ``-(n // 2)``."""
    return _roll(input, dim, lambda n: -(n // 2))


def _roll(x, dim, shift_of):
    dims = range(x._data.ndim) if dim is None else \
        [dim] if isinstance(dim, int) else list(dim)
    for d in dims:
        d = wrap_dim(d, x._data.ndim, "fftshift")
        n = x._data.shape[d]
        k = shift_of(n) % n if n else 0
        if k:
            head = (slice(None),) * d
            x = cat([getitem(x, head + (slice(n - k, n),)), getitem(x, head + (slice(0, n - k),))],
                    d)
    return x

