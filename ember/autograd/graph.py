"""Graph nodes and the backward engine.

A :class:`Node` is one recorded op: its gradient rule and edges ``(node, output_nr)``
to the nodes that produced its inputs. Nodes never hold the tensors they produced
(outputs they need are saved as arrays and rebuilt on use), so a graph is freed by
reference counting once backward is done.

The engine counts, for every node reachable from the roots, how many edges lead
into it, then runs nodes whose count dropped to zero, latest-created first (like
PyTorch). Broadcast gradients are summed back to an input's shape and cast to its
dtype here, once, not in every rule.
"""

import heapq
import os
import re
import itertools
import traceback
import weakref

from ember.backend import compat
from ember.autograd.grad_mode import STATE

_seq = itertools.count()

FREED_MSG = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward.")


def modified_msg(arr, expected, cur, node_name=None, nr=0):
    """PyTorch's error for a saved tensor changed in place after it was saved.

    ``arr`` is the tensor's array; ``node_name`` the grad_fn that made it (None for a leaf).
    """
    from ember._dtype import from_numpy_dtype, scalar_name
    what = f"[ember.{scalar_name(from_numpy_dtype(arr.dtype))}Tensor {list(arr.shape)}]"
    if node_name is not None:  # "output 0 of Exp": the node's name without "Backward0"
        what += f", which is output {nr} of {re.sub(r'Backward[0-9]*$', '', node_name)},"
    return (f"one of the variables needed for gradient computation has been modified by an "
            f"inplace operation: {what} is at version {cur}; expected version {expected} "
            f"instead. Hint: enable anomaly detection to find the operation that failed to "
            f"compute its gradient, with ember.autograd.set_detect_anomaly(True, "
            f"check_nan=False).")


_CORE = tuple(os.path.join(os.path.dirname(os.path.dirname(__file__)), p)
              for p in ("autograd" + os.sep, "ops" + os.sep, "_tensor.py"))


def _forward_trace():
    """The stack that is recording a node, without ember's own innermost op machinery."""
    frames = traceback.extract_stack()
    while frames and frames[-1].filename.startswith(_CORE):
        frames.pop()
    return traceback.format_list(frames)


class _Anomaly:
    enabled = False
    check_nan = True


class Node:
    """Base graph node. Subclasses implement ``apply(grads) -> tuple of input grads``."""

    __slots__ = ("_next", "_metas", "_seq", "_pre_hooks", "_hooks", "_freed", "_trace",
                 "_n_out", "_out_metas", "__weakref__", "metadata")

    def _init(self, next_edges, metas, n_out=1):
        self._next = next_edges
        self._metas = metas
        self._seq = next(_seq)
        self._pre_hooks = None
        self._hooks = None
        self._freed = False
        self._n_out = n_out
        self._out_metas = None
        self._trace = _forward_trace() if _Anomaly.enabled else None

    @property
    def next_functions(self):
        """Tuple of ``(node, output_nr)`` per differentiable input, ``(None, 0)`` where none."""
        return tuple(e if e is not None else (None, 0) for e, m in zip(self._next, self._metas)
                     if m is not None or e is not None)

    def name(self):
        return type(self).__name__

    def register_hook(self, fn):
        """``fn(grad_inputs, grad_outputs)`` runs after this node; may return new grad_inputs."""
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(fn)
        return _Handle(self._hooks, fn)

    def register_prehook(self, fn):
        """``fn(grad_outputs)`` runs before this node; may return new grad_outputs."""
        return self._add_pre_hook(-1, fn)

    def _add_pre_hook(self, nr, fn):
        if self._pre_hooks is None:
            self._pre_hooks = {}
        lst = self._pre_hooks.setdefault(nr, [])
        lst.append(fn)
        return _Handle(lst, fn)

    def release(self):
        """Free saved values after a backward pass without ``retain_graph``."""
        self._freed = True

    def __repr__(self):
        return f"<{self.name()} object at {hex(id(self))}>"


class _Handle:
    """Returned by hook registrations; ``remove()`` unregisters."""

    def __init__(self, lst, fn):
        self._lst, self._fn = lst, fn

    def remove(self):
        if self._fn in self._lst:
            self._lst.remove(self._fn)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class AccumulateGrad(Node):
    """Sink node of a leaf tensor: adds the incoming gradient into ``variable.grad``."""

    __slots__ = ("variable", "_post_acc_hooks")

    def __init__(self, variable):
        self._init((), ())
        self.variable = variable
        self._post_acc_hooks = None

    def apply(self, grads):
        return ()

    def accumulate(self, g, create_graph):
        var = self.variable
        if var.grad is None:
            var.grad = g if create_graph else _own_copy(g)
        elif create_graph or STATE.enabled and var.grad.requires_grad:
            var.grad = var.grad + g
        else:
            vg = var.grad
            if vg._data.shape == g._data.shape and compat.writeable(vg._data):
                vg._data += g._data
                vg._bump()
            else:
                var.grad = vg + g
        if self._post_acc_hooks:
            for h in list(self._post_acc_hooks):
                h(var)

    def name(self):
        return "torch::autograd::AccumulateGrad"

    def __repr__(self):
        return f"<AccumulateGrad object at {hex(id(self))}>"


def _own_copy(g):
    """A detached copy of ``g`` that ``.grad`` owns (later accumulation writes into it)."""
    from ember._tensor import _wrap
    return _wrap(g._data.copy(), g._device)


def accumulator(t):
    """The AccumulateGrad node of leaf tensor ``t`` (cached weakly on the tensor)."""
    ref = t._acc
    node = ref() if ref is not None else None
    if node is None:
        node = AccumulateGrad(t)
        t._acc = weakref.ref(node)
        if t._extra:  # hooks live on the tensor (no tensor <-> node cycle); share them
            node._pre_hooks = t._extra.get("pre_hooks")
            node._post_acc_hooks = t._extra.get("post_acc_hooks")
    return node


def edge_of(t):
    """The graph edge a tensor's gradient flows into, or None if it needs no gradient."""
    if t._base is not None and t._extra is not None:
        refresh_view(t)
    if t._node is not None:
        return (t._node, t._output_nr)
    if t._requires_grad:
        return (accumulator(t), 0)
    return None


def refresh_view(t):
    """Give view ``t`` a node made afresh from its base when the base was changed in place
    since ``t``'s node was made (PyTorch regenerates a view's grad_fn the same way)."""
    ver = t._extra.get("view_ver")
    if ver is None or ver == t._vc[0] or not STATE.enabled:
        return
    t._extra["view_ver"] = t._vc[0]
    fresh = HELPERS["replay"](t._view_fn, t._base)
    t._node, t._output_nr, t._requires_grad = fresh._node, fresh._output_nr, fresh._requires_grad


# set by ember.ops at import: the engine needs two ops but sits below them
HELPERS = {}


def _fit(g, meta, node=None, i=0):
    """Sum a broadcast gradient to the input's shape and cast it to the input's dtype."""
    shape, np_dtype = meta
    if g._data.shape != shape:
        if not _reducible(g._data.shape, shape):
            name = node.name() if node is not None else "a backward function"
            raise RuntimeError(f"Function {name} returned an invalid gradient at index {i} - "
                               f"got {list(g._data.shape)} but expected shape compatible with "
                               f"{list(shape)}")
        g = HELPERS["sum_to"](g, shape)
    if g._data.dtype != np_dtype:
        g = HELPERS["cast"](g, np_dtype)
    return g


def _reducible(gshape, shape):
    """Whether a gradient of ``gshape`` sums down to ``shape`` (``shape`` broadcasts to it)."""
    if len(gshape) < len(shape):
        return False
    return all(s == 1 or s == gs for s, gs in zip(shape[::-1], gshape[::-1]))


def _collect(roots):
    """Dependency counts of every node reachable from the root nodes."""
    deps = {}
    stack = list(dict.fromkeys(roots))  # two outputs of one node are one root
    seen = set(stack)
    while stack:
        for e in stack.pop()._next:
            if e is None:
                continue
            nxt = e[0]
            if nxt in seen:
                deps[nxt] = deps.get(nxt, 0) + 1  # a root reached from another root
            else:
                deps[nxt] = 1
                seen.add(nxt)
                stack.append(nxt)
    return deps


def _needed(roots, targets):
    """Nodes from which some target node can be reached (the ones worth running)."""
    parents = {}
    stack, seen = list(roots), set(roots)
    while stack:
        node = stack.pop()
        for e in node._next:
            if e is None:
                continue
            parents.setdefault(e[0], []).append(node)
            if e[0] not in seen:
                seen.add(e[0])
                stack.append(e[0])
    memo = {}
    stack = [t for t in targets]
    while stack:  # walk the edges backwards from the targets
        node = stack.pop()
        if memo.get(node):
            continue
        memo[node] = True
        stack.extend(parents.get(node, ()))
    return memo


def _run_pre_hooks(node, grads):
    hooks = node._pre_hooks
    for nr, fns in hooks.items():
        if nr < 0:
            continue
        for fn in list(fns):
            if grads[nr] is None:
                continue
            r = fn(grads[nr])
            if r is not None:
                grads[nr] = r
    for fn in list(hooks.get(-1, ())):
        r = fn(tuple(grads))
        if r is not None:
            grads[:] = list(r)


_callbacks = []  # one list per running backward pass (backward can nest)


def queue_callback(fn):
    """Run ``fn()`` once the backward pass now running has finished (DDP uses this)."""
    if not _callbacks:
        raise RuntimeError("queue_callback can only be called during the backward pass")
    _callbacks[-1].append(fn)


def run_backward(roots, root_grads, retain_graph, create_graph, capture=None, accumulate=True,
                 only=None):
    """Run the backward pass.

    Args:
        roots: list of edges ``(node, nr)`` to start from.
        root_grads: gradient tensors for those edges.
        capture: optional dict ``{(node, nr): index}`` whose incoming gradients are returned.
        accumulate: whether AccumulateGrad nodes write ``.grad``.
        only: optional set of AccumulateGrad nodes allowed to accumulate (``inputs=``).
    Returns:
        list of captured gradients (None where nothing flowed), when ``capture`` is given.
    """
    root_nodes = [e[0] for e in roots]
    deps = _collect(root_nodes)
    buffers = {}
    for (node, nr), g in zip(roots, root_grads):
        buf = buffers.get(node)
        if buf is None:
            buf = buffers[node] = [None] * node._n_out
        buf[nr] = g if buf[nr] is None else buf[nr] + g
    captured = [None] * len(capture) if capture else None
    needed = None
    if capture is not None and not accumulate:
        needed = _needed(root_nodes, [k[0] for k in capture])
    if only is not None:
        needed = _needed(root_nodes, list(only))
    ready = []
    for node in dict.fromkeys(root_nodes):
        if deps.get(node, 0) == 0:
            heapq.heappush(ready, (-node._seq, id(node), node))
    prev = STATE.enabled
    STATE.enabled = create_graph
    _callbacks.append([])
    try:
        while ready:
            node = heapq.heappop(ready)[2]
            grads = buffers.pop(node, None)
            _execute(node, grads, deps, buffers, ready, captured, capture, accumulate, only,
                     needed, create_graph, retain_graph)
        for fn in _callbacks[-1]:
            fn()
    finally:
        _callbacks.pop()
        STATE.enabled = prev
    return captured


def _execute(node, grads, deps, buffers, ready, captured, capture, accumulate, only, needed,
             create_graph, retain_graph):
    results = None
    if grads is not None:
        if node._pre_hooks:
            _run_pre_hooks(node, grads)
        if capture is not None:
            for nr, g in enumerate(grads):
                idx = capture.get((node, nr))
                if idx is not None:
                    captured[idx] = g
        if type(node) is AccumulateGrad:
            if grads[0] is not None and accumulate and (only is None or node in only):
                node.accumulate(grads[0], create_graph)
            return
        if needed is None or needed.get(node, False):
            results = _run_node(node, grads, retain_graph)
    metas = node._metas
    for i, e in enumerate(node._next):
        if e is None:
            continue
        nxt, nr = e
        if results is not None and i < len(results):
            g = results[i]
            if g is not None:
                m = metas[i]
                if g._data.shape != m[0] or g._data.dtype != m[1]:
                    g = _fit(g, m, node, i)
                buf = buffers.get(nxt)
                if buf is None:
                    buf = buffers[nxt] = [None] * nxt._n_out
                old = buf[nr]
                buf[nr] = g if old is None else old + g
        d = deps[nxt] - 1
        deps[nxt] = d
        if d == 0:
            heapq.heappush(ready, (-nxt._seq, id(nxt), nxt))


def _run_node(node, grads, retain_graph):
    for g in grads:
        if g is not None:
            break
    else:
        return None
    # a freed node runs again when its rule needs nothing it saved (like PyTorch);
    # reading a freed saved value raises FREED_MSG
    results = _call(node, grads)
    if node._hooks:
        for h in list(node._hooks):
            r = h(results, tuple(grads))
            if r is not None:
                results = tuple(r)
    if not retain_graph:
        node.release()
    return results


def _fill_missing(node, grads):
    if node._n_out == 1 or all(g is not None for g in grads):
        return grads
    zeros = HELPERS["zeros"]
    return [g if g is not None else zeros(m) for g, m in zip(grads, node._out_metas)]


def _call(node, grads):
    grads = _fill_missing(node, grads)
    if not _Anomaly.enabled:
        return node.apply(grads)
    try:
        results = node.apply(grads)
    except Exception as e:
        msg = (f"{e}\n\nError detected in {node.name()}. Traceback of forward call that caused "
               f"the error:\n{''.join(node._trace or [])}")
        try:
            err = type(e)(msg)
        except Exception:  # an exception type that takes other arguments
            err = RuntimeError(msg)
        raise err from e
    if _Anomaly.check_nan:
        for i, r in enumerate(results):
            if r is not None and HELPERS["has_nan"](r):
                raise RuntimeError(
                    f"Function '{node.name()}' returned nan values in its {i}th output.\n"
                    f"Traceback of forward call that caused the error:\n"
                    f"{''.join(node._trace or [])}")
    return results
