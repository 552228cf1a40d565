"""``LazyModuleMixin``: modules whose parameter shapes are inferred at the first call.

A lazy module holds :class:`~ember.nn.UninitializedParameter` (and
``UninitializedBuffer``) placeholders. A forward pre-hook calls
``initialize_parameters(*args)`` on the first call, which materialises them from the
input's shape; the hook is then removed and the module becomes ``cls_to_become``
(``LazyLinear`` becomes ``Linear``). Loading a state dict also materialises them.
"""

from ember.nn.parameter import is_lazy

__all__ = ["LazyModuleMixin"]


class LazyModuleMixin:
    """Mixin for modules that infer their parameter shapes from the first input.

    Subclasses set ``cls_to_become`` and implement ``initialize_parameters(*args)``.
    """

    cls_to_become = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._lazy_hook = self.register_forward_pre_hook(_infer_parameters)

    def has_uninitialized_params(self):
        """True while a parameter or buffer is still a placeholder."""
        tensors = list(self._parameters.values()) + list(self._buffers.values())
        return any(t is not None and is_lazy(t) for t in tensors)

    def initialize_parameters(self, *args, **kwargs):
        """Materialise the placeholders from the first input (override)."""
        raise NotImplementedError(f"initialize_parameters is not implemented for "
                                  f"{type(self).__name__}")


def _infer_parameters(module, args):
    module.initialize_parameters(*args)
    if module.has_uninitialized_params():
        raise RuntimeError(f"module {module._get_name()} has not been fully initialized")
    module._lazy_hook.remove()
    del module._lazy_hook
    if module.cls_to_become is not None:
        module.__class__ = module.cls_to_become
