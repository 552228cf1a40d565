"""``Module``: the base class of every layer, with PyTorch's registration model.

Assigning a :class:`~ember.nn.Parameter`, a ``Module`` or a buffer to an attribute
registers it (``__setattr__``); the registries drive ``parameters()``, ``state_dict()``,
``to()``, ``train()`` and ``repr``. ``__call__`` runs ``forward`` between the forward
pre-hooks and hooks; full backward hooks are implemented with an identity
:class:`~ember.autograd.Function` around the inputs and outputs, so they see exactly the
gradients w.r.t. the module's inputs and outputs.
"""

import itertools
import warnings
import weakref
from collections import OrderedDict, namedtuple

from ember._tensor import Tensor
from ember import _dtype
from ember.autograd.grad_mode import no_grad
from ember.autograd.function import Function
from ember.nn.parameter import Parameter, Buffer, is_lazy

__all__ = ["Module", "RemovableHandle", "register_module_forward_pre_hook",
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
    """Register a forward hook run by every module (after its own hooks run)."""
    handle = _add_hook(_global_forward_hooks, hook)
    if with_kwargs:
        raise NotImplementedError("register_module_forward_hook: with_kwargs is not supported")
    if always_call:
        _global_forward_hooks_always_called[handle.id] = True
    _refresh_global_flag()
    return handle


# -- helpers -----------------------------------------------------------------------------------
def _typename(obj):
    """The type name used in PyTorch's messages (``ember.FloatTensor`` for tensors)."""
    if isinstance(obj, Tensor):
        return f"ember.{_dtype.scalar_name(obj.dtype)}Tensor"
    t = type(obj)
    mod = t.__module__
    return t.__qualname__ if mod in ("builtins", "__builtin__", None) else f"{mod}.{t.__qualname__}"


def _addindent(text, n):
    """Indent every line of ``text`` but the first by ``n`` spaces."""
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    return lines[0] + "\n" + "\n".join(" " * n + line for line in lines[1:])


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns: the keys it missed and the keys it did not expect."""

    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


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


# -- Module ------------------------------------------------------------------------------------
class Module:
    """Base class for all neural network modules.

    Subclasses call ``super().__init__()`` first, assign parameters, buffers and
    submodules as attributes, and define ``forward``. Call the module (not ``forward``)
    so that hooks run.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> class Model(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.fc = nn.Linear(4, 2)
        ...     def forward(self, x):
        ...         return self.fc(x).relu()
        >>> [name for name, _ in Model().named_parameters()]
        ['fc.weight', 'fc.bias']
    """

    dump_patches = False
    _version = 1
    training: bool
    call_super_init = False

    def __init__(self, *args, **kwargs):
        if (args or kwargs) and not self.call_super_init:
            raise TypeError(f"{type(self).__name__}.__init__() got an unexpected argument: "
                            f"{args or kwargs}")
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = {}
        d["_buffers"] = {}
        d["_non_persistent_buffers_set"] = set()
        d["_modules"] = {}
        for name in _HOOK_DICTS:
            d[name] = OrderedDict()

    def forward(self, *input):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required '
                                  f'"forward" function')

    # -- calling ---------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        d = self.__dict__
        if not (d["_forward_pre_hooks"] or d["_forward_hooks"] or d["_backward_hooks"]
                or d["_backward_pre_hooks"] or _GLOBAL["any"]):
            return self.forward(*args, **kwargs)
        return self._call_with_hooks(args, kwargs)

    def _call_with_hooks(self, args, kwargs):
        args, kwargs = self._run_pre_hooks(args, kwargs)
        bw = self._backward_state()
        if bw is not None:
            args = bw.wrap_inputs(args)
        try:
            result = self.forward(*args, **kwargs)
        except Exception:
            self._run_always_called_hooks(args, kwargs)
            raise
        result = self._run_forward_hooks(args, kwargs, result)
        if bw is not None:
            result = bw.wrap_outputs(result)
        return result

    def _run_pre_hooks(self, args, kwargs):
        hooks = list(_global_forward_pre_hooks.items()) + list(self._forward_pre_hooks.items())
        for hid, hook in hooks:
            if hid in self._forward_pre_hooks_with_kwargs:
                res = hook(self, args, kwargs)
                if res is not None:
                    if not (isinstance(res, tuple) and len(res) == 2):
                        raise RuntimeError(f"forward pre-hook must return None or a tuple of "
                                           f"(new_args, new_kwargs), but got {res}.")
                    args, kwargs = res
            else:
                res = hook(self, args)
                if res is not None:
                    args = res if isinstance(res, tuple) else (res,)
        return args, kwargs

    def _run_forward_hooks(self, args, kwargs, result):
        hooks = list(_global_forward_hooks.items()) + list(self._forward_hooks.items())
        for hid, hook in hooks:
            if hid in self._forward_hooks_with_kwargs:
                res = hook(self, args, kwargs, result)
            else:
                res = hook(self, args, result)
            if res is not None:
                result = res
        return result

    def _run_always_called_hooks(self, args, kwargs):
        for hid, hook in self._forward_hooks.items():
            if hid in self._forward_hooks_always_called:
                try:
                    if hid in self._forward_hooks_with_kwargs:
                        hook(self, args, kwargs, None)
                    else:
                        hook(self, args, None)
                except Exception:
                    pass

    def _backward_state(self):
        hooks = list(_global_backward_hooks.values()) + list(self._backward_hooks.values())
        pre = list(_global_backward_pre_hooks.values()) + list(
            self._backward_pre_hooks.values())
        if not hooks and not pre:
            return None
        return _BackwardHookState(self, hooks, pre)

    # -- hook registration -----------------------------------------------------------------
    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """``hook(module, args)`` (or ``hook(module, args, kwargs)``) runs before forward.

        It may return new args (a tuple, or one value), or with ``with_kwargs`` a tuple
        ``(new_args, new_kwargs)``.
        """
        handle = _add_hook(self._forward_pre_hooks, hook, prepend,
                           extra=self._forward_pre_hooks_with_kwargs)
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs[handle.id] = True
        return handle

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False,
                              always_call=False):
        """``hook(module, args, output)`` (or ``(module, args, kwargs, output)``) runs after
        forward; it may return a new output."""
        handle = _add_hook(self._forward_hooks, hook, prepend,
                           extra=[self._forward_hooks_with_kwargs,
                                  self._forward_hooks_always_called])
        if with_kwargs:
            self._forward_hooks_with_kwargs[handle.id] = True
        if always_call:
            self._forward_hooks_always_called[handle.id] = True
        return handle

    def register_full_backward_hook(self, hook, prepend=False):
        """``hook(module, grad_input, grad_output)`` runs when the gradients w.r.t. the
        module's inputs are computed; it may return new ``grad_input``.

        ``grad_input`` has one entry per positional tensor argument (None where no
        gradient flows); ``grad_output`` one per output.
        """
        return _add_hook(self._backward_hooks, hook, prepend)

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """``hook(module, grad_output)`` runs when the gradients w.r.t. the module's outputs
        are computed; it may return new ``grad_output``."""
        return _add_hook(self._backward_pre_hooks, hook, prepend)

    def register_backward_hook(self, hook):
        """Deprecated; registers ``hook`` as a full backward hook."""
        return self.register_full_backward_hook(hook)

    def register_state_dict_pre_hook(self, hook):
        """``hook(module, prefix, keep_vars)`` runs before ``state_dict`` collects this module."""
        return _add_hook(self._state_dict_pre_hooks, hook)

    def register_state_dict_post_hook(self, hook):
        """``hook(module, state_dict, prefix, local_metadata)`` runs after ``state_dict``
        collected this module; it may change ``state_dict`` in place."""
        return _add_hook(self._state_dict_hooks, hook)

    _register_state_dict_hook = register_state_dict_post_hook

    def register_load_state_dict_pre_hook(self, hook):
        """``hook(module, state_dict, prefix, local_metadata, strict, missing_keys,
        unexpected_keys, error_msgs)`` runs before this module's entries are loaded."""
        return _add_hook(self._load_state_dict_pre_hooks, hook)

    def _register_load_state_dict_pre_hook(self, hook, with_module=False):
        if with_module:
            return self.register_load_state_dict_pre_hook(hook)
        return self.register_load_state_dict_pre_hook(
            lambda module, *args: hook(*args))

    def register_load_state_dict_post_hook(self, hook):
        """``hook(module, incompatible_keys)`` runs after ``load_state_dict``; it may edit
        ``incompatible_keys.missing_keys``/``unexpected_keys`` in place."""
        return _add_hook(self._load_state_dict_post_hooks, hook)

    # -- registration ----------------------------------------------------------------------
    def register_parameter(self, name, param):
        """Add a parameter (or None) under ``name``."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        self._check_name(name, "parameter", self._parameters)
        if param is None:
            self._parameters[name] = None
            return
        if not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{_typename(param)}' object to parameter '{name}' "
                            f"(ember.nn.Parameter or None required)")
        if param.grad_fn is not None:
            raise ValueError(f"Cannot assign non-leaf Tensor to parameter '{name}'. Model "
                             f"parameters must be created explicitly. To express '{name}' as a "
                             f"function of another Tensor, compute the value in the forward() "
                             f"method.")
        for hook in _global_parameter_registration_hooks.values():
            out = hook(self, name, param)
            if out is not None:
                param = out
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """Add a buffer (state that is not a parameter, like BatchNorm's running mean).

        Args:
            name: the attribute name.
            tensor: a tensor, or None (then the buffer is skipped by ``state_dict``).
            persistent: whether the buffer is part of ``state_dict``.
        """
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        self._check_name(name, "buffer", self._buffers)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{_typename(tensor)}' object to buffer '{name}' "
                            f"(ember Tensor or None required)")
        for hook in _global_buffer_registration_hooks.values():
            out = hook(self, name, tensor)
            if out is not None:
                tensor = out
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name, module):
        """Add a child module (or None) under ``name``."""
        if not isinstance(module, Module) and module is not None:
            raise TypeError(f"{_typename(module)} is not a Module subclass")
        if not isinstance(name, str):
            raise TypeError(f"module name should be a string. Got {_typename(name)}")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        if "." in name:
            raise KeyError(f'module name can\'t contain ".", got: {name}')
        if name == "":
            raise KeyError('module name can\'t be empty string ""')
        for hook in _global_module_registration_hooks.values():
            out = hook(self, name, module)
            if out is not None:
                module = out
        self._modules[name] = module

    register_module = add_module

    def _check_name(self, name, kind, registry):
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string. Got {_typename(name)}")
        if "." in name:
            raise KeyError(f'{kind} name can\'t contain "."')
        if name == "":
            raise KeyError(f'{kind} name can\'t be empty string ""')
        if hasattr(self, name) and name not in registry:
            raise KeyError(f"attribute '{name}' already exists")

    # -- attribute routing -------------------------------------------------------------------
    def __getattr__(self, name):
        d = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            reg = d.get(registry)
            if reg is not None and name in reg:
                return reg[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __setattr__(self, name, value):
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._forget(name, keep="_parameters")
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{_typename(value)}' as parameter '{name}' "
                                f"(ember.nn.Parameter or None expected)")
            self.register_parameter(name, value)
        elif isinstance(value, Module):
            if d.get("_modules") is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._forget(name, keep="_modules")
            for hook in _global_module_registration_hooks.values():
                out = hook(self, name, value)
                if out is not None:
                    value = out
            d["_modules"][name] = value
        elif d.get("_modules") is not None and name in d["_modules"]:
            if value is not None:
                raise TypeError(f"cannot assign '{_typename(value)}' as child module '{name}' "
                                f"(ember.nn.Module or None expected)")
            d["_modules"][name] = value
        else:
            self._set_plain_or_buffer(name, value)

    def _set_plain_or_buffer(self, name, value):
        d = self.__dict__
        buffers = d.get("_buffers")
        if isinstance(value, Buffer) or (buffers is not None and name in buffers):
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{_typename(value)}' as buffer '{name}' "
                                f"(ember.Tensor or None expected)")
            if isinstance(value, Buffer):
                persistent = value._extra["persistent"]
            else:
                persistent = name not in self._non_persistent_buffers_set
            if name not in buffers:
                self._forget(name, keep="_buffers")
            self.register_buffer(name, value, persistent)
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name, keep):
        """Remove ``name`` from the instance dict and every registry but ``keep``."""
        d = self.__dict__
        d.pop(name, None)
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry != keep and registry in d:
                d[registry].pop(name, None)
        if keep != "_buffers" and "_non_persistent_buffers_set" in d:
            d["_non_persistent_buffers_set"].discard(name)

    def __delattr__(self, name):
        d = self.__dict__
        if name in d["_parameters"]:
            del d["_parameters"][name]
        elif name in d["_buffers"]:
            del d["_buffers"][name]
            d["_non_persistent_buffers_set"].discard(name)
        elif name in d["_modules"]:
            del d["_modules"][name]
        else:
            object.__delattr__(self, name)

    def __dir__(self):
        keys = list(object.__dir__(self))
        keys += list(self._parameters) + list(self._modules) + list(self._buffers)
        return sorted(k for k in set(keys) if not k[0].isdigit())

    def __setstate__(self, state):
        self.__dict__.update(state)
        for name in _HOOK_DICTS:
            self.__dict__.setdefault(name, OrderedDict())
        self.__dict__.setdefault("_non_persistent_buffers_set", set())

    # -- lookups ---------------------------------------------------------------------------
    def get_submodule(self, target):
        """The submodule at dotted path ``target`` (``""`` is the module itself)."""
        if target == "":
            return self
        mod = self
        for item in target.split("."):
            if not hasattr(mod, item):
                raise AttributeError(f"{mod._get_name()} has no attribute `{item}`")
            mod = getattr(mod, item)
            if not isinstance(mod, Module):
                raise AttributeError(f"`{item}` is not an nn.Module")
        return mod

    def set_submodule(self, target, module, strict=False):
        """Replace (or with ``strict=False`` add) the submodule at dotted path ``target``."""
        if target == "":
            raise ValueError("Cannot set the submodule without a target name!")
        path, _, name = target.rpartition(".")
        parent = self.get_submodule(path)
        if strict and not hasattr(parent, name):
            raise AttributeError(f"{parent._get_name()} has no attribute `{name}`")
        if hasattr(parent, name) and not isinstance(getattr(parent, name), Module):
            raise AttributeError(f"`{name}` is not an nn.Module")
        setattr(parent, name, module)

    def get_parameter(self, target):
        """The parameter at dotted path ``target``."""
        path, _, name = target.rpartition(".")
        mod = self.get_submodule(path)
        if not hasattr(mod, name):
            raise AttributeError(f"{mod._get_name()} has no attribute `{name}`")
        param = getattr(mod, name)
        if not isinstance(param, Parameter):
            raise AttributeError(f"`{name}` is not an nn.Parameter")
        return param

    def get_buffer(self, target):
        """The buffer at dotted path ``target``."""
        path, _, name = target.rpartition(".")
        mod = self.get_submodule(path)
        if not hasattr(mod, name):
            raise AttributeError(f"{mod._get_name()} has no attribute `{name}`")
        if name not in mod._buffers:
            raise AttributeError(f"`{name}` is not a buffer")
        return getattr(mod, name)

    def get_extra_state(self):
        """Extra state to put in ``state_dict`` (override with ``set_extra_state``)."""
        raise RuntimeError("Reached a code path in Module.get_extra_state() that should never be "
                           "called.")

    def set_extra_state(self, state):
        raise RuntimeError("Reached a code path in Module.set_extra_state() that should never be "
                           "called.")

    def _has_extra_state(self):
        return type(self).get_extra_state is not Module.get_extra_state

    # -- iteration -------------------------------------------------------------------------
    def _named_members(self, get_members, prefix="", recurse=True, remove_duplicate=True):
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) \
            if recurse else [(prefix, self)]
        for mod_prefix, mod in mods:
            for k, v in get_members(mod):
                if v is None or (remove_duplicate and id(v) in seen):
                    continue
                if remove_duplicate:
                    seen.add(id(v))
                yield (mod_prefix + ("." if mod_prefix else "") + k), v

    def parameters(self, recurse=True):
        """Iterator over parameters (of submodules too unless ``recurse=False``)."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """Iterator over ``(dotted name, parameter)``; shared parameters appear once."""
        yield from self._named_members(lambda m: m._parameters.items(), prefix, recurse,
                                       remove_duplicate)

    def buffers(self, recurse=True):
        """Iterator over buffers."""
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        """Iterator over ``(dotted name, buffer)``."""
        yield from self._named_members(lambda m: m._buffers.items(), prefix, recurse,
                                       remove_duplicate)

    def children(self):
        """Iterator over immediate child modules."""
        for _, m in self.named_children():
            yield m

    def named_children(self):
        """Iterator over ``(name, child)`` for immediate children (each once)."""
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def modules(self):
        """Iterator over all modules of the tree, this one first (each once)."""
        for _, m in self.named_modules():
            yield m

    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """Iterator over ``(dotted name, module)`` of the tree, depth first."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is None:
                continue
            sub = prefix + ("." if prefix else "") + name
            yield from m.named_modules(memo, sub, remove_duplicate)

    # -- modes and grads -----------------------------------------------------------------
    def train(self, mode=True):
        """Set training mode (``True``) or evaluation mode on this module and its children."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        self.training = mode
        for m in self.children():
            m.train(mode)
        return self

    def eval(self):
        """Set evaluation mode (same as ``train(False)``)."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` on every parameter; returns self."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Reset the gradients of all parameters (to None by default, else to zeros)."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                if p.grad.grad_fn is not None:
                    p.grad.detach_()
                else:
                    p.grad.requires_grad_(False)
                p.grad.zero_()

    def apply(self, fn):
        """Call ``fn(module)`` on every submodule (children first) and on self; returns self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def share_memory(self):
        """No-op on CPU (kept for API compatibility); returns self."""
        return self

    # -- conversions -----------------------------------------------------------------------
    def _apply(self, fn, recurse=True):
        """Convert every parameter (in place: ``p.data`` is replaced) and buffer with ``fn``."""
        if recurse:
            for m in self.children():
                m._apply(fn)
        for p in self._parameters.values():
            if p is None or is_lazy(p):
                continue
            with no_grad():
                new = fn(p)
            if new is not p:
                p._data, p._device = new._data, new._device
            if p.grad is not None:
                with no_grad():
                    g = fn(p.grad)
                if g is not p.grad:
                    p.grad._data, p.grad._device = g._data, g._device
        for k, b in self._buffers.items():
            if b is not None and not is_lazy(b):
                with no_grad():
                    self._buffers[k] = fn(b)
        return self

    def to(self, *args, **kwargs):
        """Move and/or cast parameters and buffers: ``to(device)``, ``to(dtype)``,
        ``to(device, dtype)``, ``to(tensor)``.

        Only floating point (and complex) tensors change dtype; integer buffers keep theirs.
        Parameters are converted in place, so optimizers keep valid references.
        """
        device, dtype = _parse_to_args(args, kwargs)
        if dtype is not None:
            dt = _dtype.to_dtype(dtype)
            if not (dt.is_floating_point or dt.is_complex):
                raise TypeError(f"nn.Module.to only accepts floating point or complex dtypes, "
                                f"but got desired dtype={dt}")

        def convert(t):
            use = dtype if dtype is not None and (t.is_floating_point() or t.is_complex()) \
                else None
            if device is None and use is None:
                return t
            return t.to(device=device, dtype=use)
        return self._apply(convert)

    def cpu(self):
        """Move every parameter and buffer to the CPU."""
        return self._apply(lambda t: t.cpu())

    def cuda(self, device=None):
        """Move every parameter and buffer to a CUDA device."""
        return self._apply(lambda t: t.cuda(device))

    def type(self, dst_type):
        """Cast every parameter and buffer to ``dst_type``."""
        return self._apply(lambda t: t.to(dst_type))

    def _float_cast(self, dt):
        return self._apply(lambda t: t.to(dt) if t.is_floating_point() else t)

    def float(self):
        """Cast floating point parameters and buffers to float32."""
        return self._float_cast(_dtype.float32)

    def double(self):
        """Cast floating point parameters and buffers to float64."""
        return self._float_cast(_dtype.float64)

    def half(self):
        """Cast floating point parameters and buffers to float16."""
        return self._float_cast(_dtype.float16)

    def bfloat16(self):
        """Cast floating point parameters and buffers to bfloat16."""
        return self._float_cast(_dtype.bfloat16)

    def to_empty(self, *, device=None, recurse=True):
        """Move to ``device`` without copying values (the new storage is uninitialised)."""
        from ember.ops.creation import empty_like
        return self._apply(lambda t: empty_like(t, device=device), recurse)

    # -- state dict --------------------------------------------------------------------------
    def _save_to_state_dict(self, destination, prefix, keep_vars):
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = b if keep_vars else b.detach()
        if self._has_extra_state():
            destination[prefix + "_extra_state"] = self.get_extra_state()

    def state_dict(self, *args, destination=None, prefix="", keep_vars=False):
        """An ordered dict of every parameter and persistent buffer, by dotted name.

        Tensors are detached (they share memory with the module) unless ``keep_vars``.
        """
        if args:  # legacy positional (destination, prefix, keep_vars)
            destination, prefix, keep_vars = (list(args) + [destination, prefix, keep_vars][
                len(args):])[:3]
        if destination is None:
            destination = OrderedDict()
            destination._metadata = OrderedDict()
        meta = getattr(destination, "_metadata", None)
        if meta is not None:
            meta[prefix[:-1]] = {"version": self._version}
        for hook in self._state_dict_pre_hooks.values():
            hook(self, prefix, keep_vars)
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, m in self._modules.items():
            if m is not None:
                m.state_dict(destination=destination, prefix=prefix + name + ".",
                             keep_vars=keep_vars)
        for hook in self._state_dict_hooks.values():
            res = hook(self, destination, prefix, meta.get(prefix[:-1]) if meta else None)
            if res is not None:
                destination = res
        return destination

    def _local_entries(self):
        """This module's loadable tensors: parameters and persistent buffers."""
        out = {k: v for k, v in self._parameters.items() if v is not None}
        out.update((k, v) for k, v in self._buffers.items()
                   if v is not None and k not in self._non_persistent_buffers_set)
        return out

    def _check_local_state(self, state_dict, prefix, missing, error_msgs):
        """Validate this module's entries of ``state_dict`` without changing anything."""
        for name, cur in self._local_entries().items():
            key = prefix + name
            if key not in state_dict:
                missing.append(key)
                continue
            new = state_dict[key]
            if not isinstance(new, Tensor):
                error_msgs.append(f'While copying the parameter named "{key}", expected '
                                  f"ember.Tensor or Tensor-like object from checkpoint but "
                                  f"received {type(new)}")
            elif not is_lazy(cur) and tuple(new.shape) != tuple(cur.shape):
                error_msgs.append(f"size mismatch for {key}: copying a param with shape "
                                  f"{new.shape} from checkpoint, the shape in current model is "
                                  f"{cur.shape}.")
        if self._has_extra_state() and prefix + "_extra_state" not in state_dict:
            missing.append(prefix + "_extra_state")

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        """Copy this module's entries of ``state_dict`` into its parameters and buffers.

        Override to customise loading (e.g. renamed keys); append problems to
        ``missing_keys``/``unexpected_keys``/``error_msgs`` rather than raising.
        """
        assign = bool(local_metadata.get("assign_to_params_buffers", False)) \
            if local_metadata else False
        for name, cur in self._local_entries().items():
            key = prefix + name
            if key not in state_dict:
                missing_keys.append(key)
                continue
            new = state_dict[key]
            if not isinstance(new, Tensor):
                continue
            if is_lazy(cur):
                cur.materialize(new.shape, device=cur.device, dtype=cur.dtype)
            if tuple(new.shape) != tuple(cur.shape):
                error_msgs.append(f"size mismatch for {key}: copying a param with shape "
                                  f"{new.shape} from checkpoint, the shape in current model is "
                                  f"{cur.shape}.")
                continue
            self._assign_or_copy(name, cur, new, assign)
        if self._has_extra_state() and prefix + "_extra_state" in state_dict:
            self.set_extra_state(state_dict[prefix + "_extra_state"])
        if strict:
            self._find_unexpected(state_dict, prefix, unexpected_keys)

    def _assign_or_copy(self, name, cur, new, assign):
        if assign:
            if name in self._parameters:
                p = new if isinstance(new, Parameter) else Parameter(new, cur.requires_grad)
                self._parameters[name] = p
            else:
                self._buffers[name] = new
            return
        with no_grad():
            if new.device != cur.device or new.dtype != cur.dtype:
                new = new.to(device=cur.device, dtype=cur.dtype)
            cur.copy_(new)

    def _find_unexpected(self, state_dict, prefix, unexpected):
        local = set(self._local_entries())
        if self._has_extra_state():
            local.add("_extra_state")
        for key in state_dict:
            if not key.startswith(prefix) or key == prefix + "_extra_state" and \
                    "_extra_state" in local:
                continue
            name = key[len(prefix):].split(".", 1)[0]
            if name not in local and name not in self._modules:
                unexpected.append(key)

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy parameters and buffers from ``state_dict`` into this module and its children.

        Args:
            state_dict: a dict from ``state_dict()``.
            strict: whether every key must match exactly (missing or unexpected keys raise).
            assign: replace the module's tensors by those of ``state_dict`` instead of
                copying into them.

        Returns:
            ``NamedTuple(missing_keys, unexpected_keys)``.

        Raises:
            RuntimeError: on size mismatches, or (``strict``) missing/unexpected keys. The
                module is left unchanged when this is raised.
        """
        if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        metadata = getattr(state_dict, "_metadata", None)
        state_dict = OrderedDict(state_dict)
        missing, unexpected, errors = [], [], []
        mods = list(self.named_modules(remove_duplicate=False))
        for name, m in mods:
            prefix = name + "." if name else ""
            meta = dict(metadata.get(name, {})) if metadata else {}
            for hook in m._load_state_dict_pre_hooks.values():
                hook(m, state_dict, prefix, meta, strict, missing, unexpected, errors)
        for name, m in mods:
            prefix = name + "." if name else ""
            m._check_local_state(state_dict, prefix, missing, errors)
            m._find_unexpected(state_dict, prefix, unexpected)
        _raise_load_errors(self, strict, missing, unexpected, errors)
        missing, unexpected = [], []
        for name, m in mods:
            prefix = name + "." if name else ""
            meta = dict(metadata.get(name, {})) if metadata else {}
            meta["assign_to_params_buffers"] = assign
            m._load_from_state_dict(state_dict, prefix, meta, True, missing, unexpected,
                                    errors)
        keys = _IncompatibleKeys(_dedupe(missing), _dedupe(unexpected))
        for _, m in mods:
            for hook in m._load_state_dict_post_hooks.values():
                hook(m, keys)
        _raise_load_errors(self, strict, keys.missing_keys, keys.unexpected_keys, errors)
        return keys

    # -- printing ----------------------------------------------------------------------------
    def _get_name(self):
        return type(self).__name__

    def extra_repr(self):
        """The module-specific part of ``repr`` (override in layers, e.g. ``in_features=4``)."""
        return ""

    def __repr__(self):
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({k}): " + _addindent(repr(m), 2) for k, m in self._modules.items()]
        lines = extra_lines + child_lines
        body = ""
        if len(extra_lines) == 1 and not child_lines:
            body = extra_lines[0]
        elif lines:
            body = "\n  " + "\n  ".join(lines) + "\n"
        return f"{self._get_name()}({body})"

    def compile(self, *args, **kwargs):
        """Compile ``forward`` with ``ember.compile`` where available (else a no-op)."""
        import ember
        comp = getattr(ember, "compile", None)
        if comp is not None:
            self.__dict__["_compiled_call"] = comp(self.forward, *args, **kwargs)


_HOOK_DICTS = ("_forward_pre_hooks", "_forward_pre_hooks_with_kwargs", "_forward_hooks",
               "_forward_hooks_with_kwargs", "_forward_hooks_always_called", "_backward_hooks",
               "_backward_pre_hooks", "_state_dict_hooks", "_state_dict_pre_hooks",
               "_load_state_dict_pre_hooks", "_load_state_dict_post_hooks")


def _dedupe(keys):
    return list(dict.fromkeys(keys))


def _raise_load_errors(module, strict, missing, unexpected, errors):
    msgs = []
    if strict and missing:
        msgs.append("Missing key(s) in state_dict: " + ", ".join(
            f'"{k}"' for k in _dedupe(missing)) + ". ")
    if strict and unexpected:
        msgs.append("Unexpected key(s) in state_dict: " + ", ".join(
            f'"{k}"' for k in _dedupe(unexpected)) + ". ")
    msgs += errors
    if msgs:
        raise RuntimeError(f"Error(s) in loading state_dict for {module._get_name()}:\n\t"
                           + "\n\t".join(msgs))


def _parse_to_args(args, kwargs):
    """``(device, dtype)`` from ``Module.to``'s arguments."""
    from ember.ops.methods import _parse_to
    kwargs = dict(kwargs)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    args = [a for a in args if not isinstance(a, bool)]  # to(device, dtype, non_blocking)
    return _parse_to(args, kwargs)

