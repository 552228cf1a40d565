"""Training-step benchmarks, ember vs PyTorch, same code (``m`` is either module).

Each (framework, workload) runs in its own process so peak memory (max RSS growth over
the process's baseline after imports) is comparable. Prints ms per step, the
ember/torch ratio, and peak memory.

Run: .venv/bin/python benchmarks/training.py [workload ...]
"""

import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKLOADS = ["mlp", "convnet", "gpt", "lstm"]


def mlp(m):
    """MNIST-size MLP 784-512-512-10, batch 128, SGD with momentum."""
    nn = m.nn
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                          nn.Linear(512, 10))
    x, y = m.randn(128, 784), m.randint(0, 10, (128,))
    opt = m.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return model, opt, lambda: nn.functional.cross_entropy(model(x), y)


def convnet(m):
    """CIFAR-size convnet with BatchNorm, batch 64, 3x32x32 inputs, Adam."""
    nn = m.nn

    def block(i, o):
        return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU()]
    model = nn.Sequential(*block(3, 32), *block(32, 32), nn.MaxPool2d(2),
                          *block(32, 64), *block(64, 64), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(64 * 8 * 8, 10))
    x, y = m.randn(64, 3, 32, 32), m.randint(0, 10, (64,))
    opt = m.optim.Adam(model.parameters(), lr=1e-3)
    return model, opt, lambda: nn.functional.cross_entropy(model(x), y)


def gpt(m):
    """A small GPT: 2 layers, d=128, 4 heads, seq 64, batch 16, vocab 96, AdamW."""
    nn, F = m.nn, m.nn.functional

    class Block(nn.Module):
        def __init__(self, d, h):
            super().__init__()
            self.h = h
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

        def forward(self, x):
            b, t, d = x.shape
            q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
            q, k, v = (z.view(b, t, self.h, d // self.h).transpose(1, 2) for z in (q, k, v))
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.proj(a.transpose(1, 2).reshape(b, t, d))
            return x + self.mlp(self.ln2(x))

    class GPT(nn.Module):
        def __init__(self, vocab=96, d=128, layers=2, seq=64):
            super().__init__()
            self.tok, self.pos = nn.Embedding(vocab, d), nn.Embedding(seq, d)
            self.blocks = nn.Sequential(*[Block(d, 4) for _ in range(layers)])
            self.ln, self.head = nn.LayerNorm(d), nn.Linear(d, vocab)

        def forward(self, idx):
            x = self.tok(idx) + self.pos(m.arange(idx.shape[1]))
            return self.head(self.ln(self.blocks(x)))

    model = GPT()
    idx, tgt = m.randint(0, 96, (16, 64)), m.randint(0, 96, (16, 64))
    opt = m.optim.AdamW(model.parameters(), lr=3e-4)
    return model, opt, lambda: F.cross_entropy(model(idx).reshape(-1, 96), tgt.reshape(-1))


def lstm(m):
    """A 2-layer LSTM language model: vocab 96, embed 128, hidden 256, seq 64, batch 16."""
    nn, F = m.nn, m.nn.functional

    class LM(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(96, 128)
            self.rnn = nn.LSTM(128, 256, num_layers=2, batch_first=True)
            self.head = nn.Linear(256, 96)

        def forward(self, idx):
            return self.head(self.rnn(self.emb(idx))[0])

    model = LM()
    idx, tgt = m.randint(0, 96, (16, 64)), m.randint(0, 96, (16, 64))
    opt = m.optim.Adam(model.parameters(), lr=1e-3)
    return model, opt, lambda: F.cross_entropy(model(idx).reshape(-1, 96), tgt.reshape(-1))


def run_one(framework, name, seconds):
    if framework == "torch":
        import torch as m
    else:
        sys.path.insert(0, ROOT)
        import ember as m
    m.manual_seed(0)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    model, opt, loss_fn = globals()[name](m)

    def step():
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        opt.step()
        return loss
    for _ in range(2):
        step()
    times = []
    t_end = time.perf_counter() + seconds
    while time.perf_counter() < t_end or len(times) < 3:
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base
    return {"ms": float(np.min(times)) * 1e3, "median_ms": float(np.median(times)) * 1e3,
            "peak_mb": peak / 1024.0, "steps": len(times)}


def main(names, seconds=4.0):
    print("\nTraining steps (forward + backward + optimizer), min over steps, 2 CPU threads")
    print(f"{'workload':10s} {'ember ms':>10s} {'torch ms':>10s} {'ember/torch':>12s} "
          f"{'ember MB':>9s} {'torch MB':>9s}")
    rows = {}
    for name in names:
        res = {}
        for fw in ("ember", "torch"):
            p = subprocess.run([sys.executable, __file__, "--one", fw, name, str(seconds)],
                               capture_output=True, text=True, timeout=900)
            if p.returncode != 0:
                res[fw] = None
                print(f"{name}: {fw} failed:\n{p.stderr[-2000:]}")
                continue
            res[fw] = json.loads(p.stdout.strip().splitlines()[-1])
        rows[name] = res
        e, t = res.get("ember"), res.get("torch")
        if e and t:
            print(f"{name:10s} {e['ms']:10.2f} {t['ms']:10.2f} {e['ms'] / t['ms']:11.2f}x "
                  f"{e['peak_mb']:9.1f} {t['peak_mb']:9.1f}", flush=True)
    return rows


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--one":
        print(json.dumps(run_one(sys.argv[2], sys.argv[3], float(sys.argv[4]))))
    else:
        main([a for a in sys.argv[1:]] or WORKLOADS)
