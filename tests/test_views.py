"""Views compared with PyTorch: which ops share memory, writes through views, strides and
offsets, in-place ops on views inside the graph (CopySlices), and shared version counters."""

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def _np(t):
    return t.detach().numpy()


def same(a, b):
    if isinstance(b, (tuple, list)):
        for x, y in zip(a, b):
            same(x, y)
        return
    assert tuple(a.shape) == tuple(b.shape)
    np.testing.assert_allclose(_np(a), _np(b), rtol=1e-6, atol=1e-6)


def both(fn):
    return fn(ember), fn(torch)


def shares(m, a, b):
    if m is torch:
        return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()
    return bool(np.shares_memory(a._data, b._data))


def base(m):
    return m.arange(24, dtype=m.float32).reshape(2, 3, 4)


OPS = {
    "view": lambda m, x: x.view(6, 4),
    "view_as": lambda m, x: x.view_as(m.zeros(4, 6)),
    "reshape_contig": lambda m, x: x.reshape(4, 6),
    "reshape_copy": lambda m, x: x.transpose(0, 2).reshape(-1),
    "flatten": lambda m, x: x.flatten(),
    "flatten_noop": lambda m, x: x.flatten(1, 1),
    "unflatten": lambda m, x: x.unflatten(2, (2, 2)),
    "ravel": lambda m, x: x.ravel(),
    "permute": lambda m, x: x.permute(2, 0, 1),
    "transpose": lambda m, x: x.transpose(0, 1),
    "t": lambda m, x: x[0].t(),
    "T_2d": lambda m, x: x[0].T,
    "mT": lambda m, x: x.mT,
    "movedim": lambda m, x: x.movedim(0, -1),
    "squeeze": lambda m, x: x[:1].squeeze(0),
    "unsqueeze": lambda m, x: x.unsqueeze(1),
    "expand": lambda m, x: x[:, :1].expand(2, 5, 4),
    "broadcast_to": lambda m, x: m.broadcast_to(x[0, 0], (3, 4)),
    "narrow": lambda m, x: x.narrow(2, 1, 2),
    "select": lambda m, x: x.select(1, 2),
    "unbind": lambda m, x: x.unbind(1)[1],
    "split": lambda m, x: x.split(2, 2)[1],
    "chunk": lambda m, x: x.chunk(3, 1)[2],
    "diagonal": lambda m, x: x.diagonal(1, 1, 2),
    "unfold": lambda m, x: x.unfold(2, 2, 1),
    "as_strided": lambda m, x: x.as_strided((3, 3), (4, 1), 2),
    "detach": lambda m, x: x.detach(),
    "contiguous_noop": lambda m, x: x.contiguous(),
    "atleast_3d": lambda m, x: m.atleast_3d(x[0]),
    "meshgrid": lambda m, x: m.meshgrid(x[0, 0], x[1, 1], indexing="ij")[0],
    "broadcast_tensors": lambda m, x: m.broadcast_tensors(x, m.zeros(3, 1))[0],
    # copies
    "contiguous_copy": lambda m, x: x.transpose(1, 2).contiguous(),
    "clone": lambda m, x: x.clone(),
    "flip": lambda m, x: x.flip(0),
    "roll": lambda m, x: x.roll(1),
    "rot90": lambda m, x: x.rot90(1, (1, 2)),
    "repeat": lambda m, x: x.repeat(1, 1, 1),
    "tile": lambda m, x: x.tile((2,)),
    "diag": lambda m, x: m.diag(x[0]),
    "tril": lambda m, x: x.tril(),
    "index_select": lambda m, x: x.index_select(0, m.tensor([1])),
    "gather": lambda m, x: x.gather(0, m.zeros(1, 3, 4, dtype=m.int64)),
    "masked_select": lambda m, x: x.masked_select(x > 3),
    "take": lambda m, x: x.take(m.tensor([0, 1])),
    "repeat_interleave": lambda m, x: x.repeat_interleave(1, 0),
}


@pytest.mark.parametrize("name", OPS)
def test_shares_memory_like_torch(name):
    def run(m):
        x = base(m)
        out = OPS[name](m, x)
        return shares(m, out, x), tuple(out.shape), out.is_contiguous()
    e, t = both(run)
    assert e == t


# expanded views are read-only; unfold's windows overlap (an in-place op there is undefined)
@pytest.mark.parametrize("name", [n for n in OPS if n not in ("expand", "broadcast_to", "unfold",
                                                               "meshgrid", "broadcast_tensors")])
def test_writes_through_result_like_torch(name):
    def run(m):
        x = base(m)
        out = OPS[name](m, x)
        out.mul_(-1)
        return x, out
    same(*both(run))


def test_expanded_views_refuse_writes():
    for m in (ember, torch):
        with pytest.raises(RuntimeError):
            base(m)[:, :1].expand(2, 5, 4).add_(1)


@pytest.mark.parametrize("name", ["transpose", "diagonal", "unfold", "as_strided", "select",
                                  "narrow", "expand", "mT", "split"])
def test_strides_and_offsets_like_torch(name):
    def run(m):
        out = OPS[name](m, base(m))
        return out.stride(), out.storage_offset()
    e, t = both(run)
    assert e == t


def test_view_needs_compatible_strides():
    for m in (ember, torch):
        x = base(m).transpose(0, 2)
        with pytest.raises(RuntimeError):
            x.view(-1)
        assert not shares(m, x.reshape(-1), x)
        assert shares(m, x.view(4, 3, 2), x)  # same shape: always a view
        with pytest.raises(RuntimeError):
            base(m).view(5, -1)
        with pytest.raises(RuntimeError):
            base(m).view(-1, -1)


def test_expand_errors_like_torch():
    for bad in [(3,), (2, 5, 5), (-1, 3, 4, 1), (2, -1, 5)]:
        for m in (ember, torch):
            with pytest.raises(RuntimeError):
                base(m).expand(*bad)


def test_squeeze_unsqueeze_edges():
    for m in (ember, torch):
        x = m.zeros(1, 3, 1)
        assert x.squeeze().shape == (3,) and x.squeeze(1).shape == (1, 3, 1)
        assert x.squeeze((0, 2)).shape == (3,) and x.squeeze(-1).shape == (1, 3)
        z = m.tensor(1.0)
        assert z.squeeze(0).shape == () and z.unsqueeze(-1).shape == (1,)
        assert z.unsqueeze(0).unsqueeze(0).shape == (1, 1)
        with pytest.raises(IndexError):
            x.squeeze(3)
        with pytest.raises(IndexError):
            x.unsqueeze(4)


def test_flatten_edges():
    for m in (ember, torch):
        assert m.flatten(m.tensor(2.0)).shape == (1,)
        assert base(m).flatten(0, 1).shape == (6, 4)
        assert m.zeros(2, 0, 3).flatten(1).shape == (2, 0)
        with pytest.raises(RuntimeError):
            base(m).flatten(2, 1)
        with pytest.raises(IndexError):
            m.tensor(2.0).flatten(1)


def test_T_mT_errors_and_warnings():
    with pytest.raises(RuntimeError):
        ember.zeros(3).mT
    with pytest.warns(UserWarning):
        ember.zeros(2, 3, 4).T
    assert ember.zeros(2, 3, 4).T.shape == (4, 3, 2)


# -- in-place ops on views inside the graph ----------------------------------------------------
INPLACE_ON_VIEW = {
    "slice_mul": lambda v: v[1:, ::2].mul_(3),
    "select_add": lambda v: v[0].add_(v[1]),
    "setitem_basic": lambda v: v.__setitem__((slice(None), 1), 5.0),
    "setitem_advanced": lambda v: v.__setitem__(([0, 2], [1, 3]), v[1, :2] + 1),
    "setitem_mask": lambda v: v.__setitem__(v > 5, 0.0),
    "diagonal": lambda v: v.diagonal().mul_(v.diagonal(1)[:3].exp()),
    "transpose_view_chain": lambda v: v.t()[1:].unsqueeze(0).view(3, 3).div_(4),
    "unfold": lambda v: v.unfold(1, 2, 2).mul_(2),
    "as_strided": lambda v: v.as_strided((2, 2), (1, 4), 1).sub_(1),
    "index_add_on_view": lambda v: v[1:].index_add_(1, v.new_tensor([0, 0]).long(),
                                                    v[1:, :2] + 3),
    "masked_fill_on_view": lambda v: v[:, 1:].masked_fill_(v[:, 1:] > 4, -1.0),
}


@pytest.mark.parametrize("name", INPLACE_ON_VIEW)
def test_inplace_on_view_gradients_like_torch(name):
    def run(m):
        leaf = m.arange(12, dtype=m.float64).reshape(3, 4).div(3).requires_grad_()
        y = leaf * leaf
        INPLACE_ON_VIEW[name](y)
        grad_fn = type(y.grad_fn).__name__ if m is torch else y.grad_fn.name()
        (y.sin() * m.arange(12, dtype=m.float64).reshape(3, 4)).sum().backward()
        return y, leaf.grad, grad_fn
    (ye, ge, ne), (yt, gt, nt) = both(run)
    same((ye, ge), (yt, gt))
    assert ne == nt  # CopySlices, or IndexPutBackward0 for an advanced key on y itself


def test_inplace_on_view_double_backward_like_torch():
    def run(m):
        x = m.arange(6, dtype=m.float64).reshape(2, 3).div(2).requires_grad_()
        y = x * 1
        y[:, 1].mul_(y[:, 2].clone())
        y.diagonal().mul_(3)
        (g,) = m.autograd.grad((y ** 3).sum(), x, create_graph=True)
        (gg,) = m.autograd.grad((g * g).sum(), x)
        return g, gg
    same(*both(run))


def test_inplace_on_view_of_leaf_raises_like_torch():
    for m in (ember, torch):
        x = m.zeros(3, 4, requires_grad=True)
        with pytest.raises(RuntimeError, match="view of a leaf Variable"):
            x[0].add_(1)
        with pytest.raises(RuntimeError, match="leaf Variable"):
            x.diagonal().mul_(2)


def test_base_and_view_share_version_counter():
    def run(m):
        x = m.zeros(3, 4)
        v, d, u = x[1:], x.diagonal(), x.unfold(0, 2, 1)
        versions = []
        for op in (lambda: v.add_(1), lambda: x.mul_(2), lambda: d.fill_(3),
                   lambda: u.sub_(1), lambda: x.__setitem__([0], 1.0)):
            op()
            versions.append(tuple(t._version for t in (x, v, d, u)))
        return versions
    e, t = both(run)
    assert e == t


MODIFY_AFTER_SAVE = {
    "view_modified": lambda x, v: v.mul_(2),
    "base_modified": lambda x, v: x.add_(1),
    "sibling_view_modified": lambda x, v: x[0].zero_(),
    "diagonal_modified": lambda x, v: x.diagonal().add_(1),
    "setitem_on_base": lambda x, v: x.__setitem__([1], 0.0),
}


@pytest.mark.parametrize("name", MODIFY_AFTER_SAVE)
def test_modified_after_saved_for_backward_raises_like_torch(name):
    for m in (ember, torch):
        leaf = m.ones(3, 4, requires_grad=True)
        x = leaf * 2
        v = x[1:]
        out = (v * v).sum()  # mul saves v
        MODIFY_AFTER_SAVE[name](x, v)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            out.backward()


def test_unsaved_view_modification_is_fine():
    def run(m):
        leaf = m.ones(3, 4, requires_grad=True)
        x = leaf * 2
        out = (x[1:] + 1).sum()  # add saves nothing
        x[0].mul_(5)
        out.backward()
        return leaf.grad
    same(*both(run))


def test_base_modified_in_place_then_view_used():
    def run(m):
        leaf = m.arange(12, dtype=m.float64).reshape(3, 4).requires_grad_()
        x = leaf * 3
        v, w = x.diagonal(), x[1:]
        x.mul_(2)  # v sees the new values; its grad_fn is made afresh from the base
        w[0].add_(x[2].clone())  # so does v after a sibling view wrote into the base
        (v * v).sum().backward()
        return v, leaf.grad
    same(*both(run))
