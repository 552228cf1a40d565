"""Module, Parameter and containers: registration, state dicts, conversions, hooks, repr."""

import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import ember
from ember import nn

torch = pytest.importorskip("torch")


def _np(t):
    return t.detach().numpy(force=True) if isinstance(t, ember.Tensor) else t.detach().numpy()


def _msg(e):
    return str(e.value).replace("torch.nn.Parameter", "NN_PARAM").replace(
        "ember.nn.Parameter", "NN_PARAM").replace("torch", "ember")


class Net:
    """The same small model in both frameworks: nested modules, a buffer, shared weights."""

    @staticmethod
    def build(m):
        class Block(m.nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = m.nn.Linear(4, 4)
                self.bn = m.nn.BatchNorm1d(4)
                self.register_buffer("scale", m.ones(4))
                self.register_buffer("tmp", m.zeros(1), persistent=False)

            def forward(self, x):
                return self.bn(self.fc(x)) * self.scale

        class Model(m.nn.Module):
            def __init__(self):
                super().__init__()
                self.block = Block()
                self.head = m.nn.Sequential(m.nn.ReLU(), m.nn.Linear(4, 2))
                self.tied = self.head[1]
                self.extra = m.nn.Parameter(m.zeros(3))

            def forward(self, x):
                return self.head(self.block(x)).sum() + self.extra.sum()
        return Model()


# -- Parameter ---------------------------------------------------------------------------------
def test_parameter_basics():
    data = ember.tensor([1.0, 2.0])
    p = nn.Parameter(data)
    assert isinstance(p, ember.Tensor) and isinstance(p, nn.Parameter)
    assert p.requires_grad and p.is_leaf and p.grad_fn is None
    assert repr(p) == "Parameter containing:\ntensor([1., 2.], requires_grad=True)"
    data[0] = 5.0  # shares memory
    assert p[0].item() == 5.0
    assert not nn.Parameter(data, requires_grad=False).requires_grad
    assert nn.Parameter().shape == (0,)
    y = (p * 2 + p).sum()  # ops accept parameters, results are plain tensors
    assert type(y) is ember.Tensor
    y.backward()
    np.testing.assert_allclose(p.grad.numpy(), [3.0, 3.0])
    assert type(p.detach()) is ember.Tensor and type(p.data) is ember.Tensor


def test_parameter_copy_and_pickle():
    p = nn.Parameter(ember.tensor([1.0, 2.0]))
    p.grad = ember.tensor([0.5, 0.5])
    q = copy.deepcopy(p)
    assert type(q) is nn.Parameter and q.requires_grad and q is not p
    np.testing.assert_array_equal(_np(q), _np(p))
    np.testing.assert_array_equal(q.grad.numpy(), p.grad.numpy())
    r = pickle.loads(pickle.dumps(p))
    assert type(r) is nn.Parameter and r.requires_grad
    np.testing.assert_array_equal(_np(r), _np(p))


def test_buffer_marker():
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.b = nn.Buffer(ember.ones(2))
            self.c = nn.Buffer(ember.ones(1), persistent=False)
    m = M()
    assert [n for n, _ in m.named_buffers()] == ["b", "c"]
    assert list(m.state_dict()) == ["b"]


def test_uninitialized_parameter():
    p = nn.UninitializedParameter()
    with pytest.raises(RuntimeError, match="uninitialized parameter"):
        p.shape
    p.materialize((2, 3))
    assert type(p) is nn.Parameter and p.shape == (2, 3) and p.requires_grad


# -- registration --------------------------------------------------------------------------------
def test_named_members_match_torch():
    em, tm = Net.build(ember), Net.build(torch)
    for fn in ("named_parameters", "named_buffers", "named_modules", "named_children"):
        assert [n for n, _ in getattr(em, fn)()] == [n for n, _ in getattr(tm, fn)()], fn
    kw = dict(prefix="root", remove_duplicate=False)
    assert [n for n, _ in em.named_parameters(**kw)] == [n for n, _ in tm.named_parameters(**kw)]
    assert [n for n, _ in em.named_modules(prefix="m", remove_duplicate=False)] == \
        [n for n, _ in tm.named_modules(prefix="m", remove_duplicate=False)]
    assert [n for n, _ in em.named_parameters(recurse=False)] == ["extra"]
    assert len(list(em.parameters())) == len(list(tm.parameters()))
    assert len(list(em.buffers())) == len(list(tm.buffers()))
    assert len(list(em.modules())) == len(list(tm.modules()))
    assert len(list(em.children())) == len(list(tm.children()))


def test_setattr_routing_and_delattr():
    m = nn.Module()
    m.w = nn.Parameter(ember.ones(2))
    m.sub = nn.Linear(2, 2)
    m.register_buffer("buf", ember.zeros(2))
    m.plain = 3
    assert "w" in m._parameters and "sub" in m._modules and "buf" in m._buffers
    assert "w" not in m.__dict__ and m.plain == 3
    m.buf = ember.ones(2)  # stays a buffer
    assert m._buffers["buf"] is m.buf
    m.w = None
    assert m._parameters["w"] is None and m.w is None
    m.w = nn.Parameter(ember.ones(1))
    m.sub = nn.Identity()
    assert isinstance(m.sub, nn.Identity)
    m.sub = nn.Parameter(ember.ones(1))  # re-assignment moves it between registries
    assert "sub" in m._parameters and "sub" not in m._modules
    for name in ("w", "buf", "sub", "plain"):
        delattr(m, name)
        assert not hasattr(m, name)
    assert "w" not in dir(m)
    m.p = nn.Parameter(ember.ones(1))
    assert "p" in dir(m)


@pytest.mark.parametrize("action", [
    lambda m, mod: setattr(mod.Linear(2, 2), "weight", m.ones(2, 2)),
    lambda m, mod: mod.Module().register_parameter("a.b", None),
    lambda m, mod: mod.Module().register_parameter("", None),
    lambda m, mod: mod.Module().register_parameter(1, None),
    lambda m, mod: mod.Module().register_parameter("x", m.ones(1)),
    lambda m, mod: mod.Module().register_buffer("a.b", None),
    lambda m, mod: mod.Module().register_buffer("x", 3),
    lambda m, mod: mod.Module().add_module("x", 3),
    lambda m, mod: mod.Module().add_module("a.b", mod.ReLU()),
    lambda m, mod: mod.Linear(2, 2).register_buffer("weight", m.ones(1)),
    lambda m, mod: mod.Linear(2, 2).get_submodule("foo"),
    lambda m, mod: mod.Sequential(mod.Linear(2, 2)).get_submodule("0.weight"),
    lambda m, mod: mod.Sequential(mod.Linear(2, 2)).get_parameter("0.nope"),
    lambda m, mod: mod.Sequential(mod.BatchNorm1d(2)).get_parameter("0.running_mean"),
    lambda m, mod: mod.Sequential(mod.BatchNorm1d(2)).get_buffer("0.weight"),
    lambda m, mod: mod.Linear(2, 2).nope,
    lambda m, mod: mod.Module().forward(),
    lambda m, mod: mod.Module().train("yes"),
])
def test_registration_errors_match_torch(action):
    with pytest.raises(Exception) as te:
        action(torch, torch.nn)
    with pytest.raises(type(te.value)) as ee:
        action(ember, nn)
    assert _msg(ee) == _msg(te)


def test_assign_before_init():
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(ember.ones(1))
    with pytest.raises(AttributeError, match="cannot assign parameters before Module.__init__"):
        Bad()


def test_non_leaf_parameter_rejected():
    w = ember.ones(2, requires_grad=True)
    with pytest.raises(TypeError):
        nn.Module().register_parameter("w", w * 2)


def test_get_submodule_parameter_buffer():
    em = Net.build(ember)
    assert em.get_submodule("block.fc") is em.block.fc
    assert em.get_submodule("") is em
    assert em.get_parameter("block.fc.weight") is em.block.fc.weight
    assert em.get_buffer("block.bn.running_mean") is em.block.bn.running_mean
    em.set_submodule("head.0", nn.Tanh())
    assert isinstance(em.head[0], nn.Tanh)


# -- state dict ----------------------------------------------------------------------------------
def test_state_dict_matches_torch_and_roundtrips():
    em, tm = Net.build(ember), Net.build(torch)
    assert list(em.state_dict()) == list(tm.state_dict())
    sd = em.state_dict()
    assert isinstance(sd, OrderedDict)
    assert all(not v.requires_grad for v in sd.values())
    assert em.state_dict(keep_vars=True)["extra"] is em.extra
    assert list(em.state_dict(prefix="m."))[0] == "m.extra"
    # detached tensors share memory with the module
    sd["extra"][0] = 7.0
    assert em.extra[0].item() == 7.0
    res = em.load_state_dict({k: ember.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    assert res.missing_keys == [] and res.unexpected_keys == []
    assert repr(res) == "<All keys matched successfully>"
    for k, v in tm.state_dict().items():
        np.testing.assert_array_equal(_np(em.state_dict()[k]), v.numpy())


def test_load_state_dict_errors_match_torch_and_leave_module_unchanged():
    em, tm = ember.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    before = {k: _np(v).copy() for k, v in em.state_dict().items()}
    bad = {"weight": np.ones((2, 3)), "bias": np.ones(5)}
    with pytest.raises(RuntimeError) as te:
        tm.load_state_dict({k: torch.tensor(v) for k, v in bad.items()})
    with pytest.raises(RuntimeError) as ee:
        em.load_state_dict({k: ember.tensor(v) for k, v in bad.items()})
    assert _msg(ee) == _msg(te)
    assert str(ee.value).startswith("Error(s) in loading state_dict for Linear:\n\tsize "
                                    "mismatch for bias")
    for k, v in em.state_dict().items():
        np.testing.assert_array_equal(_np(v), before[k])  # the good weight was not copied
    extra = {"weight": np.ones((2, 3)), "foo": np.ones(1)}
    with pytest.raises(RuntimeError) as te:
        tm.load_state_dict({k: torch.tensor(v) for k, v in extra.items()})
    with pytest.raises(RuntimeError) as ee:
        em.load_state_dict({k: ember.tensor(v) for k, v in extra.items()})
    assert _msg(ee) == _msg(te)
    tr = tm.load_state_dict({k: torch.tensor(v) for k, v in extra.items()}, strict=False)
    er = em.load_state_dict({k: ember.tensor(v) for k, v in extra.items()}, strict=False)
    assert er.missing_keys == tr.missing_keys and er.unexpected_keys == tr.unexpected_keys
    np.testing.assert_array_equal(_np(em.weight), 1.0)


def test_load_state_dict_assign_and_dtype_cast():
    m = nn.Linear(2, 2)
    w = ember.ones(2, 2, dtype=ember.float64)
    m.load_state_dict({"weight": w, "bias": ember.zeros(2)})
    assert m.weight.dtype is ember.float32
    m.load_state_dict({"weight": w, "bias": ember.zeros(2)}, assign=True)
    assert m.weight.dtype is ember.float64 and isinstance(m.weight, nn.Parameter)


def test_extra_state_and_hooks():
    class M(nn.Linear):
        def get_extra_state(self):
            return {"k": 1}

        def set_extra_state(self, state):
            self.loaded = state
    m = M(2, 2)
    sd = m.state_dict()
    assert sd["_extra_state"] == {"k": 1}
    seen = []
    m.register_load_state_dict_post_hook(lambda mod, keys: seen.append(keys))
    m.load_state_dict(sd)
    assert m.loaded == {"k": 1} and len(seen) == 1


# -- modes, grads, conversions -------------------------------------------------------------------
def test_train_eval_requires_grad_zero_grad_apply():
    em = Net.build(ember)
    em.eval()
    assert all(not mod.training for mod in em.modules())
    em.train()
    assert all(mod.training for mod in em.modules())
    em.requires_grad_(False)
    assert all(not p.requires_grad for p in em.parameters())
    em.requires_grad_()
    em(ember.randn(3, 4)).backward()
    assert all(p.grad is not None for p in em.parameters())
    em.zero_grad(set_to_none=False)
    assert all(np.all(p.grad.numpy() == 0) for p in em.parameters())
    em.zero_grad()
    assert all(p.grad is None for p in em.parameters())
    names = []
    assert em.apply(lambda mod: names.append(type(mod).__name__)) is em
    assert names[-1] == "Model" and names[0] == "Linear"


def test_to_converts_in_place():
    m = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    w = m[0].weight
    m[0](ember.ones(1, 2)).sum().backward()
    assert m.double() is m
    assert m[0].weight is w and w.dtype is ember.float64 and w.grad.dtype is ember.float64
    assert m[1].num_batches_tracked.dtype is ember.int64
    assert m[1].running_mean.dtype is ember.float64
    m.to(ember.float32)
    assert w.dtype is ember.float32
    m.half()
    assert w.dtype is ember.float16
    m.to("cpu", dtype=ember.float32)
    assert w.dtype is ember.float32 and m.cpu() is m
    m.type(ember.float64)
    assert m[1].num_batches_tracked.dtype is ember.float64
    with pytest.raises(TypeError, match="floating point or complex"):
        m.to(ember.int32)
    assert m.share_memory() is m


# -- hooks ---------------------------------------------------------------------------------------
def test_forward_hooks():
    m = nn.Linear(2, 2)
    calls = []
    h1 = m.register_forward_pre_hook(lambda mod, args: (args[0] * 0,))
    h2 = m.register_forward_hook(lambda mod, args, out: calls.append("post") or out + 1)
    m.register_forward_hook(lambda mod, args, out: calls.append("first"), prepend=True)
    y = m(ember.ones(1, 2))
    np.testing.assert_allclose(y.detach().numpy(), m.bias.detach().numpy()[None] + 1, rtol=1e-6)
    assert calls == ["first", "post"]
    h1.remove()
    h2.remove()
    with m.register_forward_pre_hook(
            lambda mod, args, kwargs: ((args[0] * 2,), kwargs), with_kwargs=True):
        y2 = m(ember.ones(1, 2))
    np.testing.assert_allclose(y2.detach().numpy(), m(ember.full((1, 2), 2.0)).detach().numpy())
    kw_seen = []
    m.register_forward_hook(lambda mod, args, kwargs, out: kw_seen.append(kwargs),
                            with_kwargs=True)
    m(input=ember.ones(1, 2))
    assert "input" in kw_seen[0]


def test_forward_hook_always_call():
    class Boom(nn.Module):
        def forward(self, x):
            raise ValueError("boom")
    seen = []
    m = Boom()
    m.register_forward_hook(lambda mod, args, out: seen.append(out), always_call=True)
    with pytest.raises(ValueError):
        m(ember.ones(1))
    assert seen == [None]


def test_global_forward_hook():
    seen = []
    h = nn.modules.module.register_module_forward_hook(lambda mod, args, out: seen.append(
        type(mod).__name__))
    try:
        nn.Sequential(nn.ReLU())(ember.ones(1))
    finally:
        h.remove()
    nn.ReLU()(ember.ones(1))
    assert seen == ["ReLU", "Sequential"]


class TwoIn:
    @staticmethod
    def build(m):
        class M(m.nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = m.nn.Linear(3, 2)

            def forward(self, x, y, scale=1.0):
                return self.fc(x) * y * scale, x.sum(1)
        return M()


def _backward_hook_run(m, mod, x_grad, modify):
    torch.manual_seed(0)
    net = TwoIn.build(m)
    if m is ember:
        tnet = TwoIn.build(torch)
        net.load_state_dict({k: ember.tensor(v.detach().numpy())
                             for k, v in tnet.state_dict().items()})
    record = {}

    def hook(module, gin, gout):
        record["gin"] = [None if g is None else _np(g) for g in gin]
        record["gout"] = [None if g is None else _np(g) for g in gout]
        if modify:
            return tuple(None if g is None else g * 2 for g in gin)

    def pre(module, gout):
        record["pre"] = [None if g is None else _np(g) for g in gout]
        if modify:
            return (gout[0] * 3, gout[1])

    net.register_full_backward_hook(hook)
    net.register_full_backward_pre_hook(pre)
    xa = np.arange(6.0).reshape(2, 3) / 7
    x = m.tensor(xa, dtype=m.float32, requires_grad=x_grad)
    y = m.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    a, b = net(x, y, scale=0.5)
    (a.sum() * 2 + (b * b).sum()).backward()
    record["x.grad"] = None if x.grad is None else _np(x.grad)
    record["y.grad"] = _np(y.grad)
    return record


@pytest.mark.parametrize("x_grad", [True, False])
@pytest.mark.parametrize("modify", [False, True])
def test_full_backward_hooks_match_torch(x_grad, modify):
    e = _backward_hook_run(ember, nn, x_grad, modify)
    t = _backward_hook_run(torch, torch.nn, x_grad, modify)
    for key in ("gin", "gout", "pre"):
        assert len(e[key]) == len(t[key]), key
        for a, b in zip(e[key], t[key]):
            assert (a is None) == (b is None), key
            if a is not None:
                np.testing.assert_allclose(a, b, rtol=1e-5, err_msg=key)
    for key in ("x.grad", "y.grad"):
        if t[key] is None:
            assert e[key] is None
        else:
            np.testing.assert_allclose(e[key], t[key], rtol=1e-5, err_msg=key)


def test_backward_hook_no_input_grad():
    m = nn.Linear(2, 1)
    seen = []
    m.register_full_backward_hook(lambda mod, gin, gout: seen.append((gin, gout)))
    with pytest.warns(UserWarning, match="no inputs require gradients"):
        m(ember.ones(3, 2)).sum().backward()
    assert seen[0][0] == (None,) and seen[0][1][0].shape == (3, 1)


def test_backward_hook_grad_input_per_positional_arg():
    class M(nn.Module):
        def forward(self, x, y):
            return x * y
    seen = []
    m = M()
    m.register_full_backward_hook(lambda mod, gin, gout: seen.append(gin))
    m(ember.ones(2, requires_grad=True), 3).sum().backward()
    assert len(seen[0]) == 2 and seen[0][1] is None
    np.testing.assert_allclose(seen[0][0].numpy(), [3.0, 3.0])


# -- repr ----------------------------------------------------------------------------------------
def test_repr_matches_torch():
    assert repr(Net.build(ember)) == repr(Net.build(torch))
    assert repr(nn.Module()) == "Module()"

    def lists(m):
        return m.nn.ModuleList([m.nn.Linear(2, 2), m.nn.Linear(2, 2), m.nn.ReLU(),
                                m.nn.Linear(2, 2)] + [m.nn.Tanh()] * 3)
    assert repr(lists(ember)) == repr(lists(torch))
    assert repr(nn.ModuleList()) == repr(torch.nn.ModuleList())

    def dicts(m):
        return m.nn.ModuleDict({"a": m.nn.ReLU(), "b": m.nn.Sequential(m.nn.Linear(1, 2))})
    assert repr(dicts(ember)) == repr(dicts(torch))

    def plist(m):
        return m.nn.ParameterList([m.nn.Parameter(m.ones(3, 4)), m.ones(2)])
    assert repr(plist(ember)).replace("ember", "torch") == repr(plist(torch))

    def pdict(m):
        return m.nn.ParameterDict({"b": m.nn.Parameter(m.ones(3)), "a": m.ones(2, 2)})
    assert repr(pdict(ember)).replace("ember", "torch") == repr(pdict(torch))


# -- containers ----------------------------------------------------------------------------------
def test_sequential():
    a, b, c = nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1)
    s = nn.Sequential(a, b, c)
    assert len(s) == 3 and s[0] is a and s[-1] is c and list(s) == [a, b, c]
    assert isinstance(s[1:], nn.Sequential) and list(s[1:]) == [b, c]
    assert s(ember.ones(4, 2)).shape == (4, 1)
    s.append(nn.Tanh())
    s.insert(1, nn.Identity())
    assert [type(x).__name__ for x in s] == ["Linear", "Identity", "ReLU", "Linear", "Tanh"]
    assert list(s._modules) == ["0", "1", "2", "3", "4"]
    del s[1]
    assert list(s._modules) == ["0", "1", "2", "3"] and s[1] is b
    assert s.pop(0) is a and len(s) == 3
    s.extend([nn.Sigmoid()])
    s[0] = nn.ELU()
    assert isinstance(s[0], nn.ELU)
    with pytest.raises(IndexError, match="index 9 is out of range"):
        s[9]
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert list(named._modules) == ["fc", "act"] and isinstance(named.fc, nn.Linear)
    assert len(named + nn.Sequential(nn.ReLU())) == 3
    assert len(nn.Sequential(nn.ReLU()) * 3) == 3


def test_module_list_and_dict():
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(ml) == 3 and len(list(ml.parameters())) == 6
    ml.append(nn.ReLU())
    ml.insert(0, nn.Tanh())
    assert isinstance(ml[0], nn.Tanh) and isinstance(ml[-1], nn.ReLU)
    ml += [nn.Sigmoid()]
    assert len(ml) == 6 and isinstance(ml[1:3], nn.ModuleList)
    del ml[0]
    assert list(ml._modules) == [str(i) for i in range(5)]
    assert isinstance(ml.pop(-1), nn.Sigmoid)
    with pytest.raises(TypeError, match="ModuleList.extend should be called with an iterable"):
        ml.extend(nn.ReLU())
    md = nn.ModuleDict({"b": nn.ReLU(), "a": nn.Tanh()})
    assert list(md.keys()) == ["b", "a"] and "a" in md and len(md) == 2
    md["c"] = nn.Linear(1, 1)
    md.update([("d", nn.ReLU())])
    assert list(md) == ["b", "a", "c", "d"]
    assert isinstance(md.pop("a"), nn.Tanh) and len(list(md.parameters())) == 2
    with pytest.raises(ValueError, match="has length 1; 2 is required"):
        md.update([("x",)])
    md.clear()
    assert len(md) == 0


def test_parameter_list_and_dict():
    pl = nn.ParameterList([ember.ones(2), nn.Parameter(ember.zeros(3))])
    assert all(isinstance(p, nn.Parameter) for p in pl) and len(pl) == 2
    pl.append(ember.ones(1))
    assert len(list(nn.Sequential().parameters())) == 0
    holder = nn.Module()
    holder.pl = pl
    assert [n for n, _ in holder.named_parameters()] == ["pl.0", "pl.1", "pl.2"]
    pd = nn.ParameterDict({"w": ember.ones(2)})
    pd["v"] = nn.Parameter(ember.zeros(1))
    assert list(pd.keys()) == ["w", "v"] and isinstance(pd["w"], nn.Parameter)
    assert "v" in pd and len(pd) == 2 and pd.get("nope") is None
    assert [n for n, _ in pd.named_parameters()] == ["w", "v"]
    del pd["w"]
    assert list(pd) == ["v"]
    with pytest.raises(RuntimeError, match="ParameterList should not be called"):
        pl(1)


def test_module_deepcopy_and_pickle():
    em = Net.build(ember)
    cp = copy.deepcopy(em)
    assert cp.tied is cp.head[1] and cp.tied is not em.tied
    for (n1, p1), (n2, p2) in zip(em.named_parameters(), cp.named_parameters()):
        assert n1 == n2 and p1 is not p2 and isinstance(p2, nn.Parameter)
        np.testing.assert_array_equal(_np(p1), _np(p2))
    m = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    m2 = pickle.loads(pickle.dumps(m))
    assert repr(m2) == repr(m) and isinstance(m2[0].weight, nn.Parameter)
    np.testing.assert_array_equal(_np(m2[0].weight), _np(m[0].weight))


def test_batchnorm_loads_old_state_dict_without_batch_count():
    bn = nn.BatchNorm1d(3)
    sd = {k: v for k, v in bn.state_dict().items() if k != "num_batches_tracked"}
    res = bn.load_state_dict(sd)
    assert res.missing_keys == [] and bn.num_batches_tracked.item() == 0
    assert bn.state_dict()._metadata[""]["version"] == 2 and nn.Module._version == 1


def test_parameter_from_non_leaf_and_int():
    x = ember.ones(2, requires_grad=True)
    p = nn.Parameter(x * 2)
    assert p.is_leaf and p.requires_grad and p.grad_fn is None
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(ember.tensor([1, 2]))
    assert not nn.Parameter(ember.tensor([1, 2]), requires_grad=False).requires_grad


def test_lazy_module_copy_and_pickle_before_first_call():
    for clone in (copy.deepcopy, lambda m: pickle.loads(pickle.dumps(m))):
        m = clone(nn.LazyLinear(3))
        assert m(ember.ones(2, 4)).shape == (2, 3) and type(m) is nn.Linear
        assert len(m._forward_pre_hooks) == 0
