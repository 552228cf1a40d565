"""Collectives on ember tensors (in place, like PyTorch's), over the group's engine."""

import zlib

import numpy as np

from ember._tensor import Tensor
from ember.distributed._core import ReduceOp, Work, _resolve

# MPI has no float16/bfloat16 and its bool reductions differ: reduce these in a wider type
_WIDEN = {"float16": np.float32, "bfloat16": np.float32, "bool": np.uint8}


def _check_tensor(t, what):
    if not isinstance(t, Tensor):
        raise TypeError(f"{what}: expected an ember Tensor, got {type(t).__name__}")


def _same_everywhere(pg, t, what):
    desc = f"{t.dtype.name}{list(t.shape)}"
    key = zlib.crc32(f"{what}:{desc}".encode()) + 1
    pg.impl.check_same(key, desc, what, pg.timeout)


def _buffer(pg, t, op=None):
    """A contiguous array the engine can use, and a function that copies results back."""
    arr = t._data
    if pg.backend == "nccl":
        if t.device.type != "cuda":
            raise RuntimeError(f"the nccl backend needs CUDA tensors, got a tensor on {t.device}")
        if arr.flags.c_contiguous:
            return arr, lambda: t._bump()
        work = arr.copy()
        return work, lambda: (t._device.xp.copyto(arr, work), t._bump())
    host = arr if t.device.type == "cpu" else arr.get()
    wide = _WIDEN.get(t.dtype.name)
    if wide is None and host.flags.c_contiguous and host is arr and arr.flags.writeable:
        return arr, lambda: t._bump()
    work = np.ascontiguousarray(host, dtype=wide or host.dtype)

    def writeback():
        if t.device.type == "cpu":
            np.copyto(arr, work, casting="unsafe")
        else:
            t._device.xp.copyto(arr, t._device.xp.asarray(work.astype(arr.dtype)))
        t._bump()
    return work, writeback


def _engine_op(t, op):
    if t.dtype.name == "bool":
        return {ReduceOp.SUM: ReduceOp.MAX, ReduceOp.PRODUCT: ReduceOp.MIN}.get(op, op)
    return op


def _finish_work(pg, inner, finish, async_op):
    work = Work(inner._poll, finish, pg.timeout, inner._what)
    if async_op:
        return work
    work.wait()
    return None


def _reduced(pg, buf, op, writeback):
    """What a reduction does once the engine is done: divide for AVG, copy back."""
    def finish():
        if op == ReduceOp.AVG:
            _average(buf, pg.size())
        writeback()
    return finish


def _average(buf, n):
    if buf.dtype.kind in "fc":
        buf /= n
    else:
        buf //= n


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``tensor`` over all ranks, in place on every rank."""
    _check_tensor(tensor, "all_reduce")
    pg = _resolve(group)
    _same_everywhere(pg, tensor, "all_reduce")
    buf, writeback = _buffer(pg, tensor)
    inner = pg.impl.allreduce(buf, _engine_op(tensor, op), pg.timeout)
    return _finish_work(pg, inner, _reduced(pg, buf, op, writeback), async_op)


def reduce(tensor, dst, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``tensor`` over all ranks into rank ``dst``'s tensor."""
    _check_tensor(tensor, "reduce")
    pg = _resolve(group)
    _same_everywhere(pg, tensor, "reduce")
    buf, writeback = _buffer(pg, tensor)
    root = _group_rank(pg, dst)
    inner = pg.impl.reduce(buf, _engine_op(tensor, op), root, pg.timeout)
    finish = _reduced(pg, buf, op, writeback) if pg.rank() == root else None
    return _finish_work(pg, inner, finish, async_op)


def broadcast(tensor, src, group=None, async_op=False):
    """Copy rank ``src``'s tensor into every rank's tensor."""
    _check_tensor(tensor, "broadcast")
    pg = _resolve(group)
    _same_everywhere(pg, tensor, "broadcast")
    buf, writeback = _buffer(pg, tensor)
    inner = pg.impl.bcast(buf, _group_rank(pg, src), pg.timeout)
    return _finish_work(pg, inner, writeback, async_op)


def _group_rank(pg, global_rank):
    if global_rank not in pg.ranks:
        raise ValueError(f"rank {global_rank} is not part of the group (ranks {pg.ranks})")
    return pg.ranks.index(global_rank)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """Concatenate every rank's ``input_tensor`` into ``output_tensor`` (dim 0, or stacked)."""
    pg = _resolve(group)
    n = pg.size()
    _check_tensor(input_tensor, "all_gather_into_tensor")
    if output_tensor.numel() != n * input_tensor.numel():
        raise ValueError(f"all_gather_into_tensor: output has {output_tensor.numel()} elements, "
                         f"expected world_size * input numel = {n} * {input_tensor.numel()}")
    _same_everywhere(pg, input_tensor, "all_gather_into_tensor")
    send, _ = _buffer(pg, input_tensor)
    recv, writeback = _buffer(pg, output_tensor)
    inner = pg.impl.allgather(send, recv, pg.timeout)
    return _finish_work(pg, inner, writeback, async_op)


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """Fill ``tensor_list[r]`` with rank ``r``'s ``tensor``."""
    pg = _resolve(group)
    if len(tensor_list) != pg.size():
        raise ValueError(f"all_gather: tensor_list has {len(tensor_list)} entries, expected "
                         f"world_size={pg.size()}")
    from ember.ops.creation import empty
    out = empty((pg.size(),) + tuple(tensor.shape), dtype=tensor.dtype, device=tensor.device)
    work = all_gather_into_tensor(out, tensor, group, async_op=True)

    def done():
        work.wait()
        for r, t in enumerate(tensor_list):
            t.copy_(out[r]) if t.shape == tensor.shape else t.copy_(out[r].reshape(t.shape))
    return _deferred(pg, work, done, async_op)


def _deferred(pg, work, done, async_op):
    if not async_op:
        done()
        return None
    return Work(lambda: work.is_completed(), done, pg.timeout, "collective")


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``input`` over ranks and give rank ``r`` the ``r``-th block of the result."""
    pg = _resolve(group)
    n = pg.size()
    if input.numel() != n * output.numel():
        raise ValueError(f"reduce_scatter_tensor: input has {input.numel()} elements, expected "
                         f"world_size * output numel = {n} * {output.numel()}")
    _same_everywhere(pg, input, "reduce_scatter_tensor")
    send, _ = _buffer(pg, input)
    recv, writeback = _buffer(pg, output)
    inner = pg.impl.reduce_scatter(send, recv, _engine_op(input, op), pg.timeout)
    return _finish_work(pg, inner, _reduced(pg, recv, op, writeback), async_op)


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op=False):
    """Like :func:`reduce_scatter_tensor` with the input given as a list of blocks."""
    from ember.ops.shape import stack
    return reduce_scatter_tensor(output, stack(list(input_list)), op, group, async_op)


def gather(tensor, gather_list=None, dst=0, group=None, async_op=False):
    """Collect every rank's ``tensor`` into ``gather_list`` on rank ``dst``."""
    pg = _resolve(group)
    root = _group_rank(pg, dst)
    _same_everywhere(pg, tensor, "gather")
    send, _ = _buffer(pg, tensor)
    recv = None
    if pg.rank() == root:
        if gather_list is None or len(gather_list) != pg.size():
            raise ValueError(f"gather: rank {dst} needs a gather_list of {pg.size()} tensors")
        recv = np.empty((pg.size(),) + send.shape, dtype=send.dtype)
    inner = pg.impl.gather(send, recv, root, pg.timeout)

    def finish():
        if recv is not None:
            for r, t in enumerate(gather_list):
                t.copy_(_like(t, recv[r]))
    return _finish_work(pg, inner, finish, async_op)


def _like(t, arr):
    from ember.ops.creation import tensor as make
    return make(arr.reshape(tuple(t.shape)), dtype=t.dtype, device=t.device)


def scatter(tensor, scatter_list=None, src=0, group=None, async_op=False):
    """Give rank ``r`` the tensor ``scatter_list[r]`` of rank ``src``."""
    pg = _resolve(group)
    root = _group_rank(pg, src)
    _same_everywhere(pg, tensor, "scatter")
    recv, writeback = _buffer(pg, tensor)
    send = None
    if pg.rank() == root:
        if scatter_list is None or len(scatter_list) != pg.size():
            raise ValueError(f"scatter: rank {src} needs a scatter_list of {pg.size()} tensors")
        send = np.stack([np.asarray(t.numpy(force=True), dtype=recv.dtype).reshape(recv.shape)
                         for t in scatter_list])
    inner = pg.impl.scatter(send, recv, root, pg.timeout)
    return _finish_work(pg, inner, writeback, async_op)


def all_to_all_single(output, input, output_split_sizes=None, input_split_sizes=None,
                      group=None, async_op=False):
    """Rank ``r`` sends block ``j`` of ``input`` to rank ``j`` (equal splits only)."""
    if output_split_sizes is not None or input_split_sizes is not None:
        raise NotImplementedError("all_to_all_single: only equal splits are supported")
    pg = _resolve(group)
    _same_everywhere(pg, input, "all_to_all_single")
    send, _ = _buffer(pg, input)
    recv, writeback = _buffer(pg, output)
    inner = pg.impl.alltoall(send, recv, pg.timeout)
    return _finish_work(pg, inner, writeback, async_op)


def isend(tensor, dst, group=None, tag=0):
    """Start sending ``tensor`` to rank ``dst``; returns a Work."""
    pg = _resolve(group)
    buf, _ = _buffer(pg, tensor)
    return pg.impl.send(buf, _group_rank(pg, dst), tag, pg.timeout)


def send(tensor, dst, group=None, tag=0):
    """Send ``tensor`` to rank ``dst`` (blocks until the buffer may be reused)."""
    isend(tensor, dst, group, tag).wait()


def irecv(tensor, src=None, group=None, tag=0):
    """Start receiving into ``tensor`` from ``src`` (any rank if None); returns a Work."""
    pg = _resolve(group)
    buf, writeback = _buffer(pg, tensor)
    inner = pg.impl.recv(buf, None if src is None else _group_rank(pg, src), tag, pg.timeout)
    return Work(inner._poll, writeback, pg.timeout, "recv", inner.result())


def recv(tensor, src=None, group=None, tag=0):
    """Receive into ``tensor``; returns the sender's rank."""
    work = irecv(tensor, src, group, tag)
    work.wait()
    return work.result()


# -- Python objects (pickled between the job's own processes) ---------------------------------
def broadcast_object_list(object_list, src=0, group=None, device=None):
    """Replace ``object_list``'s items on every rank with those of rank ``src``."""
    pg = _resolve(group)
    got = pg.impl.bcast_obj(list(object_list) if pg.rank() == _group_rank(pg, src) else None,
                            _group_rank(pg, src))
    object_list[:] = got


def all_gather_object(object_list, obj, group=None):
    """Fill ``object_list[r]`` with rank ``r``'s ``obj``."""
    pg = _resolve(group)
    got = pg.impl.allgather_obj(obj)
    if len(object_list) != len(got):
        raise ValueError(f"all_gather_object: object_list has {len(object_list)} entries, "
                         f"expected {len(got)}")
    object_list[:] = got


def gather_object(obj, object_gather_list=None, dst=0, group=None):
    pg = _resolve(group)
    got = pg.impl.gather_obj(obj, _group_rank(pg, dst))
    if got is not None and object_gather_list is not None:
        object_gather_list[:] = got


def scatter_object_list(scatter_object_output_list, scatter_object_input_list=None, src=0,
                        group=None):
    pg = _resolve(group)
    root = _group_rank(pg, src)
    got = pg.impl.scatter_obj(scatter_object_input_list if pg.rank() == root else None, root)
    scatter_object_output_list[0] = got
