"""``skip_init``."""

import inspect

__all__ = ["skip_init"]


def skip_init(module_cls, *args, **kwargs):
    """Build ``module_cls(*args, **kwargs)`` for parameters that will be overwritten anyway.

    ember has no meta device, so the module is built (and initialised) normally; the
    values are to be replaced, e.g. by ``load_state_dict``. The module must accept a
    ``device`` argument, as PyTorch requires.
    """
    from ember.nn.modules.module import Module
    if not issubclass(module_cls, Module):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    return module_cls(*args, **kwargs)
