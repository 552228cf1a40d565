"""``ember.cuda.amp``: PyTorch's older CUDA-only spellings of ``ember.amp``.

``ember.cuda.amp.autocast(...)`` is ``ember.autocast("cuda", ...)`` and
``ember.cuda.amp.GradScaler(...)`` is ``ember.amp.GradScaler("cuda", ...)``; both warn
that they are deprecated, as in PyTorch.
"""

import warnings

from ember.amp import autocast_mode as _am
from ember.amp.grad_scaler import GradScaler as _GradScaler


class autocast(_am.autocast):
    """Deprecated: use ``ember.autocast("cuda", ...)``."""

    def __init__(self, enabled=True, dtype=None, cache_enabled=True):
        warnings.warn("`ember.cuda.amp.autocast(args...)` is deprecated. Please use "
                      "`ember.amp.autocast('cuda', args...)` instead.", FutureWarning,
                      stacklevel=2)
        super().__init__("cuda", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)


class GradScaler(_GradScaler):
    """Deprecated: use ``ember.amp.GradScaler("cuda", ...)``."""

    def __init__(self, init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000, enabled=True):
        warnings.warn("`ember.cuda.amp.GradScaler(args...)` is deprecated. Please use "
                      "`ember.amp.GradScaler('cuda', args...)` instead.", FutureWarning,
                      stacklevel=2)
        super().__init__("cuda", init_scale=init_scale, growth_factor=growth_factor,
                         backoff_factor=backoff_factor, growth_interval=growth_interval,
                         enabled=enabled)


custom_fwd = _am.custom_fwd
custom_bwd = _am.custom_bwd
