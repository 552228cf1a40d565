"""Eager overhead: small-tensor ops, with and without graph recording, vs PyTorch.

Run: .venv/bin/python benchmarks/overhead.py
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

import ember  # noqa: E402
from benchmarks._timing import bench, report  # noqa: E402

try:
    import torch
    torch.set_num_threads(1)
except ImportError:
    torch = None


def workloads(m):
    a = m.tensor(np.random.rand(16).astype(np.float32))
    b = m.tensor(np.random.rand(16).astype(np.float32))
    ag = a.clone().requires_grad_(True)
    w = m.tensor(np.random.rand(16, 16).astype(np.float32), requires_grad=True)
    x = m.tensor(np.random.rand(4, 16).astype(np.float32))

    def add_nograd():
        return a + b

    def add_grad():
        return ag + b

    def tiny_fwd_bwd():
        loss = (m.tanh(x @ w) * 2.0).sum()
        loss.backward()
        w.grad = None

    def chain20():
        y = ag
        for _ in range(5):
            y = (y * 1.01 + 0.1).tanh().exp() - 1.0
        y.sum().backward()
        ag.grad = None

    return [("add 16 floats, no grad", add_nograd),
            ("add 16 floats, recording grad", add_grad),
            ("tiny forward+backward (4x16 @ 16x16)", tiny_fwd_bwd),
            ("20-op chain forward+backward", chain20)]


def main():
    rows = []
    ours = workloads(ember)
    theirs = workloads(torch) if torch is not None else [(n, None) for n, _ in ours]
    for (name, fe), (_, ft) in zip(ours, theirs):
        rows.append((name, bench(fe), bench(ft) if ft is not None else None))
    report(rows, "Eager overhead (lower is better; target ember/torch <= 1.0)")
    return rows


if __name__ == "__main__":
    main()
