"""Per-batch cyclic schedules: CyclicLR and the 1cycle policy, with momentum cycling."""

import math
import types

from ember.optim.lr_scheduler import (LRScheduler, _check_optimizer, _format_param,
                                      _set_group_value)

__all__ = ["CyclicLR", "OneCycleLR"]


def _set_momentum(group, use_beta1, value):
    if use_beta1:
        group["betas"] = (value, *group["betas"][1:])
    else:
        group["momentum"] = value


def _init_momentum_cycle(optimizer, base_momentum, max_momentum, last_epoch):
    """Shared by CyclicLR and OneCycleLR: record momentum bounds in the groups."""
    if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
        raise ValueError("optimizer must support momentum or beta1 with `cycle_momentum` "
                         "option enabled")
    use_beta1 = "betas" in optimizer.defaults
    maxs = _format_param("max_momentum", optimizer, max_momentum)
    bases = _format_param("base_momentum", optimizer, base_momentum)
    if last_epoch == -1:
        for hi, lo, group in zip(maxs, bases, optimizer.param_groups):
            _set_momentum(group, use_beta1, hi)
            group["max_momentum"] = hi
            group["base_momentum"] = lo
    return use_beta1, bases, maxs


class CyclicLR(LRScheduler):
    r"""Cycle the lr between ``base_lr`` and ``max_lr`` (Smith, 2017), stepped every batch.

    Each cycle rises for ``step_size_up`` iterations and falls for ``step_size_down``; the
    amplitude is scaled by ``triangular`` (1), ``triangular2`` (halved each cycle),
    ``exp_range`` (:math:`\gamma^{iteration}`) or a custom ``scale_fn``. With
    ``cycle_momentum`` the momentum (or Adam's :math:`\beta_1`) cycles inversely between
    ``max_momentum`` and ``base_momentum``.

    Args:
        optimizer (Optimizer): wrapped optimizer.
        base_lr (float or list): lower lr bound(s).
        max_lr (float or list): upper lr bound(s).
        step_size_up (int): iterations in the rising half (default: 2000).
        step_size_down (int): iterations in the falling half (default: ``step_size_up``).
        mode (str): ``"triangular"``, ``"triangular2"`` or ``"exp_range"``.
        gamma (float): base of ``exp_range`` scaling (default: 1.0).
        scale_fn (callable): custom amplitude scale, overriding ``mode`` (default: None).
        scale_mode (str): ``"cycle"`` or ``"iterations"``: what ``scale_fn`` is given.
        cycle_momentum (bool): cycle the momentum too (default: True).
        base_momentum (float or list): lower momentum bound(s) (default: 0.8).
        max_momentum (float or list): upper momentum bound(s) (default: 0.9).
        last_epoch (int): index of the last batch (default: -1).
    """

    def __init__(self, optimizer, base_lr, max_lr, step_size_up=2000, step_size_down=None,
                 mode="triangular", gamma=1.0, scale_fn=None, scale_mode="cycle",
                 cycle_momentum=True, base_momentum=0.8, max_momentum=0.9, last_epoch=-1):
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        base_lrs = _format_param("base_lr", optimizer, base_lr)
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups):
                _set_group_value(group, "lr", lr)
        self.max_lrs = _format_param("max_lr", optimizer, max_lr)
        up = float(step_size_up)
        down = float(step_size_down) if step_size_down is not None else up
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        if mode not in ("triangular", "triangular2", "exp_range") and scale_fn is None:
            raise ValueError("mode is invalid and scale_fn is None")
        self.mode = mode
        self.gamma = gamma
        self._scale_fn_custom = scale_fn
        self.scale_mode = scale_mode
        if scale_fn is None:
            self.scale_mode = "iterations" if mode == "exp_range" else "cycle"
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1, self.base_momentums, self.max_momentums = _init_momentum_cycle(
                optimizer, base_momentum, max_momentum, last_epoch)
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def scale_fn(self, x):
        """The amplitude scale at cycle (or iteration) ``x``."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma ** x

    def get_lr(self):
        self._warn_if_outside_step()
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        if x <= self.step_ratio:
            frac = x / self.step_ratio
        else:
            frac = (x - 1) / (self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
        lrs = [b + (m - b) * frac * scale for b, m in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            for group, lo, hi in zip(self.optimizer.param_groups, self.base_momentums,
                                     self.max_momentums):
                _set_momentum(group, self.use_beta1, hi - (hi - lo) * frac * scale)
        return lrs

    def state_dict(self):
        out = super().state_dict()
        fn = out.pop("_scale_fn_custom")
        out["_scale_fn_custom"] = None
        if fn is not None and not isinstance(fn, types.FunctionType):
            out["_scale_fn_custom"] = fn.__dict__.copy()
        return out

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        fn = state_dict.pop("_scale_fn_custom")
        super().load_state_dict(state_dict)
        if fn is not None:
            self._scale_fn_custom.__dict__.update(fn)


class OneCycleLR(LRScheduler):
    r"""The 1cycle policy (Smith & Topin, 2018), stepped every batch.

    The lr warms up from ``max_lr / div_factor`` to ``max_lr`` over the first ``pct_start``
    of ``total_steps``, then anneals to ``initial_lr / final_div_factor`` (by cosine or
    linearly). ``three_phase`` comes back down to the initial lr symmetrically before the
    final annealing. With ``cycle_momentum`` the momentum (or Adam's :math:`\beta_1`) moves
    inversely between ``max_momentum`` and ``base_momentum``.

    Args:
        optimizer (Optimizer): wrapped optimizer.
        max_lr (float or list): peak lr(s).
        total_steps (int): steps in the cycle (or give ``epochs`` and ``steps_per_epoch``).
        epochs (int), steps_per_epoch (int): ``total_steps = epochs * steps_per_epoch``.
        pct_start (float): fraction of the cycle spent increasing the lr (default: 0.3).
        anneal_strategy (str): ``"cos"`` or ``"linear"`` (default: ``"cos"``).
        cycle_momentum (bool): cycle the momentum too (default: True).
        base_momentum (float or list): lower momentum bound(s) (default: 0.85).
        max_momentum (float or list): upper momentum bound(s) (default: 0.95).
        div_factor (float): initial lr = max_lr / div_factor (default: 25.0).
        final_div_factor (float): min lr = initial lr / final_div_factor (default: 1e4).
        three_phase (bool): use the three-phase schedule (default: False).
        last_epoch (int): index of the last batch (default: -1).
    """

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
                 pct_start=0.3, anneal_strategy="cos", cycle_momentum=True,
                 base_momentum=0.85, max_momentum=0.95, div_factor=25.0,
                 final_div_factor=1e4, three_phase=False, last_epoch=-1):
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        if total_steps is not None:
            if total_steps <= 0 or not isinstance(total_steps, int):
                raise ValueError(f"Expected positive integer total_steps, but got "
                                 f"{total_steps}")
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            if not isinstance(epochs, int) or epochs <= 0:
                raise ValueError(f"Expected positive integer epochs, but got {epochs}")
            if not isinstance(steps_per_epoch, int) or steps_per_epoch <= 0:
                raise ValueError(f"Expected positive integer steps_per_epoch, but got "
                                 f"{steps_per_epoch}")
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("You must define either total_steps OR (epochs AND "
                             "steps_per_epoch)")
        self._schedule_phases = self._phases(pct_start, three_phase)
        if pct_start < 0 or pct_start > 1 or not isinstance(pct_start, float):
            raise ValueError(f"Expected float between 0 and 1 pct_start, but got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got "
                             f"{anneal_strategy}")
        self._anneal_func_type = anneal_strategy
        max_lrs = _format_param("max_lr", optimizer, max_lr)
        if last_epoch == -1:
            for m, group in zip(max_lrs, optimizer.param_groups):
                group["initial_lr"] = m / div_factor
                group["max_lr"] = m
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1, _, _ = _init_momentum_cycle(optimizer, base_momentum, max_momentum,
                                                        last_epoch)
        super().__init__(optimizer, last_epoch)

    def _phases(self, pct_start, three_phase):
        """(end step, start lr key, end lr key, start momentum key, end momentum key)."""
        n = self.total_steps
        up = float(pct_start * n) - 1
        if three_phase:
            return [dict(end_step=up, start_lr="initial_lr", end_lr="max_lr",
                         start_momentum="max_momentum", end_momentum="base_momentum"),
                    dict(end_step=float(2 * pct_start * n) - 2, start_lr="max_lr",
                         end_lr="initial_lr", start_momentum="base_momentum",
                         end_momentum="max_momentum"),
                    dict(end_step=n - 1, start_lr="initial_lr", end_lr="min_lr",
                         start_momentum="max_momentum", end_momentum="max_momentum")]
        return [dict(end_step=up, start_lr="initial_lr", end_lr="max_lr",
                     start_momentum="max_momentum", end_momentum="base_momentum"),
                dict(end_step=n - 1, start_lr="max_lr", end_lr="min_lr",
                     start_momentum="base_momentum", end_momentum="max_momentum")]

    def _anneal_func(self, start, end, pct):
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self):
        self._warn_if_outside_step()
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"Tried to step {step} times. The specified number of total steps "
                             f"is {self.total_steps}")
        lrs = []
        phases = self._schedule_phases
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, ph in enumerate(phases):
                end = ph["end_step"]
                if step <= end or i == len(phases) - 1:
                    pct = (step - start) / (end - start)
                    lrs.append(self._anneal_func(group[ph["start_lr"]], group[ph["end_lr"]],
                                                 pct))
                    if self.cycle_momentum:
                        mom = self._anneal_func(group[ph["start_momentum"]],
                                                group[ph["end_momentum"]], pct)
                        _set_momentum(group, self.use_beta1, mom)
                    break
                start = end
        return lrs
