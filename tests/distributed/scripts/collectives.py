"""Every collective against NumPy-computed values, for several dtypes and shapes."""

import numpy as np

import ember
import ember.distributed as dist

dist.init_process_group("mpi")
r, n = dist.get_rank(), dist.get_world_size()
ops = {dist.ReduceOp.SUM: np.sum, dist.ReduceOp.MAX: np.max, dist.ReduceOp.MIN: np.min,
       dist.ReduceOp.PRODUCT: np.prod}


def data(rank, shape, dtype):
    rng = np.random.default_rng(rank + 100)
    a = rng.integers(1, 4, size=shape) if dtype.kind in "iu" else rng.standard_normal(shape)
    return a.astype(dtype)


for dtype in (np.float32, np.float64, np.int64, np.int32):
    dtype = np.dtype(dtype)
    for shape in [(), (5,), (3, 4)]:
        every = [data(k, shape, dtype) for k in range(n)]
        for op, fn in ops.items():
            t = ember.tensor(every[r])
            dist.all_reduce(t, op=op)
            np.testing.assert_allclose(t.numpy(), fn(np.stack(every), axis=0), rtol=1e-5)
        t = ember.tensor(every[r])
        dist.all_reduce(t, op=dist.ReduceOp.AVG)
        if dtype.kind == "f":
            np.testing.assert_allclose(t.numpy(), np.mean(np.stack(every), axis=0), rtol=1e-5)
        t = ember.tensor(every[r])
        dist.reduce(t, dst=n - 1)
        if r == n - 1:
            np.testing.assert_allclose(t.numpy(), np.sum(np.stack(every), axis=0), rtol=1e-5)
        t = ember.tensor(every[r])
        dist.broadcast(t, src=1 % n)
        np.testing.assert_array_equal(t.numpy(), every[1 % n])
        if shape:
            out = ember.empty((n * shape[0],) + shape[1:], dtype=t.dtype)
            dist.all_gather_into_tensor(out, ember.tensor(every[r]))
            np.testing.assert_array_equal(out.numpy(), np.concatenate(every))
            lst = [ember.empty(shape, dtype=t.dtype) for _ in range(n)]
            dist.all_gather(lst, ember.tensor(every[r]))
            for k in range(n):
                np.testing.assert_array_equal(lst[k].numpy(), every[k])
            big = [data(k, (n * 2,) + shape, dtype) for k in range(n)]
            o = ember.empty((2,) + shape, dtype=t.dtype)
            dist.reduce_scatter_tensor(o, ember.tensor(big[r]))
            np.testing.assert_allclose(o.numpy(), np.sum(np.stack(big), 0)[2 * r:2 * r + 2],
                                       rtol=1e-5)
            gl = [ember.empty(shape, dtype=t.dtype) for _ in range(n)] if r == 0 else None
            dist.gather(ember.tensor(every[r]), gl, dst=0)
            if r == 0:
                for k in range(n):
                    np.testing.assert_array_equal(gl[k].numpy(), every[k])
            s = ember.empty(shape, dtype=t.dtype)
            dist.scatter(s, [ember.tensor(e) for e in every] if r == 0 else None, src=0)
            np.testing.assert_array_equal(s.numpy(), every[r])

# bfloat16/float16/bool go through a wider type
t = ember.ones(4, dtype=ember.bfloat16) * (r + 1)
dist.all_reduce(t)
assert t.dtype == ember.bfloat16 and t.tolist() == [n * (n + 1) / 2] * 4
b = ember.tensor([r == 0, False])
dist.all_reduce(b)
assert b.tolist() == [True, False]
# point to point and async
if r == 0:
    dist.send(ember.arange(3.0), dst=1)
elif r == 1:
    got = ember.empty(3)
    assert dist.recv(got, src=0) == 0 and got.tolist() == [0.0, 1.0, 2.0]
w = dist.all_reduce(ember.ones(6), async_op=True)
w.wait()
objs = [{"rank": r}] if r == 0 else [None]
dist.broadcast_object_list(objs, src=0)
assert objs == [{"rank": 0}]
everyone = [None] * n
dist.all_gather_object(everyone, ("r", r))
assert everyone == [("r", k) for k in range(n)]
dist.barrier()
print(f"OK {r}")
dist.destroy_process_group()
