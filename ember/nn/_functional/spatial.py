"""Spatial rearrangements: padding, sliding blocks and pixel/channel shuffles.

- ``pad``: ``constant`` mode is one primitive (its adjoint is the same op with negated
  pads, i.e. a crop); ``reflect``/``replicate``/``circular`` gather along each padded dim
  with a constant index array (``take_axis``, whose adjoint sums the copies back).
- ``unfold``/``fold``: the im2col/col2im primitives of :mod:`ember.ops.conv`.
- ``pixel_shuffle``, ``pixel_unshuffle``, ``channel_shuffle``: reshapes and permutes.

Resampling (``interpolate``, ``grid_sample``, ``affine_grid``) is in ``sampling.py``.
"""

import numpy as np

from ember._tensor import Tensor
from ember.ops._registry import primitive
from ember.ops.views import reshape, permute, transpose, unsqueeze, squeeze
from ember.ops.conv import im2col, col2im, conv_out_size
from ember.nn._functional._window import take_axis

__all__ = ["pad", "unfold", "fold", "pixel_shuffle", "pixel_unshuffle", "channel_shuffle",
           "native_channel_shuffle"]


# -- pad ---------------------------------------------------------------------------------------
@primitive("pad_constant", save="none")
def pad_constant(xp, x, *, pads, value):
    """``x`` grown (or cropped, for negative amounts) by ``(lo, hi)`` per dim, filled with
    ``value``."""
    shape = tuple(s + lo + hi for s, (lo, hi) in zip(x.shape, pads))
    if any(s < 0 for s in shape):
        raise RuntimeError(f"The input size {list(x.shape)}, plus negative padding "
                           f"{[p for pair in pads for p in pair]} resulted in a negative output "
                           f"size, which is invalid. Check dimension {_first_neg(shape)} of your "
                           f"input.")
    out = xp.full(shape, value, dtype=x.dtype) if value != 0 else xp.zeros(shape, dtype=x.dtype)
    src = tuple(slice(max(-lo, 0), s - max(-hi, 0)) for s, (lo, hi) in zip(x.shape, pads))
    dst = tuple(slice(max(lo, 0), max(lo, 0) + (b.stop - b.start)) for b, (lo, _) in
                zip(src, pads))
    if all(b.stop > b.start for b in src):
        out[dst] = x[src]
    return out


def _first_neg(shape):
    return next(i for i, s in enumerate(shape) if s < 0)


@pad_constant.defvjp
def _(ctx, g):
    return pad_constant(g, pads=tuple((-lo, -hi) for lo, hi in ctx.params["pads"]), value=0)


def _pad_index(n, lo, hi, mode):
    """Source index of each output position along one dim for the non-constant modes."""
    pos = np.arange(-lo, n + hi)
    if mode == "replicate":
        return np.clip(pos, 0, n - 1)
    if mode == "circular":  # PyTorch crops (negative amounts) first, then wraps the rest
        start, stop = max(-lo, 0), n - max(-hi, 0)
        return start + np.arange(-max(lo, 0), stop - start + max(hi, 0)) % (stop - start)
    period = 2 * (n - 1)  # reflect: mirror about the edge samples
    if period == 0:
        return np.zeros_like(pos)
    pos = np.abs(pos) % period
    return np.where(pos >= n, period - pos, pos)


def _check_nonconstant(x, pairs, mode):
    k = len(pairs)
    if x.ndim not in (k + 1, k + 2) or k > 3:
        raise NotImplementedError(
            f"Padding size {2 * k} is not supported for {x.ndim}D input tensor.\nSupported "
            f"combinations for non-constant padding:\n  - 2D or 3D input: padding size = 2 "
            f"(pads last dimension)\n  - 3D or 4D input: padding size = 4 (pads last 2 "
            f"dimensions)\n  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
    if any(s == 0 for s in x.shape[x.ndim - k - 1:]):
        raise RuntimeError(f"Expected {k + 1}D or {k + 2}D (batch mode) tensor with possibly 0 "
                           f"batch size and other non-zero dimensions for input, but got: "
                           f"{list(x.shape)}")
    for i, (lo, hi) in enumerate(pairs):
        d = x.ndim - k + i
        n = x.shape[d]
        if mode == "reflect" and (lo >= n or hi >= n):
            raise RuntimeError(f"Argument #4: Padding size should be less than the "
                               f"corresponding input dimension, but got: padding ({lo}, {hi}) "
                               f"at dimension {d} of input {list(x.shape)}")
        if mode == "circular" and (lo > n or hi > n):
            raise RuntimeError("Padding value causes wrapping around more than once.")


def pad(input, pad, mode="constant", value=None):
    r"""Pads (or, with negative amounts, crops) the last dims of ``input``.

    ``pad`` lists ``(left, right)`` amounts starting from the last dim:
    ``(w_lo, w_hi, h_lo, h_hi, ...)``.

    Args:
        input: any shape for ``'constant'``; for the other modes ``(N, C, *S)`` or
            ``(C, *S)`` with one to three padded dims.
        pad: even-length sequence of ints (at most twice ``input.dim()``).
        mode: ``'constant'`` (fill with ``value``), ``'reflect'`` (mirror without repeating
            the edge), ``'replicate'`` (repeat the edge), ``'circular'`` (wrap around).
        value: fill value for ``'constant'`` (default 0).

    Returns:
        ``input`` with dim ``-1-i`` of size ``S + pad[2i] + pad[2i+1]``.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.pad(ember.tensor([[1., 2., 3.]]), (2, 1), mode="reflect")
        tensor([[3., 2., 1., 2., 3., 2.]])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"pad(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    pad = [int(p) for p in pad]
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) > 2 * input.ndim:
        raise RuntimeError(f"Padding length should be less than or equal to two times the input "
                           f"dimension but got padding length {len(pad)} and input of dimension "
                           f"{input.ndim}")
    pairs = [(pad[2 * i], pad[2 * i + 1]) for i in range(len(pad) // 2)][::-1]
    if mode == "constant":
        full = ((0, 0),) * (input.ndim - len(pairs)) + tuple(pairs)
        v = 0 if value is None else value
        if input._data.dtype.kind in "iub":
            v = int(v)
        return pad_constant(input, pads=full, value=v)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    _check_nonconstant(input, pairs, mode)
    out = input
    for i, (lo, hi) in enumerate(pairs):
        if lo == 0 and hi == 0:
            continue
        d = input.ndim - len(pairs) + i
        out = take_axis(out, idx=_pad_index(input.shape[d], lo, hi, mode), axis=d)
    return out


# -- unfold / fold -----------------------------------------------------------------------------
def _pair(v, name):
    if isinstance(v, (list, tuple)):
        if len(v) != 2:
            raise RuntimeError(f"{name} must be an int or a pair of ints, got {v}")
        return tuple(int(a) for a in v)
    return (int(v),) * 2


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    r"""Extracts sliding blocks (im2col): :math:`(N, C, H, W) \to (N, C k_H k_W, L)`.

    Column ``l`` holds the block at output position ``l`` (row-major over
    :math:`L = \prod_d \lfloor (S_d + 2p_d - d_d(k_d-1) - 1)/s_d \rfloor + 1`), channels
    outermost then kernel rows and columns.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.unfold(ember.ones(1, 2, 4, 5), (2, 3)).shape
        ember.Size([1, 12, 9])
    """
    if input.ndim not in (3, 4):
        raise NotImplementedError(f"Input Error: Only 3D or 4D input Tensors are supported "
                                  f"(got {input.ndim}D)")
    x, added = (unsqueeze(input, 0), True) if input.ndim == 3 else (input, False)
    ks, dil = _pair(kernel_size, "kernel_size"), _pair(dilation, "dilation")
    pad, st = _pair(padding, "padding"), _pair(stride, "stride")
    pads = tuple((p, p) for p in pad)
    osz = [conv_out_size(n, k, s, p, d) for n, k, s, p, d in zip(x.shape[2:], ks, st, pads,
                                                                  dil)]
    if any(o <= 0 for o in osz):
        raise RuntimeError(f"Given input with spatial size {list(x.shape[2:])}, "
                           f"kernel_size={list(ks)}, dilation={list(dil)}, padding={list(pad)}, "
                           f"calculated shape of the array of sliding blocks as {osz}, but its "
                           f"components must be at least one.")
    out = im2col(x, ksize=ks, stride=st, padding=pads, dilation=dil)
    return squeeze(out, 0) if added else out


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    r"""Sums sliding blocks into a tensor (col2im), the adjoint of ``unfold``:
    :math:`(N, C k_H k_W, L) \to (N, C, H_{out}, W_{out})`.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.fold(F.unfold(ember.ones(1, 1, 3, 3), 2), (3, 3), 2)
        tensor([[[[1., 2., 1.],
                  [2., 4., 2.],
                  [1., 2., 1.]]]])
    """
    if input.ndim not in (2, 3):
        raise NotImplementedError(f"Input Error: Only unbatched (2D) or batched (3D) input "
                                  f"Tensors are supported (got {input.ndim}D)")
    x, added = (unsqueeze(input, 0), True) if input.ndim == 2 else (input, False)
    size, ks = _pair(output_size, "output_size"), _pair(kernel_size, "kernel_size")
    dil, pad, st = _pair(dilation, "dilation"), _pair(padding, "padding"), _pair(stride, "stride")
    kk = ks[0] * ks[1]
    if x.shape[1] % kk:
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the product "
                           f"of kernel_size, but got input.size(1)={x.shape[1]} and "
                           f"kernel_size=({ks[0]}, {ks[1]}).")
    pads = tuple((p, p) for p in pad)
    blocks = [conv_out_size(n, k, s, p, d) for n, k, s, p, d in zip(size, ks, st, pads, dil)]
    if blocks[0] * blocks[1] != x.shape[2] or min(blocks) <= 0:
        raise RuntimeError(f"Given output_size=({size[0]}, {size[1]}), kernel_size=({ks[0]}, "
                           f"{ks[1]}), dilation=({dil[0]}, {dil[1]}), padding=({pad[0]}, "
                           f"{pad[1]}), stride=({st[0]}, {st[1]}), expected size of input's "
                           f"dimension 2 to match the calculated number of sliding blocks "
                           f"{blocks[0]} * {blocks[1]} = {blocks[0] * blocks[1]}, but got "
                           f"input.size(2)={x.shape[2]}.")
    out = col2im(x, in_size=size, ksize=ks, stride=st, padding=pads, dilation=dil)
    return squeeze(out, 0) if added else out


# -- pixel and channel shuffles ----------------------------------------------------------------
def pixel_shuffle(input, upscale_factor):
    r"""Rearranges :math:`(*, C r^2, H, W) \to (*, C, H r, W r)` (sub-pixel convolution).

    ``out[..., c, h r + i, w r + j] = input[..., c r^2 + i r + j, h, w]``.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.pixel_shuffle(ember.ones(1, 8, 3, 3), 2).shape
        ember.Size([1, 2, 6, 6])
    """
    r = int(upscale_factor)
    if input.ndim < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but got "
                           f"input with {input.ndim} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be "
                           f"divisible by the square of upscale_factor, but input.size(-3)={c} "
                           f"is not divisible by {r * r}")
    n = len(lead)
    x = reshape(input, tuple(lead) + (c // (r * r), r, r, h, w))
    x = permute(x, tuple(range(n)) + tuple(n + i for i in (0, 3, 1, 4, 2)))
    return reshape(x, tuple(lead) + (c // (r * r), h * r, w * r))


def pixel_unshuffle(input, downscale_factor):
    r"""The inverse of ``pixel_shuffle``: :math:`(*, C, H r, W r) \to (*, C r^2, H, W)`.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.pixel_unshuffle(ember.ones(1, 2, 6, 6), 2).shape
        ember.Size([1, 8, 3, 3])
    """
    r = int(downscale_factor)
    if input.ndim < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but "
                           f"got input with {input.ndim} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    *lead, c, h, w = input.shape
    if h % r or w % r:
        which, val = ("height", h) if h % r else ("width", w)
        raise RuntimeError(f"pixel_unshuffle expects {which} to be divisible by "
                           f"downscale_factor, but input.size({-2 if h % r else -1})={val} is "
                           f"not divisible by {r}")
    n = len(lead)
    x = reshape(input, tuple(lead) + (c, h // r, r, w // r, r))
    x = permute(x, tuple(range(n)) + tuple(n + i for i in (0, 2, 4, 1, 3)))
    return reshape(x, tuple(lead) + (c * r * r, h // r, w // r))


def channel_shuffle(input, groups):
    r"""Interleaves channel groups: :math:`(N, g \cdot k, *) \to` channel ``i * g + j`` takes
    input channel ``j * k + i``.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.channel_shuffle(ember.arange(4.).reshape(1, 4, 1, 1), 2).flatten()
        tensor([0., 2., 1., 3.])
    """
    g = int(groups)
    if input.ndim < 3:
        raise RuntimeError(f"channel_shuffle expects input to have at least 3 dimensions, but "
                           f"got input with {input.ndim} dimension(s)")
    if g <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of "
                           f"groups:{g}")
    n, c = input.shape[:2]
    if c % g:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels "
                           f"and {g} groups.")
    rest = tuple(input.shape[2:])
    x = reshape(input, (n, g, c // g) + rest)
    return reshape(transpose(x, 1, 2), (n, c) + rest)


native_channel_shuffle = channel_shuffle
