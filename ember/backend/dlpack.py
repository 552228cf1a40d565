"""DLPack exchange, including bfloat16, which NumPy cannot export or import itself.

A bfloat16 array travels as its uint16 bit pattern: the capsule NumPy makes for the
uint16 view gets its DLPack type code rewritten to ``kDLBfloat`` on the way out, and a
``kDLBfloat`` capsule is rewritten to ``kDLUInt`` on the way in, then viewed as
``ml_dtypes.bfloat16``. Memory is shared both ways; nothing is copied.
"""

import ctypes

import ml_dtypes
import numpy as np

_KDL_UINT, _KDL_BFLOAT = 1, 4
# offset of DLTensor.dtype.code: after data (8 bytes), device (8) and ndim (4); a versioned
# capsule's DLManagedTensorVersioned puts version, manager_ctx, deleter and flags (32) first
_CODE_OFFSET = {b"dltensor": 20, b"dltensor_versioned": 32 + 20}

_get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_get_pointer.restype = ctypes.c_void_p
_get_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
_get_name = ctypes.pythonapi.PyCapsule_GetName
_get_name.restype = ctypes.c_char_p
_get_name.argtypes = [ctypes.py_object]


def _type_code(capsule):
    """The ``DLDataType.code`` byte of an unconsumed DLPack capsule."""
    name = _get_name(capsule)
    return ctypes.c_uint8.from_address(_get_pointer(capsule, name) + _CODE_OFFSET[name])


def export_capsule(arr, **kwargs):
    """``arr.__dlpack__(**kwargs)``, also for bfloat16 arrays."""
    if arr.dtype != ml_dtypes.bfloat16:
        return arr.__dlpack__(**kwargs)
    capsule = arr.view(np.uint16).__dlpack__(**kwargs)
    _type_code(capsule).value = _KDL_BFLOAT
    return capsule


class _Capsule:
    """A DLPack producer around a capsule already taken from another producer."""

    def __init__(self, capsule, device):
        self._capsule, self._device = capsule, device

    def __dlpack__(self, **kwargs):
        return self._capsule

    def __dlpack_device__(self):
        return self._device


def import_cpu(ext):
    """A NumPy array sharing the memory of CPU DLPack producer ``ext`` (bfloat16 too)."""
    try:
        return np.from_dlpack(ext)
    except (BufferError, TypeError, RuntimeError):
        try:  # a versioned capsule: NumPy makes arrays from legacy ones read-only
            capsule = ext.__dlpack__(max_version=(1, 0))
        except TypeError:
            capsule = ext.__dlpack__()
        code = _type_code(capsule)
        if code.value != _KDL_BFLOAT:
            raise
    code.value = _KDL_UINT
    return np.from_dlpack(_Capsule(capsule, ext.__dlpack_device__())).view(ml_dtypes.bfloat16)
