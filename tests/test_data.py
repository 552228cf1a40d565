"""ember.utils.data: datasets, samplers, collate, and the DataLoader with worker processes."""

import collections
import os
import time

import numpy as np
import pytest

import ember
from ember.utils.data import (DataLoader, Dataset, IterableDataset, TensorDataset, Subset,
                              ConcatDataset, random_split, SequentialSampler, RandomSampler,
                              BatchSampler, WeightedRandomSampler, default_collate,
                              get_worker_info, DistributedSampler)


def _ds(n=10):
    return TensorDataset(ember.arange(float(n)).reshape(n, 1), ember.arange(n))


def test_tensor_dataset_and_subset_concat():
    ds = _ds()
    x, y = ds[3]
    assert x.tolist() == [3.0] and y.item() == 3
    assert len(Subset(ds, [1, 5])) == 2 and Subset(ds, [1, 5])[1][1].item() == 5
    cat = ConcatDataset([ds, _ds(4)])
    assert len(cat) == 14 and cat[12][1].item() == 2 and cat[-1][1].item() == 3
    with pytest.raises(ValueError, match="size mismatch"):
        TensorDataset(ember.ones(3), ember.ones(4))


def test_random_split_partitions():
    parts = random_split(range(10), [3, 7], generator=ember.Generator().manual_seed(1))
    idx = sorted(list(parts[0].indices) + list(parts[1].indices))
    assert idx == list(range(10)) and len(parts[0]) == 3
    fr = random_split(range(10), [0.5, 0.5])
    assert [len(p) for p in fr] == [5, 5]
    with pytest.raises(ValueError):
        random_split(range(10), [3, 3])


def test_samplers():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]
    g = ember.Generator().manual_seed(0)
    perm = list(RandomSampler(range(20), generator=g))
    assert sorted(perm) == list(range(20)) and perm != list(range(20))
    assert len(list(RandomSampler(range(5), replacement=True, num_samples=12))) == 12
    assert list(BatchSampler(range(7), 3, drop_last=False)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(BatchSampler(range(7), 3, drop_last=True)) == [[0, 1, 2], [3, 4, 5]]
    w = list(WeightedRandomSampler([0.0, 0.0, 1.0], 5))
    assert w == [2] * 5
    with pytest.raises(ValueError, match="batch_size"):
        BatchSampler(range(3), 0, False)


def test_default_collate_nested():
    Point = collections.namedtuple("Point", "x y")
    batch = [{"a": ember.ones(2), "b": (1, 2.5), "c": "s", "p": Point(1, np.ones(2))}
             for _ in range(3)]
    out = default_collate(batch)
    assert out["a"].shape == (3, 2)
    assert out["b"][0].dtype == ember.int64 and out["b"][1].dtype == ember.float64
    assert out["c"] == ["s", "s", "s"]
    assert isinstance(out["p"], Point) and out["p"].y.shape == (3, 2)
    torch = pytest.importorskip("torch")
    from torch.utils.data import default_collate as tc
    tb = tc([{"a": torch.ones(2), "b": (1, 2.5)} for _ in range(3)])
    assert str(tb["b"][1].dtype).endswith(str(out["b"][1].dtype).split(".")[-1])


def test_loader_batches_and_shuffle():
    ds = _ds(10)
    got = [b[1].tolist() for b in DataLoader(ds, batch_size=4)]
    assert got == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert len(DataLoader(ds, batch_size=4, drop_last=True)) == 2
    g = ember.Generator().manual_seed(3)
    e1 = [b[1].tolist() for b in DataLoader(ds, batch_size=5, shuffle=True, generator=g)]
    flat = sorted(sum(e1, []))
    assert flat == list(range(10))


@pytest.mark.parametrize("persistent", [False, True])
def test_workers_match_single_process(persistent):
    ds = _ds(23)
    ref = [b[1].tolist() for b in DataLoader(ds, batch_size=4)]
    dl = DataLoader(ds, batch_size=4, num_workers=2, persistent_workers=persistent)
    for _ in range(2):
        assert [b[1].tolist() for b in dl] == ref


class _SeedProbe(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        info = get_worker_info()
        return ember.tensor([info.id if info else -1, os.getpid()])


def test_worker_info_and_init_fn():
    seen = DataLoader(_SeedProbe(), batch_size=1, num_workers=2,
                      worker_init_fn=lambda wid: None)
    ids = {int(b[0, 0]) for b in seen}
    assert ids == {0, 1}


class _Boom(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 5:
            raise ValueError("bad sample 5")
        return ember.tensor(i)


def test_worker_exception_names_worker():
    dl = DataLoader(_Boom(), batch_size=2, num_workers=2)
    with pytest.raises(ValueError, match=r"(?s)worker process \d.*bad sample 5"):
        list(dl)


class _Crash(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        if get_worker_info() is not None and i == 2:
            os._exit(3)
        return ember.tensor(i)


def test_worker_crash_is_reported():
    t0 = time.time()
    with pytest.raises(RuntimeError, match="exited unexpectedly with exit code 3"):
        list(DataLoader(_Crash(), batch_size=1, num_workers=2))
    assert time.time() - t0 < 10


class _Hang(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        if i == 1:
            time.sleep(60)
        return ember.tensor(i)


def test_worker_hang_times_out():
    t0 = time.time()
    with pytest.raises(RuntimeError, match="timed out after 1"):
        list(DataLoader(_Hang(), batch_size=1, num_workers=2, timeout=1))
    assert time.time() - t0 < 10


class _Stream(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = get_worker_info()
        wid, nw = (info.id, info.num_workers) if info else (0, 1)
        return iter(range(wid, self.n, nw))


def test_iterable_dataset_single_and_workers():
    assert [b.tolist() for b in DataLoader(_Stream(7), batch_size=3)] == [[0, 1, 2], [3, 4, 5],
                                                                          [6]]
    got = sorted(sum((b.tolist() for b in DataLoader(_Stream(10), batch_size=2,
                                                     num_workers=2)), []))
    assert got == list(range(10))


def test_loader_argument_errors():
    ds = _ds()
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(ds, sampler=SequentialSampler(ds), shuffle=True)
    with pytest.raises(ValueError, match="num_workers"):
        DataLoader(ds, num_workers=-1)
    with pytest.raises(ValueError, match="shuffle"):
        DataLoader(_Stream(3), shuffle=True)


def test_distributed_sampler_partitions_epoch():
    n = 11
    for drop_last in (False, True):
        shares = [list(DistributedSampler(range(n), num_replicas=3, rank=r, seed=5,
                                          drop_last=drop_last)) for r in range(3)]
        assert len({len(s) for s in shares}) == 1
        flat = sum(shares, [])
        if drop_last:
            assert len(set(flat)) == len(flat) == 9
        else:
            assert set(flat) == set(range(n)) and len(flat) == 12
    s = DistributedSampler(range(n), num_replicas=2, rank=0)
    e0 = list(s)
    s.set_epoch(1)
    assert list(s) != e0
    with pytest.raises(ValueError, match="Invalid rank"):
        DistributedSampler(range(4), num_replicas=2, rank=2)
