"""The NCCL engine through CuPy: one GPU per rank, bootstrapped over MPI."""

from ember.distributed._core import Work, ReduceOp


def _nccl():
    from cupy.cuda import nccl
    return nccl


_DTYPES = {"float16": "NCCL_FLOAT16", "float32": "NCCL_FLOAT32", "float64": "NCCL_FLOAT64",
           "int8": "NCCL_INT8", "uint8": "NCCL_UINT8", "int32": "NCCL_INT32",
           "int64": "NCCL_INT64", "bfloat16": "NCCL_BFLOAT16", "bool": "NCCL_UINT8"}
_OPS = {ReduceOp.SUM: "NCCL_SUM", ReduceOp.AVG: "NCCL_SUM", ReduceOp.PRODUCT: "NCCL_PROD",
        ReduceOp.MIN: "NCCL_MIN", ReduceOp.MAX: "NCCL_MAX"}


class NCCLBackend:
    """Collectives on CUDA arrays; the unique id travels over the MPI communicator."""

    def __init__(self, mpi, device_id=None):
        import cupy
        nccl = _nccl()
        self.mpi = mpi
        self.rank, self.size = mpi.rank, mpi.size
        ndev = cupy.cuda.runtime.getDeviceCount()
        index = device_id.index if device_id is not None and hasattr(device_id, "index") else (
            device_id if isinstance(device_id, int) else self.rank % ndev)
        from ember.backend import cuda as _cuda
        _cuda.set_device(index)
        uid = nccl.get_unique_id() if self.rank == 0 else None
        uid = mpi.bcast_obj(uid, 0)
        self.comm = nccl.NcclCommunicator(self.size, uid, self.rank)

    def abort(self, code=1):
        self.mpi.abort(code)

    def dup(self):
        """A second communicator over the same ranks and GPU (for DDP's comm thread)."""
        import cupy
        return NCCLBackend(self.mpi.dup(), cupy.cuda.runtime.getDevice())

    def subgroup(self, ranks):
        raise NotImplementedError("new_group is not supported on the nccl backend yet")

    def _dt(self, arr):
        return getattr(_nccl(), _DTYPES[arr.dtype.name])

    def _stream(self):
        import cupy
        return cupy.cuda.get_current_stream()

    def _work(self, what, timeout):
        import cupy
        ev = cupy.cuda.Event()
        ev.record(self._stream())
        return Work(lambda: ev.done, None, timeout, what)

    def allreduce(self, buf, op, timeout):
        self.comm.allReduce(buf.data.ptr, buf.data.ptr, buf.size, self._dt(buf),
                            getattr(_nccl(), _OPS[op]), self._stream().ptr)
        return self._work("all_reduce", timeout)

    def bcast(self, buf, src, timeout):
        self.comm.broadcast(buf.data.ptr, buf.data.ptr, buf.size, self._dt(buf), src,
                            self._stream().ptr)
        return self._work("broadcast", timeout)

    def reduce(self, buf, op, dst, timeout):
        self.comm.reduce(buf.data.ptr, buf.data.ptr, buf.size, self._dt(buf),
                         getattr(_nccl(), _OPS[op]), dst, self._stream().ptr)
        return self._work("reduce", timeout)

    def allgather(self, send, recv, timeout):
        self.comm.allGather(send.data.ptr, recv.data.ptr, send.size, self._dt(send),
                            self._stream().ptr)
        return self._work("all_gather", timeout)

    def reduce_scatter(self, send, recv, op, timeout):
        self.comm.reduceScatter(send.data.ptr, recv.data.ptr, recv.size, self._dt(send),
                                getattr(_nccl(), _OPS[op]), self._stream().ptr)
        return self._work("reduce_scatter", timeout)

    def send(self, buf, dst, tag, timeout):
        self.comm.send(buf.data.ptr, buf.size, self._dt(buf), dst, self._stream().ptr)
        return self._work("send", timeout)

    def recv(self, buf, src, tag, timeout):
        self.comm.recv(buf.data.ptr, buf.size, self._dt(buf), src, self._stream().ptr)
        return self._work("recv", timeout)

    def barrier(self, timeout):
        import cupy
        one = cupy.ones(1, dtype=cupy.float32)
        return self.allreduce(one, ReduceOp.SUM, timeout)

    def gather(self, send, recv, dst, timeout):
        raise NotImplementedError("gather is not supported on the nccl backend; use all_gather")

    def scatter(self, send, recv, src, timeout):
        raise NotImplementedError("scatter is not supported on the nccl backend")

    def alltoall(self, send, recv, timeout):
        raise NotImplementedError("all_to_all is not supported on the nccl backend")

    def allgather_obj(self, obj):
        return self.mpi.allgather_obj(obj)

    def bcast_obj(self, obj, src):
        return self.mpi.bcast_obj(obj, src)

    def gather_obj(self, obj, dst):
        return self.mpi.gather_obj(obj, dst)

    def scatter_obj(self, objs, src):
        return self.mpi.scatter_obj(objs, src)

    def check_same(self, key, describe, what, timeout):
        self.mpi.check_same(key, describe, what, timeout)
