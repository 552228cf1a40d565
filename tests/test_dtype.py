"""Type promotion: ``promote_types``, ``result_type`` and the result dtype of ops, vs PyTorch."""

import itertools

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

NAMES = ("bool uint8 int8 int16 int32 int64 float16 bfloat16 float32 float64 complex64 "
         "complex128").split()
PAIRS = list(itertools.product(NAMES, NAMES))
SCALARS = [True, 2, 2.5, 2j]


def name(dt):
    """'float32' for ember.float32 and torch.float32 alike."""
    return str(dt).split(".")[-1]


def make(m, dt, shape):
    """A small tensor of library ``m`` holding nonzero values (2 and 3) of dtype ``dt``."""
    vals = [3, 2][:shape[0]] if shape else 3
    return m.tensor(vals, dtype=getattr(m, dt)) if dt != "bool" else \
        m.tensor([True, True][:shape[0]] if shape else True)


def _skip_complex32(expected):
    # PyTorch's complex32 (chalf) has no NumPy counterpart; ember computes those in complex64.
    if expected == "complex32":
        pytest.skip("complex32 is not supported by ember")


# -- promote_types / result_type ------------------------------------------------------------
@pytest.mark.parametrize("a,b", PAIRS)
def test_promote_types(a, b):
    want = name(torch.promote_types(getattr(torch, a), getattr(torch, b)))
    assert ember.promote_types(getattr(ember, a), getattr(ember, b)).name == want


@pytest.mark.parametrize("a,b", PAIRS)
def test_result_type_tensors(a, b):
    """Dimensioned and zero-dim tensors in every combination."""
    for sa, sb in [((2,), (2,)), ((2,), ()), ((), (2,)), ((), ())]:
        want = name(torch.result_type(make(torch, a, sa), make(torch, b, sb)))
        if want == "complex32":
            continue
        got = ember.result_type(make(ember, a, sa), make(ember, b, sb)).name
        assert got == want, (a, sa, b, sb)


@pytest.mark.parametrize("a", NAMES)
@pytest.mark.parametrize("shape", [(2,), ()])
@pytest.mark.parametrize("s", SCALARS, ids=["bool", "int", "float", "complex"])
def test_result_type_scalar(a, shape, s):
    want = name(torch.result_type(make(torch, a, shape), s))
    _skip_complex32(want)
    assert ember.result_type(make(ember, a, shape), s).name == want
    assert ember.result_type(s, make(ember, a, shape)).name == want


def test_can_cast():
    for a, b in PAIRS:
        assert ember.can_cast(getattr(ember, a), getattr(ember, b)) == torch.can_cast(
            getattr(torch, a), getattr(torch, b)), (a, b)


def test_dtype_attributes():
    for n in NAMES:
        e, t = getattr(ember, n), getattr(torch, n)
        assert e.is_floating_point == t.is_floating_point
        assert e.is_complex == t.is_complex
        assert e.is_signed == t.is_signed
        assert e.itemsize == t.itemsize
        assert repr(e) == "ember." + n
    assert ember.float is ember.float32 and ember.double is ember.float64
    assert ember.long is ember.int64 and ember.half is ember.float16
    assert ember.cfloat is ember.complex64


# -- result dtype of binary ops ---------------------------------------------------------------
BINARY = {
    "add": lambda m, a, b: m.add(a, b),
    "sub": lambda m, a, b: a - b,
    "mul": lambda m, a, b: a * b,
    "div": lambda m, a, b: a / b,
    "floor_divide": lambda m, a, b: a // b,
    "remainder": lambda m, a, b: a % b,
    "pow": lambda m, a, b: a ** b,
    "lt": lambda m, a, b: a < b,
    "eq": lambda m, a, b: a == b,
    "where": lambda m, a, b: m.where(m.tensor([True, False]), a, b),
    "maximum": lambda m, a, b: m.maximum(a, b),
    "div_trunc": lambda m, a, b: m.div(a, b, rounding_mode="trunc"),
    "fmod": lambda m, a, b: m.fmod(a, b),
}


def _run(m, op, a, b):
    """(dtype name, values as a complex128 array) or ('error', exception type)."""
    try:
        r = BINARY[op](m, a, b)
    except (RuntimeError, TypeError) as e:
        return "error", type(e)
    vals = r.detach().to(m.float64 if not r.is_complex() else m.complex128).numpy() \
        if r.dtype is not m.bool else r.numpy()
    return name(r.dtype), np.asarray(vals, dtype=np.complex128)


def _compare(op, ta, tb, ea, eb):
    _skip_complex32(name(torch.result_type(ta, tb)))
    want = _run(torch, op, ta, tb)

    _skip_complex32(want[0])
    got = _run(ember, op, ea, eb)
    assert got[0] == want[0], f"{op}: dtype {got[0]} != torch's {want[0]}"
    if want[0] != "error":
        np.testing.assert_allclose(got[1], want[1], rtol=1e-2, equal_nan=True)


@pytest.mark.parametrize("op", list(BINARY))
@pytest.mark.parametrize("a,b", PAIRS)
def test_binary_op_dtype_tensors(op, a, b):
    for sb in [(2,), ()]:
        _compare(op, make(torch, a, (2,)), make(torch, b, sb), make(ember, a, (2,)),
                 make(ember, b, sb))


@pytest.mark.parametrize("op", list(BINARY))
@pytest.mark.parametrize("a", NAMES)
def test_binary_op_dtype_scalars(op, a):
    for s in SCALARS:
        t, e = make(torch, a, (2,)), make(ember, a, (2,))
        if _run(torch, op, t, s)[0] != "error":  # ember may accept more scalar forms
            _compare(op, t, s, e, s)
        if _run(torch, op, s, t)[0] != "error":
            _compare(op, s, t, s, e)


def test_int_true_division_is_float():
    x, y = ember.tensor([1, 2, 3]), ember.tensor([2, 2, 2])
    assert (x / y).dtype is ember.float32
    assert (x / 2).dtype is ember.float32
    assert ember.div(x, y).tolist() == [0.5, 1.0, 1.5]
    assert ember.true_divide(x, y).dtype is ember.float32
    assert (x // y).dtype is ember.int64


def test_scalar_wraps_into_small_int_dtype():
    # PyTorch computes in the tensor's dtype and wraps around
    for v, dt in [(1000, "int8"), (-2, "uint8"), (300, "uint8")]:
        e = ember.tensor([1], dtype=getattr(ember, dt)) + v
        t = torch.tensor([1], dtype=getattr(torch, dt)) + v
        assert e.tolist() == t.tolist() and name(e.dtype) == dt


def test_bfloat16_with_python_float_stays_bfloat16():
    x = ember.tensor([1.5, 2.5], dtype=ember.bfloat16)
    for r in (x + 2.5, 2.5 * x, x / 3.0, x ** 2.0, ember.where(x > 2, x, 0.5)):
        assert r.dtype is ember.bfloat16


# -- default dtype ------------------------------------------------------------------------------
def test_default_dtype_float64():
    ember.set_default_dtype(ember.float64)
    assert ember.get_default_dtype() is ember.float64
    assert ember.tensor([1.5]).dtype is ember.float64
    assert ember.tensor(1j).dtype is ember.complex128
    assert ember.zeros(2).dtype is ember.float64
    assert ember.rand(2).dtype is ember.float64
    assert ember.arange(0, 1, 0.5).dtype is ember.float64
    assert ember.linspace(0, 1, 3).dtype is ember.float64
    assert ember.arange(3).dtype is ember.int64
    assert (ember.tensor([1]) / ember.tensor([2])).dtype is ember.float64
    assert (ember.tensor([1]) * 1.5).dtype is ember.float64
    assert (ember.tensor([1.0], dtype=ember.float32) * 1.5).dtype is ember.float32
    assert (ember.tensor([1.0], dtype=ember.float32) * 1j).dtype is ember.complex64
    assert ember.tensor([1]).float().dtype is ember.float32
    assert ember.Tensor([1]).dtype is ember.float64


def test_default_dtype_half_and_errors():
    ember.set_default_dtype(ember.float16)
    assert ember.tensor(1.5).dtype is ember.float16
    for bad in (ember.int64, ember.complex64):
        with pytest.raises(TypeError, match="only floating-point types are supported as the "
                                             "default type"):
            ember.set_default_dtype(bad)
    assert ember.get_default_dtype() is ember.float16


# -- in-place ops can't downcast ------------------------------------------------------------
@pytest.mark.parametrize("fn,msg", [
    (lambda m: m.tensor([1, 2]).__iadd__(1.5), "result type Float can't be cast to the "
                                               "desired output type Long"),
    (lambda m: m.tensor([1, 2]).add_(m.tensor([1.5, 1.0])), "result type Float can't be "
                                                            "cast to the desired output type Long"),
    (lambda m: m.tensor([1.0, 2.0]).__iadd__(1j), "result type ComplexFloat can't be cast to "
                                                  "the desired output type Float"),
    (lambda m: m.tensor([1, 2], dtype=m.int32).mul_(2.0), "result type Float can't be cast to "
                                                          "the desired output type Int"),
    (lambda m: m.tensor([True]).__iadd__(1), "result type Long can't be cast to the desired "
                                             "output type Bool"),
])
def test_inplace_cannot_downcast(fn, msg):
    with pytest.raises(RuntimeError, match=msg):
        fn(torch)
    with pytest.raises(RuntimeError, match=msg):
        fn(ember)


def test_inplace_keeps_dtype_and_leaves_input_on_error():
    x = ember.tensor([1, 2])
    with pytest.raises(RuntimeError):
        x += 1.5
    assert x.tolist() == [1, 2] and x.dtype is ember.int64
    y = ember.tensor([1.0, 2.0], dtype=ember.float16)
    y += ember.tensor([1.0, 1.0], dtype=ember.float64)
    assert y.dtype is ember.float16 and y.tolist() == [2.0, 3.0]
    z = ember.tensor([1, 2])
    z += ember.tensor(True)
    assert z.tolist() == [2, 3] and z.dtype is ember.int64


def test_out_argument_casting():
    out = ember.zeros(2, dtype=ember.float64)
    ember.add(ember.tensor([1, 2]), 1, out=out)
    assert out.dtype is ember.float64 and out.tolist() == [2.0, 3.0]
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type Long"):
        ember.add(ember.ones(2), ember.ones(2), out=ember.zeros(2, dtype=ember.long))


@pytest.mark.parametrize("scalar", ["np.float64(2.0)", "np.float32(2.0)", "np.float16(2.0)",
                                    "np.int64(2)", "np.int8(2)", "np.complex128(2j)"])
@pytest.mark.parametrize("dt", ["float16", "float32", "int32", "uint8", "bfloat16"])
def test_numpy_scalars_promote_like_python_scalars(scalar, dt):
    s = eval(scalar)
    for op in (lambda a, b: a * b, lambda a, b: b + a, lambda a, b: a / b):
        t = op(make(torch, dt, (2,)), s)
        _skip_complex32(name(t.dtype))
        e = op(make(ember, dt, (2,)), s)
        assert name(e.dtype) == name(t.dtype), (scalar, dt)
