"""Grad-mode switches: no_grad, enable_grad, set_grad_enabled, inference_mode.

The state is one attribute read on every op (``STATE.enabled``), so it stays a
plain class attribute.
"""

import functools


class STATE:
    enabled = True
    inference = False


class _Mode:
    """Base of the grad-mode context managers; each also works as a decorator."""

    _target = True

    def __enter__(self):
        self._prev = STATE.enabled
        STATE.enabled = self._target

    def __exit__(self, *exc):
        STATE.enabled = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            with self._clone():
                return fn(*args, **kwargs)
        return wrapped

    def _clone(self):
        return self.__class__()

    def clone(self):
        return self._clone()


class no_grad(_Mode):
    """Disable gradient recording inside the block.

    Example:
        >>> import ember
        >>> x = ember.ones(2, requires_grad=True)
        >>> with ember.no_grad():
        ...     y = x * 2
        >>> y.requires_grad
        False
    """

    _target = False


class enable_grad(_Mode):
    """Enable gradient recording inside the block (even within ``no_grad``)."""

    _target = True


class set_grad_enabled(_Mode):
    """Set gradient recording on or off; works as a function, context manager or decorator."""

    def __init__(self, mode):
        self._target = bool(mode)
        self._prev = STATE.enabled
        STATE.enabled = self._target

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        STATE.enabled = self._prev
        return False

    def _clone(self):
        return _SetGrad(self._target)


class _SetGrad(_Mode):
    def __init__(self, mode):
        self._target = mode

    def _clone(self):
        return _SetGrad(self._target)


class inference_mode(_Mode):
    """Like ``no_grad``; tensors made inside are marked as inference tensors."""

    def __init__(self, mode=True):
        self._target = not mode
        self._mode = mode

    def __enter__(self):
        self._prev = STATE.enabled
        self._prev_inf = STATE.inference
        STATE.enabled = self._target
        STATE.inference = self._mode

    def __exit__(self, *exc):
        STATE.enabled = self._prev
        STATE.inference = self._prev_inf
        return False

    def _clone(self):
        return inference_mode(self._mode)


def is_grad_enabled():
    """True when operations record gradients."""
    return STATE.enabled


def is_inference_mode_enabled():
    return STATE.inference
