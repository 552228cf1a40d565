"""Tensor creation: dtype inference, shapes and values of every factory, vs PyTorch."""

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def summary(t, m):
    """(dtype name, shape, values rounded, requires_grad) of a tensor of library ``m``."""
    d = t.detach()
    vals = d.to(m.complex128) if d.is_complex() else d.to(m.float64)
    return (str(t.dtype).split(".")[-1], tuple(t.shape),
            np.round(np.asarray(vals.tolist()), 5).tolist(), t.requires_grad)


def outcome(expr, m):
    """What ``expr`` gives under library ``m``: a summary, or the exception type."""
    try:
        r = eval(expr, {"m": m, "np": np})
    except Exception as e:  # compared by type only
        return type(e)
    return summary(r, m) if isinstance(r, m.Tensor) else repr(r).replace("torch.", "ember.")


def check(expr, errors_as=None):
    e, t = outcome(expr, ember), outcome(expr, torch)
    if isinstance(t, type) and errors_as is not None:
        assert isinstance(e, type) and issubclass(e, errors_as), (expr, e, t)
        return
    if isinstance(t, type):
        assert isinstance(e, type) and issubclass(e, t), (expr, e, t)
        return
    assert e == t, expr


# -- dtype inference ----------------------------------------------------------------------------
INFER = [
    "[1, 2.5]", "[True, 1]", "[True, False]", "[1, 2j]", "[[1], [2.5]]", "np.float32(1.)",
    "[np.float32(1.), 2.]", "[np.float64(1.)]", "[np.int32(1), 2]", "[np.int32(1)]",
    "np.array([1, 2], dtype=np.int32)", "[m.tensor(1, dtype=m.int32), m.tensor(2, dtype=m.int32)]",
    "[m.tensor(1, dtype=m.int32), 2]", "[m.tensor(1.5, dtype=m.float64), 2]", "[m.tensor(1), 2.5]",
    "[m.tensor(1.5, dtype=m.float16)]", "[[m.tensor(1.)], [m.tensor(2.)]]", "[m.tensor([1.5])]",
    "[m.tensor(1.5, dtype=m.bfloat16), 1]", "np.bool_(True)", "[]", "[[]]", "[[], []]", "()",
    "1.5", "2**40", "[2**40, 1]", "m.tensor([1, 2], dtype=m.int16)", "range(3)", "np.array(3.5)",
    "np.float16(1.5)", "np.array([1., 2.], dtype=np.float16)", "[np.float16(1.5), np.float16(2)]",
    "[1, np.float16(2)]", "[np.int64(1), np.float32(2)]", "[1.5, m.tensor(2, dtype=m.int16)]",
    "((1, 2), (3, 4))", "[[1, 2], [3, 4.5]]", "[[True], [2]]", "3j", "False",
]


@pytest.mark.parametrize("data", INFER)
def test_tensor_dtype_inference(data):
    check(f"m.tensor({data})")


@pytest.mark.parametrize("data", INFER[:20])
def test_tensor_inference_default_float64(data):
    ember.set_default_dtype(ember.float64)
    torch.set_default_dtype(torch.float64)
    try:
        check(f"m.tensor({data})")
    finally:
        torch.set_default_dtype(torch.float32)


@pytest.mark.parametrize("expr", [
    "m.tensor([1., 2.], dtype=m.int64)", "m.tensor([1.7, -1.7], dtype=m.int64)",
    "m.tensor(np.array([1, 2], dtype=np.int32), dtype=m.float16)", "m.tensor([1, 0], dtype=m.bool)",
    "m.tensor([[1, 2], [3, 4]], dtype=m.float64)", "m.tensor(m.tensor([1., 2.]))",
    "m.tensor([1., 2.], requires_grad=True)", "m.tensor(2.5, dtype=m.bfloat16)",
    "m.tensor([[1, 2], [3]])", "m.tensor('abc')", "m.tensor(None)", "m.tensor([2**63])",
    "m.tensor([300], dtype=m.uint8)", "m.tensor([1], requires_grad=True)",
    "m.tensor([m.tensor([1., 2.]), m.tensor([3., 4.])])", "m.tensor([[1], 2])",
])
def test_tensor_from_data(expr):
    check(expr)


def test_tensor_copies_and_detaches():
    a = np.array([1.0, 2.0])
    x = ember.tensor(a)
    a[0] = 9
    assert x.tolist() == [1.0, 2.0]
    src = ember.tensor([1.0], requires_grad=True)
    y = ember.tensor(src)
    assert not y.requires_grad and y.data_ptr() != src.data_ptr()
    z = ember.tensor([ember.tensor(1.0, requires_grad=True), ember.tensor(2.0)])
    assert not z.requires_grad and z.tolist() == [1.0, 2.0]


def test_as_tensor_and_asarray_share_memory():
    a = np.array([1.0, 2.0])
    x = ember.as_tensor(a)
    assert x.data_ptr() == a.ctypes.data
    y = ember.as_tensor(a, dtype=ember.float32)
    assert y.dtype is ember.float32 and y.data_ptr() != a.ctypes.data
    t = ember.tensor([1, 2])
    assert ember.as_tensor(t) is t
    assert ember.as_tensor(t, dtype=ember.float32).dtype is ember.float32
    assert ember.asarray(a).data_ptr() == a.ctypes.data
    assert ember.asarray(a, copy=True).data_ptr() != a.ctypes.data
    assert ember.asarray([1, 2.0]).dtype is ember.float32
    for expr in ["m.as_tensor([1, 2])", "m.as_tensor(np.array([1., 2.]), dtype=m.float32)",
                 "m.as_tensor(m.tensor([1, 2]), dtype=m.float32)", "m.asarray([1, 2.])",
                 "m.asarray(np.arange(3))"]:
        check(expr)


# -- filled tensors ---------------------------------------------------------------------------
@pytest.mark.parametrize("expr", [
    "m.zeros(2, 3)", "m.zeros((2, 3))", "m.zeros([2])", "m.zeros(())", "m.zeros(m.Size([2, 1]))",
    "m.zeros(2, dtype=m.int32)", "m.zeros(0)", "m.ones(2, dtype=m.bool)", "m.zeros(-1)",
    "m.zeros(2.5)", "m.zeros(m.tensor(2))", "m.ones(2, 3, dtype=m.complex64)",
    "m.zeros(2, 3, requires_grad=True)", "m.zeros(2, dtype=m.int64, requires_grad=True)",
    "m.ones(2, dtype=m.bfloat16)", "m.ones(np.int64(2))",
    "m.full((2,), 3)", "m.full((2,), 3.5)", "m.full((2,), True)", "m.full((2,), 1j)",
    "m.full((2,), 3, dtype=m.float64)", "m.full([], 2.)", "m.full((2,), m.tensor(2.5))",
    "m.full_like(m.zeros(2, dtype=m.int32), 2.7)", "m.full_like(m.zeros(2), 7)",
    "m.zeros_like(m.ones(2, dtype=m.int8))", "m.ones_like(m.ones(2), dtype=m.float64)",
    "m.ones_like(m.ones(2, requires_grad=True))", "m.zeros_like(m.ones(2, 2).t())",
    "m.ones_like(m.tensor(1.))", "m.ones_like(m.ones(2), requires_grad=True)",
    "m.empty(2, 3).shape", "m.empty(0).shape", "m.empty((2,), dtype=m.int64).dtype",
    "m.empty_like(m.ones(2, 3, dtype=m.int16)).dtype", "m.scalar_tensor(3)",
    "m.scalar_tensor(3.5, dtype=m.int64)", "m.empty_strided((2, 3), (1, 2)).stride()",
    "m.empty_strided((2, 3), (3, 1)).shape",
])
def test_filled(expr):
    check(expr)


def test_empty_and_like_keep_device_and_default_dtype():
    ember.set_default_dtype(ember.float64)
    assert ember.zeros(1).dtype is ember.float64 and ember.full((1,), 2.0).dtype is ember.float64
    assert ember.full((1,), 2).dtype is ember.int64
    assert ember.zeros_like(ember.ones(1, dtype=ember.float32)).dtype is ember.float32
    assert ember.ones(2).device == ember.device("cpu")


# -- ranges ----------------------------------------------------------------------------------
RANGES = [
    "m.arange(5)", "m.arange(1, 4)", "m.arange(0, 1, 0.1)", "m.arange(0, 1, 0.3)",
    "m.arange(1, 2.5, 0.5)", "m.arange(0.5, 3)", "m.arange(10, 0, -3)", "m.arange(0, -1, -0.25)",
    "m.arange(5, dtype=m.float32)", "m.arange(0, 5, 2, dtype=m.float64)", "m.arange(m.tensor(3))",
    "m.arange(2.5)", "m.arange(0, 10, 3.3)", "m.arange(-1.0, 1.0, 0.2)", "m.arange(1e-3, 1.0, 0.1)",
    "m.arange(0, 1, 1/3)", "m.arange(0, 0.9, 0.3)", "m.arange(5, dtype=m.int8)",
    "m.arange(0.0, 2.0, 0.1, dtype=m.float64)", "m.arange(3, dtype=m.bool)",
    "m.arange(0, 3, 1.5, dtype=m.int64)", "m.arange(1, 1)", "m.arange(0, 5, -1)",
    "m.arange(0, 5, 0)", "m.arange(m.tensor(1.5), 4)", "m.arange(0.0, 4.5, 1.5)",
    "m.arange(0, 2.5, dtype=m.int64)", "m.arange(-2.5, 2, dtype=m.int64)",
    "m.arange(0, 1, 0.1, dtype=m.float16)", "m.arange(0, 1, 0.1, dtype=m.bfloat16)",
    "m.arange(-3, 3, 0.7)", "m.arange(0, 1.0000001, 0.1)", "m.arange(0, 100, 7.7)",
    "m.arange(0, 1, 0.3, dtype=m.int64)",
    "m.range(0, 3)", "m.range(0, 1, 0.5)",
    "m.linspace(0, 1, 5)", "m.linspace(0, 1, 1)", "m.linspace(0, 1, 0)",
    "m.linspace(-1, 1, 4, dtype=m.float64)", "m.linspace(0, 10, 5, dtype=m.int64)",
    "m.linspace(0, 1, 3, dtype=m.int32)", "m.linspace(0, 9, 4, dtype=m.int64)",
    "m.linspace(1, 2j, 3)", "m.linspace(m.tensor(0.), m.tensor(1.), 3)", "m.linspace(0, 1, -1)",
    "m.logspace(0, 2, 3)", "m.logspace(0, 2, 3, base=2)", "m.logspace(0, 3, 4, dtype=m.int64)",
    "m.logspace(-1, 1, 3, dtype=m.float64)",
    "m.eye(3)", "m.eye(2, 3)", "m.eye(3, dtype=m.int64)", "m.eye(0)", "m.eye(2, 0)",
    "m.eye(3, dtype=m.bool)", "m.eye(2, requires_grad=True)",
]


@pytest.mark.parametrize("expr", RANGES)
def test_ranges(expr):
    check(expr, errors_as=RuntimeError if "0.3, dtype=m.int64" in expr else None)


def test_arange_float_step_counts_match_torch():
    rng = np.random.default_rng(0)
    for _ in range(200):
        start = float(np.round(rng.uniform(-5, 5), rng.integers(0, 4)))
        step = float(np.round(rng.uniform(0.05, 2), rng.integers(1, 4)))
        end = start + step * int(rng.integers(0, 20)) + float(rng.choice([0.0, step / 2]))
        e, t = ember.arange(start, end, step), torch.arange(start, end, step)
        assert e.shape == tuple(t.shape), (start, end, step)
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-6, atol=1e-6)


# -- composite constructors ---------------------------------------------------------------------
@pytest.mark.parametrize("expr", [
    "m.complex(m.tensor([1.]), m.tensor([2.]))", "m.complex(m.tensor([1.]), m.tensor([2]))",
    "m.polar(m.tensor([2.]), m.tensor([0.5]))",
    "m.heaviside(m.tensor([-1., 0., 2.]), m.tensor([0.5]))",
])
def test_complex_and_friends(expr):
    check(expr)


def test_creation_with_requires_grad_is_leaf():
    for x in [ember.zeros(2, requires_grad=True), ember.arange(3.0, requires_grad=True),
              ember.linspace(0, 1, 3, requires_grad=True), ember.tensor([1.0], requires_grad=True),
              ember.eye(2, requires_grad=True), ember.full((2,), 1.0, requires_grad=True)]:
        assert x.requires_grad and x.is_leaf and x.grad_fn is None
