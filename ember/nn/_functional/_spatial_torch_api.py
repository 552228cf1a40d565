"""The ``torch.*`` spellings of the convolution, pooling and shuffle functions
(``torch.conv2d``, ``torch.max_pool2d``, ``torch.pixel_shuffle``, ...), bound onto
``ember`` when ``ember.nn`` is imported (unless something already defines the name).
"""

import ember
from ember.nn._functional import adaptive as A
from ember.nn._functional import conv as C
from ember.nn._functional import pooling as P
from ember.nn._functional import spatial as S

__all__ = []


def constant_pad_nd(input, pad, value=0):
    """``torch.constant_pad_nd``: ``F.pad`` in constant mode."""
    return S.pad(input, pad, "constant", value)


def adaptive_max_pool1d(input, output_size):
    """``torch.adaptive_max_pool1d`` returns ``(output, indices)``."""
    return A.adaptive_max_pool1d(input, output_size, True)


_TOP = {"conv1d": C.conv1d, "conv2d": C.conv2d, "conv3d": C.conv3d,
        "conv_transpose1d": C.conv_transpose1d, "conv_transpose2d": C.conv_transpose2d,
        "conv_transpose3d": C.conv_transpose3d, "conv_tbc": C.conv_tbc,
        "max_pool1d": P.max_pool1d, "max_pool2d": P.max_pool2d, "max_pool3d": P.max_pool3d,
        "max_pool1d_with_indices": P.max_pool1d_with_indices, "avg_pool1d": P.avg_pool1d,
        "adaptive_avg_pool1d": A.adaptive_avg_pool1d,
        "adaptive_max_pool1d": adaptive_max_pool1d, "pixel_shuffle": S.pixel_shuffle,
        "pixel_unshuffle": S.pixel_unshuffle, "channel_shuffle": S.channel_shuffle,
        "native_channel_shuffle": S.native_channel_shuffle, "constant_pad_nd": constant_pad_nd}

for _name, _fn in _TOP.items():
    if not hasattr(ember, _name):
        setattr(ember, _name, _fn)
del _name, _fn
