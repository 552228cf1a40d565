"""The digits convnet trained data-parallel on several processes.

Run: ``python -m ember.distributed.run -n 2 examples/ddp_digits.py``
(or ``mpiexec -n 2 python examples/ddp_digits.py``). Each process reads its share of
every epoch (DistributedSampler); DistributedDataParallel averages gradients, so the
replicas stay identical. Rank 0 prints, checkpoints and plots.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import ember  # noqa: E402
import ember.distributed as dist  # noqa: E402
from ember import nn  # noqa: E402
from ember.utils.data import DataLoader, DistributedSampler, TensorDataset  # noqa: E402
from examples._common import parse_args, digits, accuracy  # noqa: E402
from examples.convnet_digits import ConvNet  # noqa: E402


def main():
    args = parse_args("Data-parallel convnet on digits", epochs=8, batch_size=32, lr=0.003)
    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    ember.manual_seed(args.seed)
    (xtr, ytr), (xte, yte) = digits(args.seed, images=True)
    model = nn.SyncBatchNorm.convert_sync_batchnorm(ConvNet())
    ddp = nn.parallel.DistributedDataParallel(model)
    opt = ember.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    sampler = DistributedSampler(TensorDataset(xtr, ytr), seed=args.seed)
    loader = DataLoader(TensorDataset(xtr, ytr), batch_size=args.batch_size, sampler=sampler)
    sched = ember.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr,
                                                total_steps=args.epochs * len(loader))
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)
        total = ember.zeros(2)
        for x, y in loader:
            loss = nn.functional.cross_entropy(ddp(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += ember.tensor([loss.item() * len(y), len(y)])
        dist.all_reduce(total)
        if rank == 0:
            print(f"epoch {epoch + 1}: loss {total[0].item() / total[1].item():.4f}  test "
                  f"accuracy {accuracy(model, xte, yte):.4f}  ({world} processes)", flush=True)
    if rank == 0:
        os.makedirs(args.out, exist_ok=True)
        ember.save(model.state_dict(), os.path.join(args.out, "model.pt"))
        print(f"final test accuracy {accuracy(model, xte, yte):.4f} (target >= 0.97)")
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
