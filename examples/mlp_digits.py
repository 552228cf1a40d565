"""An MLP on scikit-learn's digits: >= 97% test accuracy in a few seconds."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import ember  # noqa: E402
from ember import nn  # noqa: E402
from ember.utils.data import TensorDataset  # noqa: E402
from examples._common import parse_args, digits, epoch_loader, accuracy, fit  # noqa: E402


def main():
    args = parse_args("MLP on digits", epochs=20, batch_size=32, lr=0.05)
    ember.manual_seed(args.seed)
    (xtr, ytr), (xte, yte) = digits(args.seed)
    model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Dropout(0.1),
                          nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = ember.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, nesterov=True,
                          weight_decay=1e-4)
    sched = ember.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
    ds = TensorDataset(xtr, ytr)

    def step(batch):
        x, y = batch
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item(), len(y)

    def evaluate():
        sched.step()  # once per epoch
        return f"test accuracy {accuracy(model, xte, yte):.4f}"

    fit(args, dict(model=model, opt=opt, sched=sched),
        lambda epoch: epoch_loader(ds, args.batch_size, args.seed, epoch), step, evaluate,
        "MLP on digits")
    acc = accuracy(model, xte, yte)
    print(f"final test accuracy {acc:.4f} (target >= 0.97)")
    return acc


if __name__ == "__main__":
    main()
