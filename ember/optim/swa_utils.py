"""Weight averaging: AveragedModel (SWA and EMA), the SWALR schedule, and update_bn.

``AveragedModel`` keeps a copy of a model whose parameters (and optionally buffers) are
a running average of the model's: the plain mean for stochastic weight averaging (SWA), or
an exponential moving average (EMA) with ``get_ema_multi_avg_fn``. After SWA training,
``update_bn`` recomputes BatchNorm statistics for the averaged weights.
"""

import copy
import itertools
import math
import warnings

import numpy as np

from ember._tensor import Tensor
from ember.autograd.grad_mode import no_grad
from ember.nn.modules.module import Module
from ember.optim.lr_scheduler import LRScheduler, _format_param

__all__ = ["AveragedModel", "update_bn", "SWALR", "get_ema_multi_avg_fn",
           "get_swa_multi_avg_fn", "get_ema_avg_fn", "get_swa_avg_fn"]


def _lerp_(avg, new, weight):
    """``avg += weight * (new - avg)`` in place on the arrays (PyTorch's ``lerp_`` forms)."""
    a = avg._data
    d = np.subtract(new._data, a)
    if abs(weight) < 0.5:
        a += np.multiply(d, weight, out=d)
    else:
        np.subtract(new._data, np.multiply(d, 1 - weight, out=d), out=a)
    avg._bump()


def _assign(avg, value):
    """Write array ``value`` into tensor ``avg`` (cast like ``copy_``) and bump its version."""
    avg._data[...] = value
    avg._bump()


def _is_float(t):
    return t._data.dtype.kind in "fcV"


def get_ema_multi_avg_fn(decay=0.999):
    r"""An EMA update for lists of tensors: :math:`\bar\theta \leftarrow d\,\bar\theta +
    (1-d)\,\theta`.

    Args:
        decay (float): the decay :math:`d`, in [0, 1] (default: 0.999).
    """
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in "
                         f"[0,1] range.")

    def ema_update(ema_param_list, current_param_list, _):
        for ema, cur in zip(ema_param_list, current_param_list):
            if _is_float(ema):
                _lerp_(ema, cur, 1 - decay)
            else:
                _assign(ema, ema._data * decay + cur._data * (1 - decay))
    return ema_update


def get_swa_multi_avg_fn():
    r"""An SWA (running mean) update for lists of tensors:
    :math:`\bar\theta \leftarrow \bar\theta + (\theta - \bar\theta) / (n + 1)`."""
    def swa_update(averaged_param_list, current_param_list, num_averaged):
        n = float(num_averaged)
        for avg, cur in zip(averaged_param_list, current_param_list):
            if _is_float(avg):
                _lerp_(avg, cur, 1 / (n + 1))
            else:
                _assign(avg, avg._data + (cur._data - avg._data) / (n + 1))
    return swa_update


def get_ema_avg_fn(decay=0.999):
    r"""An EMA update for one tensor: returns :math:`d\,\bar\theta + (1-d)\,\theta`.

    Args:
        decay (float): the decay :math:`d`, in [0, 1] (default: 0.999).
    """
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in "
                         f"[0,1] range.")

    def ema_update(ema_param, current_param, num_averaged):
        with no_grad():
            return decay * ema_param + (1 - decay) * current_param
    return ema_update


def get_swa_avg_fn():
    r"""An SWA update for one tensor: returns
    :math:`\bar\theta + (\theta - \bar\theta) / (n + 1)`."""
    def swa_update(averaged_param, current_param, num_averaged):
        with no_grad():
            return averaged_param + (current_param - averaged_param) / (num_averaged + 1)
    return swa_update


def _swa_default_(avg, cur, n):
    """The default SWA update in place: ``avg + (cur - avg) / (n + 1)``."""
    a = avg._data
    if _is_float(avg):
        d = np.subtract(cur._data, a)
        d /= n + 1
        a += d
        avg._bump()
    else:
        _assign(avg, a + (cur._data - a) / (n + 1))


class AveragedModel(Module):
    r"""A copy of ``model`` whose weights are a running average of ``model``'s weights.

    ``update_parameters(model)`` first copies the weights, then averages them in: by default
    the running mean (SWA), :math:`\bar\theta_{n+1} = \bar\theta_n + (\theta - \bar\theta_n)
    /(n+1)`; or by ``avg_fn(averaged, current, n)`` (returns the new average of one tensor)
    or ``multi_avg_fn(averaged_list, current_list, n)`` (updates the lists in place), e.g.
    ``get_ema_multi_avg_fn(0.999)`` for an exponential moving average.

    Args:
        model (Module): the model to average (deep-copied).
        device (device, optional): move the copy there.
        avg_fn (callable, optional): per-tensor averaging function.
        multi_avg_fn (callable, optional): in-place averaging of tensor lists.
        use_buffers (bool): average buffers too (else they are copied from ``model``)
            (default: False).

    Example:
        >>> import ember
        >>> from ember import nn
        >>> model = nn.Linear(2, 1)
        >>> swa = ember.optim.swa_utils.AveragedModel(model)
        >>> swa.update_parameters(model)
        >>> int(swa.n_averaged)
        1
    """

    def __init__(self, model, device=None, avg_fn=None, multi_avg_fn=None, use_buffers=False):
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        from ember.ops.creation import tensor
        from ember._dtype import int64
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", tensor(0, dtype=int64, device=device))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def update_parameters(self, model):
        """Average ``model``'s current weights into this copy."""
        with no_grad():
            self._update(model)

    def _update(self, model):
        if self.use_buffers:
            mine = itertools.chain(self.module.parameters(), self.module.buffers())
            theirs = itertools.chain(model.parameters(), model.buffers())
        else:
            mine, theirs = self.parameters(), model.parameters()
        pairs = [(a.detach(), m.detach().to(a.device)) for a, m in zip(mine, theirs)]
        n = int(self.n_averaged.item())
        if n == 0:
            for a, m in pairs:
                _assign(a, m._data)
        elif self.multi_avg_fn is not None:
            for avgs, curs in _group_by_device_and_dtype(pairs):
                self.multi_avg_fn(avgs, curs, self.n_averaged.to(avgs[0].device))
        elif self.avg_fn is not None:
            for a, m in pairs:
                out = self.avg_fn(a, m, self.n_averaged.to(a.device))
                _assign(a, out._data if isinstance(out, Tensor) else out)
        else:
            for a, m in pairs:
                _swa_default_(a, m, n)
        if not self.use_buffers:
            for b_avg, b_model in zip(self.module.buffers(), model.buffers()):
                _assign(b_avg, b_model.detach().to(b_avg.device)._data)
        self.n_averaged._data += 1
        self.n_averaged._bump()


def _group_by_device_and_dtype(pairs):
    groups = {}
    for a, m in pairs:
        avgs, curs = groups.setdefault((str(a.device), a._data.dtype), ([], []))
        avgs.append(a)
        curs.append(m)
    return list(groups.values())


def _batchnorm_modules(model):
    try:
        from ember.nn.modules.batchnorm import _BatchNorm
    except ImportError:                  # BatchNorm not available: recognise it by its API
        return [m for m in model.modules()
                if hasattr(m, "reset_running_stats") and hasattr(m, "momentum")
                and hasattr(m, "running_mean")]
    return [m for m in model.modules() if isinstance(m, _BatchNorm)]


def update_bn(loader, model, device=None):
    """Recompute BatchNorm running statistics with one pass over ``loader``.

    Each BatchNorm's statistics are reset and its ``momentum`` set to ``None`` (a
    cumulative average) for the pass, then restored; the model's train/eval mode is
    restored too. Batches may be tensors or tuples/lists whose first item is the input.

    Args:
        loader (iterable): batches of inputs (e.g. a ``DataLoader``).
        model (Module): the model (e.g. an ``AveragedModel``).
        device (device, optional): move each input there first.
    """
    with no_grad():
        momenta = {}
        for m in _batchnorm_modules(model):
            m.reset_running_stats()
            momenta[m] = m.momentum
        if not momenta:
            return
        was_training = model.training
        model.train()
        for m in momenta:
            m.momentum = None
        for batch in loader:
            if isinstance(batch, (list, tuple)):
                batch = batch[0]
            if device is not None:
                batch = batch.to(device)
            model(batch)
        for m, momentum in momenta.items():
            m.momentum = momentum
        model.train(was_training)


class SWALR(LRScheduler):
    r"""Anneal each group's lr to a fixed SWA lr over ``anneal_epochs``, then hold it.

    With :math:`\alpha = a(\min(1, t / T))` (``a`` the cosine :math:`(1-\cos\pi x)/2` or
    linear ramp), :math:`\eta_t = \alpha\,\eta_{swa} + (1-\alpha)\,\eta_{start}`.

    Args:
        optimizer (Optimizer): wrapped optimizer.
        swa_lr (float or list): the SWA lr(s).
        anneal_epochs (int): epochs of the annealing :math:`T` (default: 10).
        anneal_strategy (str): ``"cos"`` or ``"linear"`` (default: ``"cos"``).
        last_epoch (int): index of the last epoch (default: -1).
    """

    def __init__(self, optimizer, swa_lr, anneal_epochs=10, anneal_strategy="cos",
                 last_epoch=-1):
        for lr, group in zip(_format_param("swa_lr", optimizer, swa_lr), optimizer.param_groups):
            group["swa_lr"] = lr
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got "
                             f"{anneal_strategy}")
        self._anneal_strategy = anneal_strategy
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got "
                             f"{anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    def anneal_func(self, t):
        """The annealing ramp at progress ``t`` in [0, 1]."""
        if self._anneal_strategy == "cos":
            return (1 - math.cos(math.pi * t)) / 2
        return t

    @staticmethod
    def _get_initial_lr(lr, swa_lr, alpha):
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self):
        if not self._get_lr_called_within_step:
            warnings.warn("To get the last learning rate computed by the scheduler, please use "
                          "`get_last_lr()`.", UserWarning, stacklevel=2)
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        span = max(1, self.anneal_epochs)
        prev_alpha = self.anneal_func(max(0, min(1, (step - 1) / span)))
        groups = self.optimizer.param_groups
        starts = [self._get_initial_lr(g["lr"], g["swa_lr"], prev_alpha) for g in groups]
        alpha = self.anneal_func(max(0, min(1, step / span)))
        return [g["swa_lr"] * alpha + lr * (1 - alpha) for g, lr in zip(groups, starts)]
