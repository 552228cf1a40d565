"""Op table and behaviour tests for window functions, stft and istft.

Complex spectrograms are split into real and imaginary parts (and complex inputs built
from two real tensors), so the finite-difference and PyTorch checks see real tensors only.
The NumPy references below are written from the formulas in PyTorch's documentation.
"""

import warnings

import numpy as np
import pytest

import ember
from tests.harness import OpInfo, op_tests

# building a complex input casts real to complex; the cast's backward warns as it drops the
# (zero) imaginary part of the gradient
pytestmark = [pytest.mark.filterwarnings("ignore::numpy.exceptions.ComplexWarning"),
              pytest.mark.filterwarnings("ignore:A window was not provided:UserWarning"),
              pytest.mark.filterwarnings("ignore:The length of signal is shorter:UserWarning"),
              pytest.mark.filterwarnings("ignore:stft with return_complex=False:UserWarning")]

_rng = np.random.default_rng(77)


def cplx(m, re, im):
    one, i = (m.tensor(v, dtype=m.complex128, device=re.device) for v in (1.0, 1j))
    return re * one + im * i


def parts(m, z):
    if hasattr(z, "resolve_conj"):  # torch's lazy conjugation
        z = z.resolve_conj()
    return m.real(z), m.imag(z)


# -- NumPy references ---------------------------------------------------------------------------
def _np_window(kind, n, periodic=True, **kw):
    if n <= 1:
        return np.ones(n)
    m = n + 1 if periodic else n
    fn = {"hann": np.hanning, "hamming": np.hamming, "blackman": np.blackman,
          "bartlett": np.bartlett}.get(kind)
    if kind == "kaiser":
        w = np.kaiser(m, kw.get("beta", 12.0))
    elif kind == "hamming" and kw:
        w = kw["alpha"] - kw["beta"] * np.cos(2 * np.pi * np.arange(m) / (m - 1))
    else:
        w = fn(m)
    return w[:n]


_NP_PAD = {"reflect": "reflect", "constant": "constant", "replicate": "edge", "circular": "wrap"}


def _np_stft(x, n_fft, hop=None, win=None, window=None, center=True, pad_mode="reflect",
             normalized=False, onesided=True):
    hop = n_fft // 4 if hop is None else hop
    win = n_fft if win is None else win
    w = np.ones(win) if window is None else window
    left = (n_fft - win) // 2
    wpad = np.zeros(n_fft, dtype=w.dtype)
    wpad[left:left + win] = w
    if center:
        p = n_fft // 2
        x = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(p, p)], mode=_NP_PAD[pad_mode])
    t = 1 + (x.shape[-1] - n_fft) // hop
    frames = np.stack([x[..., k * hop:k * hop + n_fft] * wpad for k in range(t)], -2)
    spec = (np.fft.rfft if onesided else np.fft.fft)(frames, axis=-1,
                                                      norm="ortho" if normalized else None)
    return np.swapaxes(spec, -1, -2)


def _np_istft(X, n_fft, hop=None, win=None, window=None, center=True, normalized=False,
              length=None):
    hop = n_fft // 4 if hop is None else hop
    win = n_fft if win is None else win
    w = np.ones(win) if window is None else window
    left = (n_fft - win) // 2
    wpad = np.zeros(n_fft)
    wpad[left:left + win] = w
    frames = np.fft.irfft(X, n=n_fft, axis=-2, norm="ortho" if normalized else None)
    t = X.shape[-1]
    total = n_fft + hop * (t - 1)
    y = np.zeros(X.shape[:-2] + (total,))
    env = np.zeros(total)
    for k in range(t):
        y[..., k * hop:k * hop + n_fft] += frames[..., :, k] * wpad
        env[k * hop:k * hop + n_fft] += wpad ** 2
    start = n_fft // 2 if center else 0
    end = total - start if length is None else min(start + length, total)
    y = y[..., start:end] / env[start:end]
    if length is not None and y.shape[-1] < length:
        y = np.concatenate([y, np.zeros(y.shape[:-1] + (length - y.shape[-1],))], -1)
    return y


def _split(z):
    return z.real, z.imag


# -- rows ---------------------------------------------------------------------------------------
def _window_row(kind, n, periodic, **kw):
    name = f"{kind}_window"

    def fn(m, x):
        return x * getattr(m, name)(n, periodic, dtype=x.dtype, device=x.device, **kw)
    return OpInfo(f"{name}_{n}_{'periodic' if periodic else 'symmetric'}", fn, [[(n,)]],
                  lambda x: x * _np_window(kind, n, periodic, **kw))


def _stft_row(name, samples, n_fft, hop=None, win=None, hann=False, **kw):
    def window(m, x):
        return m.hann_window(win or n_fft, dtype=x.dtype, device=x.device) if hann else None

    def fn(m, x):
        return parts(m, m.stft(x, n_fft, hop_length=hop, win_length=win, window=window(m, x),
                               return_complex=True, **kw))

    def ref(x):
        w = _np_window("hann", win or n_fft) if hann else None
        return _split(_np_stft(x, n_fft, hop, win, w, **kw))
    return OpInfo(name, fn, samples, ref)


def _istft_row(name, samples, n_fft, hop=None, win=None, kind="hann", **kw):
    def fn(m, re, im):
        w = getattr(m, f"{kind}_window")(win or n_fft, dtype=re.dtype, device=re.device)
        return m.istft(cplx(m, re, im), n_fft, hop_length=hop, win_length=win, window=w, **kw)

    def ref(re, im):
        return _np_istft(re + 1j * im, n_fft, hop, win, _np_window(kind, win or n_fft), **kw)
    return OpInfo(name, fn, samples, ref, atol32=1e-4, rtol32=1e-3)


def _stft_window_grad(m, x, w):
    return parts(m, m.stft(x, 8, hop_length=3, window=w, return_complex=True))


def _roundtrip(m, x):
    w = m.hann_window(8, dtype=x.dtype, device=x.device)
    X = m.stft(x, 8, hop_length=2, window=w, return_complex=True)
    return m.istft(X, 8, hop_length=2, window=w, length=x.shape[-1])


def _stft_complex(m, re, im):
    return parts(m, m.stft(cplx(m, re, im), 8, hop_length=4, window=m.hann_window(
        8, dtype=re.dtype, device=re.device), return_complex=True))


def _stft_real_view(m, x):
    return m.stft(x, 8, hop_length=4, window=m.hann_window(8, dtype=x.dtype, device=x.device),
                  return_complex=False)


ROWS = [
    *[_window_row(k, n, p) for k in ("hann", "hamming", "blackman", "bartlett", "kaiser")
      for n, p in ((8, True), (7, False))],
    _window_row("hamming", 6, True, alpha=0.5, beta=0.3),
    _window_row("kaiser", 6, False, beta=3.5),
    _window_row("hann", 1, True),
    _stft_row("stft_hann", [[(30,)], [(2, 41)]], 8, hann=True),
    _stft_row("stft_no_window", [[(20,)]], 8, hop=3),
    _stft_row("stft_short_window", [[(2, 33)]], 10, hop=3, win=6, hann=True),
    _stft_row("stft_no_center", [[(2, 40)]], 16, hop=5, hann=True, center=False),
    _stft_row("stft_constant_norm", [[(25,)]], 8, hann=True, pad_mode="constant",
              normalized=True),
    _stft_row("stft_replicate", [[(25,)]], 6, hop=2, pad_mode="replicate"),
    _stft_row("stft_circular", [[(25,)]], 6, hop=2, hann=True, pad_mode="circular"),
    _stft_row("stft_twosided", [[(2, 20)]], 8, hann=True, onesided=False),
    OpInfo("stft_window_grad", _stft_window_grad, [[(2, 30), (8,)]],
           lambda x, w: _split(_np_stft(x, 8, 3, None, w))),
    OpInfo("stft_complex_input", _stft_complex, [[(2, 24), (2, 24)]],
           lambda re, im: _split(_np_stft(re + 1j * im, 8, 4, None, _np_window("hann", 8),
                                          onesided=False))),
    OpInfo("stft_return_real", _stft_real_view, [[(20,)]],
           lambda x: np.stack(_split(_np_stft(x, 8, 4, None, _np_window("hann", 8))), -1)),
    _istft_row("istft_hann", [[(5, 9), (5, 9)], [(2, 5, 7), (2, 5, 7)]], 8, hop=2),
    _istft_row("istft_length", [[(5, 9), (5, 9)]], 8, hop=2, length=25),
    _istft_row("istft_short_window", [[(2, 6, 8), (2, 6, 8)]], 10, hop=3, win=7,
               normalized=True),
    _istft_row("istft_no_center", [[(2, 9, 6), (2, 9, 6)]], 16, hop=4, center=False,
               kind="hamming"),  # a Hann window vanishes at the ends: NOLA fails there
    OpInfo("stft_istft_roundtrip", _roundtrip, [[(30,)], [(2, 37)]], lambda x: x),
]

test_forward, test_grad, test_gradgrad, test_vs_torch = op_tests(ROWS)


# -- windows ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["hann_window", "hamming_window", "blackman_window",
                                  "bartlett_window", "kaiser_window"])
def test_windows_match_torch(name):
    torch = pytest.importorskip("torch")
    for n in (0, 1, 2, 5, 16):
        for periodic in (True, False):
            got = getattr(ember, name)(n, periodic)
            want = getattr(torch, name)(n, periodic)
            assert got.dtype == ember.float32 and tuple(got.shape) == tuple(want.shape)
            np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-6)


def test_window_options():
    w = ember.hann_window(4, dtype=ember.float64, requires_grad=True)
    assert w.dtype == ember.float64 and w.requires_grad and w.is_leaf
    np.testing.assert_allclose(ember.hann_window(5).numpy(), [0, 0.3454915, 0.9045085,
                                                              0.9045085, 0.3454915], atol=1e-6)
    sp = pytest.importorskip("scipy.signal")
    np.testing.assert_allclose(ember.blackman_window(9, dtype=ember.float64).numpy(),
                               sp.get_window("blackman", 9), atol=1e-12)
    np.testing.assert_allclose(ember.kaiser_window(9, beta=5.0, dtype=ember.float64).numpy(),
                               sp.get_window(("kaiser", 5.0), 9), atol=1e-12)


@pytest.mark.parametrize("fn,msg", [
    (lambda: ember.hann_window(-1), "requires non-negative window_length"),
    (lambda: ember.kaiser_window(4, dtype=ember.int64), "expects floating point dtypes"),
])
def test_window_errors(fn, msg):
    with pytest.raises(RuntimeError, match=msg):
        fn()


# -- stft / istft -------------------------------------------------------------------------------
def test_stft_shapes_dtypes_and_methods():
    x = ember.randn(2, 50)
    X = x.stft(16, window=ember.hann_window(16), return_complex=True)
    assert X.shape == (2, 9, 1 + 50 // 4) and X.dtype == ember.complex64
    X64 = ember.stft(x[0], 16, window=ember.hann_window(16, dtype=ember.float64),
                     return_complex=True)
    assert X64.shape == (9, 13) and X64.dtype == ember.complex128  # promoted with the window
    y = X.istft(16, window=ember.hann_window(16), length=50)
    assert y.shape == (2, 50) and y.dtype == ember.float32
    np.testing.assert_allclose(y.numpy(), x.numpy(), atol=1e-5)


def test_stft_matches_torch_on_more_configurations():
    torch = pytest.importorskip("torch")
    x = _rng.standard_normal((3, 45))
    cfgs = [dict(n_fft=12, hop_length=5, win_length=9, center=False, align_to_window=True),
            dict(n_fft=12, hop_length=5, win_length=9, center=False, align_to_window=False),
            dict(n_fft=7, hop_length=1, normalized=True, onesided=False),
            dict(n_fft=32, hop_length=13, pad_mode="constant")]
    for c in cfgs:
        res = [m.stft(m.tensor(x), window=m.hamming_window(c.get("win_length", c["n_fft"]),
                                                           dtype=m.float64),
                      return_complex=True, **c).numpy() for m in (ember, torch)]
        assert res[0].shape == res[1].shape
        np.testing.assert_allclose(res[0], res[1], atol=1e-12)


@pytest.mark.parametrize("cfg", [dict(n_fft=8, hop_length=2),
                                 dict(n_fft=16, hop_length=4, win_length=10, normalized=True),
                                 dict(n_fft=9, hop_length=3, center=False, length=30),
                                 dict(n_fft=8, hop_length=2, length=50),
                                 dict(n_fft=8, hop_length=4, onesided=False),
                                 dict(n_fft=8, hop_length=4, onesided=False,
                                      return_complex=True)])
def test_istft_matches_torch(cfg):
    torch = pytest.importorskip("torch")
    cfg = dict(cfg)
    n_fft, win = cfg["n_fft"], cfg.get("win_length", cfg["n_fft"])
    n_freq = n_fft if cfg.get("onesided") is False else n_fft // 2 + 1
    X = _rng.standard_normal((2, n_freq, 10)) + 1j * _rng.standard_normal((2, n_freq, 10))
    res = []
    for m in (ember, torch):
        w = m.hann_window(win, dtype=m.float64) if cfg.get("center", True) else \
            m.hamming_window(win, dtype=m.float64)
        with warnings.catch_warnings():  # padded with zeros to `length`: warns (once in torch)
            warnings.simplefilter("ignore")
            res.append(m.istft(m.tensor(X), window=w, **cfg).numpy())
    assert res[0].shape == res[1].shape and res[0].dtype == res[1].dtype
    np.testing.assert_allclose(res[0], res[1], atol=1e-12)


def test_roundtrip_gradients_match_torch():
    torch = pytest.importorskip("torch")
    x = _rng.standard_normal((2, 33))
    v = _rng.standard_normal((2, 33))
    grads = []
    for m in (ember, torch):
        t = m.tensor(x, requires_grad=True)
        w = m.hann_window(10, dtype=m.float64, requires_grad=True)
        X = m.stft(t, 10, hop_length=3, window=w, return_complex=True)
        y = m.istft(X * X.abs(), 10, hop_length=3, window=w, length=33)
        grads.append([g.numpy() for g in m.autograd.grad(y, [t, w], m.tensor(v))])
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, atol=1e-10)


def test_warnings():
    X = ember.stft(ember.randn(20), 8, window=ember.hann_window(8), return_complex=True)
    with pytest.warns(UserWarning, match="A window was not provided"):
        ember.istft(X, 8)
    with pytest.warns(UserWarning, match="return_complex=False is deprecated"):
        out = ember.stft(ember.randn(20), 8, window=ember.ones(8), return_complex=False)
    with pytest.warns(UserWarning, match="spectral leakage"):
        ember.stft(ember.randn(20), 8, return_complex=True)
    assert out.shape == (5, 11, 2) and out.dtype == ember.float32


_X = ember.randn(20)
_S = ember.stft(_X, 8, window=ember.hann_window(8), return_complex=True)


@pytest.mark.parametrize("fn,exc,msg", [
    (lambda: ember.stft(_X, 8), RuntimeError, "requires the return_complex parameter"),
    (lambda: ember.stft(_X * 1j, 8, onesided=True), RuntimeError,
     "Cannot have onesided output if window or input is complex"),
    (lambda: ember.stft(_X, 8, pad_mode="bad", return_complex=True), NotImplementedError,
     "Unrecognised padding mode bad"),
    (lambda: ember.stft(_X, 60, return_complex=True), RuntimeError,
     "Padding size should be less than the corresponding input dimension"),
    (lambda: ember.stft(_X, 30, center=False, return_complex=True), RuntimeError,
     "expected 0 < n_fft"),
    (lambda: ember.stft(_X, 8, hop_length=0, return_complex=True), RuntimeError,
     "expected hop_length > 0"),
    (lambda: ember.stft(_X, 8, win_length=9, return_complex=True), RuntimeError,
     "expected 0 < win_length <= n_fft"),
    (lambda: ember.stft(_X, 8, window=ember.ones(6), return_complex=True), RuntimeError,
     "expected a 1D window tensor of size equal to win_length=8"),
    (lambda: ember.stft(ember.ones(2, 2, 20), 8, return_complex=True), RuntimeError,
     "expected a 1D or 2D tensor"),
    (lambda: ember.stft(_X, 8, align_to_window=True, return_complex=True), RuntimeError,
     "align_to_window should only be set when center = false"),
    (lambda: ember.istft(_S.real, 8), RuntimeError, "requires a complex-valued input"),
    (lambda: ember.istft(_S, 10, window=ember.ones(10)), RuntimeError,
     "to match n_fft / 2 \\+ 1 when onesided=True, but got 5"),
    (lambda: ember.istft(_S, 8, window=ember.ones(8), onesided=False), RuntimeError,
     "to match n_fft when onesided=False, but got 5"),
    (lambda: ember.istft(_S, 8, hop_length=9, window=ember.ones(8)), RuntimeError,
     "expected 0 < hop_length <= win_length"),
    (lambda: ember.istft(_S, 8, hop_length=8, window=ember.hann_window(8)), RuntimeError,
     "window overlap add min"),
    (lambda: ember.istft(_S, 8, window=ember.hann_window(8), center=False), RuntimeError,
     "window overlap add min"),
])
def test_errors(fn, exc, msg):
    with pytest.raises(exc, match=msg):
        fn()
