"""ember: a Python-first deep learning framework with PyTorch's API.

``import ember as torch`` runs PyTorch programs: tensors on NumPy (CPU) and CuPy
(CUDA), a tape-based autograd with gradients of any order, ``nn``, ``optim`` and
``utils.data``.
"""

from ember._dtype import (dtype, bool_ as bool, uint8, int8, int16, int32, int64, float16,  # noqa: F401,A004
                          bfloat16, float32, float64, complex64, complex128,
                          get_default_dtype, set_default_dtype, promote_types, finfo, iinfo)
from ember._tensor import (Tensor, Size, memory_format, contiguous_format,  # noqa: F401
                           preserve_format, channels_last, channels_last_3d)
from ember.backend import Device as device_type, device  # noqa: F401
from ember.autograd.grad_mode import (no_grad, enable_grad, set_grad_enabled, inference_mode,  # noqa: F401,E501
                                      is_grad_enabled, is_inference_mode_enabled)
from ember import autograd  # noqa: F401
from ember.autograd.anomaly import (is_anomaly_enabled,  # noqa: F401
                                    is_anomaly_check_nan_enabled)
from ember.ops import *  # noqa: F401,F403
from ember.ops import REGISTRY as _REGISTRY  # noqa: F401
from ember.ops.random import Generator, default_generator  # noqa: F401
from ember.ops._util import result_type_of as _result_type

half, float, double = float16, float32, float64  # noqa: A001
short, int, long = int16, int32, int64  # noqa: A001
cfloat, cdouble = complex64, complex128
chalf = complex64

__version__ = "0.1.0"

from ember._print import set_printoptions  # noqa: E402,F401
from ember._tensor import LEGACY_TYPES as _LEGACY_TYPES  # noqa: E402
globals().update(_LEGACY_TYPES)  # FloatTensor, LongTensor, ... (legacy constructors)


# `device` must stay the constructor; the Device class is exported as device_type
del device_type


def is_tensor(obj):
    """True if ``obj`` is an ember Tensor."""
    return isinstance(obj, Tensor)


def is_floating_point(input):
    return input.is_floating_point()


def is_complex(input):
    return input.is_complex()


def numel(input):
    return input.numel()


def result_type(tensor1, tensor2):
    """The dtype an op on these operands computes in (PyTorch's promotion)."""
    return _result_type(tensor1, tensor2)


def can_cast(from_, to):
    from ember._dtype import can_cast as _cc
    return _cc(from_, to)


def is_nonzero(input):
    if input.numel() != 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return input.item() != 0


def typename(obj):
    return type(obj).__name__


from ember.serialization import save, load  # noqa: E402,F401
from ember import utils  # noqa: E402,F401
from ember import testing  # noqa: E402,F401
from ember import optim  # noqa: E402,F401
import ember.linalg as linalg  # noqa: E402,F401  (torch.linalg, not ember.ops.linalg)
import ember.fft as fft  # noqa: E402,F401
import ember.special as special  # noqa: E402,F401
from ember import nn  # noqa: E402,F401
from ember import distributions  # noqa: E402,F401
from ember import cuda, amp  # noqa: E402,F401
from ember.backend.cuda import OutOfMemoryError  # noqa: E402,F401
from ember.amp.autocast_mode import (autocast, is_autocast_enabled,  # noqa: E402,F401
                                     get_autocast_dtype, set_autocast_enabled,
                                     set_autocast_dtype, is_autocast_cache_enabled,
                                     set_autocast_cache_enabled, clear_autocast_cache)
from ember import distributed  # noqa: E402,F401

import warnings as _warnings  # noqa: E402

# NumPy reports inf/NaN produced inside ember's ops (log(0), 1/0) as RuntimeWarnings; PyTorch
# is silent there. The filter matches warnings raised from ember's own modules only, so a
# user's NumPy code keeps its warnings; it costs nothing per op (np.errstate would).
_warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"ember\.",
                         message=r"(divide by zero|invalid value|overflow|underflow) encountered")
