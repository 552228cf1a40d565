"""``ember.nn.parallel``: DistributedDataParallel (and DataParallel on one device)."""

from ember.nn.parallel.distributed import DistributedDataParallel, DataParallel  # noqa: F401

__all__ = ["DistributedDataParallel", "DataParallel"]
