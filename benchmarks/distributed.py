"""Distributed figures: all_reduce bandwidth and DDP step time on 2 processes vs 1.

Run: .venv/bin/python benchmarks/distributed.py   (it launches the MPI jobs itself)
"""

import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def worker():
    sys.path.insert(0, ROOT)
    import ember
    import ember.distributed as dist
    from ember import nn
    dist.init_process_group("mpi")
    r, n = dist.get_rank(), dist.get_world_size()
    out = {}
    for mb_elems in (1 << 20, 16 << 20):
        t = ember.ones(mb_elems)
        dist.all_reduce(t)
        reps = 20 if mb_elems == 1 << 20 else 5
        dist.barrier()
        t0 = time.perf_counter()
        for _ in range(reps):
            dist.all_reduce(t)
        dt = (time.perf_counter() - t0) / reps
        # bus bandwidth as NCCL-tests define it: 2 (n-1)/n * bytes / time
        out[f"all_reduce {mb_elems >> 20}M float32"] = {
            "ms": dt * 1e3, "busbw_GBps": 2 * (n - 1) / n * t.nbytes / dt / 1e9}
    ember.manual_seed(0)
    x = ember.randn(64, 784)
    y = ember.randint(0, 10, (64,))
    for overlap in (True, False):
        model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                              nn.Linear(512, 10))
        ddp = nn.parallel.DistributedDataParallel(model, overlap_communication=overlap,
                                                  bucket_cap_mb=1)
        opt = ember.optim.SGD(model.parameters(), lr=0.01)

        def step():
            opt.zero_grad()
            nn.functional.cross_entropy(ddp(x), y).backward()
            opt.step()
        for _ in range(3):
            step()
        dist.barrier()
        t0 = time.perf_counter()
        for _ in range(20):
            step()
        out[f"DDP MLP step batch 64/rank overlap={overlap}"] = {
            "ms": (time.perf_counter() - t0) / 20 * 1e3}
    if r == 0:
        print("RESULT " + json.dumps({"world": n, **out}))
    dist.destroy_process_group()


def main():
    mpiexec = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    results = {}
    for n in (1, 2):
        sys.path.insert(0, ROOT)
        from ember.distributed.run import thread_env
        p = subprocess.run([mpiexec, "-n", str(n), sys.executable, __file__, "--worker"],
                           capture_output=True, text=True, timeout=600, env=thread_env(n))
        line = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")]
        if not line:
            print(p.stdout, p.stderr)
            raise SystemExit("benchmark worker failed")
        results[n] = json.loads(line[0][7:])
    print("\nDistributed (MPI via mpi4py, this machine's cores)")
    print(f"{'workload':44s} {'1 proc':>12s} {'2 procs':>12s}")
    for key in results[2]:
        if key == "world":
            continue
        one, two = results[1][key], results[2][key]
        extra = f"   busbw {two['busbw_GBps']:.2f} GB/s" if "busbw_GBps" in two else ""
        print(f"{key:44s} {one['ms']:9.2f} ms {two['ms']:9.2f} ms{extra}")


if __name__ == "__main__":
    if "--worker" in sys.argv:
        worker()
    else:
        main()
