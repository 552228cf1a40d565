"""The CUDA runtime on a real GPU: devices, transfers (non_blocking from pinned memory),
mixed-device errors, memory statistics and out-of-memory errors, streams and events, seeds,
the DataLoader's pinned batches, and DLPack with CuPy and PyTorch (zero-copy)."""

import numpy as np
import pytest

import ember
from tests.gpu._common import require_gpu

require_gpu()
pytestmark = pytest.mark.gpu

import cupy  # noqa: E402


def test_devices_and_properties():
    c = ember.cuda
    assert c.device_count() >= 1 and c.current_device() == 0 and c.is_initialized()
    p = c.get_device_properties(0)
    assert p.total_memory > 2 ** 30 and p.multi_processor_count > 0 and p.name
    assert c.get_device_capability() == (p.major, p.minor) and c.get_device_name() == p.name
    assert ember.zeros(2, device="cuda").device == ember.device("cuda:0")
    with pytest.raises(RuntimeError, match="invalid device ordinal"):
        ember.zeros(2, device=f"cuda:{c.device_count()}")
    c.synchronize()


def test_transfers_and_non_blocking_from_pinned():
    a = np.arange(1 << 20, dtype=np.float32)
    t = ember.from_numpy(a)
    p = t.pin_memory()
    assert p.is_pinned() and not t.is_pinned()
    g = p.cuda(non_blocking=True)
    s = ember.cuda.current_stream()
    s.synchronize()
    assert g.is_cuda and np.array_equal(g.cpu().numpy(), a)
    g2 = t.to("cuda", non_blocking=True)  # pageable: synchronous, still correct
    assert np.array_equal(g2.cpu().numpy(), a)
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    (x.cuda() ** 2).sum().backward()
    assert x.grad.device.type == "cpu" and x.grad.tolist() == [2.0, 4.0]


def test_mixed_devices_error_and_cpu_scalars():
    a, b = ember.ones(3, device="cuda"), ember.ones(3)
    for fn in (lambda: a + b, lambda: b * a, lambda: a.reshape(1, 3) @ b.reshape(3, 1),
               lambda: ember.cat([a, b])):
        with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device, "
                                               "but found at least two devices"):
            fn()
    assert (a * ember.tensor(2.0)).is_cuda and (a * ember.tensor(2.0)).tolist() == [2.0] * 3


def test_memory_statistics_and_empty_cache():
    c = ember.cuda
    c.empty_cache()
    c.reset_peak_memory_stats()
    base = c.memory_allocated()
    x = ember.empty(1 << 20, device="cuda")  # 4 MiB
    assert c.memory_allocated() - base >= 4 << 20
    y = ember.empty(1 << 20, device="cuda")
    peak = c.max_memory_allocated()
    assert peak - base >= 8 << 20
    del x, y
    assert c.memory_allocated() == base and c.max_memory_allocated() == peak
    assert c.memory_reserved() >= peak and c.max_memory_reserved() >= c.memory_reserved()
    c.empty_cache()
    assert c.memory_reserved() <= peak
    s = c.memory_stats()
    assert s["allocated_bytes.all.peak"] == peak and s["allocation.all.allocated"] > 0
    free, total = c.mem_get_info()
    assert 0 < free <= total and "Allocated memory" in c.memory_summary()


def test_out_of_memory_error():
    c = ember.cuda
    total = c.get_device_properties(0).total_memory
    with pytest.raises(ember.cuda.OutOfMemoryError, match="CUDA out of memory. Tried to "
                                                           "allocate") as e:
        ember.empty(total // 2, device="cuda")  # float32: twice the GPU's memory
    assert isinstance(e.value, RuntimeError) and "is free" in str(e.value)
    assert c.memory_stats()["num_ooms"] >= 1
    ember.ones(10, device="cuda").sum().item()  # still usable


def test_streams_events_and_timing():
    c = ember.cuda
    s = c.Stream()
    x = ember.randn(512, 512, device="cuda")
    start, end = c.Event(enable_timing=True), c.Event(enable_timing=True)
    s.wait_stream(c.current_stream())
    with c.stream(s):
        assert c.current_stream() == s
        start.record()
        y = x @ x
        end.record()
    c.current_stream().wait_stream(s)
    end.synchronize()
    assert end.query() and start.elapsed_time(end) > 0
    np.testing.assert_allclose(y.cpu().numpy(), x.cpu().numpy() @ x.cpu().numpy(), rtol=1e-3,
                               atol=1e-3)
    assert c.default_stream().cuda_stream == 0


def test_seeds():
    ember.cuda.manual_seed(123)
    a = ember.randn(5, device="cuda")
    ember.cuda.manual_seed_all(123)
    b = ember.randn(5, device="cuda")
    assert a.tolist() == b.tolist() and ember.cuda.initial_seed() == 123


def test_dataloader_pin_memory():
    ds = ember.utils.data.TensorDataset(ember.randn(10, 3), ember.arange(10))
    for xb, yb in ember.utils.data.DataLoader(ds, batch_size=4, pin_memory=True):
        assert xb.is_pinned() and yb.is_pinned()
        assert xb.cuda(non_blocking=True).is_cuda


def test_dlpack_with_cupy_zero_copy():
    e = ember.arange(6.0, device="cuda").reshape(2, 3)
    c = cupy.from_dlpack(e)
    assert c.data.ptr == e.data_ptr()
    c[0, 0] = 42
    assert e[0, 0].item() == 42
    back = ember.from_dlpack(cupy.arange(4, dtype=cupy.float32))
    assert back.is_cuda and back.tolist() == [0, 1, 2, 3]


def test_dlpack_with_torch_cuda_zero_copy():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("PyTorch without CUDA")
    e = ember.arange(6.0, device="cuda").reshape(2, 3)
    t = torch.from_dlpack(e)
    assert t.is_cuda and t.data_ptr() == e.data_ptr()
    t[1, 1] = -1
    assert e[1, 1].item() == -1
    tt = torch.arange(5, device="cuda", dtype=torch.float32)
    e2 = ember.from_dlpack(tt)
    assert e2.is_cuda and e2.data_ptr() == tt.data_ptr() and e2.tolist() == [0, 1, 2, 3, 4]
