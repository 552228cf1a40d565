"""Autograd: backward/grad, higher-order gradients, grad modes, hooks, custom Functions,
gradcheck, autograd.functional, anomaly detection and graph freeing, compared with PyTorch."""

import gc
import weakref

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def close(e, t, **kw):
    """An ember result equals a torch result (tensors, or tuples/lists of them, or None)."""
    if isinstance(t, (tuple, list)):
        assert isinstance(e, (tuple, list)) and len(e) == len(t)
        for a, b in zip(e, t):
            close(a, b, **kw)
        return
    if t is None:
        assert e is None
        return
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=1e-5, atol=1e-6,
                               **kw)


def both(fn):
    """``fn(m)`` under ember and under torch."""
    return fn(ember), fn(torch)


def same_error(fn, match=None):
    """``fn(m)`` raises the same exception type under ember and torch (message checked
    against ``match`` when given); returns ember's exception."""
    with pytest.raises(Exception) as te:
        fn(torch)
    with pytest.raises(Exception) as ee:
        fn(ember)
    assert isinstance(ee.value, te.type), f"ember: {ee.type.__name__}: {ee.value}; torch: " \
                                          f"{te.type.__name__}: {te.value}"
    if match is not None:
        assert match in str(ee.value) and match in str(te.value).replace("torch.", "ember.")
    return ee.value


# -- requires_grad and leaves -------------------------------------------------------------------
def test_requires_grad_rules():
    x = ember.ones(2, requires_grad=True)
    c = ember.ones(2)
    assert x.is_leaf and c.is_leaf and x.grad_fn is None
    y = x * c
    assert y.requires_grad and not y.is_leaf and y.grad_fn is not None
    assert not (c * 2).requires_grad and (c * 2).grad_fn is None
    for dt in ("int64", "int32", "bool", "uint8"):
        same_error(lambda m: m.ones(2, dtype=getattr(m, dt), requires_grad=True))
        same_error(lambda m: m.ones(2, dtype=getattr(m, dt)).requires_grad_())
    assert ember.ones(1, dtype=ember.complex64, requires_grad=True).requires_grad
    assert ember.ones(1, dtype=ember.float16).requires_grad_().requires_grad
    assert not (x > 0).requires_grad and not x.argmax().requires_grad
    assert not x.long().requires_grad


def test_grad_fn_names_and_next_functions():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    z = y.exp()
    assert z.grad_fn.name() == "ExpBackward0" and y.grad_fn.name() == "MulBackward0"
    (node, nr), = z.grad_fn.next_functions
    assert node is y.grad_fn and nr == 0
    acc = y.grad_fn.next_functions[0][0]
    assert acc.name().endswith("AccumulateGrad") and acc.variable is x
    assert repr(acc).startswith("<AccumulateGrad object")
    w = ember.tensor([3.0], requires_grad=True)
    s = x * w
    assert [n.variable for n, _ in s.grad_fn.next_functions] == [x, w]
    names = {"x + 1": "AddBackward0", "x - 1": "SubBackward0", "-x": "NegBackward0",
             "x ** 2": "PowBackward0", "x.sqrt()": "SqrtBackward0", "x.tanh()": "TanhBackward0",
             "x.sigmoid()": "SigmoidBackward0", "x.clone()": "CloneBackward0",
             "x.abs()": "AbsBackward0", "x.log()": "LogBackward0", "x.sum()": "SumBackward0",
             "x.view(2, 1)": "ViewBackward0", "x.relu()": "ReluBackward0"}
    for expr, name in names.items():
        assert eval(expr).grad_fn.name() == name, expr
        assert eval(expr, {"x": torch.tensor([1.0, 2.0], requires_grad=True)}).grad_fn.name() \
            == name


# -- backward -------------------------------------------------------------------------------
def test_backward_basic_and_gradient_argument():
    def run(m):
        x = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = (x * x).sum()
        y.backward()
        x2 = m.tensor([1.0, 2.0], requires_grad=True)
        (x2 * 3).backward(m.tensor([1.0, -2.0]))
        return x.grad, x2.grad
    close(*both(run))
    same_error(lambda m: (m.ones(2, requires_grad=True) * 2).backward(),
               "grad can be implicitly created only for scalar outputs")
    same_error(lambda m: (m.ones(2, requires_grad=True) * 2).backward(m.ones(3)),
               "Mismatch in shape")
    same_error(lambda m: m.ones(2).sum().backward(),
               "element 0 of tensors does not require grad and does not have a grad_fn")


def test_backward_twice_needs_retain_graph():
    def run(m):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        y = (x.exp() * x).sum()
        y.backward(retain_graph=True)
        y.backward()
        return x.grad
    close(*both(run))
    err = same_error(lambda m: _backward_twice(m), "Trying to backward through the graph a "
                                                   "second time")
    assert "Specify retain_graph=True" in str(err)


def _backward_twice(m):
    x = m.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    y.backward()


def test_graph_without_saved_values_can_run_twice():
    def run(m):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        y = (x + 1).sum()
        y.backward()
        y.backward()
        return x.grad
    close(*both(run))


def test_gradient_accumulates_across_calls():
    def run(m):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        (x * 2).sum().backward()
        g1 = x.grad.clone()
        (x * x).sum().backward()
        return g1, x.grad
    close(*both(run))
    x = ember.tensor([1.0], requires_grad=True)
    (x * 2).sum().backward()
    first = x.grad
    (x * 2).sum().backward()
    assert x.grad is first and first.tolist() == [4.0]  # accumulated in place


def test_backward_inputs_argument():
    def run(m):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        w = m.tensor([3.0], requires_grad=True)
        (x * w).sum().backward(inputs=[w])
        a = m.tensor([1.0, 2.0], requires_grad=True)
        h = a * 2
        (h * h).sum().backward(inputs=[h])
        return x.grad, w.grad, a.grad, h.grad
    close(*both(run))


def test_create_graph_backward():
    def run(m):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        (x ** 3).sum().backward(create_graph=True)
        g = x.grad
        assert g.requires_grad
        x.grad = None
        g.sum().backward()
        return g, x.grad
    close(*both(run))


def test_autograd_backward_function():
    def run(m):
        x = m.ones(2, requires_grad=True)
        y = m.ones(2, requires_grad=True)
        m.autograd.backward([x.sum(), (y * 2).sum()], [m.tensor(2.0), m.tensor(1.0)])
        return x.grad, y.grad
    close(*both(run))


# -- autograd.grad -------------------------------------------------------------------------------
def test_grad_allow_unused_and_materialize():
    def run(m, **kw):
        x = m.tensor(1.0, requires_grad=True)
        z = m.tensor(1.0, requires_grad=True)
        return m.autograd.grad(x * 2, [x, z], **kw)
    close(*both(lambda m: run(m, allow_unused=True)))
    close(*both(lambda m: run(m, materialize_grads=True)))
    same_error(run, "The differentiated Tensor at index 1 appears to not have been used")
    same_error(lambda m: m.autograd.grad(m.ones(2, requires_grad=True).sum(), m.ones(2)),
               "does not require grad")


def test_grad_outputs_and_no_accumulation():
    def run(m):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        y = x * 3
        g, = m.autograd.grad(y, x, grad_outputs=m.tensor([1.0, -1.0]))
        assert x.grad is None and not g.requires_grad
        a = m.ones(2, 2, requires_grad=True)
        b = a * 2
        multi = m.autograd.grad([b.sum(), (b * b).sum()], [a])
        return g, multi
    close(*both(run))


def test_grad_of_graph_without_saved_values_after_free():
    def run(m):
        x = m.ones(2, requires_grad=True)
        y = x.sum()
        y.backward()
        return m.autograd.grad(y, x)
    close(*both(run))


def _nth_derivatives(m, f, x0, n=3):
    x = m.tensor(x0, dtype=m.float64, requires_grad=True)
    out, g = [], f(x)
    for i in range(n):
        g, = m.autograd.grad(g.sum(), x, create_graph=i < n - 1)
        out.append(g)
    return out


@pytest.mark.parametrize("name,f", [
    ("x**4", lambda x: x ** 4), ("tanh", lambda x: x.tanh()),
    ("sin*exp", lambda x: x.sin() * x.exp()),
    ("sigmoid", lambda x: x.sigmoid()), ("log1p", lambda x: (x * x).log1p()),
    ("div", lambda x: 1 / (1 + x * x)), ("sqrt", lambda x: (x + 3).sqrt()),
])
def test_triple_backprop(name, f):
    close(*both(lambda m: _nth_derivatives(m, f, 0.7)))
    close(*both(lambda m: _nth_derivatives(m, f, [0.3, -1.2])))


def test_triple_backprop_values():
    g1, g2, g3 = _nth_derivatives(ember, lambda x: x ** 4, 2.0)
    assert (g1.item(), g2.item(), g3.item()) == (32.0, 48.0, 48.0)
    assert not g3.requires_grad


def test_double_backward_through_matmul_and_broadcast():
    def run(m):
        a = m.tensor(np.arange(6.0).reshape(2, 3) / 5, requires_grad=True)
        b = m.tensor(np.linspace(-1, 1, 3), requires_grad=True)
        y = ((a * b).tanh() @ b).sum()
        ga, gb = m.autograd.grad(y, [a, b], create_graph=True)
        return m.autograd.grad((ga ** 2).sum() + gb.sum(), [a, b])
    close(*both(run))


# -- grad modes -------------------------------------------------------------------------------
def test_no_grad_enable_grad_set_grad_enabled():
    x = ember.ones(2, requires_grad=True)
    with ember.no_grad():
        assert not ember.is_grad_enabled()
        y = x * 2
        with ember.enable_grad():
            z = x * 2
    assert not y.requires_grad and z.requires_grad and ember.is_grad_enabled()
    ember.set_grad_enabled(False)
    assert not (x * 2).requires_grad
    ember.set_grad_enabled(True)
    with ember.set_grad_enabled(False):
        assert not ember.is_grad_enabled()
    assert ember.is_grad_enabled()
    with ember.autograd.set_grad_enabled(True):
        assert (x * 2).requires_grad


def test_grad_modes_as_decorators():
    x = ember.ones(2, requires_grad=True)

    @ember.no_grad()
    def f():
        return (x * 2).requires_grad

    @ember.no_grad
    def g():
        return (x * 2).requires_grad

    @ember.set_grad_enabled(False)
    def h():
        return ember.is_grad_enabled()

    assert ember.is_grad_enabled()  # decorating changes nothing by itself

    @ember.enable_grad()
    def k():
        return (x * 2).requires_grad

    @ember.inference_mode()
    def i1():
        return (x * 2).requires_grad

    @ember.inference_mode
    def i2():
        return ember.is_inference_mode_enabled()

    @ember.no_grad()
    def gen():
        yield ember.is_grad_enabled()
        yield ember.is_grad_enabled()

    assert (f(), g(), h(), i1(), i2()) == (False, False, False, False, True)
    with ember.no_grad():
        assert k()
    assert list(gen()) == [False, False] and ember.is_grad_enabled()
    assert f.__name__ == "f"


def test_inference_mode():
    x = ember.ones(2, requires_grad=True)
    with ember.inference_mode():
        assert ember.is_inference_mode_enabled() and not ember.is_grad_enabled()
        y = x * 2
    assert not y.requires_grad and not ember.is_inference_mode_enabled()
    with ember.inference_mode(False):
        assert (x * 2).requires_grad and not ember.is_inference_mode_enabled()


def test_grad_mode_restored_after_exception():
    with pytest.raises(ValueError):
        with ember.no_grad():
            raise ValueError
    assert ember.is_grad_enabled()


# -- hooks, retain_grad, detach ------------------------------------------------------------------
def test_register_hook_modifies_grad():
    def run(m):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        h = x.register_hook(lambda g: g * 10)
        (x * x).sum().backward()
        a = x.grad.clone()
        h.remove()
        x.grad = None
        (x * x).sum().backward()
        y_in = m.tensor([1.0, 2.0], requires_grad=True)
        y = y_in * 2
        y.register_hook(lambda g: g + 1)
        seen = []
        y.register_hook(lambda g: seen.append(g.clone()))
        (y * y).sum().backward()
        assert len(seen) == 1
        return a, x.grad, y_in.grad, seen[0]
    close(*both(run))
    same_error(lambda m: m.ones(1).register_hook(lambda g: g))


def test_post_accumulate_grad_hook():
    x = ember.ones(2, requires_grad=True)
    seen = []
    x.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.clone()))
    (x * 3).sum().backward()
    assert len(seen) == 1 and seen[0].tolist() == [3.0, 3.0]


def test_retain_grad():
    def run(m):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        y = x * 2
        y.retain_grad()
        assert y.retains_grad and not x.retains_grad
        (y * y).sum().backward()
        return y.grad, x.grad
    close(*both(run))
    x = ember.ones(2, requires_grad=True)
    x.retain_grad()  # a no-op on leaves
    (x * 2).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_requires_grad_and_detach():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.data_ptr() == x.data_ptr()
    d.zero_()
    assert x.tolist() == [0.0, 0.0]
    y = x * 2
    y.detach_()
    assert not y.requires_grad and y.is_leaf
    a = ember.ones(2)
    assert a.requires_grad_() is a and a.requires_grad
    same_error(lambda m: (m.ones(1, requires_grad=True) * 2).requires_grad_(False),
               "you can only change requires_grad flags of leaf variables")


def test_nonleaf_grad_is_none():
    x = ember.ones(2, requires_grad=True)
    y = x * 2
    y.sum().backward()
    assert y.grad is None and x.grad is not None


# -- custom Function -------------------------------------------------------------------------
def _functions(m):
    class Cube(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return 3 * x ** 2 * g

    class Split(m.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            ctx.k = k
            mask = x > 0
            ctx.mark_non_differentiable(mask)
            return x * k, x + 1, mask

        @staticmethod
        def backward(ctx, ga, gb, gmask):
            return ga * ctx.k + gb, None

    class Mul(m.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            ctx.save_for_backward(x, y)
            return x * y

        @staticmethod
        def backward(ctx, g):
            x, y = ctx.saved_tensors
            ctx.seen = ctx.needs_input_grad
            return (g * y if ctx.needs_input_grad[0] else None,
                    g * x if ctx.needs_input_grad[1] else None)

    class Once(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        @m.autograd.function.once_differentiable
        def backward(ctx, g):
            y, = ctx.saved_tensors
            return g * y

    return Cube, Split, Mul, Once


def test_function_save_for_backward_and_double_backward():
    def run(m):
        Cube = _functions(m)[0]
        x = m.tensor([1.0, -2.0], requires_grad=True)
        y = Cube.apply(x)
        assert y.grad_fn.name() == "CubeBackward"
        g, = m.autograd.grad(y.sum(), x, create_graph=True)
        gg, = m.autograd.grad(g.sum(), x)
        z = m.tensor([0.5, 1.5], requires_grad=True)
        Cube.apply(Cube.apply(z)).sum().backward()  # one Function used twice
        return y, g, gg, z.grad
    close(*both(run))


def test_function_multiple_outputs_and_non_differentiable():
    def run(m):
        Split = _functions(m)[1]
        x = m.tensor([1.0, -2.0], requires_grad=True)
        a, b, mask = Split.apply(x, 3.0)
        assert a.grad_fn is b.grad_fn and not mask.requires_grad
        a.sum().backward()  # b's gradient is materialised as zeros
        g1 = x.grad.clone()
        x.grad = None
        a, b, _ = Split.apply(x, 3.0)
        (a.sum() + 2 * b.sum()).backward()
        return g1, x.grad, mask
    close(*both(run))


def test_function_needs_input_grad():
    def run(m):
        Mul = _functions(m)[2]
        x = m.tensor([1.0, 2.0], requires_grad=True)
        y = m.tensor([3.0, 4.0])
        out = Mul.apply(x, y)
        out.sum().backward()
        assert out.grad_fn.seen == (True, False)
        return x.grad
    close(*both(run))


def test_function_once_differentiable():
    def run(m):
        Once = _functions(m)[3]
        x = m.tensor(1.0, requires_grad=True)
        g, = m.autograd.grad(Once.apply(x), x, create_graph=True)
        assert not g.requires_grad
        return g
    close(*both(run))


def test_function_without_grad_and_errors():
    Cube = _functions(ember)[0]
    with ember.no_grad():
        assert not Cube.apply(ember.ones(1, requires_grad=True)).requires_grad
    assert not Cube.apply(ember.ones(1)).requires_grad

    def wrong_count(m):
        class F(m.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g, g
        F.apply(m.ones(1, requires_grad=True)).sum().backward()

    def wrong_shape(m):
        class F(m.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return m.ones(3)
        F.apply(m.ones(2, requires_grad=True)).sum().backward()

    same_error(wrong_count, "returned an incorrect number of gradients")
    same_error(wrong_shape, "returned an invalid gradient at index 0 - got [3] but expected "
                            "shape compatible with [2]")


def test_function_setup_context_and_mark_dirty():
    def run(m):
        class Scale(m.autograd.Function):
            @staticmethod
            def forward(x, k):
                return x * k

            @staticmethod
            def setup_context(ctx, inputs, output):
                ctx.k = inputs[1]

            @staticmethod
            def backward(ctx, g):
                return g * ctx.k, None

        class Double(m.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                x.mul_(2)
                ctx.mark_dirty(x)
                return x

            @staticmethod
            def backward(ctx, g):
                return g * 2

        x = m.tensor([1.0, 2.0], requires_grad=True)
        Scale.apply(x, 4.0).sum().backward()
        a = m.tensor([1.0, 2.0], requires_grad=True)
        h = a.clone()
        out = Double.apply(h)
        assert out is h
        (out * out).sum().backward()
        return x.grad, a.grad, h
    close(*both(run))


def test_function_saved_tensor_modified_in_place():
    def run(m):
        Cube = _functions(m)[0]
        x = m.tensor([1.0], requires_grad=True)
        z = x * 1
        y = Cube.apply(z)
        z.add_(1)
        y.sum().backward()
    same_error(run, "modified by an inplace operation")


# -- gradcheck ----------------------------------------------------------------------------------
def test_gradcheck_and_gradgradcheck():
    x = ember.tensor([0.3, -1.1, 2.0], dtype=ember.float64, requires_grad=True)
    y = ember.tensor([[0.5], [1.5]], dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(lambda a: (a.sin() * a).sum(), x)
    assert ember.autograd.gradcheck(lambda a, b: (a * b, a.exp() / (1 + b * b)), (x, y))
    assert ember.autograd.gradgradcheck(lambda a: a.tanh() * a, (x,))
    assert ember.autograd.gradgradcheck(lambda a, b: (a * b).sigmoid(), (x, y))
    Cube = _functions(ember)[0]
    assert ember.autograd.gradcheck(Cube.apply, (x,))
    assert ember.autograd.gradgradcheck(Cube.apply, (x,))
    xt = x.detach()[::2].requires_grad_()  # non-contiguous input
    assert ember.autograd.gradcheck(lambda a: a * a, (xt,))


def test_gradcheck_catches_a_wrong_backward():
    def make(m):
        class Bad(m.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g * 3
        return Bad

    x = ember.tensor([1.0, 2.0], dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(make(ember).apply, (x,), raise_exception=False) is False
    with pytest.raises(RuntimeError, match="Jacobian mismatch for output 0 with respect to "
                                           "input 0"):
        ember.autograd.gradcheck(make(ember).apply, (x,))
    from ember.autograd.gradcheck import GradcheckError
    with pytest.raises(GradcheckError):
        ember.autograd.gradcheck(make(ember).apply, (x,))
    with pytest.warns(UserWarning, match="not a double precision"):
        ember.autograd.gradcheck(lambda a: a * 2, (ember.ones(2, requires_grad=True),),
                                 atol=1e-2, rtol=1e-2, eps=1e-3)


def test_gradgradcheck_catches_a_wrong_double_backward():
    class BadSquare(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return g * 2 * x.detach()  # detached: the second derivative is lost

    x = ember.tensor([1.0, 2.0], dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(BadSquare.apply, (x,))
    assert not ember.autograd.gradgradcheck(BadSquare.apply, (x,), raise_exception=False)


# -- autograd.functional ---------------------------------------------------------------------
FUNCTIONAL = [
    ("jacobian", lambda m, F: F.jacobian(lambda x: x ** 2 * x.sum(), m.tensor([1.0, 2.0, 3.0]))),
    ("jacobian multi", lambda m, F: F.jacobian(lambda x, y: (x * y, x + y),
                                               (m.tensor([1.0, 2.0]), m.tensor([3.0, 4.0])))),
    ("jacobian scalar", lambda m, F: F.jacobian(lambda x: x.sum(), m.tensor([1.0, 2.0]))),
    ("jacobian 0d", lambda m, F: F.jacobian(lambda x: x ** 2, m.tensor(3.0))),
    ("jacobian const", lambda m, F: F.jacobian(lambda x: m.ones(2), m.tensor([1.0, 2.0]))),
    ("jacobian matrix", lambda m, F: F.jacobian(lambda x: x @ x.T,
                                                m.tensor([[1.0, 2.0], [3.0, 4.0]]))),
    ("hessian", lambda m, F: F.hessian(lambda x: (x ** 3).sum() * x[0], m.tensor([1.0, 2.0]))),
    ("hessian multi", lambda m, F: F.hessian(lambda x, y: (x * y * y).sum(),
                                             (m.tensor([1.0, 2.0]), m.tensor([3.0, 4.0])))),
    ("vjp", lambda m, F: F.vjp(lambda x: x ** 2, m.tensor([1.0, 2.0]), m.tensor([1.0, -1.0]))),
    ("vjp scalar", lambda m, F: F.vjp(lambda x: x.sum(), m.tensor([1.0, 2.0]))),
    ("jvp", lambda m, F: F.jvp(lambda x: x ** 2, m.tensor([1.0, 2.0]), m.tensor([1.0, 0.0]))),
    ("jvp multi", lambda m, F: F.jvp(lambda x, y: x * y, (m.tensor([1.0, 2.0]),
                                                          m.tensor([3.0, 4.0])),
                                     (m.tensor([1.0, 0.0]), m.tensor([0.0, 1.0])))),
    ("hvp", lambda m, F: F.hvp(lambda x: (x ** 3).sum(), m.tensor([1.0, 2.0]),
                               m.tensor([1.0, 0.5]))),
    ("vhp", lambda m, F: F.vhp(lambda x: (x.sin() * x).sum(), m.tensor([1.0, 2.0]),
                               m.tensor([1.0, 0.5]))),
]


@pytest.mark.parametrize("name,fn", FUNCTIONAL, ids=[f[0] for f in FUNCTIONAL])
def test_functional_matches_torch(name, fn):
    e, t = fn(ember, ember.autograd.functional), fn(torch, torch.autograd.functional)
    close(e, t)


def test_functional_create_graph():
    def run(m):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        J = m.autograd.functional.jacobian(lambda t: t ** 3, x, create_graph=True)
        assert J.requires_grad
        J.sum().backward()
        return J, x.grad
    close(*both(run))


# -- anomaly detection --------------------------------------------------------------------------
def test_detect_anomaly_nan_names_op_and_line():
    x = ember.tensor([0.0, 1.0], requires_grad=True)
    with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
        with ember.autograd.detect_anomaly():
            y = x.sqrt()  # SOURCE-LINE-MARKER
            with pytest.raises(RuntimeError) as err:
                (y * 0).sum().backward()
    msg = str(err.value)
    assert "Function 'SqrtBackward0' returned nan values in its 0th output." in msg
    assert "SOURCE-LINE-MARKER" in msg and "test_autograd.py" in msg
    assert not ember.autograd.is_anomaly_enabled()
    (x.sqrt() * 0).sum().backward()  # without anomaly mode: NaN gradients, no error
    assert np.isnan(x.grad.numpy()[0])


def test_detect_anomaly_error_in_backward_names_forward_line():
    class Boom(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            raise ValueError("boom")

    x = ember.ones(1, requires_grad=True)
    with pytest.warns(UserWarning):
        with ember.autograd.detect_anomaly(check_nan=False):
            y = Boom.apply(x)  # BOOM-LINE-MARKER
            with pytest.raises(ValueError) as err:
                y.sum().backward()
    msg = str(err.value)
    assert msg.startswith("boom") and "Error detected in BoomBackward" in msg
    assert "BOOM-LINE-MARKER" in msg


def test_set_detect_anomaly():
    ember.autograd.set_detect_anomaly(True)
    assert ember.is_anomaly_enabled() and ember.autograd.is_anomaly_enabled()
    ember.autograd.set_detect_anomaly(False)
    assert not ember.is_anomaly_enabled()
    with ember.autograd.set_detect_anomaly(True, check_nan=False):
        assert ember.is_anomaly_enabled() and not ember.is_anomaly_check_nan_enabled()
    assert not ember.is_anomaly_enabled()


# -- memory: the graph is freed by reference counting ----------------------------------------------
@pytest.fixture
def no_gc():
    gc.disable()
    yield
    gc.enable()


def _cube_fn():
    return _functions(ember)[0]


GRAPHS = {
    "exp": lambda x: x.exp(),
    "retain_grad": lambda x: _retained(x * 2),
    "view inplace": lambda x: _view_inplace(x),
    "function": lambda x: _cube_fn().apply(x),
    "views": lambda x: x.view(3, 1).expand(3, 2),
    "hook": lambda x: _hooked(x * 2),
    "double backward": lambda x: ember.autograd.grad(x.exp().sum(), x, create_graph=True)[0],
    "inplace": lambda x: (x * 1).add_(1),
}


def _retained(y):
    y.retain_grad()
    return y


def _hooked(y):
    y.register_hook(lambda g: g * 2)
    return y


def _view_inplace(x):
    y = x.clone()
    y[0:2].mul_(2)
    return y


@pytest.mark.parametrize("backward", [True, False])
@pytest.mark.parametrize("name", list(GRAPHS))
def test_graph_freed_by_refcount(no_gc, name, backward):
    x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x.register_hook(lambda g: g)
    inter = GRAPHS[name](x)
    out = (inter.exp() * 2).sum()
    refs = [weakref.ref(inter), weakref.ref(inter.grad_fn), weakref.ref(out.grad_fn)]
    if backward:
        out.backward()
        assert x.grad is not None
    del inter, out
    assert [r() for r in refs] == [None, None, None]
    rx = weakref.ref(x)
    del x
    assert rx() is None


def test_saved_tensors_freed_after_backward(no_gc):
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    z = (y * x).sum()
    node = z.grad_fn
    z.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        z.backward()
    del node
