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
from ember.autograd.grad_mode import STATE
from ember.autograd.graph import Node, edge_of, FREED_MSG, modified_msg as _modified_msg
from ember.ops._util import broadcast_mismatch, fit_scalar


REGISTRY = {}
_new = object.__new__


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

    ``amp`` is None unless autocast is on and lists this op: then it is the hook
    ``amp(prim, args) -> args`` that casts the inputs (installed by ``ember.amp``), and
    ``_unary`` (the unary fast path) is off so every call reaches :func:`apply`.
    """

    __slots__ = ("name", "forward", "vjp", "save", "save_output", "n_out", "differentiable",
                 "view", "fuse", "nondiff_outputs", "node_name", "ufunc", "amp", "_unary")

    def __init__(self, name, forward, *, save="all", save_output=False, n_out=1,
                 differentiable=True, view=False, fuse=None, nondiff_outputs=(), ufunc=None):
        self.name = name
        self.ufunc = ufunc  # a NumPy ufunc computing the forward (dispatches to CuPy too)
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
        self.set_amp(None)
        REGISTRY[name] = self

    def set_amp(self, hook):
        """Install (or with None remove) the autocast hook of this op."""
        self.amp = hook
        self._unary = self.n_out == 1 and not self.view and hook is None

    def defvjp(self, fn):
        """Register the gradient rule (used as a decorator below the forward)."""
        self.vjp = fn
        return fn

    def __call__(self, *args, **params):
        if len(args) == 1 and self._unary:  # unary hot path
            x = args[0]
            if isinstance(x, Tensor):
                dev = x._device
                out = self.forward(dev.xp, x._data, **params)
                res = _wrap(out, dev)
                if x._requires_grad and STATE.enabled and self.differentiable and \
                        out.dtype.kind in _FLOAT_KINDS:
                    _record(self, args, params, (res,), (out,), dev)
                return res
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
                cur = t._vc[0] if t._vc is not None else 0
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


def _raise_modified(t, expected, cur):
    name = t._node.name() if t._node is not None else None
    raise RuntimeError(_modified_msg(t._data, expected, cur, name, t._output_nr))


def _forward_error(prim, args, exc):
    """A forward's NumPy error as PyTorch reports it: broadcasting failures name the op and
    both shapes. Other errors are returned unchanged."""
    shapes = [tuple(a._data.shape) for a in args if isinstance(a, Tensor)]
    msg = broadcast_mismatch(shapes) if len(shapes) > 1 else None
    if msg is None:
        return exc
    return RuntimeError(f"{prim.name}: {msg}")


def _device_error(name, a, b):
    return RuntimeError(f"{name}: Expected all tensors to be on the same device, but found at "
                        f"least two devices, {a} and {b}!")


_NO_PARAMS = {}
_FLOAT_KINDS = "fcV"


def apply_binary(prim, x, y):
    """Hot path of a binary ufunc primitive: ``x`` a tensor, ``y`` a tensor of the same
    dtype and device or a Python scalar that needs no promotion."""
    if prim.amp is not None:  # autocast lists this op
        return apply(prim, (x, y), _NO_PARAMS)
    dev = x._device
    if type(y) is Tensor or isinstance(y, Tensor):
        if y._device is not dev:  # apply raises PyTorch's error (or moves a CPU scalar)
            return apply(prim, (x, y), _NO_PARAMS)
        try:
            out = prim.ufunc(x._data, y._data)
        except ValueError as e:
            raise _forward_error(prim, (x, y), e) from None
        res = _wrap(out, dev)
        if (x._requires_grad or y._requires_grad) and STATE.enabled:
            _record_fast(prim, x, y, res)
        return res
    try:
        out = prim.ufunc(x._data, y)
    except OverflowError:  # an int beyond the dtype's range: wrap it around like PyTorch
        out = prim.ufunc(x._data, fit_scalar(y, x._data.dtype))
    res = _wrap(out, dev)
    if x._requires_grad and STATE.enabled:
        _record_fast(prim, x, y, res)
    return res


def apply_rbinary(prim, x, y):
    """Hot path with a Python scalar ``x`` first (``2.0 - t``)."""
    if prim.amp is not None:  # autocast lists this op
        return apply(prim, (x, y), _NO_PARAMS)
    dev = y._device
    try:
        out = prim.ufunc(x, y._data)
    except OverflowError:  # an int beyond the dtype's range: wrap it around like PyTorch
        out = prim.ufunc(fit_scalar(x, y._data.dtype), y._data)
    res = _wrap(out, dev)
    if y._requires_grad and STATE.enabled:
        _record_fast(prim, x, y, res)
    return res


def _record_fast(prim, x, y, res):
    """``_record`` for two positional inputs, one output, no params (the common case);
    written out flat because it runs for every recorded binary op."""
    node = _new(PrimNode)
    if isinstance(x, Tensor) and x._requires_grad:
        ex, mx = edge_of(x), (x._data.shape, x._data.dtype)
    else:
        ex = mx = None
    if isinstance(y, Tensor) and y._requires_grad:
        ey, my = edge_of(y), (y._data.shape, y._data.dtype)
    else:
        ey = my = None
    node._init((ex, ey), (mx, my))
    node.prim = prim
    node.params = _NO_PARAMS
    node._out = None
    if prim.save == "none":
        node._inputs = node._versions = ()
    else:
        node._inputs = (x, y)
        node._versions = (_ver(x), _ver(y))
    res._node = node
    res._requires_grad = True


def _record_unary(prim, x, params, res, out, dev):
    """``_record`` for one tensor input and one output (the common case)."""
    node = _new(PrimNode)
    node._init((edge_of(x),), ((x._data.shape, x._data.dtype),))
    node.prim = prim
    node.params = params
    if prim.save == "none":
        node._inputs = node._versions = ()
    else:
        node._inputs = (x,)
        node._versions = (_ver(x),)
    if prim.save_output:
        node._out = ((out, dev),)
        res._vc = v = [0]
        node._out_version = ((v, 0),)
    else:
        node._out = None
    res._node = node
    res._requires_grad = True
    return node


def _ver(a):
    if isinstance(a, Tensor):
        return a._vc[0] if a._vc is not None else 0
    return None


def apply(prim, args, params):
    """Run primitive ``prim`` on ``args`` (tensors and scalars); record a node if needed."""
    if prim.amp is not None:  # autocast lists this op: its hook casts the inputs
        args = prim.amp(prim, args)
    arrays = []
    dev = None
    grad = False
    mixed = False
    for a in args:
        if isinstance(a, Tensor):
            d = a._device
            if dev is None:
                dev = d
            elif d is not dev:
                mixed = True
            arrays.append(a._data)
            if a._requires_grad:
                grad = True
        else:
            arrays.append(a)
    if mixed:
        dev, arrays = _common_device(prim, args, arrays)
    try:
        out = prim.forward(dev.xp, *arrays, **params)
    except ValueError as e:
        raise _forward_error(prim, args, e) from None
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


def _common_device(prim, args, arrays):
    """The device of an op whose tensors are on several devices, and its arrays there.

    Like PyTorch, a 0-d CPU tensor may join tensors on one other device (it is copied
    there); any other mix raises PyTorch's error naming the first two devices.
    """
    dev = None
    for a in args:
        if isinstance(a, Tensor) and not (a._device.type == "cpu" and a._data.ndim == 0):
            if dev is None:
                dev = a._device
            elif a._device is not dev:
                raise _device_error(prim.name, dev, a._device)
    if dev is None:  # only 0-d tensors: the CPU ones join the first non-CPU one
        dev = next(a._device for a in args if isinstance(a, Tensor) and a._device.type != "cpu")
    return dev, [dev.xp.asarray(arr) if isinstance(a, Tensor) and a._device is not dev else arr
                 for a, arr in zip(args, arrays)]


def _mark_view(res, x, prim, params):
    base = x._base if x._base is not None else x
    res._base = base
    if x._vc is None:
        x._vc = [0]
    res._vc = x._vc
    if base._vc is None:
        base._vc = x._vc
    res._view_fn = (x._view_fn or ()) + ((prim, params),)
    if x._requires_grad and STATE.enabled:  # the base version its node was made at
        res._extra = {"view_ver": x._vc[0]}


def _record(prim, args, params, diff_outs, out_arrays, dev, all_outs=None):
    if len(args) == 1 and all_outs is None:
        return _record_unary(prim, args[0], params, diff_outs[0], out_arrays[0], dev)
    node = _new(PrimNode)
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
        node._versions = tuple(_ver(a) for a in node._inputs)
    outs = all_outs if all_outs is not None else diff_outs
    if prim.save_output:
        node._out = tuple((o, dev) for o in out_arrays)
        vers = []
        for r in outs:
            if r._vc is None:
                r._vc = [0]
            vers.append((r._vc, r._vc[0]))
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
