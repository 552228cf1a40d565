"""The MPI engine (mpi4py): nonblocking collectives on NumPy buffers, polled with a timeout."""

import numpy as np

from ember.distributed._core import Work, ReduceOp

_world = {}


def _mpi():
    from mpi4py import MPI
    return MPI


def _op(op):
    MPI = _mpi()
    return {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
            ReduceOp.MIN: MPI.MIN, ReduceOp.MAX: MPI.MAX, ReduceOp.BAND: MPI.BAND,
            ReduceOp.BOR: MPI.BOR, ReduceOp.BXOR: MPI.BXOR}[op]


class MPIBackend:
    """Collectives over one MPI communicator."""

    def __init__(self, comm):
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()

    @classmethod
    def world(cls):
        if "world" not in _world:
            _world["world"] = cls(_mpi().COMM_WORLD.Dup())
        return _world["world"]

    def abort(self, code=1):
        _mpi().COMM_WORLD.Abort(code)

    def subgroup(self, ranks):
        MPI = _mpi()
        grp = self.comm.Get_group().Incl(ranks)
        sub = self.comm.Create_group(grp) if self.rank in ranks else self.comm.Create_group(
            MPI.GROUP_EMPTY)
        if sub == MPI.COMM_NULL:
            return None
        return MPIBackend(sub)

    def dup(self):
        return MPIBackend(self.comm.Dup())

    # -- the collectives: each returns a Work ---------------------------------------------
    def _work(self, req, timeout, what, finish=None, result=None):
        return Work(lambda: req.Test(), finish, timeout, what, result)

    def allreduce(self, buf, op, timeout):
        req = self.comm.Iallreduce(_mpi().IN_PLACE, buf, _op(op))
        return self._work(req, timeout, "all_reduce")

    def bcast(self, buf, src, timeout):
        return self._work(self.comm.Ibcast(buf, root=src), timeout, "broadcast")

    def reduce(self, buf, op, dst, timeout):
        MPI = _mpi()
        send = MPI.IN_PLACE if self.rank == dst else buf
        req = self.comm.Ireduce(send, buf if self.rank == dst else None, _op(op), root=dst)
        return self._work(req, timeout, "reduce")

    def allgather(self, send, recv, timeout):
        return self._work(self.comm.Iallgather(send, recv), timeout, "all_gather")

    def reduce_scatter(self, send, recv, op, timeout):
        req = self.comm.Ireduce_scatter_block(send, recv, _op(op))
        return self._work(req, timeout, "reduce_scatter")

    def gather(self, send, recv, dst, timeout):
        return self._work(self.comm.Igather(send, recv, root=dst), timeout, "gather")

    def scatter(self, send, recv, src, timeout):
        return self._work(self.comm.Iscatter(send, recv, root=src), timeout, "scatter")

    def alltoall(self, send, recv, timeout):
        return self._work(self.comm.Ialltoall(send, recv), timeout, "all_to_all")

    def send(self, buf, dst, tag, timeout):
        return self._work(self.comm.Isend(buf, dest=dst, tag=tag), timeout, "send")

    def recv(self, buf, src, tag, timeout):
        MPI = _mpi()
        status = MPI.Status()
        source = MPI.ANY_SOURCE if src is None else src
        self._probe(source, tag, status, timeout)
        got = status.Get_count(MPI.BYTE)
        if got != buf.nbytes:
            raise RuntimeError(f"recv: expected {buf.nbytes} bytes ({buf.dtype}{list(buf.shape)})"
                               f" but rank {status.Get_source()} sent {got} bytes")
        req = self.comm.Irecv(buf, source=status.Get_source(), tag=tag)
        return self._work(req, timeout, "recv", result=status.Get_source())

    def _probe(self, source, tag, status, timeout):
        from ember.distributed._core import _spin
        _spin(lambda: self.comm.Iprobe(source=source, tag=tag, status=status), timeout, "recv")

    def barrier(self, timeout):
        return self._work(self.comm.Ibarrier(), timeout, "barrier")

    # -- objects (pickled by mpi4py; only between the job's own processes) -----------------
    def allgather_obj(self, obj):
        return self.comm.allgather(obj)

    def bcast_obj(self, obj, src):
        return self.comm.bcast(obj, root=src)

    def gather_obj(self, obj, dst):
        return self.comm.gather(obj, root=dst)

    def scatter_obj(self, objs, src):
        return self.comm.scatter(objs, root=src)

    def check_same(self, key, describe, what, timeout):
        """Raise on every rank if ``key`` (an int) differs between ranks."""
        probe = np.array([key, -key], dtype=np.int64)
        self.allreduce(probe, ReduceOp.MAX, timeout).wait()
        if probe[0] != -probe[1]:
            descs = self.allgather_obj(describe)
            lines = ", ".join(f"rank {r}: {d}" for r, d in enumerate(descs))
            raise RuntimeError(f"{what}: the tensors differ across ranks ({lines}); every rank "
                               f"must pass the same shape and dtype")
