"""Custom differentiable operations: subclass :class:`Function`.

A user's Function goes through the same graph machinery as the built-in ops: its
``apply`` records one :class:`FunctionNode`, which is also the ``ctx`` handed to
``forward`` and ``backward``.

Example:
    >>> import ember
    >>> class Cube(ember.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x ** 3
    ...     @staticmethod
    ...     def backward(ctx, g):
    ...         (x,) = ctx.saved_tensors
    ...         return 3 * x ** 2 * g
    >>> x = ember.tensor(2.0, requires_grad=True)
    >>> Cube.apply(x).backward()
    >>> x.grad
    tensor(12.)
"""

import functools

from ember.autograd.grad_mode import STATE, no_grad
from ember.autograd.graph import Node, edge_of, FREED_MSG, modified_msg


class FunctionCtx:
    """What ``forward`` may record for ``backward`` (mixed into the graph node)."""

    def save_for_backward(self, *tensors):
        self._to_save = tensors

    def mark_non_differentiable(self, *tensors):
        self._non_diff = set(id(t) for t in tensors)

    def mark_dirty(self, *tensors):
        self._dirty = tensors

    def set_materialize_grads(self, value):
        self._materialize = bool(value)


class FunctionNode(Node, FunctionCtx):
    """Graph node of a custom Function; also its ``ctx``."""

    __slots__ = ("_cls", "_saved", "_to_save", "_non_diff", "_dirty", "_materialize",
                 "needs_input_grad", "__dict__")

    @property
    def saved_tensors(self):
        if self._freed or self._saved is None:
            raise RuntimeError(FREED_MSG)
        out = []
        for kind, t, ver in self._saved:
            if kind == "out":  # rebuilt: the node must not hold its own output
                from ember._tensor import _wrap
                arr, dev, counter = t
                if counter[0] != ver:
                    raise RuntimeError(modified_msg(arr, ver, counter[0], self.name()))
                r = _wrap(arr, dev)
                if STATE.enabled:
                    r._node, r._requires_grad = self, True
                out.append(r)
                continue
            if t is not None and ver is not None:
                cur = t._vc[0] if t._vc is not None else 0
                if cur != ver:
                    name = t._node.name() if t._node is not None else None
                    raise RuntimeError(modified_msg(t._data, ver, cur, name, t._output_nr))
            out.append(t)
        return tuple(out)

    saved_variables = saved_tensors

    def apply(self, grads):
        if self._materialize is False:
            grads = [g for g in grads]
        res = self._cls.backward(self, *grads)
        if not isinstance(res, tuple):
            res = (res,)
        n = len(self._next)
        if len(res) != n:
            if len(res) > n and all(r is None for r in res[n:]):
                res = res[:n]
            else:
                raise RuntimeError(f"function {self.name()} returned an incorrect number of "
                                   f"gradients (expected {n}, got {len(res)})")
        return res

    def name(self):
        return self._cls.__name__ + "Backward"

    def release(self):
        self._freed = True
        self._saved = None


class _FunctionMeta(type):
    def __init__(cls, name, bases, attrs):
        super().__init__(name, bases, attrs)


class Function(metaclass=_FunctionMeta):
    """Base class for custom ops: define static ``forward(ctx, *args)`` and
    ``backward(ctx, *grads)``; call with ``MyFn.apply(*args)``."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for "
                                  "your custom autograd.Function to use it with backward mode "
                                  "AD.")

    vjp = backward

    @classmethod
    def apply(cls, *args, **kwargs):
        from ember._tensor import Tensor
        ctx = FunctionNode.__new__(FunctionNode)
        ctx._to_save, ctx._non_diff, ctx._dirty, ctx._materialize = (), set(), (), True
        ctx._cls = cls
        ctx._saved = None
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
        record = STATE.enabled and any(ctx.needs_input_grad)
        setup = getattr(cls, "setup_context", None)
        custom_setup = setup is not None and setup is not Function.setup_context
        with no_grad():
            if custom_setup:
                outs = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, outs)
            else:
                outs = cls.forward(ctx, *args, **kwargs)
        single = not isinstance(outs, tuple)
        outs_t = (outs,) if single else outs
        inputs_by_id = {id(a): a for a in args if isinstance(a, Tensor)}
        wrapped = []
        for o in outs_t:
            if isinstance(o, Tensor) and id(o) in inputs_by_id and not any(
                    o is d for d in ctx._dirty):
                o = o.detach()  # an input returned as is becomes a new tensor
            wrapped.append(o)
        if not record:
            return wrapped[0] if single else tuple(wrapped)
        edges = tuple(edge_of(a) if isinstance(a, Tensor) and a._requires_grad else None
                      for a in args)
        metas = tuple((a._data.shape, a._data.dtype) if e is not None else None
                      for a, e in zip(args, edges))
        ctx._init(edges, metas, len(wrapped))
        ctx._out_metas = tuple((o._data.shape, o._data.dtype, o._device) if isinstance(
            o, Tensor) else ((), None, None) for o in wrapped)
        out_ids = {}
        for i, o in enumerate(wrapped):
            if isinstance(o, Tensor) and id(o) not in ctx._non_diff and \
                    o._data.dtype.kind in "fcV":
                if o._node is not None and o in ctx._dirty:
                    pass
                o._node, o._output_nr, o._requires_grad = ctx, i, True
                if o._vc is None:
                    o._vc = [0]
                out_ids[id(o)] = o
        ctx._saved = tuple(_save(t, out_ids) for t in ctx._to_save)
        ctx._to_save = ()
        return wrapped[0] if single else tuple(wrapped)

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError


def _save(t, out_ids):
    if t is None:
        return ("in", None, None)
    if id(t) in out_ids:
        return ("out", (t._data, t._device, t._vc), t._vc[0])
    return ("in", t, t._vc[0] if t._vc is not None else 0)


def once_differentiable(fn):
    """Mark a ``backward`` as not differentiable itself: it runs with recording off."""
    @functools.wraps(fn)
    def wrapper(ctx, *grads):
        with no_grad():
            return fn(ctx, *grads)
    return wrapper


class InplaceFunction(Function):
    pass


class NestedIOFunction(Function):
    pass
