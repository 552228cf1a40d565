import sys
import ember
import ember.distributed as dist

dist.init_process_group("mpi", timeout=float(sys.argv[2]) if len(sys.argv) > 2 else None)
mode = sys.argv[1]
if mode == "raise" and dist.get_rank() == 1:
    raise ValueError("rank 1 failed on purpose")
if mode == "mismatch":
    dist.all_reduce(ember.ones(3 + dist.get_rank()))
if mode == "timeout" and dist.get_rank() == 1:
    import time
    time.sleep(30)
dist.all_reduce(ember.ones(3))
dist.barrier()
