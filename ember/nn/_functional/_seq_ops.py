"""Private primitives shared by the loss, recurrent and attention code.

These are small building blocks that the public op families do not offer in the form
these layers need: gathering one entry per row along a class dim and its adjoint
(scattering it back), a log-sum-exp on arrays, a stable log-sigmoid, and stacking many
tensors (or splitting rows) in one graph node. Each primitive has its gradient rule right
below it, written in ember ops so gradients of gradients work.
"""

from ember._tensor import _wrap
from ember.autograd.grad_mode import STATE
from ember.ops._registry import primitive
from ember.ops.elementwise import sigmoid
from ember.ops.views import _getitem_view

__all__ = []


def recording():
    """True while autograd records ops (a gradient rule is being differentiated again)."""
    return STATE.enabled


def const(arr, like):
    """A tensor around array ``arr`` on ``like``'s device (needs no gradient)."""
    return _wrap(arr, like._device)


# -- pick / place: one entry per row along a dim, and its adjoint ----------------------------------
def _put_along(xp, z, idx, vals, dim):
    if hasattr(xp, "put_along_axis"):
        xp.put_along_axis(z, idx, vals, axis=dim)
        return z
    grid = list(xp.ogrid[tuple(slice(s) for s in idx.shape)])  # CuPy lacks put_along_axis
    grid[dim] = idx
    z[tuple(grid)] = vals
    return z


@primitive("seq_pick", save=(1,))
def _pick(xp, x, index, dim):
    return xp.take_along_axis(x, xp.expand_dims(index, dim), axis=dim).squeeze(dim)


@_pick.defvjp
def _(ctx, g):
    return place(g, ctx.inputs[1], ctx.params["dim"], ctx._metas[0][0]), None


@primitive("seq_place", save=(1,))
def _place(xp, g, index, dim, shape):
    z = xp.zeros(shape, dtype=g.dtype)
    return _put_along(xp, z, xp.expand_dims(index, dim), xp.expand_dims(g, dim), dim)


@_place.defvjp
def _(ctx, g):
    return pick(g, ctx.inputs[1], ctx.params["dim"]), None


def pick(x, index, dim):
    """``x`` gathered at ``index`` along ``dim`` (one entry per position of the other dims).

    ``index`` is an integer tensor with ``x``'s shape minus ``dim``; the result has that
    shape. Differentiable in ``x``; the adjoint is :func:`place`.
    """
    return _pick(x, index, dim=dim)


def place(g, index, dim, shape):
    """Zeros of ``shape`` with ``g`` written at ``index`` along ``dim`` (adjoint of pick)."""
    return _place(g, index, dim=dim, shape=tuple(shape))


# -- log-sum-exp (arrays) and log-sigmoid ----------------------------------------------------------
def lse_array(xp, x, dim):
    """``log(sum(exp(x), dim, keepdims=True))`` on arrays, safe for +-inf rows."""
    m = xp.max(x, axis=dim, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0).astype(x.dtype, copy=False)
    e = x - m
    s = xp.sum(xp.exp(e, out=e), axis=dim, keepdims=True)
    return (xp.log(s) + m).astype(x.dtype, copy=False)


@primitive("seq_log_sigmoid")
def _log_sigmoid(xp, x):
    # log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)): no overflow for any x
    return (xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))).astype(x.dtype, copy=False)


@_log_sigmoid.defvjp
def _(ctx, g):
    return g * sigmoid(-ctx.inputs[0])


def log_sigmoid(x):
    """``log(1 / (1 + exp(-x)))``, stable for large ``|x|``; gradient ``sigmoid(-x)``."""
    return _log_sigmoid(x)


# -- stack along dim 0 in one node -----------------------------------------------------------------
@primitive("seq_stack", save="none")
def _stack0(xp, *xs):
    return xp.stack(xs, 0)


@_stack0.defvjp
def _(ctx, g):
    return tuple(_getitem_view(g, key=(i,)) if e is not None else None
                 for i, e in enumerate(ctx._next))


def stack0(tensors):
    """``stack(tensors, 0)`` as one graph node (the RNN loop collects many steps)."""
    return _stack0(*tensors)


# -- split rows into many outputs in one node ------------------------------------------------------
def _split_fwd(xp, x, sizes):
    out, start = [], 0
    for s in sizes:
        out.append(x[start:start + s])
        start += s
    return tuple(out)


def split_rows(x, sizes):
    """``x`` split along dim 0 into pieces of ``sizes`` rows, as one graph node.

    Slicing a (T*B, G) projection step by step with ``x[a:b]`` would give each step its own
    node whose gradient is a zero-filled (T*B, G) array; this node's gradient is one ``cat``.
    """
    sizes = tuple(int(s) for s in sizes)
    if len(sizes) == 1:
        return (x,)
    prim = _SPLITS.get(len(sizes))
    if prim is None:
        # n_out is fixed per primitive: one per piece count (the sequence lengths seen)
        prim = _SPLITS[len(sizes)] = primitive(f"seq_split_rows_{len(sizes)}", save="none",
                                               n_out=len(sizes))(_split_fwd)
        prim.defvjp(_split_vjp)
    return prim(x, sizes=sizes)


_SPLITS = {}


def _split_vjp(ctx, grads):
    from ember.ops.shape import cat
    return (cat(list(grads), 0),)
