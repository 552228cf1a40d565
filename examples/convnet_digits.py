"""A small convnet on scikit-learn's digits (8x8 images): >= 97% test accuracy.

This is the main job of ``make demo``. It shows a progress bar with loss and throughput,
saves a checkpoint every epoch (``--resume`` continues exactly where it stopped), and
writes a PNG plot of the loss curve.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import ember  # noqa: E402
from ember import nn  # noqa: E402
from ember.utils.data import TensorDataset  # noqa: E402
from examples._common import parse_args, digits, epoch_loader, accuracy, fit  # noqa: E402


class ConvNet(nn.Module):
    """conv-bn-relu x2, max-pool, conv-bn-relu, global average pool, linear."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
            nn.MaxPool2d(2),  # 8x8 -> 4x4
            nn.Conv2d(64, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1))
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.2), nn.Linear(64, 10))

    def forward(self, x):
        return self.head(self.features(x))


def main():
    args = parse_args("Convnet on digits", epochs=8, batch_size=64, lr=0.003)
    ember.manual_seed(args.seed)
    (xtr, ytr), (xte, yte) = digits(args.seed, images=True)
    model = ConvNet()
    opt = ember.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    steps = args.epochs * -(-len(ytr) // args.batch_size)
    sched = ember.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps)
    ds = TensorDataset(xtr, ytr)

    def step(batch):
        x, y = batch
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        return loss.item(), len(y)

    fit(args, dict(model=model, opt=opt, sched=sched),
        lambda epoch: epoch_loader(ds, args.batch_size, args.seed, epoch), step,
        lambda: f"test accuracy {accuracy(model, xte, yte):.4f}", "convnet on digits")
    acc = accuracy(model, xte, yte)
    print(f"final test accuracy {acc:.4f} (target >= 0.97)")
    return acc


if __name__ == "__main__":
    main()
