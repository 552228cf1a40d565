"""NCCL collectives on CUDA tensors (one GPU per rank; world size 1 is a real communicator)."""

import os

import numpy as np

import ember
import ember.distributed as dist

if os.environ.get("EMBER_STRICT_CUPY") == "1":  # no GPU: the CuPy and NCCL stand-ins
    from tests.gpu.conftest import install_for_process
    install_for_process()


dist.init_process_group("nccl")
r, n = dist.get_rank(), dist.get_world_size()
t = ember.ones(1000, device="cuda") * (r + 1)
dist.all_reduce(t)
np.testing.assert_allclose(t.cpu().numpy(), n * (n + 1) / 2)
b = ember.arange(6.0, device="cuda") * (r + 1)
dist.broadcast(b, src=0)
np.testing.assert_allclose(b.cpu().numpy(), np.arange(6.0))
out = ember.empty(2 * n, device="cuda")
dist.all_gather_into_tensor(out, ember.ones(2, device="cuda") * r)
np.testing.assert_allclose(out.cpu().numpy(), np.repeat(np.arange(n), 2))
o = ember.empty(3, device="cuda")
dist.reduce_scatter_tensor(o, ember.arange(3.0 * n, device="cuda"))
np.testing.assert_allclose(o.cpu().numpy(), n * np.arange(3.0 * r, 3.0 * r + 3))
avg = ember.full((4,), float(r), device="cuda")
dist.all_reduce(avg, op=dist.ReduceOp.AVG)
np.testing.assert_allclose(avg.cpu().numpy(), (n - 1) / 2)
dist.barrier()
print(f"OK {r}")
dist.destroy_process_group()

