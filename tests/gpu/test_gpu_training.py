"""The training steps of benchmarks/training.py (MLP, convnet, GPT, LSTM: the workloads the
GPU benchmark times) on the GPU: from the same seed, a few steps on ``cuda`` give the losses
the same steps give on the CPU, and parameters, gradients and optimizer state stay on the
GPU."""

import pytest

import ember
from benchmarks import training
from tests.gpu._common import require_gpu

require_gpu()
pytestmark = pytest.mark.gpu


class DrawnOnCpu:
    """``ember`` whose ``randn``/``randint`` draw on the CPU, then move to ``device``: the
    CPU and GPU runs see the same data."""

    def __init__(self, device):
        self._device = device

    def __getattr__(self, name):
        return getattr(ember, name)

    def randn(self, *size):
        return ember.randn(*size).to(self._device)

    def randint(self, low, high, size):
        return ember.randint(low, high, size).to(self._device)

    def arange(self, *args, **kw):
        return ember.arange(*args, **kw).to(self._device)


def _train(name, device, steps=3):
    ember.manual_seed(0)
    model, _, loss_fn = getattr(training, name)(DrawnOnCpu(device))
    model.to(device)  # a module moves its parameters in place: the optimizer keeps them
    opt = ember.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, model, opt


@pytest.mark.parametrize("name", training.WORKLOADS)
def test_training_steps_match_cpu(name):
    cpu, _, _ = _train(name, "cpu")
    gpu, model, opt = _train(name, "cuda")
    assert all(p.is_cuda and p.grad.is_cuda for p in model.parameters())
    assert all(v.is_cuda for st in opt.state.values() for v in st.values()
               if isinstance(v, ember.Tensor) and v.dim() > 0)
    assert gpu == pytest.approx(cpu, rel=2e-3), (gpu, cpu)
