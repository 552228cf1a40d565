"""Indexing, assignment and the index ops, compared with PyTorch: results, dim placement, memory
sharing, gradients, errors, and that a failed op changes nothing."""

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def _np(t):
    return t.detach().numpy() if hasattr(t, "detach") else np.asarray(t)


def same(a, b):
    """Equal values, shapes and dtypes (nested tuples allowed)."""
    if isinstance(b, (tuple, list)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            same(x, y)
        return
    assert tuple(a.shape) == tuple(b.shape), f"shape {tuple(a.shape)} vs {tuple(b.shape)}"
    assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
    np.testing.assert_allclose(_np(a), _np(b), rtol=1e-6, atol=1e-6)


def both(fn):
    """Run ``fn(m)`` with ember and torch; return both results."""
    return fn(ember), fn(torch)


def check(fn):
    e, t = both(fn)
    same(e, t)
    return e, t


def raises_like(fn):
    """ember raises the same exception type as torch."""
    with pytest.raises(Exception) as te:
        fn(torch)
    with pytest.raises(type(te.value)) as ee:
        fn(ember)
    return ee.value


def arange(m, *shape, dtype=None):
    n = int(np.prod(shape))
    return m.arange(n, dtype=dtype or m.float32).reshape(*shape)


def shares(m, a, b):
    if m is torch:
        return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()
    return np.shares_memory(a._data, b._data)


# -- reading: results, dim placement, views vs copies ---------------------------------------------
KEYS = {
    "int": lambda m: 1,
    "neg_int": lambda m: -1,
    "ints": lambda m: (1, 2),
    "slice": lambda m: slice(1, None),
    "step": lambda m: (slice(None), slice(None, None, 2)),
    "ellipsis_int": lambda m: (Ellipsis, 1),
    "none": lambda m: (None, 0, None),
    "list": lambda m: [1, 0, 1],
    "empty_list": lambda m: [],
    "nested_list_is_tuple": lambda m: [[0, 1], [1, 2]],
    "tensors": lambda m: (m.tensor([0, 1]), m.tensor([2, 0])),
    "tensor_2d": lambda m: m.tensor([[0, 1], [1, 1]]),
    "int_tensor_0d": lambda m: m.tensor(1),
    "adv_slice_adv": lambda m: ([0, 1], slice(None), [1, 3]),
    "int_then_adv": lambda m: (0, slice(None), [1, 3]),
    "adv_int_adv": lambda m: ([0, 1], 1, [1, 3]),
    "adv_none_adv": lambda m: ([0, 1], None, [1, 2]),
    "slice_adv": lambda m: (slice(None), [0, 2]),
    "adv_after_ellipsis": lambda m: (Ellipsis, [0, 3]),
    "mask_full": lambda m: arange(m, 2, 3, 4) > 10,
    "mask_lead": lambda m: (m.tensor([[True, False, True], [False, False, True]]),),
    "mask_mid": lambda m: (slice(None), m.tensor([True, False, True])),
    "byte_mask": lambda m: m.tensor([1, 0], dtype=m.uint8),
    "true": lambda m: True,
    "false": lambda m: (False, 0),
    "mask_and_int_tensor": lambda m: (m.tensor([True, False]), m.tensor([2])),
}


@pytest.mark.parametrize("name", KEYS)
def test_getitem_matches_torch(name):
    key = KEYS[name]
    e, t = both(lambda m: arange(m, 2, 3, 4)[key(m)])
    same(e, t)


@pytest.mark.parametrize("name", KEYS)
def test_getitem_shares_memory_like_torch(name):
    key = KEYS[name]

    def run(m):
        x = arange(m, 2, 3, 4)
        return shares(m, x[key(m)], x)
    e, t = both(run)
    assert e == t


def test_view_writes_reach_base():
    def run(m):
        x = arange(m, 3, 4)
        x[1:, ::2].fill_(-1)
        x[0][1] += 5
        x[..., 3].mul_(2)
        return x
    check(run)


def test_0d_tensor():
    check(lambda m: (m.tensor(5.0)[None], m.tensor(5.0)[...], m.tensor(5.0)[True]))
    raises_like(lambda m: m.tensor(5.0)[0])


# -- reading: errors ---------------------------------------------------------------------------
BAD_KEYS = {
    "int_out_of_range": lambda m: 5,
    "neg_out_of_range": lambda m: (0, -5),
    "tensor_out_of_range": lambda m: m.tensor([0, 3]),
    "list_out_of_range": lambda m: (slice(None), [4]),
    "too_many": lambda m: (0, 0, 0),
    "float": lambda m: 1.0,
    "float_tensor": lambda m: m.tensor([1.0]),
    "negative_step": lambda m: slice(None, None, -1),
    "zero_step": lambda m: slice(None, None, 0),
    "mask_shape": lambda m: m.tensor([True, False]),
    "string": lambda m: "a",
}


@pytest.mark.parametrize("name", BAD_KEYS)
def test_getitem_errors_like_torch(name):
    key = BAD_KEYS[name]
    raises_like(lambda m: arange(m, 3, 4)[key(m)])


# -- assignment -----------------------------------------------------------------------------------
SET_CASES = {
    "int_scalar": (lambda m: 1, lambda m: 7.0),
    "slice_tensor": (lambda m: (slice(None), 1), lambda m: m.tensor([1.0, 2.0, 3.0])),
    "list_bcast": (lambda m: [0, 2], lambda m: m.tensor([1.0, 2.0, 3.0, 4.0])),
    "tensor_pairs": (lambda m: (m.tensor([0, 2]), m.tensor([3, 1])), lambda m: -1.0),
    "mask": (lambda m: arange(m, 3, 4) > 6, lambda m: 0.0),
    "mask_values": (lambda m: arange(m, 3, 4) > 8, lambda m: m.tensor([1.0, 2.0, 3.0])),
    "mask_0d_other_dtype": (lambda m: arange(m, 3, 4) > 8, lambda m: m.tensor(2, dtype=m.int64)),
    "basic_other_dtype": (lambda m: 0, lambda m: m.tensor([1, 2, 3, 4])),
    "mixed": (lambda m: (slice(1, None), [0, 3]), lambda m: m.tensor([[5.0], [6.0]])),
    "int_between": (lambda m: ([0, 2], 1), lambda m: m.tensor([8.0, 9.0])),
    "leading_ones": (lambda m: [0, 1], lambda m: m.ones(1, 1, 4)),
    "ellipsis_none": (lambda m: (Ellipsis, None, 2), lambda m: 3.0),
}


@pytest.mark.parametrize("name", SET_CASES)
def test_setitem_matches_torch(name):
    key, val = SET_CASES[name]

    def run(m):
        x = arange(m, 3, 4)
        x[key(m)] = val(m)
        return x
    check(run)


@pytest.mark.parametrize("name", ["list_bcast", "tensor_pairs", "mask_values", "mixed",
                                  "int_between", "slice_tensor", "leading_ones"])
def test_setitem_gradients_match_torch(name):
    key, val = SET_CASES[name]

    def run(m):
        x = arange(m, 3, 4, dtype=m.float64).requires_grad_()
        v = val(m)
        v = (v.to(m.float64) if isinstance(v, m.Tensor) else m.tensor(v, dtype=m.float64))
        v.requires_grad_()
        y = x * 1
        y[key(m)] = v * 2
        w = arange(m, 3, 4, dtype=m.float64) - 5
        (y * y * w).sum().backward()
        return y, x.grad, v.grad
    check(run)


def test_setitem_errors_like_torch():
    raises_like(lambda m: arange(m, 3, 4).__setitem__([0, 1], m.ones(3, 3)))
    raises_like(lambda m: arange(m, 3, 4).__setitem__([0], m.ones(4, dtype=m.float64)))
    raises_like(lambda m: arange(m, 3, 4).__setitem__([5], 1.0))
    raises_like(lambda m: arange(m, 3, 4).__setitem__(slice(None, None, -1), 1.0))


def test_setitem_on_leaf_requiring_grad_raises():
    def run(m):
        x = m.zeros(3, requires_grad=True)
        x[[0]] = 1.0
    raises_like(run)


def test_failed_setitem_changes_nothing():
    x = ember.arange(12.0).reshape(3, 4)
    before, ver = x.clone(), x._version
    with pytest.raises(RuntimeError):
        x[[0, 1]] = ember.ones(3, 3)
    with pytest.raises(IndexError):
        x[[0, 7]] = 1.0
    assert ember.equal(x, before) and x._version == ver


def test_setitem_under_no_grad_writes_in_place():
    x = ember.zeros(3, 4, requires_grad=True)
    ptr = x.data_ptr()
    with ember.no_grad():
        x[[0, 2], 1:] = 5.0
    assert x.data_ptr() == ptr and x._version == 1 and x.is_leaf
    assert float(x.sum()) == 30.0


# -- index ops: in-place forms, accumulation, errors ----------------------------------------------
def _x(m):
    return arange(m, 3, 4) / 3


def _like(m, x, *shape, fill=1.0):
    return m.full(shape, fill, dtype=x.dtype)


INPLACE = {
    "scatter_": lambda m, x: x.scatter_(1, m.tensor([[0, 1], [2, 3], [3, 0]]), -1.0),
    "scatter_src_": lambda m, x: x.scatter_(0, m.tensor([[2, 1, 0, 2]]),
                                            _like(m, x, 1, 4, fill=3.0)),
    "scatter_add_": lambda m, x: x.scatter_add_(0, m.tensor([[0, 0, 2, 2]] * 2),
                                                _like(m, x, 2, 4)),
    "scatter_reduce_": lambda m, x: x.scatter_reduce_(1, m.tensor([[0, 0]] * 3),
                                                      _like(m, x, 3, 2, fill=-2.0), "amin",
                                                      include_self=False),
    "index_add_": lambda m, x: x.index_add_(1, m.tensor([0, 0]), _like(m, x, 3, 2), alpha=3),
    "index_copy_": lambda m, x: x.index_copy_(0, m.tensor([2, 0]), _like(m, x, 2, 4, fill=0.0)),
    "index_fill_": lambda m, x: x.index_fill_(1, m.tensor([1, 3]), m.tensor(9.0)),
    "index_put_acc": lambda m, x: x.index_put_((m.tensor([0, 0, 1]), m.tensor([1, 1, 2])),
                                               _like(m, x, 3), accumulate=True),
    "masked_fill_": lambda m, x: x.masked_fill_(m.tensor([True, False, True, False]), 2.0),
    "masked_scatter_": lambda m, x: x.masked_scatter_(x > 1, -arange(m, 12).to(x.dtype)),
    "put_": lambda m, x: x.put_(m.tensor([0, -1, 5]), _like(m, x, 3, fill=7.0)),
    "put_acc": lambda m, x: x.put_(m.tensor([1, 1]), _like(m, x, 2), accumulate=True),
    "tril_": lambda m, x: x.tril_(1),
    "triu_": lambda m, x: x.triu_(),
}


@pytest.mark.parametrize("name", INPLACE)
def test_inplace_index_ops_match_torch(name):
    check(lambda m: INPLACE[name](m, _x(m)))


@pytest.mark.parametrize("name", INPLACE)
def test_inplace_index_ops_record_gradients(name):
    def run(m):
        leaf = (arange(m, 3, 4, dtype=m.float64) / 3).requires_grad_()
        out = INPLACE[name](m, leaf * 1)
        (out * out).sum().backward()
        return out, leaf.grad
    check(run)


def test_zero_dim_inputs_of_gather_and_scatter():
    x = lambda m: m.tensor(5.0)  # noqa: E731
    check(lambda m: (m.gather(x(m), 0, m.tensor([0, 0])), m.gather(m.ones(3), 0, m.tensor(1)),
                     x(m).scatter(0, m.tensor([0]), m.tensor([2.0])),
                     x(m).scatter(0, m.tensor(0), m.tensor(2.0)),
                     x(m).scatter_add(0, m.tensor([0, 0]), m.tensor([2.0, 3.0])),
                     x(m).scatter_reduce(0, m.tensor([0, 0]), m.tensor([2.0, 3.0]), "prod"),
                     x(m).index_select(0, m.tensor([0])), x(m).index_fill(0, m.tensor([0]), 2.0),
                     m.ones(4).index_select(0, m.tensor(2))))
    raises_like(lambda m: x(m).index_select(0, m.tensor([0, 0])))


def test_advanced_setitem_on_a_view_reaches_the_base():
    def run(m):
        x = arange(m, 3, 4)
        v = x[1:]
        v[[0, 1], [3, 0]] = -1.0
        x.T[x.T > 9] = 0.0
        return x
    check(run)


def test_index_put_wants_tensors():
    raises_like(lambda m: m.zeros(2, 3).index_put((None, m.tensor([0])), m.tensor(1.0)))


def test_where_single_argument_and_nonzero():
    check(lambda m: m.where(arange(m, 2, 3) > 2))
    check(lambda m: (m.nonzero(m.tensor(3)), m.nonzero(m.tensor(0)),
                     m.nonzero(m.tensor(3), as_tuple=True), m.nonzero(m.tensor(0), as_tuple=True)))
    check(lambda m: m.argwhere(m.tensor([[0, 1], [1, 1]])))


def test_searchsorted_scalar_and_int32():
    check(lambda m: m.searchsorted(m.tensor([1.0, 2.0, 3.0]), 2.5))
    check(lambda m: m.searchsorted(m.tensor([1, 2, 3]), m.tensor([[2, 3]]), out_int32=True))
    check(lambda m: m.bucketize(m.tensor([1.0, 2.0]), m.tensor([1.0, 2.0]), right=True))


def test_bincount_dtypes():
    check(lambda m: m.bincount(m.tensor([0, 1, 1]), weights=m.tensor([1.0, 2.0, 3.0])))
    check(lambda m: m.bincount(m.tensor([0, 1, 1]), weights=m.tensor([1, 2, 3])))
    check(lambda m: m.bincount(m.tensor([], dtype=m.int64)))


def test_repeat_interleave_counts_only():
    check(lambda m: m.repeat_interleave(m.tensor([1, 0, 3])))


ERRORS = {
    "gather_ndim": lambda m: m.gather(m.zeros(3, 4), 0, m.zeros(3, dtype=m.int64)),
    "gather_size": lambda m: m.gather(m.zeros(3, 4), 0, m.zeros(2, 5, dtype=m.int64)),
    "gather_range": lambda m: m.gather(m.zeros(3, 4), 0, m.tensor([[3]])),
    "gather_float_index": lambda m: m.gather(m.zeros(3, 4), 0, m.zeros(1, 1)),
    "scatter_dtype": lambda m: m.zeros(3).scatter(0, m.tensor([0]), m.ones(1, dtype=m.float64)),
    "scatter_reduce_mode": lambda m: m.zeros(3).scatter_reduce(0, m.tensor([0]), m.ones(1),
                                                                "foo"),
    "index_select_range": lambda m: m.zeros(3).index_select(0, m.tensor([3])),
    "index_select_2d": lambda m: m.zeros(3).index_select(0, m.tensor([[0]])),
    "index_add_dtype": lambda m: m.zeros(3).index_add(0, m.tensor([0]),
                                                     m.ones(1, dtype=m.float64)),
    "index_put_dtype": lambda m: m.zeros(3).index_put((m.tensor([0]),),
                                                      m.ones(1, dtype=m.float64)),
    "masked_fill_float_mask": lambda m: m.zeros(3).masked_fill(m.zeros(3), 1.0),
    "masked_fill_value_dim": lambda m: m.zeros(3).masked_fill(m.zeros(3) > 0, m.ones(1)),
    "masked_fill__bcast": lambda m: m.zeros(3).masked_fill_(m.zeros(2, 3) > 0, 1.0),
    "masked_select_bcast": lambda m: m.zeros(3).masked_select(m.zeros(2) > 0),
    "masked_fill_bcast": lambda m: m.zeros(3).masked_fill(m.zeros(2) > 0, 1.0),
    "masked_scatter_small": lambda m: m.zeros(3).masked_scatter(m.ones(3) > 0, m.ones(2)),
    "take_range": lambda m: m.zeros(2, 2).take(m.tensor([4])),
    "put_numel": lambda m: m.zeros(4).put_(m.tensor([0, 1]), m.ones(3)),
    "bincount_negative": lambda m: m.bincount(m.tensor([-1, 2])),
    "bincount_float": lambda m: m.bincount(m.tensor([1.0])),
    "searchsorted_sides": lambda m: m.searchsorted(m.zeros(3), m.zeros(1), right=True,
                                                   side="left"),
    "searchsorted_shapes": lambda m: m.searchsorted(m.zeros(2, 3), m.zeros(3, 1)),
    "bucketize_2d": lambda m: m.bucketize(m.zeros(2), m.zeros(2, 2)),
    "histc_int": lambda m: m.histc(m.tensor([1, 2])),
    "histc_range": lambda m: m.histc(m.zeros(3), 4, 1, 0),
    "take_along_dim_ndim": lambda m: m.take_along_dim(m.zeros(2, 2), m.tensor([0]), 0),
}


@pytest.mark.parametrize("name", ERRORS)
def test_index_op_errors_like_torch(name):
    raises_like(ERRORS[name])


def test_errors_name_the_op_and_change_nothing():
    x = ember.zeros(3, 4)
    err = raises_like(lambda m: m.gather(m.zeros(3, 4), 0, m.zeros(2, 5, dtype=m.int64)))
    assert "gather" in str(err) and "[2, 5]" in str(err) and "[3, 4]" in str(err)
    with pytest.raises(RuntimeError):
        x.index_add_(0, ember.tensor([0]), ember.ones(1, 3))
    with pytest.raises(RuntimeError):
        x.masked_fill_(ember.zeros(2, 4) > -1, 1.0)
    assert float(x.abs().sum()) == 0 and x._version == 0


def _random_key(rng, shape):
    """A random mix of ints, slices, None, Ellipsis, int lists/tensors and bool masks."""
    spec, d = [], 0
    while d < len(shape) and len(spec) < 4 and (not spec or rng.random() < 0.7):
        n, r = shape[d], rng.random()
        if r < 0.2:
            spec.append(int(rng.integers(-n, n)))
        elif r < 0.4:
            a, b = sorted(rng.integers(-n, n + 1, 2).tolist())
            spec.append(slice(a, b, [None, 1, 2][rng.integers(3)]))
        elif r < 0.5:
            spec.append(None)
            continue
        elif r < 0.7:
            spec.append(("list", rng.integers(-n, n, rng.integers(1, 3)).tolist()))
        elif r < 0.8:
            spec.append(("tensor", rng.integers(0, n, 2).tolist()))
        else:
            spec.append(("mask", (rng.random(n) < 0.5).tolist()))
        d += 1
    if rng.random() < 0.25:
        spec.insert(int(rng.integers(len(spec) + 1)), Ellipsis)
    return spec


def _build(m, spec):
    return tuple(m.tensor(s[1]) if isinstance(s, tuple) and s[0] != "list" else
                 list(s[1]) if isinstance(s, tuple) else s for s in spec)


def _outcome(fn):
    try:
        return fn()
    except Exception as e:  # the same error type is what must match
        return type(e).__name__


def test_random_keys_match_torch():
    rng = np.random.default_rng(0)
    for _ in range(300):
        spec = _random_key(rng, (3, 4, 5))
        e, t = [(_outcome(lambda: arange(m, 3, 4, 5)[_build(m, spec)]),
                 _outcome(lambda: _assigned(m, spec))) for m in (ember, torch)]
        for a, b in zip(e, t):
            if isinstance(b, str):
                assert a == b, spec
            else:
                assert not isinstance(a, str), (spec, a)
                same(a, b)


def _assigned(m, spec):
    x = arange(m, 3, 4, 5)
    x[_build(m, spec)] = -1.0
    return x
