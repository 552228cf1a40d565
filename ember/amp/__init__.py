"""``ember.amp``: automatic mixed precision (PyTorch's ``torch.amp``).

``autocast`` runs ops in float16/bfloat16 where that is safe and in float32 where it is
not; ``GradScaler`` scales the loss so float16 gradients keep their small values, and
skips optimizer steps whose gradients overflowed.

Example:
    >>> import ember
    >>> model = ember.nn.Linear(8, 2)
    >>> opt = ember.optim.SGD(model.parameters(), lr=0.1)
    >>> scaler = ember.amp.GradScaler("cpu")
    >>> with ember.autocast("cpu", dtype=ember.bfloat16):
    ...     loss = ember.nn.functional.cross_entropy(model(ember.randn(4, 8)),
    ...                                              ember.tensor([0, 1, 1, 0]))
    >>> loss.dtype
    ember.float32
    >>> scaler.scale(loss).backward()
    >>> scaler.step(opt)
    >>> scaler.update()
"""

from ember.amp.autocast_mode import (autocast, custom_fwd, custom_bwd,  # noqa: F401
                                     is_autocast_available)
from ember.amp.grad_scaler import GradScaler  # noqa: F401

__all__ = ["autocast", "GradScaler", "custom_fwd", "custom_bwd", "is_autocast_available"]
