"""``default_collate``: stack a list of samples into a batch, recursively."""

import collections
import numbers

import numpy as np

from ember._tensor import Tensor


def default_convert(data):
    """Convert NumPy arrays (recursively) to tensors, without batching."""
    from ember.ops.creation import as_tensor
    if isinstance(data, np.ndarray) and data.dtype.kind in "biufc":
        return as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        return type(data)({k: default_convert(v) for k, v in data.items()}) \
            if not isinstance(data, dict) or type(data) is not dict else \
            {k: default_convert(v) for k, v in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, (list, tuple)) and not isinstance(data, str):
        return type(data)(default_convert(d) for d in data) if isinstance(data, tuple) else \
            [default_convert(d) for d in data]
    return data


def default_collate(batch):
    """Batch samples: tensors/arrays are stacked on a new first dim, numbers become tensors,
    and tuples, lists, named tuples and dicts are collated element by element.

    Example:
        >>> import ember
        >>> from ember.utils.data import default_collate
        >>> default_collate([(ember.ones(2), 1), (ember.zeros(2), 0)])[1]
        tensor([1, 0])
    """
    from ember.ops.creation import tensor, as_tensor
    from ember.ops.shape import stack
    elem = batch[0]
    if isinstance(elem, Tensor):
        shapes = {tuple(b.shape) for b in batch}
        if len(shapes) > 1:
            raise RuntimeError(f"default_collate: stack expects each tensor to be equal size, "
                               f"but got {sorted(shapes)}")
        return stack(list(batch), 0)
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind not in "biufc":
            raise TypeError(f"default_collate: batch must contain tensors, numpy arrays, "
                            f"numbers, dicts or lists; found array of dtype {elem.dtype}")
        return as_tensor(np.stack(batch))
    if isinstance(elem, np.generic):
        return as_tensor(np.array(batch))
    if isinstance(elem, bool):
        return tensor(batch)
    if isinstance(elem, float):
        return tensor(batch, dtype="float64")
    if isinstance(elem, numbers.Integral):
        return tensor(batch)
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, collections.abc.Mapping):
        out = {k: default_collate([d[k] for d in batch]) for k in elem}
        return out if type(elem) is dict else _rebuild_mapping(elem, out)
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        n = len(elem)
        if any(len(b) != n for b in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        cols = [default_collate(list(s)) for s in zip(*batch)]
        return tuple(cols) if isinstance(elem, tuple) else cols
    raise TypeError(f"default_collate: batch must contain tensors, numpy arrays, numbers, "
                    f"dicts or lists; found {type(elem).__name__}")


def _rebuild_mapping(elem, out):
    try:
        return type(elem)(out)
    except TypeError:
        return out
