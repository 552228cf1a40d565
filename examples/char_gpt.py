"""A small character-level GPT trained on ``examples/data/corpus.txt``.

Target: training loss below 1.0 nats per character (the unigram entropy of the corpus
is about 3 nats), then it prints a sample. Causal self-attention is
``F.scaled_dot_product_attention(..., is_causal=True)``.
"""

import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

import ember  # noqa: E402
from ember import nn  # noqa: E402
import ember.nn.functional as F  # noqa: E402
from examples._common import parse_args, fit  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


class Block(nn.Module):
    """Pre-norm transformer block: causal self-attention and an MLP, each residual."""

    def __init__(self, d, heads, dropout):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d),
                                 nn.Dropout(dropout))
        self.dropout = dropout

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                           dropout_p=self.dropout if self.training else 0.0)
        x = x + self.proj(a.transpose(1, 2).reshape(b, t, d))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    """Token and position embeddings, ``layers`` blocks, a final norm and a linear head."""

    def __init__(self, vocab, d=128, layers=2, heads=4, block=64, dropout=0.1):
        super().__init__()
        self.block = block
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(block, d)
        self.blocks = nn.Sequential(*[Block(d, heads, dropout) for _ in range(layers)])
        self.ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab)

    def forward(self, idx):
        t = idx.shape[1]
        x = self.tok(idx) + self.pos(ember.arange(t))
        return self.head(self.ln(self.blocks(x)))

    @ember.no_grad()
    def generate(self, idx, n):
        self.eval()
        for _ in range(n):
            logits = self(idx[:, -self.block:])[:, -1]
            nxt = ember.multinomial(F.softmax(logits, dim=-1), 1)
            idx = ember.cat([idx, nxt], dim=1)
        self.train()
        return idx


def load_corpus():
    text = open(os.path.join(HERE, "data", "corpus.txt")).read()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    return text, chars, np.array([stoi[c] for c in text], dtype=np.int64)


def batches(data, block, batch, steps, seed):
    """``steps`` random (input, next-char target) windows, reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(steps):
        starts = rng.integers(0, len(data) - block - 1, size=batch)
        x = np.stack([data[s:s + block] for s in starts])
        y = np.stack([data[s + 1:s + block + 1] for s in starts])
        out.append((ember.tensor(x), ember.tensor(y)))
    return out


def main():
    args = parse_args("Character-level GPT", epochs=6, steps=60, batch_size=16, lr=0.006)
    ember.manual_seed(args.seed)
    text, chars, data = load_corpus()
    model = GPT(len(chars))
    opt = ember.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    sched = ember.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs * args.steps)

    def step(batch):
        x, y = batch
        loss = F.cross_entropy(model(x).reshape(-1, len(chars)), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        return loss.item(), x.numel()

    losses = fit(args, dict(model=model, opt=opt, sched=sched),
                 lambda e: batches(data, model.block, args.batch_size, args.steps,
                                   args.seed * 1000 + e), step, lambda: "", "char GPT")
    final = float(np.mean(losses[-args.steps:]))
    start = ember.tensor([[chars.index(c) for c in "The "]])
    sample = "".join(chars[i] for i in model.generate(start, 120)[0].tolist())
    print(f"final loss {final:.3f} nats/char (target < 1.0; unigram entropy "
          f"{-sum(p * math.log(p) for p in np.bincount(data) / len(data) if p):.2f})")
    print("sample:", sample.replace("\n", " "))
    return final


if __name__ == "__main__":
    main()
