"""Hook machinery of ``Module``: removable handles, the global (every-module) hook
registries, and the full backward hooks.

Full backward hooks wrap a call's inputs and outputs in an identity
:class:`~ember.autograd.Function`: its backward on the outputs sees ``grad_output`` (and
runs the backward pre-hooks), its backward on the inputs sees ``grad_input`` (and runs the
backward hooks), exactly the gradients w.r.t. the module's inputs and outputs.
"""

import itertools
import warnings
import weakref
from collections import OrderedDict

from ember._tensor import Tensor
from ember.autograd.function import Function

__all__ = ["RemovableHandle", "register_module_forward_pre_hook",
           "register_module_forward_hook", "register_module_full_backward_hook",
           "register_module_full_backward_pre_hook", "register_module_buffer_registration_hook",
           "register_module_parameter_registration_hook",
           "register_module_module_registration_hook"]


# -- hook handles ------------------------------------------------------------------------------
class RemovableHandle:
    """Returned by ``register_*_hook``; ``remove()`` unregisters the hook.

    Also a context manager: the hook is removed on exit.
    """

    _ids = itertools.count()

    def __init__(self, hooks_dict, *, extra_dict=None):
        self.hooks_dict_ref = weakref.ref(hooks_dict)
        self.id = next(RemovableHandle._ids)
        extras = extra_dict if isinstance(extra_dict, (list, tuple)) else (
            [extra_dict] if extra_dict is not None else [])
        self.extra_dict_ref = tuple(weakref.ref(d) for d in extras)

    def remove(self):
        for ref in (self.hooks_dict_ref,) + self.extra_dict_ref:
            d = ref()
            if d is not None and self.id in d:
                del d[self.id]
        _refresh_global_flag()

    def __getstate__(self):
        return (self.hooks_dict_ref(), self.id, tuple(r() for r in self.extra_dict_ref))

    def __setstate__(self, state):
        hooks, self.id, extras = state
        self.hooks_dict_ref = weakref.ref(hooks if hooks is not None else OrderedDict())
        self.extra_dict_ref = tuple(weakref.ref(d) for d in extras if d is not None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _add_hook(hooks, hook, prepend=False, extra=None):
    handle = RemovableHandle(hooks, extra_dict=extra)
    hooks[handle.id] = hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


# -- global hooks (every module) ---------------------------------------------------------------
_global_forward_pre_hooks = OrderedDict()
_global_forward_hooks = OrderedDict()
_global_forward_hooks_always_called = OrderedDict()
_global_forward_hooks_with_kwargs = OrderedDict()
_global_backward_hooks = OrderedDict()
_global_backward_pre_hooks = OrderedDict()
_global_buffer_registration_hooks = OrderedDict()
_global_parameter_registration_hooks = OrderedDict()
_global_module_registration_hooks = OrderedDict()
_GLOBAL = {"any": False}


def _refresh_global_flag():
    _GLOBAL["any"] = bool(_global_forward_pre_hooks or _global_forward_hooks
                          or _global_backward_hooks or _global_backward_pre_hooks)


def _global_hook(registry):
    def register(hook):
        handle = _add_hook(registry, hook)
        _refresh_global_flag()
        return handle
    return register


register_module_forward_pre_hook = _global_hook(_global_forward_pre_hooks)
register_module_full_backward_hook = _global_hook(_global_backward_hooks)
register_module_full_backward_pre_hook = _global_hook(_global_backward_pre_hooks)
register_module_buffer_registration_hook = _global_hook(_global_buffer_registration_hooks)
register_module_parameter_registration_hook = _global_hook(
    _global_parameter_registration_hooks)
register_module_module_registration_hook = _global_hook(_global_module_registration_hooks)


def register_module_forward_hook(hook, *, with_kwargs=False, always_call=False):
    """Register a forward hook run by every module (before the module's own hooks)."""
    handle = _add_hook(_global_forward_hooks, hook,
                       extra=[_global_forward_hooks_with_kwargs,
                              _global_forward_hooks_always_called])
    if with_kwargs:
        _global_forward_hooks_with_kwargs[handle.id] = True
    if always_call:
        _global_forward_hooks_always_called[handle.id] = True
    _refresh_global_flag()
    return handle


# -- full backward hooks -------------------------------------------------------------------------
class _HookIdentity(Function):
    """Identity over tensors; its backward hands the incoming gradients to ``callback``."""

    @staticmethod
    def forward(ctx, callback, *tensors):
        ctx.callback = callback
        return tensors

    @staticmethod
    def backward(ctx, *grads):
        new = ctx.callback(grads)
        return (None,) + tuple(new if new is not None else grads)


_NO_INPUT_GRAD_WARNING = (
    "Full backward hook is firing when gradients are computed with respect to module outputs "
    "since no inputs require gradients. See https://docs.pytorch.org/docs/main/generated/"
    "torch.nn.Module.html#torch.nn.Module.register_full_backward_hook for more details.")


class _BackwardHookState:
    """One forward call's backward hooks: wraps inputs and outputs, calls the hooks."""

    def __init__(self, module, hooks, pre_hooks):
        self.module = module
        self.hooks = hooks
        self.pre_hooks = pre_hooks
        self.grad_outputs = None
        self.n_inputs = 0
        self.input_wrapped = False

    def wrap_inputs(self, args):
        self.n_inputs = len(args)
        self.grad_pos = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
        if not self.grad_pos or not self.hooks:
            return args
        # PyTorch's grad_input: zeros for tensor args that need no grad, None for the others
        self.zero_args = [(i, a) for i, a in enumerate(args)
                          if isinstance(a, Tensor) and not a.requires_grad]
        wrapped = _HookIdentity.apply(self._on_input_grads, *[args[i] for i in self.grad_pos])
        args = list(args)
        for i, w in zip(self.grad_pos, wrapped):
            args[i] = w
        self.input_wrapped = True
        return tuple(args)

    def wrap_outputs(self, result):
        single = isinstance(result, Tensor)
        outs = (result,) if single else result
        if not isinstance(outs, tuple):
            return result
        pos = [i for i, o in enumerate(outs) if isinstance(o, Tensor) and o.requires_grad]
        if not pos:
            return result
        self.n_outputs = len(outs)
        self.out_pos = pos
        wrapped = _HookIdentity.apply(self._on_output_grads, *[outs[i] for i in pos])
        outs = list(outs)
        for i, w in zip(pos, wrapped):
            outs[i] = w
        return outs[0] if single else tuple(outs)

    def _on_output_grads(self, grads):
        full = [None] * self.n_outputs
        for i, g in zip(self.out_pos, grads):
            full[i] = g
        grad_outputs = tuple(full)
        for hook in self.pre_hooks:
            res = hook(self.module, grad_outputs)
            if res is not None:
                grad_outputs = tuple(res) if isinstance(res, (tuple, list)) else (res,)
        self.grad_outputs = grad_outputs
        if not self.input_wrapped and self.hooks:  # no input needs grad: the hooks run now
            warnings.warn(_NO_INPUT_GRAD_WARNING, stacklevel=2)
            self._call_hooks((None,) * self.n_inputs)
        return tuple(grad_outputs[i] for i in self.out_pos)

    def _on_input_grads(self, grads):
        from ember.ops.creation import zeros_like
        full = [None] * self.n_inputs
        for i, a in self.zero_args:
            full[i] = zeros_like(a)
        for i, g in zip(self.grad_pos, grads):
            full[i] = g
        res = self._call_hooks(tuple(full))
        if res is None:
            return None
        return tuple(res[i] for i in self.grad_pos)

    def _call_hooks(self, grad_inputs):
        changed = None
        for hook in self.hooks:
            res = hook(self.module, grad_inputs, self.grad_outputs)
            if res is not None:
                res = tuple(res) if isinstance(res, (tuple, list)) else (res,)
                if len(res) != len(grad_inputs):
                    raise RuntimeError(f"Backward hook returned an invalid number of grad_input, "
                                       f"got {len(res)}, but expected {len(grad_inputs)}")
                grad_inputs = changed = res
        return changed
