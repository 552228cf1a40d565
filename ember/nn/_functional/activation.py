"""Activation functions (``F.relu``, ``F.gelu``, ``F.softmax``, ...).

Most are composites of ember ops, so they need no gradient code. A few are primitives,
each for a reason given next to it: ``softmax`` and ``log_softmax`` (stability: the row
max is subtracted inside one kernel; speed: one node with a one-line rule), ``gelu``
(speed: one pass instead of five), ``elu`` (stability: the exponential of large positive
inputs would overflow inside a ``where`` and poison the gradient with ``inf * 0``),
``leaky_relu`` and ``hardtanh`` (speed, and PyTorch's gradient at the kinks).

Where an activation has a kink, the gradient there follows PyTorch's convention. The
primitives' rules have a fast form on arrays and an ember-ops form used while the backward
pass is recorded (see ``_core.py``).
"""

import math
import warnings

import numpy as np

from ember._tensor import Tensor
from ember.ops import elementwise as E
from ember.ops._registry import primitive
from ember.ops._util import commit_inplace, wrap_dim
from ember.ops.elementwise import where, exp, tanh, sigmoid, log1p, abs as _abs, erf
from ember.ops.views import reshape
from ember.nn._functional._core import recording, wrap_as, compute_dtype

__all__ = ["threshold", "threshold_", "relu", "relu_", "relu6", "hardtanh", "hardtanh_",
           "leaky_relu", "leaky_relu_", "prelu", "rrelu", "rrelu_", "elu", "elu_", "selu",
           "selu_", "celu", "celu_", "gelu", "silu", "mish", "sigmoid", "tanh", "softplus",
           "softsign", "hardswish", "hardsigmoid", "glu", "logsigmoid", "tanhshrink",
           "softshrink", "hardshrink", "softmax", "log_softmax", "softmin", "gumbel_softmax"]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _inplace_or(x, fn, inplace, name, *args):
    """``fn(x, *args)``, written into ``x`` when ``inplace``."""
    if inplace:
        return commit_inplace(x, fn, *args, op=name)
    return fn(x, *args)


def _tensor(x, op):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(x).__name__}")
    return x


def _low_precision(x):
    """float16/bfloat16 compute in float32 (like PyTorch's CPU kernels)."""
    return x.dtype.kind == "V" or (x.dtype.kind == "f" and x.dtype.itemsize < 4)


# -- ReLU family -------------------------------------------------------------------------------
def relu(input, inplace=False):
    r"""Rectified linear unit: :math:`\max(0, x)`."""
    if inplace:
        return relu_(input)
    return E.relu(_tensor(input, "relu"))


def relu_(input):
    """In-place :func:`relu`."""
    return commit_inplace(input, E.relu, op="relu_")


def _threshold(input, thresh, value, inplace):
    return _inplace_or(_tensor(input, "threshold"), lambda x: where(x > thresh, x, value),
                       inplace, "threshold_")


def threshold(input, threshold, value, inplace=False):
    r""":math:`y = x` if :math:`x > \text{threshold}`, else ``value``."""
    return _threshold(input, threshold, value, inplace)


def threshold_(input, threshold, value):
    return _threshold(input, threshold, value, True)


@primitive("hardtanh")
def _hardtanh(xp, x, lo, hi):
    return xp.clip(x, lo, hi).astype(x.dtype, copy=False)


@_hardtanh.defvjp
def _(ctx, g):  # PyTorch: zero gradient at (and beyond) the bounds
    x = ctx.inputs[0]
    p = ctx.params
    if not recording():
        xa = x._data
        return (wrap_as(g._data * ((xa > p["lo"]) & (xa < p["hi"])), g),)
    return (g * ((x > p["lo"]) & (x < p["hi"])),)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    r"""Clamp to ``[min_val, max_val]``: :math:`\min(\max(x, a), b)`."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _inplace_or(_tensor(input, "hardtanh"),
                       lambda x: _hardtanh(x, lo=min_val, hi=max_val), inplace, "hardtanh_")


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input, inplace=False):
    r""":math:`\min(\max(0, x), 6)`."""
    return hardtanh(input, 0.0, 6.0, inplace)


@primitive("leaky_relu")
def _leaky_relu(xp, x, slope):
    return xp.where(x > 0, x, x * slope).astype(x.dtype, copy=False)


@_leaky_relu.defvjp
def _(ctx, g):
    x = ctx.inputs[0]
    slope = ctx.params["slope"]
    if not recording():
        ga = g._data
        return (wrap_as(g._device.xp.where(x._data > 0, ga, ga * slope), g),)
    return (where(x > 0, g, g * slope),)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    r""":math:`x` if :math:`x > 0`, else :math:`\text{negative\_slope} \cdot x`."""
    return _inplace_or(_tensor(input, "leaky_relu"),
                       lambda x: _leaky_relu(x, slope=negative_slope), inplace, "leaky_relu_")


def leaky_relu_(input, negative_slope=0.01):
    return leaky_relu(input, negative_slope, inplace=True)


def prelu(input, weight):
    r""":math:`\max(0, x) + a \min(0, x)` with a learned slope :math:`a` per channel (dim 1).

    ``weight`` has one element (shared) or one per channel.
    """
    if weight.numel() != 1:
        if input.dim() < 2 and input.dim() != 1 or weight.dim() != 1:
            raise RuntimeError(f"prelu: expected weight of one element or one per channel, got "
                               f"weight of shape {tuple(weight.shape)} for input of shape "
                               f"{tuple(input.shape)}")
        ch = 1 if input.dim() >= 2 else 0
        if input.shape[ch] != weight.shape[0]:
            raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found "
                               f"parameter numbers = {weight.shape[0]} and channel size = "
                               f"{input.shape[ch]}.")
        weight = reshape(weight, (-1,) + (1,) * (input.dim() - ch - 1))
    else:
        weight = reshape(weight, ())
    return where(input > 0, input, weight * input)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    r"""Randomized leaky ReLU: the negative slope is drawn from :math:`U(\text{lower},
    \text{upper})` per element in training, and is :math:`(\text{lower} + \text{upper}) / 2`
    in evaluation."""
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    from ember.ops.random import rand
    slope = rand(tuple(input.shape), dtype=input.dtype, device=input.device) * (upper - lower) \
        + lower
    return _inplace_or(input, lambda x: where(x >= 0, x, x * slope), inplace, "rrelu_")


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    return rrelu(input, lower, upper, training, inplace=True)


# -- exponential family ------------------------------------------------------------------------
@primitive("elu")
def _elu(xp, x, alpha, scale, input_scale):
    neg = xp.expm1(xp.minimum(x, 0) * input_scale) * (alpha * scale)
    return xp.where(x > 0, x * scale, neg).astype(x.dtype, copy=False)


@_elu.defvjp
def _(ctx, g):
    x = ctx.inputs[0]
    p = ctx.params
    k = p["alpha"] * p["scale"] * p["input_scale"]
    if not recording():
        xp, xa, ga = g._device.xp, x._data, g._data
        slope = xp.exp(xp.minimum(xa, 0) * p["input_scale"]) * k
        return (wrap_as(ga * xp.where(xa > 0, p["scale"], slope), g),)
    slope = exp(E.clamp(x, max=0.0) * p["input_scale"]) * k
    return (where(x > 0, g * p["scale"], g * slope),)


def elu(input, alpha=1.0, inplace=False):
    r""":math:`x` if :math:`x > 0`, else :math:`\alpha (e^x - 1)`."""
    return _inplace_or(_tensor(input, "elu"),
                       lambda x: _elu(x, alpha=alpha, scale=1.0, input_scale=1.0), inplace,
                       "elu_")


def elu_(input, alpha=1.0):
    return elu(input, alpha, inplace=True)


def selu(input, inplace=False):
    r""":math:`\text{scale} \cdot \text{elu}(x, \alpha)` with PyTorch's constants
    :math:`\alpha \approx 1.6733`, :math:`\text{scale} \approx 1.0507`."""
    return _inplace_or(_tensor(input, "selu"),
                       lambda x: _elu(x, alpha=_SELU_ALPHA, scale=_SELU_SCALE, input_scale=1.0),
                       inplace, "selu_")


def selu_(input):
    return selu(input, inplace=True)


def celu(input, alpha=1.0, inplace=False):
    r""":math:`\max(0, x) + \min(0, \alpha (e^{x / \alpha} - 1))`."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: celu alpha must not be 0")
    return _inplace_or(_tensor(input, "celu"),
                       lambda x: _elu(x, alpha=alpha, scale=1.0, input_scale=1.0 / alpha),
                       inplace, "celu_")


def celu_(input, alpha=1.0):
    return celu(input, alpha, inplace=True)


# -- smooth gates --------------------------------------------------------------------------------
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _cdf32(xp, x):
    r"""The standard normal CDF of a float32 array, 6x faster than SciPy's erf.

    :math:`\Phi(x) = \tfrac12 \mathrm{erfc}(|x| / \sqrt2)` for :math:`x < 0` (no
    cancellation in the tail) and :math:`1 - \tfrac12 \mathrm{erfc}(x / \sqrt2)` otherwise,
    with erfc from Abramowitz & Stegun 7.1.26. Absolute error < 3e-7 (torch's float32
    kernel: 6e-8); float64 inputs use SciPy's exact erf instead.
    """
    z = xp.abs(x) * np.float32(_INV_SQRT_2)
    t = 1 / (1 + np.float32(0.3275911) * z)
    y = np.float32(1.061405429) * t
    for c in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        y += np.float32(c)
        y *= t
    z *= z
    y *= xp.exp(-z)
    y *= np.float32(-0.5)
    y += np.float32(0.5)  # 0.5 - erfc/2 >= 0; its sign copied from x picks the branch
    xp.copysign(y, x, out=y)  # (np.where on a random sign pattern is 5x slower)
    y += np.float32(0.5)
    return y


def _cdf(xp, x):
    """The standard normal CDF of an array (float32 or float64)."""
    if x.dtype == np.float32:
        return _cdf32(xp, x)
    erf = E._special(xp).erf(x * _INV_SQRT_2)
    erf += 1
    erf *= 0.5
    return erf


@primitive("gelu")
def _gelu(xp, x, approximate):
    xc = compute_dtype(x)
    if approximate == "tanh":
        out = 0.5 * xc * (1 + xp.tanh(_SQRT_2_OVER_PI * (xc + 0.044715 * xc ** 3)))
    else:
        out = xc * _cdf(xp, xc)
    return out.astype(x.dtype, copy=False)


def _gelu_slope_arrays(xp, x, approximate):
    x = compute_dtype(x)
    if approximate == "tanh":
        t = xp.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x ** 3))
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _SQRT_2_OVER_PI * (1 + 0.134145 * x * x)
    return _cdf(xp, x) + x * xp.exp(-0.5 * x * x) * _INV_SQRT_2PI


def _gelu_slope(x, approximate):
    if approximate == "tanh":
        t = tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _SQRT_2_OVER_PI * (1 + 0.134145 * x * x)
    return 0.5 * (1 + erf(x * _INV_SQRT_2)) + x * exp(-0.5 * x * x) * _INV_SQRT_2PI


@_gelu.defvjp
def _(ctx, g):
    x = ctx.inputs[0]
    approximate = ctx.params["approximate"]
    if not recording():
        return (wrap_as(g._data * _gelu_slope_arrays(g._device.xp, x._data, approximate), g),)
    return (g * _gelu_slope(x, approximate),)


def gelu(input, approximate="none"):
    r"""Gaussian error linear unit: :math:`x \Phi(x)` (``approximate='none'``), or
    :math:`0.5 x (1 + \tanh(\sqrt{2/\pi} (x + 0.044715 x^3)))` (``'tanh'``)."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    return _gelu(_float(input, "gelu"), approximate=approximate)


def _float(x, op):
    return E._float_input(x, op)


def _sigmoid_arrays(xp, x):
    with np.errstate(over="ignore"):  # exp(-x) = inf for very negative x gives 0: right
        out = xp.exp(-x)
        out += 1
        return xp.reciprocal(out, out=out)


@primitive("silu")
def _silu(xp, x):
    xc = compute_dtype(x)
    return (xc * _sigmoid_arrays(xp, xc)).astype(x.dtype, copy=False)


@_silu.defvjp
def _(ctx, g):
    x = ctx.inputs[0]
    if not recording():
        xp, xa = g._device.xp, compute_dtype(x._data)
        s = _sigmoid_arrays(xp, xa)
        return (wrap_as(g._data * (s * (1 + xa * (1 - s))), g),)
    s = sigmoid(x)
    return (g * (s * (1 + x * (1 - s))),)


def silu(input, inplace=False):
    r""":math:`x \sigma(x)` (the swish). A primitive: one pass forward and backward."""
    return _inplace_or(_float(input, "silu"), _silu, inplace, "silu_")


def mish(input, inplace=False):
    r""":math:`x \tanh(\text{softplus}(x))`."""
    return _inplace_or(_float(input, "mish"), lambda x: x * tanh(softplus(x)), inplace,
                       "mish_")


def softplus(input, beta=1.0, threshold=20.0):
    r""":math:`\frac{1}{\beta} \log(1 + e^{\beta x})`, and :math:`x` where
    :math:`\beta x > \text{threshold}` (for stability)."""
    x = _float(input, "softplus")
    bx = x * beta if beta != 1 else x
    safe = E.clamp(bx, max=threshold)  # no overflow in the branch `where` discards
    soft = log1p(exp(safe))
    return where(bx > threshold, x, soft / beta if beta != 1 else soft)


def softsign(input):
    r""":math:`x / (1 + |x|)`."""
    return input / (_abs(input) + 1)


def hardswish(input, inplace=False):
    r""":math:`0` for :math:`x \le -3`, :math:`x` for :math:`x \ge 3`, else
    :math:`x (x + 3) / 6`."""
    def f(x):
        mid = x * (x + 3) / 6
        return where(x < -3, x * 0, where(x <= 3, mid, x))
    return _inplace_or(_float(input, "hardswish"), f, inplace, "hardswish_")


def hardsigmoid(input, inplace=False):
    r""":math:`0` for :math:`x \le -3`, :math:`1` for :math:`x \ge 3`, else
    :math:`x / 6 + 1/2`."""
    return _inplace_or(_float(input, "hardsigmoid"),
                       lambda x: _hardtanh(x / 6 + 0.5, lo=0.0, hi=1.0), inplace,
                       "hardsigmoid_")


def glu(input, dim=-1):
    r"""Gated linear unit: :math:`a \otimes \sigma(b)` where :math:`a, b` are the two halves
    of ``input`` along ``dim``."""
    if input.dim() == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    d = wrap_dim(dim, input.dim(), "glu")
    n = input.shape[d]
    if n % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {d} is size {n}")
    a, b = input.split(n // 2, d)
    return a * sigmoid(b)


def logsigmoid(input):
    r""":math:`\log \sigma(x) = \min(x, 0) - \log(1 + e^{-|x|})`."""
    x = _float(input, "log_sigmoid")
    return E.minimum(x, 0.0) - log1p(exp(-_abs(x)))


def tanhshrink(input):
    r""":math:`x - \tanh(x)`."""
    return input - tanh(input)


def softshrink(input, lambd=0.5):
    r""":math:`x - \lambda` for :math:`x > \lambda`, :math:`x + \lambda` for
    :math:`x < -\lambda`, else 0."""
    if lambd < 0:
        raise RuntimeError(f"lambda must be greater or equal to 0, but found to be {lambd}.")
    return input - E.clamp(input, -lambd, lambd)


def hardshrink(input, lambd=0.5):
    r""":math:`x` where :math:`|x| > \lambda`, else 0."""
    return where((input > lambd) | (input < -lambd), input, input * 0)


# -- softmax -----------------------------------------------------------------------------------
def _softmax_dim(ndim, name):
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                  f"to include dim=X as an argument.", stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def _shifted(xp, x, dim):
    """``x - max(x, dim)``; rows that are all ``-inf`` stay ``-inf`` minus ``-inf`` = nan."""
    return x - x.max(axis=dim, keepdims=True)


@primitive("softmax", save="none", save_output=True)
def _softmax(xp, x, dim):
    if x.size == 0:
        return x.copy()
    e = xp.exp(_shifted(xp, compute_dtype(x), dim))
    e /= e.sum(axis=dim, keepdims=True)
    return e.astype(x.dtype, copy=False)


@_softmax.defvjp
def _(ctx, g):
    y = ctx.out
    dim = ctx.params["dim"]
    if not recording():
        ya = y._data
        gy = g._data * ya
        gy -= ya * gy.sum(axis=dim, keepdims=True)
        return (wrap_as(gy, g),)
    gy = g * y
    return (gy - y * gy.sum(dim, keepdim=True),)


@primitive("log_softmax", save="none", save_output=True)
def _log_softmax(xp, x, dim):
    if x.size == 0:
        return x.copy()
    s = _shifted(xp, compute_dtype(x), dim)
    return (s - xp.log(xp.exp(s).sum(axis=dim, keepdims=True))).astype(x.dtype, copy=False)


@_log_softmax.defvjp
def _(ctx, g):
    y = ctx.out
    dim = ctx.params["dim"]
    if not recording():
        ga = g._data
        return (wrap_as(ga - g._device.xp.exp(y._data) * ga.sum(axis=dim, keepdims=True), g),)
    return (g - exp(y) * g.sum(dim, keepdim=True),)


def _prepare_softmax(input, dim, dtype, name):
    x = _tensor(input, name)
    if dtype is not None:
        x = x.to(dtype)
    elif not (x.dtype.is_floating_point or x.dtype.is_complex):
        raise RuntimeError(f'"{name}_lastdim_kernel_impl" not implemented for '
                           f"'{x.dtype.name.capitalize()}'")
    if dim is None:
        dim = _softmax_dim(x.dim(), name)
    return x, wrap_dim(dim, x.dim(), name) if x.dim() else 0


def _scalar_safe(prim, x, d):
    """Run a softmax-like primitive; a 0-d input is computed as a 1-element vector."""
    if x.dim() == 0:
        return reshape(prim(reshape(x, (1,)), dim=0), ())
    return prim(x, dim=d)


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    r""":math:`\text{softmax}(x)_i = e^{x_i} / \sum_j e^{x_j}` along ``dim``.

    A primitive: computed as :math:`e^{x_i - m} / \sum_j e^{x_j - m}` with :math:`m` the
    maximum along ``dim`` (no overflow); gradient :math:`y \odot (g - \sum_j g_j y_j)`.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.softmax(ember.tensor([0.0, 0.0]), dim=0)
        tensor([0.5000, 0.5000])
    """
    x, d = _prepare_softmax(input, dim, dtype, "softmax")
    return _scalar_safe(_softmax, x, d)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    r""":math:`\log \text{softmax}(x)_i = x_i - m - \log \sum_j e^{x_j - m}` along ``dim``.

    A primitive (stable for large inputs); gradient :math:`g - e^{y} \sum_j g_j`.
    """
    x, d = _prepare_softmax(input, dim, dtype, "log_softmax")
    return _scalar_safe(_log_softmax, x, d)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    r""":math:`\text{softmax}(-x)` along ``dim``."""
    x, d = _prepare_softmax(input, dim, dtype, "softmin")
    return _scalar_safe(_softmax, -x, d)


def gumbel_softmax(logits, tau=1.0, hard=False, eps=1e-10, dim=-1):
    r"""Samples from the Gumbel-softmax distribution: ``softmax((logits + g) / tau)`` with
    :math:`g = -\log(E)`, :math:`E \sim \text{Exp}(1)`. With ``hard``, the result is one-hot
    in the forward pass with the soft gradient (straight-through)."""
    from ember.ops.creation import empty_like
    with_noise = -empty_like(logits).exponential_().log()
    y = softmax((logits + with_noise) / tau, dim)
    if not hard:
        return y
    d = wrap_dim(dim, y.dim(), "gumbel_softmax")
    from ember.ops.creation import tensor
    soft = y.detach().numpy(force=True)
    hot = np.zeros_like(soft)
    np.put_along_axis(hot, np.expand_dims(soft.argmax(axis=d), d), 1, axis=d)
    return tensor(hot, device=y.device) - y.detach() + y
