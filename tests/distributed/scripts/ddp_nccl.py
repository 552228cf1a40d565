"""DDP on CUDA over NCCL (one GPU per rank) equals single-process training on the CPU over
the concatenated batch; buffers and no_sync too."""

import os

import numpy as np

import ember
import ember.distributed as dist
from ember import nn

if os.environ.get("EMBER_STRICT_CUPY") == "1":  # no GPU: the CuPy and NCCL stand-ins
    from tests.gpu.conftest import install_for_process
    install_for_process()

dist.init_process_group("nccl")
r, n = dist.get_rank(), dist.get_world_size()
dev = ember.device("cuda", ember.cuda.current_device())
B = 6
rng = np.random.default_rng(0)
X = rng.standard_normal((4, n * B, 5)).astype(np.float32)
Y = rng.standard_normal((4, n * B, 3)).astype(np.float32)


def make(seed):
    ember.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 3))


def step(model, opt, x, y):
    opt.zero_grad()
    loss = ((model(x) - y) ** 2).mean()
    loss.backward()
    opt.step()


for overlap in (True, False):
    model = make(seed=r).to(dev)  # different init on each rank: DDP broadcasts rank 0's
    ddp = nn.parallel.DistributedDataParallel(model, bucket_cap_mb=0.0002,
                                              overlap_communication=overlap,
                                              broadcast_buffers=False)
    opt = ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for s in range(4):
        sl = slice(r * B, (r + 1) * B)
        step(ddp, opt, ember.tensor(X[s, sl], device=dev), ember.tensor(Y[s, sl], device=dev))
    assert all(p.is_cuda for p in model.parameters())
    ref = make(seed=0)
    ropt = ember.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    for s in range(4):  # per-rank BatchNorm statistics: the reference runs each shard apart
        ropt.zero_grad()
        loss = sum(((ref(ember.tensor(X[s, k * B:(k + 1) * B])) -
                     ember.tensor(Y[s, k * B:(k + 1) * B])) ** 2).mean() for k in range(n)) / n
        loss.backward()
        ropt.step()
    for a, b in zip(model.parameters(), ref.parameters()):
        np.testing.assert_allclose(a.detach().cpu().numpy(), b.detach().numpy(), rtol=1e-4,
                                   atol=1e-5)

model = make(seed=0).to(dev)
ddp = nn.parallel.DistributedDataParallel(model)
sl = slice(r * B, (r + 1) * B)
half = B // 2
x, y = ember.tensor(X[0, sl], device=dev), ember.tensor(Y[0, sl], device=dev)
with ddp.no_sync():
    ((ddp(x[:half]) - y[:half]) ** 2).sum().backward()
((ddp(x[half:]) - y[half:]) ** 2).sum().backward()
grads = [p.grad.cpu().numpy() for p in model.parameters()]
total = [np.zeros_like(g) for g in grads]
for k in range(n):  # the reference: every rank's two micro-batches, summed
    ref = make(seed=0)
    xs, ys = ember.tensor(X[0, k * B:(k + 1) * B]), ember.tensor(Y[0, k * B:(k + 1) * B])
    ((ref(xs[:half]) - ys[:half]) ** 2).sum().backward()
    ((ref(xs[half:]) - ys[half:]) ** 2).sum().backward()
    total = [t + p.grad.numpy() for t, p in zip(total, ref.parameters())]
for g, want in zip(grads, total):
    np.testing.assert_allclose(g * n, want, rtol=1e-4, atol=1e-5)
print(f"OK {r}")
dist.destroy_process_group()
