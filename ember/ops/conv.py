"""Convolution primitives: N-d convolution, its two adjoints, and im2col / col2im.

Three primitives close under differentiation, so gradients of gradients work:

- ``conv_nd(x, w, b)``: ``y = conv(x, w) + b``.
- ``conv_transpose_nd(y, w, b)``: the adjoint of ``x -> conv(x, w)`` (plus ``b``); it is
  the input gradient of ``conv_nd`` and the forward of ``ConvTranspose``.
- ``conv_wgrad(x, g)``: the adjoint of ``w -> conv(x, w)``; the weight gradient.

For ``<g, conv(x, w)>`` bilinear in ``(x, w)``, each rule is one of the other two::

    conv_nd:           dx = conv_transpose_nd(g, w)      dw = conv_wgrad(x, g)
    conv_transpose_nd: dy = conv_nd(g, w)                dw = conv_wgrad(g, y)
    conv_wgrad:        dx = conv_transpose_nd(g_in, gw)  dg_in = conv_nd(x, gw)

``im2col`` (``F.unfold``) and ``col2im`` (``F.fold``) are each other's adjoints.

The array kernels (chunked im2col and matmul on a thread pool, a copy-free path for
stride 1) are in :mod:`ember.ops._conv_kernels`.
"""

from ember.ops._registry import primitive
from ember.ops.reduce import sum as _sum
from ember.ops import _conv_kernels as K

__all__ = ["conv_nd", "conv_transpose_nd", "conv_wgrad", "im2col", "col2im", "conv_out_size"]

conv_out_size = K.out_size


def _bias_grad(g):
    return _sum(g, dim=[0] + list(range(2, g.ndim)))


@primitive("conv_nd")
def conv_nd(xp, x, w, b, *, stride, padding, dilation, groups):
    """``y[n, o, p] = b[o] + sum_{c, k} w[o, c, k] * xpad[n, G(o) + c, s*p + d*k]``.

    Args (arrays): x ``(N, C, *S)``, w ``(O, C/groups, *k)``, b ``(O,)`` or None.
    Params: stride, dilation: tuples; padding: ``((lo, hi), ...)`` per spatial dim.
    Returns ``(N, O, *out)`` with ``out = (S + lo + hi - d*(k-1) - 1) // s + 1``.
    """
    return K.conv(xp, x, w, b, stride, padding, dilation, groups)


@conv_nd.defvjp
def _(ctx, g):
    x, w, b = ctx.inputs
    p = ctx.params
    gx = gw = gb = None
    if ctx._next[0] is not None:
        gx = conv_transpose_nd(g, w, None, in_size=tuple(x.shape[2:]), **p)
    if ctx._next[1] is not None:
        gw = conv_wgrad(x, g, ksize=tuple(w.shape[2:]), **p)
    if b is not None and ctx._next[2] is not None:
        gb = _bias_grad(g)
    return gx, gw, gb


@primitive("conv_transpose_nd")
def conv_transpose_nd(xp, y, w, b, *, stride, padding, dilation, groups, in_size):
    """The adjoint of ``x -> conv_nd(x, w)``: ``(N, O, *out) -> (N, C, *in_size)``, plus b.

    Each ``y[n, o, p]`` spreads ``y * w[o, c, k]`` to input position ``s*p + d*k - lo``
    (positions that fall in the padding are dropped).
    """
    return K.conv_transpose(xp, y, w, b, stride, padding, dilation, groups, in_size)


@conv_transpose_nd.defvjp
def _(ctx, g):
    y, w, b = ctx.inputs
    p = {k: v for k, v in ctx.params.items() if k != "in_size"}
    gy = gw = gb = None
    if ctx._next[0] is not None:
        gy = conv_nd(g, w, None, **p)
        if tuple(gy.shape[2:]) != tuple(y.shape[2:]):  # output_padding: rows y never reached
            gy = gy[(slice(None), slice(None)) + tuple(slice(0, s) for s in y.shape[2:])]
    if ctx._next[1] is not None:
        gw = conv_wgrad(g, y, ksize=tuple(w.shape[2:]), **p)
    if b is not None and ctx._next[2] is not None:
        gb = _bias_grad(g)
    return gy, gw, gb


@primitive("conv_wgrad")
def conv_wgrad(xp, x, g, *, stride, padding, dilation, groups, ksize):
    """The adjoint of ``w -> conv_nd(x, w)``: ``dw[o, c, k] = sum_{n, p} g[n, o, p] *
    xpad[n, c, s*p + d*k]``, shape ``(O, C/groups, *ksize)``."""
    return K.conv_wgrad(xp, x, g, stride, padding, dilation, groups, ksize)


@conv_wgrad.defvjp
def _(ctx, gw):
    x, g = ctx.inputs
    p = {k: v for k, v in ctx.params.items() if k != "ksize"}
    gx = gg = None
    if ctx._next[0] is not None:
        gx = conv_transpose_nd(g, gw, None, in_size=tuple(x.shape[2:]), **p)
    if ctx._next[1] is not None:
        gg = conv_nd(x, gw, None, **p)
        if tuple(gg.shape[2:]) != tuple(g.shape[2:]):
            gg = gg[(slice(None), slice(None)) + tuple(slice(0, s) for s in g.shape[2:])]
    return gx, gg


@primitive("im2col", save="none")
def im2col(xp, x, *, ksize, stride, padding, dilation):
    """Sliding blocks: ``(N, C, *S) -> (N, C*prod(k), L)`` (``F.unfold``)."""
    return K.im2col(xp, x, ksize, stride, padding, dilation)


@im2col.defvjp
def _(ctx, g):
    return col2im(g, in_size=tuple(ctx._metas[0][0][2:]), **ctx.params)


@primitive("col2im", save="none")
def col2im(xp, cols, *, in_size, ksize, stride, padding, dilation):
    """Sum sliding blocks back: ``(N, C*prod(k), L) -> (N, C, *in_size)`` (``F.fold``)."""
    return K.col2im(xp, cols, in_size, ksize, stride, padding, dilation)


@col2im.defvjp
def _(ctx, g):
    p = {k: v for k, v in ctx.params.items() if k != "in_size"}
    return im2col(g, **p)
