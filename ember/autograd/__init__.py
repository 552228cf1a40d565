"""Reverse-mode autograd: ``backward``, ``grad``, grad modes, custom Functions, checks."""

from ember.autograd.grad_mode import (no_grad, enable_grad, set_grad_enabled, inference_mode,
                                      is_grad_enabled, is_inference_mode_enabled, STATE)
from ember.autograd.graph import Node, run_backward, edge_of, _Anomaly
from ember.autograd.function import Function, FunctionCtx, once_differentiable
from ember.autograd.anomaly import (detect_anomaly, set_detect_anomaly, is_anomaly_enabled,
                                    is_anomaly_check_nan_enabled)
from ember.autograd.gradcheck import gradcheck, gradgradcheck, GradcheckError
from ember.autograd import functional, graph, forward_ad  # noqa: F401

__all__ = ["backward", "grad", "no_grad", "enable_grad", "set_grad_enabled", "inference_mode",
           "Function", "FunctionCtx", "once_differentiable", "gradcheck", "gradgradcheck",
           "GradcheckError", "detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled",
           "is_anomaly_check_nan_enabled", "functional", "Node", "is_grad_enabled",
           "is_inference_mode_enabled", "run_backward", "edge_of", "STATE", "_Anomaly"]


def _as_list(x):
    if x is None:
        return None
    if isinstance(x, (list, tuple)):
        return list(x)
    return [x]


def _root_grads(outputs, grad_outputs, op):
    from ember._tensor import _wrap
    grads = []
    for i, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if g is None:
            if out._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if out._data.dtype.kind not in "fV":
                raise RuntimeError(f"grad can be implicitly created only for real scalar "
                                   f"outputs but got {out.dtype}")
            g = _wrap(out._device.xp.ones_like(out._data), out._device)
        elif tuple(g.shape) != tuple(out.shape):
            raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of "
                               f"{g.shape!r} and output[{i}] has a shape of {out.shape!r}.")
        grads.append(g)
    return grads


def _edges(outputs):
    edges = []
    for i, out in enumerate(outputs):
        e = edge_of(out)
        if e is None:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have "
                               f"a grad_fn")
        edges.append(e)
    return edges


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate gradients of ``tensors`` into the ``.grad`` of graph leaves.

    Example:
        >>> import ember
        >>> x = ember.tensor([3.0], requires_grad=True)
        >>> ember.autograd.backward((x ** 2).sum())
        >>> x.grad
        tensor([6.])
    """
    outputs = _as_list(tensors)
    grads = _as_list(grad_tensors) or [None] * len(outputs)
    if retain_graph is None:
        retain_graph = create_graph
    roots = _edges(outputs)
    root_grads = _root_grads(outputs, grads, "backward")
    only = None
    if inputs is not None:
        from ember.autograd.graph import accumulator
        ins = _as_list(inputs)
        if not ins:
            raise RuntimeError("backward: 'inputs' argument to backward() cannot be empty.")
        only = set()
        for t in ins:
            if t._node is not None:
                t.retain_grad()
                only.add(t._node)
            else:
                only.add(accumulator(t))
    run_backward(roots, root_grads, retain_graph, create_graph, only=only)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """Gradients of ``outputs`` w.r.t. ``inputs``, returned (not accumulated into ``.grad``).

    With ``create_graph=True`` the result is itself differentiable (double backprop).
    """
    outputs = _as_list(outputs)
    inputs = _as_list(inputs)
    grads = _as_list(grad_outputs) or [None] * len(outputs)
    if retain_graph is None:
        retain_graph = create_graph
    if allow_unused is None:
        allow_unused = materialize_grads
    for i, t in enumerate(inputs):
        if not t._requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    roots = _edges(outputs)
    root_grads = _root_grads(outputs, grads, "grad")
    capture = {}
    from ember.autograd.graph import accumulator
    for i, t in enumerate(inputs):
        capture[edge_of(t)] = i
    keep = [accumulator(t) for t in inputs if t._node is None]  # alive during the run
    res = run_backward(roots, root_grads, retain_graph, create_graph, capture=capture,
                       accumulate=False)
    del keep
    out = []
    for i, (t, g) in enumerate(zip(inputs, res)):
        if g is None:
            if materialize_grads:
                from ember.ops.creation import zeros_like
                g = zeros_like(t)
            elif not allow_unused:
                raise RuntimeError(f"The differentiated Tensor at index {i} appears to not "
                                   f"have been used in the graph. Set allow_unused=True if this "
                                   f"is the desired behavior.")
        elif not create_graph:
            g = g.detach()
        out.append(g)
    return tuple(out)
