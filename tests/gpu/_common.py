"""Shared by the GPU tests: skip without CuPy or a GPU, and compare GPU runs with CPU runs."""

import numpy as np
import pytest

import ember


def require_gpu():
    """Skip the calling test module unless CuPy imports and ember sees a GPU (or the strict
    CuPy stand-in is installed: see tests/gpu/conftest.py)."""
    from tests.gpu.conftest import STRICT
    if not STRICT:
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


class OnCuda:
    """``ember`` whose factory functions default to ``device="cuda"``, so an op-table row
    that builds its own tensors (``m.eye(n)``, ``m.tensor(q)``) builds them on the GPU."""

    FACTORIES = {"tensor", "as_tensor", "asarray", "zeros", "ones", "full", "empty", "eye",
                 "arange", "linspace", "logspace", "rand", "randn", "randint", "randperm",
                 "triu_indices", "tril_indices", "scalar_tensor"}

    def __init__(self, m):
        self._m = m

    def __getattr__(self, name):
        fn = getattr(self._m, name)
        if name not in self.FACTORIES:
            return fn

        def on_cuda(*args, **kwargs):
            kwargs.setdefault("device", "cuda")
            return fn(*args, **kwargs)
        return on_cuda
