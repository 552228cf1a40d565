"""DDP training equals single-process training on the concatenated batch; no_sync equals
the big-batch gradient."""

import numpy as np

import ember
import ember.distributed as dist
from ember import nn

dist.init_process_group("mpi")
r, n = dist.get_rank(), dist.get_world_size()
B = 6
rng = np.random.default_rng(0)
X = rng.standard_normal((4, n * B, 5)).astype(np.float32)
Y = rng.standard_normal((4, n * B, 3)).astype(np.float32)


def make(seed):
    ember.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 3))


def step(model, opt, x, y):
    opt.zero_grad()
    loss = ((model(x) - y) ** 2).mean()
    loss.backward()
    opt.step()


for overlap in (True, False):
    model = make(seed=r)  # different init on each rank: DDP broadcasts rank 0's
    ddp = nn.parallel.DistributedDataParallel(model, bucket_cap_mb=0.0002,
                                              overlap_communication=overlap)
    opt = ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for s in range(4):
        sl = slice(r * B, (r + 1) * B)
        step(ddp, opt, ember.tensor(X[s, sl]), ember.tensor(Y[s, sl]))
    ref = make(seed=0)
    ropt = ember.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    for s in range(4):
        step(ref, ropt, ember.tensor(X[s]), ember.tensor(Y[s]))
    for a, b in zip(model.parameters(), ref.parameters()):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-4, atol=1e-5)

# no_sync: accumulate two micro-batches locally, sync on the second
model = make(seed=0)
ddp = nn.parallel.DistributedDataParallel(model)
sl = slice(r * B, (r + 1) * B)
half = B // 2
with ddp.no_sync():
    ((ddp(ember.tensor(X[0, sl][:half])) - ember.tensor(Y[0, sl][:half])) ** 2).sum().backward()
((ddp(ember.tensor(X[0, sl][half:])) - ember.tensor(Y[0, sl][half:])) ** 2).sum().backward()
ref = make(seed=0)
((ref(ember.tensor(X[0])) - ember.tensor(Y[0])) ** 2).sum().backward()
for a, b in zip(model.parameters(), ref.parameters()):
    np.testing.assert_allclose(a.grad.numpy() * n, b.grad.numpy(), rtol=1e-4, atol=1e-5)
print(f"OK {r}")
dist.destroy_process_group()
