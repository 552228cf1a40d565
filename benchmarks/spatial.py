"""Convolution and pooling speed, ember vs PyTorch in one process (float32, CPU).

Both libraries use every core (NumPy's BLAS threads, PyTorch's intra-op threads).

Run: .venv/bin/python benchmarks/spatial.py
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

import ember  # noqa: E402
from benchmarks._timing import bench, report  # noqa: E402

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


def main():
    rows = []
    ours = workloads(ember)
    theirs = workloads(torch) if torch is not None else [(n, None) for n, _ in ours]
    for (name, fe), (_, ft) in zip(ours, theirs):
        rows.append((name, bench(fe, repeat=7), bench(ft, repeat=7) if ft else None))
    report(rows, "Convolution and pooling, float32 (lower is better)")
    return rows


if __name__ == "__main__":
    main()
