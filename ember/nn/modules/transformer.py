r"""The Transformer (Vaswani et al., 2017): encoder and decoder layers and stacks.

An encoder layer is self-attention then a feed-forward block, each wrapped in a residual
connection and layer norm:

.. math::
    x \leftarrow \mathrm{LN}(x + \mathrm{SA}(x)), \qquad
    x \leftarrow \mathrm{LN}(x + W_2\, \mathrm{drop}(\sigma(W_1 x + b_1)) + b_2)

(``norm_first=True`` normalises before each block instead: :math:`x \leftarrow x +
\mathrm{SA}(\mathrm{LN}(x))`). A decoder layer adds cross-attention over the encoder's
output (``memory``) between the two. Submodule and parameter names follow PyTorch, so
state dicts load either way.
"""

import copy

import numpy as np

from ember._dtype import get_default_dtype
from ember.ops.creation import tensor
from ember.nn import init
from ember.nn.modules.module import Module
from ember.nn.modules.container import ModuleList
from ember.nn.modules.linear import Linear
from ember.nn.modules.dropout import Dropout
from ember.nn.modules.normalization import LayerNorm
from ember.nn.modules.attention import MultiheadAttention
from ember.nn._functional.activation import relu, gelu

__all__ = ["Transformer", "TransformerEncoder", "TransformerDecoder", "TransformerEncoderLayer",
           "TransformerDecoderLayer"]


def _activation(activation):
    if isinstance(activation, str):
        if activation == "relu":
            return relu
        if activation == "gelu":
            return gelu
        raise RuntimeError(f"activation should be relu/gelu, not {activation}")
    return activation


def _get_clones(module, n):
    return ModuleList([copy.deepcopy(module) for _ in range(n)])


def _generate_square_subsequent_mask(sz, device=None, dtype=None):
    """(sz, sz) float mask: 0 on and below the diagonal, -inf above (future positions)."""
    dtype = dtype if dtype is not None else get_default_dtype()
    return tensor(np.triu(np.full((sz, sz), -np.inf), 1), dtype=dtype, device=device)


class TransformerEncoderLayer(Module):
    r"""Self-attention and a feed-forward network, with residuals and layer norms.

    Args:
        d_model: feature size of the input.
        nhead: number of attention heads.
        dim_feedforward: hidden size of the feed-forward network. Default: 2048.
        dropout: dropout probability. Default: 0.1.
        activation: ``"relu"``, ``"gelu"`` or a callable. Default: relu.
        layer_norm_eps: eps of the layer norms. Default: 1e-5.
        batch_first: (N, S, E) inputs instead of (S, N, E). Default: ``False``.
        norm_first: layer norm before (pre-LN) instead of after each block.
        bias: biases in the linear layers and layer norms. Default: ``True``.

    Example:
        >>> import ember
        >>> layer = ember.nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16)
        >>> layer(ember.randn(5, 3, 8)).shape
        ember.Size([5, 3, 8])
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation=relu,
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
                 device=None, dtype=None):
        super().__init__()
        fk = dict(device=device, dtype=dtype)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, **fk)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **fk)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **fk)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **fk)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **fk)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation_relu_or_gelu = {"relu": 1, "gelu": 2}.get(
            activation if isinstance(activation, str) else getattr(activation, "__name__", ""),
            0)
        self.activation = _activation(activation)

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff_block(x))

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal=False):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerDecoderLayer(Module):
    r"""Self-attention, cross-attention over ``memory``, and a feed-forward network.

    Arguments as in :class:`TransformerEncoderLayer`. ``forward(tgt, memory, tgt_mask=None,
    memory_mask=None, tgt_key_padding_mask=None, memory_key_padding_mask=None,
    tgt_is_causal=False, memory_is_causal=False)``.

    Example:
        >>> import ember
        >>> layer = ember.nn.TransformerDecoderLayer(d_model=8, nhead=2, dim_feedforward=16)
        >>> layer(ember.randn(4, 3, 8), ember.randn(5, 3, 8)).shape
        ember.Size([4, 3, 8])
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation=relu,
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
                 device=None, dtype=None):
        super().__init__()
        fk = dict(device=device, dtype=dtype)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, **fk)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                                 batch_first=batch_first, **fk)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **fk)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **fk)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **fk)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **fk)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **fk)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        self.activation = _activation(activation)

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False):
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask, memory_key_padding_mask,
                                    memory_is_causal)
            return x + self._ff_block(self.norm3(x))
        x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
        x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask,
                                           memory_is_causal))
        return self.norm3(x + self._ff_block(x))

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal=False):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           is_causal=is_causal, need_weights=False)[0]
        return self.dropout1(x)

    def _mha_block(self, x, mem, attn_mask, key_padding_mask, is_causal=False):
        x = self.multihead_attn(x, mem, mem, attn_mask=attn_mask,
                                key_padding_mask=key_padding_mask, is_causal=is_causal,
                                need_weights=False)[0]
        return self.dropout2(x)

    def _ff_block(self, x):
        return self.dropout3(self.linear2(self.dropout(self.activation(self.linear1(x)))))


def _is_causal_mask(mask, is_causal, size):
    """PyTorch's hint: a mask equal to the square subsequent mask is causal."""
    if is_causal is None and mask is not None:
        sz = size if size is not None else mask.shape[-2]
        ref = _generate_square_subsequent_mask(sz, device=mask.device, dtype=mask.dtype)
        return tuple(mask.shape) == tuple(ref.shape) and bool(
            (mask._data == ref._data).all())
    return bool(is_causal)


class TransformerEncoder(Module):
    r"""A stack of ``num_layers`` copies of ``encoder_layer``, then an optional ``norm``.

    Args:
        encoder_layer: a :class:`TransformerEncoderLayer` (deep-copied per layer).
        num_layers: number of layers.
        norm: optional final normalisation module.
        enable_nested_tensor: accepted for compatibility (ember has no nested tensors).
        mask_check: accepted for compatibility.

    Example:
        >>> import ember
        >>> layer = ember.nn.TransformerEncoderLayer(8, 2, 16)
        >>> ember.nn.TransformerEncoder(layer, 2)(ember.randn(5, 3, 8)).shape
        ember.Size([5, 3, 8])
    """

    def __init__(self, encoder_layer, num_layers, norm=None, enable_nested_tensor=True,
                 mask_check=True):
        super().__init__()
        self.layers = _get_clones(encoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor = enable_nested_tensor
        self.use_nested_tensor = False
        self.mask_check = mask_check

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        seq_dim = 1 if self.layers[0].self_attn.batch_first and src.dim() == 3 else 0
        causal = _is_causal_mask(mask, is_causal, src.shape[seq_dim])
        out = src
        for mod in self.layers:
            out = mod(out, src_mask=mask, is_causal=causal,
                      src_key_padding_mask=src_key_padding_mask)
        return self.norm(out) if self.norm is not None else out


class TransformerDecoder(Module):
    r"""A stack of ``num_layers`` copies of ``decoder_layer``, then an optional ``norm``.

    Example:
        >>> import ember
        >>> layer = ember.nn.TransformerDecoderLayer(8, 2, 16)
        >>> dec = ember.nn.TransformerDecoder(layer, 2)
        >>> dec(ember.randn(4, 3, 8), ember.randn(5, 3, 8)).shape
        ember.Size([4, 3, 8])
    """

    def __init__(self, decoder_layer, num_layers, norm=None):
        super().__init__()
        self.layers = _get_clones(decoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False):
        seq_dim = 1 if self.layers[0].self_attn.batch_first and tgt.dim() == 3 else 0
        causal = _is_causal_mask(tgt_mask, tgt_is_causal, tgt.shape[seq_dim])
        out = tgt
        for mod in self.layers:
            out = mod(out, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                      tgt_key_padding_mask=tgt_key_padding_mask,
                      memory_key_padding_mask=memory_key_padding_mask, tgt_is_causal=causal,
                      memory_is_causal=memory_is_causal)
        return self.norm(out) if self.norm is not None else out


class Transformer(Module):
    r"""An encoder-decoder Transformer.

    Args:
        d_model: feature size. Default: 512.
        nhead: attention heads. Default: 8.
        num_encoder_layers, num_decoder_layers: Default: 6 each.
        dim_feedforward: Default: 2048.
        dropout: Default: 0.1.
        activation: ``"relu"``, ``"gelu"`` or a callable. Default: relu.
        custom_encoder, custom_decoder: modules used instead of the default stacks.
        layer_norm_eps, batch_first, norm_first, bias: as in the layers.

    Every weight matrix (dim > 1) is initialised with ``xavier_uniform_``.

    Example:
        >>> import ember
        >>> model = ember.nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1,
        ...                              num_decoder_layers=1, dim_feedforward=16)
        >>> model(ember.randn(5, 3, 8), ember.randn(4, 3, 8)).shape
        ember.Size([4, 3, 8])
    """

    def __init__(self, d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6,
                 dim_feedforward=2048, dropout=0.1, activation=relu, custom_encoder=None,
                 custom_decoder=None, layer_norm_eps=1e-5, batch_first=False, norm_first=False,
                 bias=True, device=None, dtype=None):
        super().__init__()
        fk = dict(device=device, dtype=dtype)
        layer_kw = dict(dim_feedforward=dim_feedforward, dropout=dropout, activation=activation,
                        layer_norm_eps=layer_norm_eps, batch_first=batch_first,
                        norm_first=norm_first, bias=bias, **fk)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            layer = TransformerEncoderLayer(d_model, nhead, **layer_kw)
            norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **fk)
            self.encoder = TransformerEncoder(layer, num_encoder_layers, norm)
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            layer = TransformerDecoderLayer(d_model, nhead, **layer_kw)
            norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **fk)
            self.decoder = TransformerDecoder(layer, num_decoder_layers, norm)
        self._reset_parameters()
        self.d_model = d_model
        self.nhead = nhead
        self.batch_first = batch_first

    def forward(self, src, tgt, src_mask=None, tgt_mask=None, memory_mask=None,
                src_key_padding_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, src_is_causal=None, tgt_is_causal=None,
                memory_is_causal=False):
        batched = src.dim() == 3
        if batched:
            b = 0 if self.batch_first else 1
            if src.shape[b] != tgt.shape[b]:
                raise RuntimeError("the batch number of src and tgt must be equal")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise RuntimeError("the feature number of src and tgt must be equal to d_model")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz, device=None, dtype=None):
        """A (sz, sz) float mask with -inf above the diagonal and 0 elsewhere.

        Example:
            >>> import ember
            >>> ember.nn.Transformer.generate_square_subsequent_mask(3)
            tensor([[0., -inf, -inf],
                    [0., 0., -inf],
                    [0., 0., 0.]])
        """
        return _generate_square_subsequent_mask(sz, device=device, dtype=dtype)

    def _reset_parameters(self):
        for p in self.parameters():
            if p.dim() > 1:
                init.xavier_uniform_(p)
