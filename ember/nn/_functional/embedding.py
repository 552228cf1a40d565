"""Embedding lookups (``embedding``, ``embedding_bag``) and ``one_hot``.

``embedding`` is a primitive pair: the forward gathers rows, its gradient scatters the
incoming rows back with ``embedding_dense_backward`` (repeated indices accumulate; the
``padding_idx`` row gets no gradient; ``scale_grad_by_freq`` divides by each index's
count in the batch). Each is the other's gradient, so gradients of gradients work.
"""

import numpy as np

from ember.backend import compat
from ember import _dtype
from ember._tensor import Tensor, _wrap
from ember.autograd.grad_mode import no_grad
from ember.ops._registry import primitive
from ember.ops.views import reshape

__all__ = ["embedding", "embedding_bag", "one_hot"]


def _scatter_rows(xp, z, idx, rows):
    """``z[idx[i]] += rows[i]`` with repeated indices accumulating."""
    if xp is not np:
        return compat.scatter_add(xp, z, idx, rows)
    if idx.size == 0:
        return z
    sparse = _scipy_sparse()
    if sparse is not None and rows.dtype in (np.float32, np.float64):
        # a (V, N) 0/1 matrix times the rows: 10x faster than np.add.at on CPU
        n = idx.size
        sel = sparse.csr_matrix((np.ones(n, rows.dtype), (idx, np.arange(n))),
                                shape=(z.shape[0], n))
        z += sel @ rows
        return z
    np.add.at(z, idx, rows)
    return z


def _scipy_sparse():
    try:
        import scipy.sparse
        return scipy.sparse
    except ImportError:
        return None


@primitive("embedding", save=(1,))
def _embedding(xp, weight, indices, num_weights, padding_idx, scale_grad_by_freq):
    return xp.take(weight, indices, axis=0)


@_embedding.defvjp
def _(ctx, g):
    p = ctx.params
    return (_embedding_backward(g, ctx.inputs[1], **p), None)


@primitive("embedding_dense_backward", save=(1,))
def _embedding_backward(xp, g, indices, num_weights, padding_idx, scale_grad_by_freq):
    dim = g.shape[-1]
    idx = indices.reshape(-1)
    rows = g.reshape(-1, dim)
    keep = None
    if padding_idx is not None:
        keep = idx != padding_idx
    if scale_grad_by_freq:
        counts = xp.bincount(idx, minlength=num_weights)
        rows = rows / counts[idx][:, None].astype(rows.dtype)
    if keep is not None:
        idx, rows = idx[keep], rows[keep]
    z = xp.zeros((num_weights, dim), dtype=g.dtype)
    return _scatter_rows(xp, z, idx, rows)


@_embedding_backward.defvjp
def _(ctx, gg):
    p = ctx.params
    idx = ctx.inputs[1]
    out = _embedding(gg, idx, **p)
    mask, scale = _row_factors(idx, p, gg._data.dtype)
    if scale is not None:
        out = out * scale
    if mask is not None:
        out = out * mask
    return (out, None)


def _row_factors(idx, p, dtype):
    """Per-lookup factors the backward applied: the padding mask and 1/count."""
    xp = idx.device.xp
    a = idx._data
    mask = scale = None
    if p["padding_idx"] is not None:
        mask = _wrap((a != p["padding_idx"])[..., None].astype(dtype), idx.device)
    if p["scale_grad_by_freq"]:
        counts = xp.bincount(a.reshape(-1), minlength=p["num_weights"])
        scale = _wrap((1.0 / counts[a])[..., None].astype(dtype), idx.device)
    return mask, scale


def _check_indices(input, op):
    if not isinstance(input, Tensor) or input.dtype not in (_dtype.int64, _dtype.int32):
        got = input.type() if isinstance(input, Tensor) else type(input).__name__
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got {got} instead (while "
                           f"checking arguments for {op})")


def _check_range(a, n, op):
    if a.size and (int(a.min()) < 0 or int(a.max()) >= n):
        bad = int(a.max()) if int(a.max()) >= n else int(a.min())
        raise IndexError(f"{op}: index {bad} is out of range for a weight with {n} rows "
                         f"(index out of range in self)")


def _renorm_(weight, indices, max_norm, norm_type):
    """Rescale in place the rows of ``weight`` used by ``indices`` to norm <= ``max_norm``."""
    xp = weight.device.xp
    rows = xp.unique(indices._data.reshape(-1))
    w = weight._data
    sel = w[rows].astype(np.float64)
    norms = xp.linalg.norm(sel, ord=norm_type, axis=1) if norm_type != 2 else \
        xp.sqrt((sel * sel).sum(axis=1))
    big = norms > max_norm
    if bool(big.any()):
        factor = max_norm / (norms[big] + 1e-7)
        w[rows[big]] = (sel[big] * factor[:, None]).astype(w.dtype)
        weight._bump()


def _padding(padding_idx, n):
    if padding_idx is None:
        return None
    if not -n <= padding_idx < n:
        raise AssertionError("Padding_idx must be within num_embeddings")
    return padding_idx % n


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    r"""Look up rows of ``weight``: ``out[..., :] = weight[input[...], :]``.

    Args:
        input: integer indices, any shape.
        weight: :math:`(V, D)` embedding matrix.
        padding_idx: the row at this index gets no gradient.
        max_norm: rows looked up are first renormalised (in place) to this ``norm_type``
            norm when larger.
        scale_grad_by_freq: scale each row's gradient by 1 / (its count in ``input``).
        sparse: sparse gradients are not supported (must be ``False``).

    Returns:
        ``input.shape + (D,)``.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.embedding(ember.tensor([1, 0]), ember.eye(2))
        tensor([[0., 1.],
                [1., 0.]])
    """
    if sparse:
        raise NotImplementedError("embedding: sparse gradients are not supported in ember; "
                                  "use sparse=False")
    _check_indices(input, "embedding")
    if weight.dim() != 2:
        raise RuntimeError(f"'weight' must be 2-D, got shape {tuple(weight.shape)}")
    n = weight.shape[0]
    _check_range(input._data, n, "embedding")
    if max_norm is not None:
        with no_grad():
            _renorm_(weight, input, max_norm, norm_type)
    return _embedding(weight, input, num_weights=n, padding_idx=_padding(padding_idx, n),
                      scale_grad_by_freq=bool(scale_grad_by_freq))


def _bags(input, offsets, include_last_offset):
    """Flat indices and the bag of each position (``bag_of``), plus the number of bags."""
    if input.dim() == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated "
                             "is a mini-batch of fixed length sequences. However, found offsets "
                             f"of type {type(offsets).__name__}")
        b, n = tuple(input.shape)
        return reshape(input, (-1,)), np.repeat(np.arange(b), n), b
    if input.dim() != 1:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension "
                         f"{input.dim()}")
    if offsets is None:
        raise ValueError("offsets has to be a 1D Tensor but got None")
    if offsets.dim() != 1:
        raise ValueError("offsets has to be a 1D Tensor")
    off = offsets.numpy(force=True).astype(np.int64)
    total = input.shape[0]
    if include_last_offset:
        off = off[:-1]
    b = len(off)
    if b and off[0] != 0:
        raise RuntimeError(f"offsets[0] has to be 0, i.e., the first sequence in the mini-batch "
                           f"has to start from position 0. However, got {off[0]}")
    bag_of = np.searchsorted(off, np.arange(total), side="right") - 1
    return input, bag_of, b


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2,
                  scale_grad_by_freq=False, mode="mean", sparse=False, per_sample_weights=None,
                  include_last_offset=False, padding_idx=None):
    r"""Sums, means or maxes of bags of embeddings, without building the embeddings of
    every bag explicitly.

    Bags are the rows of a 2-D ``input``, or the slices ``input[offsets[i]:offsets[i+1]]``
    of a 1-D one. Entries equal to ``padding_idx`` are left out (and not counted by
    ``mean``); empty bags give zeros. ``per_sample_weights`` (``mode='sum'`` only) scales
    each looked-up row.

    Returns:
        :math:`(B, D)`.
    """
    if mode not in ("sum", "mean", "max"):
        raise ValueError("mode has to be one of sum, mean or max")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. "
                                  f"per_sample_weights is only supported for mode='sum' (got "
                                  f"mode='{mode}'). Please open a feature request on GitHub.")
    if per_sample_weights is not None and tuple(per_sample_weights.shape) != tuple(
            input.shape):
        raise ValueError(f"embedding_bag: If per_sample_weights ({tuple(per_sample_weights.shape)}"
                         f") is not None, then it must have the same shape as the input "
                         f"({tuple(input.shape)})")
    _check_indices(input, "embedding_bag")
    flat, bag_of, b = _bags(input, offsets, include_last_offset)
    n = weight.shape[0]
    pad = _padding(padding_idx, n)
    rows = embedding(flat, weight, None, max_norm, norm_type, scale_grad_by_freq)
    valid = np.ones(len(bag_of), dtype=bool) if pad is None else \
        flat.numpy(force=True) != pad
    if mode == "max":
        return _bag_max(rows, bag_of, valid, b)
    counts = np.bincount(bag_of[valid], minlength=b)
    coef = valid.astype(np.float64)
    if mode == "mean":
        coef /= np.maximum(counts, 1)[bag_of]
    rows = rows * _const(coef[:, None], weight)
    if per_sample_weights is not None:
        rows = rows * reshape(per_sample_weights, (-1, 1))
    # the sum of each bag is a scatter-add of its rows (the adjoint of a lookup)
    bags = _wrap(weight.device.xp.asarray(bag_of.astype(np.int64)), weight.device)
    return _embedding_backward(rows, bags, num_weights=b, padding_idx=None,
                               scale_grad_by_freq=False)


def _const(arr, like):
    xp = like.device.xp
    return _wrap(xp.asarray(arr.astype(like._data.dtype)), like.device)


def _bag_max(rows, bag_of, valid, b):
    """Elementwise max over each bag: bags padded to one length with ``-inf`` rows."""
    from ember.ops.shape import cat
    from ember.ops.elementwise import where
    from ember.ops.reduce import amax
    keep = np.nonzero(valid)[0]
    bags = bag_of[keep]
    counts = np.bincount(bags, minlength=b)
    width = max(int(counts.max()) if b else 0, 1)
    gather = np.full((b, width), rows.shape[0], dtype=np.int64)  # the -inf row by default
    starts = np.cumsum(counts) - counts
    gather[bags, np.arange(len(keep)) - starts[bags]] = keep
    neg = _const(np.full((1, rows.shape[1]), -np.inf), rows)
    padded = cat([rows, neg], 0)[_wrap(rows.device.xp.asarray(gather), rows.device)]
    out = amax(padded, 1)
    empty = _const((counts == 0)[:, None].astype(np.float64), rows) > 0
    return where(empty, _const(np.zeros((b, rows.shape[1])), rows), out)


def one_hot(tensor, num_classes=-1):
    """One-hot encoding of an int64 tensor: ``out[..., k] = (tensor[...] == k)``.

    Args:
        tensor: class indices (int64).
        num_classes: number of classes; ``-1`` means ``tensor.max() + 1``.

    Returns:
        An int64 tensor of shape ``tensor.shape + (num_classes,)``.

    Example:
        >>> import ember
        >>> import ember.nn.functional as F
        >>> F.one_hot(ember.tensor([0, 2]), 3)
        tensor([[1, 0, 0],
                [0, 0, 1]])
    """
    if not isinstance(tensor, Tensor) or tensor.dtype is not _dtype.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    a = tensor._data
    xp = tensor.device.xp
    if num_classes == -1:
        if a.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(a.max()) + 1
    if a.size and int(a.min()) < 0:
        raise RuntimeError("Class values must be non-negative.")
    if a.size and int(a.max()) >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    out = (a[..., None] == xp.arange(num_classes)).astype(np.int64)
    return _wrap(out, tensor.device)
