"""Shared helpers of the loss functions: reductions, legacy flags, checks."""

import warnings

import numpy as np

from ember._tensor import Tensor
from ember.ops.elementwise import cast
from ember.ops.reduce import sum as _sum
from ember.ops.views import unsqueeze

__all__ = []


def legacy_reduction(size_average, reduce, emit_warning=True):
    """The ``reduction`` string for the deprecated ``size_average``/``reduce`` flags."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    ret = ("mean" if size_average else "sum") if reduce else "none"
    if emit_warning:
        warnings.warn(f"size_average and reduce args will be deprecated, please use "
                      f"reduction='{ret}' instead.", stacklevel=3)
    return ret


def _reduction(reduction, size_average=None, reduce=None, allowed=("none", "mean", "sum")):
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    if reduction not in allowed:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return _sum(loss)
    return loss


def _weighted_mean(total, denom):
    """``total / denom`` with ``denom`` a non-differentiable tensor (0/0 gives NaN, like
    PyTorch's mean over an all-ignored batch)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / denom


def _warn_size(input, target, stacklevel=3):
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(f"Using a target size ({_tsize(target)}) that is different to the input "
                      f"size ({_tsize(input)}). This will likely lead to incorrect results due "
                      f"to broadcasting. Please ensure they have the same size.",
                      stacklevel=stacklevel)


def _tsize(t):
    return f"torch.Size({list(t.shape)})"


def _need_tensor(x, name, op):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument '{name}' must be Tensor, not {type(x).__name__}")


def _float(x):
    """Integer/bool tensors promote to the default float dtype, like PyTorch's losses."""
    if x._data.dtype.kind in "biu":
        from ember._dtype import get_default_dtype
        return cast(x, get_default_dtype().np)
    return x


def _like(w, x):
    """Weight tensor ``w`` on ``x``'s dtype (weights are constants for most losses)."""
    return cast(w, x._data.dtype) if w._data.dtype != x._data.dtype else w


def _dtype_name(t):
    name = t.dtype.name if hasattr(t.dtype, "name") else str(t.dtype)
    return {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
            "float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
            "bool": "Bool"}.get(name, name)


def _batched(input, target):
    """Unbatched (C,) input with a 0-d target becomes a batch of one."""
    if input.ndim == 1:
        return unsqueeze(input, 0), unsqueeze(target, 0), True
    return input, target, False


