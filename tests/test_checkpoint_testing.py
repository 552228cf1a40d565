"""ember.utils.checkpoint and ember.testing.assert_close."""

import pytest

import ember
from ember.utils.checkpoint import checkpoint, checkpoint_sequential


def test_checkpoint_matches_plain_backward():
    x = ember.randn(5, requires_grad=True)
    w = ember.randn(5, requires_grad=True)

    def f(a):
        return (a * w).tanh() * a
    checkpoint(f, x).sum().backward()
    gx, gw = x.grad.clone(), w.grad.clone()
    x.grad = w.grad = None
    f(x).sum().backward()
    ember.testing.assert_close(gx, x.grad)
    ember.testing.assert_close(gw, w.grad)


def test_checkpoint_restores_rng_for_recompute():
    x = ember.randn(1000, requires_grad=True)

    def noisy(a):
        mask = (ember.rand(1000) > 0.5).float()  # like dropout: needs the same mask again
        return a * mask
    out = checkpoint(noisy, x)
    out.sum().backward()
    ember.testing.assert_close(x.grad, (out.detach() != 0).float() + 0 * x.grad)


def test_checkpoint_sequential():
    fns = [lambda t: t * 2, lambda t: t.sin(), lambda t: t + 1, lambda t: t.exp()]
    x = ember.randn(3, requires_grad=True)
    checkpoint_sequential(fns, 2, x).sum().backward()
    g = x.grad.clone()
    x.grad = None
    y = x
    for f in fns:
        y = f(y)
    y.sum().backward()
    ember.testing.assert_close(g, x.grad)


def test_assert_close():
    ember.testing.assert_close(ember.tensor([1.0, 2.0]), ember.tensor([1.0, 2.0 + 1e-7]))
    with pytest.raises(AssertionError, match="not close"):
        ember.testing.assert_close(ember.tensor([1.0]), ember.tensor([1.1]))
    with pytest.raises(AssertionError, match="dtype"):
        ember.testing.assert_close(ember.tensor([1.0]), ember.tensor([1.0], dtype=ember.float64))
    with pytest.raises(AssertionError, match="shape"):
        ember.testing.assert_close(ember.ones(2), ember.ones(3))
    ember.testing.assert_close({"a": [ember.ones(1)]}, {"a": [ember.ones(1)]})
