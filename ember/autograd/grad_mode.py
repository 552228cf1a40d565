"""Grad-mode switches: no_grad, enable_grad, set_grad_enabled, inference_mode.

The state is one attribute read on every op (``STATE.enabled``), so it stays a
plain class attribute. Every switch works as a context manager and as a decorator
(``@ember.no_grad()`` and ``@ember.no_grad`` alike).
"""

import functools
import inspect


class STATE:
    enabled = True
    inference = False


class _Mode:
    """Base of the grad-mode context managers; each also works as a decorator."""

    _target = True

    def __new__(cls, *args, **kwargs):
        if len(args) == 1 and not kwargs and callable(args[0]) and cls._bare_decorator():
            return cls()(args[0])  # used as ``@no_grad`` without parentheses
        return super().__new__(cls)

    @classmethod
    def _bare_decorator(cls):
        return True

    def __enter__(self):
        self._prev = STATE.enabled
        STATE.enabled = self._target

    def __exit__(self, *exc):
        STATE.enabled = self._prev
        return False

    def __call__(self, fn):
        """Decorate ``fn`` (or a generator function) to run in this mode."""
        if inspect.isgeneratorfunction(fn):
            return self._wrap_generator(fn)

        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            with self._clone():
                return fn(*args, **kwargs)
        return wrapped

    def _wrap_generator(self, fn):
        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            gen = fn(*args, **kwargs)
            value = None
            while True:  # each step of the generator runs in this mode
                try:
                    with self._clone():
                        item = gen.send(value)
                except StopIteration as stop:
                    return stop.value
                value = yield item
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
    """Set gradient recording on or off; works as a function, context manager or decorator.

    Example:
        >>> import ember
        >>> with ember.set_grad_enabled(False):
        ...     ember.is_grad_enabled()
        False
        >>> ember.is_grad_enabled()
        True
    """

    @classmethod
    def _bare_decorator(cls):
        return False

    def __init__(self, mode):
        self._target = bool(mode)
        self._prev = STATE.enabled
        STATE.enabled = self._target  # takes effect at once when called as a function

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        STATE.enabled = self._prev
        return False

    def __call__(self, fn):
        STATE.enabled = self._prev  # as a decorator it changes nothing until fn runs
        return super().__call__(fn)

    def _clone(self):
        return _SetGrad(self._target)


class _SetGrad(_Mode):
    """``set_grad_enabled(mode)`` as a plain context manager, for decorated calls."""

    def __init__(self, mode):
        self._target = mode

    def _clone(self):
        return _SetGrad(self._target)


class inference_mode(_Mode):
    """Like ``no_grad`` (``mode=False`` leaves recording as it is)."""

    def __init__(self, mode=True):
        self._mode = bool(mode)

    def __enter__(self):
        self._prev = STATE.enabled
        self._prev_inf = STATE.inference
        if self._mode:
            STATE.enabled = False
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
