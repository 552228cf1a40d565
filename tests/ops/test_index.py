"""Op table: indexing ops (gather/scatter, index_*, masked_*, take/put, getitem/setitem)."""

import numpy as np

from tests.harness import OpInfo, op_tests

S = (3, 4)
I = np.array  # index arrays are not differentiated


def _along(idx, dim):
    """NumPy's full key for ``x[..., idx, ...]`` along ``dim`` (like _axis_key)."""
    key = []
    for d, n in enumerate(idx.shape):
        shape = [1] * idx.ndim
        shape[d] = n
        key.append(idx if d == dim else np.arange(n).reshape(shape))
    return tuple(key)


def np_scatter(x, idx, src, dim):
    out = x.copy()
    out[_along(idx, dim)] = src[tuple(slice(0, n) for n in idx.shape)] if np.ndim(src) else src
    return out


def np_scatter_add(x, idx, src, dim):
    out = x.copy()
    np.add.at(out, _along(idx, dim), src[tuple(slice(0, n) for n in idx.shape)])
    return out


def np_scatter_reduce(x, idx, src, dim, reduce, include_self=True):
    out = x.copy()
    key = _along(idx, dim)
    groups = {}
    for pos, v in zip(zip(*[np.broadcast_to(k, idx.shape).ravel() for k in key]), src.ravel()):
        groups.setdefault(pos, []).append(v)
    fn = {"sum": np.sum, "prod": np.prod, "mean": np.mean, "amax": np.max, "amin": np.min}
    for pos, vals in groups.items():
        out[pos] = fn[reduce](vals + ([x[pos]] if include_self else []))
    return out


def np_index_add(x, idx, src, dim, alpha=1):
    out = x.copy()
    np.add.at(out, (slice(None),) * dim + (idx,), alpha * src)
    return out


def np_index_put(x, key, v, acc=False):
    out = x.copy()
    if acc:
        np.add.at(out, key, v)
    else:
        out[key] = v
    return out


G = I([[0, 2, 1, 0], [2, 2, 0, 1]])  # gather index for dim 0 of (3, 4)
SC = I([[0, 1, 2, 0], [2, 0, 1, 1]])  # scatter index: no repeats within a column
DUP = I([[0, 0, 2, 0], [0, 2, 2, 1]])  # repeats: sums and reductions meet
ZS = I([[0.0, 2.0, 3.0, 1.5], [0.5, 0.0, 0.0, 2.0]])  # src with zeros (prod's special case)
ZX = I([[0.0, 1.2, -0.7, 0.0], [1.1, 0.9, 0.0, 1.3], [-1.4, 0.0, 0.8, 0.6]])
ZS2 = I([[0.0, 0.0, 0.0, 1.5], [0.5, 0.0, 0.0, 2.0]])  # two or three zeros meet
ZX2 = ZX * (np.arange(12).reshape(3, 4) != 10)
PROD_SAMPLES = [[S, DUP, (2, 4)], [ZX, DUP, ZS], [ZX, DUP, ZS2], [ZX2, DUP, ZS2]]
MASK = I([[True, False, True, False], [False, False, True, True], [True, True, False, False]])


def _sr(reduce, inc):
    return OpInfo(f"scatter_reduce_{reduce}_{int(inc)}",
                  lambda m, x, i, s: m.scatter_reduce(x, 0, i, s, reduce, include_self=inc),
                  PROD_SAMPLES if reduce == "prod" else [[S, DUP, (2, 4)]],
                  lambda x, i, s: np_scatter_reduce(x, i, s, 0, reduce, inc))


def _setitem(key):
    def fn(m, x, v):
        y = x * 1
        y[key] = v
        return y
    return fn


ROWS = [
    OpInfo("gather0", lambda m, x, i: m.gather(x, 0, i), [[S, G]],
           lambda x, i: np.take_along_axis(x, i, 0)),
    OpInfo("gather1_small", lambda m, x, i: x.gather(1, i), [[S, I([[3, 0, 0], [1, 2, 1]])]],
           lambda x, i: np.take_along_axis(x[:2], i, 1)),
    OpInfo("gather_0d", lambda m, x, i: m.gather(x, 0, i), [[(), I(0)]], lambda x, i: x),
    OpInfo("scatter", lambda m, x, i, s: m.scatter(x, 0, i, s), [[S, SC, (2, 4)]],
           lambda x, i, s: np_scatter(x, i, s, 0)),
    OpInfo("scatter_big_src", lambda m, x, i, s: x.scatter(1, i, s),
           [[S, I([[1, 0], [3, 2]]), (3, 4)]], lambda x, i, s: np_scatter(x, i, s, 1),
           torch=False),
    OpInfo("scatter_value", lambda m, x, i: m.scatter(x, 0, i, 1.5), [[S, SC]],
           lambda x, i: np_scatter(x, i, 1.5, 0)),
    OpInfo("scatter_add", lambda m, x, i, s: m.scatter_add(x, 0, i, s), [[S, DUP, (2, 4)]],
           lambda x, i, s: np_scatter_add(x, i, s, 0)),
    OpInfo("scatter_add_big_src", lambda m, x, i, s: m.scatter_add(x, 0, i, s),
           [[S, DUP, (3, 4)]], lambda x, i, s: np_scatter_add(x, i, s, 0), torch=False),
    OpInfo("scatter_reduce_add", lambda m, x, i, s: x.scatter(0, i, s, reduce="add"),
           [[S, DUP, (2, 4)]], lambda x, i, s: np_scatter_add(x, i, s, 0), torch=False),
    *[_sr(r, inc) for r in ("sum", "prod", "mean", "amax", "amin") for inc in (True, False)],
    OpInfo("index_select", lambda m, x, i: m.index_select(x, 1, i), [[S, I([3, 0, 3])]],
           lambda x, i: x[:, i]),
    OpInfo("index_select_0d_index", lambda m, x, i: x.index_select(0, i), [[S, I(2)]],
           lambda x, i: x[[2]]),
    OpInfo("index_add", lambda m, x, i, s: m.index_add(x, 0, i, s, alpha=2),
           [[S, I([2, 0, 2]), (3, 4)]], lambda x, i, s: np_index_add(x, i, s, 0, 2)),
    OpInfo("index_copy", lambda m, x, i, s: x.index_copy(1, i, s), [[S, I([3, 1]), (3, 2)]],
           lambda x, i, s: np_index_put(x, (slice(None), i), s)),
    OpInfo("index_fill", lambda m, x, i: x.index_fill(1, i, -1.0), [[S, I([0, 2])]],
           lambda x, i: np_index_put(x, (slice(None), i), -1.0)),
    OpInfo("index_fill_tensor", lambda m, x, i, v: x.index_fill(0, i, v), [[S, I([1]), ()]],
           lambda x, i, v: np_index_put(x, (i,), v)),
    OpInfo("index_put", lambda m, x, i, j, v: m.index_put(x, (i, j), v),
           [[S, I([0, 2]), I([1, 3]), (2,)], [S, I([1]), I([0, 1, 2]), ()]],
           lambda x, i, j, v: np_index_put(x, (i, j), v)),
    OpInfo("index_put_acc", lambda m, x, i, v: x.index_put((i,), v, accumulate=True),
           [[S, I([0, 2, 0]), (3, 4)], [S, I([1, 1]), (4,)]],
           lambda x, i, v: np_index_put(x, (i,), v, True)),
    OpInfo("masked_fill", lambda m, x, k: m.masked_fill(x, k, 0.5), [[S, MASK]],
           lambda x, k: np.where(k, 0.5, x)),
    OpInfo("masked_fill_bcast", lambda m, x, k: x.masked_fill(k, 0.5),
           [[(4,), MASK]], lambda x, k: np.where(k, 0.5, x)),
    OpInfo("masked_fill_tensor", lambda m, x, v, k: x.masked_fill(k, v),
           [[S, (), MASK]], lambda x, v, k: np.where(k, v, x)),
    OpInfo("masked_select", lambda m, x, k: m.masked_select(x, k),
           [[S, MASK], [(4,), MASK]], lambda x, k: np.broadcast_to(x, k.shape)[k]),
    OpInfo("masked_scatter", lambda m, x, k, s: x.masked_scatter(k, s),
           [[S, MASK, (2, 5)]], lambda x, k, s: np_index_put(x, (k,), s.ravel()[:k.sum()])),
    OpInfo("take", lambda m, x, i: m.take(x, i), [[S, I([[0, 11], [-1, 5]])], [(), I([0, 0])]],
           lambda x, i: x.ravel()[i]),
    OpInfo("take_along_dim", lambda m, x, i: m.take_along_dim(x, i, 1),
           [[S, I([[0, 3]])], [S, I([[1], [0], [3]])]],
           lambda x, i: np.take_along_axis(x, np.broadcast_to(i, (3, i.shape[1])), 1)),
    OpInfo("take_along_dim_flat", lambda m, x, i: m.take_along_dim(x, i), [[S, I([[0, 7]])]],
           lambda x, i: x.ravel()[i.ravel()]),
    OpInfo("put", lambda m, x, i, s: m.put(x, i, s), [[S, I([0, 11, 5]), (3,)]],
           lambda x, i, s: np_index_put(x.ravel(), (i,), s).reshape(x.shape)),
    OpInfo("put_acc", lambda m, x, i, s: x.put(i, s, accumulate=True), [[S, I([-1, 3, -1]), (3,)]],
           lambda x, i, s: np_index_put(x.ravel(), (i,), s, True).reshape(x.shape)),
    OpInfo("getitem_basic", lambda m, x: x[1:, ::2, None], [[S]], lambda x: x[1:, ::2, None]),
    OpInfo("getitem_int_list", lambda m, x: x[[2, 0, 2]], [[S]], lambda x: x[[2, 0, 2]]),
    OpInfo("getitem_tensor", lambda m, x, i: x[:, i], [[S, I([[0, 3], [3, 3]])]],
           lambda x, i: x[:, i]),
    OpInfo("getitem_mask", lambda m, x, k: x[k], [[S, MASK]], lambda x, k: x[k]),
    OpInfo("getitem_mixed", lambda m, x, i, j: x[i, ..., j], [[(3, 2, 4), I([0, 2]), I([1, 3])]],
           lambda x, i, j: x[i, ..., j]),
    OpInfo("getitem_int_between", lambda m, x, i, j: x[i, 1, j],
           [[(3, 2, 4), I([0, 2]), I([1, 3])]], lambda x, i, j: x[i, 1, j]),
    OpInfo("getitem_int_apart", lambda m, x, i: x[0, :, i], [[(2, 3, 4), I([1, 3])]],
           lambda x, i: x[0][:, i]),
    OpInfo("setitem_adv", _setitem((I([0, 2]),)), [[S, (4,)], [S, ()], [S, (2, 4)]],
           lambda x, v: np_index_put(x, ([0, 2],), v)),
    OpInfo("setitem_mixed", _setitem((slice(1, None), I([0, 3]))), [[S, (2,)], [S, (2, 1)]],
           lambda x, v: np_index_put(x, (slice(1, None), [0, 3]), v)),
    OpInfo("setitem_basic", _setitem((slice(None), 1)), [[S, (3,)], [S, ()]],
           lambda x, v: np_index_put(x, (slice(None), 1), v)),
]


def _mask_setitem(m, x, v, k):
    y = x * 1
    y[k] = v
    return y


ROWS.append(OpInfo("setitem_mask", _mask_setitem, [[S, (6,), MASK], [S, (), MASK]],
                   lambda x, v, k: np_index_put(x, (k,), v)))

def _sq(out):
    return tuple(_sq(o) for o in out) if isinstance(out, (tuple, list)) else out * out


def squared(row):
    """``row``'s op followed by ``x * x``: a linear op has no second derivative, so this is
    what runs the gradient rule's own gradient (double backprop) through the check."""
    return OpInfo(row.name + "_sq", lambda m, *a: _sq(row.fn(m, *a)), row.samples[:1],
                  None if row.ref is None else lambda *a: _sq(row.ref(*a)), torch=row.torch,
                  dtypes=("float64",))


ROWS += [squared(r) for r in ROWS if r.grad and r.gradgrad]

test_forward, test_grad, test_gradgrad, test_vs_torch = op_tests(ROWS)
