"""A stand-in for ``cupy.cuda.nccl`` over MPI, for the strict CuPy stand-in's processes.

NCCL takes raw device pointers; the stand-in's "device" arrays are NumPy buffers, so each
call views the pointers as NumPy arrays and runs the matching MPI collective on a
communicator of its own (``COMM_WORLD.Dup()``, as each NCCL communicator is independent).
It lets ember's NCCL engine and DDP's NCCL path (device buckets, the second communicator
of the comm thread) run in the multi-process tests without GPUs; bandwidth and stream
ordering are the real NCCL's business and are not modelled.
"""

import ctypes
import types

import numpy as np

NCCL_INT8, NCCL_UINT8, NCCL_INT32, NCCL_INT64 = 0, 1, 2, 4
NCCL_FLOAT16, NCCL_FLOAT32, NCCL_FLOAT64, NCCL_BFLOAT16 = 6, 7, 8, 9
NCCL_SUM, NCCL_PROD, NCCL_MAX, NCCL_MIN = 0, 1, 2, 3
_DTYPES = {NCCL_INT8: np.int8, NCCL_UINT8: np.uint8, NCCL_INT32: np.int32,
           NCCL_INT64: np.int64, NCCL_FLOAT16: np.float16, NCCL_FLOAT32: np.float32,
           NCCL_FLOAT64: np.float64}


def _view(ptr, count, dtype):
    dt = np.dtype(_DTYPES[dtype])
    if count == 0:
        return np.empty(0, dt)
    raw = (ctypes.c_char * (count * dt.itemsize)).from_address(ptr)
    return np.frombuffer(raw, dtype=dt)


def get_unique_id():
    return tuple(np.random.default_rng().integers(0, 255, 128).tolist())


class NcclCommunicator:
    def __init__(self, ndev, commId, rank):
        from mpi4py import MPI
        self._mpi = MPI
        self._comm = MPI.COMM_WORLD.Dup()
        if self._comm.Get_size() != ndev or self._comm.Get_rank() != rank:
            raise RuntimeError("fake NCCL: ranks must match MPI's COMM_WORLD")
        ids = self._comm.allgather(commId)
        if any(i != ids[0] for i in ids):
            raise RuntimeError("fake NCCL: ranks were given different unique ids")

    def _op(self, op):
        M = self._mpi
        return {NCCL_SUM: M.SUM, NCCL_PROD: M.PROD, NCCL_MAX: M.MAX, NCCL_MIN: M.MIN}[op]

    def allReduce(self, sendbuf, recvbuf, count, datatype, op, stream):
        send, recv = _view(sendbuf, count, datatype), _view(recvbuf, count, datatype)
        self._comm.Allreduce(self._mpi.IN_PLACE if sendbuf == recvbuf else send, recv,
                             op=self._op(op))

    def broadcast(self, sendbuf, recvbuf, count, datatype, root, stream):
        recv = _view(recvbuf, count, datatype)
        if sendbuf != recvbuf and self._comm.Get_rank() == root:
            recv[...] = _view(sendbuf, count, datatype)
        self._comm.Bcast(recv, root=root)

    def reduce(self, sendbuf, recvbuf, count, datatype, op, root, stream):
        send, recv = _view(sendbuf, count, datatype), _view(recvbuf, count, datatype)
        if sendbuf == recvbuf:
            send = send.copy()
        self._comm.Reduce(send, recv, op=self._op(op), root=root)

    def allGather(self, sendbuf, recvbuf, count, datatype, stream):
        send = _view(sendbuf, count, datatype).copy()
        self._comm.Allgather(send, _view(recvbuf, count * self._comm.Get_size(), datatype))

    def reduceScatter(self, sendbuf, recvbuf, recvcount, datatype, op, stream):
        send = _view(sendbuf, recvcount * self._comm.Get_size(), datatype).copy()
        self._comm.Reduce_scatter_block(send, _view(recvbuf, recvcount, datatype),
                                        op=self._op(op))

    def send(self, sendbuf, count, datatype, peer, stream):
        self._comm.Send(_view(sendbuf, count, datatype), dest=peer)

    def recv(self, recvbuf, count, datatype, peer, stream):
        self._comm.Recv(_view(recvbuf, count, datatype), source=peer)

    def destroy(self):
        self._comm.Free()


def module():
    """The fake ``cupy.cuda.nccl`` module."""
    mod = types.ModuleType("cupy.cuda.nccl")
    for name, value in list(globals().items()):
        if name.startswith("NCCL_") or name in ("get_unique_id", "NcclCommunicator"):
            setattr(mod, name, value)
    return mod
