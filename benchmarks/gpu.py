"""GPU benchmarks, ember (CuPy) vs PyTorch on the same GPU.

1. Large matmuls: TFLOP/s in float32 and float16.
2. The MLP, convnet and GPT training steps of benchmarks/training.py (its workload functions,
   unchanged) at GPU-sized batches on ``cuda``: ms per step, ember/torch, peak GPU memory.

GPU time is measured with CUDA events around many steps (after warm-up steps that also
compile CuPy's kernels). Without CuPy or a GPU it says so and exits 0.

Run: python benchmarks/gpu.py [--json results.json] [--seconds 2] [workload ...]
"""

import argparse
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

WORKLOADS = {"mlp": 32, "convnet": 4, "gpt": 8}  # name -> batch multiplier over training.py


class OnDevice:
    """The framework module ``m`` whose ``randn``/``randint``/``arange`` place tensors on
    ``device``; ``randn``/``randint`` also scale the batch (first) dimension by ``batch``."""

    def __init__(self, m, device, batch):
        self._m, self._device, self._batch = m, device, batch

    def __getattr__(self, name):
        return getattr(self._m, name)

    def _scaled(self, size):
        size = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else \
            tuple(size)
        return (size[0] * self._batch,) + size[1:]

    def randn(self, *size, **kw):
        return self._m.randn(*self._scaled(size), device=self._device, **kw)

    def randint(self, low, high, size, **kw):
        return self._m.randint(low, high, self._scaled(size), device=self._device, **kw)

    def arange(self, *args, **kw):
        kw.setdefault("device", self._device)
        return self._m.arange(*args, **kw)


def _gpu_status():
    import ember
    if not ember.cuda.is_available():
        from ember.backend import cuda as _b
        try:
            _b.xp()
        except RuntimeError as e:
            return str(e)
        return "CUDA is not available"
    return None


def _timer(m):
    """``(start, stop)`` using CUDA events of framework ``m``; stop returns seconds."""
    start, end = m.cuda.Event(enable_timing=True), m.cuda.Event(enable_timing=True)

    def begin():
        start.record()

    def stop():
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / 1e3
    return begin, stop


def time_steps(m, fn, seconds, warmup=3):
    """Seconds per call of ``fn`` on the GPU (median of a few timed blocks)."""
    for _ in range(warmup):
        fn()
    m.cuda.synchronize()
    begin, stop = _timer(m)
    t0 = time.perf_counter()
    begin()
    fn()
    one = stop()
    n = max(1, int(seconds / 4 / max(one, 1e-6)))
    blocks = []
    while len(blocks) < 3 or (time.perf_counter() - t0 < seconds and len(blocks) < 9):
        begin()
        for _ in range(n):
            fn()
        blocks.append(stop() / n)
    blocks.sort()
    return blocks[len(blocks) // 2]


def matmul_tflops(m, n, dtype_name, seconds):
    dt = getattr(m, dtype_name)
    m.manual_seed(0)
    a = m.randn(n, n, device="cuda").to(dt)
    b = m.randn(n, n, device="cuda").to(dt)
    sec = time_steps(m, lambda: a @ b, seconds)
    return 2.0 * n ** 3 / sec / 1e12


def training_step_ms(m, name, batch, seconds):
    from benchmarks import training
    m.manual_seed(0)
    model, opt, loss_fn = getattr(training, name)(OnDevice(m, "cuda", batch))
    model.to("cuda")

    def step():
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        opt.step()
        return loss
    m.cuda.reset_peak_memory_stats()
    sec = time_steps(m, step, seconds)
    return sec * 1e3, m.cuda.max_memory_allocated() / 2 ** 20


def _fmt_ratio(e, t):
    return f"{e / t:10.2f}x" if e and t else "       n/a"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("workloads", nargs="*", default=list(WORKLOADS))
    ap.add_argument("--json", default=None, help="write the results to this file")
    ap.add_argument("--seconds", type=float, default=2.0, help="timing budget per measurement")
    args = ap.parse_args(argv)

    import ember
    why = _gpu_status()
    results = {"skipped": why}
    if why is not None:
        print(f"GPU benchmarks skipped: {why}")
        _dump(args.json, results)
        return results
    try:
        import torch
        has_torch = torch.cuda.is_available()
    except ImportError:
        torch, has_torch = None, False
    frameworks = [("ember", ember)] + ([("torch", torch)] if has_torch else [])
    print(f"GPU: {ember.cuda.get_device_name()} (ember on CuPy; PyTorch "
          f"{'on the same GPU' if has_torch else 'without CUDA: ember only'})")

    print("\nMatmul n x n @ n x n, TFLOP/s (higher is better)")
    print(f"{'case':24s} {'ember':>10s} {'torch':>10s} {'ember/torch':>12s}")
    results["matmul"] = {}
    for dt in ("float32", "float16"):
        for n in (4096, 8192):
            row = {fw: _safe(matmul_tflops, m, n, dt, args.seconds) for fw, m in frameworks}
            results["matmul"][f"{dt}-{n}"] = row
            e, t = row.get("ember"), row.get("torch")
            print(f"{dt + ' n=' + str(n):24s} {_num(e):>10s} {_num(t):>10s} "
                  f"{_fmt_ratio(e, t):>12s}", flush=True)

    print("\nTraining steps on the GPU (forward + backward + optimizer), ms per step "
          "(lower is better)")
    print(f"{'workload':18s} {'ember ms':>10s} {'torch ms':>10s} {'ember/torch':>12s} "
          f"{'ember MiB':>10s} {'torch MiB':>10s}")
    results["training"] = {}
    for name in args.workloads:
        batch = WORKLOADS[name]
        row = {}
        for fw, m in frameworks:
            r = _safe(training_step_ms, m, name, batch, args.seconds)
            row[fw] = None if r is None else {"ms": r[0], "peak_mib": r[1]}
        results["training"][name] = {"batch_multiplier": batch, **row}
        e, t = row.get("ember"), row.get("torch")
        em, tm = (e or {}).get("ms"), (t or {}).get("ms")
        print(f"{name + ' x' + str(batch):18s} {_num(em):>10s} {_num(tm):>10s} "
              f"{_fmt_ratio(em, tm):>12s} {_num((e or {}).get('peak_mib')):>10s} "
              f"{_num((t or {}).get('peak_mib')):>10s}", flush=True)
    _dump(args.json, results)
    return results


def _safe(fn, m, *args):
    try:
        return fn(m, *args)
    except Exception as e:  # one failing case must not hide the others
        print(f"  {m.__name__} {fn.__name__}{args}: {type(e).__name__}: {e}", flush=True)
        return None


def _num(v):
    return "failed" if v is None else f"{v:.2f}"


def _dump(path, results):
    if path:
        with open(path, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
