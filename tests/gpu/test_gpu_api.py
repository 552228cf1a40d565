"""The API outside the op table on the GPU: tensor protocol (repr, item, tolist, iteration),
indexing and in-place writes, sorting/unique/search, random ops, nn.utils, distributions,
autograd (double backward, functional, checkpoint, gradcheck), save/load, and DLPack-free
host round trips. Each case runs on ``cpu`` and ``cuda`` from the same NumPy inputs and
the results must agree (random cases check their properties instead)."""

import copy
import io

import numpy as np
import pytest

import ember
from tests.gpu._common import close, host, require_gpu

require_gpu()
pytestmark = pytest.mark.gpu

R = np.random.default_rng(0)
A = R.standard_normal((4, 5))
B = R.standard_normal((5, 3))
V = R.standard_normal(7)
IDX = np.array([3, 0, 3, 1])
MASK = A > 0
GRID = R.uniform(-1, 1, (1, 3, 2, 2))
CTC = R.standard_normal((6, 2, 4))
SEQ = R.standard_normal((3, 5, 3))
F = ember.nn.functional


def t(a, dev, grad=False):
    return ember.tensor(a, device=dev, requires_grad=grad)


def _setitem(dev):
    x = t(A, dev)
    x[1] = 5.0
    x[t(MASK, dev)] = t(np.arange(MASK.sum(), dtype=np.float64), dev)
    x[:, 2] = t(V[:4], dev)
    x[t(IDX, dev), 1] = -1.0
    x[..., -1] += 1.0
    return x


def _inplace(dev):
    x = t(A, dev)
    x.index_put_((t(IDX, dev),), t(np.ones(5), dev), accumulate=True)
    x.masked_fill_(t(MASK, dev), 0.5)
    x.scatter_add_(1, t(np.array([[0, 0], [1, 1], [4, 4], [2, 0]]), dev), t(A[:, :2], dev))
    x.index_add_(0, t(np.array([2, 2]), dev), t(A[:2], dev), alpha=2.0)
    x.clamp_(-1, 1).mul_(3).add_(t(V[:5], dev))
    return x


def _grads(dev):
    x = t(A, dev, grad=True)
    y = (x.sin() * x).sum()
    (g,) = ember.autograd.grad(y, x, create_graph=True)
    (gg,) = ember.autograd.grad((g ** 2).sum(), x)
    return g.detach(), gg


def _functional(dev):
    x = t(V[:3], dev)
    jac = ember.autograd.functional.jacobian(lambda v: v.exp() * v.sum(), x)
    hes = ember.autograd.functional.hessian(lambda v: (v ** 3).sum() * v[0], x)
    return jac, hes


def _checkpoint(dev):
    ember.manual_seed(0)
    lin = ember.nn.Linear(5, 5).double().to(dev)
    x = t(A, dev, grad=True)
    y = ember.utils.checkpoint.checkpoint(lambda v: lin(v).tanh(), x, use_reentrant=False)
    y.sum().backward()
    return y, x.grad, lin.weight.grad


def _clip_and_norms(dev):
    ember.manual_seed(0)
    lin = ember.nn.Linear(5, 3).double()
    lin.to(dev)
    lin(t(A, dev)).pow(2).sum().backward()
    n = ember.nn.utils.clip_grad_norm_(lin.parameters(), 0.5)
    ember.nn.utils.clip_grad_value_(lin.parameters(), 0.01)
    return n, lin.weight.grad, lin.bias.grad


def _weight_norm(dev):
    ember.manual_seed(0)
    lin = ember.nn.utils.weight_norm(ember.nn.Linear(5, 3).double()).to(dev)
    return lin(t(A, dev))


def _packed_lstm(dev):
    ember.manual_seed(0)
    lstm = ember.nn.LSTM(3, 4, batch_first=True).double().to(dev)
    x = t(SEQ, dev)
    packed = ember.nn.utils.rnn.pack_padded_sequence(x, [5, 3, 2], batch_first=True)
    out, (h, c) = lstm(packed)
    padded, lengths = ember.nn.utils.rnn.pad_packed_sequence(out, batch_first=True)
    return padded, h, c


def _distributions(dev):
    D = ember.distributions
    loc, scale = t(V[:3], dev), t(np.abs(V[3:6]) + 0.5, dev)
    x = t(V[:3] + 0.1, dev)
    probs = t(np.array([0.2, 0.5, 0.3]), dev)
    return (D.Normal(loc, scale).log_prob(x), D.Normal(loc, scale).entropy(),
            D.Categorical(probs=probs).log_prob(t(np.array([0, 2, 1]), dev)),
            D.Bernoulli(probs=probs).log_prob(t(np.array([1.0, 0.0, 1.0]), dev)),
            D.kl_divergence(D.Normal(loc, scale), D.Normal(x, scale)),
            D.Dirichlet(scale).log_prob(probs), D.Gamma(scale, scale).log_prob(scale))


def _save_load(dev):
    buf = io.BytesIO()
    sd = {"w": t(A, dev), "i": t(IDX, dev)}
    ember.save(sd, buf)
    buf.seek(0)
    back = ember.load(buf)
    assert back["w"].device.type == dev.split(":")[0]
    return back["w"], back["i"]


CASES = {
    "setitem": _setitem,
    "inplace": _inplace,
    "getitem": lambda dev: (t(A, dev)[t(MASK, dev)], t(A, dev)[t(IDX, dev)],
                            t(A, dev)[1:3, t(np.array([4, 0]), dev)], t(A, dev)[..., None, 2]),
    "sort_unique": lambda dev: (*t(V, dev).sort(stable=True), t(IDX, dev).unique(
        return_inverse=True, return_counts=True)[1], ember.unique_consecutive(t(IDX, dev)),
        t(A, dev).topk(2, dim=1)[0], t(A, dev).kthvalue(2, 0)[1], t(A, dev).median(1)[0]),
    "search": lambda dev: (ember.searchsorted(t(np.sort(V), dev), t(A, dev)),
                           ember.bucketize(t(A, dev), t(np.sort(V), dev), right=True),
                           ember.bincount(t(IDX, dev), minlength=6),
                           ember.histc(t(A, dev), bins=5, min=-2, max=2),
                           t(A, dev).nonzero(), ember.argwhere(t(MASK, dev))),
    "shape": lambda dev: (ember.einsum("ij,jk->ik", t(A, dev), t(B, dev)),
                          ember.kron(t(A[:2, :2], dev), t(B[:2], dev)),
                          ember.cdist(t(A, dev), t(A[:2], dev)),
                          ember.repeat_interleave(t(V[:3], dev), t(np.array([1, 0, 2]), dev)),
                          t(A, dev).roll(2, 1),
                          ember.rot90(t(A, dev)), ember.diag_embed(t(A[:2], dev)),
                          *ember.meshgrid(t(V[:2], dev), t(V[:3], dev), indexing="ij")),
    "dtypes": lambda dev: (t(IDX, dev) // 2, t(IDX, dev) / 2, t(A, dev).half().float(),
                           t(IDX, dev) & 1, t(MASK, dev).sum(), t(A, dev) * t(2.0, "cpu"),
                           t(A, dev).to(ember.int32), t(A, dev).new_zeros(2),
                           ember.zeros_like(t(IDX, dev)), t(A, dev).nan_to_num(),
                           ember.isclose(t(A, dev), t(A, dev) + 1e-12)),
    "complex": lambda dev: ((t(A, dev) + 1j * t(A, dev).flip(0)).angle(),
                            (t(A, dev) * 1j).abs(), ember.polar(t(A, dev).abs(), t(A, dev))),
    "spatial": lambda dev: (F.interpolate(t(A[None, None], dev), scale_factor=2,
                                          mode="bilinear", align_corners=False),
                            F.grid_sample(t(A[None, None], dev), t(GRID, dev),
                                          align_corners=True),
                            F.pad(t(A[None], dev), (1, 2), mode="replicate"),
                            F.unfold(t(A[None, None], dev), 2),
                            F.embedding_bag(t(IDX, dev), t(B, dev), t(np.array([0, 2]), dev),
                                            mode="max"),
                            F.one_hot(t(IDX, dev), 5)),
    "losses": lambda dev: (F.ctc_loss(t(CTC, dev).log_softmax(2),
                                      t(np.array([[1, 2], [3, 3]]), dev), [6, 5], [2, 2]),
                           F.nll_loss(t(A, dev).log_softmax(1), t(np.array([0, 4, -100, 2]),
                                                                  dev),
                                      weight=t(np.arange(1.0, 6.0), dev))),
    "grads": _grads,
    "functional": _functional,
    "checkpoint": _checkpoint,
    "clip": _clip_and_norms,
    "weight_norm": _weight_norm,
    "packed_lstm": _packed_lstm,
    "distributions": _distributions,
    "save_load": _save_load,
}


def _flat(out):
    out = out if isinstance(out, tuple) else (out,)
    res = []
    for o in out:
        res += list(o) if isinstance(o, (tuple, list)) else [o]
    return res


@pytest.mark.parametrize("name", list(CASES))
def test_matches_cpu(name):
    cpu, gpu = _flat(CASES[name]("cpu")), _flat(CASES[name]("cuda"))
    assert len(cpu) == len(gpu)
    for k, (g, c) in enumerate(zip(gpu, cpu)):
        close(g, c, rtol=1e-6, atol=1e-9, msg=f"{name} result {k}")


def test_tensor_protocol():
    x = t(A, "cuda")
    c = t(A, "cpu")
    assert repr(x).startswith(repr(c).split("dtype")[0].rstrip()) and "device='cuda:0'" in repr(x)
    assert x.tolist() == c.tolist() and x[1, 2].item() == c[1, 2].item()
    assert float(x[0, 0]) == float(c[0, 0]) and int(t(IDX, "cuda")[0]) == 3
    assert bool(x[0, 0] > 0) == bool(c[0, 0] > 0) and len(x) == 4
    assert [r.tolist() for r in x] == [r.tolist() for r in c]
    assert f"{x[0, 0]:.3f}" == f"{c[0, 0]:.3f}"
    assert list(range(t(IDX, "cuda")[0])) == [0, 1, 2]  # __index__ of a 0-d integer tensor
    assert copy.deepcopy(x).is_cuda and x.clone().is_cuda
    assert np.array_equal(x.cpu().numpy(), A) and np.array_equal(x.numpy(force=True), A)
    with pytest.raises(TypeError, match="cuda"):
        x.numpy()
    ember.testing.assert_close(x, t(A, "cuda"))


OUT_OF_RANGE = {
    "getitem": lambda dev: t(A, dev)[t(np.array([0, 4]), dev)],
    "getitem_dim1": lambda dev: t(A, dev)[:, t(np.array([-6]), dev)],
    "setitem": lambda dev: t(A, dev).__setitem__(t(np.array([9]), dev), 1.0),
    "index_put_": lambda dev: t(A, dev).index_put_((t(np.array([7]), dev),), t(1.0, dev)),
    "index_select": lambda dev: t(A, dev).index_select(1, t(np.array([5]), dev)),
    "gather": lambda dev: t(A, dev).gather(1, t(np.array([[5]]), dev)),
    "scatter_add": lambda dev: t(A, dev).scatter_add(0, t(np.array([[4]]), dev), t(A, dev)),
    "take": lambda dev: t(A, dev).take(t(np.array([20]), dev)),
    "take_along_dim": lambda dev: ember.take_along_dim(t(A, dev), t(np.array([[5]]), dev), 1),
    "index_add": lambda dev: t(A, dev).index_add(0, t(np.array([4]), dev), t(A[:1], dev)),
    "embedding": lambda dev: F.embedding(t(np.array([5]), dev), t(B, dev)),
    "nll_loss": lambda dev: F.nll_loss(t(A, dev), t(np.array([0, 5, 1, 1]), dev)),
    "cross_entropy": lambda dev: F.cross_entropy(t(A, dev), t(np.array([0, 1, 9, 1]), dev)),
    "one_hot": lambda dev: F.one_hot(t(np.array([0, 3]), dev), 3),
}


@pytest.mark.parametrize("name", list(OUT_OF_RANGE))
def test_out_of_range_indices_raise_on_the_gpu(name):
    """CuPy does not bounds-check integer-array indices (they wrap around), so every op
    that takes indices must check them itself: the GPU raises what the CPU raises."""
    with pytest.raises((IndexError, RuntimeError)) as cpu:
        OUT_OF_RANGE[name]("cpu")
    with pytest.raises(type(cpu.value)) as gpu:
        OUT_OF_RANGE[name]("cuda")
    assert str(gpu.value) == str(cpu.value)


def test_random_ops_on_the_gpu():
    ember.manual_seed(3)
    a = ember.rand(1000, device="cuda")
    assert a.is_cuda and 0 <= a.min().item() and a.max().item() < 1
    x = ember.empty(1000, device="cuda")
    x.normal_(2.0, 0.5)
    assert 1.9 < x.mean().item() < 2.1
    x.uniform_(-1, 1).exponential_()
    assert x.min().item() > 0
    p = ember.randperm(50, device="cuda")
    assert p.is_cuda and sorted(p.tolist()) == list(range(50))
    m = ember.multinomial(ember.tensor([0.0, 1.0, 3.0], device="cuda"), 200, replacement=True)
    assert m.is_cuda and set(m.tolist()) <= {1, 2}
    b = ember.bernoulli(ember.full((500,), 0.25, device="cuda"))
    assert b.is_cuda and 0.15 < b.mean().item() < 0.35
    r = ember.randint(3, 9, (100,), device="cuda")
    assert r.dtype is ember.int64 and 3 <= r.min().item() and r.max().item() < 9
    d = ember.distributions.Normal(ember.zeros(3, device="cuda"), 1.0).rsample((5,))
    assert d.is_cuda and tuple(d.shape) == (5, 3)
    ember.cuda.manual_seed(11)
    s1 = ember.randn(4, device="cuda").tolist()
    ember.cuda.manual_seed(11)
    assert ember.randn(4, device="cuda").tolist() == s1


def test_checkpoint_replays_cuda_dropout_masks():
    lin = ember.nn.Linear(5, 5).double().cuda()
    grads = []
    for use_checkpoint in (False, True):
        ember.manual_seed(5)
        x = t(A, "cuda", grad=True)

        def f(v):
            return F.dropout(lin(v), 0.5, training=True).tanh()
        y = ember.utils.checkpoint.checkpoint(f, x, use_reentrant=False) if use_checkpoint \
            else f(x)
        y.sum().backward()
        grads.append(x.grad.cpu().numpy())
    np.testing.assert_allclose(grads[1], grads[0])


def test_gradcheck_on_the_gpu():
    x = t(V[:4], "cuda", grad=True)
    assert ember.autograd.gradcheck(lambda v: (v.tanh() * v.cumsum(0)).sin(), (x,))
    assert ember.autograd.gradgradcheck(lambda v: v.exp() * v.sum(), (x,))


def test_host_values_helper_widens_half():
    assert host(t(A, "cuda").half()).dtype == np.float64
