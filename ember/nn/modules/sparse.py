"""``Embedding`` and ``EmbeddingBag``: lookup tables of learned vectors."""

from ember.autograd.grad_mode import no_grad
from ember.nn import init
from ember.nn._functional import embedding as F
from ember.nn.modules.module import Module
from ember.nn.parameter import Parameter
from ember.ops.creation import empty

__all__ = ["Embedding", "EmbeddingBag"]


def _check_padding_idx(padding_idx, n):
    if padding_idx is None:
        return None
    if padding_idx > 0 and padding_idx >= n:
        raise AssertionError("Padding_idx must be within num_embeddings")
    if padding_idx < 0:
        if padding_idx < -n:
            raise AssertionError("Padding_idx must be within num_embeddings")
        padding_idx += n
    return padding_idx


def _make_weight(n, dim, _weight, freeze, device, dtype):
    if _weight is None:
        return Parameter(empty((n, dim), device=device, dtype=dtype), requires_grad=not freeze)
    if tuple(_weight.shape) != (n, dim):
        raise AssertionError("Shape of weight does not match num_embeddings and embedding_dim")
    return Parameter(_weight, requires_grad=not freeze)


class Embedding(Module):
    r"""A lookup table: row ``i`` of ``weight`` is the embedding of index ``i``.

    Args:
        num_embeddings: size of the table :math:`V`.
        embedding_dim: size of each vector :math:`D`.
        padding_idx: this row is initialised to zeros and gets no gradient.
        max_norm: looked-up rows with a larger ``norm_type`` norm are renormalised in place.
        norm_type: the p of that norm. Default: 2.
        scale_grad_by_freq: scale gradients by the inverse frequency of the indices in the
            mini-batch. Default: ``False``.
        sparse: must be ``False`` (sparse gradients are not supported).

    Attributes:
        weight: :math:`(V, D)`, initialised from :math:`\mathcal{N}(0, 1)`.

    Shape:
        Input: integer indices of any shape :math:`(*)`; output :math:`(*, D)`.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.Embedding(10, 3)(ember.tensor([[1, 2], [4, 5]])).shape
        ember.Size([2, 2, 3])
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None,
                 norm_type=2.0, scale_grad_by_freq=False, sparse=False, _weight=None,
                 _freeze=False, device=None, dtype=None):
        super().__init__()
        if sparse:
            raise NotImplementedError("Embedding: sparse gradients are not supported in ember; "
                                      "use sparse=False")
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = _check_padding_idx(padding_idx, num_embeddings)
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.sparse = sparse
        self.weight = _make_weight(num_embeddings, embedding_dim, _weight, _freeze, device,
                                   dtype)
        if _weight is None:
            self.reset_parameters()

    def reset_parameters(self):
        init.normal_(self.weight)
        self._fill_padding_idx_with_zero()

    def _fill_padding_idx_with_zero(self):
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx].fill_(0)

    def forward(self, input):
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm,
                           self.norm_type, self.scale_grad_by_freq, self.sparse)

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        if self.sparse is not False:
            s += ", sparse=True"
        return s

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None,
                        norm_type=2.0, scale_grad_by_freq=False, sparse=False):
        """An Embedding whose weight is ``embeddings`` (2-D; frozen unless ``freeze=False``)."""
        if embeddings.dim() != 2:
            raise AssertionError("Embeddings parameter is expected to be 2-dimensional")
        rows, cols = tuple(embeddings.shape)
        return cls(rows, cols, _weight=embeddings, _freeze=freeze, padding_idx=padding_idx,
                   max_norm=max_norm, norm_type=norm_type,
                   scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)


class EmbeddingBag(Module):
    r"""Sums, means or maxes of bags of embeddings.

    Bags are the rows of a 2-D input, or the slices between consecutive ``offsets`` of a
    1-D input. With ``mode='sum'``, ``per_sample_weights`` scales each looked-up row.

    Args:
        num_embeddings, embedding_dim, max_norm, norm_type, scale_grad_by_freq, sparse,
            padding_idx: as in :class:`Embedding` (``padding_idx`` entries are left out of
            their bag).
        mode: ``'sum'``, ``'mean'`` (default) or ``'max'``.
        include_last_offset: ``offsets`` has one more entry, the end of the last bag.

    Attributes:
        weight: :math:`(V, D)` from :math:`\mathcal{N}(0, 1)`.
    """

    def __init__(self, num_embeddings, embedding_dim, max_norm=None, norm_type=2.0,
                 scale_grad_by_freq=False, mode="mean", sparse=False, _weight=None,
                 include_last_offset=False, padding_idx=None, device=None, dtype=None):
        super().__init__()
        if sparse:
            raise NotImplementedError("EmbeddingBag: sparse gradients are not supported in "
                                      "ember; use sparse=False")
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.padding_idx = _check_padding_idx(padding_idx, num_embeddings)
        self.weight = _make_weight(num_embeddings, embedding_dim, _weight, False, device, dtype)
        self.mode = mode
        self.sparse = sparse
        self.include_last_offset = include_last_offset
        if _weight is None:
            self.reset_parameters()

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx].fill_(0)

    def forward(self, input, offsets=None, per_sample_weights=None):
        return F.embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type,
                               self.scale_grad_by_freq, self.mode, self.sparse,
                               per_sample_weights, self.include_last_offset, self.padding_idx)

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        s += f", mode={self.mode!r}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        return s

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, max_norm=None, norm_type=2.0,
                        scale_grad_by_freq=False, mode="mean", sparse=False,
                        include_last_offset=False, padding_idx=None):
        """An EmbeddingBag whose weight is ``embeddings`` (frozen unless ``freeze=False``)."""
        if embeddings.dim() != 2:
            raise AssertionError("Embeddings parameter is expected to be 2-dimensional")
        rows, cols = tuple(embeddings.shape)
        bag = cls(rows, cols, _weight=embeddings, max_norm=max_norm, norm_type=norm_type,
                  scale_grad_by_freq=scale_grad_by_freq, mode=mode, sparse=sparse,
                  include_last_offset=include_last_offset, padding_idx=padding_idx)
        bag.weight.requires_grad = not freeze
        return bag
