"""``state_dict`` and ``load_state_dict`` for :class:`~ember.nn.Module` (a mixin).

Loading validates every entry first (shapes, types, missing and unexpected keys) and only
then copies, so a failed ``load_state_dict`` leaves the module unchanged.
"""

from collections import OrderedDict, namedtuple

from ember._tensor import Tensor
from ember.autograd.grad_mode import no_grad
from ember.nn.parameter import Parameter, is_lazy

__all__ = []


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns: the keys it missed and the keys it did not expect."""

    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


class _StateDictMixin:
    """The state-dict half of ``Module``: saving and (validated) loading."""

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

    def _upgrade_state_dict(self, state_dict, prefix, local_metadata):
        """Adapt this module's entries of an older ``state_dict`` in place before loading
        (``local_metadata['version']`` is the saving module's ``_version``)."""

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
            m._upgrade_state_dict(state_dict, prefix, meta)
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
