"""DistributedDataParallel: one model replica per process, gradients averaged in buckets.

At construction rank 0's parameters and buffers are broadcast. Parameters are grouped
into buckets of about ``bucket_cap_mb`` (the first one smaller, so communication starts
early), in reverse registration order, which is roughly the order backward produces
their gradients. When every gradient of a bucket has been accumulated, the bucket is
flattened and handed to a communication thread that all-reduces it while backward goes
on (MPI calls release the GIL). Buckets are launched strictly in order so every rank
issues the same sequence of collectives. When backward ends, the averaged gradients are
written back into ``.grad``; buckets whose parameters got no gradient this step are
reduced with zeros.
"""

import contextlib
import queue
import threading

import numpy as np

from ember.autograd import graph
from ember.nn.modules.module import Module


class _CommThread:
    """Runs all-reduces in order on its own communicator, overlapping the caller."""

    def __init__(self, impl):
        self.impl = impl
        self.tasks = queue.Queue()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        from ember.distributed import ReduceOp
        while True:
            job = self.tasks.get()
            if job is None:
                return
            buf, done = job
            try:
                self.impl.allreduce(buf, ReduceOp.SUM, None).wait()
                done.set()
            except BaseException as e:  # surfaced by the waiting side
                done.error = e
                done.set()

    def submit(self, buf):
        done = threading.Event()
        done.error = None
        self.tasks.put((buf, done))
        return done


class _Bucket:
    def __init__(self, params, on_device):
        self.params = params
        sizes = [p.numel() for p in params]
        self.offsets = np.cumsum([0] + sizes)
        # MPI reduces host memory; NCCL reduces the buffer where the gradients live
        xp = params[0]._device.xp if on_device else np
        self.buffer = xp.zeros(int(self.offsets[-1]), dtype=params[0]._data.dtype)
        self.ready = 0
        self.pending = None


class DistributedDataParallel(Module):
    """Data-parallel training of ``module`` over the processes of a group.

    Args:
        module: the model (the same architecture on every rank).
        broadcast_buffers: sync buffers (e.g. BatchNorm statistics) from rank 0 before each
            forward.
        process_group: the group to use (the default group if None).
        bucket_cap_mb: bucket size in MiB.
        find_unused_parameters: accepted; parameters without a gradient are always handled.
        overlap_communication: (ember) launch bucket all-reduces during backward (True) or
            all at the end of backward (False, for measuring the overlap).

    Example:
        ``model = DistributedDataParallel(Net())`` then train as usual; use
        ``with model.no_sync():`` to accumulate gradients locally for some steps.
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0,
                 broadcast_buffers=True, process_group=None, bucket_cap_mb=25,
                 find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False,
                 overlap_communication=True):
        super().__init__()
        from ember import distributed as dist
        from ember.distributed._core import _resolve
        self.module = module
        self.process_group = _resolve(process_group)
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.overlap_communication = overlap_communication
        self.require_backward_grad_sync = True
        self.device_ids = device_ids
        self._world = self.process_group.size()
        self._params = [p for p in module.parameters() if p.requires_grad]
        if len({id(p) for p in self._params}) != len(self._params):
            raise ValueError("DistributedDataParallel: a parameter appears twice in the model")
        self._sync_module_states(dist)
        self._buckets = self._make_buckets(bucket_cap_mb)
        self._bucket_of = {}
        for b in self._buckets:
            for p in b.params:
                self._bucket_of[id(p)] = b
        self._comm = _CommThread(self.process_group.impl.dup()) if self._world > 1 else None
        self._next_launch = 0
        self._armed = False
        self._hooks = [p.register_post_accumulate_grad_hook(self._grad_ready)
                       for p in self._params]

    # -- construction ---------------------------------------------------------------------
    def _sync_module_states(self, dist):
        if self._world == 1:
            return
        from ember.autograd.grad_mode import no_grad
        with no_grad():
            for t in list(self.module.parameters()) + list(self.module.buffers()):
                dist.broadcast(t.detach(), src=self.process_group.ranks[0],
                               group=self.process_group)

    def _make_buckets(self, cap_mb):
        buckets, cur, size = [], [], 0
        cap = 1 << 20  # the first bucket is 1 MiB so communication starts early
        for p in reversed(self._params):
            nbytes = p.numel() * p.element_size()
            if cur and (size + nbytes > cap or p._data.dtype != cur[0]._data.dtype):
                buckets.append(_Bucket(cur, self.process_group.backend == "nccl"))
                cur, size, cap = [], 0, int(cap_mb * (1 << 20))
            cur.append(p)
            size += nbytes
        if cur:
            buckets.append(_Bucket(cur, self.process_group.backend == "nccl"))
        return buckets

    # -- forward --------------------------------------------------------------------------
    def forward(self, *inputs, **kwargs):
        if self.broadcast_buffers and self._world > 1:
            self._sync_buffers()
        return self.module(*inputs, **kwargs)

    def _sync_buffers(self):
        from ember import distributed as dist
        for b in self.module.buffers():
            dist.broadcast(b.detach(), src=self.process_group.ranks[0], group=self.process_group)

    @contextlib.contextmanager
    def no_sync(self):
        """Inside this block gradients accumulate locally; the next synced backward averages
        the accumulated gradients."""
        prev = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = prev

    # -- backward -------------------------------------------------------------------------
    def _grad_ready(self, p):
        if not self.require_backward_grad_sync or self._world == 1:
            return
        if not self._armed:
            self._armed = True
            graph.queue_callback(self._finish)
        bucket = self._bucket_of[id(p)]
        bucket.ready += 1
        if self.overlap_communication:
            self._launch_ready()

    def _launch_ready(self):
        while self._next_launch < len(self._buckets):
            b = self._buckets[self._next_launch]
            if b.ready < len(b.params):
                return
            self._launch(b)
            self._next_launch += 1

    def _launch(self, b):
        for i, p in enumerate(b.params):
            lo, hi = b.offsets[i], b.offsets[i + 1]
            if p.grad is None:
                b.buffer[lo:hi] = 0
            else:
                g = p.grad._data
                if isinstance(b.buffer, np.ndarray) and not isinstance(g, np.ndarray):
                    g = g.get()  # a CUDA gradient reduced over MPI travels through the host
                b.buffer[lo:hi] = g.reshape(-1)
        if not isinstance(b.buffer, np.ndarray):
            # the comm thread has its own CUDA stream: the copies above must be done first
            b.params[0]._device.xp.cuda.get_current_stream().synchronize()
        b.pending = self._comm.submit(b.buffer)

    def _finish(self):
        for b in self._buckets[self._next_launch:]:  # unused parameters, or no overlap
            self._launch(b)
        for b in self._buckets:
            b.pending.wait()
            if b.pending.error is not None:
                raise b.pending.error
            b.buffer /= self._world
            for i, p in enumerate(b.params):
                avg = b.buffer[b.offsets[i]:b.offsets[i + 1]].reshape(p._data.shape)
                if p.grad is None:
                    from ember.ops.creation import zeros_like
                    p.grad = zeros_like(p)
                xp = p.grad._device.xp
                xp.copyto(p.grad._data, xp.asarray(avg))
                p.grad._bump()
            b.ready = 0
            b.pending = None
        self._next_launch = 0
        self._armed = False

    def __getstate__(self):
        raise TypeError("DistributedDataParallel cannot be pickled; save .module instead")


class DataParallel(Module):
    """Single-process stand-in for ``nn.DataParallel``: runs ``module`` on one device."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()
        self.module = module

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)
