r"""Weight normalisation: :math:`w = g \, v / \lVert v \rVert`.

``weight_norm(module)`` replaces the parameter ``weight`` by ``weight_g`` (the magnitude,
the norm of ``weight`` over every dim but ``dim``) and ``weight_v`` (the direction). A
forward pre-hook recomputes ``module.weight`` from them before every call, so gradients
flow to ``weight_g`` and ``weight_v``.
"""

import warnings

from ember.nn.parameter import Parameter
from ember.ops.reduce import norm as _norm
from ember.ops.views import reshape, transpose

__all__ = ["WeightNorm", "weight_norm", "remove_weight_norm", "norm_except_dim"]


def norm_except_dim(v, pow=2, dim=0):
    """The ``pow``-norm of ``v`` over every dim except ``dim`` (kept, the others size 1);
    over all dims when ``dim`` is -1."""
    if dim == -1:
        return _norm(v, pow)
    if dim == 0:
        flat = reshape(v, (v.shape[0], -1))
        return reshape(_norm(flat, pow, 1), (v.shape[0],) + (1,) * (v.dim() - 1))
    if dim == v.dim() - 1:
        flat = reshape(v, (-1, v.shape[-1]))
        return reshape(_norm(flat, pow, 0), (1,) * (v.dim() - 1) + (v.shape[-1],))
    return transpose(norm_except_dim(transpose(v, 0, dim), pow, 0), 0, dim)


class WeightNorm:
    """The forward pre-hook that recomputes ``module.<name>`` from ``<name>_g``, ``_v``."""

    def __init__(self, name, dim):
        self.name = name
        self.dim = -1 if dim is None else dim

    def compute_weight(self, module):
        g = getattr(module, self.name + "_g")
        v = getattr(module, self.name + "_v")
        return v * (g / norm_except_dim(v, 2, self.dim))

    @staticmethod
    def apply(module, name, dim):
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, WeightNorm) and hook.name == name:
                raise RuntimeError(f"Cannot register two weight_norm hooks on the same "
                                   f"parameter {name}")
        fn = WeightNorm(name, dim)
        weight = getattr(module, name)
        del module._parameters[name]
        module.register_parameter(name + "_g",
                                  Parameter(norm_except_dim(weight, 2, fn.dim).detach()))
        module.register_parameter(name + "_v", Parameter(weight.detach()))
        setattr(module, name, fn.compute_weight(module))
        module.register_forward_pre_hook(fn)
        return fn

    def remove(self, module):
        weight = self.compute_weight(module)
        delattr(module, self.name)
        del module._parameters[self.name + "_g"]
        del module._parameters[self.name + "_v"]
        setattr(module, self.name, Parameter(weight.detach()))

    def __call__(self, module, inputs):
        setattr(module, self.name, self.compute_weight(module))


def weight_norm(module, name="weight", dim=0):
    r"""Reparametrise ``module.<name>`` as :math:`g \, v / \lVert v \rVert`.

    Args:
        module: the module holding the parameter.
        name: the parameter's name. Default: ``"weight"``.
        dim: the dim kept by the norm (one magnitude per slice along it); ``None`` for one
            magnitude for the whole tensor. Default: 0.

    Returns:
        ``module``, with parameters ``<name>_g`` and ``<name>_v`` instead of ``<name>``.

    Example:
        >>> from ember import nn
        >>> m = nn.utils.weight_norm(nn.Linear(20, 40), name="weight")  # doctest: +SKIP
        >>> m.weight_g.shape, m.weight_v.shape  # doctest: +SKIP
        (ember.Size([40, 1]), ember.Size([40, 20]))
    """
    warnings.warn("`ember.nn.utils.weight_norm` is deprecated in favor of "
                  "`ember.nn.utils.parametrizations.weight_norm`.", FutureWarning, stacklevel=2)
    WeightNorm.apply(module, name, dim)
    return module


def remove_weight_norm(module, name="weight"):
    """Undo :func:`weight_norm`: ``<name>`` becomes a plain parameter again."""
    for k, hook in list(module._forward_pre_hooks.items()):
        if isinstance(hook, WeightNorm) and hook.name == name:
            hook.remove(module)
            del module._forward_pre_hooks[k]
            return module
    raise ValueError(f"weight_norm of '{name}' not found in {module}")
