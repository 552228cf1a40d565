"""Op table: shape ops (joining/splitting, flips, repeats, triangles/diagonals, strided views,
broadcasting, grids) and the non-differentiable bucketing/counting ops."""

import numpy as np
import pytest

import ember
from tests.harness import OpInfo, op_tests

S = (3, 4)
I = np.array  # int arrays are not differentiated


def np_diag_embed(x, offset=0):
    n = x.shape[-1] + abs(offset)
    out = np.zeros(x.shape[:-1] + (n, n), dtype=x.dtype)
    i = np.arange(x.shape[-1])
    r, c = (i, i + offset) if offset >= 0 else (i - offset, i)
    out[..., r, c] = x
    return out


def np_unfold(x, dim, size, step):
    n = (x.shape[dim] - size) // step + 1
    wins = [np.take(x, np.arange(i * step, i * step + size), axis=dim) for i in range(n)]
    return np.moveaxis(np.stack(wins, axis=dim), dim + 1, -1)


def np_diagonal_scatter(x, s, offset, d1, d2):
    out = x.copy()
    idx = np.arange(s.shape[-1])
    r, c = (idx, idx + offset) if offset >= 0 else (idx - offset, idx)
    key = [slice(None)] * x.ndim
    key[d1], key[d2] = r, c
    out[tuple(key)] = np.moveaxis(s, -1, 0) if x.ndim > 2 else s
    return out


ROWS = [
    # joining and splitting
    OpInfo("cat", lambda m, x, y: m.cat([x, y], 1), [[S, (3, 2)], [(2, 0), (2, 3)]],
           lambda x, y: np.concatenate([x, y], 1)),
    OpInfo("cat_empty_1d", lambda m, x, y: m.cat([x, y]), [[(0,), (2, 3)]],
           lambda x, y: y),
    OpInfo("stack", lambda m, x, y: m.stack([x, y], -1), [[S, S]],
           lambda x, y: np.stack([x, y], -1)),
    OpInfo("split", lambda m, x: m.split(x, 2, 1), [[S], [(3, 5)]],
           lambda x: np.split(x, range(2, x.shape[1], 2), 1)),
    OpInfo("split_sizes", lambda m, x: x.split([1, 3], 1), [[S]], lambda x: np.split(x, [1], 1)),
    OpInfo("chunk", lambda m, x: x.chunk(2, 0), [[S]], lambda x: np.split(x, [2], 0)),
    OpInfo("unbind", lambda m, x: x.unbind(1), [[S]], lambda x: [x[:, i] for i in range(4)]),
    OpInfo("narrow", lambda m, x: x.narrow(1, -3, 2), [[S]], lambda x: x[:, 1:3]),
    OpInfo("select", lambda m, x: x.select(0, -1), [[S]], lambda x: x[-1]),
    # flips and rolls
    OpInfo("flip", lambda m, x: m.flip(x, (0, -1)), [[S], [(2, 0, 3)]],
           lambda x: np.flip(x, (0, -1))),
    OpInfo("flip_0d", lambda m, x: x.flip(-1), [[()]], lambda x: x),
    OpInfo("fliplr", lambda m, x: m.fliplr(x), [[S]], np.fliplr),
    OpInfo("flipud", lambda m, x: x.flipud(), [[S]], np.flipud),
    OpInfo("roll_flat", lambda m, x: m.roll(x, 5), [[S]], lambda x: np.roll(x, 5)),
    OpInfo("roll_dims", lambda m, x: x.roll((1, -2), (0, 1)), [[S]],
           lambda x: np.roll(x, (1, -2), (0, 1))),
    *[OpInfo(f"rot90_{k}", lambda m, x, k=k: m.rot90(x, k, (0, 1)), [[S], [(2, 3, 4)]],
             lambda x, k=k: np.rot90(x, k, (0, 1))) for k in (1, 2, 3, -1, 4)],
    OpInfo("rot90_dims", lambda m, x: x.rot90(1, (2, 0)), [[(2, 3, 4)]],
           lambda x: np.rot90(x, 1, (2, 0))),
    # repeats
    OpInfo("repeat", lambda m, x: x.repeat(2, 1, 3), [[(3, 1)], [(2, 3)], [()]],
           lambda x: np.tile(x, (2, 1, 3))),
    OpInfo("tile", lambda m, x: m.tile(x, (2,)), [[S], [(3,)]], lambda x: np.tile(x, (2,))),
    OpInfo("repeat_interleave_int", lambda m, x: x.repeat_interleave(2, dim=1), [[S]],
           lambda x: np.repeat(x, 2, 1)),
    OpInfo("repeat_interleave_flat", lambda m, x: m.repeat_interleave(x, 3), [[S]],
           lambda x: np.repeat(x, 3)),
    OpInfo("repeat_interleave_tensor", lambda m, x, r: x.repeat_interleave(r, 0),
           [[S, I([2, 0, 1])]], lambda x, r: np.repeat(x, r, 0)),
    # triangles and diagonals
    OpInfo("tril", lambda m, x: m.tril(x), [[S], [(2, 3, 3)]], np.tril),
    OpInfo("tril_k", lambda m, x: x.tril(-1), [[S]], lambda x: np.tril(x, -1)),
    OpInfo("triu", lambda m, x: m.triu(x, 1), [[S], [(2, 3, 3)]], lambda x: np.triu(x, 1)),
    OpInfo("diag_1d", lambda m, x: m.diag(x), [[(3,)]], np.diag),
    OpInfo("diag_1d_k", lambda m, x: m.diag(x, -2), [[(3,)]], lambda x: np.diag(x, -2)),
    OpInfo("diag_2d", lambda m, x: m.diag(x, 1), [[S]], lambda x: np.diag(x, 1)),
    OpInfo("diagonal", lambda m, x: m.diagonal(x), [[S], [(4, 3)]], np.diagonal),
    OpInfo("diagonal_dims", lambda m, x: x.diagonal(-1, 2, 0), [[(3, 2, 4)]],
           lambda x: np.diagonal(x, -1, 2, 0)),
    OpInfo("diagonal_out_of_range", lambda m, x: x.diagonal(7), [[S]],
           lambda x: np.diagonal(x, 7)),
    OpInfo("diagonal_scatter", lambda m, x, s: m.diagonal_scatter(x, s, 1), [[S, (3,)]],
           lambda x, s: np_diagonal_scatter(x, s, 1, 0, 1)),
    OpInfo("diag_embed", lambda m, x: m.diag_embed(x), [[(2, 3)], [(3,)]], np_diag_embed),
    OpInfo("diag_embed_dims", lambda m, x: m.diag_embed(x, 1, 0, 2), [[(2, 3)]],
           lambda x: np.moveaxis(np_diag_embed(x, 1), 0, 1)),
    OpInfo("diagflat", lambda m, x: m.diagflat(x, 1), [[(2, 2)]],
           lambda x: np.diagflat(x, 1)),
    OpInfo("trace", lambda m, x: m.trace(x), [[S], [(4, 3)]], np.trace),
    # strided views
    OpInfo("unfold", lambda m, x: x.unfold(1, 2, 1), [[S]], lambda x: np_unfold(x, 1, 2, 1)),
    OpInfo("unfold_step", lambda m, x: x.unfold(0, 2, 3), [[(7, 2)]],
           lambda x: np_unfold(x, 0, 2, 3)),
    OpInfo("unfold_twice", lambda m, x: x.unfold(0, 3, 1).unfold(1, 2, 2), [[(5, 4)]],
           lambda x: np_unfold(np_unfold(x, 0, 3, 1), 1, 2, 2)),
    OpInfo("as_strided", lambda m, x: m.as_strided(x, (3, 3), (1, 2), 1), [[(12,)]],
           lambda x: np.lib.stride_tricks.as_strided(x[1:], (3, 3), (x.itemsize, 2 * x.itemsize))),
    OpInfo("as_strided_overlap", lambda m, x: x.as_strided((2, 2), (2, 2)), [[S]],
           lambda x: x.ravel()[[[0, 2], [2, 4]]]),
    OpInfo("atleast_2d", lambda m, x: m.atleast_2d(x), [[()], [(3,)], [S]],
           np.atleast_2d),
    OpInfo("atleast_3d", lambda m, x, y: m.atleast_3d(x, y), [[(3,), S], [(), (2, 3, 1)]],
           lambda x, y: np.atleast_3d(x, y)),
    OpInfo("T", lambda m, x: x.T, [[S]], lambda x: x.T),
    OpInfo("mT", lambda m, x: x.mT, [[(2, 3, 4)]], lambda x: np.swapaxes(x, -1, -2)),
    # views of the data model
    OpInfo("view", lambda m, x: x.view(2, -1), [[S]], lambda x: x.reshape(2, -1)),
    OpInfo("reshape_copy", lambda m, x: x.t().reshape(-1), [[S]], lambda x: x.T.reshape(-1)),
    OpInfo("flatten", lambda m, x: x.flatten(1), [[(2, 3, 4)]], lambda x: x.reshape(2, -1)),
    OpInfo("flatten_0d", lambda m, x: m.flatten(x), [[()]], lambda x: x.reshape(1)),
    OpInfo("squeeze_dims", lambda m, x: x.squeeze((0, 2)), [[(1, 3, 1)], [(2, 3, 1)]],
           lambda x: np.squeeze(x, tuple(d for d in (0, 2) if x.shape[d] == 1))),
    OpInfo("unsqueeze", lambda m, x: x.unsqueeze(-1), [[S], [()]],
           lambda x: np.expand_dims(x, -1)),
    OpInfo("expand", lambda m, x: x.expand(2, -1, 4), [[(3, 1)]],
           lambda x: np.broadcast_to(x, (2, 3, 4))),
    # broadcasting and grids
    OpInfo("broadcast_tensors", lambda m, x, y: m.broadcast_tensors(x, y), [[(3, 1), (4,)]],
           lambda x, y: np.broadcast_arrays(x, y)),
    OpInfo("meshgrid_ij", lambda m, x, y: m.meshgrid(x, y, indexing="ij"), [[(3,), (2,)]],
           lambda x, y: np.meshgrid(x, y, indexing="ij")),
    OpInfo("meshgrid_xy", lambda m, x, y, z: m.meshgrid([x, y, z], indexing="xy"),
           [[(3,), (2,), (4,)]], lambda x, y, z: np.meshgrid(x, y, z, indexing="xy")),
    # not differentiable: indices, buckets, counts
    OpInfo("nonzero", lambda m, x: m.nonzero(x > 0), [[S], [(5,)]],
           lambda x: np.argwhere(x > 0), grad=False),
    OpInfo("nonzero_tuple", lambda m, x: (x > 0).nonzero(as_tuple=True), [[S]],
           lambda x: np.nonzero(x > 0), grad=False),
    OpInfo("argwhere", lambda m, x: m.argwhere(x > 0), [[(2, 3, 2)]],
           lambda x: np.argwhere(x > 0), grad=False),
    OpInfo("searchsorted", lambda m, s, v: m.searchsorted(s, v),
           [[I([0.0, 1.0, 1.0, 3.0]), (2, 3)]], lambda s, v: np.searchsorted(s, v), grad=False),
    OpInfo("searchsorted_right", lambda m, s, v: m.searchsorted(s, v, right=True),
           [[I([0.0, 1.0, 1.0, 3.0]), I([1.0, 3.0, -1.0])]],
           lambda s, v: np.searchsorted(s, v, "right"), grad=False),
    OpInfo("searchsorted_nd", lambda m, s, v: m.searchsorted(s, v, side="right"),
           [[I([[0.0, 1.0, 2.0], [1.0, 1.0, 5.0]]), I([[1.0], [1.0]])]],
           lambda s, v: np.array([[2], [2]]), grad=False),
    OpInfo("searchsorted_sorter", lambda m, s, v, k: m.searchsorted(s, v, sorter=k),
           [[I([3.0, 1.0, 2.0]), I([2.5, 0.0]), I([1, 2, 0])]],
           lambda s, v, k: np.searchsorted(s, v, sorter=k), grad=False),
    OpInfo("bucketize", lambda m, x, b: m.bucketize(x, b), [[S, I([-1.0, 0.0, 1.0])]],
           lambda x, b: np.searchsorted(b, x), grad=False),
    OpInfo("bincount", lambda m, i: m.bincount(i, minlength=6), [[I([0, 2, 2, 3])]],
           lambda i: np.bincount(i, minlength=6), grad=False),
    OpInfo("bincount_weights", lambda m, i, w: i.bincount(w), [[I([0, 2, 2, 3]), (4,)]],
           lambda i, w: np.bincount(i, w), grad=False, dtypes=("float64",)),
    OpInfo("histc", lambda m, x: m.histc(x, 5, -1, 1), [[(20,)]],
           lambda x: np.histogram(x, 5, (-1, 1))[0], grad=False),
    OpInfo("histc_auto", lambda m, x: x.histc(4), [[(10,)]],
           lambda x: np.histogram(x, 4)[0], grad=False),
    OpInfo("tril_indices", lambda m, x: m.tril_indices(3, 4, 1), [[()]],
           lambda x: np.stack(np.tril_indices(3, 1, 4)), grad=False),
    OpInfo("triu_indices", lambda m, x: m.triu_indices(4, 3, -1), [[()]],
           lambda x: np.stack(np.triu_indices(4, -1, 3)), grad=False),
]

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


# -- errors and edges, against PyTorch --------------------------------------------------------
ERRORS = {
    "flip_duplicate_dims": lambda m: m.zeros(2, 3).flip((0, -2)),
    "flip_dim_range": lambda m: m.zeros(2, 3).flip(2),
    "fliplr_1d": lambda m: m.zeros(3).fliplr(),
    "flipud_0d": lambda m: m.tensor(1.0).flipud(),
    "roll_misaligned": lambda m: m.zeros(2, 3).roll((1, 2), 0),
    "roll_flat_two_shifts": lambda m: m.zeros(2, 3).roll((1, 2)),
    "rot90_one_dim": lambda m: m.zeros(2, 3).rot90(1, (0,)),
    "rot90_same_dims": lambda m: m.zeros(2, 3).rot90(1, (1, 1)),
    "rot90_1d": lambda m: m.zeros(3).rot90(),
    "repeat_too_few": lambda m: m.zeros(2, 3).repeat(2),
    "repeat_negative": lambda m: m.zeros(3).repeat(-1),
    "repeat_interleave_size": lambda m: m.zeros(3).repeat_interleave(m.tensor([1, 2])),
    "repeat_interleave_negative": lambda m: m.zeros(2).repeat_interleave(m.tensor([1, -1])),
    "tril_1d": lambda m: m.zeros(3).tril(),
    "triu_0d": lambda m: m.tensor(1.0).triu(),
    "diag_3d": lambda m: m.zeros(2, 2, 2).diag(),
    "diagonal_same_dims": lambda m: m.zeros(2, 2).diagonal(0, 1, -1),
    "diagonal_dim_range": lambda m: m.zeros(2, 2).diagonal(0, 0, 2),
    "diagonal_scatter_shape": lambda m: m.diagonal_scatter(m.zeros(3, 3), m.ones(2)),
    "diag_embed_same_dims": lambda m: m.diag_embed(m.zeros(2), 0, 0, 0),
    "trace_1d": lambda m: m.zeros(3).trace(),
    "unfold_too_big": lambda m: m.zeros(3).unfold(0, 4, 1),
    "unfold_step": lambda m: m.zeros(3).unfold(0, 2, 0),
    "as_strided_out_of_storage": lambda m: m.zeros(4).as_strided((3,), (2,)),
    "as_strided_lengths": lambda m: m.zeros(4).as_strided((2,), (1, 1)),
    "mT_1d": lambda m: m.zeros(3).mT,
    "broadcast_shapes": lambda m: m.broadcast_shapes((2,), (3,)),
    "broadcast_tensors": lambda m: m.broadcast_tensors(m.zeros(2), m.zeros(3)),
    "meshgrid_2d": lambda m: m.meshgrid(m.zeros(2, 2), indexing="ij"),
    "meshgrid_dtypes": lambda m: m.meshgrid(m.zeros(2), m.zeros(2, dtype=m.int64), indexing="ij"),
    "meshgrid_indexing": lambda m: m.meshgrid(m.zeros(2), indexing="yx"),
    "view_bad_size": lambda m: m.zeros(2, 3).view(4, -1),
    "unflatten_bad_sizes": lambda m: m.zeros(2, 6).unflatten(1, (4, 2)),
    "cat_ndim": lambda m: m.cat([m.zeros(2, 3), m.zeros(3)]),
    "stack_shapes": lambda m: m.stack([m.zeros(2), m.zeros(3)]),
    "split_sizes": lambda m: m.zeros(4).split([1, 2]),
}


@pytest.mark.torch
@pytest.mark.parametrize("name", ERRORS)
def test_errors_like_torch(name):
    torch = pytest.importorskip("torch")
    with pytest.raises(Exception) as te:
        ERRORS[name](torch)
    with pytest.raises(type(te.value)):
        ERRORS[name](ember)


@pytest.mark.torch
def test_shapes_and_grids_like_torch():
    torch = pytest.importorskip("torch")
    for m in (ember, torch):
        assert tuple(m.broadcast_shapes((2, 1), 3, ())) == (2, 3)
        assert tuple(m.broadcast_shapes()) == ()
    e = ember.meshgrid(ember.tensor([1, 2]), ember.tensor(3), indexing="xy")
    t = torch.meshgrid(torch.tensor([1, 2]), torch.tensor(3), indexing="xy")
    assert [tuple(a.shape) for a in e] == [tuple(b.shape) for b in t]
    with pytest.warns(UserWarning, match="indexing"):
        ember.meshgrid(ember.zeros(2), ember.zeros(3))
    for m in (ember, torch):
        x = m.zeros(3, 4)
        assert m.atleast_1d(x) is x and m.atleast_2d(x) is x
        assert [tuple(t.shape) for t in m.atleast_3d([m.zeros(2), m.tensor(1.0)])] == [
            (1, 2, 1), (1, 1, 1)]
        assert x.repeat(1, 1).data_ptr() != x.data_ptr()
    h = ember.histc(ember.tensor([1.0, 1.0, 1.0]), bins=4)
    assert h.tolist() == torch.histc(torch.tensor([1.0, 1.0, 1.0]), bins=4).tolist()
