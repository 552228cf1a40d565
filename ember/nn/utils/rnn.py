"""Variable-length sequences for the RNN modules: packing, padding and back.

A :class:`PackedSequence` stores a batch of sequences time step by time step: ``data``
holds, for each step ``t``, the elements of the ``batch_sizes[t]`` sequences that are
still running (sequences sorted by decreasing length; ``sorted_indices`` maps back to
the caller's order). Every conversion below is one gather (an indexing op) built from a
precomputed index, so it costs one graph node and gradients flow through it.
"""

from collections import namedtuple

import numpy as np

from ember._tensor import Tensor
from ember.ops.creation import tensor as _tensor, full
from ember.ops.shape import cat

__all__ = ["PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence",
           "pack_sequence", "unpad_sequence", "unpack_sequence", "invert_permutation"]


def invert_permutation(permutation):
    """The inverse of an index permutation (None stays None)."""
    if permutation is None:
        return None
    p = _host(permutation)
    inv = np.empty_like(p)
    inv[p] = np.arange(p.shape[0])
    return _tensor(inv, device=permutation.device)


class PackedSequence(namedtuple("PackedSequence_", ["data", "batch_sizes", "sorted_indices",
                                                    "unsorted_indices"])):
    """A batch of variable-length sequences packed time step by time step.

    Attributes:
        data: (sum of lengths, *) the elements, step by step.
        batch_sizes: (max length,) int64 on the CPU: how many sequences run at each step.
        sorted_indices: batch order -> original order (None if given sorted).
        unsorted_indices: the inverse permutation.

    Build one with :func:`pack_padded_sequence` or :func:`pack_sequence`.
    """

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:
            raise ValueError("PackedSequence: batch_sizes is required")
        if not isinstance(batch_sizes, Tensor):
            batch_sizes = _tensor(np.asarray(batch_sizes, dtype=np.int64))
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def _map(self, fn):
        return type(self)(fn(self.data), self.batch_sizes, self.sorted_indices,
                          self.unsorted_indices)

    def to(self, *args, **kwargs):
        """The same sequence with ``data`` (and the indices, by device) moved/cast."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        dev = data.device
        return type(self)(data, self.batch_sizes,
                          *(None if i is None else i.to(dev)
                            for i in (self.sorted_indices, self.unsorted_indices)))

    def cuda(self, *args, **kwargs):
        return self.to("cuda" if not args else args[0], **kwargs)

    def cpu(self, *args, **kwargs):
        return self.to("cpu")

    def double(self):
        return self._map(lambda t: t.double())

    def float(self):
        return self._map(lambda t: t.float())

    def half(self):
        return self._map(lambda t: t.half())

    @property
    def is_cuda(self):
        return self.data.is_cuda

    def is_pinned(self):
        return False


def _host(x):
    """int64 NumPy array of a tensor / sequence (indices and lengths live on the host)."""
    if isinstance(x, Tensor):
        a = x._data.get() if hasattr(x._data, "get") else x._data
    else:
        a = [int(v) for v in x]
    return np.asarray(a, dtype=np.int64).reshape(-1)


def _gather_rows(x, rows, shape):
    """``x.reshape(-1, *feat)[rows].reshape(shape)`` as one indexing node."""
    feat = tuple(x.shape[1:])
    idx = x._device.xp.asarray(rows.reshape(-1))
    return x[idx].reshape(tuple(shape) + feat)


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch (T, B, *) — or (B, T, *) with ``batch_first`` — of sequences.

    Args:
        input: padded sequences.
        lengths: each sequence's length (a list or a 1-D CPU int64 tensor).
        batch_first: whether ``input`` is (B, T, *).
        enforce_sorted: require ``lengths`` in decreasing order; otherwise the batch is
            sorted here and the permutation kept in the result.

    Example:
        >>> import ember
        >>> from ember.nn.utils.rnn import pack_padded_sequence
        >>> x = ember.tensor([[1, 2], [3, 4], [5, 0]])
        >>> pack_padded_sequence(x, [3, 2]).batch_sizes
        tensor([2, 2, 1])
    """
    lens = _host(lengths)
    if enforce_sorted:
        if np.any(lens[1:] > lens[:-1]):
            raise RuntimeError("`lengths` array must be sorted in decreasing order when "
                               "`enforce_sorted` is True. You can pass `enforce_sorted=False` "
                               "to pack_padded_sequence and/or pack_sequence to sidestep this "
                               "requirement if you do not need ONNX exportability.")
        order = None
    else:
        order = np.argsort(-lens, kind="stable")
        lens = lens[order]
    if lens.size == 0 or lens[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element "
                           "in 'lengths' that is <= 0")
    t_dim, b_dim = (1, 0) if batch_first else (0, 1)
    t_len, b = input.shape[t_dim], input.shape[b_dim]
    if lens.shape[0] != b:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got "
                           f"{lens.shape[0]} (batch_size={b})")
    if lens[0] > t_len:
        raise RuntimeError(f"pack_padded_sequence: a length of {lens[0]} exceeds the padded "
                           f"sequence length {t_len}")
    steps = np.arange(lens[0])
    batch_sizes = (lens[None, :] > steps[:, None]).sum(1)
    cols = order if order is not None else np.arange(b)
    rows = []
    for t, bs in enumerate(batch_sizes):
        c = cols[:bs]
        rows.append(c * t_len + t if batch_first else t * b + c)
    flat = input.reshape((-1,) + tuple(input.shape[2:]))
    data = _gather_rows(flat, np.concatenate(rows), (-1,))
    sorted_idx = _tensor(order, device=input.device) if order is not None else None
    return PackedSequence(data, _tensor(batch_sizes.astype(np.int64)), sorted_idx)


def _sorted_lengths(batch_sizes):
    b = int(batch_sizes[0])
    return (batch_sizes[None, :] > np.arange(b)[:, None]).sum(1)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Unpack a :class:`PackedSequence` into a padded batch and the lengths.

    Returns:
        ``(padded, lengths)``: (T, B, *) — or (B, T, *) with ``batch_first`` — in the
        original batch order, and the int64 lengths. ``total_length`` pads T further.
    """
    data = sequence.data
    bs = _host(sequence.batch_sizes)
    t_len, b = bs.shape[0], int(bs[0])
    if total_length is not None:
        if total_length < t_len:
            raise ValueError(f"Expected total_length to be at least the length of the longest "
                             f"sequence in input, but got total_length={total_length} and max "
                             f"sequence length being {t_len}")
        t_out = total_length
    else:
        t_out = t_len
    offsets = np.concatenate([[0], np.cumsum(bs)])
    pad_row = int(offsets[-1])
    pos = _host(sequence.unsorted_indices) if sequence.unsorted_indices is not None \
        else np.arange(b)  # output column j holds packed batch position pos[j]
    tt = np.arange(t_out)[:, None]
    valid = tt < t_len
    tt_c = np.minimum(tt, t_len - 1)
    rows = np.where(valid & (pos[None, :] < bs[tt_c]), offsets[tt_c] + pos[None, :], pad_row)
    if batch_first:
        rows = rows.T
    pad = full((1,) + tuple(data.shape[1:]), padding_value, dtype=data.dtype, device=data.device)
    padded = _gather_rows(cat([data, pad], 0), rows, rows.shape)
    lengths = _sorted_lengths(bs)[pos]
    return padded, _tensor(lengths)


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack sequences of different lengths (L_i, *) into (T, B, *), padding the ends.

    Args:
        sequences: list of tensors whose trailing dims agree.
        batch_first: return (B, T, *) instead.
        padding_value: value of the padding.
        padding_side: ``'right'`` (default) or ``'left'``.

    Example:
        >>> import ember
        >>> from ember.nn.utils.rnn import pad_sequence
        >>> pad_sequence([ember.ones(2), ember.ones(1)], batch_first=True)
        tensor([[1., 1.],
                [1., 0.]])
    """
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"Expected padding_side to be one of left or right, but got "
                           f"{padding_side}.")
    if isinstance(sequences, Tensor):
        sequences = list(sequences.unbind(0))
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    lens = np.asarray([s.shape[0] for s in sequences], dtype=np.int64)
    t_len = int(lens.max())
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
    ref = sequences[0]
    pad = full((1,) + tuple(ref.shape[1:]), padding_value, dtype=ref.dtype, device=ref.device)
    flat = cat(sequences + [pad], 0)
    tt = np.arange(t_len)[:, None]
    k = tt - (t_len - lens[None, :]) if padding_side == "left" else tt
    rows = np.where((k >= 0) & (k < lens[None, :]), starts[None, :] + k, int(lens.sum()))
    if batch_first:
        rows = rows.T
    return _gather_rows(flat, rows, rows.shape)


def pack_sequence(sequences, enforce_sorted=True):
    """Pack a list of sequences (L_i, *) of decreasing length (or any order, unenforced)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The list of sequences ``padded[:L_i, i]`` (or ``padded[i, :L_i]``) of a padded batch."""
    lens = _host(lengths)
    if batch_first:
        return [padded_sequences[i, :int(n)] for i, n in enumerate(lens)]
    return [padded_sequences[:int(n), i] for i, n in enumerate(lens)]


def unpack_sequence(packed_sequences):
    """The list of sequences in a :class:`PackedSequence`, in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
