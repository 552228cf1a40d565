"""The op registry: every primitive is defined once, here recorded by name.

A :class:`Primitive` has an array-level forward ``f(xp, *arrays, **params)`` that
runs on NumPy or CuPy alike, and a gradient rule ``vjp(ctx, grad)`` written in
ember ops (so the backward pass can itself be recorded and differentiated
again). The rule lives right below the forward in each family's file. The JIT,
the profiler and exporters read ``REGISTRY``; there is no second list of ops.

``apply`` is the hot path: unwrap, call xp, wrap; and only when recording, build
one :class:`PrimNode`.
"""

from ember._tensor import Tensor, _wrap
from ember._dtype import from_numpy_dtype
from ember.autograd.grad_mode import STATE
from ember.autograd.graph import Node, edge_of, FREED_MSG

REGISTRY = {}


class Primitive:
    """One primitive op.

    Args:
        name: the op's name (``"add"``); its node is named ``AddBackward0``.
        forward: ``f(xp, *arrays, **params)`` returning an array or a tuple of arrays.
        save: which inputs the rule needs: ``"all"``, ``"none"`` or a tuple of positions.
        save_output: whether the rule reads the forward's output(s) (``ctx.out``).
        n_out: number of outputs (a tuple is returned when > 1).
        differentiable: outputs of non-differentiable ops never require grad.
        view: the output shares memory with input 0 (a view, like ``transpose``).
        fuse: for elementwise ops, the scalar expression the JIT can fuse.
        nondiff_outputs: positions of outputs that never require grad (e.g. indices).
    """

    __slots__ = ("name", "forward", "vjp", "save", "save_output", "n_out", "differentiable",
                 "view", "fuse", "nondiff_outputs", "node_name")

    def __init__(self, name, forward, *, save="all", save_output=False, n_out=1,
                 differentiable=True, view=False, fuse=None, nondiff_outputs=()):
        self.name = name
        self.forward = forward
        self.vjp = None
        self.save = save
        self.save_output = save_output
        self.n_out = n_out
        self.differentiable = differentiable
        self.view = view
        self.fuse = fuse
        self.nondiff_outputs = nondiff_outputs
        self.node_name = "".join(p.capitalize() for p in name.split("_")) + "Backward0"
        REGISTRY[name] = self

    def defvjp(self, fn):
        """Register the gradient rule (used as a decorator below the forward)."""
        self.vjp = fn
        return fn

    def __call__(self, *args, **params):
        return apply(self, args, params)

    def __repr__(self):
        return f"<primitive {self.name}>"


def primitive(name, **kw):
    """Decorator form: ``@primitive("exp", save_output=True)`` over the forward function."""
    def deco(fn):
        return Primitive(name, fn, **kw)
    return deco


class PrimNode(Node):
    """Graph node of a primitive: what its rule saved, and its edges."""

    __slots__ = ("prim", "params", "_inputs", "_versions", "_out", "_out_version")

    def apply(self, grads):
        r = self.prim.vjp(self, grads[0] if self.prim.n_out == 1 else grads)
        return r if type(r) is tuple else (r,)

    def name(self):
        return self.prim.node_name

    def release(self):
        self._freed = True
        self._inputs = None
        self._out = None

    # -- what a rule reads ---------------------------------------------------------
    @property
    def inputs(self):
        """The saved inputs (tensors re-checked against in-place changes, and scalars)."""
        if self._freed or self._inputs is None:
            raise RuntimeError(FREED_MSG)
        for t, v in zip(self._inputs, self._versions):
            if v is not None:
                cur = t._version[0] if t._version is not None else 0
                if cur != v:
                    _raise_modified(t, v, cur)
        return self._inputs

    @property
    def out(self):
        """The forward's output, rebuilt from the saved array (its grad_fn is this node)."""
        if self._freed or self._out is None:
            raise RuntimeError(FREED_MSG)
        outs = []
        for i, (arr, dev) in enumerate(self._out):
            ver = self._out_version[i]
            if ver[0][0] != ver[1]:
                raise RuntimeError(_modified_msg(arr, ver[1], ver[0][0], self.name(), i))
            t = _wrap(arr, dev)
            if STATE.enabled:
                t._node, t._output_nr, t._requires_grad = self, i, True
            outs.append(t)
        return outs[0] if self.prim.n_out == 1 else tuple(outs)

    @property
    def needs_input_grad(self):
        return tuple(e is not None for e in self._next)

    @property
    def input_shapes(self):
        return tuple(m[0] if m is not None else None for m in self._metas)


def _modified_msg(arr, expected, cur, node_name, nr):
    dt = from_numpy_dtype(arr.dtype).name
    return (f"one of the variables needed for gradient computation has been modified by an "
            f"inplace operation: [{dt} {list(arr.shape)}], which is output {nr} of "
            f"{node_name}, is at version {cur}; expected version {expected} instead. Hint: "
            f"enable anomaly detection to find the operation that failed to compute its "
            f"gradient, with torch.autograd.set_detect_anomaly(True).")


def _raise_modified(t, expected, cur):
    name = t._node.name() if t._node is not None else "a leaf"
    raise RuntimeError(_modified_msg(t._data, expected, cur, name, t._output_nr))


def _device_error(name, a, b):
    return RuntimeError(f"{name}: Expected all tensors to be on the same device, but found at "
                        f"least two devices, {a} and {b}!")


def apply(prim, args, params):
    """Run primitive ``prim`` on ``args`` (tensors and scalars); record a node if needed."""
    arrays = []
    dev = None
    grad = False
    for a in args:
        if isinstance(a, Tensor):
            d = a._device
            if dev is None:
                dev = d
            elif d is not dev and a._data.ndim:
                raise _device_error(prim.name, dev, d)
            arrays.append(a._data)
            if a._requires_grad:
                grad = True
        else:
            arrays.append(a)
    out = prim.forward(dev.xp, *arrays, **params)
    record = grad and STATE.enabled and prim.differentiable
    if prim.n_out == 1:
        res = _wrap(out, dev)
        if prim.view:
            _mark_view(res, args[0], prim, params)
        if record and res._data.dtype.kind in "fcV":
            _record(prim, args, params, (res,), (out,), dev)
        return res
    res = tuple(_wrap(o, dev) for o in out)
    if record:
        diff = tuple(r for i, r in enumerate(res) if i not in prim.nondiff_outputs)
        _record(prim, args, params, diff, out, dev, res)
    return res


def _mark_view(res, x, prim, params):
    base = x._base if x._base is not None else x
    res._base = base
    if x._version is None:
        x._version = [0]
    res._version = x._version
    if base._version is None:
        base._version = x._version
    res._view_fn = (x._view_fn or ()) + ((prim, params),)


def _record(prim, args, params, diff_outs, out_arrays, dev, all_outs=None):
    node = PrimNode.__new__(PrimNode)
    nxt = []
    metas = []
    for a in args:
        if isinstance(a, Tensor) and (a._requires_grad):
            nxt.append(edge_of(a))
            metas.append((a._data.shape, a._data.dtype))
        else:
            nxt.append(None)
            metas.append(None)
    node._init(tuple(nxt), tuple(metas), prim.n_out)
    node.prim = prim
    node.params = params
    save = prim.save
    if save == "none":
        node._inputs = ()
        node._versions = ()
    else:
        node._inputs = args if save == "all" else tuple(
            a if i in save else None for i, a in enumerate(args))
        node._versions = tuple(
            (a._version[0] if a._version is not None else 0)
            if isinstance(a, Tensor) and a is not None else None
            for a in node._inputs)
    outs = all_outs if all_outs is not None else diff_outs
    if prim.save_output:
        node._out = tuple((o, dev) for o in out_arrays)
        vers = []
        for r in outs:
            if r._version is None:
                r._version = [0]
            vers.append((r._version, r._version[0]))
        node._out_version = tuple(vers)
    else:
        node._out = None
    if prim.n_out > 1:
        node._out_metas = tuple((o.shape, o.dtype, dev) for o in out_arrays)
    for i, r in enumerate(outs):
        if all_outs is not None and i in prim.nondiff_outputs:
            continue
        if r._data.dtype.kind in "fcV":
            r._node = node
            r._output_nr = i
            r._requires_grad = True
    return node
