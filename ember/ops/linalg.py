"""Matrix products and contractions: matmul (BLAS through ``xp.matmul``), mm, bmm, dot,
the ``add*`` fused forms, einsum, tensordot, kron, cross, multi_dot and matrix_power.

``matmul`` and ``einsum`` are the primitives; everything else is written with them (and
views), so gradients of any order come for free. Decompositions and solvers live
in ``linalg_decomp.py`` and ``linalg_solve.py``, norms in ``linalg_norms.py``.
"""

import functools
from math import prod

import numpy as np

from ember._tensor import Tensor, _wrap
from ember.autograd.grad_mode import STATE
from ember.ops._registry import primitive
from ember.ops._util import promote, wrap_dim
from ember.ops.views import unsqueeze, squeeze, reshape, expand, permute, getitem
from ember.ops._linalg_util import check_square, eye_like, mT
from ember.ops import elementwise as E
from ember.ops.reduce import sum as _sum
from ember.ops.shape import stack

__all__ = ["matmul", "mm", "bmm", "mv", "dot", "vdot", "inner", "outer", "ger", "addmm",
           "addmv", "addbmm", "baddbmm", "addr", "einsum", "tensordot", "kron", "cross",
           "chain_matmul", "matrix_power"]


def _shape_err(x, y):
    return RuntimeError(f"matmul: cannot multiply {tuple(x.shape)} by {tuple(y.shape)}: inner "
                        f"sizes {x.shape[-1]} and {y.shape[-2] if y.ndim > 1 else y.shape[0]} "
                        f"differ")


@primitive("matmul")
def _matmul(xp, x, y):
    out = xp.matmul(x, y)
    # NumPy's matmul loop for ml_dtypes' bfloat16 returns float32; keep PyTorch's dtype
    return out if out.dtype != np.float32 or x.dtype == out.dtype else out.astype(x.dtype)


@_matmul.defvjp
def _(ctx, g):
    x, y = ctx.inputs
    if not STATE.enabled:  # a plain backward: two GEMMs on the arrays, no graph
        return _matmul_grads_arrays(ctx, g, x, y)
    gx = gy = None
    if ctx._next[0] is not None:
        gx = _matmul(g, mT(y).conj() if y._data.dtype.kind == "c" else mT(y))
    if ctx._next[1] is not None:
        gy = _matmul(mT(x).conj() if x._data.dtype.kind == "c" else mT(x), g)
    return gx, gy


def _matmul_grads_arrays(ctx, g, x, y):
    xp, gd = g._device.xp, g._data
    xd, yd = x._data, y._data
    if xd.dtype.kind == "c":
        xd, yd = xd.conj(), yd.conj()
    gx = _wrap(xp.matmul(gd, xp.swapaxes(yd, -1, -2)), g._device) \
        if ctx._next[0] is not None else None
    gy = _wrap(xp.matmul(xp.swapaxes(xd, -1, -2), gd), g._device) \
        if ctx._next[1] is not None else None
    return gx, gy


def matmul(input, other, *, out=None):
    """Matrix product with NumPy's broadcasting rules (1-d operands are promoted/squeezed)."""
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):
        raise TypeError("matmul(): arguments must be Tensors")
    if out is not None:
        return E._out(matmul(input, other), out)
    x, y = input, other
    if x._data.ndim == 0 or y._data.ndim == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are "
                           f"{x._data.ndim}D and {y._data.ndim}D")
    kx = x._data.shape[-1]
    ky = y._data.shape[-2] if y._data.ndim > 1 else y._data.shape[0]
    if kx != ky:
        raise _shape_err(x, y)
    if x._data.dtype != y._data.dtype:
        x, y = promote("matmul", x, y)
    if x._data.ndim == 1 and y._data.ndim == 1:
        return squeeze(_matmul(unsqueeze(x, 0), unsqueeze(y, 1)), (0, 1))
    if x._data.ndim == 1:
        return squeeze(_matmul(unsqueeze(x, 0), y), -2)
    if y._data.ndim == 1:
        return squeeze(_matmul(x, unsqueeze(y, 1)), -1)
    try:
        return _matmul(x, y)
    except (ValueError, RuntimeError):
        _check_batch("matmul", x, y)  # the only failure left: batch dims that don't broadcast
        raise


def _check_batch(op, x, y):
    """PyTorch's error for two stacks of matrices whose batch dims don't broadcast."""
    try:
        np.broadcast_shapes(x._data.shape[:-2], y._data.shape[:-2])
    except ValueError:
        raise RuntimeError(f"{op}: shapes {tuple(x._data.shape)} and {tuple(y._data.shape)} "
                           f"cannot be broadcast in their batch dims "
                           f"{tuple(x._data.shape[:-2])} and {tuple(y._data.shape[:-2])}") \
            from None


def _need_tensor(x, op, name="input"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument '{name}' must be Tensor, not {type(x).__name__}")


def _need_ndim(x, nd, op, name):
    _need_tensor(x, op, name)
    if x._data.ndim != nd:
        kind = {1: "a vector", 2: "a matrix", 3: "a 3D tensor"}[nd]
        raise RuntimeError(f"{op}: {name} must be {kind}, but got a {x._data.ndim}D tensor of "
                           f"shape {tuple(x._data.shape)}")


def _dims_str(shape):
    return "x".join(str(s) for s in shape)


# -- matrix and vector products ----------------------------------------------------------------
def mm(input, mat2, *, out=None):
    """Product of two matrices: ``(n, m) @ (m, p) -> (n, p)``.

    Example:
        >>> ember.mm(ember.ones(2, 3), ember.ones(3, 4)).shape
        ember.Size([2, 4])
    """
    _need_ndim(input, 2, "mm", "self")
    _need_ndim(mat2, 2, "mm", "mat2")
    if input._data.shape[1] != mat2._data.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                           f"({_dims_str(input._data.shape)} and {_dims_str(mat2._data.shape)})")
    return E._out(_matmul(*promote("mm", input, mat2)), out)


def bmm(input, mat2, *, out=None):
    """Batched product of two stacks of matrices: ``(b, n, m) @ (b, m, p) -> (b, n, p)``."""
    _check_bmm("bmm", input, mat2)
    return E._out(_matmul(*promote("bmm", input, mat2)), out)


def _check_bmm(op, x, y):
    _need_ndim(x, 3, op, "batch1")
    _need_ndim(y, 3, op, "batch2")
    b, _, m = x._data.shape
    if y._data.shape[:2] != (b, m):
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{b}, {m}] but got: {list(y._data.shape[:2])}.")


def mv(input, vec, *, out=None):
    """Matrix-vector product: ``(n, m) @ (m,) -> (n,)``."""
    _need_ndim(input, 2, "mv", "input")
    _need_ndim(vec, 1, "mv", "vec")
    if input._data.shape[1] != vec._data.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({input._data.shape[0]}), mat "
                           f"({_dims_str(input._data.shape)}), vec ({vec._data.shape[0]})")
    return E._out(matmul(input, vec), out)


def _check_vectors(op, x, y):
    _need_tensor(x, op)
    _need_tensor(y, op, "other")
    if x._data.ndim != 1 or y._data.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {x._data.ndim}D and {y._data.ndim}D "
                           f"tensors")
    if x._data.shape[0] != y._data.shape[0]:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{x._data.shape[0]}] and "
                           f"src [{y._data.shape[0]}] to have the same number of elements, but "
                           f"got {x._data.shape[0]} and {y._data.shape[0]} elements respectively")


def dot(input, other, *, out=None):
    """Dot product of two 1-D tensors of the same length (no conjugation)."""
    _check_vectors("dot", input, other)
    return E._out(matmul(input, other), out)


def vdot(input, other, *, out=None):
    """Dot product that conjugates its first argument: ``sum(conj(input) * other)``."""
    _check_vectors("vdot", input, other)
    return E._out(matmul(E.conj(input), other), out)


def inner(input, other, *, out=None):
    """Sum of products over the last dims: ``shape[:-1] + other.shape[:-1]`` (scalars scale)."""
    _need_tensor(input, "inner")
    _need_tensor(other, "inner", "other")
    if input._data.ndim == 0 or other._data.ndim == 0:
        return E._out(E.mul(input, other), out)
    if input._data.shape[-1] != other._data.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but "
                           f"got shapes {list(input._data.shape)} and {list(other._data.shape)}")
    return E._out(tensordot(input, other, ([-1], [-1])), out)


def outer(input, vec2, *, out=None):
    """Outer product of two vectors: ``(n,), (m,) -> (n, m)``."""
    for name, v in (("self", input), ("vec2", vec2)):
        _need_tensor(v, "outer", name)
        if v._data.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {v._data.ndim}-D")
    return E._out(E.mul(unsqueeze(input, 1), vec2), out)


ger = outer


# -- fused multiply-adds: beta * input + alpha * (product) ---------------------------------------
def _scale_add(op, input, prod, beta, alpha, out):
    _need_tensor(input, op)
    a, b = input._data.shape, prod._data.shape
    if len(a) > len(b) or any(i not in (1, j) for i, j in zip(a[::-1], b[::-1])):
        raise RuntimeError(f"{op}: the input of shape {tuple(a)} cannot be broadcast to the "
                           f"product's shape {tuple(b)}")
    res = prod if alpha == 1 else E.mul(prod, alpha)
    if beta != 0:
        res = E.add(input if beta == 1 else E.mul(input, beta), res)
    elif input._requires_grad:  # input's values (NaNs too) are ignored; its gradient is 0
        res = E.where(_wrap(input._device.xp.zeros((), dtype=bool), input._device), input, res)
    return E._out(res, out)


def addmm(input, mat1, mat2, *, beta=1, alpha=1, out=None):
    """``beta * input + alpha * (mat1 @ mat2)`` for matrices (``input`` broadcasts)."""
    return _scale_add("addmm", input, mm(mat1, mat2), beta, alpha, out)


def addmv(input, mat, vec, *, beta=1, alpha=1, out=None):
    """``beta * input + alpha * (mat @ vec)``."""
    return _scale_add("addmv", input, mv(mat, vec), beta, alpha, out)


def addr(input, vec1, vec2, *, beta=1, alpha=1, out=None):
    """``beta * input + alpha * outer(vec1, vec2)``."""
    return _scale_add("addr", input, outer(vec1, vec2), beta, alpha, out)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    """``beta * input + alpha * bmm(batch1, batch2)``."""
    return _scale_add("baddbmm", input, bmm(batch1, batch2), beta, alpha, out)


def addbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    """``beta * input + alpha * sum_b(batch1[b] @ batch2[b])`` (one GEMM over the batch)."""
    _check_bmm("addbmm", batch1, batch2)
    b, n, m = batch1._data.shape
    x = reshape(permute(batch1, (1, 0, 2)), (n, b * m))
    prod = mm(x, reshape(batch2, (b * m, batch2._data.shape[2])))
    return _scale_add("addbmm", input, prod, beta, alpha, out)


# -- einsum -----------------------------------------------------------------------------------
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


@primitive("einsum")
def _einsum(xp, *ops, eq):
    res = None
    if len(ops) == 2:
        lhs, out = eq.split("->")
        res = _pair_matmul(xp, *ops, *lhs.split(","), out)
    if res is None:
        res = xp.einsum(eq, *ops, optimize=len(ops) > 1)
    want = functools.reduce(np.promote_types, (o.dtype for o in ops))
    return res if res.dtype == want else res.astype(want)  # bfloat16 comes back float32


def _pair_matmul(xp, a, b, sa, sb, so):
    """A two-operand einsum as one batched matmul (like PyTorch's bmm path): much faster
    than ``xp.einsum``. None for repeated letters (diagonals), which ``xp.einsum`` handles."""
    plan = _pair_plan(sa, sb, so)
    if plan is None:
        return None
    alone_a, alone_b, perm_a, perm_b, groups, perm_out = plan
    a_shape, b_shape = a.shape, b.shape
    if alone_a:
        a = a.sum(axis=alone_a)
    if alone_b:
        b = b.sum(axis=alone_b)
    size = dict(zip(sa, a_shape)) | dict(zip(sb, b_shape))
    batch, left, contr, right = ([size[c] for c in g] for g in groups)
    A = a.transpose(perm_a).reshape(prod(batch), prod(left), prod(contr))
    B = b.transpose(perm_b).reshape(prod(batch), prod(contr), prod(right))
    return xp.matmul(A, B).reshape(batch + left + right).transpose(perm_out)


@functools.lru_cache(maxsize=256)
def _pair_plan(sa, sb, so):
    """Axes to pre-sum, operand permutations, letter groups (batch, left, contracted,
    right) and the output permutation of a two-operand einsum; None for diagonals."""
    if len(set(sa)) != len(sa) or len(set(sb)) != len(sb):
        return None
    alone_a = tuple(i for i, c in enumerate(sa) if c not in sb + so)
    alone_b = tuple(i for i, c in enumerate(sb) if c not in sa + so)
    sa = "".join(c for i, c in enumerate(sa) if i not in alone_a)
    sb = "".join(c for i, c in enumerate(sb) if i not in alone_b)
    batch = [c for c in so if c in sa and c in sb]
    contr = [c for c in sa if c in sb and c not in so]
    left = [c for c in sa if c not in sb]
    right = [c for c in sb if c not in sa]
    have = batch + left + right
    return (alone_a, alone_b, [sa.index(c) for c in batch + left + contr],
            [sb.index(c) for c in batch + contr + right], (batch, left, contr, right),
            [have.index(c) for c in so])


@_einsum.defvjp
def _(ctx, g):
    lhs, out = ctx.params["eq"].split("->")
    ins, ops = lhs.split(","), ctx.inputs
    return tuple(None if e is None else _einsum_grad(g, ops, ins, out, i)
                 for i, e in enumerate(ctx._next))


def _einsum_grad(g, ops, ins, out, i):
    """Gradient of operand ``i``: ``g`` contracted with the other operands onto its letters."""
    subs = ins[i]
    sizes = dict(zip(subs, ops[i]._data.shape))
    uniq = "".join(dict.fromkeys(subs))
    others = [j for j in range(len(ops)) if j != i]
    seen = set(out).union(*(ins[j] for j in others))
    keep = "".join(c for c in uniq if c in seen)
    eq = ",".join([out] + [ins[j] for j in others]) + "->" + keep
    grad = _einsum(g, *(E.conj(ops[j]) for j in others), eq=eq)
    if keep != uniq:  # letters summed within operand i alone: broadcast back over them
        grad = reshape(grad, tuple(sizes[c] if c in keep else 1 for c in uniq))
        grad = expand(grad, tuple(sizes[c] for c in uniq))
    if uniq != subs:  # a repeated letter reads a diagonal: the gradient goes on that diagonal
        grad = _embed_diagonals(grad, uniq, subs, sizes)
    return grad


def _embed_diagonals(grad, uniq, subs, sizes):
    fresh = iter(c for c in _LETTERS if c not in subs)
    target, eyes = "", []
    for c in subs:
        if c in target:
            d = next(fresh)
            target += d
            eyes.append(c + d)
        else:
            target += c
    ids = [eye_like(grad, sizes[pair[0]]) for pair in eyes]
    return _einsum(grad, *ids, eq=",".join([uniq] + eyes) + "->" + target)


def einsum(*args):
    """Einstein summation: ``einsum("ij,jk->ik", a, b)`` is ``a @ b``.

    Supports ``...`` (broadcast dims), the implicit output (letters used once, sorted, after
    the ``...`` dims), size-1 broadcasting of any letter, operands given as one list, and the
    sublist form ``einsum(a, [0, 1], b, [1, 2], [0, 2])``.

    Example:
        >>> a, b = ember.ones(2, 3), ember.ones(3, 4)
        >>> ember.einsum("ij,jk->ik", a, b).shape
        ember.Size([2, 4])
    """
    eq, ops = _einsum_args(args)
    for k, op in enumerate(ops):
        if not isinstance(op, Tensor):
            _need_tensor(op, "einsum", f"operand {k}")
    ins, out = _parse_einsum(eq.replace(" ", ""), tuple(op._data.ndim for op in ops))
    targets = _letter_shapes(ins, tuple(op._data.shape for op in ops))
    ops = [op if op._data.shape == t else expand(op, t) for op, t in zip(ops, targets)]
    if len(ops) > 1:
        ops = promote("einsum", *ops)
    return _einsum(*ops, eq=",".join(ins) + "->" + out)


def _einsum_args(args):
    if not args:
        raise TypeError("einsum(): expected an equation and operands")
    if isinstance(args[0], str):
        ops = args[1:]
        if len(ops) == 1 and isinstance(ops[0], (list, tuple)):
            ops = ops[0]
        return args[0], list(ops)
    ops, terms = list(args[0::2]), list(args[1::2])  # sublist form
    out = None
    if len(ops) > len(terms):
        out = ops.pop()
    eq = ",".join(_sublist(t) for t in terms)
    return (eq + "->" + _sublist(out) if out is not None else eq), ops


def _sublist(s):
    if not all(v is Ellipsis or isinstance(v, int) and 0 <= v < 52 for v in s):
        raise ValueError(f"einsum(): subscript in subscript list is not within the valid range "
                         f"[0, 52): {list(s)}")
    return "".join("..." if v is Ellipsis else _LETTERS[v] for v in s)


@functools.lru_cache(maxsize=256)
def _parse_einsum(eq, ndims):
    """Explicit subscripts (``...`` replaced by letters) for operands of ``ndims`` dims and
    for the output."""
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ndims):
        many = "more" if len(ndims) > len(terms) else "fewer"
        raise ValueError(f"einsum(): {many} operands were provided than specified in the "
                         f"equation '{eq}' ({len(ndims)} operands, {len(terms)} subscripts)")
    n_ell = [_ellipsis_dims(t, nd, k) for k, (t, nd) in enumerate(zip(terms, ndims))]
    used = set(eq)
    ell = "".join(c for c in _LETTERS if c not in used)[:max(n_ell, default=0)]
    ins = [t.replace("...", ell[len(ell) - n:]) for t, n in zip(terms, n_ell)]
    if arrow:
        _check_term(rhs, "output")
        out = rhs.replace("...", ell)
        for c in out:
            if out.count(c) > 1 or not any(c in s for s in ins):
                raise ValueError(f"einsum(): output subscript {c} appears more than once or "
                                 f"not in any input, in '{eq}'")
    else:
        letters = lhs.replace("...", "").replace(",", "")
        out = ell + "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    return tuple(ins), out


def _check_term(t, what):
    bad = [c for c in t.replace("...", "") if c not in _LETTERS]
    if bad or t.count("...") > 1:
        raise ValueError(f"einsum(): invalid subscript '{bad[0] if bad else '.'}' in {what} "
                         f"'{t}': subscripts must be letters a-z, A-Z and at most one '...'")


def _ellipsis_dims(t, nd, k):
    """How many of the ``nd`` dims of operand ``k`` its ``...`` covers (0 without one)."""
    _check_term(t, f"operand {k}")
    letters = len(t.replace("...", ""))
    if "..." in t and letters <= nd:
        return nd - letters
    if "..." not in t and letters == nd:
        return 0
    raise ValueError(f"einsum(): the number of subscripts in the equation ({letters}) does not "
                     f"match the number of dimensions ({nd}) for operand {k}"
                     f"{'' if '...' in t else ' and no ellipsis was given'}")


@functools.lru_cache(maxsize=256)
def _letter_shapes(ins, shapes):
    """The operands' shapes with size-1 dims of a letter broadcast to its size in the other
    operands (or PyTorch's error)."""
    sizes = {}
    for k, (subs, shape) in enumerate(zip(ins, shapes)):
        for c, n in zip(subs, shape):
            seen = sizes.get(c, 1)
            if n != 1 and seen not in (1, n):
                raise RuntimeError(f"einsum(): subscript {c} has size {n} for operand {k} which "
                                   f"does not broadcast with previously seen size {seen}")
            sizes[c] = seen if n == 1 else n
    return tuple(tuple(sizes[c] for c in subs) for subs in ins)


# -- contractions built on einsum or views ---------------------------------------------------
def tensordot(a, b, dims=2, out=None):
    """Sum of products over ``dims``: an int (last ``dims`` of ``a`` with the first of ``b``)
    or two lists of dims.

    Example:
        >>> ember.tensordot(ember.ones(3, 4, 5), ember.ones(4, 5, 2)).shape
        ember.Size([3, 2])
    """
    _need_tensor(a, "tensordot", "a")
    _need_tensor(b, "tensordot", "b")
    da, db = _tensordot_dims(a, b, dims)
    for i, j in zip(da, db):
        if a._data.shape[i] != b._data.shape[j]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size "
                               f"{a._data.shape[i]} in dim {i} and second has size "
                               f"{b._data.shape[j]} in dim {j}")
    sa = _LETTERS[:a._data.ndim]
    free = iter(_LETTERS[a._data.ndim:])
    pairs = dict(zip(db, da))
    sb = "".join(sa[pairs[j]] if j in pairs else next(free) for j in range(b._data.ndim))
    res = "".join(c for i, c in enumerate(sa) if i not in da) + "".join(
        c for j, c in enumerate(sb) if j not in db)
    return E._out(einsum(f"{sa},{sb}->{res}", a, b), out)


def _tensordot_dims(a, b, dims):
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > min(a._data.ndim, b._data.ndim):
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        return (list(range(a._data.ndim - dims, a._data.ndim)), list(range(dims)))
    da, db = ([d] if isinstance(d, int) else list(d) for d in dims)
    if len(da) != len(db):
        raise RuntimeError(f"both dimension lists should have same length, got {da} and {db}")
    return ([wrap_dim(d, a._data.ndim, "tensordot") for d in da],
            [wrap_dim(d, b._data.ndim, "tensordot") for d in db])


def kron(input, other, *, out=None):
    """Kronecker product: block ``(i, j)`` of the result is ``input[i, j] * other``."""
    _need_tensor(input, "kron")
    _need_tensor(other, "kron", "other")
    nd = max(input._data.ndim, other._data.ndim)
    sa = (1,) * (nd - input._data.ndim) + input._data.shape
    sb = (1,) * (nd - other._data.ndim) + other._data.shape
    a = reshape(input, tuple(v for s in sa for v in (s, 1)))
    b = reshape(other, tuple(v for s in sb for v in (1, s)))
    return E._out(reshape(E.mul(a, b), tuple(x * y for x, y in zip(sa, sb))), out)


def cross(input, other, dim=None, *, out=None):
    """Cross product of 3-vectors along ``dim`` (default: the first dim of size 3)."""
    _need_tensor(input, "cross")
    _need_tensor(other, "cross", "other")
    if dim is None:
        shape = _broadcast_pair("cross", input, other)
        dim = next((i for i, s in enumerate(shape) if s == 3), None)
        if dim is None:
            raise RuntimeError(f"no dimension of size 3 in input of shape {tuple(shape)}")
    return linalg_cross(input, other, dim=dim, out=out)


def linalg_cross(input, other, *, dim=-1, out=None):
    """``ember.linalg.cross``: cross product of 3-vectors along ``dim``, broadcasting."""
    shape = _broadcast_pair("linalg.cross", input, other)
    d = wrap_dim(dim, len(shape), "linalg.cross")
    na, nb = (_size_at(t, d, len(shape)) for t in (input, other))
    if na != 3 or nb != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got {na} "
                           f"and {nb}")
    x, y = (expand(t, shape) for t in promote("linalg.cross", input, other))
    a = [getitem(x, (slice(None),) * d + (i,)) for i in range(3)]
    b = [getitem(y, (slice(None),) * d + (i,)) for i in range(3)]
    res = [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
    return E._out(stack(res, d), out)


def _size_at(t, d, nd):
    """Size of ``t`` at dim ``d`` of an ``nd``-dim broadcast shape (1 where ``t`` lacks it)."""
    k = d - nd + t._data.ndim
    return t._data.shape[k] if k >= 0 else 1


def _broadcast_pair(op, x, y):
    try:
        return np.broadcast_shapes(x._data.shape, y._data.shape)
    except ValueError:
        raise RuntimeError(f"{op}: shapes {tuple(x._data.shape)} and {tuple(y._data.shape)} "
                           f"cannot be broadcast") from None


def vecdot(x, y, *, dim=-1, out=None):
    """``sum(conj(x) * y, dim)``: the dot product of vectors along ``dim``, broadcasting."""
    _need_tensor(x, "linalg.vecdot", "x")
    _need_tensor(y, "linalg.vecdot", "y")
    d = wrap_dim(dim, len(_broadcast_pair("linalg.vecdot", x, y)), "linalg.vecdot")
    return E._out(_sum(E.mul(E.conj(x), y), d), out)


def vander(x, N=None):
    """Vandermonde matrices: column ``j`` of the result is ``x ** j``, ``j < N``
    (``N`` defaults to ``x.shape[-1]``); ``x`` is ``(..., n)``, the result ``(..., n, N)``."""
    _need_tensor(x, "linalg.vander", "x")
    if x._data.ndim < 1:
        raise RuntimeError("linalg.vander: x must have at least one dimension")
    N = x._data.shape[-1] if N is None else N
    if N < 2:
        if N < 0:
            raise RuntimeError(f"N must be non-negative, got {N}")
        return _wrap(x._device.xp.ones(x._data.shape + (N,), dtype=x._data.dtype), x._device)
    cols = [E.mul(x, 0) + 1, x]  # powers by products: no log(0) in the gradient
    while len(cols) < N:
        cols.append(E.mul(cols[-1], x))
    return stack(cols, -1)


# -- chains of products -----------------------------------------------------------------------
def multi_dot(tensors, *, out=None):
    """``tensors[0] @ tensors[1] @ ...`` in the cheapest order; the first and last may be 1-D.

    Example:
        >>> a, b, c = ember.ones(10, 100), ember.ones(100, 5), ember.ones(5, 50)
        >>> ember.linalg.multi_dot([a, b, c]).shape
        ember.Size([10, 50])
    """
    ts = list(tensors)
    if len(ts) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(ts)}")
    for i, t in enumerate(ts):
        _need_tensor(t, "multi_dot", f"tensors[{i}]")
        ok = (1, 2) if i in (0, len(ts) - 1) else (2,)
        if t._data.ndim not in ok:
            where = "first" if i == 0 else "last" if i == len(ts) - 1 else f"{i}-th"
            raise RuntimeError(f"multi_dot(): the {where} tensor must be "
                               f"{' or '.join(f'{n}D' for n in ok)} but got {t._data.ndim}D")
    row, col = ts[0]._data.ndim == 1, ts[-1]._data.ndim == 1
    ts[0] = unsqueeze(ts[0], 0) if row else ts[0]
    ts[-1] = unsqueeze(ts[-1], 1) if col else ts[-1]
    for i in range(len(ts) - 1):
        if ts[i]._data.shape[1] != ts[i + 1]._data.shape[0]:
            raise RuntimeError(f"multi_dot(): tensors {i} and {i + 1} with shapes "
                               f"{_dims_str(ts[i]._data.shape)} and "
                               f"{_dims_str(ts[i + 1]._data.shape)} cannot be multiplied")
    res = _chain(ts, _chain_order([t._data.shape[0] for t in ts] + [ts[-1]._data.shape[1]]),
                 0, len(ts) - 1)
    if row or col:
        res = squeeze(res, tuple(d for d, s in ((0, row), (-1, col)) if s))
    return E._out(res, out)


def _chain_order(p):
    """Split points of the cheapest parenthesisation of matrices of sizes ``p[i] x p[i+1]``."""
    n = len(p) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j], split[i][j] = min(
                (cost[i][k] + cost[k + 1][j] + p[i] * p[k + 1] * p[j + 1], k)
                for k in range(i, j))
    return split


def _chain(ts, split, i, j):
    if i == j:
        return ts[i]
    k = split[i][j]
    return matmul(_chain(ts, split, i, k), _chain(ts, split, k + 1, j))


def chain_matmul(*matrices, out=None):
    """Product of 2-D matrices in the cheapest order (deprecated: use ``linalg.multi_dot``)."""
    if not matrices:
        raise RuntimeError("chain_matmul(): Expected one or more matrices")
    for i, m in enumerate(matrices):
        _need_ndim(m, 2, "chain_matmul", f"matrices[{i}]")
    if len(matrices) == 1:
        return E._out(matrices[0].clone(), out)
    return multi_dot(matrices, out=out)


def matrix_power(input, n, *, out=None):
    """``input`` multiplied by itself ``n`` times (``n < 0`` uses the inverse; 0 gives I)."""
    check_square(input, "linalg.matrix_power")
    if n == 0:
        xp = input._device.xp
        eye = xp.broadcast_to(xp.eye(input._data.shape[-1], dtype=input._data.dtype),
                              input._data.shape)
        return E._out(_wrap(eye.copy(), input._device), out)
    x = input
    if n < 0:
        from ember.ops.linalg_solve import inv  # that module imports this one
        x, n = inv(input), -n
    res = None
    while n:
        if n & 1:
            res = x if res is None else matmul(res, x)
        n >>= 1
        if n:
            x = matmul(x, x)
    return E._out(res if res is not input else res.clone(), out)
