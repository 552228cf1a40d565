"""``linear`` and ``bilinear``.

``linear`` is one primitive, ``x @ w.T + b``: the product is one 2-D GEMM over the
flattened batch dims, the bias is added in place into the fresh result. Its gradient
rule gives the weight gradient as one GEMM too (``g.T @ x`` over the flattened batch)
instead of a batched product summed afterwards, and the bias gradient as one sum.
"""

from ember._tensor import Tensor
from ember import _dtype
from ember.nn._functional._core import compute_dtype
from ember.ops._registry import primitive
from ember.ops.reduce import sum as _sum
from ember.ops.views import reshape, transpose
from ember.amp.autocast_mode import autocast_op

__all__ = ["linear", "bilinear"]


@primitive("linear")
def _linear(xp, x, w, b):
    xc, wc = compute_dtype(x), compute_dtype(w)  # float16/bfloat16 GEMMs run in float32
    if x.ndim == 2:
        out = xp.matmul(xc, wc.T)
    else:
        out = xp.matmul(xc.reshape(-1, x.shape[-1]), wc.T).reshape(x.shape[:-1] + (w.shape[0],))
    if b is not None:
        out += b
    return out.astype(x.dtype, copy=False)


@_linear.defvjp
def _(ctx, g):
    x, w, b = ctx.inputs
    need_x, need_w, need_b = (e is not None for e in ctx._next)
    gx = _linear(g, transpose(w, 0, 1), None) if need_x else None  # g @ w
    gw = gb = None
    if need_w or need_b:
        g2 = reshape(g, (-1, g.shape[-1]))
        if need_w:
            x2 = reshape(x, (-1, x.shape[-1]))
            gw = _linear(transpose(g2, 0, 1), transpose(x2, 0, 1), None)  # g2.T @ x2
        if need_b:
            gb = _sum(g2, 0)
    return gx, gw, gb


def _check_linear(x, w, b):
    try:
        ok = (x._data.dtype is w._data.dtype and w._data.ndim == 2 and x._data.ndim
              and x._data.shape[-1] == w._data.shape[1]
              and (b is None or b._data.dtype is w._data.dtype))
    except AttributeError:
        ok = False
    if not ok:
        _linear_error(x, w, b)


def _linear_error(x, w, b):
    if not isinstance(x, Tensor) or not isinstance(w, Tensor):
        raise TypeError(f"linear(): argument 'input' and 'weight' must be Tensors, got "
                        f"{type(x).__name__} and {type(w).__name__}")
    if w.ndim != 2 or x.ndim == 0:
        raise RuntimeError(f"linear(): expected a 2-D weight and an input of at least 1 dim, "
                           f"got weight of shape {tuple(w.shape)} and input of shape "
                           f"{tuple(x.shape)}")
    if x.shape[-1] != w.shape[1]:
        rows = x.numel() // x.shape[-1] if x.shape[-1] else 0
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{x.shape[-1]} "
                           f"and {w.shape[1]}x{w.shape[0]})")
    if x.dtype is not w.dtype:
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got "
                           f"{_dtype.scalar_name(x.dtype)} and {_dtype.scalar_name(w.dtype)}")
    raise RuntimeError(f"linear(): bias dtype {b.dtype} does not match the input dtype "
                       f"{x.dtype}")


@autocast_op("linear")
def linear(input, weight, bias=None):
    r"""Applies an affine map: :math:`y = x W^T + b`.

    Args:
        input: :math:`(*, H_{in})`.
        weight: :math:`(H_{out}, H_{in})`.
        bias: :math:`(H_{out})` or None.

    Returns:
        :math:`(*, H_{out})`.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.linear(ember.ones(2, 3), ember.ones(4, 3)).shape
        ember.Size([2, 4])
    """
    _check_linear(input, weight, bias)
    return _linear(input, weight, bias)


def bilinear(input1, input2, weight, bias=None):
    r"""Applies a bilinear map: :math:`y_k = x_1^T A_k x_2 + b_k`.

    Args:
        input1: :math:`(*, H_{in1})`.
        input2: :math:`(*, H_{in2})` (same leading dims as ``input1``).
        weight: :math:`(H_{out}, H_{in1}, H_{in2})`.
        bias: :math:`(H_{out})` or None.

    Returns:
        :math:`(*, H_{out})`.
    """
    if weight.ndim != 3:
        raise RuntimeError(f"bilinear(): weight must be 3-D (out, in1, in2), got shape "
                           f"{tuple(weight.shape)}")
    out_f, in1, in2 = tuple(weight.shape)
    if input1.shape[-1] != in1 or input2.shape[-1] != in2:
        raise RuntimeError(f"bilinear(): input sizes {input1.shape[-1]} and {input2.shape[-1]} "
                           f"do not match the weight's {in1} and {in2}")
    if tuple(input1.shape[:-1]) != tuple(input2.shape[:-1]):
        raise RuntimeError(f"bilinear(): input1 and input2 must have the same leading dims, "
                           f"got {tuple(input1.shape)} and {tuple(input2.shape)}")
    # (x1 @ A_k) for every k in one GEMM: A as (out*in2, in1)
    a = reshape(transpose(weight, 1, 2), (out_f * in2, in1))
    t = _linear(input1, a, None)                               # (*, out*in2)
    t = reshape(t, tuple(input1.shape[:-1]) + (out_f, in2))
    out = (t * input2.unsqueeze(-2)).sum(-1)
    return out if bias is None else out + bias
