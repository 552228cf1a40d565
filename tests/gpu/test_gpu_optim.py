"""Every optimizer on the GPU: a few steps on a small model give the parameters, states and
losses the same steps give on the CPU."""

import copy

import numpy as np
import pytest

import ember
from tests.gpu._common import close, require_gpu

require_gpu()
pytestmark = pytest.mark.gpu

OPTIMIZERS = [
    ("SGD", dict(lr=0.1)), ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("Adam", dict(lr=1e-2)), ("Adam", dict(lr=1e-2, amsgrad=True, weight_decay=0.1)),
    ("AdamW", dict(lr=1e-2)), ("Adamax", dict(lr=1e-2)), ("NAdam", dict(lr=1e-2)),
    ("RAdam", dict(lr=1e-2)), ("RMSprop", dict(lr=1e-2, momentum=0.5, centered=True)),
    ("Adagrad", dict(lr=0.1)), ("Adadelta", dict(lr=1.0)), ("LBFGS", dict(lr=0.5)),
]


def _train(model, opt_cls, kw, dev, steps=4):
    opt = getattr(ember.optim, opt_cls)(model.parameters(), **kw)
    rng = np.random.default_rng(0)
    x = ember.tensor(rng.standard_normal((16, 6)), device=dev)
    y = ember.tensor(rng.integers(0, 3, 16), device=dev)
    losses = []
    for _ in range(steps):
        def closure():
            opt.zero_grad()
            loss = ember.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            return loss
        loss = opt.step(closure) if opt_cls == "LBFGS" else (closure(), opt.step())[0]
        losses.append(loss.item())
    return losses, opt


@pytest.mark.parametrize("name,kw", OPTIMIZERS, ids=[f"{n}-{i}" for i, (n, _) in
                                                     enumerate(OPTIMIZERS)])
def test_optimizer_matches_cpu(name, kw):
    ember.manual_seed(0)
    cpu = ember.nn.Sequential(ember.nn.Linear(6, 8), ember.nn.Tanh(), ember.nn.Linear(8, 3))
    cpu = cpu.double()
    gpu = copy.deepcopy(cpu).cuda()
    lc, oc = _train(cpu, name, kw, "cpu")
    lg, og = _train(gpu, name, kw, "cuda")
    np.testing.assert_allclose(lg, lc, rtol=1e-7)
    for (k, pg), pc in zip(gpu.named_parameters(), cpu.parameters()):
        close(pg, pc, rtol=1e-7, atol=1e-10, msg=k)
    sd = og.state_dict()
    ember.optim.__dict__[name](gpu.parameters(), **kw).load_state_dict(sd)  # loads on GPU


def test_lr_scheduler_and_clip_on_gpu():
    p = ember.nn.Parameter(ember.ones(4, device="cuda"))
    opt = ember.optim.SGD([p], lr=1.0)
    sched = ember.optim.lr_scheduler.StepLR(opt, 1, gamma=0.5)
    (p * 10).sum().backward()
    norm = ember.nn.utils.clip_grad_norm_([p], 1.0)
    assert norm.is_cuda and abs(norm.item() - 20.0) < 1e-4
    opt.step()
    sched.step()
    assert opt.param_groups[0]["lr"] == 0.5 and p.is_cuda
