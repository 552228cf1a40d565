"""Mixed precision on the GPU: autocast float16 op dtypes (against torch.autocast("cuda")
when PyTorch has CUDA), and training steps with GradScaler (scales and skipped steps against
torch.amp.GradScaler("cuda") on the same gradients)."""

import numpy as np
import pytest

import ember
from tests.gpu._common import require_gpu

require_gpu()
pytestmark = pytest.mark.gpu

torch = pytest.importorskip("torch")
torch_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="PyTorch without CUDA")

R = np.random.default_rng(0)
X, W, B = R.standard_normal((8, 16)), R.standard_normal((12, 16)), R.standard_normal(12)
IMG, K = R.standard_normal((2, 3, 8, 8)), R.standard_normal((4, 3, 3, 3))
T = R.integers(0, 12, 8)


def _t(m, a, dt="float32"):
    dev = "cuda"
    return m.tensor(a.astype(np.float32) if a.dtype.kind == "f" else a, device=dev).to(
        getattr(m, dt)) if a.dtype.kind == "f" else m.tensor(a, device=dev)


CASES = {
    "linear": lambda m, F: F.linear(_t(m, X), _t(m, W), _t(m, B)),
    "matmul": lambda m, F: _t(m, X) @ _t(m, W).T,
    "conv2d": lambda m, F: F.conv2d(_t(m, IMG), _t(m, K)),
    "softmax_f16": lambda m, F: F.softmax(_t(m, X, "float16"), -1),
    "log_softmax_f16": lambda m, F: F.log_softmax(_t(m, X, "float16"), -1),
    "exp_f16": lambda m, F: _t(m, X, "float16").exp(),
    "sum_f16": lambda m, F: _t(m, X, "float16").sum(),
    "pow_f16": lambda m, F: _t(m, X, "float16") ** 2,
    "layer_norm_f16": lambda m, F: F.layer_norm(_t(m, X, "float16"), (16,)),
    "cross_entropy": lambda m, F: F.cross_entropy(F.linear(_t(m, X), _t(m, W)), _t(m, T)),
    "mse_f16": lambda m, F: F.mse_loss(_t(m, X, "float16"), _t(m, X, "float16")),
    "relu_f16": lambda m, F: F.relu(_t(m, X, "float16")),
    "cat_mixed": lambda m, F: m.cat([_t(m, X, "float16"), _t(m, X)]),
}


@torch_cuda
@pytest.mark.parametrize("name", list(CASES))
def test_autocast_float16_dtypes_match_torch(name):
    outs = []
    for m in (torch, ember):
        with m.autocast("cuda", dtype=m.float16):
            outs.append(CASES[name](m, m.nn.functional))
    want, got = outs
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    assert got.is_cuda
    np.testing.assert_allclose(got.float().numpy(force=True),
                               want.float().cpu().numpy(), rtol=2e-2, atol=2e-2)


@pytest.mark.parametrize("layers", [1, 2])
def test_autocast_float16_training_with_gradscaler(layers):
    ember.manual_seed(0)
    model = (ember.nn.Linear(16, 12) if layers == 1 else ember.nn.Sequential(
        ember.nn.Linear(16, 32), ember.nn.ReLU(), ember.nn.Linear(32, 12))).cuda()
    opt = ember.optim.Adam(model.parameters(), lr=1e-2)
    scaler = ember.amp.GradScaler("cuda")
    x, y = _t(ember, X), _t(ember, T)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        with ember.autocast("cuda"):
            out = model(x)
            assert out.dtype is ember.float16
            loss = ember.nn.functional.cross_entropy(out, y)
        assert loss.dtype is ember.float32
        scaler.scale(loss).backward()
        assert all(p.grad.dtype is ember.float32 for p in model.parameters())
        scaler.step(opt)
        scaler.update()
        losses.append(loss.item())
    assert np.isfinite(losses).all() and losses[-1] < losses[0] * 0.5


@torch_cuda
def test_gradscaler_matches_torch_on_cuda_with_infs():
    logs = []
    for m in (torch, ember):
        p = m.nn.Parameter(m.tensor(np.linspace(-1, 1, 8).astype(np.float32), device="cuda"))
        opt = m.optim.SGD([p], lr=0.1)
        s = m.amp.GradScaler("cuda", init_scale=2.0 ** 10, growth_interval=2)
        log = []
        for k in range(8):
            opt.zero_grad()
            d = np.full(8, 0.5, dtype=np.float32)
            if k in (1, 4):
                d[3] = np.inf
            s.scale((p * m.tensor(d, device="cuda")).sum()).backward()
            s.step(opt)
            s.update()
            log.append((s.get_scale(), p.detach().cpu().numpy().round(6).tolist()
                        if m is torch else p.detach().cpu().numpy().round(6).tolist()))
        logs.append(log)
    assert logs[0] == logs[1]


def test_bfloat16_autocast_when_supported():
    if not ember.cuda.is_bf16_supported():
        with pytest.raises(RuntimeError, match="does not support bfloat16"):
            ember.autocast("cuda", dtype=ember.bfloat16)
        return
    with ember.autocast("cuda", dtype=ember.bfloat16):
        y = ember.nn.functional.linear(_t(ember, X), _t(ember, W))
    assert y.dtype is ember.bfloat16 and y.is_cuda
