"""Helpers shared by the nn primitives' gradient rules.

Several nn primitives (linear, activations, normalisations) have two forms of their
rule: a *fast* one on arrays, used when the backward pass is not itself recorded
(the common case: ``create_graph=False``), and one written in ember ops, used while
recording so that gradients of gradients stay exact. The fast form saves the Python
overhead of a dozen ember ops per backward call; both are tested against PyTorch and
finite differences (first and second order).
"""

import numpy as np

from ember._tensor import _wrap
from ember.autograd.grad_mode import STATE

__all__ = []


def recording():
    """True while the backward pass is recorded (``create_graph=True``)."""
    return STATE.enabled


def wrap_as(arr, like):
    """A tensor around ``arr`` on ``like``'s device, cast to ``like``'s dtype."""
    if arr.dtype != like._data.dtype:
        arr = arr.astype(like._data.dtype)
    return _wrap(arr, like._device)


def compute_dtype(a):
    """float16 and bfloat16 arrays are computed in float32 (like PyTorch's CPU kernels)."""
    if a.dtype.kind == "V" or (a.dtype.kind == "f" and a.dtype.itemsize < 4):
        return a.astype(np.float32)
    return a
