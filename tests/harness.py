"""The op table's generic checks.

A row (:class:`OpInfo`) names an op, a function ``fn(m, *tensors)`` that runs the
same code on ``m = ember`` and ``m = torch``, sample inputs, and a NumPy reference.
``op_tests(rows)`` returns the four generic tests every row gets:

- forward vs the NumPy reference (float64 and float32);
- first-order gradients vs central finite differences in float64 (computed here from
  forward evaluations only, not by ember's own gradcheck);
- second-order gradients the same way, through ``create_graph=True``;
- forward and backward vs PyTorch on the same inputs (skipped without torch).

Gradient checks are directional: for random cotangent ``v`` and direction ``u``,
``<grad_x <v, f(x)>, u>`` must equal ``<v, (f(x+eps u) - f(x-eps u)) / 2 eps>``.
"""

import dataclasses
from typing import Any, Callable, Optional, Sequence

import numpy as np
import pytest

import ember

try:
    import torch
except ImportError:  # the oracle tests skip cleanly
    torch = None


@dataclasses.dataclass
class OpInfo:
    """One row of the op table.

    Attributes:
        name: test id.
        fn: ``fn(m, *inputs)``; ``m`` is the ``ember`` or ``torch`` module.
        samples: list of samples; each is a list of args, where an arg is a shape tuple
            (a float tensor drawn from ``domain``), or a NumPy array (used as given; float
            arrays are differentiated, int/bool arrays are not).
        ref: NumPy reference ``ref(*arrays)``; None to skip the forward-vs-NumPy check.
        domain: sampling range for float inputs.
        grad: whether the op is differentiable (first-order check).
        gradgrad: whether to check second order.
        torch: whether to compare with PyTorch.
        atol, rtol: forward tolerances (float64); float32 uses ``atol32``/``rtol32``.
        grad_atol, grad_rtol: tolerances for the finite-difference checks.
        dtypes: float dtypes the forward check runs in.
    """

    name: str
    fn: Callable
    samples: Sequence[Sequence[Any]]
    ref: Optional[Callable] = None
    domain: tuple = (-2.0, 2.0)
    grad: bool = True
    gradgrad: bool = True
    torch: bool = True
    atol: float = 1e-7
    rtol: float = 1e-7
    atol32: float = 1e-5
    rtol32: float = 1e-4
    grad_atol: float = 1e-5
    grad_rtol: float = 1e-4
    dtypes: tuple = ("float64", "float32")


def materialize(row, sample, seed, dtype="float64"):
    """NumPy arrays for a sample: shapes become random floats in ``row.domain``."""
    rng = np.random.default_rng(seed)
    out = []
    for a in sample:
        if isinstance(a, tuple):
            lo, hi = row.domain
            out.append(rng.uniform(lo, hi, size=a).astype(dtype))
        elif isinstance(a, np.ndarray):
            out.append(a.astype(dtype) if a.dtype.kind == "f" else a.copy())
        else:
            out.append(a)
    return out


def _is_float(a):
    return isinstance(a, np.ndarray) and a.dtype.kind == "f"


def to_ember(arrays, requires_grad):
    return [ember.tensor(a, requires_grad=requires_grad and _is_float(a))
            if isinstance(a, np.ndarray) else a for a in arrays]


def to_torch(arrays, requires_grad):
    return [torch.tensor(a, requires_grad=requires_grad and _is_float(a))
            if isinstance(a, np.ndarray) else a for a in arrays]


def flat(out):
    """Tensors of a (nested) result, in order."""
    if isinstance(out, (tuple, list)):
        res = []
        for o in out:
            res.extend(flat(o))
        return res
    return [out]


def _np(t):
    if isinstance(t, ember.Tensor):
        return t.detach().numpy()
    if torch is not None and isinstance(t, torch.Tensor):
        return t.detach().numpy()
    return np.asarray(t)


def _diff_outputs(outs):
    return [o for o in outs if isinstance(o, ember.Tensor) and o.requires_grad]


def _cases(rows):
    return [pytest.param(r, i, id=f"{r.name}-{i}") for r in rows for i in range(len(r.samples))]


def check_forward(row, i):
    if row.ref is None:
        pytest.skip("no NumPy reference for this row")
    for dt in row.dtypes:
        arrays = materialize(row, row.samples[i], i, dt)
        got = [_np(o) for o in flat(row.fn(ember, *to_ember(arrays, False)))]
        want = [np.asarray(w) for w in flat(row.ref(*arrays))]
        assert len(got) == len(want)
        tol = (row.atol, row.rtol) if dt == "float64" else (row.atol32, row.rtol32)
        for g, w in zip(got, want):
            assert g.shape == w.shape, f"{row.name}: shape {g.shape} != {w.shape}"
            np.testing.assert_allclose(g.astype(np.float64) if g.dtype.kind != "c" else g,
                                       w, atol=tol[0], rtol=tol[1], err_msg=row.name)


def _objective(row, arrays, vs):
    """<v, f(x)> evaluated with ember in float64 (no graph)."""
    with ember.no_grad():
        outs = flat(row.fn(ember, *to_ember(arrays, False)))
    total = 0.0
    for o, v in zip([o for o in outs if isinstance(o, ember.Tensor)
                     and o.dtype.is_floating_point], vs):
        total += float(np.sum(_np(o) * v))
    return total


def _fd_directional(f, arrays, idxs, us, eps=1e-6):
    plus = [a.copy() for a in arrays]
    minus = [a.copy() for a in arrays]
    for i, u in zip(idxs, us):
        plus[i] = np.asarray(arrays[i] + eps * u)
        minus[i] = np.asarray(arrays[i] - eps * u)
    return (f(plus) - f(minus)) / (2 * eps)


def check_grad(row, i):
    if not row.grad:
        pytest.skip("not differentiable")
    arrays = materialize(row, row.samples[i], i)
    rng = np.random.default_rng(1000 + i)
    ins = to_ember(arrays, True)
    outs = _diff_outputs(flat(row.fn(ember, *ins)))
    idxs = [k for k, a in enumerate(arrays) if _is_float(a)]
    assert outs, f"{row.name}: no differentiable output"
    vs = [rng.standard_normal(o.shape) for o in outs]
    gs = ember.autograd.grad(outs, [ins[k] for k in idxs], [ember.tensor(v) for v in vs],
                             allow_unused=True)
    us = [rng.standard_normal(arrays[k].shape) for k in idxs]
    analytic = sum(float(np.sum(_np(g) * u)) for g, u in zip(gs, us) if g is not None)
    numeric = _fd_directional(lambda a: _objective(row, a, vs), arrays, idxs, us)
    assert abs(analytic - numeric) <= row.grad_atol + row.grad_rtol * abs(numeric), \
        f"{row.name}: analytic {analytic} vs finite differences {numeric}"


def check_gradgrad(row, i):
    if not (row.grad and row.gradgrad):
        pytest.skip("no second-order check for this row")
    arrays = materialize(row, row.samples[i], i)
    rng = np.random.default_rng(2000 + i)
    idxs = [k for k, a in enumerate(arrays) if _is_float(a)]
    probe = _diff_outputs(flat(row.fn(ember, *to_ember(arrays, True))))
    vs = [rng.standard_normal(o.shape) for o in probe]
    ws = [rng.standard_normal(arrays[k].shape) for k in idxs]

    def first(arrs, graph):
        ins = to_ember(arrs, True)
        outs = _diff_outputs(flat(row.fn(ember, *ins)))
        gs = ember.autograd.grad(outs, [ins[k] for k in idxs], [ember.tensor(v) for v in vs],
                                 create_graph=graph, allow_unused=True)
        terms = [(g * ember.tensor(w)).sum() for g, w in zip(gs, ws) if g is not None]
        return ins, (sum(terms[1:], terms[0]) if terms else None)

    ins, h = first(arrays, True)
    if h is None or not h.requires_grad:
        pytest.skip("gradient does not depend on the inputs (linear op)")
    hs = ember.autograd.grad([h], [ins[k] for k in idxs], allow_unused=True)
    us = [rng.standard_normal(arrays[k].shape) for k in idxs]
    analytic = sum(float(np.sum(_np(g) * u)) for g, u in zip(hs, us) if g is not None)
    numeric = _fd_directional(lambda a: float(_np(first(a, False)[1])), arrays, idxs, us)
    assert abs(analytic - numeric) <= 10 * row.grad_atol + row.grad_rtol * abs(numeric), \
        f"{row.name}: second-order analytic {analytic} vs finite differences {numeric}"


def check_torch(row, i):
    if torch is None:
        pytest.skip("torch is not installed")
    if not row.torch:
        pytest.skip("row has no PyTorch counterpart")
    arrays = materialize(row, row.samples[i], i)
    e_in, t_in = to_ember(arrays, row.grad), to_torch(arrays, row.grad)
    e_out, t_out = flat(row.fn(ember, *e_in)), flat(row.fn(torch, *t_in))
    assert len(e_out) == len(t_out)
    for a, b in zip(e_out, t_out):
        if isinstance(b, torch.Tensor):
            assert tuple(a.shape) == tuple(b.shape), f"{row.name}: {a.shape} vs {b.shape}"
            assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1], \
                f"{row.name}: dtype {a.dtype} vs {b.dtype}"
        np.testing.assert_allclose(_np(a), _np(b), atol=1e-6, rtol=1e-6, equal_nan=True,
                                   err_msg=f"{row.name} forward vs torch")
    if not row.grad:
        return
    rng = np.random.default_rng(3000 + i)
    pairs = [(a, b) for a, b in zip(e_out, t_out) if isinstance(b, torch.Tensor)
             and b.requires_grad]
    if not pairs:
        return
    vs = [rng.standard_normal(tuple(b.shape)) for _, b in pairs]
    idxs = [k for k, a in enumerate(arrays) if _is_float(a)]
    ge = ember.autograd.grad([a for a, _ in pairs], [e_in[k] for k in idxs],
                             [ember.tensor(v) for v in vs], allow_unused=True)
    gt = torch.autograd.grad([b for _, b in pairs], [t_in[k] for k in idxs],
                             [torch.tensor(v) for v in vs], allow_unused=True)
    for k, a, b in zip(idxs, ge, gt):
        if b is None:
            assert a is None or np.allclose(_np(a), 0), f"{row.name}: grad {k} should be None"
            continue
        assert a is not None, f"{row.name}: missing grad for input {k}"
        np.testing.assert_allclose(_np(a), _np(b), atol=1e-6, rtol=1e-5, equal_nan=True,
                                   err_msg=f"{row.name} grad {k} vs torch")


def op_tests(rows):
    """The four generic tests over ``rows``, for a test module to bind at top level."""
    cases = _cases(rows)

    @pytest.mark.parametrize("row,i", cases)
    def test_forward(row, i):
        check_forward(row, i)

    @pytest.mark.parametrize("row,i", cases)
    def test_grad(row, i):
        check_grad(row, i)

    @pytest.mark.parametrize("row,i", cases)
    def test_gradgrad(row, i):
        check_gradgrad(row, i)

    @pytest.mark.torch
    @pytest.mark.parametrize("row,i", cases)
    def test_vs_torch(row, i):
        check_torch(row, i)

    return test_forward, test_grad, test_gradgrad, test_vs_torch
