"""``ember.distributed``: PyTorch's collective API on MPI (mpi4py) and NCCL (CuPy).

Processes are started by MPI (``python -m ember.distributed.run -n 4 train.py`` or
``mpiexec -n 4 python train.py``); ``init_process_group("mpi")`` reads rank and world
size from MPI. ``"nccl"`` bootstraps a NCCL communicator by broadcasting its unique id
over MPI, one GPU per rank. No networking of our own.

Failure behaviour: once a group is initialised, an uncaught exception on any rank prints
that rank's traceback and aborts the whole job (MPI's default is to hang). Every
collective waits at most ``timeout`` (``init_process_group(timeout=...)``), and tensor
collectives check that all ranks passed the same shape and dtype.
"""

import datetime

from ember.distributed._core import (ReduceOp, Work, ProcessGroup, GroupMember, group,  # noqa
                                     is_available, is_initialized, init_process_group,
                                     destroy_process_group, get_rank, get_world_size,
                                     get_backend, new_group, barrier, is_mpi_available,
                                     is_nccl_available, get_process_group_ranks)
from ember.distributed._collectives import (all_reduce, reduce, broadcast, all_gather,  # noqa
                                            all_gather_into_tensor, reduce_scatter_tensor,
                                            reduce_scatter, gather, scatter, send, recv, isend,
                                            irecv, all_to_all_single, broadcast_object_list,
                                            all_gather_object, gather_object,
                                            scatter_object_list)

Backend = type("Backend", (), {"MPI": "mpi", "NCCL": "nccl", "GLOO": "gloo"})
default_pg_timeout = datetime.timedelta(minutes=30)
