"""``PairwiseDistance`` and ``CosineSimilarity``."""

from ember.nn._functional import distance as F
from ember.nn.modules.module import Module

__all__ = ["PairwiseDistance", "CosineSimilarity"]


class PairwiseDistance(Module):
    r""":math:`\lVert x_1 - x_2 + \epsilon \rVert_p` along the last dim.

    Args:
        p: the norm degree. Default: 2.
        eps: added to the difference to avoid division by zero. Default: 1e-6.
        keepdim: keep the reduced dim. Default: ``False``.
    """

    def __init__(self, p=2.0, eps=1e-6, keepdim=False):
        super().__init__()
        self.norm = p
        self.eps = eps
        self.keepdim = keepdim

    def forward(self, x1, x2):
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


class CosineSimilarity(Module):
    r""":math:`\frac{x_1 \cdot x_2}{\max(\lVert x_1 \rVert_2, \epsilon) \max(\lVert x_2
    \rVert_2, \epsilon)}` along ``dim``.

    Args:
        dim: the dim of the vectors. Default: 1.
        eps: lower bound of the norms. Default: 1e-8.
    """

    def __init__(self, dim=1, eps=1e-8):
        super().__init__()
        self.dim = dim
        self.eps = eps

    def forward(self, x1, x2):
        return F.cosine_similarity(x1, x2, self.dim, self.eps)
