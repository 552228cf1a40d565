"""Random numbers: per-device generators with seeds and savable state.

ember's streams are its own (NumPy's PCG64 on the CPU): seeded runs repeat exactly,
but do not reproduce PyTorch's bit streams.
"""

import contextlib as _contextlib
import json as _json

import numpy as np

from ember import _dtype
from ember._tensor import Tensor, _wrap
from ember.backend import cpu, tensor_device
from ember.ops.creation import _size, _dt


class Generator:
    """A random-number generator (``ember.Generator(device="cpu")``).

    Example:
        >>> import ember
        >>> g = ember.Generator().manual_seed(42)
        >>> a = ember.rand(2, generator=g)
        >>> g.manual_seed(42) is g
        True
        >>> bool((ember.rand(2, generator=g) == a).all())
        True
    """

    def __init__(self, device="cpu"):
        self.device = tensor_device(device)
        self._seed = 67280421310721
        self._rng = np.random.Generator(np.random.PCG64(self._seed))

    def manual_seed(self, seed):
        """Reset the stream from ``seed``; returns the generator."""
        seed = int(seed)
        if seed < 0:
            seed += 1 << 64
        self._seed = seed
        self._rng = np.random.Generator(np.random.PCG64(seed))
        return self

    def seed(self):
        s = int(np.random.SeedSequence().entropy) % (1 << 63)
        self.manual_seed(s)
        return s

    def initial_seed(self):
        return self._seed

    def get_state(self):
        """The state as a uint8 tensor (pass to ``set_state``)."""
        st = self._rng.bit_generator.state
        raw = _json.dumps({"seed": self._seed, "state": st}).encode()
        return _wrap(np.frombuffer(raw, dtype=np.uint8).copy(), cpu)

    def set_state(self, new_state):
        raw = bytes(new_state._data.tobytes()) if isinstance(new_state, Tensor) else bytes(
            new_state)
        try:
            d = _json.loads(raw.decode())
            bg = np.random.PCG64()
            bg.state = d["state"]
        except (ValueError, KeyError, TypeError) as e:
            raise RuntimeError(f"Generator.set_state: not a state from get_state() ({e})") \
                from None
        self._seed = d["seed"]
        self._rng = np.random.Generator(bg)
        return self


default_generator = Generator()
_cuda_generators = {}


def _gen(generator, device=None):
    if generator is not None:
        return generator
    dev = cpu if device is None else tensor_device(device)
    if dev.type == "cpu":
        return default_generator
    g = _cuda_generators.get(dev.index)
    if g is None:
        g = _cuda_generators[dev.index] = Generator(dev)
    return g


def manual_seed(seed):
    """Seed every device's default generator; returns the CPU generator."""
    default_generator.manual_seed(seed)
    for g in _cuda_generators.values():
        g.manual_seed(seed)
    return default_generator


def seed():
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(new_state):
    default_generator.set_state(new_state)


def _float_dtype(dt, kernel):
    """``dt`` if floating or complex; PyTorch's NotImplementedError for integer samplers."""
    if dt.category < _dtype.FLOAT:
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{_dtype.scalar_name(dt)}'")
    return dt


def _finish(arr, device, requires_grad):
    dev = cpu if device is None else tensor_device(device)
    if dev is not cpu:
        arr = dev.xp.asarray(arr)
    out = _wrap(arr, dev)
    return out.requires_grad_(True) if requires_grad else out


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False, out=None,
         layout=None, pin_memory=False):
    """Uniform samples on ``[0, 1)``."""
    dt = _float_dtype(_dt(dtype), "check_uniform_bounds")
    arr = _gen(generator, device)._rng.random(_size(size)).astype(dt.np)
    return _finish(arr, device, requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False, out=None,
          layout=None, pin_memory=False):
    """Standard normal samples."""
    dt = _float_dtype(_dt(dtype), "normal_kernel_cpu")
    g = _gen(generator, device)._rng
    if dt.is_complex:
        shp = _size(size)
        arr = ((g.standard_normal(shp) + 1j * g.standard_normal(shp)) / np.sqrt(2)).astype(dt.np)
    else:
        arr = g.standard_normal(_size(size)).astype(dt.np)
    return _finish(arr, device, requires_grad)


def randint(low=0, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad=False, out=None, layout=None):
    """Integers uniform on ``[low, high)`` (int64 by default)."""
    if size is None:  # randint(high, size)
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    dt = _dtype.to_dtype(dtype) if dtype is not None else _dtype.int64
    if high <= low:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= "
                           f"to={high}")
    arr = _gen(generator, device)._rng.integers(low, high, size=_size((size,)) if isinstance(
        size, int) else _size(tuple(size))).astype(dt.np)
    return _finish(arr, device, requires_grad)


def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False, out=None,
             layout=None, pin_memory=False):
    """A random permutation of ``0..n-1``."""
    dt = _dtype.to_dtype(dtype) if dtype is not None else _dtype.int64
    arr = _gen(generator, device)._rng.permutation(int(n)).astype(dt.np)
    return _finish(arr, device, requires_grad)


def rand_like(input, *, dtype=None, device=None, requires_grad=False, generator=None,
              memory_format=None):
    return rand(input.shape, dtype=dtype or input.dtype, device=device or input.device,
                requires_grad=requires_grad, generator=generator)


def randn_like(input, *, dtype=None, device=None, requires_grad=False, generator=None,
               memory_format=None):
    return randn(input.shape, dtype=dtype or input.dtype, device=device or input.device,
                 requires_grad=requires_grad, generator=generator)


def randint_like(input, low=0, high=None, *, dtype=None, device=None, requires_grad=False,
                 generator=None, memory_format=None):
    if high is None:
        low, high = 0, low
    return randint(low, high, tuple(input.shape), dtype=dtype or input.dtype,
                   device=device or input.device, generator=generator)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None, device=None,
           requires_grad=False):
    """Normal samples with the given mean and std (numbers or tensors)."""
    s = _host(std._data) if isinstance(std, Tensor) else np.asarray(std)
    if s.size and s.min() < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {s.min()}")
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        ref = mean if isinstance(mean, Tensor) else std
        shape = np.broadcast_shapes(tuple(np.shape(mean._data if isinstance(mean, Tensor) else
                                                   mean)), tuple(np.shape(
                                                       std._data if isinstance(std, Tensor)
                                                       else std)))
        z = randn(shape, generator=generator, dtype=ref.dtype, device=ref.device)
        return mean + std * z
    z = randn(size, generator=generator, dtype=dtype, device=device)
    out_ = z * std + mean
    return out_.requires_grad_(True) if requires_grad else out_


def bernoulli(input, p=None, *, generator=None, out=None):
    """Samples 1 with probability ``input`` (or ``p``), else 0."""
    probs = _host(input._data) if p is None else np.full(input._data.shape, p)
    if not ((probs >= 0) & (probs <= 1)).all():
        raise RuntimeError("bernoulli: expected all probabilities p to satisfy 0 <= p <= 1")
    u = _gen(generator, input.device)._rng.random(input._data.shape)
    arr = (_host(u) < _host(probs)).astype(input._data.dtype)
    return _finish(arr, input.device, False)


def _host(a):
    return a if isinstance(a, np.ndarray) or np.isscalar(a) else a.get()


def multinomial(input, num_samples, replacement=False, *, generator=None, out=None):
    """Sample category indices with probabilities proportional to ``input``'s rows."""
    p = _host(input._data).astype(np.float64)
    if (p < 0).any() or not np.isfinite(p).all():
        raise RuntimeError("multinomial: probability tensor contains either `inf`, `nan` or "
                           "element < 0")
    rows = p.reshape(-1, p.shape[-1])
    if not replacement and num_samples > rows.shape[1]:
        raise RuntimeError("multinomial: cannot sample n_sample > prob_dist.size(-1) samples "
                           "without replacement")
    sums = rows.sum(axis=1, keepdims=True)
    if (sums <= 0).any():
        raise RuntimeError("multinomial: invalid multinomial distribution (sum of "
                           "probabilities <= 0)")
    rng = _gen(generator, input.device)._rng
    probs = rows / sums
    if replacement:  # inverse-CDF sampling, all rows at once
        cdf = np.cumsum(probs, axis=1)
        cdf[:, -1] = 1.0
        u = rng.random((rows.shape[0], num_samples))
        outs = (u[:, :, None] >= cdf[:, None, :]).sum(axis=2)
    else:  # Gumbel top-k: the k largest of log p + Gumbel noise, in order
        with np.errstate(divide="ignore"):
            keys = np.log(probs) - np.log(-np.log(rng.random(probs.shape)))
        outs = np.argsort(-keys, axis=1, kind="stable")[:, :num_samples]
    arr = outs.reshape(p.shape[:-1] + (num_samples,)).astype(np.int64)
    return _finish(arr, input.device, False)


def poisson(input, generator=None):
    arr = _gen(generator, input.device)._rng.poisson(_host(input._data)).astype(
        input._data.dtype)
    return _finish(arr, input.device, False)


# in-place samplers (``x.uniform_()`` etc.), used by nn.init
def uniform_(self, a=0.0, b=1.0, *, generator=None):
    """Fill with samples uniform on ``[a, b)`` in place."""
    _float_dtype(self.dtype, "check_uniform_bounds")
    g = _gen(generator, self.device)._rng
    return _fill_sample(self, g.uniform(a, b, self._data.shape))


def normal_(self, mean=0.0, std=1.0, *, generator=None):
    """Fill with normal samples in place."""
    _float_dtype(self.dtype, "normal_kernel_cpu")
    g = _gen(generator, self.device)._rng
    return _fill_sample(self, g.normal(mean, std, self._data.shape))


def bernoulli_(self, p=0.5, *, generator=None):
    g = _gen(generator, self.device)._rng
    pv = p._data if isinstance(p, Tensor) else p
    return _fill_sample(self, g.random(self._data.shape) < _host(pv))


def exponential_(self, lambd=1.0, *, generator=None):
    """Fill with exponential samples of rate ``lambd`` in place."""
    _float_dtype(self.dtype, "exponential_cpu")
    g = _gen(generator, self.device)._rng
    return _fill_sample(self, g.exponential(1.0 / lambd, self._data.shape))


def random_(self, from_=0, to=None, *, generator=None):
    g = _gen(generator, self.device)._rng
    if to is None:
        from_, to = 0, (from_ if from_ else 2 ** 24)
    return _fill_sample(self, g.integers(from_, to, self._data.shape))


def geometric_(self, p, *, generator=None):
    g = _gen(generator, self.device)._rng
    return _fill_sample(self, g.geometric(p, self._data.shape))


def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
    """Fill with samples whose log is normal(mean, std), in place."""
    _float_dtype(self.dtype, "log_normal_cpu")
    g = _gen(generator, self.device)._rng
    return _fill_sample(self, g.lognormal(mean, std, self._data.shape))


def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
    """Fill with Cauchy samples in place."""
    _float_dtype(self.dtype, "cauchy_cpu")
    g = _gen(generator, self.device)._rng
    return _fill_sample(self, median + sigma * g.standard_cauchy(self._data.shape))


def _fill_sample(t, values):
    """Write sampled ``values`` into ``t`` (an in-place op: version bump, graph checks)."""
    from ember.ops._util import commit_inplace, replace_values
    xp = t._device.xp
    vals = _wrap(xp.asarray(np.asarray(values)).astype(t._data.dtype), t._device)
    # on a non-leaf that requires grad, the samples replace it: no gradient flows back
    return commit_inplace(t, lambda x: replace_values(x, vals), op="random sampling")


@_contextlib.contextmanager
def fork_rng(devices=None, enabled=True, _caller="fork_rng", _devices_kw="devices",
             device_type="cuda"):
    """Run the block with the default generators' states restored afterwards."""
    if not enabled:
        yield
        return
    gens = [default_generator] + list(_cuda_generators.values())
    states = [g.get_state() for g in gens]
    try:
        yield
    finally:
        for g, s in zip(gens, states):
            g.set_state(s)


Generator.__module__ = "ember"
