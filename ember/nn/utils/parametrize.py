"""Parametrizations: ``module.<name>`` computed on access from stored originals.

``register_parametrization(module, "weight", p)`` moves the parameter ``weight`` to
``module.parametrizations.weight.original`` and makes ``module.weight`` a property that
returns ``p(original)``. Chained parametrizations apply in order. If ``p`` defines
``right_inverse``, it maps an assigned value (and the initial weight) to the originals;
it may return several tensors (``original0``, ``original1``, ...).

The module's class is replaced by a subclass (``ParametrizedLinear``) that holds the
properties; removing the last parametrization restores it.
"""

import contextlib
import copy

from ember._tensor import Tensor
from ember.autograd.grad_mode import no_grad
from ember.nn.modules.container import ModuleDict, ModuleList
from ember.nn.parameter import Parameter

__all__ = ["register_parametrization", "remove_parametrizations", "is_parametrized", "cached",
           "type_before_parametrizations", "ParametrizationList"]

_cache = {"depth": 0, "values": {}}


@contextlib.contextmanager
def cached():
    """Within this context each parametrized tensor is computed once and reused."""
    _cache["depth"] += 1
    try:
        yield
    finally:
        _cache["depth"] -= 1
        if not _cache["depth"]:
            _cache["values"].clear()


def _register(module, name, tensor):
    if isinstance(tensor, Parameter):
        module.register_parameter(name, tensor)
    else:
        module.register_buffer(name, tensor)


def _set_data(dest, src):
    """Make ``dest`` hold ``src``'s values, keeping the ``dest`` object (optimizers)."""
    if src is not dest:
        dest.data = src.detach().clone()


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, with its original(s) as parameters or buffers."""

    def __init__(self, modules, original, unsafe=False):
        if len(modules) == 0:
            raise ValueError("ParametrizationList requires one or more modules.")
        super().__init__(modules)
        self.unsafe = unsafe
        with no_grad():
            new = original
            for module in reversed(list(self)):
                if hasattr(module, "right_inverse"):
                    new = module.right_inverse(new)
        self.is_tensor = isinstance(new, Tensor)
        self.ntensors = 1 if self.is_tensor else len(new)
        if self.is_tensor:
            with no_grad():
                _set_data(original, new)
            _register(self, "original", original)
            return
        for i, part in enumerate(new):
            if not isinstance(part, Tensor):
                raise ValueError(f"'right_inverse' must return a Tensor or a Sequence of "
                                 f"tensors (list, tuple...). Got {type(part).__name__}")
            part = part.detach()
            if isinstance(original, Parameter):
                part = Parameter(part, original.requires_grad)
            _register(self, f"original{i}", part)

    def right_inverse(self, value):
        """Set the originals so that the parametrized tensor equals ``value``."""
        with no_grad():
            for module in reversed(list(self)):
                if not hasattr(module, "right_inverse"):
                    raise RuntimeError(f"parametrization {type(module).__name__} does not "
                                       f"implement right_inverse.")
                value = module.right_inverse(value)
            if self.is_tensor:
                _set_data(self.original, value)
                return
            for i, part in enumerate(value):
                _set_data(getattr(self, f"original{i}"), part)

    def forward(self):
        if self.is_tensor:
            x = self[0](self.original)
        else:
            x = self[0](*(getattr(self, f"original{i}") for i in range(self.ntensors)))
        for module in list(self)[1:]:
            x = module(x)
        return x


def _inject_class(module):
    cls = module.__class__

    def getstate(self):
        raise RuntimeError("Serialization of parametrized modules is only supported through "
                           "state_dict(). See: https://pytorch.org/tutorials/beginner/"
                           "saving_loading_models.html#saving-loading-a-general-checkpoint-for-"
                           "inference-and-or-resuming-training")

    def deepcopy(self, memo):
        obj = type(self).__new__(type(self))
        memo[id(self)] = obj
        obj.__dict__.update(copy.deepcopy(self.__dict__, memo))
        return obj

    module.__class__ = type(f"Parametrized{cls.__name__}", (cls,),
                            {"__getstate__": getstate, "__deepcopy__": deepcopy,
                             "_original_cls": cls})


def _inject_property(module, name):
    def get(self):
        key = (id(self), name)
        if _cache["depth"] and key in _cache["values"]:
            return _cache["values"][key]
        value = self.parametrizations[name]()
        if _cache["depth"]:
            _cache["values"][key] = value
        return value

    def set_(self, value):
        self.parametrizations[name].right_inverse(value)

    setattr(module.__class__, name, property(get, set_))


def is_parametrized(module, tensor_name=None):
    """Whether ``module`` (or its tensor ``tensor_name``) has a parametrization."""
    params = module.__dict__.get("_modules", {}).get("parametrizations")
    if not isinstance(params, ModuleDict):
        return False
    return True if tensor_name is None else tensor_name in params


def type_before_parametrizations(module):
    """The module's class before parametrizations were registered."""
    return module._original_cls if is_parametrized(module) else type(module)


def register_parametrization(module, tensor_name, parametrization, *, unsafe=False):
    """Make ``module.<tensor_name>`` be ``parametrization(original)``.

    Args:
        module: the module holding the parameter or buffer ``tensor_name``.
        tensor_name: its name.
        parametrization: a module mapping the original(s) to the tensor.
        unsafe: skip the consistency checks.

    Returns:
        ``module``.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> class Symmetric(nn.Module):
        ...     def forward(self, x):
        ...         return (x + x.mT) / 2
        >>> m = nn.utils.parametrize.register_parametrization(nn.Linear(3, 3), "weight",
        ...                                                    Symmetric())
        >>> bool((m.weight == m.weight.T).all())
        True
    """
    if is_parametrized(module, tensor_name):
        plist = module.parametrizations[tensor_name]
        if not unsafe:
            with no_grad():
                out = parametrization(getattr(module, tensor_name))
            if not isinstance(out, Tensor):
                raise ValueError(f"A parametrization must return a tensor. Got "
                                 f"{type(out).__name__}.")
        plist.append(parametrization)
        return module
    if tensor_name not in module._buffers and tensor_name not in module._parameters:
        raise ValueError(f"Module '{module}' does not have a parameter, a buffer, or a "
                         f"parametrized element with name '{tensor_name}'")
    original = getattr(module, tensor_name)
    plist = ParametrizationList([parametrization], original, unsafe=unsafe)
    delattr(module, tensor_name)
    if not is_parametrized(module):
        _inject_class(module)
        module.parametrizations = ModuleDict()
    module.parametrizations[tensor_name] = plist
    _inject_property(module, tensor_name)
    if not unsafe:
        _check_consistency(module, tensor_name, original)
    return module


def _check_consistency(module, name, original):
    with no_grad():
        value = getattr(module, name)
    if not isinstance(value, Tensor):
        raise ValueError(f"A parametrization must return a tensor. Got "
                         f"{type(value).__name__}.")
    if value.dtype != original.dtype:
        raise ValueError(f"Registering a parametrization may not change the dtype of the "
                         f"tensor, unless `unsafe` flag is enabled.\nunparametrized dtype: "
                         f"{original.dtype}\nparametrized dtype: {value.dtype}")
    if tuple(value.shape) != tuple(original.shape):
        raise ValueError(f"Registering a parametrization may not change the shape of the "
                         f"tensor, unless `unsafe` flag is enabled.\nunparametrized shape: "
                         f"{original.shape}\nparametrized shape: {value.shape}")


def remove_parametrizations(module, tensor_name, leave_parametrized=True):
    """Remove the parametrizations of ``tensor_name``; it becomes a plain parameter again.

    With ``leave_parametrized`` it keeps its current (parametrized) value, else the
    original's (only possible with a single original).
    """
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {module} does not have a parametrization on {tensor_name}")
    plist = module.parametrizations[tensor_name]
    if plist.is_tensor:
        original = plist.original
        if leave_parametrized:
            with no_grad():
                _set_data(original, getattr(module, tensor_name))
    else:
        if not leave_parametrized:
            raise ValueError("Cannot leave unparametrized (`leave_parametrized=False`) a tensor "
                             "that is parametrized in terms of a sequence of tensors.")
        with no_grad():
            value = getattr(module, tensor_name)
        original = Parameter(value.detach(), plist.original0.requires_grad) \
            if isinstance(plist.original0, Parameter) else value.detach()
    delattr(module.__class__, tensor_name)
    del module.parametrizations[tensor_name]
    _register(module, tensor_name, original)
    if not module.parametrizations._modules:
        del module.parametrizations
        module.__class__ = module._original_cls
    return module

