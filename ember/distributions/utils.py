"""Helpers shared by the distributions: broadcasting parameters, probabilities and logits,
sampling primitives on ember's generator, and ``lazy_property``.
"""

import numbers

import numpy as np

import ember
from ember._tensor import Tensor, _wrap

__all__ = ["broadcast_all", "clamp_probs", "lazy_property", "logits_to_probs",
           "probs_to_logits"]


def broadcast_all(*values):
    """Tensors of one common shape from tensors and Python numbers.

    Numbers become tensors of the first tensor's dtype and device (the default dtype if
    there is no tensor); the tensors are then broadcast (as views).

    Raises:
        ValueError: if a value is neither a number nor a tensor.

    Example:
        >>> x, y = broadcast_all(ember.zeros(2, 1), 3.0)
        >>> tuple(x.shape), tuple(y.shape), y.dtype
        ((2, 1), (2, 1), ember.float32)
    """
    if not all(isinstance(v, (Tensor, numbers.Number)) for v in values):
        raise ValueError("Input arguments must all be instances of numbers.Number or "
                         "ember.Tensor.")
    ref = next((v for v in values if isinstance(v, Tensor)), None)
    if ref is None:
        dtype, device = ember.get_default_dtype(), None
    else:
        dtype, device = ref.dtype, ref.device
    tensors = [v if isinstance(v, Tensor) else ember.tensor(v, dtype=dtype, device=device)
               for v in values]
    return ember.broadcast_tensors(*tensors)


def finfo(dtype):
    """NumPy's ``finfo`` for an ember floating dtype (``eps``, ``tiny``, ``min``, ``max``)."""
    if dtype == ember.bfloat16:
        import ml_dtypes
        return ml_dtypes.finfo(dtype.np)
    return np.finfo(dtype.np)


def rng(device):
    """The NumPy generator behind ember's default generator for ``device``.

    Samplers draw from it so that ``ember.manual_seed`` makes them reproducible.
    """
    from ember.ops.random import _gen
    return _gen(None, device)._rng


def from_numpy_sample(arr, dtype, device):
    """Wrap a NumPy sample as an ember tensor of ``dtype`` on ``device``."""
    arr = np.asarray(arr).astype(dtype.np, copy=False)
    if device.type != "cpu":
        arr = device.xp.asarray(arr)
    return _wrap(arr, device)


def standard_normal(shape, dtype, device):
    """Samples of N(0, 1) with the given shape, dtype and device."""
    return ember.randn(tuple(shape), dtype=dtype, device=device)


def standard_uniform(shape, dtype, device):
    """Samples uniform on [0, 1) with the given shape, dtype and device."""
    return ember.rand(tuple(shape), dtype=dtype, device=device)


def sum_rightmost(value, dim):
    """Sum out the ``dim`` rightmost dimensions of ``value`` (none if ``dim`` is 0)."""
    if dim == 0:
        return value
    return value.reshape(tuple(value.shape[:value.dim() - dim]) + (-1,)).sum(-1)


def softplus(x):
    """``log(1 + exp(x))`` without overflow, with exact gradients of every order.

    Each branch gets an input that keeps it finite (``x + log1p(exp(-x))`` for ``x > 0``,
    ``log1p(exp(x))`` otherwise), so the branch ``where`` discards never feeds it a NaN.
    """
    pos = x > 0
    x_pos = ember.where(pos, x, 0.0)
    x_neg = ember.where(pos, 0.0, x)
    return ember.where(pos, x_pos + ember.log1p(ember.exp(-x_pos)),
                       ember.log1p(ember.exp(x_neg)))


def bce_with_logits(logits, target):
    """Elementwise ``-[t log(sigmoid(l)) + (1 - t) log(1 - sigmoid(l))]``, computed stably as
    ``softplus(l) - l t``."""
    return softplus(logits) - logits * target


def log_softmax(x):
    """``x - logsumexp(x)`` along the last dimension."""
    return x - ember.logsumexp(x, -1, keepdim=True)


def clamp_probs(probs):
    """Clamp probabilities into ``[eps, 1 - eps]`` so their logits stay finite.

    Example:
        >>> clamp_probs(ember.tensor([0.0, 1.0])).tolist() != [0.0, 1.0]
        True
    """
    eps = float(finfo(probs.dtype).eps)
    return probs.clamp(min=eps, max=1 - eps)


def logits_to_probs(logits, is_binary=False):
    """Probabilities from logits: ``sigmoid`` if ``is_binary``, else ``softmax`` over the
    last dimension."""
    if is_binary:
        return ember.sigmoid(logits)
    return ember.exp(log_softmax(logits))


def probs_to_logits(probs, is_binary=False):
    """Logits from probabilities (clamped away from 0 and 1): ``log(p) - log1p(-p)`` if
    ``is_binary``, else ``log(p)``."""
    p = clamp_probs(probs)
    if is_binary:
        return ember.log(p) - ember.log1p(-p)
    return ember.log(p)


class lazy_property:
    """A property computed on first use and then stored on the instance.

    Distributions given ``probs`` compute ``logits`` only when asked (and vice versa).
    The value is computed with gradient recording on, so it stays differentiable
    with respect to the parameter it came from.

    Example:
        >>> class A:
        ...     @lazy_property
        ...     def x(self):
        ...         print("computing")
        ...         return 1
        >>> a = A()
        >>> a.x
        computing
        1
        >>> a.x
        1
    """

    def __init__(self, wrapped):
        self.wrapped = wrapped
        self.__doc__ = wrapped.__doc__
        self.__name__ = wrapped.__name__

    def __get__(self, instance, obj_type=None):
        if instance is None:
            return self
        with ember.enable_grad():
            value = self.wrapped(instance)
        instance.__dict__[self.wrapped.__name__] = value
        return value
