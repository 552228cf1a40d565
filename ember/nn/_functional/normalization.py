r"""Normalisation: batch, instance, layer, group, RMS and local response norm, ``normalize``.

Batch, instance, layer and group norm share one primitive (one per PyTorch name, for
``grad_fn``): :math:`y = \hat{x} \gamma + \beta` with
:math:`\hat{x} = (x - \mu) / \sqrt{\sigma^2 + \epsilon}` over the given dims (biased
variance). The statistics :math:`\mu, \sigma^2` come from a non-differentiable primitive
(they also update the running statistics) and are inputs of the normalising one, whose
rule gives the total derivative (through the statistics too). A primitive for speed: one
node, statistics computed once, and the classic closed-form gradient

.. math:: \frac{\partial L}{\partial x} = \frac{1}{\sigma}\left(\hat{g} - \overline{\hat{g}}
          - \hat{x} \, \overline{\hat{g} \hat{x}}\right), \qquad \hat{g} = g \gamma

(bars are means over the normalised dims). Its rule has a fast form on arrays and an
ember-ops form used while recording (see ``_core.py``). RMS norm, local response norm and
``normalize`` are composites.
"""

from ember._tensor import Tensor
from ember.autograd.grad_mode import no_grad
from ember.nn._functional._core import recording, wrap_as, compute_dtype
from ember.ops._registry import Primitive
from ember.ops.elementwise import rsqrt, clamp
from ember.ops.reduce import sum as _sum_op, norm as _norm
from ember.ops.shape import cat
from ember.ops.views import reshape

__all__ = ["batch_norm", "instance_norm", "layer_norm", "group_norm", "rms_norm",
           "local_response_norm", "normalize"]


def _standardize(x, dims, eps):
    """``(x_hat, mean, biased_var)`` over ``dims`` (kept as size-1 dims), in ember ops."""
    n = 1
    for d in dims:
        n *= x.shape[d]
    mean = _sum_op(x, dims, keepdim=True) / n
    xc = x - mean
    var = _sum_op(xc * xc, dims, keepdim=True) / n
    return xc * rsqrt(var + eps), mean, var


def _stats_forward(xp, x, dims):
    xc = compute_dtype(x)
    mean = xc.mean(axis=dims, keepdims=True)
    xc = xc - mean
    xp.square(xc, out=xc)
    return mean, xc.mean(axis=dims, keepdims=True)


# the statistics: computed once, no gradient of their own (the rule below accounts for them)
_norm_stats = Primitive("norm_stats", _stats_forward, n_out=2, differentiable=False)


def _norm_forward(xp, x, w, b, mean, var, dims, wshape, eps):
    y = compute_dtype(x) - mean
    y *= 1 / xp.sqrt(var + eps)
    if w is not None:
        y *= w.reshape(wshape)
    if b is not None:
        y += b.reshape(wshape)
    return y.astype(x.dtype, copy=False)


def _param_dims(wshape):
    return tuple(i for i, s in enumerate(wshape) if s == 1)


def _norm_vjp(ctx, g):
    """The total derivative w.r.t. ``x`` (through the statistics too), ``w`` and ``b``."""
    x, w, _, mean, var = ctx.inputs
    p = ctx.params
    need_x, need_w, need_b = (e is not None for e in ctx._next[:3])
    bshape = ctx._metas[2][0] if need_b else None
    if recording():
        return _norm_vjp_ops(g, x, w, p, need_w, bshape) + (None, None)
    dims, wshape, pdims = p["dims"], p["wshape"], _param_dims(p["wshape"])
    rstd = 1 / g._device.xp.sqrt(var._data + p["eps"])
    xhat = compute_dtype(x._data) - mean._data
    xhat *= rstd
    ga = compute_dtype(g._data)
    t = ga * xhat  # few full-size temporaries: each fresh array costs page faults
    gw = wrap_as(t.sum(axis=pdims).reshape(w.shape), w) if need_w else None
    gb = wrap_as(ga.sum(axis=pdims).reshape(bshape), g) if need_b else None
    gx = None
    if need_x:
        gh = ga
        if w is not None:
            wr = w._data.reshape(wshape)
            gh = ga * wr
            t *= wr
        out = gh - gh.mean(axis=dims, keepdims=True)
        xhat *= t.mean(axis=dims, keepdims=True)
        out -= xhat
        out *= rstd
        gx = wrap_as(out, x)
    return gx, gw, gb, None, None


def _norm_vjp_ops(g, x, w, p, need_w, bshape):
    """The same gradient in ember ops (statistics recomputed from ``x``: differentiable)."""
    dims, wshape, pdims = p["dims"], p["wshape"], _param_dims(p["wshape"])
    xhat, _, var = _standardize(x, dims, p["eps"])
    n = 1
    for d in dims:
        n *= x.shape[d]
    gh = g * reshape(w, wshape) if w is not None else g
    mean_gh = _sum_op(gh, dims, keepdim=True) / n
    mean_ghx = _sum_op(gh * xhat, dims, keepdim=True) / n
    gx = (gh - mean_gh - xhat * mean_ghx) * rsqrt(var + p["eps"])
    gw = reshape(_sum_op(g * xhat, pdims), tuple(w.shape)) if need_w else None
    gb = reshape(_sum_op(g, pdims), bshape) if bshape is not None else None
    return gx, gw, gb


def _norm_primitive(name):
    # saves x, w and the statistics, not the output: in-place ops on the output are fine
    prim = Primitive(name, _norm_forward, save=(0, 1, 3, 4))
    prim.defvjp(_norm_vjp)
    return prim


_batch_norm = _norm_primitive("native_batch_norm")
_layer_norm = _norm_primitive("native_layer_norm")
_group_norm = _norm_primitive("native_group_norm")


def _normalized(prim, x, w, b, dims, wshape, eps):
    """``(y, mean, var)``: the statistics over ``dims`` (no gradient) and the normalised,
    affine-mapped ``x``; ``wshape`` broadcasts ``w`` and ``b``."""
    dims = tuple(dims)
    mean, var = _norm_stats(x, dims=dims)
    y = prim(x, w, b, mean, var, dims=dims, wshape=tuple(wshape), eps=float(eps))
    return y, mean, var


def _channel_shape(x):
    """Shape that broadcasts a per-channel (dim 1) vector over ``x``."""
    return (1, -1) + (1,) * (x.dim() - 2)


def _channel_shape_full(x):
    return (1, x.shape[1]) + (1,) * (x.dim() - 2)


def _update_running(running, new, momentum):
    """``running = (1 - momentum) * running + momentum * new``, in place, without a graph."""
    with no_grad():
        running.mul_(1 - momentum)
        running.add_(reshape(new.detach(), tuple(running.shape)).to(running.dtype) * momentum)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    r"""Batch normalisation over all dims but the channel dim 1.

    .. math:: y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \gamma + \beta

    In training the batch statistics are used (biased variance) and the running
    statistics, when given, are updated in place:
    :math:`\hat{r} = (1 - m) \hat{r} + m \cdot s` with the unbiased batch variance.
    In evaluation the running statistics are used.

    Args:
        input: :math:`(N, C, *)`.
        running_mean, running_var: :math:`(C)` or None.
        weight, bias: :math:`(C)` affine parameters :math:`\gamma, \beta` or None.
        training: use batch statistics. Default: ``False``.
        momentum: the running statistics' update factor. Default: 0.1.
        eps: added to the variance. Default: 1e-5.
    """
    if input.dim() < 2:
        raise ValueError(f"expected 2D or higher input (got {input.dim()}D input)")
    shape = _channel_shape(input)
    if not training:
        if running_mean is None or running_var is None:
            raise RuntimeError("running_mean and running_var must be defined in evaluation "
                               "mode")
        scale = rsqrt(running_var + eps)
        if weight is not None:
            scale = scale * weight
        shift = -running_mean * scale
        if bias is not None:
            shift = shift + bias
        return input * reshape(scale, shape) + reshape(shift, shape)
    dims = (0,) + tuple(range(2, input.dim()))
    count = input.numel() // input.shape[1] if input.shape[1] else 0
    if count <= 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input "
                         f"size {input.shape}")
    y, mean, var = _normalized(_batch_norm, input, weight, bias, dims,
                               _channel_shape_full(input), eps)
    if running_mean is not None:
        _update_running(running_mean, mean, momentum)
    if running_var is not None:
        _update_running(running_var, var * (count / (count - 1)), momentum)
    return y


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    r"""Instance normalisation: each channel of each sample is normalised over its spatial
    dims. With running statistics, their update averages the per-instance statistics over
    the batch; without ``use_input_stats`` the running statistics are used instead."""
    if input.dim() < 3:
        raise ValueError(f"instance_norm: expected an input with a batch, a channel and "
                         f"spatial dims (at least 3D), got {input.dim()}D")
    if not use_input_stats:
        return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    dims = tuple(range(2, input.dim()))
    count = 1
    for d in dims:
        count *= input.shape[d]
    if count <= 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size "
                         f"{input.shape}")
    y, mean, var = _normalized(_batch_norm, input, weight, bias, dims,
                               _channel_shape_full(input), eps)
    if running_mean is not None:
        _update_running(running_mean, mean.mean(0), momentum)
    if running_var is not None:
        _update_running(running_var, (var * (count / (count - 1))).mean(0), momentum)
    return y


def _check_normalized_shape(x, normalized_shape):
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or x.dim() < k or tuple(x.shape[x.dim() - k:]) != shape:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape "
                           f"[*, {', '.join(str(s) for s in shape)}], but got input of size"
                           f"{list(x.shape)}")
    return shape


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    r"""Layer normalisation over the last ``len(normalized_shape)`` dims.

    .. math:: y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \gamma + \beta

    Args:
        input: :math:`(*, \text{normalized\_shape})`.
        normalized_shape: the trailing shape to normalise over.
        weight, bias: of shape ``normalized_shape``, or None.
        eps: added to the (biased) variance. Default: 1e-5.
    """
    shape = _check_normalized_shape(input, normalized_shape)
    lead = input.dim() - len(shape)
    dims = tuple(range(lead, input.dim()))
    return _normalized(_layer_norm, input, weight, bias, dims, (1,) * lead + shape, eps)[0]


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    r"""Group normalisation: the channels (dim 1) are split into ``num_groups`` groups, each
    normalised over its channels and the spatial dims; then a per-channel affine map."""
    if input.dim() < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received "
                           f"{input.dim()}")
    n, c = input.shape[0], input.shape[1]
    if c % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by "
                           f"num_groups, but got input of shape {list(input.shape)} and "
                           f"num_groups={num_groups}")
    per = c // num_groups  # (N, G, C/G, rest): groups normalised over dims 2, 3; the
    grouped = reshape(input, (n, num_groups, per, -1))  # affine map is per channel (G, C/G)
    y = _normalized(_group_norm, grouped, weight, bias, (2, 3), (1, num_groups, per, 1), eps)[0]
    return reshape(y, tuple(input.shape))


def rms_norm(input, normalized_shape, weight=None, eps=None):
    r"""Root-mean-square normalisation over the trailing ``normalized_shape``:

    .. math:: y = \frac{x}{\sqrt{\mathrm{E}[x^2] + \epsilon}} \gamma

    ``eps=None`` uses the machine epsilon of the input's dtype.
    """
    shape = _check_normalized_shape(input, normalized_shape)
    if eps is None:
        eps = _machine_eps(input._data.dtype)
    dims = tuple(range(input.dim() - len(shape), input.dim()))
    n = 1
    for s in shape:
        n *= s
    y = input * rsqrt(_sum_op(input * input, dims, keepdim=True) / n + eps)
    return y * weight if weight is not None else y


def _machine_eps(np_dtype):
    import ml_dtypes
    return float(ml_dtypes.finfo(np_dtype).eps)


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    r"""Local response normalisation across channels:

    .. math:: b_c = a_c \left(k + \frac{\alpha}{n} \sum_{c'} a_{c'}^2\right)^{-\beta}

    where the sum runs over the ``n = size`` channels around ``c`` (zero-padded at the
    borders: ``size // 2`` before, ``(size - 1) // 2`` after).
    """
    if input.dim() < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {input.dim()} "
                         f"dimensions)")
    if input.numel() == 0:
        return input
    sq = input * input
    c = input.shape[1]
    before, after = size // 2, (size - 1) // 2
    parts = [sq]
    if before:
        parts.insert(0, _zeros_like_channels(input, before))
    if after:
        parts.append(_zeros_like_channels(input, after))
    padded = cat(parts, 1) if len(parts) > 1 else sq
    window = padded[:, 0:c]
    for i in range(1, size):
        window = window + padded[:, i:i + c]
    div = (window * (alpha / size) + k) ** beta
    return input / div


def _zeros_like_channels(x, m):
    from ember.ops.creation import zeros
    return zeros((x.shape[0], m) + tuple(x.shape[2:]), dtype=x.dtype, device=x.device)


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    r""":math:`v / \max(\lVert v \rVert_p, \epsilon)` over ``dim``."""
    if not isinstance(input, Tensor):
        raise TypeError(f"normalize(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    denom = clamp(_norm(input, p, dim, keepdim=True), min=eps)
    res = input / denom
    if out is not None:
        out.copy_(res)
        return out
    return res
