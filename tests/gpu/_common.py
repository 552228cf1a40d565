"""Shared by the GPU tests: skip without CuPy or a GPU, and compare GPU runs with CPU runs."""

import numpy as np
import pytest

import ember


def require_gpu():
    """Skip the calling test module unless CuPy imports and ember sees a GPU."""
    pytest.importorskip("cupy")
    if not ember.cuda.is_available():
        pytest.skip("needs an NVIDIA GPU (ember.cuda.is_available() is False)",
                    allow_module_level=True)


def host(t):
    """A tensor's values as a NumPy array (bfloat16/float16 widened to float64)."""
    a = t.detach().numpy(force=True)
    return a.astype(np.float64) if a.dtype.kind in "fV" and a.dtype.itemsize <= 2 else a


def close(gpu, cpu, rtol=1e-6, atol=1e-9, msg=""):
    """GPU result ``gpu`` (on CUDA) matches CPU result ``cpu``."""
    assert gpu.device.type == "cuda", f"{msg}: result on {gpu.device}, expected cuda"
    assert gpu.dtype == cpu.dtype, f"{msg}: dtype {gpu.dtype} on GPU, {cpu.dtype} on CPU"
    assert tuple(gpu.shape) == tuple(cpu.shape), msg
    np.testing.assert_allclose(host(gpu), host(cpu), rtol=rtol, atol=atol, err_msg=msg)
