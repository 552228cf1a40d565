"""SyncBatchNorm on per-rank halves equals BatchNorm on the whole batch (outputs, input
grads, parameter grads summed over ranks, running statistics)."""

import numpy as np

import ember
import ember.distributed as dist
from ember import nn
from ember.nn import SyncBatchNorm

dist.init_process_group("mpi")
r, n = dist.get_rank(), dist.get_world_size()
rng = np.random.default_rng(0)
X = rng.standard_normal((4 * n, 3, 5, 5)).astype(np.float64)
G = rng.standard_normal((4 * n, 3, 5, 5)).astype(np.float64)

ref = nn.BatchNorm2d(3).double()
sync = SyncBatchNorm.convert_sync_batchnorm(nn.Sequential(nn.BatchNorm2d(3).double()))[0]
assert isinstance(sync, SyncBatchNorm)
with ember.no_grad():
    for m in (ref, sync):
        m.weight.copy_(ember.tensor([0.5, 1.5, -1.0], dtype=ember.float64))
        m.bias.copy_(ember.tensor([0.1, 0.0, 0.3], dtype=ember.float64))

xa = ember.tensor(X, requires_grad=True)
ya = ref(xa)
(ya * ember.tensor(G)).sum().backward()

sl = slice(4 * r, 4 * (r + 1))
xl = ember.tensor(X[sl], requires_grad=True)
yl = sync(xl)
(yl * ember.tensor(G[sl])).sum().backward()
np.testing.assert_allclose(yl.detach().numpy(), ya.detach().numpy()[sl], rtol=1e-10, atol=1e-10)
np.testing.assert_allclose(xl.grad.numpy(), xa.grad.numpy()[sl], rtol=1e-8, atol=1e-10)
for p_sync, p_ref in zip(sync.parameters(), ref.parameters()):
    g = p_sync.grad.clone()
    dist.all_reduce(g)
    np.testing.assert_allclose(g.numpy(), p_ref.grad.numpy(), rtol=1e-8, atol=1e-10)
np.testing.assert_allclose(sync.running_mean.numpy(), ref.running_mean.numpy(), rtol=1e-10)
np.testing.assert_allclose(sync.running_var.numpy(), ref.running_var.numpy(), rtol=1e-10)
print(f"OK {r}")
dist.destroy_process_group()
