r"""Spectral normalisation: :math:`W_{SN} = W / \sigma(W)`, with :math:`\sigma(W)` the
largest singular value estimated by power iteration.

``spectral_norm(module)`` keeps the raw weight as the parameter ``weight_orig`` and the
power-iteration vectors as buffers ``weight_u`` and ``weight_v``. Before each forward a
pre-hook runs ``n_power_iterations`` steps (training mode only)

.. math:: v \leftarrow \frac{W^T u}{\lVert W^T u \rVert}, \qquad
          u \leftarrow \frac{W v}{\lVert W v \rVert}

and sets ``module.weight = weight_orig / (u^T W v)``; the gradient flows through
:math:`\sigma` to ``weight_orig`` (``u`` and ``v`` are constants).
"""

from ember.autograd.grad_mode import no_grad
from ember.nn._functional.normalization import normalize
from ember.nn.parameter import Parameter
from ember.ops.creation import empty
from ember.ops.linalg import matmul
from ember.ops.views import reshape, permute

__all__ = ["SpectralNorm", "spectral_norm", "remove_spectral_norm"]


class SpectralNorm:
    """The forward pre-hook that recomputes ``module.<name>`` by power iteration."""

    _version = 1

    def __init__(self, name="weight", n_power_iterations=1, dim=0, eps=1e-12):
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.name = name
        self.dim = dim
        self.n_power_iterations = n_power_iterations
        self.eps = eps

    def reshape_weight_to_matrix(self, weight):
        """``weight`` as a matrix with dim ``self.dim`` as rows."""
        if self.dim != 0:
            order = [self.dim] + [d for d in range(weight.dim()) if d != self.dim]
            weight = permute(weight, order)
        return reshape(weight, (weight.shape[0], -1))

    def compute_weight(self, module, do_power_iteration):
        weight = getattr(module, self.name + "_orig")
        u = getattr(module, self.name + "_u")
        v = getattr(module, self.name + "_v")
        mat = self.reshape_weight_to_matrix(weight)
        if do_power_iteration:
            with no_grad():
                w = mat.detach()
                for _ in range(self.n_power_iterations):
                    normalize(matmul(w.mT, u), dim=0, eps=self.eps, out=v)
                    normalize(matmul(w, v), dim=0, eps=self.eps, out=u)
            u = u.clone()
            v = v.clone()
        sigma = (u * matmul(mat, v)).sum()
        return weight / sigma

    def remove(self, module):
        with no_grad():
            weight = self.compute_weight(module, do_power_iteration=False)
        delattr(module, self.name)
        delattr(module, self.name + "_u")
        delattr(module, self.name + "_v")
        delattr(module, self.name + "_orig")
        module.register_parameter(self.name, Parameter(weight.detach()))

    def __call__(self, module, inputs):
        setattr(module, self.name,
                self.compute_weight(module, do_power_iteration=module.training))

    @staticmethod
    def apply(module, name, n_power_iterations, dim, eps):
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, SpectralNorm) and hook.name == name:
                raise RuntimeError(f"Cannot register two spectral_norm hooks on the same "
                                   f"parameter {name}")
        fn = SpectralNorm(name, n_power_iterations, dim, eps)
        weight = module._parameters[name]
        with no_grad():
            mat = fn.reshape_weight_to_matrix(weight)
            h, w = tuple(mat.shape)
            u = normalize(_randn_like(weight, h), dim=0, eps=fn.eps)
            v = normalize(_randn_like(weight, w), dim=0, eps=fn.eps)
        delattr(module, name)
        module.register_parameter(name + "_orig", weight)
        setattr(module, name, weight.detach())
        module.register_buffer(name + "_u", u)
        module.register_buffer(name + "_v", v)
        module.register_forward_pre_hook(fn)
        return fn


def _randn_like(weight, n):
    return empty(n, dtype=weight.dtype, device=weight.device).normal_(0, 1)


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    r"""Divide ``module.<name>`` by its spectral norm before every forward.

    Args:
        module: the module holding the parameter.
        name: the parameter's name. Default: ``"weight"``.
        n_power_iterations: power-iteration steps per forward (in training). Default: 1.
        eps: for numerical stability of the normalisations. Default: 1e-12.
        dim: the dim that indexes output channels; default 0, or 1 for transposed
            convolutions.

    Returns:
        ``module``.
    """
    if dim is None:
        dim = 1 if type(module).__name__.startswith("ConvTranspose") else 0
    SpectralNorm.apply(module, name, n_power_iterations, dim, eps)
    return module


def remove_spectral_norm(module, name="weight"):
    """Undo :func:`spectral_norm`: ``<name>`` becomes a plain parameter again."""
    for k, hook in list(module._forward_pre_hooks.items()):
        if isinstance(hook, SpectralNorm) and hook.name == name:
            hook.remove(module)
            del module._forward_pre_hooks[k]
            return module
    raise ValueError(f"spectral_norm of '{name}' not found in {module}")
