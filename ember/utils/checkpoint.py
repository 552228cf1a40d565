"""Activation checkpointing: trade compute for memory by recomputing a segment in backward."""

from ember._tensor import Tensor
from ember.autograd.function import Function
from ember.autograd.grad_mode import enable_grad, no_grad


def _rng_states(args):
    """``(generator, state)`` for the CPU generator and that of every CUDA device among the
    tensor ``args`` (PyTorch's rule), so the recomputation draws the same dropout masks."""
    from ember.ops.random import _gen
    devices = {a.device for a in args if isinstance(a, Tensor) and a.device.type == "cuda"}
    gens = [_gen(None)] + [_gen(None, d) for d in sorted(devices, key=str)]
    return [(g, g.get_state()) for g in gens]


def _set_rng_states(states):
    for g, state in states:
        g.set_state(state)


class _Checkpoint(Function):
    @staticmethod
    def forward(ctx, run, preserve_rng, *args):
        ctx.run = run
        ctx.rng = _rng_states(args) if preserve_rng else None
        ctx.args = args
        with no_grad():
            return run(*args)

    @staticmethod
    def backward(ctx, *grads):
        from ember.autograd import backward
        inputs = [a.detach().requires_grad_(a.requires_grad) if isinstance(a, Tensor) else a
                  for a in ctx.args]
        saved = None
        if ctx.rng is not None:
            saved = [(g, g.get_state()) for g, _ in ctx.rng]
            _set_rng_states(ctx.rng)
        try:
            with enable_grad():
                outs = ctx.run(*inputs)
        finally:
            if saved is not None:
                _set_rng_states(saved)
        outs = outs if isinstance(outs, tuple) else (outs,)
        pairs = [(o, g) for o, g in zip(outs, grads)
                 if isinstance(o, Tensor) and o.requires_grad and g is not None]
        if pairs:
            backward([o for o, _ in pairs], [g for _, g in pairs])
        return (None, None) + tuple(a.grad if isinstance(a, Tensor) else None for a in inputs)


def checkpoint(function, *args, use_reentrant=None, preserve_rng_state=True, **kwargs):
    """Run ``function(*args)`` without keeping its intermediate activations; they are
    recomputed during backward (with the same RNG state, so dropout masks match).

    Parameters used inside ``function`` get their gradients accumulated as usual.
    """
    if kwargs:
        raise ValueError(f"checkpoint: unexpected keyword arguments {sorted(kwargs)}")
    return _Checkpoint.apply(function, preserve_rng_state, *args)


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Checkpoint a sequence of modules in ``segments`` chunks (the last runs normally)."""
    fns = list(functions.children()) if hasattr(functions, "children") else list(functions)
    size = max(1, len(fns) // segments)

    def run_segment(start, end):
        def f(x):
            for fn in fns[start:end]:
                x = fn(x)
            return x
        return f
    x, end = input, 0
    for start in range(0, len(fns) - size, size):  # every segment but the last
        end = start + size
        x = checkpoint(run_segment(start, end), x)
    return run_segment(end, len(fns))(x)
