"""Elementwise ops: arithmetic, powers, exp/log, trig, activations, comparisons, logic.

Each primitive's forward runs ``xp`` ufuncs; its gradient rule sits right below it,
written in ember ops so it can be differentiated again. Composite ops at the end
(``addcmul``, ``lerp``, ...) are written in primitives and need no gradient code.
"""

import builtins
import math
import re
import warnings

import numpy as np

from ember import _dtype
from ember._tensor import Tensor, _wrap
from ember.autograd.grad_mode import STATE
from ember.ops._registry import primitive, apply_binary, apply_rbinary
from ember.ops._util import promote, to_float_dtype, commit_inplace, result_type_of


# -- dtype cast ------------------------------------------------------------------------------
@primitive("cast", save="none")
def _cast(xp, x, np_dtype):
    return x.astype(np_dtype)


@_cast.defvjp
def _(ctx, g):
    return _cast(g, ctx._metas[0][1])


def cast(x, np_dtype):
    """``x`` converted to NumPy dtype ``np_dtype`` (differentiable between float types)."""
    if x._data.dtype == np_dtype:
        return x
    return _cast(x, np_dtype)


def _float_input(x, op):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(x).__name__}")
    d = to_float_dtype(x)
    return x if d is x._data.dtype else _cast(x, d)


# -- binary arithmetic -----------------------------------------------------------------------
@primitive("add", save="none", fuse="x + y", ufunc=np.add)
def _add(xp, x, y):
    return xp.add(x, y)


@_add.defvjp
def _(ctx, g):
    return g, g


@primitive("sub", save="none", fuse="x - y", ufunc=np.subtract)
def _sub(xp, x, y):
    return xp.subtract(x, y)


@_sub.defvjp
def _(ctx, g):
    return g, (-g if ctx._next[1] is not None else None)


@primitive("mul", fuse="x * y", ufunc=np.multiply)
def _mul(xp, x, y):
    return xp.multiply(x, y)


@_mul.defvjp
def _(ctx, g):
    x, y = ctx.inputs
    return (g * _conj(y) if ctx._next[0] is not None else None,
            g * _conj(x) if ctx._next[1] is not None else None)


@primitive("div", fuse="x / y", ufunc=np.true_divide)
def _div(xp, x, y):
    return xp.true_divide(x, y)


@_div.defvjp
def _(ctx, g):
    x, y = ctx.inputs
    gx = g / _conj(y) if ctx._next[0] is not None else None
    gy = -g * _conj(x) / _conj(y * y) if ctx._next[1] is not None else None
    return gx, gy


def _conj(v):
    if isinstance(v, Tensor):
        return conj(v) if v._data.dtype.kind == "c" else v
    return v.conjugate() if isinstance(v, builtins.complex) else v


_PLAIN = (int, float)


def _fast(x, y, float_only=False):
    """0: no fast path; 1: tensor op tensor/scalar; 2: scalar op tensor (no promotion needed)."""
    if isinstance(x, Tensor):
        kind = x._data.dtype.kind
        if float_only and kind not in "fc":
            return 0
        if isinstance(y, Tensor):
            return 1 if x._data.dtype is y._data.dtype else 0
        t = type(y)
        if t is float:
            return 1 if kind in "fc" else 0
        return 1 if t is int and kind in "fciu" else 0
    if isinstance(y, Tensor) and type(x) in _PLAIN:
        kind = y._data.dtype.kind
        if float_only and kind not in "fc":
            return 0
        return 2 if kind in "fc" or type(x) is int and kind in "iu" else 0
    return 0


def add(input, other, *, alpha=1, out=None):
    """``input + alpha * other`` with PyTorch's type promotion."""
    if alpha == 1 and out is None:
        f = _fast(input, other)
        if f == 1:
            return apply_binary(_add, input, other)
        if f == 2:
            return apply_rbinary(_add, input, other)
    x, y = promote("add", input, other)
    if alpha != 1:
        y = y * alpha
    return _out(_add(x, y), out)


def sub(input, other, *, alpha=1, out=None):
    """``input - alpha * other``."""
    if alpha == 1 and out is None:
        f = _fast(input, other)
        if f == 1:
            try:
                return apply_binary(_sub, input, other)
            except TypeError:  # NumPy refuses bool - bool
                if _is_bool(input):
                    _sub_bool_error(input, other)
                raise

        if f == 2:
            return apply_rbinary(_sub, input, other)
    if _is_bool(input) or _is_bool(other):
        _sub_bool_error(input, other)
    x, y = promote("sub", input, other)
    if alpha != 1:
        y = y * alpha
    return _out(_sub(x, y), out)


subtract = sub


def _is_bool(v):
    return v._data.dtype == np.bool_ if isinstance(v, Tensor) else isinstance(v, (bool, np.bool_))


def _sub_bool_error(x, y):
    if _is_bool(x) and _is_bool(y):
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not "
                           "supported. Use the `^` or `logical_xor()` operator instead.")
    raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. "
                       "If you are trying to invert a mask, use the `~` or `logical_not()` "
                       "operator instead.")


def _no_bool(x, kernel):
    """PyTorch has no bool kernel for integer division, modulus and pow."""
    if x._data.dtype == np.bool_:
        raise NotImplementedError(f"\"{kernel}\" not implemented for 'Bool'")


def _no_complex(x, op):
    """Ordering ops (min/max, comparisons, clamp) are undefined for complex numbers."""
    if x._data.dtype.kind == "c":
        raise RuntimeError(f"{op} not implemented for complex tensors.")


def mul(input, other, *, out=None):
    """Elementwise product."""
    if out is None:
        f = _fast(input, other)
        if f == 1:
            return apply_binary(_mul, input, other)
        if f == 2:
            return apply_rbinary(_mul, input, other)
    x, y = promote("mul", input, other)
    return _out(_mul(x, y), out)


multiply = mul


def div(input, other, *, rounding_mode=None, out=None):
    """Elementwise division: true division, or ``"trunc"``/``"floor"`` rounding."""
    if rounding_mode is None:
        if out is None:
            f = _fast(input, other, float_only=True)
            if f == 1:
                return apply_binary(_div, input, other)
            if f == 2:
                return apply_rbinary(_div, input, other)
        x, y = promote("div", input, other, to_float=True)
        return _out(_div(x, y), out)
    if rounding_mode not in ("trunc", "floor"):
        raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' "
                         f"but found '{rounding_mode}'")
    x, y = promote("div", input, other)
    _no_bool(_first_tensor(x, y), f"div_{rounding_mode}_cpu")
    if rounding_mode == "floor":
        return _out(floor_divide(x, y), out)
    if _is_int(x) and _is_int(y):
        _check_zero_div(y)
        return _out(_trunc_div(x, y), out)
    return _out(trunc(_div(x, y)), out)


divide = true_divide = div


def _first_tensor(x, y):
    return x if isinstance(x, Tensor) else y


def _is_int(v):
    if isinstance(v, Tensor):
        return v._data.dtype.kind in "biu"
    return isinstance(v, (int, np.integer))


def _check_zero_div(y):
    yv = y._data if isinstance(y, Tensor) else y
    if np.any(yv == 0) if isinstance(yv, np.ndarray) else yv == 0:
        raise RuntimeError("ZeroDivisionError")


@primitive("trunc_div", differentiable=False)
def _trunc_div(xp, x, y):
    q = xp.floor_divide(x, y)
    fix = (xp.remainder(x, y) != 0) & ((xp.asarray(x) < 0) != (xp.asarray(y) < 0))
    return q + fix.astype(q.dtype)


@primitive("floor_divide")
def _floor_divide(xp, x, y):
    return xp.floor_divide(x, y)


@_floor_divide.defvjp
def _(ctx, g):
    return (g * 0 if ctx._next[0] is not None else None,
            g * 0 if ctx._next[1] is not None else None)


def floor_divide(input, other, *, out=None):
    """Division rounded towards minus infinity (Python's ``//``)."""
    x, y = promote("floor_divide", input, other)
    _no_bool(_first_tensor(x, y), "div_floor_cpu")
    if _is_int(x) and _is_int(y):
        _check_zero_div(y)
    return _out(_floor_divide(x, y), out)


@primitive("remainder")
def _remainder(xp, x, y):
    return xp.remainder(x, y)


@_remainder.defvjp
def _(ctx, g):
    x, y = ctx.inputs
    gy = None
    if ctx._next[1] is not None:
        gy = -g * floor_divide(x, y)
    return g, gy


def remainder(input, other, *, out=None):
    """Python-style modulus: the result has the sign of the divisor."""
    x, y = promote("remainder", input, other)
    _no_bool(_first_tensor(x, y), "remainder_cpu")
    if _is_int(x) and _is_int(y):
        _check_zero_div(y)
    return _out(_remainder(x, y), out)


@primitive("fmod")
def _fmod(xp, x, y):
    return xp.fmod(x, y)


@_fmod.defvjp
def _(ctx, g):
    x, y = ctx.inputs
    gy = -g * trunc(x / y) if ctx._next[1] is not None else None
    return g, gy


def fmod(input, other, *, out=None):
    """C-style modulus: the result has the sign of the dividend."""
    x, y = promote("fmod", input, other)
    _no_bool(_first_tensor(x, y), "fmod_cpu")
    if _is_int(x) and _is_int(y):
        _check_zero_div(y)
    return _out(_fmod(x, y), out)


@primitive("pow")
def _pow(xp, x, y):
    return xp.power(x, y)


@_pow.defvjp
def _(ctx, g):
    x, y = ctx.inputs
    gx = gy = None
    if ctx._next[0] is not None:
        if isinstance(y, Tensor):
            gx = where(y == 0, g * 0, g * y * x ** (y - 1))
        else:
            gx = g * 0 if y == 0 else g * y * x ** (y - 1)
    if ctx._next[1] is not None:
        xt = x if isinstance(x, Tensor) else None
        out = x ** y
        if xt is None:
            gy = g * out * math.log(x) if x > 0 else g * out * float("nan") if x < 0 else \
                g * 0
        else:
            gy = where((x == 0) & (y >= 0), g * 0, g * out * log(x))
    return gx, gy


def pow(input, exponent, *, out=None):
    """``input ** exponent`` (either may be a scalar)."""
    x, y = promote("pow", input, exponent)
    if _is_bool(x) and _is_bool(y):
        if isinstance(y, Tensor):
            _no_bool(y, "pow")
        return _out(x.clone() if y else ones_like_(x), out)  # x ** True, x ** False
    if _is_int(x) and isinstance(y, (int, np.integer)) and not isinstance(y, bool) and y < 0:
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    if _is_int(x) and isinstance(y, Tensor) and _is_int(y):
        return _out(_int_pow(x, y), out)
    return _out(_pow(x, y), out)


@primitive("int_pow", differentiable=False)
def _int_pow(xp, x, y):
    """Integer powers; a negative exponent gives 1 / x ** -y truncated (0 unless |x| == 1)."""
    neg = y < 0
    out = xp.power(x, xp.where(neg, 0, y).astype(y.dtype))
    if not neg.any():
        return out
    odd = xp.remainder(y, 2) == 1
    sign_one = xp.where(odd, x, xp.ones_like(x)).astype(x.dtype)  # x ** y for x == -1
    at_neg = xp.where((x == 1) | (x == -1), sign_one, xp.zeros_like(x)).astype(x.dtype)
    return xp.where(neg, at_neg, out).astype(out.dtype)


def _host(a):
    return a if isinstance(a, np.ndarray) else a.get()


def float_power(input, exponent, *, out=None):
    """``pow`` computed in float64 (complex128 for complex inputs)."""
    def up(v):
        if isinstance(v, Tensor):
            return cast(v, np.complex128 if v._data.dtype.kind == "c" else np.float64)
        return v
    return _out(_pow(up(input), up(exponent)), out)


def _binary(name, fn, vjp=None, to_float=False, fuse=None, real_only=False):
    prim = primitive(name, fuse=fuse)(fn)
    if vjp is not None:
        prim.defvjp(vjp)

    def op(input, other, *, out=None):
        x, y = promote(name, input, other, to_float=to_float)
        if real_only:
            _no_complex(_first_tensor(x, y), name)
        return _out(prim(x, y), out)
    op.__name__ = name
    op.__doc__ = f"Elementwise ``{name}`` with PyTorch's type promotion."
    return op


def _minmax_vjp(pick_x):
    def rule(ctx, g):
        x, y = ctx.inputs
        mx = pick_x(x, y)
        tie = (x == y)
        half = where(tie, g * 0.5, g)
        gx = where(mx, half, g * 0) if ctx._next[0] is not None else None
        gy = where(mx & ~tie, g * 0, half) if ctx._next[1] is not None else None
        return gx, gy
    return rule


maximum = _binary("maximum", lambda xp, x, y: xp.maximum(x, y),
                  _minmax_vjp(lambda x, y: x >= y), real_only=True)
minimum = _binary("minimum", lambda xp, x, y: xp.minimum(x, y),
                  _minmax_vjp(lambda x, y: x <= y), real_only=True)
fmax = _binary("fmax", lambda xp, x, y: xp.fmax(x, y),
               _minmax_vjp(lambda x, y: (x >= y) | isnan(y)), real_only=True)
fmin = _binary("fmin", lambda xp, x, y: xp.fmin(x, y),
               _minmax_vjp(lambda x, y: (x <= y) | isnan(y)), real_only=True)


def _atan2_vjp(ctx, g):
    x, y = ctx.inputs
    d = x * x + y * y
    return g * y / d, -g * x / d


atan2 = _binary("atan2", lambda xp, x, y: xp.arctan2(x, y), _atan2_vjp, to_float=True)
arctan2 = atan2


def _hypot_vjp(ctx, g):
    x, y = ctx.inputs
    h = hypot(x, y)
    return g * x / h, g * y / h


hypot = _binary("hypot", lambda xp, x, y: xp.hypot(x, y), _hypot_vjp, to_float=True)


def _logaddexp_vjp(ctx, g):
    x, y = ctx.inputs
    m = logaddexp(x, y)
    return g * exp(x - m), g * exp(y - m)


logaddexp = _binary("logaddexp", lambda xp, x, y: xp.logaddexp(x, y), _logaddexp_vjp,
                    to_float=True)


def _logaddexp2_vjp(ctx, g):
    x, y = ctx.inputs
    m = logaddexp2(x, y)
    return g * exp2(x - m), g * exp2(y - m)


logaddexp2 = _binary("logaddexp2", lambda xp, x, y: xp.logaddexp2(x, y), _logaddexp2_vjp,
                     to_float=True)


def _copysign_vjp(ctx, g):
    x, y = ctx.inputs
    return g * sign(x) * sign(copysign(ones_like_(x), y)), g * 0


copysign = _binary("copysign", lambda xp, x, y: xp.copysign(x, y), _copysign_vjp, to_float=True)


def _xlogy_fwd(xp, x, y):
    with np.errstate(divide="ignore", invalid="ignore"):
        out = xp.multiply(x, xp.log(y))
    return xp.where(xp.asarray(x) == 0, xp.zeros_like(out), out) if xp is np else \
        xp.where(x == 0, 0, out)


def _xlogy_vjp(ctx, g):
    x, y = ctx.inputs
    gx = where(x == 0, g * 0, g * log(y)) if ctx._next[0] is not None else None
    gy = where(x == 0, g * 0, g * x / y) if ctx._next[1] is not None else None
    return gx, gy


xlogy = _binary("xlogy", _xlogy_fwd, _xlogy_vjp, to_float=True)


def ones_like_(x):
    return _wrap(x._device.xp.ones_like(x._data), x._device)


# -- unary math --------------------------------------------------------------------------------
def _unary(name, fn, vjp=None, *, save="all", save_output=False, to_float=True, fuse=None,
           differentiable=True):
    prim = primitive(name, save=save, save_output=save_output, fuse=fuse,
                     differentiable=differentiable)(fn)
    if vjp is not None:
        prim.defvjp(vjp)

    def op(input, *, out=None):
        if to_float:
            if not isinstance(input, Tensor) or input._data.dtype.kind in "biu":
                input = _float_input(input, name)
        elif not isinstance(input, Tensor):
            _need_tensor(input, name)
        res = prim(input)
        return res if out is None else _out(res, out)
    op.__name__ = name
    op.__doc__ = f"Elementwise ``{name}``."
    op.prim = prim
    return op


def _need_tensor(x, op):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(x).__name__}")
    return x


def _x(ctx):
    return ctx.inputs[0]


neg = _unary("neg", lambda xp, x: xp.negative(x), lambda ctx, g: -g, save="none", to_float=False,
             fuse="-x")
negative = neg
def _out_rule(grad_of_out, arrays):
    """A rule from the saved output: ``g * grad_of_out(out)``; on plain arrays (``arrays``,
    same formula) when the backward is not being recorded."""
    def rule(ctx, g):
        out = ctx.out
        if not STATE.enabled:
            return _wrap(g._data * arrays(out._data), g._device)
        return g * grad_of_out(out)
    return rule


exp = _unary("exp", lambda xp, x: xp.exp(x), _out_rule(lambda o: o, lambda o: o),
             save="none", save_output=True, fuse="exp(x)")
exp2 = _unary("exp2", lambda xp, x: xp.exp2(x), lambda ctx, g: g * ctx.out * math.log(2),
              save="none", save_output=True)
expm1 = _unary("expm1", lambda xp, x: xp.expm1(x), lambda ctx, g: g * (ctx.out + 1),
               save="none", save_output=True)
log = _unary("log", lambda xp, x: xp.log(x), lambda ctx, g: g / _conj(_x(ctx)), fuse="log(x)")
log2 = _unary("log2", lambda xp, x: xp.log2(x), lambda ctx, g: g / (_x(ctx) * math.log(2)))
log10 = _unary("log10", lambda xp, x: xp.log10(x), lambda ctx, g: g / (_x(ctx) * math.log(10)))
log1p = _unary("log1p", lambda xp, x: xp.log1p(x), lambda ctx, g: g / (_x(ctx) + 1))
sqrt = _unary("sqrt", lambda xp, x: xp.sqrt(x), lambda ctx, g: g / (2 * ctx.out), save="none",
              save_output=True, fuse="sqrt(x)")
rsqrt = _unary("rsqrt", lambda xp, x: 1 / xp.sqrt(x),
               lambda ctx, g: -0.5 * g * ctx.out ** 3, save="none", save_output=True)
sin = _unary("sin", lambda xp, x: xp.sin(x), lambda ctx, g: g * cos(_x(ctx)))
cos = _unary("cos", lambda xp, x: xp.cos(x), lambda ctx, g: -g * sin(_x(ctx)))
tan = _unary("tan", lambda xp, x: xp.tan(x), lambda ctx, g: g * (1 + ctx.out * ctx.out),
             save="none", save_output=True)
asin = _unary("asin", lambda xp, x: xp.arcsin(x), lambda ctx, g: g * rsqrt(1 - _x(ctx) ** 2))
acos = _unary("acos", lambda xp, x: xp.arccos(x), lambda ctx, g: -g * rsqrt(1 - _x(ctx) ** 2))
atan = _unary("atan", lambda xp, x: xp.arctan(x), lambda ctx, g: g / (1 + _x(ctx) ** 2))
sinh = _unary("sinh", lambda xp, x: xp.sinh(x), lambda ctx, g: g * cosh(_x(ctx)))
cosh = _unary("cosh", lambda xp, x: xp.cosh(x), lambda ctx, g: g * sinh(_x(ctx)))
tanh = _unary("tanh", lambda xp, x: xp.tanh(x),
              _out_rule(lambda o: 1 - o * o, lambda o: 1 - o * o),
              save="none", save_output=True, fuse="tanh(x)")
asinh = _unary("asinh", lambda xp, x: xp.arcsinh(x), lambda ctx, g: g * rsqrt(_x(ctx) ** 2 + 1))
acosh = _unary("acosh", lambda xp, x: xp.arccosh(x), lambda ctx, g: g * rsqrt(_x(ctx) ** 2 - 1))
atanh = _unary("atanh", lambda xp, x: xp.arctanh(x), lambda ctx, g: g / (1 - _x(ctx) ** 2))
arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh
reciprocal = _unary("reciprocal", lambda xp, x: xp.reciprocal(x),
                    lambda ctx, g: -g * ctx.out * ctx.out, save="none", save_output=True)
square_ = None


def _sigmoid_fwd(xp, x):
    # split by sign so exp never overflows
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


sigmoid = _unary("sigmoid", _sigmoid_fwd,
                 _out_rule(lambda o: o * (1 - o), lambda o: o * (1 - o)),
                 save="none", save_output=True, fuse="sigmoid(x)")
expit = sigmoid


def _relu_fwd(xp, x):
    return xp.maximum(x, 0).astype(x.dtype, copy=False)


relu = _unary("relu", _relu_fwd, _out_rule(lambda o: o > 0, lambda o: o > 0), save="none",
              save_output=True, to_float=False, fuse="max(x, 0)")


def _abs_vjp(ctx, g):
    x = _x(ctx)
    if x._data.dtype.kind == "c":
        return g * x / abs(x)
    return g * sign(x)


abs = _unary("abs", lambda xp, x: xp.abs(x), _abs_vjp, to_float=False)
absolute = abs


def _zero_grad(ctx, g):
    return g * 0


sign = _unary("sign", lambda xp, x: xp.sign(x), _zero_grad, save="none", to_float=False)
sgn = sign
floor = _unary("floor", lambda xp, x: xp.floor(x), _zero_grad, save="none", to_float=False)
ceil = _unary("ceil", lambda xp, x: xp.ceil(x), _zero_grad, save="none", to_float=False)
trunc = _unary("trunc", lambda xp, x: xp.trunc(x), _zero_grad, save="none", to_float=False)
fix = trunc
frac = _unary("frac", lambda xp, x: x - xp.trunc(x), lambda ctx, g: g, save="none",
              to_float=False)
signbit = _unary("signbit", lambda xp, x: xp.signbit(x), to_float=False, differentiable=False)


@primitive("round", save="none")
def _round(xp, x, decimals=0):
    return xp.round(x, decimals)


_round.defvjp(_zero_grad)


def round(input, *, decimals=0, out=None):
    """Round half to even, like PyTorch (``decimals`` digits)."""
    return _out(_round(_need_tensor(input, "round"), decimals=decimals), out)


def square(input, *, out=None):
    """``input * input``."""
    return _out(input * input, out)


def positive(input):
    return input


# special functions come from SciPy where installed (CuPy's cupyx on the GPU)
def _special(xp):
    if xp is np:
        try:
            import scipy.special as sp
            return sp
        except ImportError:
            return _MathSpecial
    import cupyx.scipy.special as csp
    return csp


class _MathSpecial:
    """Fallback special functions from the math module (vectorised, slower)."""

    @staticmethod
    def _vec(f, x):
        return np.vectorize(f, otypes=[x.dtype if x.dtype.kind == "f" else np.float64])(x)

    @classmethod
    def erf(cls, x):
        return cls._vec(math.erf, x)

    @classmethod
    def erfc(cls, x):
        return cls._vec(math.erfc, x)

    @classmethod
    def gammaln(cls, x):
        return cls._vec(math.lgamma, x)

    @classmethod
    def erfinv(cls, x):
        def inv(v):
            if v <= -1 or v >= 1:
                return math.copysign(math.inf, v) if abs(v) == 1 else math.nan
            y = 0.0
            for _ in range(60):  # Newton on erf(y) = v
                y -= (math.erf(y) - v) / (2 / math.sqrt(math.pi) * math.exp(-y * y))
            return y
        return cls._vec(inv, x)

    @classmethod
    def psi(cls, x):
        def digamma(v):
            r = 0.0
            while v < 6:
                r -= 1 / v
                v += 1
            f = 1 / (v * v)
            return r + math.log(v) - 0.5 / v - f * (1 / 12 - f * (1 / 120 - f * (1 / 252 - f * (
                1 / 240 - f / 132))))
        return cls._vec(digamma, x)

    @classmethod
    def i0(cls, x):
        return np.i0(x)


def _sp(name):
    return lambda xp, x: getattr(_special(xp), name)(x).astype(x.dtype, copy=False)


_SQRT_PI = math.sqrt(math.pi)
erf = _unary("erf", _sp("erf"), lambda ctx, g: g * (2 / _SQRT_PI) * exp(-_x(ctx) ** 2))
erfc = _unary("erfc", _sp("erfc"), lambda ctx, g: -g * (2 / _SQRT_PI) * exp(-_x(ctx) ** 2))
erfinv = _unary("erfinv", _sp("erfinv"),
                lambda ctx, g: g * (_SQRT_PI / 2) * exp(ctx.out ** 2), save="none",
                save_output=True)
lgamma = _unary("lgamma", _sp("gammaln"), lambda ctx, g: g * digamma(_x(ctx)))
digamma = _unary("digamma", _sp("psi"), lambda ctx, g: g * _polygamma(_x(ctx), n=1))


@primitive("polygamma")
def _polygamma(xp, x, n):
    return _special(xp).polygamma(n, x).astype(x.dtype, copy=False)


@_polygamma.defvjp
def _(ctx, g):
    return (g * _polygamma(ctx.inputs[0], n=ctx.params["n"] + 1),)
# the public polygamma, mvlgamma and heaviside (argument checks) are in ember/ops/arith.py


def logit(input, eps=None):
    """``log(p / (1 - p))``, with ``p`` clamped to ``[eps, 1 - eps]`` when given."""
    x = _float_input(input, "logit")
    if eps is not None:
        x = clamp(x, eps, 1 - eps)
    return log(x / (1 - x))


def sinc(input):
    """``sin(pi x) / (pi x)``, 1 at 0."""
    x = _float_input(input, "sinc")
    px = x * math.pi
    safe = where(x == 0, ones_like_(x), px)
    return where(x == 0, ones_like_(x), sin(safe) / safe)


def i0(input):
    """Modified Bessel function of the first kind, order 0 (series, differentiable)."""
    x = _float_input(input, "i0")
    q = x * x / 4
    term = ones_like_(x)
    total = term
    for k in range(1, 40):
        term = term * q / (k * k)
        total = total + term
    return total


def deg2rad(input):
    return _float_input(input, "deg2rad") * (math.pi / 180)


def rad2deg(input):
    return _float_input(input, "rad2deg") * (180 / math.pi)


# -- complex ---------------------------------------------------------------------------------
conj_physical = _unary("conj", lambda xp, x: xp.conj(x), lambda ctx, g: conj(g), save="none",
                       to_float=False)


def conj(input):
    """Complex conjugate (identity for real tensors)."""
    if input._data.dtype.kind != "c":
        return input
    return conj_physical(input)


@primitive("real", save="none")
def _real(xp, x):
    return xp.real(x)


@_real.defvjp
def _(ctx, g):
    return (g,)


@primitive("imag", save="none")
def _imag(xp, x):
    return xp.imag(x)


@_imag.defvjp
def _(ctx, g):
    return (g * 1j,)


def real(input):
    return input if input._data.dtype.kind != "c" else _real(input)


def imag(input):
    if input._data.dtype.kind != "c":
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
    return _imag(input)


def angle(input):
    x = input
    if x._data.dtype.kind == "c":
        return atan2(imag(x), real(x))
    x = _float_input(x, "angle")
    return where(x < 0, full_like_(x, math.pi), x * 0)


def full_like_(x, v):
    return _wrap(x._device.xp.full_like(x._data, v), x._device)


def polar(abs, angle, *, out=None):
    """The complex tensor ``abs * (cos(angle) + i sin(angle))``."""
    return complex(abs * cos(angle), abs * sin(angle), out=out)


def complex(real, imag, *, out=None):
    """The complex tensor ``real + i imag`` from two floating tensors of one dtype."""
    for v in (real, imag):
        if not isinstance(v, Tensor) or v._data.dtype.kind != "f":
            kinds = tuple(_dtype.scalar_name(t.dtype) if isinstance(t, Tensor) else
                          type(t).__name__ for t in (real, imag))
            raise RuntimeError(f"complex: expected both inputs to be Half, Float or Double "
                               f"tensors but got {kinds[0]} and {kinds[1]}")
    if real._data.dtype != imag._data.dtype:
        raise RuntimeError(f"complex: expected object of scalar type {real.dtype} but got "
                           f"scalar type {imag.dtype} for second argument")
    return _out(real + imag * 1j, out)


complex_ = complex


@primitive("heaviside", differentiable=False)
def _heaviside(xp, x, values):
    step = (x > 0).astype(x.dtype)
    return xp.where(x == 0, values, step).astype(x.dtype)



# -- clamp, where, lerp ----------------------------------------------------------------------
@primitive("where")
def _where(xp, cond, x, y):
    return xp.where(cond, x, y)


@_where.defvjp
def _(ctx, g):
    cond = ctx.inputs[0]
    z = g * 0
    return (None,
            _where(cond, g, z) if ctx._next[1] is not None else None,
            _where(cond, z, g) if ctx._next[2] is not None else None)


def where(condition, input=None, other=None, *, out=None):
    """Pick ``input`` where ``condition`` holds, else ``other``; one argument: ``nonzero``."""
    if input is None and other is None:
        from ember.ops.index import nonzero
        return nonzero(condition, as_tuple=True)
    if not isinstance(condition, Tensor):
        raise TypeError("where(): argument 'condition' must be Tensor")
    if condition._data.dtype != np.bool_:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor "
                           f"with dtype {condition.dtype.name}")
    x, y = promote("where", input, other)
    if not isinstance(x, Tensor) and not isinstance(y, Tensor):
        dt = result_type_of(x, y)
        xp = condition._device.xp
        x = _wrap(xp.asarray(x, dtype=dt.np), condition._device)
    return _out(_where(condition, x, y), out)


def clamp(input, min=None, max=None, *, out=None):
    """Limit values to ``[min, max]`` (either bound may be None or a tensor)."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if input._data.dtype.kind == "c":
        raise NotImplementedError("clamp is not supported for complex types")

    x = input
    if min is not None:
        x = where(x < min, _bound(min, x), x) if isinstance(min, Tensor) else _clamp_s(x, min, 0)
    if max is not None:
        x = where(x > max, _bound(max, x), x) if isinstance(max, Tensor) else _clamp_s(x, max, 1)
    return _out(x, out)


def _bound(b, x):
    return cast(b, x._data.dtype) if b._data.dtype != x._data.dtype else b


@primitive("clamp")
def _clamp_prim(xp, x, bound, upper):
    if upper:
        return xp.minimum(x, bound).astype(x.dtype, copy=False)
    return xp.maximum(x, bound).astype(x.dtype, copy=False)


@_clamp_prim.defvjp
def _(ctx, g):
    x, b, upper = ctx.inputs
    keep = (x <= b) if upper else (x >= b)
    return (g * keep, None, None)


def _clamp_s(x, b, upper):
    if x._data.dtype.kind in "biu" and isinstance(b, float):
        x = cast(x, _dtype.get_default_dtype().np)
    return _clamp_prim(x, b, upper)


clip = clamp


def clamp_min(input, min):
    return clamp(input, min=min)


def clamp_max(input, max):
    return clamp(input, max=max)


def lerp(input, end, weight):
    """``input + weight * (end - input)``."""
    return input + weight * (end - input)


def addcmul(input, tensor1, tensor2, *, value=1, out=None):
    """``input + value * tensor1 * tensor2``."""
    return _out(input + value * tensor1 * tensor2 if value != 1 else input + tensor1 * tensor2,
                out)


def addcdiv(input, tensor1, tensor2, *, value=1, out=None):
    """``input + value * tensor1 / tensor2``."""
    return _out(input + value * (tensor1 / tensor2), out)


def nan_to_num(input, nan=0.0, posinf=None, neginf=None, *, out=None):
    """Replace NaN and infinities with finite numbers (dtype's max/min by default)."""
    x = input
    if x._data.dtype.kind in "biu":
        return x.clone()
    info = np.finfo(x._data.dtype if x._data.dtype.kind == "f" else np.float32)
    posinf = float(info.max) if posinf is None else posinf
    neginf = float(info.min) if neginf is None else neginf
    x = where(isnan(x), full_like_(x, nan), x)
    x = where(x == math.inf, full_like_(x, posinf), x)
    x = where(x == -math.inf, full_like_(x, neginf), x)
    return _out(x, out)


# -- comparisons and logic (no gradient) --------------------------------------------------
def _cmp(name, ufunc, ordered=False):
    prim = primitive(name, differentiable=False)(lambda xp, x, y: getattr(xp, ufunc)(x, y))

    def op(input, other, *, out=None):
        x, y = promote(name, input, other)
        if ordered:
            t = _first_tensor(x, y)
            if t._data.dtype.kind == "c":
                raise NotImplementedError(f"\"{name}_cpu\" not implemented for "
                                          f"'{_dtype.scalar_name(t.dtype)}'")
        return _out(prim(x, y), out)
    op.__name__ = name
    op.__doc__ = f"Elementwise ``{ufunc}`` returning a bool tensor."
    return op


eq = _cmp("eq", "equal")
ne = _cmp("ne", "not_equal")
lt = _cmp("lt", "less", ordered=True)
le = _cmp("le", "less_equal", ordered=True)
gt = _cmp("gt", "greater", ordered=True)
ge = _cmp("ge", "greater_equal", ordered=True)
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def _logic(name, ufunc):
    prim = primitive(name, differentiable=False)(lambda xp, x, y: getattr(xp, ufunc)(x, y))

    def op(input, other, *, out=None):
        return _out(prim(input, other), out)
    op.__name__ = name
    return op


logical_and = _logic("logical_and", "logical_and")
logical_or = _logic("logical_or", "logical_or")
logical_xor = _logic("logical_xor", "logical_xor")


def _bitwise(name, ufunc):
    prim = primitive(name, differentiable=False)(lambda xp, x, y: getattr(xp, ufunc)(x, y))

    def op(input, other, *, out=None):
        x, y = promote(name, input, other)
        for v in (x, y):
            if isinstance(v, Tensor) and v._data.dtype.kind not in "biu":
                raise NotImplementedError(f"\"{name}_cpu\" not implemented for "
                                          f"'{_dtype.scalar_name(v.dtype)}'")
            if not isinstance(v, Tensor) and isinstance(v, float):
                raise RuntimeError(f"{name}: expected integral or bool operands, got a float")
        return _out(prim(x, y), out)
    op.__name__ = name
    return op


bitwise_and = _bitwise("bitwise_and", "bitwise_and")
bitwise_or = _bitwise("bitwise_or", "bitwise_or")
bitwise_xor = _bitwise("bitwise_xor", "bitwise_xor")
bitwise_left_shift = _bitwise("bitwise_left_shift", "left_shift")
bitwise_right_shift = _bitwise("bitwise_right_shift", "right_shift")

_logical_not = primitive("logical_not", differentiable=False)(lambda xp, x: xp.logical_not(x))
_bitwise_not = primitive("bitwise_not", differentiable=False)(lambda xp, x: xp.invert(x))
_isnan = primitive("isnan", differentiable=False)(lambda xp, x: xp.isnan(x))
_isinf = primitive("isinf", differentiable=False)(lambda xp, x: xp.isinf(x))
_isfinite = primitive("isfinite", differentiable=False)(lambda xp, x: xp.isfinite(x))
_isposinf = primitive("isposinf", differentiable=False)(lambda xp, x: xp.isposinf(x))
_isneginf = primitive("isneginf", differentiable=False)(lambda xp, x: xp.isneginf(x))


def logical_not(input, *, out=None):
    return _out(_logical_not(input), out)


def bitwise_not(input, *, out=None):
    """Bitwise NOT of an integer tensor (logical NOT for bool)."""
    if input._data.dtype.kind not in "biu":
        raise NotImplementedError(f"\"bitwise_not_cpu\" not implemented for "
                                  f"'{_dtype.scalar_name(input.dtype)}'")
    return _out(_bitwise_not(input), out)


def _isx(prim, on_int):
    def op(input):
        if input._data.dtype.kind in "biu":
            return _wrap(input._device.xp.full(input._data.shape, on_int), input._device)
        return prim(input)
    return op


isnan = _isx(_isnan, False)
isinf = _isx(_isinf, False)
isfinite = _isx(_isfinite, True)
isposinf = _isx(_isposinf, False)
isneginf = _isx(_isneginf, False)


def isreal(input):
    if input._data.dtype.kind != "c":
        return _isx(_isnan, True)(input)
    return imag(input) == 0


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Elementwise ``|input - other| <= atol + rtol * |other|``."""
    x, y = promote("isclose", input, other)
    xd, yd = x._data, (y._data if isinstance(y, Tensor) else y)
    xp = x._device.xp
    with np.errstate(invalid="ignore"):
        r = xp.isclose(xd, yd, rtol=rtol, atol=atol, equal_nan=equal_nan)
    return _wrap(xp.asarray(r), x._device)


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True when every element is close (see :func:`isclose`)."""
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


def equal(input, other):
    """True when both tensors have the same shape and elements."""
    return input._data.shape == other._data.shape and bool((input._data == other._data).all())


def _out(res, out):
    """Support the ``out=`` argument: write the result into ``out`` (resized if its shape
    differs, with PyTorch's warning unless it was empty) and return ``out``."""
    if out is None:
        return res
    if res._requires_grad and STATE.enabled or out._requires_grad and STATE.enabled:
        op = re.sub(r"Backward[0-9]*$", "", res._node.name()).lower() if res._node else "op"
        raise RuntimeError(f"{op}(): functions with out=... arguments don't support automatic "
                           f"differentiation, but one of the arguments requires grad.")
    if out._data.shape != res._data.shape:
        if out._data.size != 0:
            warnings.warn(f"An output with one or more elements was resized since it had shape "
                          f"{list(out._data.shape)}, which does not match the required output "
                          f"shape {list(res._data.shape)}. This behavior is deprecated, and in "
                          f"a future release outputs will not be resized unless they have zero "
                          f"elements.", UserWarning, stacklevel=3)
        out._data = out._device.xp.empty(res._data.shape, dtype=out._data.dtype)
    commit_inplace(out, lambda o, r: r, res, op=None)
    return out
