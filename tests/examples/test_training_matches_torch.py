"""The same models, from the same NumPy-initialised weights, trained in ember and in
PyTorch on the same batches: the loss trajectories agree step by step."""

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.slow


def _copy_weights(src, dst):
    """Give both models the same weights (NumPy in between), in parameter order."""
    sp, dp = list(src.parameters()), list(dst.parameters())
    assert [tuple(p.shape) for p in sp] == [tuple(p.shape) for p in dp]
    rng = np.random.default_rng(0)
    for a, b in zip(sp, dp):
        w = (rng.standard_normal(tuple(a.shape)) * 0.2).astype(np.float32)
        with ember.no_grad():
            a.copy_(ember.tensor(w))
        with torch.no_grad():
            b.copy_(torch.tensor(w))


def _mlp(m):
    nn = m.nn
    return nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 64), nn.Tanh(),
                         nn.Linear(64, 5))


def _convnet(m):
    nn = m.nn
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 5))


class _LSTMHead:
    """An LSTM classifier over sequences, built from either framework's nn."""

    def __new__(cls, m):
        nn = m.nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.rnn = nn.LSTM(6, 16, num_layers=2, batch_first=True)
                self.head = nn.Linear(16, 5)

            def forward(self, x):
                out, _ = self.rnn(x)
                return self.head(out[:, -1])
        return Net()


CASES = {
    "mlp": (_mlp, (16, 20), "sgd"),
    "convnet": (_convnet, (8, 1, 8, 8), "adam"),
    "lstm": (_LSTMHead, (8, 7, 6), "adam"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_loss_trajectories_agree(name):
    build, xshape, opt_name = CASES[name]
    em, tm = build(ember), build(torch)
    _copy_weights(em, tm)

    def make_opt(m, model):
        if opt_name == "sgd":
            return m.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        return m.optim.Adam(model.parameters(), lr=1e-3)
    eo, to = make_opt(ember, em), make_opt(torch, tm)
    rng = np.random.default_rng(1)
    le, lt = [], []
    for _ in range(50):
        x = rng.standard_normal(xshape).astype(np.float32)
        y = rng.integers(0, 5, xshape[0])
        for m, model, opt, out in ((ember, em, eo, le), (torch, tm, to, lt)):
            loss = m.nn.functional.cross_entropy(model(m.tensor(x)), m.tensor(y))
            opt.zero_grad()
            loss.backward()
            opt.step()
            out.append(loss.item())
    np.testing.assert_allclose(le, lt, rtol=1e-4, atol=1e-6)
