"""``linear`` and ``bilinear``.

``linear`` is its own primitive, ``x @ w.T`` computed as one 2-D GEMM over the flattened
batch dims; its gradient rule gives the weight gradient as one GEMM too (``g.T @ x`` over
the flattened batch) instead of a batched product summed afterwards. The bias is one
``add``: ``F.linear`` costs two primitives.
"""

from ember._tensor import Tensor
from ember import _dtype
from ember.ops._registry import primitive
from ember.ops.elementwise import _add
from ember.ops.views import reshape, transpose

__all__ = ["linear", "bilinear"]


@primitive("linear")
def _linear(xp, x, w):
    lead = x.shape[:-1]
    x2 = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
    out = xp.matmul(x2, w.T)
    return out.reshape(lead + (w.shape[0],)) if x.ndim != 2 else out


@_linear.defvjp
def _(ctx, g):
    x, w = ctx.inputs
    gx = gw = None
    if ctx._next[0] is not None:
        gx = _linear(g, transpose(w, 0, 1))  # g @ w
    if ctx._next[1] is not None:
        g2 = reshape(g, (-1, g.shape[-1]))
        x2 = reshape(x, (-1, x.shape[-1]))
        gw = _linear(transpose(g2, 0, 1), transpose(x2, 0, 1))  # g2.T @ x2
    return gx, gw


def _check_linear(x, w):
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
    _check_linear(input, weight)
    out = _linear(input, weight)
    if bias is None:
        return out
    if bias.dtype is not out.dtype:
        raise RuntimeError(f"linear(): bias dtype {bias.dtype} does not match the input dtype "
                           f"{out.dtype}")
    return _add(out, bias)


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
    t = _linear(input1, a)                                   # (*, out*in2)
    t = reshape(t, tuple(input1.shape[:-1]) + (out_f, in2))
    out = (t * input2.unsqueeze(-2)).sum(-1)
    return out if bias is None else out + bias
