r"""Parametrization-based ``weight_norm`` and ``spectral_norm`` (PyTorch's recommended
forms; see :mod:`ember.nn.utils.parametrize`).

- ``weight_norm``: ``module.weight`` is :math:`g \, v / \lVert v \rVert` with
  ``parametrizations.weight.original0`` = :math:`g` and ``original1`` = :math:`v`.
- ``spectral_norm``: ``module.weight`` is :math:`W / \sigma(W)`, :math:`\sigma` estimated by
  power iteration with buffers ``parametrizations.weight.0._u`` and ``_v`` (updated in
  training mode only).
"""

from ember._tensor import Tensor
from ember.autograd.grad_mode import no_grad
from ember.nn._functional.normalization import normalize
from ember.nn.modules.module import Module
from ember.nn.utils.parametrize import register_parametrization
from ember.nn.utils.weight_norm import norm_except_dim
from ember.ops.creation import empty
from ember.ops.linalg import matmul
from ember.ops.views import permute, reshape

__all__ = ["weight_norm", "spectral_norm"]


class _WeightNorm(Module):
    def __init__(self, dim=0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g, weight_v):
        return weight_v * (weight_g / norm_except_dim(weight_v, 2, self.dim))

    def right_inverse(self, weight):
        return norm_except_dim(weight, 2, self.dim), weight


def weight_norm(module, name="weight", dim=0):
    r"""Reparametrise ``module.<name>`` as :math:`g \, v / \lVert v \rVert` (norm over every
    dim but ``dim``; over all dims when ``dim`` is None).

    Example:
        >>> from ember import nn
        >>> m = nn.utils.parametrizations.weight_norm(nn.Linear(20, 40))
        >>> m.parametrizations.weight.original0.shape
        ember.Size([40, 1])
    """
    register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    return module


class _SpectralNorm(Module):
    def __init__(self, weight, n_power_iterations=1, dim=0, eps=1e-12):
        super().__init__()
        ndim = weight.dim()
        if dim >= ndim or dim < -ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [-{ndim}, "
                             f"{ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            mat = self._reshape_weight_to_matrix(weight)
            h, w = tuple(mat.shape)
            u = empty(h, dtype=weight.dtype, device=weight.device).normal_(0, 1)
            v = empty(w, dtype=weight.dtype, device=weight.device).normal_(0, 1)
            self.register_buffer("_u", normalize(u, dim=0, eps=self.eps))
            self.register_buffer("_v", normalize(v, dim=0, eps=self.eps))
            self._power_method(mat, 15)

    def _reshape_weight_to_matrix(self, weight):
        if self.dim != 0:
            weight = permute(weight, [self.dim] + [d for d in range(weight.dim())
                                                   if d != self.dim])
        return reshape(weight, (weight.shape[0], -1))

    def _power_method(self, mat, n_power_iterations):
        with no_grad():
            mat = mat.detach()
            for _ in range(n_power_iterations):
                normalize(matmul(mat, self._v), dim=0, eps=self.eps, out=self._u)
                normalize(matmul(mat.mT, self._u), dim=0, eps=self.eps, out=self._v)

    def forward(self, weight):
        if weight.dim() == 1:
            return normalize(weight, dim=0, eps=self.eps)
        mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(mat, self.n_power_iterations)
        u, v = self._u.clone(), self._v.clone()
        sigma = (u * matmul(mat, v)).sum()
        return weight / sigma

    def right_inverse(self, value):
        return value


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    r"""Reparametrise ``module.<name>`` as :math:`W / \sigma(W)`, the spectral norm
    :math:`\sigma` estimated by ``n_power_iterations`` power-iteration steps per call in
    training mode (15 at registration).

    Args:
        module: the module holding the tensor.
        name: its name. Default: ``"weight"``.
        n_power_iterations: steps per forward in training. Default: 1.
        eps: for the normalisations. Default: 1e-12.
        dim: the output-channel dim; default 0, or 1 for transposed convolutions.
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        dim = 1 if type(module).__name__.startswith("ConvTranspose") else 0
    register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module
