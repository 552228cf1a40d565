"""GradScaler: loss scaling, so float16 gradients neither underflow nor go unnoticed as inf.

Per iteration::

    scaler.scale(loss).backward()   # gradients come out multiplied by S
    scaler.step(optimizer)          # unscale (x 1/S); skip the step if any is inf/NaN
    scaler.update()                 # S *= backoff after a skip; S *= growth after
                                    # growth_interval clean steps in a row

Finiteness is checked on the gradients' device (one host sync per ``step``). The
scale lives on the host as a float32 value, which reproduces PyTorch's sequence of
scales exactly; ``scale()`` multiplies by a 0-d float32 tensor on the outputs' device.
"""

import collections
import math
import warnings

import numpy as np

from ember.backend import compat
from ember._tensor import Tensor, _wrap
from ember.autograd.grad_mode import no_grad

READY, UNSCALED, STEPPED = 0, 1, 2


def _fresh_state():
    return {"stage": READY, "found_inf_per_device": {}}


def _f32(v):
    return float(np.float32(v))


class GradScaler:
    """Scale the loss, unscale gradients, skip steps with inf/NaN gradients, adapt the scale.

    Args:
        device: ``"cuda"`` (disabled with a warning when CUDA is unavailable) or ``"cpu"``.
        init_scale: the first scale factor.
        growth_factor: scale multiplier after ``growth_interval`` steps without inf/NaN.
        backoff_factor: scale multiplier after a step with inf/NaN gradients.
        growth_interval: clean steps in a row before the scale grows.
        enabled: False makes every method a pass-through (``step`` just steps).

    Example:
        >>> import ember
        >>> w = ember.nn.Parameter(ember.ones(2))
        >>> opt = ember.optim.SGD([w], lr=0.1)
        >>> scaler = ember.amp.GradScaler("cpu", init_scale=1024.0)
        >>> scaler.scale((w * 3).sum()).backward()
        >>> w.grad.tolist()
        [3072.0, 3072.0]
        >>> scaler.step(opt)
        >>> scaler.update()
        >>> [round(v, 4) for v in w.tolist()], scaler.get_scale()
        ([0.7, 0.7], 1024.0)
    """

    def __init__(self, device="cuda", init_scale=2.0 ** 16, growth_factor=2.0,
                 backoff_factor=0.5, growth_interval=2000, enabled=True):
        self._device = getattr(device, "type", device)
        self._enabled = bool(enabled)
        if self._enabled and self._device == "cuda":
            from ember.backend import cuda as _backend
            if not _backend.is_available():
                warnings.warn("ember.cuda.amp.GradScaler is enabled, but CUDA is not "
                              "available.  Disabling.")
                self._enabled = False
        if self._enabled:
            assert growth_factor > 1.0, "The growth factor must be > 1.0."
            assert backoff_factor < 1.0, "The backoff factor must be < 1.0."
        self._init_scale = init_scale
        self._scale = None  # float32 value as a Python float, once scale() has run
        self._growth_factor = growth_factor
        self._backoff_factor = backoff_factor
        self._growth_interval = growth_interval
        self._init_growth_tracker = 0
        self._growth_tracker = None
        self._scale_tensors = {}  # device -> 0-d float32 tensor of the current scale
        self._per_optimizer_states = collections.defaultdict(_fresh_state)

    # -- scaling ---------------------------------------------------------------------------
    def _lazy_init(self):
        if self._scale is None:
            self._scale = _f32(self._init_scale)
            self._growth_tracker = self._init_growth_tracker

    def _scale_on(self, device):
        t = self._scale_tensors.get(device)
        if t is None:
            arr = device.xp.asarray(np.float32(self._scale)).reshape(())
            t = self._scale_tensors[device] = _wrap(arr, device)
        return t

    def _set_scale(self, value):
        self._scale = _f32(value)
        self._scale_tensors.clear()

    def scale(self, outputs):
        """``outputs`` (a tensor, or an iterable of them) multiplied by the scale factor."""
        if not self._enabled:
            return outputs
        self._lazy_init()
        if isinstance(outputs, Tensor):
            return outputs * self._scale_on(outputs.device)

        def apply(v):
            if isinstance(v, Tensor):
                return v * self._scale_on(v.device)
            if isinstance(v, collections.abc.Iterable):
                it = map(apply, v)
                return type(v)(it) if isinstance(v, (list, tuple)) else it
            raise ValueError("outputs must be a Tensor or an iterable of Tensors")
        return apply(outputs)

    # -- unscaling and stepping -----------------------------------------------------------
    def _check(self, funcname):
        fix = "This may indicate your script did not use scaler.scale(loss or outputs) " \
              "earlier in the iteration."
        assert self._scale is not None, f"Attempted {funcname} but _scale is None.  " + fix
        assert self._growth_tracker is not None, \
            f"Attempted {funcname} but _growth_tracker is None.  " + fix

    def _unscale_grads_(self, optimizer, inv_scale, allow_fp16):
        """Multiply every gradient by ``inv_scale`` in place; per device, whether any
        gradient held inf/NaN (as a 0-d float32 array on that device)."""
        found = {}
        with no_grad():
            for group in optimizer.param_groups:
                for p in group["params"]:
                    g = p.grad
                    if g is None:
                        continue
                    if not allow_fp16 and g._data.dtype == np.float16:
                        raise ValueError("Attempting to unscale FP16 gradients.")
                    xp, arr = g._device.xp, g._data
                    bad = xp.logical_not(xp.isfinite(arr).all())  # checked before scaling
                    found[g._device] = bad if g._device not in found else \
                        xp.logical_or(found[g._device], bad)
                    if compat.writeable(arr):
                        xp.multiply(arr, np.float32(inv_scale), out=arr, casting="unsafe")
                    else:
                        g._data = (arr * np.float32(inv_scale)).astype(arr.dtype)
                    g._bump()
        return {d: v.astype(np.float32) for d, v in found.items()}

    def unscale_(self, optimizer):
        """Divide ``optimizer``'s gradients by the scale now (before clipping them, say).

        Raises:
            RuntimeError: called twice for one optimizer in an iteration, or after step.
        """
        if not self._enabled:
            return
        self._check("unscale_")
        state = self._per_optimizer_states[id(optimizer)]
        if state["stage"] == UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since "
                               "the last update().")
        if state["stage"] == STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        inv_scale = _f32(1.0 / self._scale)  # PyTorch: the float64 reciprocal, as float32
        state["found_inf_per_device"] = self._unscale_grads_(optimizer, inv_scale, False)
        state["stage"] = UNSCALED

    def step(self, optimizer, *args, **kwargs):
        """``optimizer.step()`` unless the (unscaled) gradients hold inf/NaN; returns what
        ``step`` returned, or None when skipped."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is "
                               "enabled.")
        self._check("step")
        state = self._per_optimizer_states[id(optimizer)]
        if state["stage"] == STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] == READY:
            self.unscale_(optimizer)
        assert len(state["found_inf_per_device"]) > 0, \
            "No inf checks were recorded for this optimizer."
        retval = None
        if not sum(float(v) for v in state["found_inf_per_device"].values()):
            retval = optimizer.step(*args, **kwargs)
        state["stage"] = STEPPED
        return retval

    def update(self, new_scale=None):
        """Adapt the scale after the iteration's steps (or set it to ``new_scale``)."""
        if not self._enabled:
            return
        self._check("update")
        if new_scale is not None:
            if isinstance(new_scale, Tensor):
                reason = ("new_scale should be a float or a 1-element ember.cuda.FloatTensor "
                          "or ember.FloatTensor with requires_grad=False.")
                assert new_scale.numel() == 1, reason
                assert new_scale.requires_grad is False, reason
                new_scale = new_scale.item()
            self._set_scale(new_scale)
        else:
            found_infs = [v for s in self._per_optimizer_states.values()
                          for v in s["found_inf_per_device"].values()]
            assert len(found_infs) > 0, "No inf checks were recorded prior to update."
            if sum(float(v) for v in found_infs):
                self._set_scale(self._scale * self._backoff_factor)
                self._growth_tracker = 0
            else:
                successful = self._growth_tracker + 1
                if successful == self._growth_interval:
                    grown = _f32(self._scale * self._growth_factor)
                    if math.isfinite(grown):
                        self._set_scale(grown)
                    self._growth_tracker = 0
                else:
                    self._growth_tracker = successful
        self._per_optimizer_states = collections.defaultdict(_fresh_state)

    # -- settings and state ---------------------------------------------------------------
    def get_scale(self):
        """The current scale as a Python float (1.0 when disabled)."""
        if not self._enabled:
            return 1.0
        return self._init_scale if self._scale is None else self._scale

    def get_growth_factor(self):
        return self._growth_factor

    def set_growth_factor(self, new_factor):
        self._growth_factor = new_factor

    def get_backoff_factor(self):
        return self._backoff_factor

    def set_backoff_factor(self, new_factor):
        self._backoff_factor = new_factor

    def get_growth_interval(self):
        return self._growth_interval

    def set_growth_interval(self, new_interval):
        self._growth_interval = new_interval

    def _get_growth_tracker(self):
        if not self._enabled:
            return 0
        return self._init_growth_tracker if self._growth_tracker is None else \
            self._growth_tracker

    def is_enabled(self):
        return self._enabled

    def state_dict(self):
        """Scale, factors, interval and growth tracker (empty when disabled)."""
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval,
                "_growth_tracker": self._get_growth_tracker()}

    def load_state_dict(self, state_dict):
        """Restore what :meth:`state_dict` returned."""
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved "
                               "from a disabled instance of GradScaler.")
        self._init_scale = float(state_dict["scale"])
        if self._scale is not None:
            self._set_scale(self._init_scale)
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._init_growth_tracker = int(state_dict["_growth_tracker"])
        if self._growth_tracker is not None:
            self._growth_tracker = self._init_growth_tracker

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_scale_tensors"] = {}
        state["_per_optimizer_states"] = collections.defaultdict(_fresh_state)
        return state

