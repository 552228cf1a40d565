"""Op table and behaviour tests for ember.fft.

Complex inputs are built from two real tensors and complex outputs are split into real and
imaginary parts, so the finite-difference and PyTorch checks test the complex gradient
convention end to end.
"""

import numpy as np
import pytest

import ember
from tests.harness import OpInfo, op_tests

# building a complex input casts real to complex; the cast's backward warns as it drops the
# (zero) imaginary part of the gradient
pytestmark = pytest.mark.filterwarnings("ignore::numpy.exceptions.ComplexWarning")

NORMS = (None, "ortho", "forward")
X, Y = (3, 8), (2, 7)


def cplx(m, re, im):
    one, i = (m.tensor(v, dtype=m.complex128) for v in (1.0, 1j))
    return re * one + im * i


def parts(m, z):
    if not z.is_complex():
        return z
    if hasattr(z, "resolve_conj"):  # torch's lazy conjugation
        z = z.resolve_conj()
    return m.real(z), m.imag(z)


def c_row(name, fn, ref, samples, **kw):
    """A row whose op takes a complex input (given as real and imaginary parts)."""
    return OpInfo(name, lambda m, re, im: parts(m, fn(m, cplx(m, re, im))), samples,
                  lambda re, im: _split(ref(re + 1j * im)), **kw)


def r_row(name, fn, ref, samples, **kw):
    """A row whose op takes a real input."""
    return OpInfo(name, lambda m, x: parts(m, fn(m, x)), samples, lambda x: _split(ref(x)),
                  **kw)


def _split(z):
    return (z.real, z.imag) if np.iscomplexobj(z) else z


def _rows_for(norm):
    n = norm or "backward"
    F = np.fft
    return [
        r_row(f"fft_real_{n}", lambda m, x: m.fft.fft(x, norm=norm),
              lambda x: F.fft(x, norm=norm), [[X], [(5,)]]),
        r_row(f"fft_n_dim_{n}", lambda m, x: m.fft.fft(x, n=5, dim=0, norm=norm),
              lambda x: F.fft(x, n=5, axis=0, norm=norm), [[X]]),
        c_row(f"fft_{n}", lambda m, z: m.fft.fft(z, norm=norm),
              lambda z: F.fft(z, norm=norm), [[X, X]]),
        c_row(f"ifft_{n}", lambda m, z: m.fft.ifft(z, n=10, norm=norm),
              lambda z: F.ifft(z, n=10, norm=norm), [[X, X]]),
        c_row(f"fft2_{n}", lambda m, z: m.fft.fft2(z, norm=norm),
              lambda z: F.fft2(z, norm=norm), [[X, X]]),
        c_row(f"ifftn_s_{n}", lambda m, z: m.fft.ifftn(z, s=(4, 6), norm=norm),
              lambda z: F.ifftn(z, s=(4, 6), axes=(1, 2), norm=norm), [[(2, 3, 5), (2, 3, 5)]]),
        r_row(f"rfft_{n}", lambda m, x: m.fft.rfft(x, norm=norm),
              lambda x: F.rfft(x, norm=norm), [[X], [Y]]),
        r_row(f"rfft_pad_{n}", lambda m, x: m.fft.rfft(x, n=11, norm=norm),
              lambda x: F.rfft(x, n=11, norm=norm), [[Y]]),
        c_row(f"irfft_{n}", lambda m, z: m.fft.irfft(z, norm=norm),
              lambda z: F.irfft(z, norm=norm), [[X, X]]),
        c_row(f"irfft_odd_{n}", lambda m, z: m.fft.irfft(z, n=7, norm=norm),
              lambda z: F.irfft(z, n=7, norm=norm), [[X, X]]),
        c_row(f"irfft_pad_{n}", lambda m, z: m.fft.irfft(z, n=20, dim=0, norm=norm),
              lambda z: F.irfft(z, n=20, axis=0, norm=norm), [[X, X]]),
        r_row(f"rfft2_{n}", lambda m, x: m.fft.rfft2(x, norm=norm),
              lambda x: F.rfft2(x, norm=norm), [[X]]),
        r_row(f"rfftn_s_{n}", lambda m, x: m.fft.rfftn(x, s=(5, 6), norm=norm),
              lambda x: F.rfftn(x, s=(5, 6), axes=(0, 1), norm=norm), [[X]]),
        c_row(f"irfft2_{n}", lambda m, z: m.fft.irfft2(z, norm=norm),
              lambda z: F.irfft2(z, norm=norm), [[X, X]]),
        c_row(f"irfftn_s_{n}", lambda m, z: m.fft.irfftn(z, s=(4, 9), norm=norm),
              lambda z: F.irfftn(z, s=(4, 9), axes=(0, 1), norm=norm), [[X, X]]),
        c_row(f"hfft_{n}", lambda m, z: m.fft.hfft(z, norm=norm),
              lambda z: F.hfft(z, norm=norm), [[X, X]]),
        r_row(f"ihfft_{n}", lambda m, x: m.fft.ihfft(x, norm=norm),
              lambda x: F.ihfft(x, norm=norm), [[X]]),
    ]


ROWS = [row for norm in NORMS for row in _rows_for(norm)] + [
    r_row("irfft_of_real", lambda m, x: m.fft.irfft(x), np.fft.irfft, [[X]]),
    OpInfo("rfft_abs_sum", lambda m, x: m.fft.rfft(x).abs().sum(),
           [[X]], lambda x: np.abs(np.fft.rfft(x)).sum()),
    OpInfo("rfft_roundtrip", lambda m, x: m.fft.irfft(m.fft.rfft(x), n=x.shape[-1]),
           [[X], [Y]], lambda x: x),
    OpInfo("fftshift", lambda m, x: m.fft.fftshift(x), [[Y], [(5,)]], np.fft.fftshift),
    OpInfo("ifftshift_dim", lambda m, x: m.fft.ifftshift(x, dim=1), [[Y]],
           lambda x: np.fft.ifftshift(x, axes=1)),
    OpInfo("fft_float32_input", lambda m, x: parts(m, m.fft.fft(x.float())), [[X]],
           lambda x: _split(np.fft.fft(x)), grad=False, atol=1e-5, rtol=1e-5),
]

test_forward, test_grad, test_gradgrad, test_vs_torch = op_tests(ROWS)


def test_dtypes():
    x32 = ember.ones(4)
    assert ember.fft.fft(x32).dtype == ember.complex64
    assert ember.fft.rfft(x32.double()).dtype == ember.complex128
    assert ember.fft.irfft(ember.fft.rfft(x32)).dtype == ember.float32
    assert ember.fft.fft(ember.arange(4)).dtype == ember.complex64
    assert ember.fft.hfft(ember.fft.rfft(x32)).dtype == ember.float32
    assert ember.fft.fftfreq(4).dtype == ember.float32
    assert ember.fft.rfftfreq(4, dtype=ember.float64).dtype == ember.float64


@pytest.mark.parametrize("fn,msg", [
    (lambda: ember.fft.fft(ember.ones(3), n=0), r"Invalid number of data points \(0\)"),
    (lambda: ember.fft.fft(ember.ones(3), norm="x"), 'Invalid normalization mode: "x"'),
    (lambda: ember.fft.fft(ember.ones(3, dtype=ember.float16)), "Unsupported dtype Half"),
    (lambda: ember.fft.rfft(ember.fft.fft(ember.ones(4))),
     "rfft expects a real input tensor, but got ComplexFloat"),
    (lambda: ember.fft.fftn(ember.ones(3, 3), s=(2, 2), dim=(0,)), "same length"),
    (lambda: ember.fft.fftn(ember.ones(3, 3), dim=(0, 0)), "unique"),
])
def test_errors(fn, msg):
    with pytest.raises(RuntimeError, match=msg):
        fn()


def test_bad_dim_is_index_error():
    with pytest.raises(IndexError):
        ember.fft.fft(ember.ones(3), dim=1)


@pytest.mark.parametrize("n,d", [(1, 1.0), (4, 1.0), (5, 0.5), (8, 2.0)])
def test_frequencies(n, d):
    np.testing.assert_allclose(ember.fft.fftfreq(n, d).numpy(), np.fft.fftfreq(n, d), rtol=1e-6)
    np.testing.assert_allclose(ember.fft.rfftfreq(n, d).numpy(), np.fft.rfftfreq(n, d),
                               rtol=1e-6)


def test_shift_all_dims_roundtrip():
    x = ember.arange(30.0).reshape(5, 6)
    np.testing.assert_array_equal(ember.fft.fftshift(x).numpy(), np.fft.fftshift(x.numpy()))
    np.testing.assert_array_equal(ember.fft.ifftshift(ember.fft.fftshift(x)).numpy(), x.numpy())


def test_fft_module_is_a_namespace():
    import ember.fft as fft_module
    assert ember.fft is fft_module
    assert callable(ember.fft.fft) and not hasattr(ember, "rfft")


def test_complex_gradient_of_complex_leaf_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    z = rng.standard_normal((3, 6)) + 1j * rng.standard_normal((3, 6))
    g = rng.standard_normal((3, 4)) + 1j * rng.standard_normal((3, 4))
    res = []
    for m in (ember, torch):
        t = m.tensor(z, requires_grad=True)
        out = m.fft.ifft(m.fft.fft(t, norm="ortho") * t, n=4)
        res.append(m.autograd.grad(out, t, m.tensor(g))[0].numpy())
    np.testing.assert_allclose(res[0], res[1], atol=1e-10)
