r"""Gradient clipping: ``clip_grad_norm_``, ``clip_grad_value_``, ``get_total_norm``,
``clip_grads_with_norm_``.

The total norm of gradients :math:`g_1, \dots, g_n` is the p-norm of their
concatenation, :math:`\lVert (\lVert g_1 \rVert_p, \dots, \lVert g_n \rVert_p) \rVert_p`
(the largest :math:`|g|` for ``inf``). Clipping scales every gradient in place by
:math:`\min(1, \text{max\_norm} / (\text{total} + 10^{-6}))`.
"""

import math

from ember._tensor import Tensor
from ember.autograd.grad_mode import no_grad
from ember.ops.creation import tensor
from ember.ops.reduce import norm as _norm
from ember.ops.shape import stack

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "get_total_norm",
           "clip_grads_with_norm_"]


def _as_list(tensors):
    if isinstance(tensors, Tensor):
        return [tensors]
    return list(tensors)


def _grads(parameters):
    return [p.grad for p in _as_list(parameters) if p.grad is not None]


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The ``norm_type`` norm of ``tensors`` viewed as one concatenated vector.

    Returns:
        A 0-d tensor (0 when ``tensors`` is empty).
    """
    tensors = _as_list(tensors)
    norm_type = float(norm_type)
    if not tensors:
        return tensor(0.0)
    with no_grad():
        if norm_type == math.inf:
            per = [t.detach().abs().max() for t in tensors]
            total = stack([p.to(per[0].device, per[0].dtype) for p in per]).max()
        else:
            per = [_norm(t.detach(), norm_type) for t in tensors]
            total = _norm(stack([p.to(per[0].device, per[0].dtype) for p in per]), norm_type)
    if error_if_nonfinite and not math.isfinite(float(total)):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` "
                           f"is non-finite, so it cannot be clipped. To disable this error and "
                           f"scale the gradients by the non-finite norm anyway, set "
                           f"`error_if_nonfinite=False`")
    return total


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale the gradients of ``parameters`` in place by ``min(1, max_norm / (total_norm +
    1e-6))``."""
    grads = _grads(parameters)
    if not grads:
        return
    coef = min(float(max_norm) / (float(total_norm) + 1e-6), 1.0)
    if coef == 1.0:
        return
    with no_grad():
        for g in grads:
            g.mul_(coef)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                    foreach=None):
    """Clip the gradients of ``parameters`` so that their total norm is at most ``max_norm``.

    Args:
        parameters: a tensor or an iterable of tensors whose ``.grad`` is clipped.
        max_norm: the largest allowed total norm.
        norm_type: p of the norm (``float('inf')`` for the max norm). Default: 2.
        error_if_nonfinite: raise if the total norm is NaN or infinite. Default: ``False``.
        foreach: accepted for compatibility (ignored).

    Returns:
        The total norm of the gradients before clipping (a 0-d tensor).

    Example:
        >>> import ember
        >>> from ember import nn
        >>> p = nn.Parameter(ember.zeros(2))
        >>> p.grad = ember.tensor([3.0, 4.0])
        >>> nn.utils.clip_grad_norm_([p], 1.0)
        tensor(5.)
    """
    params = _as_list(parameters)
    grads = _grads(params)
    total = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(params, max_norm, total, foreach)
    return total


def clip_grad_norm(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                   foreach=None):
    """Deprecated alias of :func:`clip_grad_norm_`."""
    import warnings
    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`torch.nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp the gradients of ``parameters`` in place to ``[-clip_value, clip_value]``."""
    clip_value = float(clip_value)
    with no_grad():
        for g in _grads(parameters):
            g.clamp_(min=-clip_value, max=clip_value)
