"""DistributedSampler: each process of a data-parallel job reads its own share of an epoch."""

import math

from ember.utils.data.sampler import Sampler


class DistributedSampler(Sampler):
    """Indices for rank ``rank`` of ``num_replicas``: every epoch is split into equal,
    disjoint shares (padded by repeating indices unless ``drop_last``).

    Call ``set_epoch(epoch)`` at the start of each epoch to reshuffle differently.
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0,
                 drop_last=False):
        if num_replicas is None or rank is None:
            from ember import distributed as dist
            if not dist.is_available() or not dist.is_initialized():
                raise RuntimeError("DistributedSampler: num_replicas and rank are required "
                                   "when the default process group is not initialized")
            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.shuffle, self.seed, self.drop_last, self.epoch = shuffle, seed, drop_last, 0
        n = len(dataset)
        if drop_last and n % num_replicas:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self):
        import numpy as np
        n = len(self.dataset)
        if self.shuffle:
            rng = np.random.Generator(np.random.PCG64(self.seed + self.epoch))
            indices = rng.permutation(n).tolist()
        else:
            indices = list(range(n))
        if not self.drop_last:
            pad = self.total_size - len(indices)
            while pad > 0:
                indices += indices[:pad]
                pad = self.total_size - len(indices)
        else:
            indices = indices[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        """Make the next ``__iter__`` use a different shuffle."""
        self.epoch = epoch
