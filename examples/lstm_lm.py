"""A 2-layer LSTM character language model on ``examples/data/corpus.txt``.

Target: training loss below 1.2 nats per character.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

import ember  # noqa: E402
from ember import nn  # noqa: E402
import ember.nn.functional as F  # noqa: E402
from examples._common import parse_args, fit  # noqa: E402
from examples.char_gpt import load_corpus, batches  # noqa: E402


class LSTMLM(nn.Module):
    """Embedding -> LSTM (``layers`` deep, dropout between) -> linear over the vocabulary."""

    def __init__(self, vocab, d=128, hidden=256, layers=2, dropout=0.1):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.lstm = nn.LSTM(d, hidden, num_layers=layers, batch_first=True, dropout=dropout)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, idx, state=None):
        out, state = self.lstm(self.emb(idx), state)
        return self.head(out), state


def main():
    args = parse_args("LSTM language model", epochs=6, steps=50, batch_size=16, lr=0.005)
    ember.manual_seed(args.seed)
    _, chars, data = load_corpus()
    model = LSTMLM(len(chars))
    opt = ember.optim.Adam(model.parameters(), lr=args.lr)

    def step(batch):
        x, y = batch
        logits, _ = model(x)
        loss = F.cross_entropy(logits.reshape(-1, len(chars)), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item(), x.numel()

    losses = fit(args, dict(model=model, opt=opt),
                 lambda e: batches(data, 64, args.batch_size, args.steps, args.seed * 1000 + e),
                 step, lambda: "", "LSTM language model")
    final = float(np.mean(losses[-args.steps:]))
    print(f"final loss {final:.3f} nats/char (target < 1.2)")
    return final


if __name__ == "__main__":
    main()
