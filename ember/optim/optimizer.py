"""Optimizer: parameter groups, per-parameter state, state_dict, hooks and the step loop.

A concrete optimizer writes only its per-parameter update (``_update``) on raw arrays and,
when it keeps state, how that state starts (``_init_state``). This base class owns the
loop over groups and parameters, closures, hooks, version bumps and (de)serialisation.

Updates run with gradient recording off and are never differentiated, so they work in
place on ``p._data`` with ``out=`` ufuncs, block by block (``blocks``) so that their many
passes stay in cache, and reuse a few scratch buffers between steps (``_buf``): a step
allocates nothing the size of a parameter.
"""

import copy
import functools
from collections import OrderedDict, defaultdict
from itertools import chain

import numpy as np

from ember._tensor import Tensor, _wrap
from ember._dtype import get_default_dtype
from ember.autograd.grad_mode import STATE
from ember.backend import cuda as _cuda

__all__ = ["Optimizer", "required", "register_optimizer_step_pre_hook",
           "register_optimizer_step_post_hook"]


class _RequiredParameter:
    """Marks a hyperparameter with no default that every group must set."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()

_GLOBAL_PRE_HOOKS = OrderedDict()
_GLOBAL_POST_HOOKS = OrderedDict()


class RemovableHandle:
    """Returned by hook registrations; ``remove()`` unregisters the hook."""

    _next_id = 0

    def __init__(self, hooks):
        self._hooks = hooks
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self):
        self._hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _add_hook(hooks, hook, prepend=False):
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


def register_optimizer_step_pre_hook(hook):
    """Run ``hook(optimizer, args, kwargs)`` before every optimizer's ``step``.

    The hook may return ``(new_args, new_kwargs)`` to replace the step's arguments.
    """
    return _add_hook(_GLOBAL_PRE_HOOKS, hook)


def register_optimizer_step_post_hook(hook):
    """Run ``hook(optimizer, args, kwargs)`` after every optimizer's ``step``."""
    return _add_hook(_GLOBAL_POST_HOOKS, hook)


def _with_hooks(step):
    """Wrap a ``step``: grad recording off, step pre/post hooks, and the flag schedulers read."""
    @functools.wraps(step)
    def wrapper(self, *args, **kwargs):
        self._opt_called = True
        if self.__dict__.get("_in_step"):        # a subclass step calling super().step()
            return step(self, *args, **kwargs)
        for hook in chain(_GLOBAL_PRE_HOOKS.values(), self._optimizer_step_pre_hooks.values()):
            res = hook(self, args, kwargs)
            if res is not None:
                if not (isinstance(res, tuple) and len(res) == 2):
                    raise RuntimeError(f"{hook} must return None or a tuple of (new_args, "
                                       f"new_kwargs), but got {res}.")
                args, kwargs = res
        prev, STATE.enabled = STATE.enabled, False
        self._in_step = True
        try:
            out = step(self, *args, **kwargs)
        finally:
            STATE.enabled = prev
            self._in_step = False
        for hook in chain(self._optimizer_step_post_hooks.values(), _GLOBAL_POST_HOOKS.values()):
            hook(self, args, kwargs)
        return out
    wrapper._ember_hooked = True
    return wrapper


BLOCK = 1 << 15  # elements per block of an update: its working set then stays in cache


def blocks(*arrays):
    """Aligned flat blocks of same-shaped arrays, for multi-pass updates that stay in cache.

    An update makes ten or more passes over its arrays; run block by block, each pass reads
    the cache instead of memory (Adam on 1M-element parameters: about 1.4x faster). Small, CuPy or
    non-contiguous arrays come back whole, as one block. ``None`` entries pass through.
    Complex arrays are seen as real ones (real and imaginary parts interleaved), so every
    update treats the two parts as independent coordinates, like PyTorch's.
    """
    x = arrays[0]
    if x.dtype.kind == "c":
        arrays = tuple(None if a is None else real_view(a) for a in arrays)
        x = arrays[0]
    n = x.size
    if n <= 2 * BLOCK or type(x) is not np.ndarray or \
            not all(a is None or a.flags.c_contiguous for a in arrays):
        yield arrays
        return
    flat = [None if a is None else a.reshape(-1) for a in arrays]
    for i in range(0, n, BLOCK):
        yield tuple(None if a is None else a[i:i + BLOCK] for a in flat)


def real_view(a):
    """A flat real view of a complex array (``[re0, im0, re1, im1, ...]``); others: flat."""
    if not a.flags.c_contiguous:
        raise NotImplementedError("ember.optim: complex parameters, gradients and states must "
                                  "be contiguous")
    a = a.reshape(-1)
    return a.view(a.real.dtype) if a.dtype.kind == "c" else a


def _scalar(x):
    """A hyperparameter as a Python number (a 0-d/1-element tensor lr is read each step)."""
    return x.item() if isinstance(x, Tensor) else x


def _step_tensor(value=0.0):
    """A fresh ``step`` counter: a 0-d CPU tensor (float32, or float64 under that default)."""
    return _wrap(np.array(value, dtype=np.float64 if get_default_dtype().np == np.float64
                          else np.float32), _cpu())


def _cpu():
    from ember.backend import device
    return device("cpu")


def _zeros_like(p):
    """A state tensor of zeros with ``p``'s shape, dtype and device."""
    return _wrap(p._device.xp.zeros_like(p._data), p._device)


def _check_lr(lr):
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")


def _check_betas(betas):
    for i, b in enumerate(betas):
        if not 0.0 <= b < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {b}")


def _check_nonneg(value, what):
    if not 0.0 <= value:
        raise ValueError(f"Invalid {what} value: {value}")


def _inc(step_t):
    """Add one to a ``step`` counter in place and return its new value as a float."""
    a = step_t._data
    a += 1
    return float(a)


class Optimizer:
    """Base class of all optimizers.

    Args:
        params (iterable): tensors to optimize, or dicts defining parameter groups (each
            with a ``"params"`` entry and optional per-group hyperparameters). Tensors may
            also be given as ``(name, tensor)`` pairs (as from ``named_parameters()``).
        defaults (dict): default hyperparameters, used by groups that do not set them.

    A subclass implements the update of one parameter, ``_update(p, g, state, group)``, on
    raw arrays (``p._data`` written in place; ``g`` the gradient's array, never written),
    and ``_init_state(p, group)`` returning the parameter's initial state dict (or ``None``
    when it keeps none). Parameters whose ``grad`` is ``None`` are skipped.

    Example:
        >>> import ember
        >>> w = ember.tensor([1.0, 2.0], requires_grad=True)
        >>> opt = ember.optim.SGD([{"params": [w], "lr": 0.5}], lr=0.1)
        >>> opt.param_groups[0]["lr"], opt.param_groups[0]["momentum"]
        (0.5, 0)
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_ember_hooked", False):
            cls.step = _with_hooks(step)

    def __init__(self, params, defaults):
        self.defaults = defaults
        self._init_hooks()
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got " + type(params).__name__)
        self.state = defaultdict(dict)
        self.param_groups = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    def _init_hooks(self):
        """Create the hook registries (keeping existing ones) and the scratch buffers."""
        for name in ("step_pre", "step_post", "state_dict_pre", "state_dict_post",
                     "load_state_dict_pre", "load_state_dict_post"):
            self.__dict__.setdefault(f"_optimizer_{name}_hooks", OrderedDict())
        self._scratch = {}
        self._in_step = False

    # -- pickling and printing -----------------------------------------------------------
    def __getstate__(self):         # hooks and scratch buffers are not saved
        return {"defaults": self.defaults, "state": self.state,
                "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._init_hooks()
        self.defaults.setdefault("differentiable", False)

    def __repr__(self):
        lines = [self.__class__.__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        return "\n".join(lines) + "\n)"

    # -- parameter groups ----------------------------------------------------------------
    def add_param_group(self, param_group):
        """Add a parameter group (a dict with ``"params"`` and optional hyperparameters).

        Missing hyperparameters are filled from ``defaults``. Useful for fine-tuning, where
        frozen layers become trainable as training progresses.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        else:
            params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        param_group["params"] = params
        if names:
            if len(names) != len(params):
                raise ValueError("all optimizer params should be with/without names. Some "
                                 "param names are missing")
            param_group["param_names"] = names
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + type(p).__name__)
            if not self.defaults.get("differentiable", None) and not (p.is_leaf or
                                                                        p.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            param_group.setdefault(name, default)
        if len(params) != len({id(p) for p in params}):
            import warnings
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in "
                          "future, this will cause an error; see "
                          "github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)
        seen = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError(f"all optimizer param groups should be with/without names. "
                                 f"cannot add param group {which} to the optimizer")
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # -- gradients -----------------------------------------------------------------------
    def zero_grad(self, set_to_none=True):
        """Reset the gradients of all optimized tensors.

        Args:
            set_to_none (bool): set ``.grad`` to ``None`` (default) instead of filling it
                with zeros. A ``None`` grad makes ``step`` skip the parameter, a zero grad
                does not (weight decay and momentum still act).
        """
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                    continue
                if g._node is not None:
                    g.detach_()
                else:
                    g._requires_grad = False
                g._data.fill(0)
                g._bump()

    # -- the step --------------------------------------------------------------------------
    def step(self, closure=None):
        """Perform one optimization step and return the closure's loss (or ``None``).

        Args:
            closure (callable, optional): re-evaluates the model (zeroing grads and calling
                ``backward``) and returns the loss; it runs with gradient recording on.
        """
        loss = self._eval_closure(closure)
        states = self.state
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if getattr(g, "is_sparse", False) is True:
                    raise RuntimeError(f"{type(self).__name__} does not support sparse "
                                       f"gradients")
                state = states.get(p)
                if not state:
                    state = self._init_state(p, group)
                    if state is not None:
                        states[p] = state
                self._update(p, g._data, state, group)
                p._bump()
        return loss

    @staticmethod
    def _eval_closure(closure):
        if closure is None:
            return None
        prev, STATE.enabled = STATE.enabled, True
        try:
            return closure()
        finally:
            STATE.enabled = prev

    def _init_state(self, p, group):
        """The initial state dict of parameter ``p`` (``None``: the update keeps no state)."""
        return None

    def _update(self, p, g, state, group):
        """Update ``p._data`` in place from gradient array ``g`` (the base bumps the version)."""
        raise NotImplementedError

    # -- helpers for updates -------------------------------------------------------------
    def _buf(self, like, slot):
        """Scratch array shaped like ``like`` (reused across steps; contents undefined)."""
        key = (type(like), like.dtype, slot, getattr(like, "device", None))
        buf = self._scratch.get(key)
        n = like.size
        if buf is None or buf.size < n:
            xp = np if isinstance(like, np.ndarray) else _cuda.xp()
            buf = self._scratch[key] = xp.empty(n, dtype=like.dtype)
        return buf[:n].reshape(like.shape)

    def _grad(self, x, g, group, weight_decay=0):
        """The gradient an update uses: ``-g`` when maximizing, plus ``weight_decay * x``.

        Returns ``g`` itself when neither applies, else scratch slot 0 (never writes ``g``).
        """
        if group["maximize"]:
            g = np.negative(g, out=self._buf(g, 0))
        if weight_decay != 0:
            tmp = np.multiply(x, weight_decay, out=self._buf(x, 1))
            g = np.add(g, tmp, out=self._buf(x, 0))
        return g

    # -- hooks -----------------------------------------------------------------------------
    def register_step_pre_hook(self, hook):
        """``hook(optimizer, args, kwargs)`` runs before ``step``; may return new args/kwargs."""
        return _add_hook(self._optimizer_step_pre_hooks, hook)

    def register_step_post_hook(self, hook):
        """``hook(optimizer, args, kwargs)`` runs after ``step``."""
        return _add_hook(self._optimizer_step_post_hooks, hook)

    def register_state_dict_pre_hook(self, hook, prepend=False):
        """``hook(optimizer)`` runs before ``state_dict`` builds its result."""
        return _add_hook(self._optimizer_state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(self, hook, prepend=False):
        """``hook(optimizer, state_dict)`` runs on the result; may return a replacement."""
        return _add_hook(self._optimizer_state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(self, hook, prepend=False):
        """``hook(optimizer, state_dict)`` runs before loading; may return a replacement."""
        return _add_hook(self._optimizer_load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(self, hook, prepend=False):
        """``hook(optimizer)`` runs after ``load_state_dict``."""
        return _add_hook(self._optimizer_load_state_dict_post_hooks, hook, prepend)

    # -- serialisation ---------------------------------------------------------------------
    def state_dict(self):
        """The optimizer's state as ``{"state": {index: {...}}, "param_groups": [...]}``.

        Parameters are replaced by their index (counting through the groups in order); the
        per-parameter state dicts are returned as they are (not copied), like PyTorch.
        """
        for hook in self._optimizer_state_dict_pre_hooks.values():
            hook(self)
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            start = len(index)
            for i, p in enumerate(group["params"], start):
                index.setdefault(id(p), i)
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {(index[id(k)] if isinstance(k, Tensor) else k): v
                 for k, v in self.state.items()}
        out = {"state": state, "param_groups": groups}
        for hook in self._optimizer_state_dict_post_hooks.values():
            res = hook(self, out)
            if res is not None:
                out = res
        return out

    def load_state_dict(self, state_dict):
        """Load a state from :meth:`state_dict` (deep-copied; tensors follow each parameter).

        State tensors are cast to their parameter's floating dtype and moved to its device,
        except ``step`` counters, which keep their dtype. Group hyperparameters are replaced
        by the saved ones; the parameters themselves stay this optimizer's.
        """
        state_dict = dict(state_dict)
        for hook in self._optimizer_load_state_dict_pre_hooks.values():
            res = hook(self, state_dict)
            if res is not None:
                state_dict = res
        groups = self.param_groups
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match "
                             "the size of optimizer's group")
        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))
        state = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                param = id_map[k]
                state[param] = _cast_state(param, v)
            else:
                state[k] = copy.deepcopy(v)
        new_groups = []
        for group, saved in zip(groups, saved_groups):
            saved["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                saved["param_names"] = group["param_names"]
            for k, v in self.defaults.items():
                saved.setdefault(k, v)
            new_groups.append(saved)
        self.__setstate__({"state": state, "param_groups": new_groups})
        for hook in self._optimizer_load_state_dict_post_hooks.values():
            hook(self)


Optimizer.step = _with_hooks(Optimizer.step)


def _cast_state(param, value, key=None):
    """Deep-copy one parameter's saved state, moving tensors to ``param``'s device/dtype."""
    if isinstance(value, Tensor):
        out = value.detach()
        if key != "step" and param.is_floating_point():
            out = out.to(dtype=param.dtype)
        if key != "step":
            out = out.to(device=param.device)
        return out.clone() if out._data is value._data else out
    if isinstance(value, dict):
        return {k: _cast_state(param, v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast_state(param, v) for v in value)
    return copy.deepcopy(value)
