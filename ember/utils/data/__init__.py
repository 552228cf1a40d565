"""``ember.utils.data``: datasets, samplers and the DataLoader (PyTorch's API)."""

from ember.utils.data.dataset import (Dataset, IterableDataset, TensorDataset, StackDataset,
                                      ConcatDataset, ChainDataset, Subset, random_split)
from ember.utils.data.sampler import (Sampler, SequentialSampler, RandomSampler,
                                      SubsetRandomSampler, WeightedRandomSampler, BatchSampler)
from ember.utils.data._collate import default_collate, default_convert
from ember.utils.data.dataloader import DataLoader, get_worker_info
from ember.utils.data.distributed import DistributedSampler

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "StackDataset", "ConcatDataset",
           "ChainDataset", "Subset", "random_split", "Sampler", "SequentialSampler",
           "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler", "BatchSampler",
           "default_collate", "default_convert", "DataLoader", "get_worker_info",
           "DistributedSampler"]
