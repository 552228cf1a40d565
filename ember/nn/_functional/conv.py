"""Convolutions: ``conv1d/2d/3d`` and ``conv_transpose1d/2d/3d``.

Argument checking and shape logic live here; the arithmetic is three primitives in
:mod:`ember.ops.conv` (im2col in cache-sized chunks, then one batched matmul per chunk),
whose gradient rules are written in each other so any order of gradient works.
"""

from ember._tensor import Tensor
from ember import _dtype
from ember.ops.conv import conv_nd, conv_transpose_nd
from ember.ops.views import unsqueeze, squeeze
from ember.amp.autocast_mode import autocast_op

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "conv_tbc"]


def ntuple(v, n, name, op=None):
    """``v`` as a tuple of ``n`` ints (an int is repeated); PyTorch's error otherwise."""
    if isinstance(v, Tensor):
        v = v.tolist()
    if isinstance(v, (list, tuple)):
        if len(v) == 1:
            v = tuple(v) * n
        if len(v) != n:
            raise RuntimeError(f"expected {name} to be a single integer value or a list of {n} "
                               f"values to match the convolution dimensions, but got "
                               f"{name}={list(v)}")
        return tuple(int(a) for a in v)
    return (int(v),) * n


def _scalar(dt):
    return _dtype.scalar_name(_dtype.from_numpy_dtype(dt))


def _batched(x, nd, op):
    """``(x with a batch dim, whether it was added)``; checks the number of dims."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(x).__name__}")
    if x.ndim == nd + 1:
        return unsqueeze(x, 0), True
    if x.ndim != nd + 2:
        raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to "
                           f"{op}, but got input of size: {list(x.shape)}")
    return x, False


def _check_common(x, w, b, stride, padding, dilation, groups, nd):
    if not isinstance(w, Tensor):
        raise TypeError(f"conv: argument 'weight' must be Tensor, not {type(w).__name__}")
    if w.ndim != nd + 2:
        raise RuntimeError(f"Expected {nd + 2}-dimensional weight for {nd + 2}-dimensional "
                           f"input {list(x.shape)}, but got {w.ndim}-dimensional weight of "
                           f"size {list(w.shape)} instead")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError("dilation should be greater than zero")
    if any(p < 0 for pair in padding for p in pair):
        raise RuntimeError("negative padding is not supported")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if x.dtype is not w.dtype:
        raise RuntimeError(f"expected scalar type {_scalar(x._data.dtype)} but found "
                           f"{_scalar(w._data.dtype)}")
    if b is not None:
        if not isinstance(b, Tensor):
            raise TypeError(f"conv: argument 'bias' must be Tensor, not {type(b).__name__}")
        if b.dtype is not x.dtype:
            raise RuntimeError(f"Input type ({_scalar(x._data.dtype)}) and bias type "
                               f"({_scalar(b._data.dtype)}) should be the same")
    if x._device is not w._device or (b is not None and b._device is not x._device):
        raise RuntimeError(f"Input type ({x.device}) and weight type ({w.device}) should be on "
                           f"the same device")


def _same_padding(ks, dilation, stride):
    if any(s != 1 for s in stride):
        raise RuntimeError("padding='same' is not supported for strided convolutions")
    pads = []
    for k, d in zip(ks, dilation):
        total = d * (k - 1)
        pads.append((total // 2, total - total // 2))
    return tuple(pads)


def _padding_pairs(padding, ks, dilation, stride, nd):
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * nd
        if padding == "same":
            return _same_padding(ks, dilation, stride)
        raise RuntimeError(f"Invalid padding string: '{padding}'")
    return tuple((p, p) for p in ntuple(padding, nd, "padding"))


def _convnd(nd, input, weight, bias, stride, padding, dilation, groups):
    op = f"conv{nd}d"
    x, added = _batched(input, nd, op)
    stride = ntuple(stride, nd, "stride")
    dilation = ntuple(dilation, nd, "dilation")
    ks = tuple(weight.shape[2:]) if isinstance(weight, Tensor) else ()
    pads = _padding_pairs(padding, ks, dilation, stride, nd) if len(ks) == nd else \
        ((0, 0),) * nd
    _check_common(x, weight, bias, stride, pads, dilation, groups, nd)
    C, O = x.shape[1], weight.shape[0]
    if O % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} "
                           f"at dimension 0, but got weight of size [{list(weight.shape)}] "
                           f"instead")
    if C != weight.shape[1] * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(weight.shape)}, "
                           f"expected input{list(x.shape)} to have {weight.shape[1] * groups} "
                           f"channels, but got {C} channels instead")
    if bias is not None and tuple(bias.shape) != (O,):
        raise RuntimeError(f"Given weight of size {list(weight.shape)}, expected bias to be "
                           f"1-dimensional with {O} elements, but got bias of size "
                           f"{list(bias.shape)} instead")
    padded = [s + lo + hi for s, (lo, hi) in zip(x.shape[2:], pads)]
    eff = [d * (k - 1) + 1 for k, d in zip(ks, dilation)]
    if any(p < e for p, e in zip(padded, eff)):
        raise RuntimeError(f"Calculated padded input size per channel: "
                           f"({' x '.join(map(str, padded))}). Kernel size: "
                           f"({' x '.join(map(str, eff))}). Kernel size can't be greater than "
                           f"actual input size")
    out = conv_nd(x, weight, bias, stride=stride, padding=pads, dilation=dilation,
                  groups=int(groups))
    return squeeze(out, 0) if added else out


@autocast_op("conv1d")
def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    r"""1-D convolution (cross-correlation) over an input of shape :math:`(N, C_{in}, L)`.

    .. math::
        \text{out}(N_i, C_{out_j}) = \text{bias}(C_{out_j}) +
        \sum_{k=0}^{C_{in}/g-1} \text{weight}(C_{out_j}, k) \star \text{input}(N_i, k)

    Args:
        input: :math:`(N, C_{in}, L_{in})` or unbatched :math:`(C_{in}, L_{in})`.
        weight: :math:`(C_{out}, C_{in}/\text{groups}, k)`.
        bias: optional :math:`(C_{out})`.
        stride, dilation: int or 1-tuple.
        padding: int, 1-tuple, ``'valid'`` (none) or ``'same'`` (output length = input
            length; stride 1 only).
        groups: split the channels into this many independent groups.

    Returns:
        :math:`(N, C_{out}, L_{out})`, with
        :math:`L_{out} = \lfloor (L_{in} + 2p - d(k-1) - 1) / s \rfloor + 1`.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.conv1d(ember.ones(1, 2, 5), ember.ones(3, 2, 3), padding=1).shape
        ember.Size([1, 3, 5])
    """
    return _convnd(1, input, weight, bias, stride, padding, dilation, groups)


@autocast_op("conv2d")
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    r"""2-D convolution (cross-correlation) over an input of shape :math:`(N, C_{in}, H, W)`.

    Args:
        input: :math:`(N, C_{in}, H_{in}, W_{in})` or unbatched :math:`(C_{in}, H, W)`.
        weight: :math:`(C_{out}, C_{in}/\text{groups}, k_H, k_W)`.
        bias: optional :math:`(C_{out})`.
        stride, padding, dilation: int or pair; padding may be ``'valid'`` or ``'same'``.
        groups: split the channels into this many independent groups.

    Returns:
        :math:`(N, C_{out}, H_{out}, W_{out})` with, per spatial dim,
        :math:`H_{out} = \lfloor (H_{in} + 2p - d(k-1) - 1) / s \rfloor + 1`.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.conv2d(ember.ones(2, 3, 8, 8), ember.ones(4, 3, 3, 3), stride=2).shape
        ember.Size([2, 4, 3, 3])
    """
    return _convnd(2, input, weight, bias, stride, padding, dilation, groups)


@autocast_op("conv3d")
def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    r"""3-D convolution over an input of shape :math:`(N, C_{in}, D, H, W)`.

    Args:
        input: :math:`(N, C_{in}, D, H, W)` or unbatched :math:`(C_{in}, D, H, W)`.
        weight: :math:`(C_{out}, C_{in}/\text{groups}, k_D, k_H, k_W)`.
        bias: optional :math:`(C_{out})`.
        stride, padding, dilation: int or triple; padding may be ``'valid'`` or ``'same'``.
        groups: split the channels into this many independent groups.

    Returns:
        :math:`(N, C_{out}, D_{out}, H_{out}, W_{out})`, each spatial size
        :math:`\lfloor (S + 2p - d(k-1) - 1) / s \rfloor + 1`.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.conv3d(ember.ones(1, 1, 4, 4, 4), ember.ones(2, 1, 3, 3, 3)).shape
        ember.Size([1, 2, 2, 2, 2])
    """
    return _convnd(3, input, weight, bias, stride, padding, dilation, groups)


# -- transposed ------------------------------------------------------------------------------
def transpose_out_size(size, k, stride, pad, out_pad, dilation):
    """``(S - 1) s - 2p + d(k-1) + output_padding + 1``."""
    return (size - 1) * stride - 2 * pad + dilation * (k - 1) + out_pad + 1


def _conv_transposend(nd, input, weight, bias, stride, padding, output_padding, groups,
                      dilation):
    op = f"conv_transpose{nd}d"
    x, added = _batched(input, nd, op)
    stride = ntuple(stride, nd, "stride")
    dilation = ntuple(dilation, nd, "dilation")
    if isinstance(padding, str):
        raise RuntimeError(f"{op}: padding must be an int or a tuple of ints, got '{padding}'")
    pad = ntuple(padding, nd, "padding")
    opad = ntuple(output_padding, nd, "output_padding")
    pairs = tuple((p, p) for p in pad)
    _check_common(x, weight, bias, stride, pairs, dilation, groups, nd)
    if any(o < 0 for o in opad):
        raise RuntimeError("negative output_padding is not supported")
    if any(o >= s and o >= d for o, s, d in zip(opad, stride, dilation)):
        names = ["depth", "height", "width"][-nd:] if nd > 1 else ["width"]
        desc = " ".join(f"output_padding_{n}: {o}" for n, o in zip(names, opad)) + " " + \
            " ".join(f"stride_{n}: {s}" for n, s in zip(names, stride)) + " " + \
            " ".join(f"dilation_{n}: {d}" for n, d in zip(names, dilation))
        raise RuntimeError(f"output padding must be smaller than either stride or dilation, "
                           f"but got {desc}")
    C = x.shape[1]
    if C != weight.shape[0]:
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected "
                           f"input{list(x.shape)} to have {weight.shape[0]} channels, but got "
                           f"{C} channels instead")
    if C % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} "
                           f"at dimension 0, but got weight of size [{list(weight.shape)}] "
                           f"instead")
    O = weight.shape[1] * groups
    if bias is not None and tuple(bias.shape) != (O,):
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected "
                           f"bias to be 1-dimensional with {O} elements, but got bias of size "
                           f"{list(bias.shape)} instead")
    size = tuple(transpose_out_size(*a) for a in zip(x.shape[2:], weight.shape[2:], stride, pad,
                                                      opad, dilation))
    if any(s <= 0 for s in size):
        raise RuntimeError(f"Given input size per channel: ({' x '.join(map(str, x.shape[2:]))})"
                           f". Calculated output size per channel: "
                           f"({' x '.join(map(str, size))}). Output size is too small")
    out = conv_transpose_nd(x, weight, bias, stride=stride, padding=pairs, dilation=dilation,
                            groups=int(groups), in_size=size)
    return squeeze(out, 0) if added else out


@autocast_op("conv_transpose1d")
def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    r"""1-D transposed convolution (the gradient of ``conv1d`` w.r.t. its input).

    Args:
        input: :math:`(N, C_{in}, L_{in})` or unbatched :math:`(C_{in}, L_{in})`.
        weight: :math:`(C_{in}, C_{out}/\text{groups}, k)`.
        bias: optional :math:`(C_{out})`.
        stride, padding, output_padding, dilation: int or 1-tuple. ``padding`` crops
            ``p`` positions from both ends of the full output; ``output_padding`` adds that
            many positions back on one side (to pick among the input sizes that a strided
            ``conv1d`` maps to the same output size).
        groups: split the channels into this many independent groups.

    Returns:
        :math:`(N, C_{out}, L_{out})`, with
        :math:`L_{out} = (L_{in} - 1) s - 2p + d(k - 1) + \text{output\_padding} + 1`.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.conv_transpose1d(ember.ones(1, 2, 4), ember.ones(2, 3, 3), stride=2).shape
        ember.Size([1, 3, 9])
    """
    return _conv_transposend(1, input, weight, bias, stride, padding, output_padding, groups,
                             dilation)


@autocast_op("conv_transpose2d")
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    r"""2-D transposed convolution ("deconvolution"), the adjoint of ``conv2d``.

    Args:
        input: :math:`(N, C_{in}, H_{in}, W_{in})` or unbatched :math:`(C_{in}, H, W)`.
        weight: :math:`(C_{in}, C_{out}/\text{groups}, k_H, k_W)`.
        bias: optional :math:`(C_{out})`.
        stride, padding, output_padding, dilation: int or pair.
        groups: split the channels into this many independent groups.

    Returns:
        :math:`(N, C_{out}, H_{out}, W_{out})`, per spatial dim
        :math:`H_{out} = (H_{in} - 1) s - 2p + d(k - 1) + \text{output\_padding} + 1`.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> w = ember.ones(4, 2, 3, 3)
        >>> F.conv_transpose2d(ember.ones(1, 4, 5, 5), w, stride=2, padding=1,
        ...                    output_padding=1).shape
        ember.Size([1, 2, 10, 10])
    """
    return _conv_transposend(2, input, weight, bias, stride, padding, output_padding, groups,
                             dilation)


@autocast_op("conv_transpose3d")
def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    r"""3-D transposed convolution, the adjoint of ``conv3d``.

    Args:
        input: :math:`(N, C_{in}, D, H, W)` or unbatched :math:`(C_{in}, D, H, W)`.
        weight: :math:`(C_{in}, C_{out}/\text{groups}, k_D, k_H, k_W)`.
        bias: optional :math:`(C_{out})`.
        stride, padding, output_padding, dilation: int or triple.
        groups: split the channels into this many independent groups.

    Returns:
        :math:`(N, C_{out}, D_{out}, H_{out}, W_{out})`, each
        :math:`(S - 1) s - 2p + d(k - 1) + \text{output\_padding} + 1`.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.conv_transpose3d(ember.ones(1, 2, 2, 2, 2), ember.ones(2, 1, 2, 2, 2)).shape
        ember.Size([1, 1, 3, 3, 3])
    """
    return _conv_transposend(3, input, weight, bias, stride, padding, output_padding, groups,
                             dilation)


def conv_tbc(input, weight, bias, pad=0):
    """Convolution over ``(time, batch, channels)`` input with weight ``(k, C_in, C_out)``."""
    x = input.permute(1, 2, 0)
    out = conv1d(x, weight.permute(2, 1, 0), bias, padding=pad)
    return out.permute(2, 0, 1)

