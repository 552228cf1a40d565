"""dtype objects and PyTorch's type-promotion rules.

A :class:`dtype` pairs PyTorch's name with the NumPy dtype that stores it.
Promotion follows ``torch.result_type``: operands are ranked by category
(bool < integer < floating < complex); dimensioned tensors decide first,
zero-dim tensors only when they are of a higher category, and Python scalars
only when they are of a higher category still (then the default dtype of that
category is used). A complex operand that decides keeps a floating operand's
precision: float32 tensor + complex128 scalar tensor -> complex64.
"""

import numpy as np
import ml_dtypes

BOOL, INT, FLOAT, COMPLEX = 0, 1, 2, 3


class dtype:
    """A tensor element type, named as in PyTorch (``ember.float32``)."""

    __slots__ = ("name", "np", "category", "itemsize", "is_floating_point", "is_complex",
                 "is_signed", "_rank")

    def __init__(self, name, np_dtype, category, rank):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.category = category
        self.itemsize = self.np.itemsize
        self.is_floating_point = category == FLOAT
        self.is_complex = category == COMPLEX
        self.is_signed = name not in ("bool", "uint8")
        self._rank = rank

    def __repr__(self):
        return f"ember.{self.name}"

    def __reduce__(self):
        return (_by_name, (self.name,))

    def to_real(self):
        """The real dtype of a complex dtype (itself otherwise)."""
        return {"complex64": float32, "complex128": float64}.get(self.name, self)

    def to_complex(self):
        """The complex dtype matching a floating dtype's precision."""
        return complex128 if self.name == "float64" else complex64


bool_ = dtype("bool", np.bool_, BOOL, 0)
uint8 = dtype("uint8", np.uint8, INT, 1)
int8 = dtype("int8", np.int8, INT, 1)
int16 = dtype("int16", np.int16, INT, 2)
int32 = dtype("int32", np.int32, INT, 3)
int64 = dtype("int64", np.int64, INT, 4)
float16 = dtype("float16", np.float16, FLOAT, 1)
bfloat16 = dtype("bfloat16", ml_dtypes.bfloat16, FLOAT, 1)
float32 = dtype("float32", np.float32, FLOAT, 2)
float64 = dtype("float64", np.float64, FLOAT, 3)
complex64 = dtype("complex64", np.complex64, COMPLEX, 2)
complex128 = dtype("complex128", np.complex128, COMPLEX, 3)

ALL = (bool_, uint8, int8, int16, int32, int64, float16, bfloat16, float32, float64,
       complex64, complex128)
_NAMES = {d.name: d for d in ALL}
# PyTorch's aliases
_NAMES.update(bool=bool_, half=float16, float=float32, double=float64, short=int16,
              int=int32, long=int64, cfloat=complex64, cdouble=complex128)
_FROM_NP = {d.np: d for d in ALL}
# the names PyTorch's error messages use ("result type Float can't be cast to ... Long")
_SCALAR_NAMES = dict(zip(ALL, ("Bool", "Byte", "Char", "Short", "Int", "Long", "Half", "BFloat16",
                               "Float", "Double", "ComplexFloat", "ComplexDouble")))


def scalar_name(d):
    """PyTorch's ScalarType name of dtype ``d`` (``Float`` for float32), used in messages."""
    return _SCALAR_NAMES[d]


def _by_name(name):
    return _NAMES[name]


def from_numpy_dtype(np_dtype):
    """The ember dtype storing ``np_dtype``; raises TypeError for unsupported ones."""
    try:
        return _FROM_NP[np_dtype]
    except KeyError:
        pass
    np_dtype = np.dtype(np_dtype)
    if np_dtype in _FROM_NP:
        return _FROM_NP[np_dtype]
    if np_dtype.kind == "u":  # uint16/32/64 have no ember dtype: widen like PyTorch would refuse
        raise TypeError(f"can't convert np.ndarray of type {np_dtype}. The only supported types "
                        "are: float64, float32, float16, bfloat16, complex64, complex128, int64, "
                        "int32, int16, int8, uint8, and bool.")
    raise TypeError(f"unsupported NumPy dtype {np_dtype}")


def to_dtype(d):
    """Accept an ember dtype, a NumPy dtype, a Python type or a name; return an ember dtype."""
    if isinstance(d, dtype):
        return d
    if d is float:
        return get_default_dtype()
    if d is int:
        return int64
    if d is bool:
        return bool_
    if d is complex:
        return get_default_dtype().to_complex()
    if isinstance(d, str) and d in _NAMES:
        return _NAMES[d]
    return from_numpy_dtype(d)


_default = [float32]


def get_default_dtype():
    """The dtype of floating tensors made from Python floats (float32 unless set)."""
    return _default[0]


def set_default_dtype(d):
    """Set the default floating dtype; only float32 and float64 (and float16/bfloat16) are valid."""
    d = to_dtype(d)
    if d.category != FLOAT:
        raise TypeError(f"set_default_dtype: only floating-point types are supported as the "
                        f"default type, got {d}")
    _default[0] = d


def _promote_same_category(a, b):
    if a.category == FLOAT and a._rank == b._rank == 1:  # float16 with bfloat16
        return float32
    if a.category == INT and {a.name, b.name} == {"uint8", "int8"}:
        return int16
    if a._rank == b._rank and a.name == "uint8":
        return b
    return a if a._rank > b._rank else b


def promote_types(a, b):
    """The smallest dtype both ``a`` and ``b`` can be cast to (``torch.promote_types``)."""
    if a is b:
        return a
    if a.category == b.category:
        return _promote_same_category(a, b)
    hi, lo = (a, b) if a.category > b.category else (b, a)
    if hi.category == COMPLEX and lo.category == FLOAT and lo._rank > hi._rank:
        return complex128
    return hi


_SCALAR_CATEGORY = {bool: BOOL, int: INT, float: FLOAT, complex: COMPLEX}


def scalar_category(x):
    """The category of a Python or NumPy scalar, or None if ``x`` is not a scalar."""
    c = _SCALAR_CATEGORY.get(type(x))
    if c is not None:
        return c
    if isinstance(x, (np.bool_, bool)):
        return BOOL
    if isinstance(x, (np.integer, int)):
        return INT
    if isinstance(x, (np.floating, float)):
        return FLOAT
    if isinstance(x, (np.complexfloating, complex)):
        return COMPLEX
    if type(x) in _ML_SCALARS:  # ml_dtypes scalars (bfloat16) are not np.floating
        return FLOAT
    return None


_ML_SCALARS = {ml_dtypes.bfloat16}


def default_for_category(cat):
    """The dtype a lone Python scalar of category ``cat`` becomes."""
    if cat == BOOL:
        return bool_
    if cat == INT:
        return int64
    if cat == FLOAT:
        return get_default_dtype()
    return get_default_dtype().to_complex()


def _combine(hi, lo):
    """Promote ``hi`` (operands of higher priority) with ``lo``: ``lo`` only decides when it is
    of a higher category, and a complex ``lo`` keeps a floating ``hi``'s precision."""
    if hi is None:
        return lo
    if lo is None or lo.category <= hi.category:
        return hi
    if lo.category == COMPLEX and hi.category == FLOAT:
        return hi.to_complex()
    return promote_types(hi, lo)


def result_dtype(dims, zeros, scalar_cat):
    """Promotion over dimensioned tensor dtypes, zero-dim tensor dtypes and a scalar category.

    ``dims`` and ``zeros`` are already-promoted dtypes or None; ``scalar_cat`` is the highest
    category among Python scalars or -1. Dimensioned tensors decide first; zero-dim tensors,
    then scalars, only when they are of a higher category.
    """
    scalar = default_for_category(scalar_cat) if scalar_cat >= 0 else None
    out = _combine(dims, _combine(zeros, scalar))
    return out if out is not None else default_for_category(scalar_cat)


def can_cast(src, dst):
    """PyTorch's same-kind rule for writing results: no float->int, no complex->real, etc."""
    if src.category <= dst.category:
        return True
    return False


class finfo:
    """Machine limits of a floating dtype (``ember.finfo(ember.float32).eps``)."""

    def __init__(self, type=None):
        d = to_dtype(type) if type is not None else get_default_dtype()
        if d.category not in (FLOAT, COMPLEX):
            raise TypeError(f"finfo: {d} is not a floating point dtype")
        d = d.to_real()
        info = ml_dtypes.finfo(d.np) if d.name == "bfloat16" else np.finfo(d.np)
        self.dtype = d.name
        self.bits = d.itemsize * 8
        self.eps = float(info.eps)
        self.max = float(info.max)
        self.min = float(info.min)
        self.tiny = self.smallest_normal = float(info.tiny)
        self.resolution = float(info.resolution)

    def __repr__(self):
        return (f"finfo(resolution={self.resolution}, min={self.min}, max={self.max}, "
                f"eps={self.eps}, smallest_normal={self.tiny}, tiny={self.tiny}, "
                f"dtype={self.dtype})")


class iinfo:
    """Limits of an integer dtype (``ember.iinfo(ember.int32).max``)."""

    def __init__(self, type):
        d = to_dtype(type)
        if d.category not in (INT, BOOL):
            raise TypeError(f"iinfo: {d} is not an integer dtype")
        info = np.iinfo(d.np if d.category == INT else np.uint8)
        self.dtype = d.name
        self.bits = d.itemsize * 8
        self.max = int(info.max) if d.category == INT else 1
        self.min = int(info.min) if d.category == INT else 0

    def __repr__(self):
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"
