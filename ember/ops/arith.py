"""More elementwise math: gcd/lcm, frexp/ldexp, nextafter, heaviside, the gamma family
(polygamma, mvlgamma, igamma/igammac), and the in-place aliases PyTorch's Tensor has.

Special functions run SciPy's ``scipy.special`` on NumPy arrays and CuPy's
``cupyx.scipy.special`` on CuPy arrays (:func:`special_fn`); SciPy is optional, so it is
imported only when such a function first runs on the CPU.
"""

import math

import numpy as np

from ember import _dtype
from ember._tensor import Tensor, _wrap
from ember.ops._registry import primitive
from ember.ops._util import promote, commit_inplace
from ember.ops.elementwise import (_out, _float_input, _heaviside, _polygamma, _special, cast,
                                   exp, exp2, float_power, lgamma, log)
from ember.ops.elementwise import (absolute, arccos, arccosh, arcsin, arcsinh, arctan,  # noqa: F401
                                   arctanh, bitwise_left_shift, bitwise_right_shift, deg2rad,
                                   rad2deg, greater, greater_equal, less, less_equal, not_equal,
                                   i0, sinc)
from ember.ops.reduce import result_type as _named_result

__all__ = ["gcd", "lcm", "frexp", "ldexp", "nextafter", "heaviside", "polygamma", "mvlgamma",
           "igamma", "igammac"]
METHODS = ["gcd", "lcm", "frexp", "ldexp", "nextafter", "heaviside", "mvlgamma", "igamma",
           "igammac", "float_power_", "polygamma_"]  # Tensor methods: plain ops, tensor first
INPLACE = ["absolute", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctanh",
           "bitwise_left_shift", "bitwise_right_shift", "deg2rad", "rad2deg", "greater",
           "greater_equal", "less", "less_equal", "not_equal", "i0", "sinc", "gcd", "lcm",
           "ldexp", "nextafter", "heaviside", "mvlgamma", "igamma", "igammac"]


# -- SciPy / cupyx special functions ---------------------------------------------------------
def special_function(xp, op, fname):
    """``fname`` from the special-function module of ``xp``'s arrays, as elementwise.py picks
    it (SciPy or cupyx); without SciPy its math-module fallback lacks most names: an error."""
    fn = getattr(_special(xp), fname, None)
    if fn is None:
        raise RuntimeError(f"{op}: needs SciPy for special functions on the CPU; install it "
                           f"with `pip install scipy`")
    return fn


def special_fn(xp, op, fname, *args):
    """``special.fname(*args)`` in the dtype of the first array among ``args``; half types
    (float16, bfloat16) are computed in float32, as SciPy has no kernels for them."""
    dtype = next(a.dtype for a in args if hasattr(a, "dtype"))
    if dtype.itemsize < 4:
        args = tuple(a.astype(np.float32) if hasattr(a, "dtype") else a for a in args)
    out = special_function(xp, op, fname)(*args)
    return out.astype(dtype, copy=False)


def float_operands(op, input, other):
    """``input`` and ``other`` promoted to one floating dtype, both as tensors (a Python
    number becomes a 0-d tensor on the other operand's device)."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError(f"{op}(): expected at least one Tensor argument, got "
                        f"{type(input).__name__} and {type(other).__name__}")
    for v in (input, other):
        if isinstance(v, Tensor) and v._data.dtype.kind == "c":
            raise NotImplementedError(f"{op}: complex tensors are not supported (got "
                                      f"{_dtype.scalar_name(v.dtype)}); use a real dtype")
    x, y = promote(op, input, other, to_float=True)
    like = x if isinstance(x, Tensor) else y
    return tuple(v if isinstance(v, Tensor) else
                 _wrap(like._device.xp.asarray(v, dtype=like._data.dtype), like._device)
                 for v in (x, y))


# -- integer ops -----------------------------------------------------------------------------
_gcd = primitive("gcd", differentiable=False)(lambda xp, x, y: xp.gcd(x, y))
_lcm = primitive("lcm", differentiable=False)(lambda xp, x, y: xp.lcm(x, y))


def _int_operands(op, input, other):
    for v in (input, other):
        if isinstance(v, Tensor) and v._data.dtype.kind not in "iu" or \
                not isinstance(v, Tensor) and not isinstance(v, (int, np.integer)) or \
                isinstance(v, bool):
            got = _dtype.scalar_name(v.dtype) if isinstance(v, Tensor) else type(v).__name__
            raise NotImplementedError(f"\"{op}_cpu\" not implemented for '{got}' ({op} takes "
                                      f"integer tensors: uint8, int8, int16, int32, int64)")
    return promote(op, input, other)


def gcd(input, other, *, out=None):
    """Elementwise greatest common divisor (non-negative; ``gcd(0, 0) = 0``) of integers.

    Example:
        >>> import ember
        >>> ember.gcd(ember.tensor([5, 10, 15]), ember.tensor([3, 4, 5]))
        tensor([1, 2, 5])
    """
    return _out(_gcd(*_int_operands("gcd", input, other)), out)


def lcm(input, other, *, out=None):
    """Elementwise least common multiple (non-negative) of integers.

    Example:
        >>> import ember
        >>> ember.lcm(ember.tensor([5, 10, 15]), ember.tensor([3, 4, 5]))
        tensor([15, 20, 15])
    """
    return _out(_lcm(*_int_operands("lcm", input, other)), out)


# -- floating-point representation -----------------------------------------------------------
_FrexpResult = _named_result("frexp", ("mantissa", "exponent"))


@primitive("frexp", n_out=2, nondiff_outputs=(1,), save="none", save_output=True)
def _frexp(xp, x):
    mantissa, exponent = xp.frexp(x)
    return mantissa, exponent.astype(np.int32, copy=False)


@_frexp.defvjp
def _(ctx, grads):
    g = grads[0]
    return (g * exp2(-cast(ctx.out[1], g._data.dtype)),)


def frexp(input, *, out=None):
    """Split ``input`` into a mantissa in ``[0.5, 1)`` (in magnitude) and an int32 exponent,
    with ``input = mantissa * 2 ** exponent``.

    Returns:
        A named tuple ``(mantissa, exponent)``.

    Example:
        >>> import ember
        >>> mantissa, exponent = ember.frexp(ember.tensor([8.0, 0.5, 0.0]))
        >>> mantissa
        tensor([0.5000, 0.5000, 0.0000])
        >>> exponent
        tensor([4, 0, 0], dtype=ember.int32)
    """
    if not isinstance(input, Tensor) or input._data.dtype.kind not in "fV":
        got = input.dtype if isinstance(input, Tensor) else type(input).__name__
        raise RuntimeError(f"torch.frexp() only supports floating-point dtypes (got {got})")
    res = _FrexpResult(*_frexp(input))
    if out is not None:
        _out(res.mantissa, out[0])
        _out(res.exponent, out[1])
        return _FrexpResult(*out)
    return res


def ldexp(input, other, *, out=None):
    """``input * 2 ** other`` in the floating dtype of the two (differentiable in both).

    Example:
        >>> import ember
        >>> ember.ldexp(ember.tensor([1.0, 3.0]), ember.tensor([2, 3]))
        tensor([ 4., 24.])
    """
    x, e = float_operands("ldexp", input, other)
    return _out(x * exp2(e), out)


_nextafter = primitive("nextafter", differentiable=False)(lambda xp, x, y: xp.nextafter(x, y))


def nextafter(input, other, *, out=None):
    """The next floating-point value after ``input`` towards ``other`` (not differentiable).

    Example:
        >>> import ember
        >>> (ember.nextafter(ember.tensor([1.0]), ember.tensor([2.0])) - 1).item() > 0
        True
    """
    x, y = promote("nextafter", input, other)
    for v in (x, y):
        if isinstance(v, Tensor) and v._data.dtype.kind != "f":
            raise NotImplementedError(f"\"nextafter_cpu\" not implemented for "
                                      f"'{_dtype.scalar_name(v.dtype)}' (nextafter takes "
                                      f"float16, float32 or float64 tensors)")
    return _out(_nextafter(x, y), out)


def heaviside(input, values, *, out=None):
    """The Heaviside step: 0 where ``input < 0``, 1 where ``input > 0`` and ``values`` where
    ``input == 0`` (not differentiable). Both must be tensors of one dtype.

    Example:
        >>> import ember
        >>> ember.heaviside(ember.tensor([-1.5, 0.0, 2.0]), ember.tensor([0.5]))
        tensor([0.0000, 0.5000, 1.0000])
    """
    for name, v, pos in (("input", input, 1), ("values", values, 2)):
        if not isinstance(v, Tensor):
            raise TypeError(f"heaviside(): argument '{name}' (position {pos}) must be Tensor, "
                            f"not {type(v).__name__}")
    if input._data.dtype != values._data.dtype:
        raise RuntimeError(f"heaviside is not yet implemented for tensors with different dtypes "
                           f"(got {input.dtype} and {values.dtype}); cast one to the other")
    if input._data.dtype.kind == "c":
        raise NotImplementedError(f"heaviside is not yet implemented for complex tensors (got "
                                  f"{input.dtype})")
    return _out(_heaviside(input, values), out)


# -- the gamma family ------------------------------------------------------------------------
def polygamma(n, input, *, out=None):
    """The ``n``-th derivative of the digamma function (``n = 0`` is digamma itself).

    Example:
        >>> import ember
        >>> ember.polygamma(1, ember.tensor([1.0, 0.5]))
        tensor([1.6449, 4.9348])
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"polygamma(): argument 'n' (position 1) must be int, not "
                        f"{type(n).__name__}")
    if n < 0:
        raise RuntimeError(f"polygamma(n, x) does not support negative n (got n={n})")
    return _out(_polygamma(_float_input(input, "polygamma"), n=int(n)), out)


def polygamma_(self, n):
    """In-place version of :meth:`polygamma` (``self.polygamma_(n)``)."""
    return commit_inplace(self, lambda x: polygamma(n, x), op="polygamma_")


def mvlgamma(input, p, *, out=None):
    """Multivariate log-gamma of dimension ``p``:
    ``sum_{j<p} lgamma(x - j/2) + p (p - 1) / 4 * log(pi)``.

    Example:
        >>> import ember
        >>> ember.mvlgamma(ember.tensor([2.5, 3.0]), 2)
        tensor([0.8570, 1.5502])
    """
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)):
        raise TypeError(f"mvlgamma(): argument 'p' (position 2) must be int, not "
                        f"{type(p).__name__}")
    if p < 1:
        raise RuntimeError(f"p has to be greater than or equal to 1 (got p={p})")
    x = _float_input(input, "mvlgamma")
    total = lgamma(x)
    for j in range(1, int(p)):
        total = total + lgamma(x - j / 2)
    return _out(total + p * (p - 1) / 4 * math.log(math.pi), out)


def _igamma_prim(name, fname, sign):
    prim = primitive(name)(lambda xp, a, x: special_fn(xp, name, fname, a, x))

    @prim.defvjp
    def _(ctx, g):
        if ctx._next[0] is not None:
            raise NotImplementedError(f"the derivative for '{name}: input' is not implemented.")
        a, x = ctx.inputs
        return None, sign * g * exp((a - 1) * log(x) - x - lgamma(a))
    return prim


_igamma = _igamma_prim("igamma", "gammainc", 1)
_igammac = _igamma_prim("igammac", "gammaincc", -1)


def igamma(input, other, *, out=None):
    """The regularized lower incomplete gamma function
    ``P(a, x) = 1 / Gamma(a) * int_0^x t^(a-1) e^-t dt`` with ``a = input``, ``x = other``.

    Differentiable in ``other`` only (as in PyTorch).

    Example:
        >>> import ember
        >>> ember.igamma(ember.tensor([1.0, 2.0]), ember.tensor([1.0, 2.0]))
        tensor([0.6321, 0.5940])
    """
    return _out(_igamma(*float_operands("igamma", input, other)), out)


def igammac(input, other, *, out=None):
    """The regularized upper incomplete gamma function ``Q(a, x) = 1 - P(a, x)`` (see
    :func:`igamma`); differentiable in ``other`` only.

    Example:
        >>> import ember
        >>> ember.igammac(ember.tensor([1.0, 2.0]), ember.tensor([1.0, 2.0]))
        tensor([0.3679, 0.4060])
    """
    return _out(_igammac(*float_operands("igammac", input, other)), out)


# -- in-place variants that need more than ``INPLACE`` -----------------------------------------
def float_power_(self, exponent):
    """In-place :func:`float_power`: ``self`` must already be float64 (complex128 for complex
    operands), the dtype the result has."""
    cplx = self._data.dtype.kind == "c" or isinstance(exponent, complex) or \
        isinstance(exponent, Tensor) and exponent._data.dtype.kind == "c"
    need = np.dtype(np.complex128 if cplx else np.float64)
    if self._data.dtype != need:
        raise RuntimeError(f"the base given to float_power_ has dtype "
                           f"{_dtype.scalar_name(self.dtype)} but the operation's result "
                           f"requires dtype {'ComplexDouble' if cplx else 'Double'}")
    return commit_inplace(self, float_power, exponent, op="float_power_")


# ``Tensor.polygamma(n)`` takes its arguments in the other order than ``polygamma(n, input)``,
# so it cannot share the top-level function through METHODS.
def _polygamma_method(self, n):
    """``polygamma(n, self)``: see :func:`ember.polygamma`."""
    return polygamma(n, self)


_polygamma_method.__name__ = "polygamma"
Tensor.polygamma = _polygamma_method
