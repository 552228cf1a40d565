"""Tensor attributes, conversions, Python protocols and printing, compared with PyTorch."""

import copy
import pickle

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def same(e, t):
    """Same dtype name, shape and values (NaNs equal)."""
    assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_array_equal(np.asarray(e.detach().float().tolist()
                                             if e.dtype is ember.bfloat16 else e.detach()),
                                  t.detach().float().numpy() if t.dtype == torch.bfloat16
                                  else t.detach().numpy())


def both(expr, **env):
    """Evaluate ``expr`` with ``m`` bound to ember, then to torch."""
    return (eval(expr, {"m": ember, "np": np, **env}), eval(expr, {"m": torch, "np": np, **env}))


def raises_like_torch(fn):
    """``fn(m)`` raises the same exception type under ember and torch; returns both."""
    with pytest.raises(Exception) as te:
        fn(torch)
    with pytest.raises(Exception) as ee:
        fn(ember)
    assert isinstance(ee.value, te.type), f"ember raised {ee.type.__name__}: {ee.value}, " \
                                          f"torch raised {te.type.__name__}: {te.value}"
    return ee.value, te.value


# -- attributes -------------------------------------------------------------------------------
def test_shape_size_dims():
    x = ember.zeros(2, 3, 4)
    assert x.shape == (2, 3, 4) and isinstance(x.shape, ember.Size)
    assert x.size() == ember.Size([2, 3, 4]) and x.size(1) == 3 and x.size(-1) == 4
    assert x.ndim == 3 and x.dim() == 3 and x.ndimension() == 3
    assert x.numel() == 24 and x.nelement() == 24 and ember.numel(x) == 24
    assert x.element_size() == 4 and x.itemsize == 4 and x.nbytes == 96
    assert x.dtype is ember.float32
    assert x.device == ember.device("cpu") and x.device.type == "cpu" and not x.is_cuda
    assert x.get_device() == -1
    assert str(x.device) == "cpu" and repr(x.device) == "device(type='cpu')"
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.size(3)


def test_size_type():
    s = ember.Size([2, 3])
    t = torch.Size([2, 3])
    assert repr(s) == repr(t).replace("torch", "ember")
    assert s.numel() == t.numel() == 6
    assert isinstance(s[1:], ember.Size) and s[1:] == (3,)
    assert isinstance(s + (4,), ember.Size) and s + (4,) == (2, 3, 4)
    assert s == (2, 3) and s == ember.Size((2, 3)) and tuple(s) == (2, 3)
    assert ember.Size([]).numel() == 1


@pytest.mark.parametrize("shape", [(2, 3), (4,), (2, 3, 4), ()])
def test_transposes(shape):
    a = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    e, t = ember.tensor(a), torch.tensor(a)
    if len(shape) != 3:  # .T on >2 dims is deprecated in torch
        same(e.T, t.T)
    if len(shape) >= 2:
        same(e.mT, t.mT)
        assert np.shares_memory(e.mT.numpy(), e.numpy())
    elif len(shape) == 1:
        raises_like_torch(lambda m: m.tensor(a).mT)


def test_item_and_tolist():
    for expr in ["m.tensor(2.5).item()", "m.tensor([7]).item()", "m.tensor([[True]]).item()",
                 "m.tensor(3).tolist()", "m.tensor([[1.5, 2.0], [3.0, 4.0]]).tolist()",
                 "m.tensor([1.5, -2.25], dtype=m.bfloat16).tolist()",
                 "m.tensor([1+2j]).tolist()", "m.tensor([1, 2], dtype=m.uint8).tolist()",
                 "m.tensor(1.5, dtype=m.float16).item()", "m.tensor([]).tolist()"]:
        e, t = both(expr)
        assert e == t and type(e) is type(t), expr
    raises_like_torch(lambda m: m.tensor([1.0, 2.0]).item())


def test_python_number_protocols():
    assert float(ember.tensor([[2.5]])) == 2.5
    assert int(ember.tensor([2.7])) == 2 and int(ember.tensor(-2.7)) == -2
    assert complex(ember.tensor(1 + 2j)) == 1 + 2j
    assert [10, 20, 30][ember.tensor(1)] == 20
    assert f"{ember.tensor(2.5):.2f}" == "2.50"
    for fn in [lambda m: int(m.tensor([1, 2])), lambda m: float(m.tensor([])),
               lambda m: [1, 2][m.tensor(1.0)], lambda m: [1, 2][m.tensor([1, 1])]]:
        raises_like_torch(fn)


def test_bool():
    assert bool(ember.tensor([3])) and not bool(ember.tensor(0.0))
    assert bool(ember.tensor(float("nan"))) and bool(ember.tensor(1j))
    assert not ember.tensor([[False]])
    for fn, msg in [(lambda m: bool(m.tensor([1, 2])), "more than one value is ambiguous"),
                    (lambda m: bool(m.tensor([])), "no values is ambiguous")]:
        e, _ = raises_like_torch(fn)
        assert msg in str(e)


def test_len_iter_contains():
    x = ember.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    assert len(x) == 3
    rows = list(x)
    assert len(rows) == 3 and rows[1].tolist() == [3.0, 4.0]
    assert 4.0 in x and 7 not in x and ember.tensor(5.0) in x
    raises_like_torch(lambda m: len(m.tensor(1.0)))
    raises_like_torch(lambda m: iter(m.tensor(1.0)))
    raises_like_torch(lambda m: "a" in m.tensor([1.0]))


def test_hash_is_identity():
    x = ember.tensor([1.0])
    assert hash(x) == hash(x) and len({x, ember.tensor([1.0])}) == 2


# -- NumPy and DLPack -------------------------------------------------------------------------
def test_numpy_shares_memory():
    x = ember.arange(4.0)
    a = x.numpy()
    a[0] = 100
    assert x[0].item() == 100
    assert np.shares_memory(np.asarray(x), a)
    assert np.asarray(x, dtype=np.float64).dtype == np.float64
    assert x.numpy(force=True) is not None


def test_from_numpy_shares_memory():
    a = np.arange(6.0).reshape(2, 3)
    x = ember.from_numpy(a)
    assert x.dtype is ember.float64 and x.shape == (2, 3)
    a[0, 0] = 9
    assert x[0, 0].item() == 9
    x.numpy()[1, 1] = 7
    assert a[1, 1] == 7
    xt = ember.from_numpy(a.T)
    assert xt.stride() == (1, 3) and not xt.is_contiguous()
    with pytest.raises(TypeError):
        ember.from_numpy([1, 2])
    with pytest.raises(TypeError):
        ember.from_numpy(np.zeros(2, dtype=np.uint32))
    a16 = np.zeros(2, dtype=np.uint16)
    with pytest.raises(TypeError):
        torch.from_numpy(a16).numpy() if False else ember.from_numpy(a16)


def test_numpy_of_grad_tensor_raises():
    for fn in [lambda m: m.ones(2, requires_grad=True).numpy(),
               lambda m: np.asarray(m.ones(2, requires_grad=True))]:
        e, t = raises_like_torch(fn)
        assert "detach().numpy()" in str(e)
    assert ember.ones(2, requires_grad=True).numpy(force=True).tolist() == [1.0, 1.0]
    assert ember.ones(2, requires_grad=True).detach().numpy().tolist() == [1.0, 1.0]


@pytest.mark.parametrize("dt", ["float32", "float64", "int64", "int32", "uint8", "bool",
                                "complex64", "float16", "bfloat16"])
def test_dlpack_from_torch_zero_copy(dt):
    t = torch.arange(6).reshape(2, 3).to(getattr(torch, dt))
    e = ember.from_dlpack(t)
    assert e.dtype is getattr(ember, dt) and e.shape == (2, 3)
    assert e.data_ptr() == t.data_ptr()
    same(e, t)
    if dt != "bool":
        e[0, 0] = 5
        assert t[0, 0].item() == 5
    assert ember.from_dlpack(t.T).stride() == t.T.stride()


@pytest.mark.parametrize("dt", ["float32", "float64", "int64", "bool", "complex128",
                                "bfloat16"])
def test_dlpack_to_torch_zero_copy(dt):
    e = ember.arange(6).reshape(2, 3).to(getattr(ember, dt))
    t = torch.from_dlpack(e)
    assert t.data_ptr() == e.data_ptr()
    same(e, t)
    if dt != "bool":
        t[1, 1] = 42
        assert e[1, 1].item() == 42
    assert torch.from_dlpack(e.T).stride() == e.T.stride()


def test_dlpack_requires_grad_and_numpy():
    e, t = raises_like_torch(lambda m: np.from_dlpack(m.ones(2, requires_grad=True)))
    assert "require gradient" in str(e)
    assert ember.from_dlpack(np.arange(3)).tolist() == [0, 1, 2]
    assert ember.from_dlpack(ember.ones(2)).tolist() == [1.0, 1.0]
    with pytest.raises(TypeError):
        ember.from_dlpack(torch.zeros(3, dtype=torch.uint16))


# -- dtype and device conversions --------------------------------------------------------------
CASTS = ["float", "double", "half", "bfloat16", "long", "int", "short", "char", "byte", "bool",
         "cfloat", "cdouble"]


@pytest.mark.parametrize("cast", CASTS)
def test_cast_methods(cast):
    data = [[1.5, -2.0], [0.0, 3.25]]
    e = getattr(ember.tensor(data), cast)()
    t = getattr(torch.tensor(data), cast)()
    same(e, t)


def test_to():
    x = ember.tensor([1.5, 2.5])
    assert x.to("cpu") is x and x.to(ember.float32) is x and x.cpu() is x
    assert x.to(ember.float32, copy=True) is not x
    assert x.to(ember.float64).dtype is ember.float64
    assert x.to(ember.tensor([1], dtype=ember.int32)).dtype is ember.int32
    assert x.to(device="cpu", dtype=ember.float16).dtype is ember.float16
    assert x.to("cpu", ember.int64).tolist() == [1, 2]
    assert x.to(ember.device("cpu")) is x
    assert x.type_as(ember.tensor([1])).dtype is ember.int64
    y = ember.tensor([1.0], requires_grad=True)
    z = y.to(ember.float64)
    assert z.grad_fn is not None and z.requires_grad
    z.sum().backward()
    assert y.grad.dtype is ember.float32 and y.grad.tolist() == [1.0]


def test_type_names():
    for cast in CASTS:
        e, t = getattr(ember.ones(1), cast)(), getattr(torch.ones(1), cast)()
        assert e.type() == t.type().replace("torch", "ember")
    assert ember.ones(1).type(ember.float64).dtype is ember.float64
    assert ember.ones(1).type("ember.LongTensor").dtype is ember.int64
    assert ember.ones(1).type(ember.IntTensor).dtype is ember.int32


# -- memory layout ---------------------------------------------------------------------------
def test_strides_and_contiguity():
    a = np.arange(24.0, dtype=np.float32).reshape(2, 3, 4)
    e, t = ember.tensor(a), torch.tensor(a)
    for fn in [lambda x: x, lambda x: x.transpose(0, 2), lambda x: x[:, 1], lambda x: x[..., ::2],
               lambda x: x.permute(1, 0, 2)]:
        ev, tv = fn(e), fn(t)
        assert ev.stride() == tv.stride()
        assert ev.is_contiguous() == tv.is_contiguous()
        assert ev.storage_offset() == tv.storage_offset()
        assert ev.stride(-1) == tv.stride(-1)
        c = ev.contiguous()
        assert c.is_contiguous() and c.stride() == tv.contiguous().stride()
        same(c, tv.contiguous())
    assert e.contiguous() is e
    assert e[1].data_ptr() - e.data_ptr() == t[1].data_ptr() - t.data_ptr()
    assert e.dim_order() == t.dim_order() and e.transpose(0, 2).dim_order() == \
        t.transpose(0, 2).dim_order()


def test_clone_and_detach():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    c = x.clone()
    assert c.grad_fn.name() == "CloneBackward0" and not c.is_leaf
    assert c.data_ptr() != x.data_ptr()
    c.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]
    d = x.detach()
    assert d.data_ptr() == x.data_ptr() and not d.requires_grad and d.is_leaf
    d[0] = 5.0
    assert x[0].item() == 5.0
    assert x._version_value == d._version_value  # shared version counter
    assert x.data.data_ptr() == x.data_ptr() and not x.data.requires_grad


def test_deepcopy_and_pickle():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = copy.deepcopy(x)
    assert y.requires_grad and y.data_ptr() != x.data_ptr() and y.tolist() == x.tolist()
    z = pickle.loads(pickle.dumps(ember.tensor([[1, 2]], dtype=ember.int16)))
    assert z.dtype is ember.int16 and z.tolist() == [[1, 2]]
    raises_like_torch(lambda m: copy.deepcopy(m.ones(1, requires_grad=True) * 2))


def test_requires_grad_flag():
    x = ember.ones(2)
    assert not x.requires_grad and x.is_leaf
    assert x.requires_grad_() is x and x.requires_grad
    x.requires_grad = False
    assert not x.requires_grad
    e, _ = raises_like_torch(lambda m: m.tensor([1, 2]).requires_grad_())
    assert "floating point" in str(e)
    raises_like_torch(lambda m: (m.ones(1, requires_grad=True) * 2).requires_grad_(False))
    y = ember.ones(1, requires_grad=True) * 2
    assert y.requires_grad_(True) is y


# -- legacy constructors ----------------------------------------------------------------------
@pytest.mark.parametrize("expr", ["m.Tensor()", "m.Tensor([1, 2])", "m.Tensor([[1.5], [2]])",
                                  "m.Tensor((2, 3))", "m.Tensor(np.array([1, 2]))",
                                  "m.Tensor(m.tensor([1, 2]))", "m.FloatTensor([1, 2])",
                                  "m.LongTensor([1, 2])", "m.DoubleTensor([1])",
                                  "m.BoolTensor([1, 0])", "m.IntTensor([[1], [2]])",
                                  "m.ByteTensor([3])", "m.HalfTensor([1.5])"])
def test_legacy_constructor_data(expr):
    same(*both(expr))


def test_legacy_constructor_sizes():
    for expr in ["m.Tensor(2, 3)", "m.Tensor(m.Size([4]))", "m.Tensor(0)",
                 "m.LongTensor(2, 2)", "m.FloatTensor(3)"]:
        e, t = both(expr)
        assert tuple(e.shape) == tuple(t.shape) and str(e.dtype)[6:] == str(t.dtype)[6:]
    assert isinstance(ember.ones(1), ember.FloatTensor)
    assert not isinstance(ember.ones(1), ember.LongTensor)
    assert isinstance(ember.tensor([1]), ember.LongTensor)
    assert isinstance(ember.ones(1), ember.Tensor)
    ember.set_default_dtype(ember.float64)
    assert ember.Tensor([1]).dtype is ember.float64


@pytest.mark.parametrize("expr", ["x.new_tensor([1, 2])", "x.new_zeros(2, 3)",
                                  "x.new_ones((2,))", "x.new_full((2,), 3)",
                                  "x.new_zeros(2, dtype=m.int64)", "x.new_tensor([1.5])",
                                  "x.new_ones(1, requires_grad=True)"])
def test_new_methods(expr):
    a = np.array([1.0, 2.0], dtype=np.float64)
    e = eval(expr, {"m": ember, "x": ember.tensor(a)})
    t = eval(expr, {"m": torch, "x": torch.tensor(a)})
    same(e, t)
    assert e.requires_grad == t.requires_grad
    assert tuple(ember.ones(2).new_empty(3, 1).shape) == (3, 1)
    assert ember.ones(2).is_same_size(ember.zeros(2))


def test_apply_and_map():
    x = ember.tensor([1.0, 2.0, 3.0])
    assert x.apply_(lambda v: v * 2) is x and x.tolist() == [2.0, 4.0, 6.0]
    x.map_(ember.tensor([1.0, 1.0, 1.0]), lambda a, b: a + b)
    assert x.tolist() == [3.0, 5.0, 7.0]


# -- printing ----------------------------------------------------------------------------------
REPRS = [
    "m.tensor([1.0, 2.5, 3.0])", "m.tensor([1.0, 2.0])", "m.tensor(3.5)", "m.tensor(3)",
    "m.tensor([1, 2, 3])", "m.tensor([True, False])", "m.tensor([[1.5, 2.0], [3.0, 4.0]])",
    "m.tensor([1.0, 2.0], dtype=m.float64)", "m.tensor([1.5, 2.0], dtype=m.float16)",
    "m.tensor([1.5, 2.0], dtype=m.bfloat16)", "m.tensor([1+2j, 3-1j])",
    "m.tensor([1+2j], dtype=m.complex128)", "m.tensor([1, 2], dtype=m.int32)",
    "m.tensor([1, 2], dtype=m.uint8)", "m.zeros(0)", "m.zeros(2, 0)", "m.zeros(0, dtype=m.int64)",
    "m.tensor([1.0, 2.0], requires_grad=True)", "m.tensor([1.0, 2.0], requires_grad=True) * 2",
    "m.tensor([1e-5, 1.0])", "m.tensor([1e10, 1.0])", "m.tensor([float('nan'), float('inf'), 1.])",
    "m.tensor([0.1, 0.25])", "m.tensor([123456.789, 0.001])", "m.tensor(-0.0)",
    "m.arange(12.).reshape(3, 4)", "m.tensor(2.0, dtype=m.float16)", "m.tensor([[True], [False]])",
    "m.tensor([1e-10, 1e10])", "m.tensor([100.0, 2.0])", "m.arange(2000.)", "m.arange(30.)",
    "m.arange(30)", "m.tensor([1., 2000.])", "m.tensor(np.random.RandomState(0).randn(3, 30))",
    "m.tensor(np.random.RandomState(1).randn(2, 3, 4).astype('float32'))",
    "m.tensor([float('inf'), -float('inf')])", "m.tensor([1.+1j, -2.5-3j])",
    "m.tensor([0.1+0.2j, 10+20j])", "m.tensor([1e-5+1j])", "m.arange(1100).reshape(2, 550)",
    "m.arange(2000).reshape(40, 50).float()", "m.ones(2, 0, 3)", "m.tensor([[]])",
    "m.tensor([1.123456789], dtype=m.float64)", "m.tensor(1e-8)", "m.tensor(123456789.)",
    "m.tensor([65504.], dtype=m.float16)", "m.tensor([True] * 30)", "m.tensor([-5, 100000])",
    "m.tensor(np.arange(1001.))", "m.arange(24).reshape(2, 3, 4)", "m.tensor([0., 0.])",
    "m.tensor([-0.0, 1.5])", "m.tensor([1.0, float('nan')])", "m.arange(10, dtype=m.int8)",
    "m.tensor([[1.5]], requires_grad=True).sum()", "m.tensor(np.arange(40.) * 1.5 - 20)",
    "m.tensor(np.random.RandomState(2).randn(4) * 1e-3)", "m.tensor([1e8, 1.])",
    "m.tensor(np.linspace(-1, 1, 50).reshape(5, 10) * 1j + 1)",
]


@pytest.mark.parametrize("expr", REPRS)
def test_repr_matches_torch(expr):
    e, t = both(expr)
    assert repr(e) == repr(t).replace("torch.", "ember."), f"\n{e!r}\n{t!r}"
    assert str(e) == repr(e)


def test_repr_default_dtype_float64():
    ember.set_default_dtype(ember.float64)
    torch.set_default_dtype(torch.float64)
    try:
        for expr in ["m.tensor([1.5])", "m.tensor([1.5], dtype=m.float32)", "m.tensor([1j])",
                     "m.tensor([1j], dtype=m.complex64)", "m.zeros(0)"]:
            e, t = both(expr)
            assert repr(e) == repr(t).replace("torch.", "ember."), expr
    finally:
        torch.set_default_dtype(torch.float32)


def test_set_printoptions():
    try:
        ember.set_printoptions(precision=2)
        assert repr(ember.tensor([1.2345])) == "tensor([1.23])"
        ember.set_printoptions(threshold=5, edgeitems=1)
        assert repr(ember.arange(10)) == "tensor([0,  ..., 9])"
        ember.set_printoptions(sci_mode=True, threshold=1000)
        assert "e+00" in repr(ember.tensor([1.5]))
    finally:
        ember.set_printoptions(profile="default")
    assert repr(ember.tensor([1.2345])) == "tensor([1.2345])"


# -- memory formats ---------------------------------------------------------------------------
@pytest.mark.parametrize("expr", [
    "x.clone()", "x.t().clone()", "x.t().contiguous()",
    "x.t().clone(memory_format=m.contiguous_format)",
    "m.zeros_like(x.t())", "m.full_like(x.t(), 2)", "m.empty_like(x.t())",
    "x.t().detach().clone()",
    "x.t() * 2", "x.t().exp()",
])
def test_layout_is_preserved_like_torch(expr):
    e = eval(expr, {"x": ember.ones(2, 3), "m": ember})
    t = eval(expr, {"x": torch.ones(2, 3), "m": torch})
    assert e.stride() == t.stride() and e.is_contiguous() == t.is_contiguous()


def test_channels_last():
    for m in (ember, torch):
        assert repr(m.channels_last).split(".")[1] == "channels_last"
    a = np.arange(48.0).reshape(2, 2, 3, 4)
    e, t = ember.tensor(a), torch.tensor(a)
    ec, tc = e.contiguous(memory_format=ember.channels_last), \
        t.contiguous(memory_format=torch.channels_last)
    assert ec.stride() == tc.stride() and ec.tolist() == tc.tolist()
    assert ec.is_contiguous(memory_format=ember.channels_last) and not ec.is_contiguous()
    assert ec.contiguous().stride() == tc.contiguous().stride()
    assert e.clone(memory_format=ember.channels_last).stride() == tc.stride()
    x = ember.tensor(a, requires_grad=True)
    x.contiguous(memory_format=ember.channels_last).sum().backward()
    assert x.grad.shape == (2, 2, 3, 4)
    with pytest.raises(RuntimeError):
        ember.ones(2, 3).contiguous(memory_format=ember.channels_last)
