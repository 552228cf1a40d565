"""``ember.special``: special functions with ``torch.special``'s names and arguments.

Functions PyTorch defines elsewhere too (``erf``, ``digamma``, ``xlogy``, ...) are the same
ember ops; the rest are primitives defined here. Their forwards call SciPy's
``scipy.special`` on the CPU and CuPy's ``cupyx.scipy.special`` on CUDA (through
``ember.ops.arith.special_fn``), or plain ``xp`` ufuncs. Gradients exist where PyTorch has
them (``i0``, ``i0e``, ``i1``, ``i1e``, ``ndtr``, ``log_ndtr``, ``ndtri``, ``erfcx``, ``entr``,
``xlog1py``, ``zeta`` in its second argument); the Bessel functions of ``bessel_*``,
``modified_bessel_*``, ``scaled_modified_bessel_*``, ``spherical_bessel_j0``, ``airy_ai``
and the orthogonal polynomials are not differentiable, as in PyTorch.

Example:
    >>> import ember
    >>> ember.special.ndtr(ember.tensor([0.0, 1.0]))
    tensor([0.5000, 0.8413])
"""

import math

import numpy as np

from ember.ops._registry import primitive
from ember.ops.arith import (special_fn, special_function, float_operands, polygamma,
                             igamma as gammainc, igammac as gammaincc,
                             mvlgamma as multigammaln)
from ember.ops.elementwise import (_float_input, _out, _x, digamma, erf, erfc, erfinv, exp, exp2,
                                   expm1, log, log1p, lgamma as gammaln, round, sign, sinc,
                                   sigmoid as expit, where, xlogy, ones_like_)
from ember.ops.reduce import logsumexp

__all__ = ["airy_ai", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1",
           "chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v",
           "chebyshev_polynomial_w", "digamma", "entr", "erf", "erfc", "erfcx", "erfinv",
           "exp2", "expit", "expm1", "gammainc", "gammaincc", "gammaln",
           "hermite_polynomial_h", "hermite_polynomial_he", "i0", "i0e", "i1", "i1e",
           "laguerre_polynomial_l", "legendre_polynomial_p", "log1p", "log_ndtr",
           "log_softmax", "logit", "logsumexp", "modified_bessel_i0", "modified_bessel_i1",
           "modified_bessel_k0", "modified_bessel_k1", "multigammaln", "ndtr", "ndtri",
           "polygamma", "psi", "round", "scaled_modified_bessel_k0",
           "scaled_modified_bessel_k1", "shifted_chebyshev_polynomial_t",
           "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
           "shifted_chebyshev_polynomial_w", "sinc", "softmax", "spherical_bessel_j0",
           "xlog1py", "xlogy", "zeta"]

psi = digamma
_SQRT_2PI = math.sqrt(2 * math.pi)
_SQRT_PI = math.sqrt(math.pi)


def _real_input(input, op):
    x = _float_input(input, op)
    if x._data.dtype.kind == "c":
        raise NotImplementedError(f"special.{op}: complex tensors are not supported (got "
                                  f"{x.dtype}); use a real floating dtype")
    return x


def _unary(name, forward, vjp=None, *, save="all", save_output=False, doc=""):
    """A unary special function: a primitive ``special_<name>`` and its public function."""
    prim = primitive("special_" + name, save=save, save_output=save_output,
                     differentiable=vjp is not None)(forward)
    if vjp is not None:
        prim.defvjp(vjp)

    def op(input, *, out=None):
        return _out(prim(_real_input(input, name)), out)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    op.prim = prim
    return op


def _sp(name, fname):
    """The forward ``special.fname(x)`` (SciPy on NumPy arrays, cupyx on CuPy arrays)."""
    return lambda xp, x: special_fn(xp, "special." + name, fname, x)


def _over_x(f, x, at_zero):
    """``f(x) / x`` with the value ``at_zero`` where ``x == 0`` (kept differentiable)."""
    zero = x == 0
    safe = where(zero, ones_like_(x), x)
    return where(zero, ones_like_(x) * at_zero, f / safe)


# -- modified Bessel functions of the first kind (differentiable) ---------------------------
def _i0_vjp(ctx, g):
    return g * i1(_x(ctx))


def _i1_vjp(ctx, g):
    x = _x(ctx)
    return g * (i0(x) - _over_x(ctx.out, x, 0.5))


def _i0e_vjp(ctx, g):
    x = _x(ctx)
    return g * (i1e(x) - sign(x) * ctx.out)


def _i1e_vjp(ctx, g):
    x = _x(ctx)
    return g * (i0e(x) - _over_x(ctx.out, x, 0.5) - sign(x) * ctx.out)


i0 = _unary("i0", _sp("i0", "i0"), _i0_vjp, doc="""The modified Bessel function of the first
    kind of order 0, ``I_0(x) = sum_k (x^2 / 4)^k / (k!)^2``.

    Example:
        >>> import ember
        >>> ember.special.i0(ember.tensor([0.0, 1.0, 2.0]))
        tensor([1.0000, 1.2661, 2.2796])
    """)
i1 = _unary("i1", _sp("i1", "i1"), _i1_vjp, save_output=True, doc="""The modified Bessel
    function of the first kind of order 1.

    Example:
        >>> import ember
        >>> ember.special.i1(ember.tensor([0.0, 1.0, 2.0]))
        tensor([0.0000, 0.5652, 1.5906])
    """)
i0e = _unary("i0e", _sp("i0e", "i0e"), _i0e_vjp, save_output=True, doc="""The exponentially
    scaled modified Bessel function of order 0, ``exp(-|x|) * i0(x)``.

    Example:
        >>> import ember
        >>> ember.special.i0e(ember.tensor([0.0, 1.0, 2.0]))
        tensor([1.0000, 0.4658, 0.3085])
    """)
i1e = _unary("i1e", _sp("i1e", "i1e"), _i1e_vjp, save_output=True, doc="""The exponentially
    scaled modified Bessel function of order 1, ``exp(-|x|) * i1(x)``.

    Example:
        >>> import ember
        >>> ember.special.i1e(ember.tensor([0.0, 1.0, 2.0]))
        tensor([0.0000, 0.2079, 0.2153])
    """)


# -- the normal distribution and error functions (differentiable) ---------------------------
ndtr = _unary("ndtr", _sp("ndtr", "ndtr"),
              lambda ctx, g: g * exp(-_x(ctx) ** 2 / 2) / _SQRT_2PI, doc="""The standard
    normal cumulative distribution function, ``(1 + erf(x / sqrt(2))) / 2``.

    Example:
        >>> import ember
        >>> ember.special.ndtr(ember.tensor([-1.0, 0.0, 1.0]))
        tensor([0.1587, 0.5000, 0.8413])
    """)
log_ndtr = _unary("log_ndtr", _sp("log_ndtr", "log_ndtr"),
                  lambda ctx, g: g * exp(-_x(ctx) ** 2 / 2 - ctx.out) / _SQRT_2PI,
                  save_output=True, doc="""``log(ndtr(x))``, accurate far into the left tail.

    Example:
        >>> import ember
        >>> ember.special.log_ndtr(ember.tensor([-10.0, 0.0]))
        tensor([-53.2313,  -0.6931])
    """)
ndtri = _unary("ndtri", _sp("ndtri", "ndtri"),
               lambda ctx, g: g * _SQRT_2PI * exp(ctx.out ** 2 / 2), save="none",
               save_output=True, doc="""The inverse of :func:`ndtr`: the ``x`` with
    ``ndtr(x) = p`` for ``p`` in ``[0, 1]``.

    Example:
        >>> import ember
        >>> ember.special.ndtri(ember.tensor([0.5, 0.975]))
        tensor([0.0000, 1.9600])
    """)
erfcx = _unary("erfcx", _sp("erfcx", "erfcx"),
               lambda ctx, g: g * (2 * _x(ctx) * ctx.out - 2 / _SQRT_PI), save_output=True,
               doc="""The scaled complementary error function ``exp(x^2) * erfc(x)``.

    Example:
        >>> import ember
        >>> ember.special.erfcx(ember.tensor([0.0, 10.0]))
        tensor([1.0000, 0.0561])
    """)


def _entr_fwd(xp, x):
    pos = x > 0
    val = -x * xp.log(xp.where(pos, x, 1))
    out = xp.where(pos, val, xp.where(x == 0, 0.0, -xp.inf))
    return xp.where(xp.isnan(x), x, out).astype(x.dtype, copy=False)


entr = _unary("entr", _entr_fwd, lambda ctx, g: -g * (1 + log(_x(ctx))), doc="""Elementwise
    entropy: ``-x log(x)`` for ``x > 0``, 0 at 0 and ``-inf`` for ``x < 0``.

    Example:
        >>> import ember
        >>> ember.special.entr(ember.tensor([-1.0, 0.0, 0.5]))
        tensor([  -inf, 0.0000, 0.3466])
    """)


# -- Bessel and Airy functions (not differentiable, as in PyTorch) --------------------------
def _bessel(name, fname, math_doc, example, values):
    return _unary(name, _sp(name, fname), doc=f"""{math_doc} (not differentiable).

    Example:
        >>> import ember
        >>> ember.special.{name}(ember.tensor({example}))
        {values}
    """)


bessel_j0 = _bessel("bessel_j0", "j0", "The Bessel function of the first kind of order 0",
                    "[0.0, 1.0]", "tensor([1.0000, 0.7652])")
bessel_j1 = _bessel("bessel_j1", "j1", "The Bessel function of the first kind of order 1",
                    "[0.0, 1.0]", "tensor([0.0000, 0.4401])")
bessel_y0 = _bessel("bessel_y0", "y0", "The Bessel function of the second kind of order 0",
                    "[1.0, 2.0]", "tensor([0.0883, 0.5104])")
bessel_y1 = _bessel("bessel_y1", "y1", "The Bessel function of the second kind of order 1",
                    "[1.0, 2.0]", "tensor([-0.7812, -0.1070])")
modified_bessel_i0 = _bessel("modified_bessel_i0", "i0", "The modified Bessel function of "
                             "the first kind of order 0", "[0.0, 1.0]",
                             "tensor([1.0000, 1.2661])")
modified_bessel_i1 = _bessel("modified_bessel_i1", "i1", "The modified Bessel function of "
                             "the first kind of order 1", "[0.0, 1.0]",
                             "tensor([0.0000, 0.5652])")
modified_bessel_k0 = _bessel("modified_bessel_k0", "k0", "The modified Bessel function of "
                             "the second kind of order 0", "[1.0, 2.0]",
                             "tensor([0.4210, 0.1139])")
modified_bessel_k1 = _bessel("modified_bessel_k1", "k1", "The modified Bessel function of "
                             "the second kind of order 1", "[1.0, 2.0]",
                             "tensor([0.6019, 0.1399])")
scaled_modified_bessel_k0 = _bessel("scaled_modified_bessel_k0", "k0e",
                                    "``exp(x) * modified_bessel_k0(x)``", "[1.0, 2.0]",
                                    "tensor([1.1445, 0.8416])")
scaled_modified_bessel_k1 = _bessel("scaled_modified_bessel_k1", "k1e",
                                    "``exp(x) * modified_bessel_k1(x)``", "[1.0, 2.0]",
                                    "tensor([1.6362, 1.0335])")


def _spherical_j0_fwd(xp, x):
    safe = xp.where(x == 0, 1, x)
    return xp.where(x == 0, 1, xp.sin(safe) / safe).astype(x.dtype, copy=False)


spherical_bessel_j0 = _unary("spherical_bessel_j0", _spherical_j0_fwd, doc="""The spherical
    Bessel function of the first kind of order 0, ``sin(x) / x`` (1 at 0; not
    differentiable).

    Example:
        >>> import ember
        >>> ember.special.spherical_bessel_j0(ember.tensor([0.0, 1.0]))
        tensor([1.0000, 0.8415])
    """)


def _airy_fwd(xp, x):
    # cupyx.scipy.special has no airy: on CUDA it is computed on the host and copied back
    host = x if xp is np else xp.asnumpy(x)
    ai = special_function(np, "special.airy_ai", "airy")(host.astype(np.float64))[0]
    return xp.asarray(ai.astype(x.dtype))


airy_ai = _unary("airy_ai", _airy_fwd, doc="""The Airy function ``Ai(x)``, a solution of
    ``y'' = x y`` (not differentiable; on CUDA computed on the host).

    Example:
        >>> import ember
        >>> ember.special.airy_ai(ember.tensor([0.0, 1.0]))
        tensor([0.3550, 0.1353])
    """)


# -- binary functions --------------------------------------------------------------------
@primitive("special_xlog1py")
def _xlog1py(xp, x, y):
    return special_fn(xp, "special.xlog1py", "xlog1py", x, y)


@_xlog1py.defvjp
def _(ctx, g):
    x, y = ctx.inputs
    gx = gy = None
    if ctx._next[0] is not None:
        gx = where((x == 0) & (y <= -1), g * 0, g * log1p(y))
    if ctx._next[1] is not None:
        gy = g * x / (1 + y)
    return gx, gy


def xlog1py(input, other, *, out=None):
    """``input * log1p(other)``, 0 where ``input == 0`` (even where ``log1p`` is infinite);
    either argument may be a number.

    Example:
        >>> import ember
        >>> ember.special.xlog1py(ember.tensor([0.0, 2.0]), ember.tensor([-1.0, 1.0]))
        tensor([0.0000, 1.3863])
    """
    return _out(_xlog1py(*float_operands("special.xlog1py", input, other)), out)


@primitive("special_zeta")
def _zeta(xp, x, q):
    return special_fn(xp, "special.zeta", "zeta", x, q)


@_zeta.defvjp
def _(ctx, g):
    if ctx._next[0] is not None:
        raise NotImplementedError("the derivative for 'zeta' is not implemented.")
    x, q = ctx.inputs
    return None, -g * x * _zeta(x + 1, q)


def zeta(input, other, *, out=None):
    """The Hurwitz zeta function ``sum_{k>=0} 1 / (k + q)^x`` with ``x = input`` and
    ``q = other``; differentiable in ``other`` only (as in PyTorch).

    Example:
        >>> import ember
        >>> ember.special.zeta(ember.tensor([2.0, 4.0]), 1.0)
        tensor([1.6449, 1.0823])
    """
    return _out(_zeta(*float_operands("special.zeta", input, other)), out)


# -- orthogonal polynomials (not differentiable, as in PyTorch) ------------------------------
def _poly_forward(first, step, shift=False):
    """``p_n(x)`` by the three-term recurrence ``p_{k+1} = step(x, p_k, p_{k-1}, k)`` from
    ``p_0 = 1`` and ``p_1 = first(x)``; ``n`` is truncated to an integer, and ``p_n = 0``
    for ``n < 0``."""
    def forward(xp, x, n):
        x, n = xp.broadcast_arrays(x, xp.trunc(n))
        if shift:
            x = 2 * x - 1
        out = xp.where(n == 0, 1, 0).astype(x.dtype)
        top = int(n.max()) if n.size else 0
        prev, cur = xp.ones_like(x), first(x)
        for k in range(1, top + 1):
            out = xp.where(n == k, cur, out)
            prev, cur = cur, step(x, cur, prev, k)
        return out.astype(x.dtype, copy=False)
    return forward


_CHEBYSHEV = {"t": lambda x: x, "u": lambda x: 2 * x, "v": lambda x: 2 * x - 1,
              "w": lambda x: 2 * x + 1}
_POLY_DOCS = {"t": "first kind", "u": "second kind", "v": "third kind", "w": "fourth kind"}


def _polynomial(name, forward, doc):
    prim = primitive("special_" + name, differentiable=False)(forward)

    def op(input, n, *, out=None):
        return _out(prim(*float_operands("special." + name, input, n)), out)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return op


def _chebyshev_step(x, cur, prev, k):
    return 2 * x * cur - prev


def _chebyshev(kind, shift):
    name = ("shifted_" if shift else "") + "chebyshev_polynomial_" + kind
    arg, x = ("2x - 1", 0.75) if shift else ("x", 0.5)
    return _polynomial(name, _poly_forward(_CHEBYSHEV[kind], _chebyshev_step, shift), f"""The
    Chebyshev polynomial of the {_POLY_DOCS[kind]} of degree ``n`` at ``{arg}`` (``n`` a
    number or a tensor, truncated to an integer; 0 for ``n < 0``; not differentiable).

    Example:
        >>> import ember
        >>> ember.special.{name}(ember.tensor([{x}]), 3)
        tensor([-1.])
    """)


chebyshev_polynomial_t = _chebyshev("t", False)
chebyshev_polynomial_u = _chebyshev("u", False)
chebyshev_polynomial_v = _chebyshev("v", False)
chebyshev_polynomial_w = _chebyshev("w", False)
shifted_chebyshev_polynomial_t = _chebyshev("t", True)
shifted_chebyshev_polynomial_u = _chebyshev("u", True)
shifted_chebyshev_polynomial_v = _chebyshev("v", True)
shifted_chebyshev_polynomial_w = _chebyshev("w", True)

hermite_polynomial_h = _polynomial("hermite_polynomial_h", _poly_forward(
    lambda x: 2 * x, lambda x, cur, prev, k: 2 * x * cur - 2 * k * prev), """The physicists'
    Hermite polynomial ``H_n(x)`` (not differentiable).

    Example:
        >>> import ember
        >>> ember.special.hermite_polynomial_h(ember.tensor([0.5, 1.0]), 3)
        tensor([-5., -4.])
    """)
hermite_polynomial_he = _polynomial("hermite_polynomial_he", _poly_forward(
    lambda x: x, lambda x, cur, prev, k: x * cur - k * prev), """The probabilists' Hermite
    polynomial ``He_n(x)`` (not differentiable).

    Example:
        >>> import ember
        >>> ember.special.hermite_polynomial_he(ember.tensor([0.5, 2.0]), 3)
        tensor([-1.3750,  2.0000])
    """)
laguerre_polynomial_l = _polynomial("laguerre_polynomial_l", _poly_forward(
    lambda x: 1 - x, lambda x, cur, prev, k: ((2 * k + 1 - x) * cur - k * prev) / (k + 1)),
    """The Laguerre polynomial ``L_n(x)`` (not differentiable).

    Example:
        >>> import ember
        >>> ember.special.laguerre_polynomial_l(ember.tensor([0.0, 1.0]), 2)
        tensor([ 1.0000, -0.5000])
    """)
legendre_polynomial_p = _polynomial("legendre_polynomial_p", _poly_forward(
    lambda x: x, lambda x, cur, prev, k: ((2 * k + 1) * x * cur - k * prev) / (k + 1)),
    """The Legendre polynomial ``P_n(x)`` (not differentiable).

    Example:
        >>> import ember
        >>> ember.special.legendre_polynomial_p(ember.tensor([0.5, 1.0]), 2)
        tensor([-0.1250,  1.0000])
    """)


# -- the rest of torch.special: ember ops under their torch.special names --------------------
def logit(input, eps=None, *, out=None):
    """``log(p / (1 - p))``, with ``p`` clamped to ``[eps, 1 - eps]`` when ``eps`` is given.

    Example:
        >>> import ember
        >>> ember.special.logit(ember.tensor([0.5, 0.75]))
        tensor([0.0000, 1.0986])
    """
    from ember.ops.elementwise import logit as _logit
    return _out(_logit(input, eps), out)


def softmax(input, dim, *, dtype=None):
    """``exp(x) / sum(exp(x))`` along ``dim`` (computed in ``dtype`` when given).

    Example:
        >>> import ember
        >>> ember.special.softmax(ember.tensor([0.0, 0.0]), 0)
        tensor([0.5000, 0.5000])
    """
    from ember.nn import functional as F
    return F.softmax(input, dim, dtype=dtype)


def log_softmax(input, dim, *, dtype=None):
    """``log(softmax(x))`` along ``dim``, computed stably.

    Example:
        >>> import ember
        >>> ember.special.log_softmax(ember.tensor([0.0, 0.0]), 0)
        tensor([-0.6931, -0.6931])
    """
    from ember.nn import functional as F
    return F.log_softmax(input, dim, dtype=dtype)

