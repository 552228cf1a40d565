"""DataLoader: batches from a dataset, in the main process or in worker processes.

With ``num_workers > 0`` each worker process gets batches of indices through its own
queue and sends collated batches back on one result queue; the main process hands them
out in order. A worker that raises sends its traceback, which the main process re-raises
naming the worker; a worker that dies is noticed within a second, and ``timeout`` bounds
the wait for any batch, so a broken worker never hangs training.
"""

import collections.abc
import itertools
import multiprocessing as mp
import os
import queue
import traceback
import warnings

from ember.utils.data._collate import default_collate, default_convert
from ember.utils.data.dataset import IterableDataset
from ember.utils.data.sampler import (BatchSampler, RandomSampler, SequentialSampler)


class WorkerInfo:
    """What a worker knows about itself (``get_worker_info()`` inside a worker)."""

    def __init__(self, id, num_workers, seed, dataset):
        self.id, self.num_workers, self.seed, self.dataset = id, num_workers, seed, dataset

    def __repr__(self):
        return f"WorkerInfo(id={self.id}, num_workers={self.num_workers}, seed={self.seed})"


_worker_info = None


def get_worker_info():
    """The current worker's :class:`WorkerInfo`, or None in the main process."""
    return _worker_info


class _Failure:
    """A worker's exception, carried back to the main process as text."""

    def __init__(self, worker_id, exc):
        self.worker_id = worker_id
        self.exc_type = type(exc)
        self.text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))

    def reraise(self):
        msg = f"Caught {self.exc_type.__name__} in DataLoader worker process " \
              f"{self.worker_id}.\nOriginal {self.text}"
        try:
            err = self.exc_type(msg)
        except Exception:
            err = RuntimeError(msg)
        raise err


class _IterableEnd:
    def __init__(self, worker_id):
        self.worker_id = worker_id


def _worker_loop(dataset, index_q, result_q, collate_fn, auto_collation, drop_last,
                 batch_size, worker_id, num_workers, seed, init_fn, iterable):
    global _worker_info
    import ember
    ember.manual_seed(seed)
    _worker_info = WorkerInfo(worker_id, num_workers, seed, dataset)
    try:
        if init_fn is not None:
            init_fn(worker_id)
    except Exception as e:
        result_q.put((None, _Failure(worker_id, e)))
        return
    it = iter(dataset) if iterable else None
    while True:
        task = index_q.get()
        if task is None:
            return
        idx, indices = task
        try:
            if iterable:
                batch = _next_iterable_batch(it, auto_collation, batch_size, drop_last)
                if batch is None:
                    result_q.put((idx, _IterableEnd(worker_id)))
                    continue
                data = collate_fn(batch)
            elif auto_collation:
                data = collate_fn([dataset[i] for i in indices])
            else:
                data = collate_fn(dataset[indices])
            result_q.put((idx, data))
        except Exception as e:
            result_q.put((idx, _Failure(worker_id, e)))


def _next_iterable_batch(it, auto_collation, batch_size, drop_last):
    if not auto_collation:
        try:
            return next(it)
        except StopIteration:
            return None
    batch = list(itertools.islice(it, batch_size))
    if not batch or (drop_last and len(batch) < batch_size):
        return None
    return batch


class DataLoader:
    """Iterate over ``dataset`` in batches.

    Args:
        dataset: a map-style or iterable dataset.
        batch_size: samples per batch (None disables automatic batching).
        shuffle: reshuffle indices every epoch (map-style only).
        sampler, batch_sampler: custom index order / batches (exclusive with shuffle).
        num_workers: worker processes (0 loads in the main process).
        collate_fn: merges a list of samples into a batch (``default_collate``).
        pin_memory: page-locked host memory for faster GPU copies (no-op on CPU).
        drop_last: drop the last incomplete batch.
        timeout: seconds to wait for a batch from workers (0 waits forever, but a dead
            worker is still detected).
        worker_init_fn: called as ``fn(worker_id)`` in each worker after seeding.
        generator: the RNG behind shuffling and worker seeds.
        prefetch_factor: batches loaded in advance per worker (default 2).
        persistent_workers: keep workers alive across epochs.

    Example:
        >>> import ember
        >>> from ember.utils.data import DataLoader, TensorDataset
        >>> ds = TensorDataset(ember.arange(10.0), ember.arange(10))
        >>> [b[1].tolist() for b in DataLoader(ds, batch_size=4)]
        [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False,
                 timeout=0, worker_init_fn=None, multiprocessing_context=None, generator=None,
                 *, prefetch_factor=None, persistent_workers=False, pin_memory_device="",
                 in_order=True):
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                             "disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in "
                             "multiprocessing.let num_workers > 0 to enable multiprocessing, "
                             "otherwise set prefetch_factor to None.")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = 2 if prefetch_factor is None and num_workers else prefetch_factor
        self.pin_memory = pin_memory
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.generator = generator
        self.persistent_workers = persistent_workers
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"shuffle option, but got shuffle={shuffle}")
            if sampler is not None or batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified "
                                 "sampler/batch_sampler option")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if sampler is None and not self._iterable:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else \
                SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size, self.drop_last = batch_size, drop_last
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self._auto_collation = batch_sampler is not None or (self._iterable and
                                                              batch_size is not None)
        self.collate_fn = collate_fn if collate_fn is not None else (
            default_collate if self._auto_collation else default_convert)
        self._persistent = None

    def _index_batches(self):
        if self._iterable:
            return itertools.count()
        return iter(self.batch_sampler) if self.batch_sampler is not None else iter(self.sampler)

    def __iter__(self):
        batches = self._batches()
        if self.pin_memory and _can_pin():
            return _pinned(batches)
        return batches

    def _batches(self):
        if self.num_workers == 0:
            return self._single_process()
        if self.persistent_workers:
            if self._persistent is None:
                self._persistent = _WorkerPool(self)
            return self._persistent.epoch(self._index_batches())
        pool = _WorkerPool(self)
        return pool.epoch(self._index_batches(), close=True)

    def _single_process(self):
        if self._iterable:
            it = iter(self.dataset)
            while True:
                batch = _next_iterable_batch(it, self._auto_collation, self.batch_size,
                                             self.drop_last)
                if batch is None:
                    return
                yield self.collate_fn(batch)
        for indices in self._index_batches():
            if self._auto_collation:
                yield self.collate_fn([self.dataset[i] for i in indices])
            else:
                yield self.collate_fn(self.dataset[indices])

    def __len__(self):
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self.batch_sampler) if self.batch_sampler is not None else len(self.sampler)

    def __del__(self):
        if getattr(self, "_persistent", None) is not None:
            self._persistent.shutdown()


def _can_pin():
    from ember.backend import cuda
    if cuda.is_available():
        return True
    warnings.warn("'pin_memory' argument is set as true but no accelerator is found, then "
                  "device pinned memory won't be used.")
    return False


def _pinned(batches):
    """The batches with their tensors copied to pinned host memory (for non_blocking copies)."""
    try:
        for b in batches:
            yield _pin(b)
    finally:
        if hasattr(batches, "close"):
            batches.close()


def _pin(data):
    """``data`` with every tensor pinned; containers rebuilt like PyTorch's ``pin_memory``."""
    if hasattr(data, "pin_memory") and not isinstance(data, type):
        return data.pin_memory()
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, collections.abc.Mapping):
        try:
            return type(data)({k: _pin(v) for k, v in data.items()})
        except TypeError:
            return {k: _pin(v) for k, v in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # namedtuple
        return type(data)(*(_pin(v) for v in data))
    if isinstance(data, tuple):
        return [_pin(v) for v in data]  # a list, as PyTorch returns
    if isinstance(data, collections.abc.Sequence):
        try:
            return type(data)([_pin(v) for v in data])
        except TypeError:
            return [_pin(v) for v in data]
    return data


class _WorkerPool:
    """Worker processes, their queues, and the ordered hand-out of their batches."""

    def __init__(self, loader):
        from ember.ops.random import default_generator
        ctx = loader.multiprocessing_context
        if ctx is None or isinstance(ctx, str):
            ctx = mp.get_context(ctx or ("fork" if os.name == "posix" else "spawn"))
        self.loader = loader
        gen = loader.generator if loader.generator is not None else default_generator
        base_seed = int(gen._rng.integers(0, 2 ** 62))
        self.result_q = ctx.Queue()
        self.index_qs, self.workers = [], []
        for wid in range(loader.num_workers):
            iq = ctx.Queue()
            w = ctx.Process(target=_worker_loop, daemon=True, args=(
                loader.dataset, iq, self.result_q, loader.collate_fn, loader._auto_collation,
                loader.drop_last, loader.batch_size, wid, loader.num_workers, base_seed + wid,
                loader.worker_init_fn, loader._iterable))
            w.start()
            self.index_qs.append(iq)
            self.workers.append(w)
        self.alive = True

    def epoch(self, index_iter, close=False):
        try:
            yield from self._run(index_iter)
        finally:
            if close:
                self.shutdown()

    def _run(self, index_iter):
        lw = self.loader
        n = lw.num_workers
        sent, expected = 0, 0
        pending = {}
        ended = set()
        outstanding = 0
        exhausted = False
        rr = itertools.cycle(range(n))

        def send():
            nonlocal sent, outstanding, exhausted
            if exhausted:
                return False
            for _ in range(n):  # skip workers whose iterable ended
                wid = next(rr)
                if wid not in ended:
                    break
            else:
                exhausted = True
                return False
            try:
                indices = next(index_iter)
            except StopIteration:
                exhausted = True
                return False
            self.index_qs[wid].put((sent, indices))
            sent += 1
            outstanding += 1
            return True

        for _ in range(lw.prefetch_factor * n):
            if not send():
                break
        while outstanding or pending:
            if expected in pending:
                data = pending.pop(expected)
                expected += 1
                if isinstance(data, _IterableEnd):
                    continue
                send()
                yield data
                continue
            if not outstanding:
                break
            idx, data = self._get()
            outstanding -= 1
            if isinstance(data, _Failure):
                self.shutdown()
                data.reraise()
            if isinstance(data, _IterableEnd):
                ended.add(data.worker_id)
                if len(ended) == n:
                    exhausted = True
                send()
            pending[idx] = data

    def _get(self):
        timeout = self.loader.timeout
        waited = 0.0
        step = 0.5 if not timeout else min(0.5, timeout)
        while True:
            try:
                return self.result_q.get(timeout=step)
            except queue.Empty:
                waited += step
                self._check_alive()
                if timeout and waited >= timeout:
                    self.shutdown()
                    raise RuntimeError(f"DataLoader timed out after {timeout} seconds waiting "
                                       f"for a batch from its {len(self.workers)} workers")

    def _check_alive(self):
        for wid, w in enumerate(self.workers):
            if not w.is_alive():
                code = w.exitcode
                self.shutdown()
                raise RuntimeError(f"DataLoader worker {wid} (pid {w.pid}) exited unexpectedly "
                                   f"with exit code {code}")

    def shutdown(self):
        if not self.alive:
            return
        self.alive = False
        for q in self.index_qs:
            try:
                q.put(None)
            except Exception:
                pass
        for w in self.workers:
            w.join(timeout=1.0)
            if w.is_alive():
                w.terminate()
                w.join(timeout=1.0)
        for q in self.index_qs + [self.result_q]:
            q.cancel_join_thread()
            q.close()
