"""Numerical gradient checks: analytical Jacobians (one backward pass per output element)
against central finite differences. Use float64 inputs.

``gradgradcheck`` applies the same check to the function's vector-Jacobian product built
with ``create_graph=True``, so it tests second derivatives.
"""

import warnings

import numpy as np


class GradcheckError(RuntimeError):
    """Raised by :func:`gradcheck` when an analytical gradient is wrong."""


def _flat_outputs(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _tensor_outputs(fn, inputs):
    from ember._tensor import Tensor
    return [o for o in _flat_outputs(fn(*inputs)) if isinstance(o, Tensor)]


def _values(fn, inputs):
    """All outputs of ``fn``, flattened into one float64 (or complex128) vector."""
    outs = _tensor_outputs(fn, inputs)
    parts = [o.detach().numpy(force=True).astype(
        np.complex128 if o._data.dtype.kind == "c" else np.float64).ravel() for o in outs]
    return np.concatenate(parts) if parts else np.zeros(0)


def _numerical_jacobian(fn, inputs, idx, eps):
    """d(all outputs, flattened) / d(inputs[idx]) by central differences, one column per
    element of the input. The input's memory is perturbed in place and restored."""
    data = inputs[idx]._data
    cols = []
    for pos in np.ndindex(data.shape):
        orig = data[pos].copy()
        data[pos] = orig + eps
        plus = _values(fn, inputs)
        data[pos] = orig - eps
        minus = _values(fn, inputs)
        data[pos] = orig
        cols.append((plus - minus) / (2 * eps))
    n_out = sum(o._data.size for o in _tensor_outputs(fn, inputs))
    return np.stack(cols, axis=1) if cols else np.zeros((n_out, 0))


def _analytical_jacobian(fn, inputs, idx):
    """d(all outputs, flattened) / d(inputs[idx]): one backward pass per output element."""
    from ember.autograd import grad
    from ember.ops.creation import zeros_like
    x = inputs[idx]
    rows = []
    for o in _tensor_outputs(fn, inputs):
        for k in range(o._data.size):
            g = None
            if o._requires_grad:
                go = zeros_like(o)
                go._data.reshape(-1)[k] = 1
                g = grad([o], [x], [go], retain_graph=True, allow_unused=True)[0]
            rows.append(np.zeros(x._data.size) if g is None else
                        g.detach().numpy(force=True).astype(np.float64).ravel())
    return np.stack(rows, axis=0) if rows else np.zeros((0, x._data.size))


def _as_tuple(inputs):
    return tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)


def _mismatch(i, num, ana):
    from ember.ops.creation import tensor
    return (f"Jacobian mismatch for output 0 with respect to input {i},\n"
            f"numerical:{tensor(num)!r}\nanalytical:{tensor(ana)!r}\n")


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              nondet_tol=0.0, check_undefined_grad=True, fast_mode=False, **kwargs):
    """True when every input's analytical Jacobian matches finite differences.

    Args:
        func: a function of tensors returning a tensor or a tuple of tensors.
        inputs: a tensor or a tuple of them; those with ``requires_grad`` are checked.
        eps: the finite-difference step.
        atol, rtol: tolerances of the comparison.
        raise_exception: raise :class:`GradcheckError` on a mismatch (else return False).

    Example:
        >>> import ember
        >>> x = ember.randn(3, dtype=ember.float64, requires_grad=True)
        >>> ember.autograd.gradcheck(lambda t: (t * t).sin(), (x,))
        True
    """
    from ember._tensor import Tensor
    inputs = _as_tuple(inputs)
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor) or not x._requires_grad:
            continue
        if x._data.dtype != np.float64:
            warnings.warn(f"Input #{i} requires gradient and is not a double precision floating "
                          f"point. This check will likely fail if all the inputs are not of "
                          f"double precision floating point.")
        num = _numerical_jacobian(func, inputs, i, eps)
        ana = _analytical_jacobian(func, inputs, i)
        if num.shape != ana.shape or not np.allclose(ana, num, rtol=rtol, atol=atol):
            if raise_exception:
                raise GradcheckError(_mismatch(i, num, ana))
            return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  gen_non_contig_grad_outputs=False, raise_exception=True, **kwargs):
    """Check second derivatives: gradcheck of ``grad(func(inputs), inputs, v, create_graph)``.

    Example:
        >>> import ember
        >>> x = ember.randn(3, dtype=ember.float64, requires_grad=True)
        >>> ember.autograd.gradgradcheck(lambda t: t.tanh() * t, (x,))
        True
    """
    from ember._tensor import Tensor
    from ember.autograd import grad
    from ember.ops.creation import zeros_like
    from ember.ops.random import randn_like
    inputs = _as_tuple(inputs)
    if grad_outputs is None:
        outs = _tensor_outputs(func, inputs)
        grad_outputs = tuple(randn_like(o.detach()).requires_grad_(True) for o in outs)
    grad_outputs = _as_tuple(grad_outputs)
    n = len(inputs)
    diff_idx = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x._requires_grad]

    def first_derivative(*args):
        ins, gos = args[:n], args[n:]
        outs = [o for o in _tensor_outputs(func, ins) if o._requires_grad]
        gs = grad(outs, [ins[i] for i in diff_idx], list(gos)[:len(outs)], create_graph=True,
                  allow_unused=True)
        return tuple(g if g is not None else zeros_like(ins[i]) for g, i in zip(gs, diff_idx))
    return gradcheck(first_derivative, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
