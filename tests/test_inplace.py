"""In-place ops: leaf checks, graph rewriting, views and their bases, version counters,
saved-tensor checks and ``out=``, compared with PyTorch."""

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

LEAF_ERROR = "a leaf Variable that requires grad is being used in an in-place operation."


def close(e, t):
    if isinstance(t, (tuple, list)):
        assert len(e) == len(t)
        for a, b in zip(e, t):
            close(a, b)
        return
    if t is None or isinstance(t, (str, int, bool)):
        assert e == t
        return
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=1e-5, atol=1e-6)


def same_error(fn, match=None):
    with pytest.raises(Exception) as te:
        fn(torch)
    with pytest.raises(Exception) as ee:
        fn(ember)
    assert isinstance(ee.value, te.type), f"ember: {ee.type.__name__}: {ee.value}; torch: " \
                                          f"{te.type.__name__}: {te.value}"
    if match is not None:
        assert match in str(ee.value), str(ee.value)
        assert match in str(te.value).replace("torch.", "ember."), str(te.value)
    return ee.value


# -- leaves ------------------------------------------------------------------------------------
LEAF_OPS = ["add_(1)", "mul_(2)", "sub_(1)", "div_(2)", "zero_()", "fill_(3)",
            "copy_(m.ones(2))", "exp_()", "clamp_(0, 1)", "pow_(2)", "neg_()", "__iadd__(1)",
            "__imul__(2)", "uniform_()", "normal_()", "abs_()", "sigmoid_()", "relu_()",
            "t_()", "unsqueeze_(0)", "__setitem__(0, 5.)", "clip_(0, 1)",
            "addcmul_(m.ones(2), m.ones(2))", "lerp_(m.ones(2), 0.5)"]


@pytest.mark.parametrize("op", LEAF_OPS)
def test_inplace_on_leaf_requiring_grad_raises(op):
    def run(m):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        eval("x." + op, {"x": x, "m": m})
    same_error(run, LEAF_ERROR)
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError):
        eval("x." + op, {"x": x, "m": ember})
    assert x.tolist() == [1.0, 2.0] and x._version == 0  # unchanged by the failed op


def test_inplace_on_leaf_allowed_under_no_grad():
    def run(m):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        with m.no_grad():
            x.add_(1)
            x.mul_(2)
            x[0] = 7.0
        assert x.is_leaf and x.requires_grad and x.grad_fn is None
        (x * x).sum().backward()
        return x, x.grad
    close(run(ember), run(torch))


def test_view_of_leaf_inplace_raises():
    def run(m):
        a = m.ones(3, requires_grad=True)
        a[:2].mul_(2)
    same_error(run, "a view of a leaf Variable that requires grad is being used in an "
                    "in-place operation.")


# -- non-leaf in-place ops record correctly -------------------------------------------------------
NONLEAF_OPS = [
    "add_(1)", "mul_(2)", "sub_(m.tensor([1., 1., 1.]), alpha=2)", "div_(2)", "zero_()",
    "fill_(3)", "copy_(m.tensor([5., 6., 7.]))", "copy_(m.tensor(5.))", "exp_()",
    "clamp_(0, 2)", "pow_(2)", "neg_()", "__iadd__(1)", "__isub__(0.5)", "__imul__(3)",
    "__itruediv__(4)", "abs_()", "sigmoid_()", "relu_()", "tanh_()", "sqrt_()",
    "__setitem__(0, 5.)", "__setitem__(slice(0, 2), m.tensor([7., 8.]))", "clip_(0, 2)",
    "lerp_(m.ones(3), 0.5)", "addcmul_(m.ones(3), m.ones(3), value=2)",
    "addcdiv_(m.ones(3), m.full((3,), 2.))", "floor_()", "reciprocal_()",
    "mul_(m.tensor([1., 2., 3.], requires_grad=True))", "fmod_(2)", "remainder_(2)", "log_()",
    "sin_()", "round_()", "sign_()", "unsqueeze_(0)", "t_()", "squeeze_()",
]


@pytest.mark.parametrize("op", NONLEAF_OPS)
def test_inplace_on_nonleaf_gradients_match_torch(op):
    def run(m):
        a = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
        x = a * 1
        v0 = x._version
        exec("x." + op, {"x": x, "m": m})
        assert x._version > v0 and not x.is_leaf
        (x * x).sum().backward()
        return a.grad, x
    close(run(ember), run(torch))


def test_inplace_with_other_requiring_grad():
    def run(m):
        a = m.tensor([1.0, 2.0], requires_grad=True)
        b = m.tensor([3.0, 4.0], requires_grad=True)
        x = a.sin()  # sin saves its input, not its output: x may change in place
        x.mul_(b)
        x.add_(b, alpha=2)
        x.sum().backward()
        return a.grad, b.grad
    close(run(ember), run(torch))


def test_fill_and_copy_with_tensor_values_requiring_grad():
    def run(m):
        a = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
        v = m.tensor(2.0, requires_grad=True)
        s = m.tensor([4.0], requires_grad=True)
        x = a * 1
        x.fill_(v)
        y = a * 2
        y.copy_(s)  # broadcast source
        (x * m.tensor([1.0, 2.0, 3.0])).sum().backward(retain_graph=True)
        (y * y).sum().backward()
        return a.grad, v.grad, s.grad
    close(run(ember), run(torch))


def test_copy_casts_dtype_and_device():
    x = ember.zeros(3, dtype=ember.float64)
    x.copy_(ember.tensor([1, 2, 3]))
    assert x.dtype is ember.float64 and x.tolist() == [1.0, 2.0, 3.0]
    y = ember.zeros(2, 3)
    y.copy_(ember.tensor([1.0, 2.0, 3.0]))
    assert y.tolist() == [[1.0, 2.0, 3.0]] * 2
    a = ember.tensor([1.0, 2.0], requires_grad=True)
    z = ember.zeros(2, dtype=ember.float64)
    z.copy_(a)
    z.sum().backward()
    assert a.grad.dtype is ember.float32 and a.grad.tolist() == [1.0, 1.0]


# -- views ----------------------------------------------------------------------------------
def test_inplace_through_view_updates_base_and_grad():
    def run(m):
        a = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
        x = a.clone()
        x[0:2].mul_(2)
        assert x.grad_fn is not None
        (x * x).sum().backward()
        return a.grad, x
    close(run(ember), run(torch))


@pytest.mark.parametrize("view,op", [
    ("x.t()[0]", "add_(10)"), ("x[:, 1]", "mul_(3)"), ("x.view(-1)[1:3]", "exp_()"),
    ("x[1]", "copy_(m.tensor([9., 8.]))"), ("x.transpose(0, 1)", "sigmoid_()"),
    ("x.unsqueeze(0)[0, 0]", "zero_()"), ("x[::2]", "pow_(2)"),
])
def test_inplace_through_views_2d(view, op):
    def run(m):
        a = m.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        x = a.clone()
        v = eval(view, {"x": x})
        eval("v." + op, {"v": v, "m": m})
        (x.exp() * m.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
        return a.grad, x
    close(run(ember), run(torch))


def test_setitem_with_grad_source():
    def run(m):
        a = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
        b = m.tensor([5.0, 6.0], requires_grad=True)
        x = a.clone()
        x[1:] = b * 2
        x.pow(2).sum().backward()
        return a.grad, b.grad
    close(run(ember), run(torch))


def test_view_used_after_base_changed_in_place():
    def run(m):
        a = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
        x = a.clone()
        v = x[1:]
        x.mul_(2)
        (v * 1).sum().backward()
        return a.grad, v
    close(run(ember), run(torch))


def test_view_shares_memory_and_version():
    x = ember.zeros(4)
    v = x[1:3]
    v.add_(1)
    assert x.tolist() == [0.0, 1.0, 1.0, 0.0]
    assert x._version == v._version == 1
    x.mul_(2)
    assert v.tolist() == [2.0, 2.0] and v._version == 2


# -- version counters ------------------------------------------------------------------------
def test_version_counter_bumps():
    def run(m):
        x = m.ones(2)
        out = [x._version]
        x += 1
        out.append(x._version)
        x.add_(1)
        x[0] = 3
        y = x.view(2)
        y.mul_(2)
        out += [x._version, y._version]
        d = x.detach()
        d.zero_()
        out.append(x._version)
        x.data.zero_()  # .data has its own counter
        out.append(x._version)
        return out
    assert run(ember) == run(torch)


# -- saved tensors modified in place ---------------------------------------------------------------
MODIFIED = "one of the variables needed for gradient computation has been modified by an " \
           "inplace operation"


@pytest.mark.parametrize("case", ["output", "input", "constant", "sigmoid", "copyslices",
                                  "detach"])
def test_saved_tensor_modified_raises_like_torch(case):
    def run(m):
        x = m.ones(2, requires_grad=True)
        if case == "output":
            y = x.exp()
            y.add_(1)
            y.sum().backward()
        elif case == "input":
            z = x * 1
            y = z * z
            z.add_(1)
            y.sum().backward()
        elif case == "constant":
            c = m.ones(2)
            y = x * c
            c.add_(1)
            y.sum().backward()
        elif case == "sigmoid":
            y = x.sigmoid()
            y.mul_(2)
            y.sum().backward()
        elif case == "copyslices":
            z = m.ones(2, 2, requires_grad=True).clone()
            y = z * z
            z[0].mul_(2)
            y.sum().backward()
        elif case == "detach":
            y = x.exp()
            y.detach().add_(1)
            y.sum().backward()
    err = same_error(run, MODIFIED)
    msg = str(err)
    if case == "output":
        assert "[ember.FloatTensor [2]], which is output 0 of Exp, is at version 1; expected " \
               "version 0 instead." in msg
    if case == "constant":
        assert "[ember.FloatTensor [2]] is at version 1; expected version 0 instead" in msg


def test_inplace_without_saved_use_is_fine():
    def run(m):
        x = m.ones(2, requires_grad=True)
        y = x + 1
        y.add_(1)
        y.sum().backward()
        w = m.ones(2, requires_grad=True)
        z = w * 2
        z.data.mul_(3)  # changes through .data are not checked
        (z * w).sum().backward()
        return x.grad, w.grad
    close(run(ember), run(torch))


# -- dtype and shape rules of in-place ops ---------------------------------------------------------
def test_inplace_cannot_change_shape_or_dtype():
    same_error(lambda m: m.ones(2, 3).add_(m.ones(3, 3)),
               "The size of tensor a (2) must match the size of tensor b (3) at non-singleton "
               "dimension 0")
    same_error(lambda m: m.ones(3).add_(m.ones(2, 3)), "output with shape [3] doesn't match the "
                                                       "broadcast shape [2, 3]")
    same_error(lambda m: m.tensor([1, 2]).__iadd__(1.5),
               "result type Float can't be cast to the desired output type Long")
    same_error(lambda m: m.ones(3).expand(2, 3).add_(1),
               "unsupported operation: more than one element of the written-to tensor refers to "
               "a single memory location.")
    x = ember.ones(2, 3)
    x.add_(ember.tensor([1.0, 2.0, 3.0]))
    assert x.tolist() == [[2.0, 3.0, 4.0]] * 2


# -- out= -------------------------------------------------------------------------------------
def test_out_argument():
    def run(m):
        a = m.ones(2, 3)
        out = m.zeros(2, 3)
        r = m.add(a, 1, out=out)
        assert r is out
        empty = m.zeros(0)
        m.exp(m.zeros(2, 2), out=empty)
        d = m.zeros(2, dtype=m.float64)
        m.mul(m.tensor([1, 2]), 2, out=d)
        return out, empty, d
    close(run(ember), run(torch))
    with pytest.warns(UserWarning, match="resized"):
        o = ember.zeros(5)
        ember.mul(ember.ones(2, 3), 2, out=o)
    assert o.shape == (2, 3)
    same_error(lambda m: m.add(m.ones(2), m.ones(2), out=m.zeros(2, dtype=m.long)),
               "result type Float can't be cast to the desired output type Long")
    same_error(lambda m: m.mul(m.ones(2, requires_grad=True), 2, out=m.zeros(2)),
               "functions with out=... arguments don't support automatic differentiation")
    with ember.no_grad():
        ember.mul(ember.ones(2, requires_grad=True), 2, out=ember.zeros(2))
