"""A strict CuPy stand-in: NumPy computes, CuPy's rules decide what is allowed.

``tests/gpu`` runs the op table, every layer and every optimizer on CUDA against the
same work on the CPU. Without a GPU that tier would skip; with this stand-in it runs on
NumPy and catches, on any machine, the mistakes that would otherwise only show on a GPU:

- a device array reaching NumPy: ``np.asarray(x)``, ``np.<fn>(x)`` for a function CuPy
  lacks, a NumPy array mixed into a device op (CuPy raises ``TypeError`` for all three);
- a name CuPy does not have (``xp.spacing``, ``xp.linalg.vector_norm``...), a keyword its
  signature does not take (``as_strided(..., writeable=)``, a ufunc's ``where=``), or a
  ufunc method it does not implement (``xp.maximum.accumulate``);
- Python-scalar habits: CuPy reductions and scalar indexing give 0-d arrays, which have
  no ``__index__``, and arrays have no ``flags.writeable``;
- dtypes CuPy cannot hold (bfloat16 before CuPy 14, object, strings);
- relying on NumPy's IndexError for out-of-range integer-array indices: CuPy does not
  check them (it wraps them around), so here they wrap too, and only ember's own bounds
  checks can raise.

Names and signatures come from ``cupy_api.json``, recorded from the real CuPy by
``scripts/cupy_surface.py``; the ufunc methods CuPy implements are listed below. What it
cannot check is numerics (kernels, cuBLAS, atomics, RNG streams): those need the GPU.

Use ``fake_cupy.installed(strict=True)``; the conftest of tests/gpu does so when
``EMBER_STRICT_CUPY=1``.
"""

import inspect
import json
import os
import types
import weakref

import numpy as np

from tests.gpu import fake_cupy

API = json.load(open(os.path.join(os.path.dirname(__file__), "cupy_api.json")))

# CuPy 12+ implements these ufunc methods for these ufuncs only (cupy/cupy#7082)
UFUNC_METHODS = {"at": {"add", "subtract", "maximum", "minimum", "bitwise_and", "bitwise_or",
                        "bitwise_xor"},
                 "reduce": {"add", "multiply"}, "accumulate": {"add"}, "reduceat": {"add"}}
# keyword arguments ember may pass that CuPy takes though its recorded signature is generic
_KINDS = {"P": inspect.Parameter.POSITIONAL_ONLY, "PK": inspect.Parameter.POSITIONAL_OR_KEYWORD,
          "VP": inspect.Parameter.VAR_POSITIONAL, "K": inspect.Parameter.KEYWORD_ONLY,
          "VK": inspect.Parameter.VAR_KEYWORD}


class StrictCupyError(TypeError):
    """What CuPy would raise (a TypeError), saying which rule was broken."""


def _signature(spec):
    if not isinstance(spec, list):
        return None
    try:
        return inspect.Signature([inspect.Parameter(n, _KINDS[k], default=None if d else
                                                    inspect.Parameter.empty)
                                  for n, k, d in spec])
    except ValueError:  # an ordering Python rejects: check nothing
        return None


def _check_call(name, sig, args, kwargs):
    if sig is not None:
        try:
            sig.bind(*args, **kwargs)
        except TypeError as e:
            raise StrictCupyError(f"cupy.{name}{sig}: {e}") from None


# -- arrays ---------------------------------------------------------------------------------------
def _check_dtype(dt):
    if dt.kind not in "biufc" or dt.itemsize > 16 or (dt.kind == "f" and dt.itemsize > 8):
        raise StrictCupyError(f"Unsupported dtype {dt} (CuPy holds bool, integer, float16/32/64 "
                              f"and complex64/128)")


def _w(x):
    """NumPy results as device results: arrays and NumPy scalars become device arrays."""
    if isinstance(x, np.ndarray):
        return ndarray._of(x)
    if isinstance(x, np.generic):
        return ndarray._of(np.asarray(x))
    if isinstance(x, tuple):
        items = [_w(v) for v in x]
        return type(x)(*items) if hasattr(x, "_fields") else tuple(items)
    if isinstance(x, list):
        return [_w(v) for v in x]
    return x


def _u(x, where, allow_host=False):
    """Device arguments as NumPy arrays; a host (NumPy) array is refused as CuPy does."""
    if isinstance(x, ndarray):
        return x._a
    if isinstance(x, np.ndarray):
        if allow_host:
            return x
        raise StrictCupyError(f"{where}: Unsupported type <class 'numpy.ndarray'> (a NumPy "
                              f"array given to CuPy; move it with cupy.asarray first)")
    if isinstance(x, (list, tuple)) and not hasattr(x, "_fields"):
        return type(x)(_u(v, where, allow_host) for v in x)
    return x


def _wrap_indices(key, shape):
    """CuPy's rule for integer-array indices: out-of-range entries wrap around (mod size)
    instead of raising (scalar integer indices are still checked, as in CuPy)."""
    key = key if isinstance(key, tuple) else (key,)
    arrays = [np.asarray(k) if isinstance(k, list) else k for k in key]
    consumed = sum(0 if k is None or k is Ellipsis else
                   (k.ndim if isinstance(k, np.ndarray) and k.dtype == bool else 1)
                   for k in arrays)
    out, dim = [], 0
    for k in arrays:
        if k is Ellipsis:
            dim += len(shape) - consumed
        elif isinstance(k, np.ndarray) and k.dtype.kind in "iu" and dim < len(shape):
            k = np.mod(k, shape[dim]) if shape[dim] else k
            dim += 1
        elif isinstance(k, np.ndarray) and k.dtype == bool:
            dim += k.ndim
        elif k is not None:
            dim += 1
        out.append(k)
    return tuple(out)


class _Flags:
    __slots__ = ("c_contiguous", "f_contiguous", "owndata")

    def __init__(self, a):
        self.c_contiguous = a.flags.c_contiguous
        self.f_contiguous = a.flags.f_contiguous
        self.owndata = a.flags.owndata


class _MemPtr:
    __slots__ = ("ptr",)

    def __init__(self, ptr):
        self.ptr = ptr


class _DeviceId:
    __slots__ = ("id",)

    def __init__(self, i):
        self.id = i

    def __eq__(self, other):
        return isinstance(other, _DeviceId) and other.id == self.id

    def __hash__(self):
        return self.id


def _binop(name, reflected=False, inplace=False):
    def op(self, other):
        if isinstance(other, np.ndarray):
            raise StrictCupyError(f"ndarray.__{name}__: Unsupported type <class "
                                  f"'numpy.ndarray'>")
        if not isinstance(other, (ndarray, int, float, complex, bool, np.generic)):
            return NotImplemented
        fn = getattr(np, name)
        a, b = (_u(other, name), self._a) if reflected else (self._a, _u(other, name))
        if inplace:
            fn(a, b, out=self._a)
            return self
        return _w(fn(a, b))
    return op


_owners = {}  # id of a NumPy buffer's owner -> its block of the simulated pool


def _malloc(nbytes):
    fn = _MODULE["allocator"].get("fn")
    return (fn or fake_cupy.POOL.malloc)(max(int(nbytes), 1))


def _register(a, mem=None):
    """Charge the buffer under NumPy array ``a`` to the simulated pool (once), so ember's
    allocator, peaks and OOM messages see device arrays come and go as on a GPU."""
    owner = a
    while isinstance(owner.base, np.ndarray):
        owner = owner.base
    if owner.base is not None or id(owner) in _owners:
        return
    mem = mem if mem is not None else _malloc(owner.nbytes)
    _owners[id(owner)] = mem
    weakref.finalize(owner, _release, id(owner), mem)


def _release(key, mem):
    del _owners[key]
    fake_cupy.POOL.free(mem)


_MODULE = {"allocator": {}}


class ndarray:
    """A device array: a NumPy array inside, CuPy's interface outside."""

    __slots__ = ("_a", "_dev", "__weakref__")
    __array_priority__ = 100
    __hash__ = None

    def __init__(self, shape, dtype=float, memptr=None, strides=None, order="C"):
        dt = np.dtype(dtype)
        _check_dtype(dt)
        mem = _malloc(dt.itemsize * int(np.prod(shape, dtype=np.int64)))
        self._a = np.empty(shape, dt, order=order)
        _register(self._a, mem)
        self._dev = fake_cupy.RUNTIME.current

    @classmethod
    def _of(cls, a):
        _check_dtype(a.dtype)
        _register(a)
        obj = object.__new__(cls)
        obj._a, obj._dev = a, fake_cupy.RUNTIME.current
        return obj

    # -- what CuPy refuses ----------------------------------------------------------------------
    def __array__(self, *args, **kwargs):
        raise StrictCupyError("Implicit conversion to a NumPy array is not allowed. Please use "
                              "`.get()` to construct a NumPy array explicitly.")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        out = kwargs.get("out")
        if isinstance(out, tuple) and len(out) == 1:  # NumPy hands ``out`` over as a tuple
            kwargs["out"] = out[0]
        return getattr(_Ufunc(ufunc), method)(*inputs, **kwargs)

    def __array_function__(self, func, types_, args, kwargs):
        mod = func.__module__.replace("numpy", "").strip(".")
        table = API["modules"].get(mod.replace("lib._stride_tricks_impl", "lib.stride_tricks")
                                   .replace("linalg._linalg", "linalg"), {})
        if func.__name__ not in table:
            raise StrictCupyError(f"no implementation found for 'numpy.{func.__name__}' on "
                                  f"device arrays (CuPy has no cupy.{func.__name__})")
        return _function(func.__name__, func, table[func.__name__])(*args, **kwargs)

    # -- attributes -----------------------------------------------------------------------------
    @property
    def shape(self):
        return self._a.shape

    @shape.setter
    def shape(self, shape):  # CuPy reshapes in place without copying, or raises AttributeError
        try:
            self._a.shape = shape
        except (AttributeError, ValueError):
            raise AttributeError("incompatible shape") from None
    dtype = property(lambda s: s._a.dtype)
    ndim = property(lambda s: s._a.ndim)
    size = property(lambda s: s._a.size)
    strides = property(lambda s: s._a.strides)
    itemsize = property(lambda s: s._a.itemsize)
    nbytes = property(lambda s: s._a.nbytes)
    flags = property(lambda s: _Flags(s._a))
    data = property(lambda s: _MemPtr(s._a.__array_interface__["data"][0]))
    device = property(lambda s: _DeviceId(s._dev))
    T = property(lambda s: _w(s._a.T))
    mT = property(lambda s: _w(np.swapaxes(s._a, -1, -2)))
    __cuda_array_interface__ = property(lambda s: dict(s._a.__array_interface__, version=3))
    base = property(lambda s: None if s._a.base is None else _w(np.asarray(s._a.base)))

    @property
    def real(self):
        return _w(self._a.real)

    @real.setter
    def real(self, v):
        self._a.real = _u(v, "ndarray.real")

    @property
    def imag(self):
        return _w(self._a.imag)

    @imag.setter
    def imag(self, v):
        self._a.imag = _u(v, "ndarray.imag")

    def __getattr__(self, name):
        spec = API["ndarray"].get(name)
        if spec is None:
            raise AttributeError(f"'cupy.ndarray' object has no attribute '{name}'")
        meth = getattr(self._a, name)
        sig = _signature(spec)

        def method(*args, **kwargs):
            _check_call(f"ndarray.{name}", sig, args, kwargs)
            out = meth(*_u(args, f"ndarray.{name}"),
                       **{k: _u(v, f"ndarray.{name}") for k, v in kwargs.items()})
            return out if name in ("item", "tolist") else _w(out)
        return method

    # -- CuPy's own methods ---------------------------------------------------------------------
    def get(self, stream=None, order="C", out=None, blocking=True):
        if out is not None:
            out[...] = self._a
            return out
        return np.array(self._a, order=order)

    def set(self, arr, stream=None):
        if not isinstance(arr, np.ndarray):
            raise StrictCupyError("ndarray.set: the source must be a NumPy array")
        self._a[...] = arr
        fake_cupy.FAKE_LOG.append(("set", stream))

    def astype(self, dtype, order="K", casting=None, subok=None, copy=True):
        return _w(self._a.astype(dtype, order=order, copy=copy))

    def __dlpack__(self, stream=None, max_version=None, dl_device=None, copy=None):
        return self._a.__dlpack__(max_version=max_version)

    def __dlpack_device__(self):
        return (2, self._dev)  # kDLCUDA

    # -- Python protocol --------------------------------------------------------------------------
    def __getitem__(self, key):
        key = _wrap_indices(_u(key, "ndarray.__getitem__", allow_host=True), self._a.shape)
        return _w(self._a[key])

    def __setitem__(self, key, value):
        key = _wrap_indices(_u(key, "ndarray.__setitem__", allow_host=True), self._a.shape)
        self._a[key] = _u(value, "ndarray.__setitem__", allow_host=True)

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(len(self._a)))

    def __bool__(self):
        return bool(self._a)

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __complex__(self):
        return complex(self._a)

    def __repr__(self):
        return repr(self._a)

    __str__ = __repr__

    def __format__(self, spec):
        return format(self._a.item() if self._a.ndim == 0 else self._a, spec)

    def __copy__(self):
        return _w(self._a.copy())

    def __deepcopy__(self, memo):
        return _w(self._a.copy())

    def __reduce__(self):
        return (_w, (self._a.copy(),))

    def __neg__(self):
        return _w(-self._a)

    def __pos__(self):
        return _w(+self._a)

    def __abs__(self):
        return _w(abs(self._a))

    def __invert__(self):
        return _w(~self._a)


for _name, _np in [("add", "add"), ("sub", "subtract"), ("mul", "multiply"),
                   ("truediv", "true_divide"), ("floordiv", "floor_divide"), ("mod", "remainder"),
                   ("pow", "power"), ("matmul", "matmul"), ("and", "bitwise_and"),
                   ("or", "bitwise_or"), ("xor", "bitwise_xor"), ("lshift", "left_shift"),
                   ("rshift", "right_shift")]:
    setattr(ndarray, f"__{_name}__", _binop(_np))
    setattr(ndarray, f"__r{_name}__", _binop(_np, reflected=True))
    setattr(ndarray, f"__i{_name}__", _binop(_np, inplace=True))
for _name, _np in [("eq", "equal"), ("ne", "not_equal"), ("lt", "less"), ("le", "less_equal"),
                   ("gt", "greater"), ("ge", "greater_equal")]:
    setattr(ndarray, f"__{_name}__", _binop(_np))
ndarray.__divmod__ = lambda s, o: (s // o, s % o)


# -- functions and ufuncs -------------------------------------------------------------------------
_HOST_OK = {"asarray", "array", "asanyarray", "ascontiguousarray", "asfortranarray",
            "from_dlpack"}


_CREATION = {"empty", "zeros", "ones", "full"}


def _take(a, indices, axis=None, out=None):
    n = a.size if axis is None else a.shape[axis]
    return np.take(a, np.mod(indices, n) if n else indices, axis=axis, out=out)


def _take_along_axis(arr, indices, axis):
    n = arr.shape[axis] if axis is not None else arr.size
    return np.take_along_axis(arr, np.mod(indices, n) if n else indices, axis)


def _put_along_axis(arr, indices, values, axis):
    n = arr.shape[axis] if axis is not None else arr.size
    return np.put_along_axis(arr, np.mod(indices, n) if n else indices, values, axis)


_WRAPPING = {"take": _take, "take_along_axis": _take_along_axis,
             "put_along_axis": _put_along_axis}


def _function(name, fn, spec):
    fn = _WRAPPING.get(name, fn)
    sig = _signature(spec)
    host_ok = name in _HOST_OK

    def call(*args, **kwargs):
        _check_call(name, sig, args, kwargs)
        if name in _CREATION:  # the pool is asked first: an OOM never allocates host memory
            bound = sig.bind(*args, **kwargs).arguments
            shape = bound["shape"]
            shape = (shape,) if isinstance(shape, (int, np.integer)) else shape
            dt = np.dtype(bound.get("dtype") or (np.result_type(bound["fill_value"])
                                                 if name == "full" else float))
            _check_dtype(dt)
            mem = _malloc(dt.itemsize * int(np.prod(shape, dtype=np.int64)))
            out = fn(*args, **kwargs)
            _register(out, mem)  # _of finds it registered
            return ndarray._of(out)
        if host_ok and args and isinstance(args[0], np.ndarray):  # host to device: a copy
            args = (args[0].copy(),) + args[1:]
        args = _u(args, f"cupy.{name}", host_ok)
        kwargs = {k: _u(v, f"cupy.{name}", host_ok) for k, v in kwargs.items()}
        return _w(fn(*args, **kwargs))
    call.__name__ = name
    return call


class _Ufunc:
    """A NumPy ufunc with CuPy's signature (no ``where=``) and CuPy's methods only."""

    def __init__(self, uf, spec=None):
        self._uf = uf
        spec = spec or API["modules"][""].get(uf.__name__)
        if not isinstance(spec, dict):
            raise StrictCupyError(f"CuPy has no ufunc cupy.{uf.__name__}")
        self._sig = _signature(spec["ufunc"])
        # SciPy writes a few special functions (zeta) as Python functions, CuPy as ufuncs
        self.nin, self.nout = getattr(uf, "nin", spec.get("nin")), getattr(uf, "nout", 1)
        self.__name__ = uf.__name__

    def __call__(self, *args, **kwargs):
        _check_call(self.__name__, self._sig, args, kwargs)
        out = kwargs.get("out")
        res = self._uf(*_u(args, f"cupy.{self.__name__}"),
                       **{k: _u(v, f"cupy.{self.__name__}") for k, v in kwargs.items()})
        if isinstance(out, ndarray):
            return out
        if isinstance(out, tuple) and all(isinstance(o, ndarray) for o in out):
            return out
        return _w(res)

    def _method(self, method):
        if self.__name__ not in UFUNC_METHODS.get(method, ()):
            raise StrictCupyError(f"cupy.{self.__name__}.{method} is not implemented in CuPy "
                                  f"(it has {method} only for "
                                  f"{sorted(UFUNC_METHODS.get(method, ()))})")
        fn = getattr(self._uf, method)

        def call(*args, **kwargs):
            res = fn(*_u(args, f"cupy.{self.__name__}.{method}"),
                     **{k: _u(v, f"cupy.{self.__name__}.{method}") for k, v in kwargs.items()})
            return None if method == "at" else _w(res)
        return call

    def __getattr__(self, method):
        if method in ("at", "reduce", "accumulate", "reduceat"):
            return self._method(method)
        if method == "outer":
            return lambda a, b, **kw: _w(self._uf.outer(_u(a, "outer"), _u(b, "outer"), **kw))
        return getattr(self._uf, method)


class _Namespace(types.ModuleType):
    """One CuPy (sub)module: the recorded names, each NumPy's under CuPy's rules."""

    def __init__(self, key, numpy_mod, extra=None):
        super().__init__(f"cupy.{key}" if key else "cupy")
        self._key, self._np, self._table = key, numpy_mod, API["modules"][key]
        self.__dict__.update(extra or {})

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        if name not in self._table:
            raise AttributeError(f"module 'cupy{'.' + self._key if self._key else ''}' has no "
                                 f"attribute '{name}' (CuPy {API['version']})")
        attr = getattr(self._np, name)
        spec = self._table[name]
        if isinstance(spec, dict):
            value = _Ufunc(attr, spec)
        elif spec in ("type", "value") or not callable(attr):
            value = ndarray if name == "ndarray" else attr
        else:
            value = _function(name, attr, spec)
        setattr(self, name, value)  # found once
        return value


def _scatter(ufunc):
    def scatter(a, slices, value):
        target = _u(a, "cupyx.scatter")
        key = _wrap_indices(_u(slices, "cupyx.scatter", True), target.shape)
        ufunc.at(target, key, _u(value, "cupyx.scatter"))
    return scatter


class _Capsule:
    def __init__(self, capsule):
        self.capsule = capsule

    def __dlpack__(self, **kwargs):
        return self.capsule

    def __dlpack_device__(self):
        return (1, 0)  # the memory is NumPy's


def _from_dlpack(x, **kwargs):
    """``cupy.from_dlpack``: zero-copy from a producer whose device is CUDA (kDLCUDA)."""
    if isinstance(x, ndarray):
        return x
    if x.__dlpack_device__()[0] != 2:
        raise StrictCupyError(f"cupy.from_dlpack: the producer is on device "
                              f"{x.__dlpack_device__()}, not CUDA")
    try:
        capsule = x.__dlpack__(max_version=(1, 0))
    except TypeError:
        capsule = x.__dlpack__()
    return _w(np.from_dlpack(_Capsule(capsule)))


def _special():
    import scipy.special
    mod = _Namespace("cupyx.scipy.special", scipy.special)
    mod.__name__ = "cupyx.scipy.special"
    return mod


def make_module():
    """A fresh strict ``cupy`` module (with fake_cupy's devices, pool, streams and events),
    and the ``cupyx`` modules that go with it."""
    base = fake_cupy.make_module()
    lib = types.ModuleType("cupy.lib")
    lib.stride_tricks = _Namespace("lib.stride_tricks", np.lib.stride_tricks)
    mod = _Namespace("", np, {
        "__version__": API["version"] + ".strict-fake", "cuda": base.cuda,
        "get_default_memory_pool": base.get_default_memory_pool, "_allocator": base._allocator,
        "linalg": _Namespace("linalg", np.linalg), "fft": _Namespace("fft", np.fft),
        "random": _Namespace("random", np.random), "lib": lib,
        "asnumpy": lambda a, stream=None, order="C", out=None, blocking=True:
            a.get(order=order, out=out) if isinstance(a, ndarray) else np.asarray(a),
        "get_array_module": lambda *args: mod if any(isinstance(a, ndarray) for a in args)
            else np,
        "from_dlpack": _from_dlpack,
    })
    _MODULE["allocator"] = base._allocator
    fake_cupy.POOL.limit = fake_cupy.RUNTIME.memGetInfo()[1]
    cupyx = types.ModuleType("cupyx")
    cupyx.scatter_add = _scatter(np.add)
    cupyx.scatter_max = _scatter(np.maximum)
    cupyx.scatter_min = _scatter(np.minimum)
    cupyx.scipy = types.ModuleType("cupyx.scipy")
    try:
        cupyx.scipy.special = _special()
    except ImportError:  # SciPy absent: the special functions are then absent too
        pass
    mod._cupyx = cupyx
    return mod
