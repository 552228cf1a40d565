"""Convolution and pooling speed, ember vs PyTorch in one process (float32, CPU).

Both libraries use every core (NumPy's BLAS threads, PyTorch's intra-op threads). On a
shared machine the two are measured alternately, round after round, and each keeps its
fastest round, so both see the same background load.

``--single`` runs both on one thread (PyTorch ``set_num_threads(1)``; ember without its
conv worker threads and with BLAS limited to one thread through ``threadpoolctl``): the
work each does, which a busy machine distorts least.

Run: .venv/bin/python benchmarks/spatial.py [rounds] [--single]
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

import ember  # noqa: E402
from benchmarks._timing import bench, report  # noqa: E402,F401

try:
    import torch
except ImportError:
    torch = None


def _t(m, shape, seed, grad=False, scale=1.0):
    a = (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)
    return m.tensor(a, requires_grad=grad)


def workloads(m):
    F = m.nn.functional
    x = _t(m, (64, 16, 32, 32), 0, grad=True)
    w = _t(m, (32, 16, 3, 3), 1, grad=True, scale=0.1)
    b = _t(m, (32,), 2, grad=True)
    gy = m.ones(64, 32, 32, 32)
    xp = _t(m, (64, 32, 32, 32), 3, grad=True)
    gp = m.ones(64, 32, 16, 16)

    def conv_fwd():
        with m.no_grad():
            F.conv2d(x, w, b, padding=1)

    def conv_fwd_bwd():
        F.conv2d(x, w, b, padding=1).backward(gy)
        x.grad = w.grad = b.grad = None

    def pool_fwd():
        with m.no_grad():
            F.max_pool2d(xp, 2)

    def pool_fwd_bwd():
        F.max_pool2d(xp, 2).backward(gp)
        xp.grad = None

    m.manual_seed(0)
    net = m.nn.Sequential(
        m.nn.Conv2d(3, 32, 3, padding=1), m.nn.ReLU(), m.nn.MaxPool2d(2),
        m.nn.Conv2d(32, 64, 3, padding=1), m.nn.ReLU(), m.nn.MaxPool2d(2),
        m.nn.Flatten(), m.nn.Linear(64 * 8 * 8, 10))
    opt = m.optim.SGD(net.parameters(), lr=0.01) if hasattr(m, "optim") else None
    images = _t(m, (64, 3, 32, 32), 4)
    labels = m.tensor(np.random.default_rng(5).integers(0, 10, 64))

    def convnet_step():
        loss = F.cross_entropy(net(images), labels)
        net.zero_grad()
        loss.backward()
        if opt is not None:
            opt.step()

    return [("conv2d 64x16x32x32 -> 32, 3x3 pad 1: fwd", conv_fwd),
            ("conv2d same: fwd + bwd (x, w, b grads)", conv_fwd_bwd),
            ("max_pool2d 2x2 on 64x32x32x32: fwd", pool_fwd),
            ("max_pool2d 2x2: fwd + bwd", pool_fwd_bwd),
            ("convnet step (2x conv-relu-pool, linear), b=64", convnet_step)]


def interleaved(fe, ft, rounds):
    """Fastest seconds per call of each, measured alternately (``ft`` may be None)."""
    best_e = best_t = float("inf")
    for _ in range(rounds):
        best_e = min(best_e, bench(fe, min_time=0.1, repeat=1))
        if ft is not None:
            best_t = min(best_t, bench(ft, min_time=0.1, repeat=1))
    return best_e, (best_t if ft is not None else None)


def main(rounds=7):
    rows = []
    ours = workloads(ember)
    theirs = workloads(torch) if torch is not None else [(n, None) for n, _ in ours]
    for (name, fe), (_, ft) in zip(ours, theirs):
        rows.append((name,) + interleaved(fe, ft, rounds))
    report(rows, "Convolution and pooling, float32 (lower is better)")
    return rows


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(args[0]) if args else 7
    if "--single" in sys.argv:
        import ember.ops._conv_kernels as conv_kernels
        from threadpoolctl import threadpool_limits
        conv_kernels.WORKERS = 1
        if torch is not None:
            torch.set_num_threads(1)
        with threadpool_limits(1):
            main(n)
    else:
        main(n)
