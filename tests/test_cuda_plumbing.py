"""The CUDA plumbing, checked on the CPU.

Three parts: what a machine without CuPy/GPU sees (clear errors, zero counters, warnings
that disable pinning, autocast and GradScaler); the same machinery against a simulated
CuPy (tests/gpu/fake_cupy.py: devices, transfers, mixed-device errors, allocator, OOM,
peaks, streams, events, seeds, pinned memory); and the xp-generic helpers of
ember/backend/compat.py. The real GPU runs tests/gpu.
"""

import subprocess
import sys

import numpy as np
import pytest

import ember
from ember.backend import compat
from tests.gpu import fake_cupy

no_cuda = pytest.mark.skipif(ember.cuda.is_available(),
                             reason="checks a machine without CuPy or a GPU")


@pytest.fixture
def fake_cuda():
    """ember sees a simulated CuPy with two GPUs; its CUDA state is restored afterwards."""
    with fake_cupy.installed() as cp:
        yield cp


# -- without CUDA ---------------------------------------------------------------------------------
def test_import_ember_does_not_import_cupy():
    code = "import sys, ember; ember.ones(2).sum(); assert 'cupy' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@no_cuda
def test_queries_without_cuda():
    c = ember.cuda
    assert c.is_available() is False and c.device_count() == 0 and not c.is_initialized()
    assert c.memory_allocated() == c.max_memory_allocated() == c.memory_reserved() == 0
    assert c.max_memory_reserved() == 0 and len(c.memory_stats()) == 0
    assert "Allocated memory" in c.memory_summary()
    assert c.is_bf16_supported() is False
    c.manual_seed(1)  # silently nothing, as in PyTorch
    c.manual_seed_all(1)
    c.empty_cache()
    assert ember.ones(2).is_pinned() is False


CUDA_CALLS = {
    "cuda()": lambda: ember.ones(2).cuda(),
    "to('cuda')": lambda: ember.ones(2).to("cuda"),
    "to('cuda:1')": lambda: ember.ones(2).to("cuda:1"),
    "zeros(device=cuda)": lambda: ember.zeros(2, device="cuda"),
    "tensor(device=cuda:0)": lambda: ember.tensor([1.0], device="cuda:0"),
    "randn(device=cuda)": lambda: ember.randn(2, device=ember.device("cuda")),
    "current_device": lambda: ember.cuda.current_device(),
    "set_device": lambda: ember.cuda.set_device(0),
    "get_device_name": lambda: ember.cuda.get_device_name(),
    "synchronize": lambda: ember.cuda.synchronize(),
    "mem_get_info": lambda: ember.cuda.mem_get_info(),
    "Stream": lambda: ember.cuda.Stream(),
    "Event": lambda: ember.cuda.Event(),
    "Module.cuda": lambda: ember.nn.Linear(2, 2).cuda(),
}


@no_cuda
@pytest.mark.parametrize("name", list(CUDA_CALLS))
def test_cuda_use_raises_naming_cupy(name):
    with pytest.raises(RuntimeError, match=r"CUDA is not available: ember needs CuPy"):
        CUDA_CALLS[name]()


@no_cuda
def test_pin_memory_without_cuda():
    with pytest.raises(RuntimeError, match="Cannot access accelerator device"):
        ember.ones(2).pin_memory()


@no_cuda
def test_amp_on_cuda_disables_itself_with_a_warning():
    with pytest.warns(UserWarning, match="GradScaler is enabled, but CUDA is not available"):
        s = ember.amp.GradScaler()
    assert not s.is_enabled() and s.get_scale() == 1.0 and s.state_dict() == {}
    with pytest.warns(FutureWarning, match="deprecated"):
        ember.cuda.amp.GradScaler(enabled=False)
    with pytest.warns(UserWarning, match="CUDA is not available"):
        with ember.autocast("cuda"):
            assert not ember.is_autocast_enabled("cuda")


@no_cuda
def test_dataloader_pin_memory_warns_and_continues():
    ds = ember.utils.data.TensorDataset(ember.arange(6.0), ember.arange(6))
    with pytest.warns(UserWarning, match="no accelerator is found"):
        got = [b[1].tolist() for b in ember.utils.data.DataLoader(ds, batch_size=4,
                                                                   pin_memory=True)]
    assert got == [[0, 1, 2, 3], [4, 5]]


# -- devices --------------------------------------------------------------------------------------
def test_device_objects_are_canonical():
    assert ember.device("cuda:0") is ember.device("cuda", 0) is ember.device(0)
    assert ember.device("cuda") is not ember.device("cuda:0")
    from ember.backend import tensor_device, cpu
    assert tensor_device("cpu:0") is cpu
    from ember.cuda._device import _index
    assert [_index(None), _index("cuda"), _index("cuda:1"), _index(3),
            _index(ember.device("cuda", 2))] == [-1, -1, 1, 3, 2]
    with pytest.raises(ValueError, match="Expected a cuda device, but got: cpu"):
        _index("cpu")


# -- a simulated CuPy -----------------------------------------------------------------------------
def test_device_management(fake_cuda):
    c = ember.cuda
    assert c.is_available() and c.device_count() == 2 and c.current_device() == 0
    c.set_device(1)
    assert c.current_device() == 1 and ember.zeros(2, device="cuda").device == ember.device(
        "cuda", 1)
    with c.device(0):
        assert c.current_device() == 0
    assert c.current_device() == 1
    c.set_device(0)
    with pytest.raises(RuntimeError, match="invalid device ordinal"):
        c.set_device(5)
    with pytest.raises(RuntimeError, match="invalid device ordinal"):
        ember.zeros(2, device="cuda:3")
    assert c.get_device_name() == "Fake GPU" and c.get_device_capability(1) == (8, 0)
    assert "Fake GPU" in repr(c.get_device_properties("cuda:0"))
    assert c.is_bf16_supported()
    c.synchronize()
    assert ("synchronize", 0) in fake_cupy.FAKE_LOG


def test_transfers_and_gradients_cross_devices(fake_cuda):
    x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x.cuda()
    assert y.is_cuda and y.device == ember.device("cuda:0") and y.get_device() == 0
    assert y.to("cuda:1").device.index == 1 and ember.ones(1).cuda(1).device.index == 1
    (y * y).sum().backward()
    assert x.grad.device.type == "cpu" and x.grad.tolist() == [2.0, 4.0, 6.0]
    back = y.detach().cpu()
    assert back.device.type == "cpu" and back.tolist() == [1.0, 2.0, 3.0]
    assert y.to(ember.float64).dtype == ember.float64 and y.double().is_cuda
    assert y.type() == "ember.cuda.FloatTensor"


MIXED = [("add", lambda a, b: a + b), ("mul", lambda a, b: a * b),
         ("matmul", lambda a, b: a.reshape(1, 3) @ b.reshape(3, 1)),
         ("where", lambda a, b: ember.where(a > 0, a, b)),
         ("cat", lambda a, b: ember.cat([a, b]))]


@pytest.mark.parametrize("name,fn", MIXED, ids=[m[0] for m in MIXED])
def test_mixed_devices_raise_pytorchs_error(fake_cuda, name, fn):
    a, b = ember.ones(3).cuda(), ember.ones(3)
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device, "
                                           "but found at least two devices, cuda:0 and cpu!"):
        fn(a, b)
    with pytest.raises(RuntimeError, match="found at least two devices"):
        fn(b, a)


def test_cpu_scalar_tensor_joins_a_cuda_op(fake_cuda):
    x = ember.tensor([1.0, 2.0]).cuda()
    s = ember.tensor(3.0)
    for out in (x * s, s * x, ember.maximum(s, x)):
        assert out.is_cuda
    assert (s * x).tolist() == [3.0, 6.0]
    with pytest.raises(RuntimeError, match="cuda:0 and cpu"):
        ember.tensor(2.0).cuda() + ember.ones(2).cuda().cpu().reshape(2)[None]


def test_pinned_memory_and_non_blocking_copy(fake_cuda):
    from ember.backend import cuda as bc
    t = ember.arange(6.0).reshape(2, 3)
    p = t.pin_memory()
    assert p.is_pinned() and not t.is_pinned() and p.pin_memory() is p
    assert p.tolist() == t.tolist()
    fake_cupy.FAKE_LOG.clear()
    g = p.cuda(non_blocking=True)
    assert g.is_cuda and g.tolist() == t.tolist()
    sets = [e for e in fake_cupy.FAKE_LOG if e[0] == "set"]
    assert len(sets) == 1 and sets[0][1] is not None  # queued on the current stream
    assert any(a is p._data for _, a in bc._inflight)  # the source outlives the copy
    fake_cupy.FAKE_LOG.clear()
    t.cuda(non_blocking=True)  # pageable memory: an ordinary (synchronous) copy
    assert not [e for e in fake_cupy.FAKE_LOG if e[0] == "set"]
    w = ember.ones(2, requires_grad=True)
    pw = w.pin_memory()
    pw.sum().backward()
    assert w.grad.tolist() == [1.0, 1.0]


def test_dataloader_pins_batches(fake_cuda):
    ds = ember.utils.data.TensorDataset(ember.arange(6.0), ember.arange(6))
    batches = list(ember.utils.data.DataLoader(ds, batch_size=4, pin_memory=True))
    assert isinstance(batches[0], list) and all(t.is_pinned() for b in batches for t in b)
    assert [b[1].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5]]
    d = list(ember.utils.data.DataLoader([{"x": ember.ones(2)}], batch_size=1, pin_memory=True))
    assert d[0]["x"].is_pinned()


def test_allocator_counts_peaks_and_memory_api(fake_cuda):
    c = ember.cuda
    ember.ones(1).cuda()  # sets CUDA up: the allocator and the peak hook
    alloc = fake_cuda._allocator["fn"]
    m1, m2 = alloc(1000), alloc(3000)
    assert c.memory_allocated() == 512 * 2 + 512 * 6
    assert c.max_memory_allocated() == 4096 and c.max_memory_reserved() == 4096
    fake_cupy.POOL.free(m2)
    assert c.memory_allocated() == 1024 and c.max_memory_allocated() == 4096
    assert c.memory_reserved() == 4096
    s = c.memory_stats()
    assert s["allocated_bytes.all.current"] == 1024 and s["allocated_bytes.all.peak"] == 4096
    assert s["reserved_bytes.all.peak"] == 4096 and s["allocation.all.allocated"] == 2
    assert s["allocation.all.freed"] == 1 and s["num_ooms"] == 0
    c.reset_peak_memory_stats()
    assert c.max_memory_allocated() == 1024
    with pytest.warns(FutureWarning):
        c.reset_max_memory_allocated()
    c.empty_cache()
    assert c.memory_reserved() == 1024
    assert "1.00 KiB" in c.memory_summary() and c.mem_get_info() == (3 << 30, 8 << 30)
    c.set_per_process_memory_fraction(0.25)
    assert fake_cupy.POOL.limit == 2 << 30
    with pytest.raises(ValueError):
        c.set_per_process_memory_fraction(1.5)
    fake_cupy.POOL.free(m1)
    assert c.memory_allocated(0) == 0 and c.memory_allocated("cuda:1") == 0


def test_out_of_memory_is_translated(fake_cuda):
    ember.ones(1).cuda()
    alloc = fake_cuda._allocator["fn"]
    keep = alloc(300 * 1024)
    with pytest.raises(ember.cuda.OutOfMemoryError) as e:
        alloc(2 << 20)
    msg = str(e.value)
    assert isinstance(e.value, RuntimeError) and isinstance(e.value, MemoryError)
    assert ember.OutOfMemoryError is ember.cuda.OutOfMemoryError
    for part in ("CUDA out of memory. Tried to allocate 2.00 MiB", "GPU 0",
                 "total capacity of 8.00 GiB", "3.00 GiB is free", "300.00 KiB is allocated",
                 "reserved by ember but unallocated"):
        assert part in msg, msg
    assert isinstance(e.value.__cause__, fake_cupy.OutOfMemoryError)
    assert ember.cuda.memory_stats()["num_ooms"] == 1
    del keep


def test_streams_and_events(fake_cuda):
    c = ember.cuda
    s = c.Stream()
    assert s.cuda_stream > 0 and s.device == ember.device("cuda", 0) and "Stream" in repr(s)
    assert c.default_stream().cuda_stream == 0 and c.current_stream() == c.default_stream()
    with c.stream(s):
        assert c.current_stream() == s
        ember.ones(2).cuda()  # ops run on s (CuPy's current stream)
    assert c.current_stream() != s
    with c.stream(None):
        pass
    start, end = c.Event(enable_timing=True), c.Event(enable_timing=True)
    start.record()
    end.record(s)
    end.synchronize()
    assert start.query() and start.elapsed_time(end) == 1.5
    with pytest.raises(RuntimeError, match="enable_timing=True"):
        c.Event().elapsed_time(end)
    s2 = c.Stream()
    s2.wait_stream(s)
    assert any(e[0] == "wait_event" and e[1] == s2.cuda_stream for e in fake_cupy.FAKE_LOG)
    ev = s.record_event()
    ev.wait()
    assert s.query() and isinstance(ev, c.Event) and {s, s2, c.Stream._of(s._s, 0)} == {s, s2}
    s.synchronize()


def test_cuda_seeds(fake_cuda):
    c = ember.cuda
    c.manual_seed(3)
    a = ember.randn(4, device="cuda")
    c.manual_seed(3)
    b = ember.randn(4, device="cuda")
    assert a.is_cuda and a.tolist() == b.tolist() and c.initial_seed() == 3
    state = c.get_rng_state()
    x = ember.rand(3, device="cuda")
    c.set_rng_state(state)
    assert ember.rand(3, device="cuda").tolist() == x.tolist()
    c.manual_seed_all(5)
    with c.device(1):
        assert c.initial_seed() == 5
    c.seed()
    c.seed_all()


def test_gradscaler_and_autocast_on_simulated_cuda(fake_cuda):
    w = ember.nn.Parameter(ember.ones(3).cuda())
    opt = ember.optim.SGD([w], lr=0.5)
    scaler = ember.amp.GradScaler("cuda", init_scale=8.0)
    with ember.autocast("cuda"):
        assert ember.get_autocast_dtype("cuda") is ember.float16
        y = ember.nn.functional.linear(ember.ones(2, 3).cuda(), w.reshape(1, 3))
        assert y.dtype is ember.float16 and y.is_cuda
        assert ember.exp(y).dtype is ember.float32  # float32 list on CUDA
        assert y.sum().dtype is ember.float32
        loss = y.float().sum()
        with pytest.raises(RuntimeError, match="unsafe to autocast"):
            ember.nn.functional.binary_cross_entropy(ember.full((2,), 0.5).cuda(),
                                                     ember.ones(2).cuda())
    scaler.scale(loss).backward()
    assert w.grad.dtype is ember.float32 and w.grad.tolist() == [16.0] * 3
    scaler.step(opt)
    scaler.update()
    assert w.tolist() == [0.0] * 3 and scaler.get_scale() == 8.0


# -- xp-generic helpers ---------------------------------------------------------------------------
def test_compat_helpers_on_numpy():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 9))
    x[1, 4] = np.nan
    with np.errstate(invalid="ignore"):  # NaN stays NaN along the scan
        for name in ("maximum", "minimum", "logaddexp", "add", "multiply"):
            want = getattr(np, name).accumulate(x, axis=1)
            np.testing.assert_allclose(compat.accumulate(np, name, x, axis=1), want)
            np.testing.assert_allclose(compat.log_step_scan(np, getattr(np, name), x, axis=1),
                                       want, rtol=1e-12)
    np.testing.assert_allclose(compat.log_step_scan(np, np.maximum, x.T, axis=0),
                               np.maximum.accumulate(x.T, axis=0))
    t = np.zeros(4)
    compat.scatter_add(np, t, np.array([0, 2, 0]), np.array([1.0, 2.0, 3.0]))
    assert t.tolist() == [4.0, 0.0, 2.0, 0.0]
    compat.scatter(np, "maximum", t, np.array([1, 1]), np.array([5.0, 7.0]))
    compat.scatter(np, "minimum", t, np.array([0]), np.array([-1.0]))
    assert t.tolist() == [-1.0, 7.0, 2.0, 0.0]
    v = np.arange(12.0).reshape(6, 2)
    np.testing.assert_array_equal(compat.segment_sum(np, v, np.array([0, 2, 5])),
                                  np.add.reduceat(v, [0, 2, 5]))
    w = compat.sliding_window_view(np, np.arange(5), 3)
    assert w.tolist() == [[0, 1, 2], [1, 2, 3], [2, 3, 4]]
    s = compat.as_strided(np, np.arange(6), (2, 2), (8, 16))
    assert s.tolist() == [[0, 2], [1, 3]]
    assert compat.indexed_shape((4, 5), (np.array([[0, 1]]), slice(1, 3))) == (1, 2, 2)
    assert compat.indexed_shape((4, 5), np.array([True, False, True, True])) == (3, 5)
    assert compat.host(np.ones(2)).tolist() == [1.0, 1.0] and compat.on(np, [1]).shape == (1,)
    with compat.errstate(np, divide="ignore"):
        assert np.isinf(np.float64(1.0) / np.float64(0.0))


def test_compat_helpers_generic_paths():
    """The CuPy branches of compat, on the strict CuPy stand-in (no NumPy-only calls), against
    NumPy's ufunc.at / reduceat / accumulate."""
    with fake_cupy.installed(strict=True) as xp:
        v = np.arange(12.0).reshape(6, 2)
        got = compat.segment_sum(xp, xp.asarray(v), np.array([0, 2, 5]))
        np.testing.assert_array_equal(got.get(), np.add.reduceat(v, [0, 2, 5]))
        x = np.random.default_rng(1).standard_normal((2, 7))
        for name in ("maximum", "minimum", "logaddexp", "add", "multiply"):
            np.testing.assert_allclose(compat.accumulate(xp, name, xp.asarray(x), 1).get(),
                                       getattr(np, name).accumulate(x, axis=1))
        rng = np.random.default_rng(2)
        base = rng.uniform(0.5, 2.0, (4, 5))
        vals = rng.uniform(0.5, 2.0, 9)
        keys = [np.array([0, 3, 0, 0, 2, 3, 1, 0, 2]),  # repeats on a flat axis
                (np.array([0, 3, 0, 0, 2, 3, 1, 0, 2]), np.array([1, 4, 1, 1, 0, 4, 2, 1, 0]))]
        for uf in (np.add, np.maximum, np.minimum, np.multiply):
            for key in keys:
                want, v_ = base.copy(), vals if isinstance(key, tuple) else vals[:, None]
                uf.at(want, key, v_)
                got = xp.asarray(base)
                dkey = tuple(map(xp.asarray, key)) if isinstance(key, tuple) else xp.asarray(key)
                compat.scatter(xp, uf.__name__, got, dkey, xp.asarray(v_))
                np.testing.assert_allclose(got.get(), want, err_msg=uf.__name__)
        t = xp.asarray(base.T)  # not C-contiguous: the layered multiply indexes by position
        compat.scatter(xp, "multiply", t, xp.asarray([1, 1]), xp.asarray(np.array([[2.0], [3.0]])))
        want = base.T.copy()
        want[1] *= 6
        np.testing.assert_allclose(t.get(), want)


def test_modules_optimizers_and_save_load_on_simulated_cuda(fake_cuda, tmp_path):
    model = ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.BatchNorm1d(4)).cuda()
    assert all(p.is_cuda for p in model.parameters()) and all(b.is_cuda for b in
                                                              model.buffers())
    opt = ember.optim.Adam(model.parameters(), lr=0.1)
    model(ember.randn(5, 3, device="cuda")).sum().backward()
    opt.step()
    assert all(p.is_cuda and p.grad.is_cuda for p in model.parameters())
    path = tmp_path / "m.pt"
    ember.save(model.state_dict(), path)
    sd = ember.load(path)
    assert all(v.is_cuda for v in sd.values())
    assert all(v.device.type == "cpu" for v in ember.load(path, map_location="cpu").values())
    model.cpu()
    assert all(not p.is_cuda for p in model.parameters())
