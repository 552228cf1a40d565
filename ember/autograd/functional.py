"""Higher-level derivatives of a function: ``vjp``, ``jvp``, ``jacobian``, ``hessian``, ``hvp``.

All are built on :func:`ember.autograd.grad`; ``jvp`` uses the double-vjp trick, so it
works for every op with a differentiable gradient rule.
"""

from ember.autograd.grad_mode import enable_grad


def _tuple(x):
    return (tuple(x), True) if isinstance(x, (tuple, list)) else ((x,), False)


def _prep(inputs, create_graph):
    return tuple(x.detach().requires_grad_(True) if not create_graph or not x.requires_grad
                 else x.view_as(x) for x in inputs)


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), v^T J)``."""
    from ember.autograd import grad
    from ember.ops.creation import zeros_like
    ins, is_tuple = _tuple(inputs)
    with enable_grad():
        ins = _prep(ins, create_graph)
        out = func(*ins)
        outs, out_tuple = _tuple(out)
        vs = _tuple(v)[0] if v is not None else (None,) * len(outs)
        gs = grad(outs, ins, vs, create_graph=create_graph, allow_unused=True)
    gs = tuple(g if g is not None else zeros_like(x) for g, x in zip(gs, ins))
    res = out if create_graph else (tuple(o.detach() for o in outs) if out_tuple
                                    else outs[0].detach())
    return res, (gs if is_tuple else gs[0])


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), J v)``, by differentiating a vjp w.r.t. its cotangent."""
    from ember.autograd import grad
    from ember.ops.creation import zeros_like, ones_like
    ins, is_tuple = _tuple(inputs)
    vs = _tuple(v)[0] if v is not None else tuple(ones_like(x) for x in ins)
    with enable_grad():
        ins = _prep(ins, create_graph)
        out = func(*ins)
        outs, out_tuple = _tuple(out)
        us = tuple(zeros_like(o).requires_grad_(True) for o in outs)
        gs = grad(outs, ins, us, create_graph=True, allow_unused=True)
        pairs = [(g, vv) for g, vv in zip(gs, vs) if g is not None]
        jv = grad([p[0] for p in pairs], us, [p[1] for p in pairs], create_graph=create_graph,
                  allow_unused=True)
    jv = tuple(j if j is not None else zeros_like(o) for j, o in zip(jv, outs))
    res = tuple(o.detach() for o in outs) if not create_graph else outs
    return (res if out_tuple else res[0]), (jv if out_tuple else jv[0])


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """The Jacobian of ``func`` at ``inputs`` (shape ``out.shape + in.shape``)."""
    from ember.autograd import grad
    from ember.ops.creation import zeros_like
    from ember.ops.shape import stack
    ins, is_tuple = _tuple(inputs)
    with enable_grad():
        ins = _prep(ins, create_graph)
        out = func(*ins)
        outs, out_tuple = _tuple(out)
        result = []
        for o in outs:
            per_in = [[] for _ in ins]
            flat = o.reshape(-1)
            for k in range(flat.shape[0]):
                gs = grad([flat[k]], ins, retain_graph=True, create_graph=create_graph,
                          allow_unused=True) if o.requires_grad else (None,) * len(ins)
                for j, (g, x) in enumerate(zip(gs, ins)):
                    per_in[j].append(g if g is not None else zeros_like(x))
            row = []
            for j, x in enumerate(ins):
                if per_in[j]:
                    row.append(stack(per_in[j]).reshape(tuple(o.shape) + tuple(x.shape)))
                else:
                    row.append(zeros_like(x).reshape(tuple(o.shape) + tuple(x.shape)))
            result.append(tuple(row))
    if not out_tuple and not is_tuple:
        return result[0][0]
    if not out_tuple:
        return result[0]
    if not is_tuple:
        return tuple(r[0] for r in result)
    return tuple(result)


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """The Hessian of scalar function ``func`` at ``inputs``."""
    from ember.autograd import grad
    ins, is_tuple = _tuple(inputs)

    def gradient(*xs):
        out = func(*xs)
        gs = grad([out], xs, create_graph=True, allow_unused=True)
        from ember.ops.creation import zeros_like
        gs = tuple(g if g is not None else zeros_like(x) for g, x in zip(gs, xs))
        return gs if is_tuple else gs[0]
    return jacobian(gradient, ins if is_tuple else ins[0], create_graph=create_graph)


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), v^T H)``."""
    from ember.autograd import grad
    ins, is_tuple = _tuple(inputs)
    vs = _tuple(v)[0]
    with enable_grad():
        ins = _prep(ins, create_graph)
        out = func(*ins)
        gs = grad([out], ins, create_graph=True, allow_unused=True)
        hv = grad(list(gs), ins, list(vs), create_graph=create_graph, allow_unused=True)
    from ember.ops.creation import zeros_like
    hv = tuple(h if h is not None else zeros_like(x) for h, x in zip(hv, ins))
    return out.detach(), (hv if is_tuple else hv[0])


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), H v)`` (equal to ``vhp`` since the Hessian is symmetric)."""
    return vhp(func, inputs, v, create_graph, strict)
