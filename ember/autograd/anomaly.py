"""Anomaly detection: nodes remember where they were made; errors and NaNs name it."""

import functools
import warnings

from ember.autograd.graph import _Anomaly


class detect_anomaly:
    """Context manager: backward errors show the forward line that made the failing op,
    and a NaN produced by a gradient rule raises at once (``check_nan``)."""

    def __init__(self, check_nan=True):
        self.check_nan = check_nan

    def __enter__(self):
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime "
                      "and should only be enabled for debugging.", stacklevel=2)
        self._prev = (_Anomaly.enabled, _Anomaly.check_nan)
        _Anomaly.enabled, _Anomaly.check_nan = True, self.check_nan

    def __exit__(self, *exc):
        _Anomaly.enabled, _Anomaly.check_nan = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            with detect_anomaly(self.check_nan):
                return fn(*args, **kwargs)
        return wrapped


class set_detect_anomaly:
    """Turn anomaly detection on or off (function or context manager)."""

    def __init__(self, mode, check_nan=True):
        self._prev = (_Anomaly.enabled, _Anomaly.check_nan)
        _Anomaly.enabled, _Anomaly.check_nan = bool(mode), check_nan

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _Anomaly.enabled, _Anomaly.check_nan = self._prev
        return False


def is_anomaly_enabled():
    """True inside ``detect_anomaly`` (or after ``set_detect_anomaly(True)``)."""
    return _Anomaly.enabled


def is_anomaly_check_nan_enabled():
    """True when anomaly mode also checks gradients for NaN."""
    return _Anomaly.enabled and _Anomaly.check_nan
