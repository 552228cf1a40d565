"""Every layer of tests/nn on the GPU: forward, input and parameter gradients, and buffers,
against the same module (same weights) on the CPU, in float64."""

import copy

import numpy as np
import pytest

import ember
from tests.gpu._common import close, require_gpu

require_gpu()
pytestmark = pytest.mark.gpu

from tests.nn import test_layers, test_loss, test_pooling, test_spatial  # noqa: E402
from tests.nn.test_rnn import CONFIGS as RNN_CONFIGS  # noqa: E402

R = np.random.default_rng(0)


def _compare(make_module, inputs, train=True, seed=0):
    """Build once, copy to the GPU, run both; compare outputs, gradients and buffers."""
    ember.manual_seed(seed)
    cpu_mod = make_module().double()
    gpu_mod = copy.deepcopy(cpu_mod).cuda()
    results = []
    for mod, dev in ((cpu_mod, "cpu"), (gpu_mod, "cuda")):
        mod.train(train)
        xs = [ember.tensor(a, device=dev, requires_grad=a.dtype.kind == "f") for a in inputs]
        y = mod(*xs)
        y = y[0] if isinstance(y, tuple) else y
        if y.requires_grad:
            g = np.random.default_rng(seed).standard_normal(tuple(y.shape))
            y.backward(ember.tensor(g, device=dev).to(y.dtype))
        results.append((y, xs, mod))
    (yc, xc, mc), (yg, xg, mg) = results
    close(yg, yc, msg="forward")
    for i, (a, b) in enumerate(zip(xg, xc)):
        if b.grad is not None:
            close(a.grad, b.grad, rtol=1e-6, atol=1e-8, msg=f"grad of input {i}")
    pc = dict(mc.named_parameters())
    for k, p in mg.named_parameters():
        assert p.is_cuda, k
        if pc[k].grad is not None:
            close(p.grad, pc[k].grad, rtol=1e-6, atol=1e-8, msg=f"grad of {k}")
    bc = dict(mc.named_buffers())
    for k, b in mg.named_buffers():
        close(b, bc[k], msg=f"buffer {k}")


@pytest.mark.parametrize("name", list(test_layers.LAYERS))
def test_layer(name):
    make, inputs = test_layers.LAYERS[name]
    _compare(lambda: make(ember.nn), inputs, train=not name.endswith("_eval"))


@pytest.mark.parametrize("name,args,kwargs,shape", test_pooling._MODULES,
                         ids=[m[0] for m in test_pooling._MODULES])
def test_pooling_module(name, args, kwargs, shape):
    _compare(lambda: getattr(ember.nn, name)(*args, **kwargs), [R.standard_normal(shape)])


@pytest.mark.parametrize("entry", test_spatial._MODULES, ids=[m[0] for m in test_spatial._MODULES])
def test_spatial_module(entry):
    name, args, shape = entry[:3]
    _compare(lambda: getattr(ember.nn, name)(*args), [R.standard_normal(shape)])


CONVS = [("Conv1d", (3, 4, 3), dict(padding=2, padding_mode="reflect"), (2, 3, 9)),
         ("Conv2d", (4, 6, 3), dict(padding=1, groups=2, stride=2), (2, 4, 7, 6)),
         ("Conv3d", (2, 3, 2), dict(padding=1, bias=False), (1, 2, 4, 4, 4)),
         ("ConvTranspose1d", (3, 4, 3), dict(stride=2, padding=1), (2, 3, 5)),
         ("ConvTranspose2d", (4, 2, 3), dict(stride=2, output_padding=1, groups=2),
          (2, 4, 4, 3)),
         ("ConvTranspose3d", (2, 3, 2), dict(stride=2), (1, 2, 3, 3, 3))]


@pytest.mark.parametrize("name,args,kwargs,shape", CONVS, ids=[c[0] for c in CONVS])
def test_conv_module(name, args, kwargs, shape):
    _compare(lambda: getattr(ember.nn, name)(*args, **kwargs), [R.standard_normal(shape)])


@pytest.mark.parametrize("cls,kw", RNN_CONFIGS, ids=[f"{c}{k}" for c, k in RNN_CONFIGS])
def test_recurrent_module(cls, kw):
    _compare(lambda: getattr(ember.nn, cls)(4, 5, num_layers=2, **kw),
             [R.standard_normal((6, 3, 4))])


@pytest.mark.parametrize("name,kw,args", test_loss.MODULES, ids=[m[0] for m in test_loss.MODULES])
def test_loss_module(name, kw, args):
    def make():
        k = {n: ember.tensor(v) if isinstance(v, np.ndarray) else v for n, v in kw.items()}
        return getattr(ember.nn, name)(**k)
    _compare(make, list(args))


def test_transformer_and_attention():
    _compare(lambda: ember.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True),
             [R.standard_normal((2, 5, 8))])
    _compare(lambda: ember.nn.MultiheadAttention(8, 2), [R.standard_normal((5, 2, 8))] * 3)


def test_dropout_runs_on_the_gpu():
    x = ember.ones(1000, device="cuda", requires_grad=True)
    y = ember.nn.functional.dropout(x, 0.3, training=True)
    assert y.is_cuda and 0.5 < (y > 0).float().mean().item() < 0.9
    y.sum().backward()
    assert x.grad.is_cuda
