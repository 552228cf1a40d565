"""Signal processing: window functions and the short-time Fourier transform.

Windows are creation functions (computed in float64 on the host, like ``arange``, then cast
and moved). ``stft`` and ``istft`` are composites of differentiable ops: padding by index,
``unfold`` (a strided view of the frames), a product with the window, ``rfft``/``fft``; and
for the inverse ``irfft``/``ifft``, a product with the window, overlap-add by ``index_add``
and division by the overlap-added squared window. Their gradients (in the signal and the
window, to any order) come from those ops.
"""

import warnings

import numpy as np

from ember import _dtype
from ember._tensor import Tensor, _wrap
from ember.ops import fft as F
from ember.ops.creation import tensor
from ember.ops.index import index_add
from ember.ops.numeric_views import view_as_real
from ember.ops.views import getitem, squeeze, transpose, unfold, unsqueeze

__all__ = ["hann_window", "hamming_window", "blackman_window", "bartlett_window",
           "kaiser_window", "stft", "istft"]
METHODS = ["stft", "istft"]  # Tensor methods: plain ops with the tensor first
INPLACE = []  # names whose in-place variant name_ is bound too


# -- windows ----------------------------------------------------------------------------------
def _window(name, window_length, periodic, dtype, device, requires_grad, formula):
    """A window of ``window_length`` points: ``formula(n, M)`` over ``n = 0..M-1`` with
    ``M = window_length + 1`` (then the last point dropped) when ``periodic``."""
    if window_length < 0:
        raise RuntimeError(f"{name} requires non-negative window_length, got "
                           f"window_length={window_length}")
    d = _dtype.get_default_dtype() if dtype is None else _dtype.to_dtype(dtype)
    if not d.is_floating_point:
        raise RuntimeError(f"{name} expects floating point dtypes, got: {d}")
    n = int(window_length)
    if n <= 1:
        values = np.ones(n)
    else:
        m = n + 1 if periodic else n
        values = formula(np.arange(m, dtype=np.float64), m)[:n]
    return tensor(values, dtype=d, device=device, requires_grad=requires_grad)


def _cosine_sum(*coefs):
    """``sum_k (-1)^k a_k cos(2 pi k n / (M - 1))``: the generalised cosine windows."""
    def formula(n, m):
        phase = 2 * np.pi * n / (m - 1)
        return sum((-1) ** k * a * np.cos(k * phase) for k, a in enumerate(coefs))
    return formula


def hann_window(window_length, periodic=True, *, dtype=None, layout=None, device=None,
                requires_grad=False):
    r"""Hann window :math:`w[n] = \frac12 - \frac12 \cos\frac{2\pi n}{N - 1}`, with
    ``N = window_length + 1`` (last point dropped) when ``periodic`` (for spectral analysis)
    and ``N = window_length`` otherwise (a symmetric window, for filter design).

    Example:
        >>> ember.hann_window(4)
        tensor([0.0000, 0.5000, 1.0000, 0.5000])
    """
    return _window("hann_window", window_length, periodic, dtype, device, requires_grad,
                   _cosine_sum(0.5, 0.5))


def hamming_window(window_length, periodic=True, alpha=0.54, beta=0.46, *, dtype=None,
                   layout=None, device=None, requires_grad=False):
    r"""Hamming window :math:`w[n] = \alpha - \beta \cos\frac{2\pi n}{N - 1}` (``N`` as in
    :func:`hann_window`).

    Example:
        >>> ember.hamming_window(4, periodic=False)
        tensor([0.0800, 0.7700, 0.7700, 0.0800])
    """
    return _window("hamming_window", window_length, periodic, dtype, device, requires_grad,
                   _cosine_sum(alpha, beta))


def blackman_window(window_length, periodic=True, *, dtype=None, layout=None, device=None,
                    requires_grad=False):
    r"""Blackman window :math:`w[n] = 0.42 - 0.5 \cos\frac{2\pi n}{N - 1} +
    0.08 \cos\frac{4\pi n}{N - 1}` (``N`` as in :func:`hann_window`).

    Example:
        >>> w = ember.blackman_window(4)  # [0, 0.34, 1, 0.34] up to rounding
        >>> bool((w - ember.tensor([0.0, 0.34, 1.0, 0.34])).abs().max() < 1e-6)
        True
    """
    return _window("blackman_window", window_length, periodic, dtype, device, requires_grad,
                   _cosine_sum(0.42, 0.5, 0.08))


def _triangle(n, m):
    return 1 - np.abs(2 * n / (m - 1) - 1)


def bartlett_window(window_length, periodic=True, *, dtype=None, layout=None, device=None,
                    requires_grad=False):
    r"""Bartlett (triangular) window :math:`w[n] = 1 - \left|\frac{2n}{N - 1} - 1\right|`
    (``N`` as in :func:`hann_window`).

    Example:
        >>> ember.bartlett_window(5, periodic=False)
        tensor([0.0000, 0.5000, 1.0000, 0.5000, 0.0000])
    """
    return _window("bartlett_window", window_length, periodic, dtype, device, requires_grad,
                   _triangle)


def kaiser_window(window_length, periodic=True, beta=12.0, *, dtype=None, layout=None,
                  device=None, requires_grad=False):
    r"""Kaiser window :math:`w[n] = I_0\left(\beta \sqrt{1 - \left(\frac{n - c}{c}\right)^2}
    \right) / I_0(\beta)` with :math:`c = (N - 1) / 2` (``N`` as in :func:`hann_window`) and
    :math:`I_0` the modified Bessel function of order 0.

    Example:
        >>> ember.kaiser_window(3, periodic=False, beta=0.0)
        tensor([1., 1., 1.])
    """
    def formula(n, m):
        c = (m - 1) / 2
        return np.i0(beta * np.sqrt(np.clip(1 - ((n - c) / c) ** 2, 0, None))) / np.i0(beta)
    return _window("kaiser_window", window_length, periodic, dtype, device, requires_grad,
                   formula)


# -- STFT ----------------------------------------------------------------------------------------
_NEED_RETURN_COMPLEX = ("stft requires the return_complex parameter be given for real inputs, "
                        "and will further require that return_complex=True in a future "
                        "PyTorch release.")
_REAL_OUTPUT_DEPRECATED = (
    "stft with return_complex=False is deprecated. In a future pytorch release, stft will "
    "return complex tensors for all inputs, and return_complex=False will raise an error.\n"
    "Note: you can still call torch.view_as_real on the complex output to recover the old "
    "return format.")
_NO_WINDOW = ("A window was not provided. A rectangular window will be applied.Please provide "
              "the same window used by stft to make the inversion lossless.To suppress this "
              "warning and use a rectangular window, explicitly set "
              "`window=torch.ones(n_fft, device=<device>)`.")
_RECTANGULAR = ("A window was not provided. A rectangular window will be applied,which is known "
                "to cause spectral leakage. Other windows such as torch.hann_window or "
                "torch.hamming_window are recommended to reduce spectral leakage.To suppress "
                "this warning and use a rectangular window, explicitly set "
                "`window=torch.ones(n_fft, device=<device>)`.")
def _pad_last(x, left, right, mode="constant"):
    """``x`` padded on its last dim (``nn.functional.pad``, imported late: ember.nn builds on
    ember.ops)."""
    if not left and not right:
        return x
    from ember.nn._functional.spatial import pad
    return pad(x, (left, right), mode=mode)


def _frame_args(op, n_fft, hop_length, win_length, window):
    """Defaults and checks shared by ``stft`` and ``istft``: ``(hop, win)``."""
    hop = n_fft // 4 if hop_length is None else int(hop_length)
    win = n_fft if win_length is None else int(win_length)
    if not 0 < win <= n_fft:
        raise RuntimeError(f"{op}: expected 0 < win_length <= n_fft, but got win_length={win}")
    if window is not None and (window._data.ndim != 1 or window._data.shape[0] != win):
        raise RuntimeError(f"{op}: expected a 1D window tensor of size equal to "
                           f"win_length={win}, but got window with size "
                           f"{list(window._data.shape)}")
    return hop, win


def _is_complex(t):
    return t is not None and t._data.dtype.kind == "c"


def stft(input, n_fft, hop_length=None, win_length=None, window=None, center=True,
         pad_mode="reflect", normalized=False, onesided=None, return_complex=None,
         align_to_window=None):
    r"""Short-time Fourier transform: the DFT of windowed frames ``hop_length`` apart,
    :math:`X[\omega, m] = \sum_k w[k]\, x[m \cdot hop + k]\, e^{-2\pi i \omega k / n_{fft}}`.

    ``input`` is ``(L,)`` or ``(B, L)``; the result is ``(B?, N, T)`` complex with
    ``N = n_fft // 2 + 1`` when ``onesided`` (default for real input and window) or
    ``n_fft``, and ``T`` frames. ``center`` pads ``n_fft // 2`` on both sides
    (``pad_mode``) so frame ``t`` is centred at ``t * hop_length``; a window shorter than
    ``n_fft`` is zero-padded on both sides (or, with ``align_to_window`` and
    ``center=False``, frames start where the window does); ``normalized`` scales by
    ``n_fft ** -0.5``. ``return_complex`` must be given for real input, as in PyTorch.

    Example:
        >>> x = ember.arange(8.0)
        >>> ember.stft(x, 4, hop_length=2, window=ember.hann_window(4), return_complex=True).shape
        ember.Size([3, 5])
    """
    op = "stft"
    if not isinstance(input, Tensor):
        raise TypeError(f"stft(): argument 'input' must be Tensor, not {type(input).__name__}")
    if center and align_to_window is not None:
        raise RuntimeError("stft align_to_window should only be set when center = false")
    if input._data.ndim not in (1, 2):
        raise RuntimeError(f"{op}: expected a 1D or 2D tensor, but got {input._data.ndim}D")
    if input._data.dtype.kind not in "fc":
        raise RuntimeError(f"{op}: expected a floating point or complex input, got "
                           f"{_dtype.scalar_name(input.dtype)}")
    complex_in = _is_complex(input) or _is_complex(window)
    if return_complex is None:
        if not complex_in:
            raise RuntimeError(_NEED_RETURN_COMPLEX)
        return_complex = True
    onesided = not complex_in if onesided is None else onesided
    if onesided and complex_in:
        raise RuntimeError("Cannot have onesided output if window or input is complex")
    x = input if input._data.ndim == 2 else unsqueeze(input, 0)
    if center:
        x = _pad_last(x, n_fft // 2, n_fft // 2, pad_mode)
    length = x._data.shape[-1]
    if not 0 < n_fft <= length:
        raise RuntimeError(f"{op}: expected 0 < n_fft < {length}, but got n_fft={n_fft}")
    hop, win = _frame_args(op, n_fft, hop_length, win_length, window)
    if hop <= 0:
        raise RuntimeError(f"{op}: expected hop_length > 0, but got hop_length={hop}")
    left = (n_fft - win) // 2
    align = bool(align_to_window)
    frames_n = 1 + (length - (win if align else n_fft)) // hop
    x = x if align or not left else getitem(x, (Ellipsis, slice(left, None)))
    frames = getitem(unfold(x, -1, win, hop), (Ellipsis, slice(0, frames_n), slice(None)))
    if window is not None:
        frames = frames * window
    else:
        warnings.warn(_RECTANGULAR, UserWarning, stacklevel=2)
    frames = _pad_last(frames, left, n_fft - win - left)
    norm = "ortho" if normalized else None
    spec = F.rfft(frames, dim=-1, norm=norm) if onesided else F.fft(frames, dim=-1, norm=norm)
    out = transpose(spec, -1, -2)
    if input._data.ndim == 1:
        out = squeeze(out, 0)
    if not return_complex:
        warnings.warn(_REAL_OUTPUT_DEPRECATED, UserWarning, stacklevel=2)
        return view_as_real(out.contiguous())
    return out


def _overlap_add(frames, hop, total):
    """``sum_t frames[..., t, :]`` placed at ``t * hop`` in a signal of ``total`` samples."""
    xp, dev = frames._device.xp, frames._device
    *batch, t, n = frames._data.shape
    idx = (xp.arange(t)[:, None] * hop + xp.arange(n)[None, :]).reshape(-1)
    flat = frames.reshape(tuple(batch) + (t * n,))
    zeros = _wrap(xp.zeros(tuple(batch) + (total,), dtype=frames._data.dtype), dev)
    return index_add(zeros, -1, _wrap(idx, dev), flat)


def istft(input, n_fft, hop_length=None, win_length=None, window=None, center=True,
          normalized=False, onesided=None, length=None, return_complex=False):
    r"""Inverse of :func:`stft` by least-squares overlap-add (Griffin and Lim):
    :math:`x = \sum_t w \cdot \mathrm{IDFT}(X_t)` shifted to ``t * hop_length``, divided by
    :math:`\sum_t w^2` shifted likewise (which must not vanish: the NOLA condition).

    ``input`` is the complex ``(B?, N, T)`` output of ``stft(..., return_complex=True)``, the
    other arguments as given to ``stft``; ``length`` trims (or zero-pads) the result to the
    original signal length. A real result unless ``return_complex``.

    Example:
        >>> x = ember.randn(16)
        >>> w = ember.hann_window(8)
        >>> X = ember.stft(x, 8, hop_length=2, window=w, return_complex=True)
        >>> bool((ember.istft(X, 8, hop_length=2, window=w, length=16) - x).abs().max() < 1e-5)
        True
    """
    op = "istft"
    if not isinstance(input, Tensor):
        raise TypeError(f"istft(): argument 'input' must be Tensor, not {type(input).__name__}")
    if not _is_complex(input):
        raise RuntimeError("istft requires a complex-valued input tensor matching the output "
                           "from stft with return_complex=True.")
    if input._data.ndim not in (2, 3):
        raise RuntimeError(f"{op}: expected a tensor with 3 or 4 dimensions, but got "
                           f"{input._data.ndim + 1}")
    hop, win = _frame_args(op, n_fft, hop_length, win_length, window)
    if not 0 < hop <= win:
        raise RuntimeError(f"{op}: expected 0 < hop_length <= win_length")
    n_freq = input._data.shape[-2]
    onesided = n_freq != n_fft if onesided is None else onesided
    if return_complex and onesided:
        raise RuntimeError("Cannot have onesided output if window or input is complex")
    if _is_complex(window) and not return_complex:
        raise RuntimeError(f"{op}: Complex windows are incompatible with return_complex=False")
    if onesided and n_freq != n_fft // 2 + 1:
        raise RuntimeError(f"{op}: expected the frequency dimension (3rd to the last) of the "
                           f"input tensor to match n_fft / 2 + 1 when onesided=True, but got "
                           f"{n_freq}")
    if not onesided and n_freq != n_fft:
        raise RuntimeError(f"{op}: expected the frequency dimension (3rd to the last) of the "
                           f"input tensor to match n_fft when onesided=False, but got {n_freq}")
    X = input if input._data.ndim == 3 else unsqueeze(input, 0)
    norm = "ortho" if normalized else None
    if return_complex:
        frames = F.ifft(X, n=n_fft, dim=-2, norm=norm)
    else:  # a real signal: the non-negative frequencies determine it
        if not onesided:
            X = getitem(X, (Ellipsis, slice(0, n_fft // 2 + 1), slice(None)))
        frames = F.irfft(X, n=n_fft, dim=-2, norm=norm)
    frames = transpose(frames, -1, -2)  # (B, T, n_fft)
    xp, dev = X._device.xp, X._device
    if window is None:
        warnings.warn(_NO_WINDOW, UserWarning, stacklevel=2)
        window = _wrap(xp.ones(win, dtype=frames._data.real.dtype), dev)
    left = (n_fft - win) // 2
    w = _pad_last(window, left, n_fft - win - left)
    n_frames = frames._data.shape[-2]
    total = n_fft + hop * (n_frames - 1)
    y = _overlap_add(frames * w, hop, total)
    envelope = _overlap_add(unsqueeze(w * w, 0).expand(n_frames, n_fft), hop, total)
    start = n_fft // 2 if center else 0
    if length is not None:
        end = min(start + int(length), total)
    else:
        end = total - n_fft // 2 if center else total
    y = getitem(y, (Ellipsis, slice(start, end)))
    envelope = getitem(envelope, slice(start, end))
    if envelope._data.size:
        lowest = float(xp.abs(envelope._data).min())
        if lowest < 1e-11:
            raise RuntimeError(f"{op}: window overlap add min: {lowest:g} (the squared window, "
                               f"overlap-added, must not vanish: the NOLA condition)")
    y = y / envelope
    if length is not None and y._data.shape[-1] < length:
        warnings.warn("The length of signal is shorter than the length parameter. Result is "
                      "being padded with zeros in the tail. Please check your center and "
                      "hop_length settings.", UserWarning, stacklevel=2)
        y = _pad_last(y, 0, int(length) - y._data.shape[-1])
    return squeeze(y, 0) if input._data.ndim == 2 else y

