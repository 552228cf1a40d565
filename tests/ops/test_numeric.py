"""Op table and focused tests: numerical utilities (diff, gradient, trapezoid, cov, histogram,
isin, combinatorics, block/Vandermonde matrices, complex <-> real views, slice scatters, renorm)
and the Tensor methods of ember/ops/numeric.py and numeric_views.py."""

import itertools
import warnings

import numpy as np
import pytest

import ember
from tests.harness import OpInfo, op_tests

try:
    import scipy.integrate
    import scipy.linalg
except ImportError:  # the rows that use SciPy as reference skip their forward check
    scipy = None

S = (3, 4)
I = np.array  # int arrays are not differentiated
COORD = np.array([0.0, 0.5, 1.75, 2.0])  # increasing sample points (differentiated)
ICOORD = np.array([0, 1, 3, 4])


def np_cumtrapz(y, x=None, dx=1.0, axis=-1):
    if scipy is None:
        pytest.skip("needs scipy")
    return scipy.integrate.cumulative_trapezoid(y, x, dx=dx, axis=axis)


def np_block_diag(*arrays):
    if scipy is None:
        pytest.skip("needs scipy")
    return scipy.linalg.block_diag(*arrays)


def np_scatter(x, src, key):
    out = x.copy()
    out[key] = src
    return out


def np_renorm(x, p, dim, maxnorm):
    axes = tuple(k for k in range(x.ndim) if k != dim)
    norm = np.sum(np.abs(x) ** p, axis=axes, keepdims=True) ** (1 / p)
    return x * np.where(norm > maxnorm, maxnorm / (norm + 1e-7), 1.0)


def np_fill_diagonal(x, v, wrap=False):
    out = x.copy()
    np.fill_diagonal(out, v, wrap=wrap)
    return out


def np_complex_mul(x, y):
    z = (x[..., 0] + 1j * x[..., 1]) * (y[..., 0] + 1j * y[..., 1])
    return np.stack([z.real, z.imag], -1)


ROWS = [
    # differences
    OpInfo("diff", lambda m, x: m.diff(x), [[S], [(5,)], [(2, 3, 4)]], lambda x: np.diff(x)),
    OpInfo("diff_n_dim", lambda m, x: x.diff(2, 0), [[(4, 3)]], lambda x: np.diff(x, 2, 0)),
    OpInfo("diff_n_too_big", lambda m, x: m.diff(x, 5), [[S]], lambda x: np.diff(x, 5)),
    OpInfo("diff_prepend_append", lambda m, x, p, a: m.diff(x, 1, 1, p, a),
           [[S, (3, 1), (3, 2)]], lambda x, p, a: np.diff(x, 1, 1, p, a)),
    OpInfo("gradient", lambda m, x: m.gradient(x), [[S], [(5,)]],
           lambda x: np.gradient(x)),
    OpInfo("gradient_spacing", lambda m, x: m.gradient(x, spacing=0.5, dim=1), [[S]],
           lambda x: np.gradient(x, 0.5, axis=1)),
    OpInfo("gradient_spacing_list", lambda m, x: m.gradient(x, spacing=[2.0, 0.5]), [[S]],
           lambda x: np.gradient(x, 2.0, 0.5)),
    OpInfo("gradient_edge2", lambda m, x: m.gradient(x, edge_order=2), [[S], [(3, 3, 4)]],
           lambda x: np.gradient(x, edge_order=2)),
    *[OpInfo(f"gradient_coords_edge{e}",
             lambda m, x, c, e=e: m.gradient(x, spacing=(c,), dim=-1, edge_order=e),
             [[S, COORD], [S, ICOORD]],
             lambda x, c, e=e: np.gradient(x, c, axis=-1, edge_order=e)) for e in (1, 2)],
    # integrals
    OpInfo("trapezoid", lambda m, y: m.trapezoid(y), [[S], [(5,)], [(3, 1)], [(2, 0)]],
           lambda y: np.trapezoid(y)),
    OpInfo("trapezoid_dx", lambda m, y: m.trapezoid(y, dx=0.5, dim=0), [[S]],
           lambda y: np.trapezoid(y, dx=0.5, axis=0)),
    OpInfo("trapezoid_x", lambda m, y, x: m.trapezoid(y, x), [[S, COORD], [S, ICOORD]],
           lambda y, x: np.trapezoid(y, x)),
    OpInfo("trapezoid_x_nd", lambda m, y, x: m.trapezoid(y, x, dim=0), [[S, S]],
           lambda y, x: np.trapezoid(y, x, axis=0)),
    OpInfo("trapz", lambda m, y, x: m.trapz(y, x), [[S, COORD]], lambda y, x: np.trapezoid(y, x)),
    OpInfo("cumulative_trapezoid", lambda m, y: m.cumulative_trapezoid(y), [[S], [(5,)]],
           lambda y: np_cumtrapz(y)),
    OpInfo("cumulative_trapezoid_x", lambda m, y, x: m.cumulative_trapezoid(y, x),
           [[S, COORD]], lambda y, x: np_cumtrapz(y, x)),
    OpInfo("cumulative_trapezoid_dx", lambda m, y: m.cumulative_trapezoid(y, dx=2.0, dim=0),
           [[S]], lambda y: np_cumtrapz(y, dx=2.0, axis=0)),
    # statistics
    OpInfo("cov", lambda m, x: m.cov(x), [[S], [(5,)], [(1, 4)]], lambda x: np.cov(x)),
    OpInfo("cov_correction0", lambda m, x: x.cov(correction=0), [[S]],
           lambda x: np.cov(x, ddof=0)),
    OpInfo("cov_fweights", lambda m, x, f: m.cov(x, fweights=f), [[S, I([1, 2, 0, 3])]],
           lambda x, f: np.cov(x, fweights=f)),
    OpInfo("cov_aweights", lambda m, x, a: m.cov(x, aweights=a), [[S, (4,)]],
           lambda x, a: np.cov(x, aweights=a), domain=(0.5, 2.0)),
    OpInfo("cov_both_weights", lambda m, x, f, a: m.cov(x, correction=2, fweights=f, aweights=a),
           [[S, I([2, 1, 3, 1]), (4,)]], lambda x, f, a: np.cov(x, ddof=2, fweights=f,
                                                                aweights=a), domain=(0.5, 2.0)),
    OpInfo("corrcoef", lambda m, x: m.corrcoef(x), [[S], [(2, 6)]], np.corrcoef),
    OpInfo("corrcoef_1d", lambda m, x: x.corrcoef(), [[(5,)]], lambda x: np.corrcoef(x)),
    OpInfo("histogram", lambda m, x: m.histogram(x, 5), [[(20,)], [(4, 5)]],
           lambda x: np.histogram(x, 5), grad=False),
    OpInfo("histogram_edges", lambda m, x, e: x.histogram(e),
           [[(30,), np.array([-2.0, -0.5, 0.0, 1.0, 2.0])]],
           lambda x, e: np.histogram(x, e), grad=False),
    OpInfo("histogram_weight_density",
           lambda m, x, w: m.histogram(x, 4, range=(-1.0, 1.5), weight=w, density=True),
           [[(25,), (25,)]],
           lambda x, w: np.histogram(x, 4, range=(-1.0, 1.5), weights=w, density=True),
           grad=False),
    # membership and indices (not differentiable)
    OpInfo("isin", lambda m, x, t: m.isin(x, t), [[I([[1, 5, 2], [7, 2, 0]]), I([2, 7, 9])]],
           lambda x, t: np.isin(x, t), grad=False),
    OpInfo("isin_invert", lambda m, x, t: m.isin(x, t, invert=True),
           [[I([1.5, np.nan, 2.0, 3.0]), I([3, 1])]], lambda x, t: np.isin(x, t, invert=True),
           grad=False),
    OpInfo("isin_scalar", lambda m, x: m.isin(x, 2), [[I([1, 2, 3, 2])]],
           lambda x: np.isin(x, 2), grad=False),
    OpInfo("unravel_index", lambda m, i: m.unravel_index(i, (2, 3, 4)),
           [[I([0, 5, 23, 17])], [I(9)]], lambda i: np.unravel_index(i, (2, 3, 4)), grad=False),
    # combinatorics and special matrices
    OpInfo("cartesian_prod", lambda m, a, b, c: m.cartesian_prod(a, b, c),
           [[(2,), (3,), (2,)]],
           lambda a, b, c: np.array(list(itertools.product(a, b, c)))),
    OpInfo("combinations", lambda m, x: m.combinations(x), [[(4,)]],
           lambda x: np.array(list(itertools.combinations(x, 2)))),
    OpInfo("combinations_replacement", lambda m, x: m.combinations(x, 3, with_replacement=True),
           [[(3,)]], lambda x: np.array(list(itertools.combinations_with_replacement(x, 3)))),
    OpInfo("block_diag", lambda m, a, b, c: m.block_diag(a, b, c), [[(), (3,), (2, 2)]],
           np_block_diag),
    # (torch's own vander backward fails its version check, so no torch comparison there)
    OpInfo("vander", lambda m, x: m.vander(x), [[(4,)]], np.vander, torch=False),
    OpInfo("vander_n_increasing", lambda m, x: m.vander(x, 5, increasing=True), [[(3,)]],
           lambda x: np.vander(x, 5, increasing=True), torch=False),
    OpInfo("vander_int", lambda m, x: m.vander(x, 3), [[I([2, -1, 3])]],
           lambda x: np.vander(x, 3), grad=False),
    # splits
    OpInfo("hsplit", lambda m, x: m.hsplit(x, 2), [[S], [(6,)]], lambda x: np.hsplit(x, 2)),
    OpInfo("hsplit_indices", lambda m, x: x.hsplit([1, 3]), [[S]],
           lambda x: np.hsplit(x, [1, 3])),
    OpInfo("vsplit", lambda m, x: m.vsplit(x, [2]), [[S]], lambda x: np.vsplit(x, [2])),
    OpInfo("dsplit", lambda m, x: x.dsplit(2), [[(2, 3, 4)]], lambda x: np.dsplit(x, 2)),
    OpInfo("split_with_sizes", lambda m, x: x.split_with_sizes([1, 3], 1), [[S]],
           lambda x: np.split(x, [1], 1)),
    # complex <-> real views
    OpInfo("view_as_complex_mul",
           lambda m, x, y: m.view_as_real(m.view_as_complex(x) * m.view_as_complex(y)),
           [[(3, 2), (3, 2)], [(2, 3, 2), (2, 3, 2)], [(2,), (2,)]], np_complex_mul),
    OpInfo("view_as_complex_strided",
           lambda m, x: m.view_as_real(m.view_as_complex(x[:, ::2]) * 2),
           [[(3, 4, 2)]], lambda x: 2 * x[:, ::2]),
    OpInfo("view_as_real_strided",
           lambda m, x: m.view_as_real(m.view_as_complex(x).T[::2]) * 3,
           [[(3, 4, 2)]], lambda x: 3 * np.swapaxes(x, 0, 1)[::2]),
    # writing into slices
    OpInfo("select_scatter", lambda m, x, s: m.select_scatter(x, s, 1, -1), [[S, (3,)]],
           lambda x, s: np_scatter(x, s, (slice(None), -1))),
    OpInfo("slice_scatter", lambda m, x, s: x.slice_scatter(s, 1, 0, None, 2), [[S, (3, 2)]],
           lambda x, s: np_scatter(x, s, (slice(None), slice(0, None, 2)))),
    OpInfo("slice_scatter_neg", lambda m, x, s: m.slice_scatter(x, s, 0, -2), [[S, (2, 4)]],
           lambda x, s: np_scatter(x, s, slice(-2, None))),
    # norms, sums, methods
    *[OpInfo(f"renorm_p{p}", lambda m, x, p=p: m.renorm(x, p, 0, 2.0), [[S], [(3, 2, 2)]],
             lambda x, p=p: np_renorm(x, p, 0, 2.0)) for p in (1, 2, 3)],
    OpInfo("renorm_dim1", lambda m, x: x.renorm(2, -1, 1.5), [[S]],
           lambda x: np_renorm(x, 2, 1, 1.5)),
    OpInfo("sum_to_size", lambda m, x: x.sum_to_size(1, 4), [[S]],
           lambda x: x.sum(0, keepdims=True)),
    OpInfo("sum_to_size_lead", lambda m, x: x.sum_to_size((3, 1)), [[(2, 3, 4)]],
           lambda x: x.sum((0, 2))[:, None]),
    OpInfo("positive", lambda m, x: x.positive(), [[S]], lambda x: x),
    OpInfo("fill_diagonal_", lambda m, x: x.clone().fill_diagonal_(2.0), [[S], [(3, 3, 3)]],
           lambda x: np_fill_diagonal(x, 2.0)),
    OpInfo("fill_diagonal_wrap", lambda m, x: (x * 1).fill_diagonal_(-1.0, wrap=True),
           [[(7, 3)]], lambda x: np_fill_diagonal(x, -1.0, wrap=True)),
]

test_forward, test_grad, test_gradgrad, test_vs_torch = op_tests(ROWS)


# -- dtypes and non-differentiable outputs ---------------------------------------------------------
def test_result_dtypes():
    i = ember.arange(6).reshape(2, 3)
    assert ember.diff(ember.tensor([True, False, False])).tolist() == [True, False]
    assert ember.diff(i).dtype == ember.int64
    assert ember.trapezoid(i).dtype == ember.float32
    assert ember.cumulative_trapezoid(i, dx=2).dtype == ember.float32
    assert ember.cov(ember.arange(4)).dtype == ember.float32
    assert ember.gradient(i, spacing=2, dim=1)[0].dtype == ember.float32
    assert ember.vander(ember.tensor([1, 2], dtype=ember.int32)).dtype == ember.int64
    assert ember.vander(ember.tensor([True, False])).tolist() == [[1, 1], [0, 1]]
    assert ember.block_diag(ember.tensor(1), ember.ones(2, dtype=ember.float64)).dtype == \
        ember.float64
    assert ember.block_diag().shape == (1, 0)


def test_nondifferentiable_outputs():
    x = ember.randn(10, requires_grad=True)
    h = ember.histogram(x, 3)
    assert h._fields == ("hist", "bin_edges") and h.hist is h[0]
    assert not h.hist.requires_grad and h.hist.sum().item() == 10
    assert not ember.isin(x, x[:2]).requires_grad and ember.isin(x, x[:2]).dtype == ember.bool
    rows, cols = ember.unravel_index(ember.tensor([5, -1], dtype=ember.int32), (2, 3))
    assert rows.dtype == ember.int64 and rows.tolist() == [1, 1] and cols.tolist() == [2, 2]
    assert ember.unravel_index(ember.tensor([1]), ()) == ()
    assert ember.isin(2, ember.tensor([1, 2])).item() is True


def test_small_cases_match_torch():
    torch = pytest.importorskip("torch")
    cases = [
        lambda m: m.histogram(m.tensor([1.0, 1.0, 1.0]), bins=4),
        lambda m: m.histogram(m.tensor([]), bins=3),
        lambda m: m.combinations(m.arange(3), 0),
        lambda m: m.combinations(m.arange(3), 4),
        lambda m: m.cartesian_prod(m.tensor([1, 2])),
        lambda m: m.block_diag(m.ones(0, 2), m.ones(1, 0)),
        lambda m: m.trapezoid(m.ones(2, 0), m.ones(0)),
        lambda m: m.cumulative_trapezoid(m.ones(2, 1)),
        lambda m: m.vander(m.tensor([1.0, 2.0]), N=0),
        lambda m: m.hsplit(m.arange(6.0).reshape(2, 3), [1, 5]),
        lambda m: m.gradient(m.tensor(1.0)),
        lambda m: m.corrcoef(m.tensor([1.0, 2.0, 4.0])),
        lambda m: m.slice_scatter(m.zeros(2, 3), m.ones(2, 0), 1, 5),
        lambda m: m.unravel_index(m.tensor([6, -7]), (2, 3)),
    ]
    for case in cases:
        got, want = case(ember), case(torch)
        got = got if isinstance(got, tuple) else (got,)
        want = want if isinstance(want, tuple) else (want,)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert tuple(g.shape) == tuple(w.shape) and str(g.dtype)[6:] == str(w.dtype)[6:]
            np.testing.assert_allclose(g.numpy(), w.numpy())


def test_is_signed():
    for dt, want in [(ember.uint8, False), (ember.bool, False), (ember.int8, True),
                     (ember.float16, True), (ember.bfloat16, True), (ember.complex64, True)]:
        t = ember.ones(1, dtype=dt)
        assert ember.is_signed(t) is want and t.is_signed() is want


def test_new_empty_strided():
    x = ember.ones(2, dtype=ember.float64)
    y = x.new_empty_strided((2, 3), (1, 2))
    assert y.stride() == (1, 2) and y.dtype == ember.float64 and y.device == x.device
    z = x.new_empty_strided((2, 3), (3, 1), dtype=ember.int32, requires_grad=False)
    assert z.dtype == ember.int32 and tuple(z.shape) == (2, 3)


def test_cov_warns_on_nonpositive_dof():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's 0/0
        with pytest.warns(UserWarning, match="degrees of freedom"):
            c = ember.cov(ember.randn(2, 1))
    assert bool(ember.isnan(c).all())


# -- views ---------------------------------------------------------------------------------------
def test_view_as_real_shares_memory():
    c = ember.tensor([1 + 2j, 3 - 1j])
    r = ember.view_as_real(c)
    assert r.shape == (2, 2) and r.dtype == ember.float32 and r._base is c
    v0 = c._version
    r[0, 1] = 7.0
    assert c.tolist() == [1 + 7j, 3 - 1j] and c._version == v0 + 1
    c[1] = 5j
    assert r.tolist() == [[1.0, 7.0], [0.0, 5.0]] and r._version == c._version
    assert ember.view_as_real(ember.tensor(1 + 2j)).tolist() == [1.0, 2.0]


def test_view_as_complex_shares_memory():
    x = ember.zeros(3, 2, dtype=ember.float64)
    c = ember.view_as_complex(x)
    assert c.dtype == ember.complex128 and c.shape == (3,)
    c.mul_(0).add_(2 - 1j)
    assert x.tolist() == [[2.0, -1.0]] * 3
    x[0, 0] = 9.0
    assert c[0].item() == 9 - 1j
    s = ember.view_as_complex(ember.ones(2, 3, 2)[:, ::2])
    assert s.shape == (2, 2) and s.stride() == (3, 2)


def test_view_as_real_inplace_grad_matches_torch():
    torch = pytest.importorskip("torch")
    v = np.array([1.0, -2.0, 0.5, 3.0])
    out = []
    for m in (ember, torch):
        x = m.tensor(v, requires_grad=True)
        c = m.view_as_complex(x.reshape(2, 2) * 1)
        r = m.view_as_real(c)
        r.mul_(m.tensor([[2.0, 3.0]], dtype=r.dtype))
        (m.view_as_real(c * c).sum()).backward()
        out.append(x.grad.numpy())
    np.testing.assert_allclose(out[0], out[1])


@pytest.mark.parametrize("make,msg", [
    (lambda: ember.view_as_real(ember.ones(2)), "only supported for complex tensors"),
    (lambda: ember.view_as_complex(ember.ones(2, 3)), "last dimension of size 2"),
    (lambda: ember.view_as_complex(ember.ones(3, 2, dtype=ember.int64)), "scalar type: Long"),
    (lambda: ember.view_as_complex(ember.ones(2, 3).t()), "last dimension with stride 1"),
    (lambda: ember.view_as_complex(ember.ones(3, 3)[:, :2]), "stride divisible by 2"),
    (lambda: ember.view_as_complex(ember.ones(5)[1:].view(2, 2)), "storage_offset divisible"),
])
def test_view_errors(make, msg):
    with pytest.raises(RuntimeError, match=msg):
        make()


# -- in-place methods ------------------------------------------------------------------------------
def test_renorm_inplace():
    x = ember.tensor([[3.0, 4.0], [0.3, 0.4]])
    want = ember.renorm(x, 2, 0, 1.0)
    v = x._version
    assert x.renorm_(2, 0, 1.0) is x and x._version == v + 1
    np.testing.assert_allclose(x.numpy(), want.numpy())
    np.testing.assert_allclose(x.numpy(), [[0.6, 0.8], [0.3, 0.4]], rtol=1e-6)


def test_fill_diagonal_inplace():
    x = ember.zeros(2, 5)
    v = x._version
    assert x.fill_diagonal_(2, wrap=True) is x and x._version == v + 1
    assert x.nonzero().tolist() == [[0, 0], [1, 1]]
    i = ember.zeros(2, 3, dtype=ember.int64).fill_diagonal_(2.7)
    assert i.tolist() == [[2, 0, 0], [0, 2, 0]]
    leaf = ember.zeros(2, 2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        leaf.fill_diagonal_(1.0)
    y = leaf * 1
    y.fill_diagonal_(3.0)
    y.sum().backward()
    assert leaf.grad.tolist() == [[0.0, 1.0], [1.0, 0.0]]


# -- errors --------------------------------------------------------------------------------------
X = ember.arange(6.0).reshape(2, 3)


@pytest.mark.parametrize("make,exc,msg", [
    (lambda: ember.diff(ember.tensor(1.0)), RuntimeError, "at least one-dimensional"),
    (lambda: ember.diff(X, n=-1), RuntimeError, "order must be non-negative"),
    (lambda: ember.diff(X, prepend=ember.ones(2)), RuntimeError, "same dimension as input"),
    (lambda: ember.diff(X, prepend=ember.ones(3, 3)), RuntimeError,
     r"input.size\(0\) = 2, but got tensor.size\(0\) = 3"),
    (lambda: ember.cartesian_prod(ember.ones(2, 2)), RuntimeError, "Expect a 1D vector"),
    (lambda: ember.cartesian_prod(ember.tensor([1]), ember.tensor([1.0])), RuntimeError,
     "same dtype"),
    (lambda: ember.combinations(ember.arange(3), -1), RuntimeError, "non-negative number"),
    (lambda: ember.block_diag(ember.ones(2, 2, 2)), RuntimeError, "Input 0 has 3 dimensions"),
    (lambda: ember.cov(ember.ones(2, 2, 2)), RuntimeError, "two or fewer dimensions"),
    (lambda: ember.cov(X, fweights=ember.tensor([1.0, 2, 3])), RuntimeError, "integral dtype"),
    (lambda: ember.cov(X, fweights=ember.tensor([1, 2])), RuntimeError, "2 != 3"),
    (lambda: ember.cov(X, fweights=ember.tensor([1, -2, 3])), RuntimeError, "cannot be negative"),
    (lambda: ember.cov(X, aweights=ember.tensor([1, 2, 3])), RuntimeError, "floating point"),
    (lambda: ember.cov(X, aweights=ember.ones(1, 3)), RuntimeError, "one or fewer dimensions"),
    (lambda: ember.corrcoef(ember.ones(2, 2, 2)), RuntimeError, "two or fewer dimensions"),
    (lambda: ember.isin(2, 3), TypeError, "to be a Tensor"),
    (lambda: ember.unravel_index(ember.tensor([1.0]), (2, 3)), TypeError, "integer dtype"),
    (lambda: ember.unravel_index(ember.tensor([1]), (2, -3)), ValueError, "negative values"),
    (lambda: ember.unravel_index(ember.tensor([1]), (2, 0)), RuntimeError, "no elements"),
    (lambda: ember.trapezoid(X, ember.tensor([1.0, 2.0])), RuntimeError, "one `x` value"),
    (lambda: ember.trapezoid(ember.tensor(1.0)), IndexError, "no dimensions"),
    (lambda: ember.vander(ember.ones(2, 2)), RuntimeError, "one-dimensional"),
    (lambda: ember.vander(ember.ones(2), N=-1), RuntimeError, "N must be non-negative"),
    (lambda: ember.hsplit(X, 2), RuntimeError, "size of the dimension 3 is not divisible"),
    (lambda: ember.hsplit(ember.tensor(1), 2), RuntimeError, "at least 1 dimension"),
    (lambda: ember.vsplit(ember.arange(4), 2), RuntimeError, "at least 2 dimension"),
    (lambda: ember.dsplit(X, 2), RuntimeError, "at least 3 dimension"),
    (lambda: ember.vsplit(X, 0), RuntimeError, "split_size 0"),
    (lambda: ember.histogram(ember.tensor([1, 2]), 3), NotImplementedError, "'Long'"),
    (lambda: ember.histogram(X, 0), RuntimeError, "bins must be > 0"),
    (lambda: ember.histogram(X, 2, range=(3.0, 1.0)), RuntimeError, "min should not exceed"),
    (lambda: ember.histogram(ember.tensor([1.0, float("inf")]), 3), RuntimeError, "not finite"),
    (lambda: ember.histogram(X, ember.ones(1, 2)), RuntimeError, "one dimension"),
    (lambda: ember.histogram(X, ember.ones(2, dtype=ember.float64)), RuntimeError,
     "same dtype"),
    (lambda: ember.histogram(X, 3, weight=ember.ones(2)), RuntimeError, "same shape"),
    (lambda: ember.select_scatter(X, ember.ones(2), 0, 1), RuntimeError,
     r"src size = \[2\], slice size = \[3\]"),
    (lambda: ember.select_scatter(X, ember.ones(3), 0, 5), IndexError, "out of range"),
    (lambda: ember.slice_scatter(X, ember.ones(2, 2), 1), RuntimeError,
     r"slice size = \[2, 3\]"),
    (lambda: ember.slice_scatter(X, ember.ones(2, 2), 1, 0, 2, 0), RuntimeError,
     "step must be positive"),
    (lambda: ember.renorm(X, 0, 0, 5), RuntimeError, "non-positive-norm"),
    (lambda: ember.renorm(X, 2, 0, -5), RuntimeError, "maxnorm to be >= 0"),
    (lambda: ember.renorm(ember.arange(3.0), 2, 0, 1), RuntimeError, "at least 2 dimensions"),
    (lambda: ember.renorm(ember.ones(2, 2, dtype=ember.int64), 2, 0, 1), RuntimeError, "Long"),
    (lambda: X.sum_to_size(4), RuntimeError, r"size \{\[4\]\} is not expandable"),
    (lambda: X.sum_to_size(1, 2, 3), RuntimeError, "not expandable"),
    (lambda: ember.gradient(X, edge_order=3), RuntimeError, "edge_order=1 and edge_order=2"),
    (lambda: ember.gradient(X, edge_order=2), RuntimeError, "at least edge_order\\+1"),
    (lambda: ember.gradient(X, dim=[0, 0]), RuntimeError, "multiple times"),
    (lambda: ember.gradient(X, spacing=[2.0]), RuntimeError, "list of length 1"),
    (lambda: ember.gradient(X, spacing=[2.0], dim=[0, 1]), RuntimeError, "same length"),
    (lambda: ember.gradient(X, spacing=[ember.tensor(2.0)], dim=1), RuntimeError,
     "0 dimensions"),
    (lambda: ember.gradient(X, spacing=[ember.arange(4.0)], dim=1), RuntimeError,
     "3 values, but got 4"),
    (lambda: ember.zeros(3).fill_diagonal_(2), RuntimeError, "dimensions must larger than 1"),
    (lambda: ember.zeros(3, 3, 2).fill_diagonal_(2), RuntimeError, "equal length"),
])
def test_errors(make, exc, msg):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(exc, match=msg):
            make()


def test_errors_leave_inputs_unchanged():
    x = ember.zeros(3, 3, 2)
    v = x._version
    with pytest.raises(RuntimeError):
        x.fill_diagonal_(1.0)
    assert x._version == v and not bool(x.any())
