"""Shared pieces of the examples: data, a progress bar, checkpoints that resume exactly,
and a PNG plot of the loss curve."""

import argparse
import os
import time

import numpy as np

import ember


def parse_args(description, epochs, **extra):
    """Command-line options every example takes (plus ``extra`` name=default pairs)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--epochs", type=int, default=epochs)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=os.path.join("runs", os.path.splitext(
        os.path.basename(__import__("__main__").__file__))[0]))
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    p.add_argument("--stop-after", type=int, default=None,
                   help="stop after this many epochs (as if interrupted; resume later)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    for name, default in extra.items():
        p.add_argument(f"--{name.replace('_', '-')}", type=type(default), default=default)
    return p.parse_args()


def digits(seed=0, test_fraction=0.25, images=False):
    """scikit-learn's bundled 8x8 digits, scaled to [0, 1], split into train and test."""
    from sklearn.datasets import load_digits
    d = load_digits()
    x = (d.images if images else d.data).astype(np.float32) / 16.0
    if images:
        x = x[:, None]
    y = d.target.astype(np.int64)
    perm = np.random.default_rng(seed).permutation(len(y))
    n_test = int(len(y) * test_fraction)
    te, tr = perm[:n_test], perm[n_test:]
    return (ember.tensor(x[tr]), ember.tensor(y[tr])), (ember.tensor(x[te]), ember.tensor(y[te]))


def progress(iterable, total, desc, quiet=False):
    """A tqdm bar (falls back to plain iteration without tqdm or with ``quiet``)."""
    if quiet:
        return iterable
    try:
        from tqdm import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, total=total, desc=desc, leave=False, dynamic_ncols=True)


class Meter:
    """Running loss and samples/second for the progress bar."""

    def __init__(self):
        self.t0 = time.perf_counter()
        self.samples = 0

    def rate(self):
        return self.samples / max(time.perf_counter() - self.t0, 1e-9)

    def update(self, bar, loss, n):
        self.samples += n
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(loss=f"{loss:.4f}", samples_per_s=f"{self.rate():.0f}")


def save_checkpoint(path, epoch, losses, **states):
    """Atomically save ``{name: obj.state_dict()}``, the epoch, losses and RNG state."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    payload = {name: obj.state_dict() for name, obj in states.items()}
    payload.update(epoch=epoch, losses=list(losses), rng=ember.get_rng_state())
    ember.save(payload, path)


def load_checkpoint(path, **states):
    """Restore what :func:`save_checkpoint` saved; returns ``(next_epoch, losses)``."""
    payload = ember.load(path)
    for name, obj in states.items():
        obj.load_state_dict(payload[name])
    ember.set_rng_state(payload["rng"])
    return payload["epoch"] + 1, list(payload["losses"])


def plot_losses(losses, path, title):
    """Write the loss curve to a PNG file."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(np.arange(1, len(losses) + 1), losses)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def epoch_loader(dataset, batch_size, seed, epoch, **kw):
    """A DataLoader whose shuffle depends only on (seed, epoch): resuming repeats it."""
    from ember.utils.data import DataLoader
    g = ember.Generator().manual_seed(seed * 1000 + epoch)
    return DataLoader(dataset, batch_size=batch_size, shuffle=True, generator=g, **kw)


def accuracy(model, x, y, batch=512):
    """Fraction of correct argmax predictions, in eval mode and without grad."""
    model.eval()
    correct = 0
    with ember.no_grad():
        for i in range(0, len(y), batch):
            correct += int((model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum())
    model.train()
    return correct / len(y)


def fit(args, states, make_loader, step, evaluate, title):
    """The examples' training loop: epochs with a progress bar, a checkpoint per epoch
    (``--resume`` continues exactly), and a loss plot at the end.

    Args:
        states: ``{name: object with state_dict/load_state_dict}`` to checkpoint.
        make_loader: ``epoch -> iterable of batches``.
        step: ``batch -> (loss float, number of samples)``; does one optimisation step.
        evaluate: ``() -> str`` summary printed after each epoch.
    Returns:
        the list of per-step losses.
    """
    os.makedirs(args.out, exist_ok=True)
    ckpt = os.path.join(args.out, "checkpoint.pt")
    start, losses = 0, []
    if args.resume and os.path.exists(ckpt):
        start, losses = load_checkpoint(ckpt, **states)
        print(f"resumed from {ckpt} at epoch {start + 1}")
    stop = args.epochs if args.stop_after is None else min(args.epochs, args.stop_after)
    for epoch in range(start, stop):
        loader = make_loader(epoch)
        meter = Meter()
        bar = progress(loader, len(loader), f"epoch {epoch + 1}/{args.epochs}", args.quiet)
        first = len(losses)
        for batch in bar:
            loss, n = step(batch)
            losses.append(loss)
            meter.update(bar, loss, n)
        mean = sum(losses[first:]) / max(len(losses) - first, 1)
        print(f"epoch {epoch + 1}: loss {mean:.4f}  {evaluate()}  "
              f"({meter.rate():.0f} samples/s)", flush=True)
        save_checkpoint(ckpt, epoch, losses, **states)
    plot = os.path.join(args.out, "loss.png")
    plot_losses(losses, plot, title)
    print(f"checkpoint {ckpt}; loss plot {plot}")
    return losses
