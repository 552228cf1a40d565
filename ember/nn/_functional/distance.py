r"""Distances and similarities: ``cosine_similarity``, ``pairwise_distance``, ``pdist``."""

import numpy as np

from ember._tensor import _wrap
from ember.ops.elementwise import clamp
from ember.ops.reduce import norm as _norm, sum as _sum_op
from ember.ops.views import expand

__all__ = ["cosine_similarity", "pairwise_distance", "pdist"]


def _broadcast(x1, x2):
    shape = tuple(np.broadcast_shapes(tuple(x1.shape), tuple(x2.shape)))
    return expand(x1, shape), expand(x2, shape)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    r"""Cosine similarity along ``dim``:

    .. math:: \frac{x_1 \cdot x_2}{\max(\lVert x_1 \rVert_2, \epsilon)
              \max(\lVert x_2 \rVert_2, \epsilon)}

    ``x1`` and ``x2`` broadcast to a common shape.
    """
    try:
        x1, x2 = _broadcast(x1, x2)
    except ValueError:
        raise RuntimeError(f"The size of tensor a ({tuple(x1.shape)}) must match the size of "
                           f"tensor b ({tuple(x2.shape)})") from None
    n1 = clamp(_norm(x1, 2, dim, keepdim=True), min=eps)
    n2 = clamp(_norm(x2, 2, dim, keepdim=True), min=eps)
    return _sum_op((x1 / n1) * (x2 / n2), dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    r""":math:`\lVert x_1 - x_2 + \epsilon \rVert_p` along the last dim."""
    diff = x1 - x2 + eps
    if diff.dim() == 0:
        return _norm(diff.reshape(1), p, 0, keepdim=keepdim)
    return _norm(diff, p, -1, keepdim=keepdim)


def pdist(input, p=2):
    r"""p-norm distances between the rows of an :math:`(N, M)` input, for every pair
    :math:`i < j` in row-major order: a vector of :math:`N (N - 1) / 2` entries."""
    if input.dim() != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.dim()}D")
    n = input.shape[0]
    i, j = np.triu_indices(n, k=1)
    xp = input.device.xp
    ii = _wrap(xp.asarray(i.astype(np.int64)), input.device)
    jj = _wrap(xp.asarray(j.astype(np.int64)), input.device)
    return _norm(input[ii] - input[jj], p, 1)
