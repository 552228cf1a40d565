r"""Gamma sampling with implicit reparameterisation gradients, and the regularised
incomplete gamma function.

A Gamma(a, 1) sample :math:`x` has no closed-form reparameterisation, but the
implicit function theorem on :math:`P(a, x) = u` (with :math:`P` the CDF, the
regularised lower incomplete gamma function, and :math:`u` held fixed) gives the
pathwise gradient

.. math:: \frac{dx}{da} = -\frac{\partial P / \partial a}{\partial P / \partial x}
          = -\frac{\partial_a P(a, x)}{f(x; a)},
          \qquad f(x; a) = \frac{x^{a-1} e^{-x}}{\Gamma(a)}.

From the series :math:`P(a, x) = \sum_{n \ge 0} x^{a+n} e^{-x} / \Gamma(a+n+1)`,

.. math:: \frac{\partial_a P(a, x)}{f(x; a)} = \sum_{n \ge 0} r_n
          \left(\log x - \psi(a+n+1)\right), \qquad
          r_n = \frac{x^{n+1}}{a (a+1) \cdots (a+n)},

whose terms need no :math:`e^{-x}` (no underflow) and follow by recurrence:
:math:`r_n = r_{n-1} x / (a+n)` and :math:`\psi(a+n+1) = \psi(a+n) + 1/(a+n)`. It
converges for every :math:`x` in about :math:`x - a + 10\sqrt{x}` terms. For very large
:math:`a` the Wilson-Hilferty approximation (:math:`(x/a)^{1/3}` is nearly normal) is
differentiated instead.

Everything here works on arrays of the tensors' own array module (NumPy or CuPy); the
gradients are first order (a second derivative through them is zero).
"""

import numpy as np

import ember
from ember._tensor import _wrap
from ember.distributions.utils import finfo, from_numpy_sample, rng

_SERIES_MAX_A = 1e4  # above this concentration, the Wilson-Hilferty gradient is used
_MAX_TERMS = 100_000
_TOL = 1e-16


def _special(name, arr, device):
    """An ember special function (``lgamma``, ``digamma``) applied to a float64 array."""
    return getattr(ember, name)(_wrap(arr, device))._data


def _dP_da_over_pdf(xp, a, x, device):
    """:math:`\\partial_a P(a, x) / f(x; a)` by the series in the module docstring.

    ``a`` and ``x`` are positive float64 arrays of one shape; the loop keeps only the
    elements whose series has not yet converged.
    """
    out = xp.zeros_like(x)
    idx = xp.arange(x.size)
    a, x = a.ravel(), x.ravel()
    log_x = xp.log(x)
    psi = _special("digamma", a, device) + 1 / a  # psi(a + 1)
    r = x / a
    total = r * (log_x - psi)
    n = 0
    while idx.size and n < _MAX_TERMS:
        n += 1
        psi = psi + 1 / (a + n)
        r = r * x / (a + n)
        term = r * (log_x - psi)
        total = total + term
        past_peak = a + n + 1 > x
        # the remaining terms shrink at least geometrically with ratio x / (a + n + 1)
        tail = xp.abs(term) * (a + n + 1) / xp.maximum(a + n + 1 - x, 1e-300)
        done = (past_peak & ((tail <= _TOL * xp.abs(total)) | (r == 0))) \
            | ~xp.isfinite(total)  # NaN or overflowing input: give up on it at once
        if done.any():
            out.reshape(-1)[idx[done]] = total[done]
            keep = ~done
            idx, a, x, log_x, psi, r, total = (v[keep] for v in (idx, a, x, log_x, psi, r,
                                                                 total))
    if idx.size:
        out.reshape(-1)[idx] = total
    return out


def _wilson_hilferty_dx_da(xp, a, x):
    """:math:`dx/da` holding the Wilson-Hilferty normal deviate of ``x`` fixed."""
    c = (x / a) ** (1 / 3)
    z = (c - 1 + 1 / (9 * a)) * 3 * xp.sqrt(a)
    dc_da = 1 / (9 * a * a) - z / (6 * a * xp.sqrt(a))
    return c ** 3 + 3 * a * c * c * dc_da


def standard_gamma_grad(a, x, device):
    """The implicit reparameterisation gradient :math:`dx/da` of Gamma(a, 1) samples ``x``.

    Args:
        a: concentrations, a positive float64 array.
        x: samples of the same shape, positive.
        device: the ember device the arrays belong to.
    """
    xp = device.xp
    out = xp.empty_like(x)
    small = a <= _SERIES_MAX_A
    if small.any():
        with np.errstate(over="ignore", invalid="ignore"):
            out[small] = -_dP_da_over_pdf(xp, a[small], x[small], device)
    wh = ~small | ~xp.isfinite(out)  # overflowing series (far tails) fall back as well
    if wh.any():
        with np.errstate(over="ignore", invalid="ignore"):
            out[wh] = _wilson_hilferty_dx_da(xp, a[wh], x[wh])
    return out


class _StandardGamma(ember.autograd.Function):
    """Gamma(concentration, 1) samples with implicit reparameterisation gradients."""

    @staticmethod
    def forward(ctx, concentration):
        dev, dtype = concentration.device, concentration.dtype
        a = np.asarray(_host(concentration._data), dtype=np.float64)
        x = rng(dev).standard_gamma(a)
        sample = from_numpy_sample(x, dtype, dev)
        tiny = float(finfo(dtype).tiny)  # underflowed draws (tiny concentrations) stay > 0
        sample = sample.clamp(min=tiny)
        ctx.concentration, ctx.sample = concentration.detach(), sample.detach()
        return sample

    @staticmethod
    def backward(ctx, grad):
        dev = ctx.sample.device
        a = ctx.concentration._data.astype(np.float64)
        x = ctx.sample._data.astype(np.float64)
        dx_da = standard_gamma_grad(a, x, dev)
        return grad * _wrap(dx_da.astype(ctx.sample._data.dtype), dev)


def standard_gamma(concentration):
    """Samples of Gamma(``concentration``, 1), one per element, differentiable in
    ``concentration`` through the implicit reparameterisation gradient."""
    return _StandardGamma.apply(concentration)


def _host(arr):
    return arr if isinstance(arr, np.ndarray) else arr.get()


# -- the regularised lower incomplete gamma function -------------------------------------

def _gammainc_series(xp, a, x, log_prefactor):
    """``P(a, x) = exp(a log x - x - lgamma(a + 1)) * sum_n x^n / ((a+1)...(a+n))``."""
    term = xp.ones_like(x)
    total = xp.ones_like(x)
    for n in range(1, _MAX_TERMS):
        term = term * x / (a + n)
        total = total + term
        if not (term > _TOL * total).any():
            break
    return xp.exp(log_prefactor) * total


def _gammaincc_fraction(xp, a, x, log_prefactor):
    """``Q(a, x) = exp(a log x - x - lgamma(a)) / (x + 1 - a - 1 (1 - a) / (x + 3 - a - ...))``
    evaluated by the modified Lentz method."""
    tiny = 1e-300
    b = x + 1 - a
    c = xp.full_like(x, 1 / tiny)
    d = 1 / b
    h = d
    for i in range(1, _MAX_TERMS):
        an = -i * (i - a)
        b = b + 2
        d = an * d + b
        d = xp.where(xp.abs(d) < tiny, tiny, d)
        c = b + an / c
        c = xp.where(xp.abs(c) < tiny, tiny, c)
        d = 1 / d
        delta = d * c
        h = h * delta
        if not (xp.abs(delta - 1) > 1e-15).any():
            break
    return xp.exp(log_prefactor) * h


def _gammainc_arrays(a, x, device):
    """``P(a, x)`` elementwise for float64 arrays (``a > 0``; ``x <= 0`` gives 0)."""
    xp = device.xp
    a, x = xp.broadcast_arrays(a, x)
    out = xp.zeros(x.shape, dtype=np.float64)
    pos = x > 0
    out[x == np.inf] = 1.0
    series = pos & (x < a + 1)
    fraction = pos & (x >= a + 1) & (x < np.inf)
    with np.errstate(divide="ignore", over="ignore", under="ignore", invalid="ignore"):
        if series.any():
            aa, xx = a[series], x[series]
            log_pre = aa * xp.log(xx) - xx - _special("lgamma", aa + 1, device)
            out[series] = _gammainc_series(xp, aa, xx, log_pre)
        if fraction.any():
            aa, xx = a[fraction], x[fraction]
            log_pre = aa * xp.log(xx) - xx - _special("lgamma", aa, device)
            out[fraction] = 1 - _gammaincc_fraction(xp, aa, xx, log_pre)
    out[xp.isnan(a) | xp.isnan(x)] = np.nan
    return out


class _GammaInc(ember.autograd.Function):
    """The regularised lower incomplete gamma function ``P(a, x)``."""

    @staticmethod
    def forward(ctx, a, x):
        dev = x.device
        p = _gammainc_arrays(a._data.astype(np.float64), x._data.astype(np.float64), dev)
        ctx.save_for_backward(a, x)
        return _wrap(p.astype(x._data.dtype), dev)

    @staticmethod
    def backward(ctx, grad):
        a, x = ctx.saved_tensors
        xpos = x.clamp(min=float(finfo(x.dtype).tiny))
        pdf = ember.exp(ember.xlogy(a - 1, xpos) - xpos - ember.lgamma(a))
        pdf = ember.where(x > 0, pdf, 0.0)
        grad_a = None
        if ctx.needs_input_grad[0]:
            dev, xp = x.device, x.device.xp
            aa, xx = xp.broadcast_arrays(a._data.astype(np.float64),
                                         xpos._data.astype(np.float64))
            with np.errstate(over="ignore", invalid="ignore"):
                s = _dP_da_over_pdf(xp, xp.ascontiguousarray(aa), xp.ascontiguousarray(xx),
                                    dev).reshape(aa.shape)
            ds = ember.where(pdf > 0, _wrap(s.astype(x._data.dtype), dev), 0.0).detach()
            grad_a = grad * ds * pdf
        return grad_a, grad * pdf


def gammainc(a, x):
    r"""The regularised lower incomplete gamma function

    .. math:: P(a, x) = \frac{1}{\Gamma(a)} \int_0^x t^{a-1} e^{-t}\, dt,

    the CDF of Gamma(a, 1). Differentiable in ``x`` (to any order) and, to first order, in
    ``a``.

    Args:
        a: positive shapes (a tensor).
        x: points (a tensor broadcastable with ``a``).
    """
    a, x = ember.broadcast_tensors(a, x)
    return _GammaInc.apply(a, x)
