r"""Attention: ``scaled_dot_product_attention`` and ``multi_head_attention_forward``.

.. math::
    \mathrm{Attention}(Q, K, V) = \mathrm{softmax}\!\left(\frac{Q K^T}{\sqrt{d}} + M\right) V

where the mask :math:`M` is 0 where attention is allowed and :math:`-\infty` where not
(boolean masks are converted; float masks are added as they are). Both functions are
composites of ``matmul``, ``softmax`` and elementwise ops, so they differentiate to any
order.
"""

import math
import warnings

import numpy as np

from ember.ops.elementwise import where
from ember.ops.views import transpose, unsqueeze, squeeze, reshape
from ember.ops.shape import cat, chunk
from ember.ops.creation import zeros
from ember.nn._functional._seq_ops import const
from ember.nn._functional.activation import softmax
from ember.nn._functional.dropout import dropout
from ember.nn._functional.linear import linear

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]


def _float_mask(mask, dtype, xp):
    """An additive float mask array from a boolean one (True = may attend)."""
    out = xp.zeros(mask.shape, dtype=dtype)
    out[~mask] = -np.inf
    return out


def _check_mask_dtype(mask, query):
    kind = mask._data.dtype
    if kind != np.bool_ and kind != query._data.dtype:
        raise RuntimeError(f"Expected attn_mask dtype to be bool or float or to match query "
                           f"dtype, but got attn_mask.dtype: {_cname(mask)} and  query.dtype: "
                           f"{_cname(query)} instead.")


def _cname(t):
    return {"int64": "long int", "int32": "int", "float32": "float", "float64": "double",
            "float16": "c10::Half", "bfloat16": "c10::BFloat16", "bool": "bool"}.get(
        t.dtype.name, t.dtype.name)


def _mask_terms(mask, query):
    """The additive mask for the scores, and a 0/1 factor for rows with no key (or None).

    A query row whose keys are all masked would give softmax(-inf, ..., -inf) = NaN; such
    rows attend to every key instead and are zeroed afterwards, as PyTorch's kernel does.
    """
    _check_mask_dtype(mask, query)
    xp, dt = query._device.xp, query._data.dtype
    is_bool = mask._data.dtype == np.bool_
    allowed = mask._data if is_bool else mask._data != -np.inf
    dead = ~allowed.any(-1, keepdims=True)
    if not bool(dead.any()):
        return (const(_float_mask(allowed, dt, xp), query) if is_bool else mask), None
    keep = const((~dead).astype(dt), query)
    if is_bool:
        return const(_float_mask(allowed | dead, dt, xp), query), keep
    return where(const(dead, query), 0.0, mask), keep


def _repeat_heads(x, n):
    """Repeat each head ``n`` times along dim -3 (``repeat_interleave``)."""
    shp = tuple(x.shape)
    x = unsqueeze(x, -3).expand(shp[:-3] + (shp[-3], n) + shp[-2:])
    return reshape(x, shp[:-3] + (shp[-3] * n,) + shp[-2:])


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    r"""Attention of ``query`` (..., L, E) over ``key`` (..., S, E) / ``value`` (..., S, Ev).

    .. math::
        \mathrm{softmax}(Q K^T \cdot \text{scale} + M)\, V, \qquad
        \text{scale} = 1/\sqrt{E} \text{ by default}

    Args:
        attn_mask: boolean (True = take part in attention) or float (added to the
            scores), broadcastable to (..., L, S).
        dropout_p: dropout on the attention weights (applied whenever > 0).
        is_causal: mask out keys after the query position (top-left aligned tril).
        scale: the score scale; default :math:`1/\sqrt{E}`.
        enable_gqa: grouped-query attention: key/value may have fewer heads (dim -3)
            that divide the query's heads; each is shared by consecutive query heads.

    A query whose keys are all masked out gets a zero output (and zero gradients), as in
    PyTorch.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> q = k = v = ember.ones(1, 2, 3, 4)
        >>> F.scaled_dot_product_attention(q, k, v, is_causal=True).shape
        ember.Size([1, 2, 3, 4])
    """
    if is_causal and attn_mask is not None:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set "
                           "when is_causal=True")
    L, S, E = query.shape[-2], key.shape[-2], query.shape[-1]
    if enable_gqa and query.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        hq, hk = query.shape[-3], key.shape[-3]
        if hq % hk or value.shape[-3] != hk:
            raise RuntimeError("Number of heads in key and value must divide the number of "
                               "heads in query")
        key, value = _repeat_heads(key, hq // hk), _repeat_heads(value, hq // hk)
    scale = 1.0 / math.sqrt(E) if scale is None else scale
    scores = (query * scale) @ transpose(key, -2, -1)
    keep_rows = None
    if is_causal:
        xp = query._device.xp
        attn_mask = const(xp.tril(xp.ones((L, S), dtype=bool)), query)
    if attn_mask is not None:
        add, keep_rows = _mask_terms(attn_mask, query)
        scores = scores + add
    attn = softmax(scores, -1)
    if keep_rows is not None:
        attn = attn * keep_rows
    if dropout_p > 0.0:
        attn = dropout(attn, dropout_p, True)
    return attn @ value


# -- multi-head attention ------------------------------------------------------------------------
def _canonical_mask(mask, name, query):
    """Masks of MultiheadAttention as float (True = masked out, becomes -inf)."""
    if mask is None:
        return None
    kind = mask._data.dtype
    if kind != np.bool_ and kind.kind != "f":
        raise AssertionError(f"only bool and floating types of {name} are supported")
    if kind == np.bool_:
        xp = mask._device.xp
        arr = xp.zeros(mask.shape, dtype=query._data.dtype)
        arr[mask._data] = -np.inf
        return const(arr, query)
    return mask


def _in_projection(query, key, value, w, b, separate, qkv_w):
    e = query.shape[-1]
    if not separate:
        if query is key and key is value:
            return chunk(linear(query, w, b), 3, -1)
        bq, bkv = (None, None) if b is None else (b[:e], b[e:])
        q = linear(query, w[:e], bq)
        if key is value:
            k, v = chunk(linear(key, w[e:], bkv), 2, -1)
            return q, k, v
        bk, bv = (None, None) if b is None else (b[e:2 * e], b[2 * e:])
        return q, linear(key, w[e:2 * e], bk), linear(value, w[2 * e:], bv)
    wq, wk, wv = qkv_w
    bq, bk, bv = (None, None, None) if b is None else (b[:e], b[e:2 * e], b[2 * e:])
    return linear(query, wq, bq), linear(key, wk, bk), linear(value, wv, bv)


def _pad_last(mask, n=1):
    """Append ``n`` zero columns (attend) to a float mask's last dim."""
    if mask is None:
        return None
    z = zeros(tuple(mask.shape[:-1]) + (n,), dtype=mask.dtype, device=mask.device)
    return cat([mask, z], -1)


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads,
                                 in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn,
                                 dropout_p, out_proj_weight, out_proj_bias, training=True,
                                 key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights=True, is_causal=False):
    r"""Multi-head attention on sequence-first inputs (L, N, E) (or unbatched (L, E)).

    .. math::
        \mathrm{MHA}(Q, K, V) = [\mathrm{head}_1; \dots; \mathrm{head}_h] W^O, \quad
        \mathrm{head}_i = \mathrm{Attention}(Q W_i^Q, K W_i^K, V W_i^V)

    Masks follow :class:`~ember.nn.MultiheadAttention`: in a boolean ``attn_mask`` or
    ``key_padding_mask``, True means *not allowed*. Returns ``(output, weights)``;
    weights are (N, L, S) averaged over heads, (N, H, L, S) without averaging, or None
    when ``need_weights`` is False (then the fused scaled-dot-product path runs).
    """
    batched = query.dim() == 3
    if not batched:
        query, key, value = unsqueeze(query, 1), unsqueeze(key, 1), unsqueeze(value, 1)
        if key_padding_mask is not None:
            key_padding_mask = unsqueeze(key_padding_mask, 0)
    tgt_len, bsz, embed_dim = query.shape
    _check_shapes(query, key, value, embed_dim_to_check, num_heads)
    attn_mask, key_padding_mask, is_causal = _mha_masks(query, attn_mask, key_padding_mask,
                                                        need_weights, is_causal)
    q, k, v = _in_projection(query, key, value, in_proj_weight, in_proj_bias,
                             use_separate_proj_weight, (q_proj_weight, k_proj_weight,
                                                        v_proj_weight))
    if attn_mask is not None:
        attn_mask = _attn_mask_3d(attn_mask, bsz * num_heads, tgt_len, key.shape[0])
    if bias_k is not None and bias_v is not None:
        k = cat([k, bias_k.expand(1, bsz, embed_dim)], 0)
        v = cat([v, bias_v.expand(1, bsz, embed_dim)], 0)
        attn_mask, key_padding_mask = _pad_last(attn_mask), _pad_last(key_padding_mask)
    q, k, v = (_heads(t, bsz * num_heads) for t in (q, k, v))
    k = k if static_k is None else static_k
    v = v if static_v is None else static_v
    if add_zero_attn:
        k = cat([k, zeros((k.shape[0], 1, k.shape[2]), dtype=k.dtype, device=k.device)], 1)
        v = cat([v, zeros((v.shape[0], 1, v.shape[2]), dtype=v.dtype, device=v.device)], 1)
        attn_mask, key_padding_mask = _pad_last(attn_mask), _pad_last(key_padding_mask)
    if key_padding_mask is not None:
        attn_mask = _merge_padding(attn_mask, key_padding_mask, bsz, num_heads, k.shape[1])
    dropout_p = dropout_p if training else 0.0
    if need_weights:
        out, weights = _attend_with_weights(q, k, v, attn_mask, dropout_p, bsz, num_heads)
        if average_attn_weights:
            weights = weights.mean(1)
    else:
        out = _attend_fused(q, k, v, attn_mask, dropout_p, is_causal, bsz, num_heads)
        weights = None
    out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, embed_dim)
    if not batched:
        out = squeeze(out, 1)
        weights = squeeze(weights, 0) if weights is not None else None
    return out, weights


def _check_shapes(query, key, value, embed_dim_to_check, num_heads):
    embed_dim = query.shape[-1]
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but "
                             f"got {embed_dim}")
    if embed_dim % num_heads:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if tuple(key.shape[:2]) != tuple(value.shape[:2]):
        raise AssertionError(f"key's sequence and batch dims {tuple(key.shape[:2])} do not "
                             f"match value's {tuple(value.shape[:2])}")


def _mha_masks(query, attn_mask, key_padding_mask, need_weights, is_causal):
    """Float masks (True -> -inf) and whether the causal kernel may replace ``attn_mask``."""
    if (key_padding_mask is not None and attn_mask is not None
            and (key_padding_mask._data.dtype == np.bool_) != (attn_mask._data.dtype == np.bool_)):
        warnings.warn("Support for mismatched key_padding_mask and attn_mask is deprecated. Use "
                      "same type for both instead.", stacklevel=4)
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", query)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the "
                           "Transformer module method `generate_square_subsequent_mask` to "
                           "create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        return None, None, True  # the scaled-dot-product path applies the causal mask itself
    attn_mask = _canonical_mask(attn_mask, "attn_mask", query)
    return attn_mask, key_padding_mask, is_causal and key_padding_mask is None


def _heads(x, n_bh):
    """(S, N, E) -> (N * H, S, E / H)."""
    return transpose(reshape(x, (x.shape[0], n_bh, x.shape[2] * x.shape[1] // n_bh)), 0, 1)


def _merge_padding(attn_mask, key_padding_mask, bsz, num_heads, src_len):
    if tuple(key_padding_mask.shape) != (bsz, src_len):
        raise AssertionError(f"expecting key_padding_mask shape of {(bsz, src_len)}, but got "
                             f"{tuple(key_padding_mask.shape)}")
    kpm = reshape(key_padding_mask.reshape(bsz, 1, 1, src_len).expand(
        bsz, num_heads, 1, src_len), (bsz * num_heads, 1, src_len))
    return kpm if attn_mask is None else attn_mask + kpm


def _attend_with_weights(q, k, v, attn_mask, dropout_p, bsz, num_heads):
    """Explicit softmax (the weights are returned): out (L * N, E), weights (N, H, L, S)."""
    n_bh, tgt_len, head_dim = q.shape
    scores = (q * (1.0 / math.sqrt(head_dim))) @ transpose(k, -2, -1)
    if attn_mask is not None:
        scores = scores + attn_mask
    weights = softmax(scores, -1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p)
    out = reshape(transpose(weights @ v, 0, 1), (tgt_len * bsz, head_dim * num_heads))
    return out, weights.reshape(bsz, num_heads, tgt_len, k.shape[1])


def _attend_fused(q, k, v, attn_mask, dropout_p, is_causal, bsz, num_heads):
    """Through :func:`scaled_dot_product_attention`: out (L * N, E)."""
    n_bh, tgt_len, head_dim = q.shape
    src_len = k.shape[1]
    if attn_mask is not None:  # (1, L, S) broadcasts over batch and heads
        attn_mask = unsqueeze(attn_mask, 0) if attn_mask.shape[0] == 1 else \
            attn_mask.reshape(bsz, num_heads, -1, src_len)
    q = q.reshape(bsz, num_heads, tgt_len, head_dim)
    k = k.reshape(bsz, num_heads, src_len, head_dim)
    v = v.reshape(bsz, num_heads, src_len, head_dim)
    out = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)
    return reshape(out.permute(2, 0, 1, 3), (bsz * tgt_len, head_dim * num_heads))


def _attn_mask_3d(mask, n_bh, tgt_len, src_len):
    if mask.dim() == 2:
        if tuple(mask.shape) != (tgt_len, src_len):
            raise RuntimeError(f"The shape of the 2D attn_mask is torch.Size({list(mask.shape)}), "
                               f"but should be {(tgt_len, src_len)}.")
        return unsqueeze(mask, 0)
    if mask.dim() == 3:
        if tuple(mask.shape) != (n_bh, tgt_len, src_len):
            raise RuntimeError(f"The shape of the 3D attn_mask is torch.Size({list(mask.shape)}), "
                               f"but should be {(n_bh, tgt_len, src_len)}.")
        return mask
    raise RuntimeError(f"attn_mask's dimension {mask.dim()} is not supported")

