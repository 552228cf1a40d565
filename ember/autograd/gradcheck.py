"""Numerical gradient checks: analytical vector-Jacobian products against central
finite differences (use float64 inputs)."""

import numpy as np


class GradcheckError(RuntimeError):
    pass


def _flat_outputs(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _numerical_jacobian(fn, inputs, idx, eps):
    """d(all outputs, flattened) / d(inputs[idx]) by central differences."""
    from ember.autograd.grad_mode import no_grad
    x = inputs[idx]
    flat = x._data.reshape(-1)  # a view: writes go into x
    cols = []
    with no_grad():
        for k in range(flat.size):
            orig = flat[k].copy()
            flat[k] = orig + eps
            plus = [o._data.astype(np.complex128 if o._data.dtype.kind == "c" else np.float64)
                    .ravel().copy() for o in _flat_outputs(fn(*inputs))]
            flat[k] = orig - eps
            minus = [o._data.astype(np.complex128 if o._data.dtype.kind == "c" else np.float64)
                     .ravel().copy() for o in _flat_outputs(fn(*inputs))]
            flat[k] = orig
            cols.append(np.concatenate([(p - m) / (2 * eps) for p, m in zip(plus, minus)]))
    return np.stack(cols, axis=1) if cols else np.zeros((0, 0))


def _analytical_jacobian(fn, inputs, idx):
    from ember.autograd import grad
    from ember.ops.creation import zeros_like
    outs = [o for o in _flat_outputs(fn(*inputs))]
    sizes = [o._data.size for o in outs]
    rows = []
    for oi, o in enumerate(outs):
        for k in range(sizes[oi]):
            if not o._requires_grad:
                rows.append(np.zeros(inputs[idx]._data.size))
                continue
            go = zeros_like(o)
            go._data.reshape(-1)[k] = 1
            g = grad([o], [inputs[idx]], [go], retain_graph=True, allow_unused=True)[0]
            rows.append(np.zeros(inputs[idx]._data.size) if g is None else
                        g._data.astype(np.float64).ravel())
    return np.stack(rows, axis=0) if rows else np.zeros((0, 0))


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              nondet_tol=0.0, check_undefined_grad=True, fast_mode=False, **kwargs):
    """True when every input's analytical Jacobian matches finite differences.

    Example:
        >>> import ember
        >>> x = ember.randn(3, dtype=ember.float64, requires_grad=True)
        >>> ember.autograd.gradcheck(lambda t: (t * t).sin(), (x,))
        True
    """
    from ember._tensor import Tensor
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor) or not x._requires_grad:
            continue
        if x._data.dtype != np.float64:
            import warnings
            warnings.warn(f"gradcheck: input {i} is {x.dtype}, not float64; finite differences "
                          f"will be inaccurate")
        num = _numerical_jacobian(func, inputs, i, eps)
        ana = _analytical_jacobian(func, inputs, i)
        if num.shape != ana.shape or not np.allclose(ana, num, rtol=rtol, atol=atol):
            msg = (f"Jacobian mismatch for output 0 with respect to input {i},\n"
                   f"numerical:{num}\nanalytical:{ana}\n")
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  gen_non_contig_grad_outputs=False, raise_exception=True, **kwargs):
    """Check second derivatives: gradcheck of ``grad(func(inputs), inputs, v, create_graph)``."""
    from ember._tensor import Tensor
    from ember.autograd import grad
    from ember.ops.random import randn_like
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    outs = _flat_outputs(func(*inputs))
    if grad_outputs is None:
        grad_outputs = tuple(randn_like(o).double().requires_grad_(True) for o in outs)
    grad_outputs = tuple(grad_outputs) if isinstance(grad_outputs, (tuple, list)) else (
        grad_outputs,)
    n = len(inputs)
    diff_idx = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x._requires_grad]

    def first(*args):
        ins, gos = args[:n], args[n:]
        o = _flat_outputs(func(*ins))
        gs = grad(o, [ins[i] for i in diff_idx], list(gos), create_graph=True, allow_unused=True)
        from ember.ops.creation import zeros_like
        return tuple(g if g is not None else zeros_like(ins[i]) for g, i in zip(gs, diff_idx))
    return gradcheck(first, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
