"""Anomaly detection: nodes remember where they were made; errors and NaNs name it."""

from ember.autograd.graph import _Anomaly


class detect_anomaly:
    """Context manager: backward errors show the forward line that made the failing op,
    and a NaN produced by a gradient rule raises at once (``check_nan``)."""

    def __init__(self, check_nan=True):
        self.check_nan = check_nan

    def __enter__(self):
        self._prev = (_Anomaly.enabled, _Anomaly.check_nan)
        _Anomaly.enabled, _Anomaly.check_nan = True, self.check_nan

    def __exit__(self, *exc):
        _Anomaly.enabled, _Anomaly.check_nan = self._prev
        return False


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
    return _Anomaly.enabled
