"""ember's ops, one file per family; this module gathers them and binds Tensor methods."""

from ember._tensor import Tensor, _wrap
from ember.autograd import graph as _graph
from ember.ops._registry import REGISTRY, Primitive, primitive, apply  # noqa: F401
from ember.ops import elementwise, views, reduce, linalg, methods, creation  # noqa: F401
from ember.ops.elementwise import *  # noqa: F401,F403
from ember.ops.views import *  # noqa: F401,F403
from ember.ops.reduce import *  # noqa: F401,F403
from ember.ops.linalg import *  # noqa: F401,F403
from ember.ops.creation import *  # noqa: F401,F403
from ember.ops.methods import clone, contiguous  # noqa: F401


def _zeros_meta(meta):
    shape, dtype, dev = meta
    return _wrap(dev.xp.zeros(shape, dtype=dtype), dev)


def _has_nan(t):
    return bool(t._device.xp.isnan(t._data).any()) if t._data.dtype.kind in "fc" else False


_graph.HELPERS.update(sum_to=reduce.sum_to, cast=elementwise.cast, zeros=_zeros_meta,
                      has_nan=_has_nan)

# Tensor methods that are plain ops with the tensor first.
_METHODS = """
add sub mul div true_divide floor_divide remainder fmod pow float_power maximum minimum fmax fmin
atan2 arctan2 hypot logaddexp logaddexp2 copysign xlogy subtract multiply divide
neg negative exp exp2 expm1 log log2 log10 log1p sqrt rsqrt sin cos tan asin acos atan sinh
cosh tanh asinh acosh atanh arcsin arccos arctan arcsinh arccosh arctanh reciprocal sigmoid relu
abs absolute sign sgn floor ceil trunc fix frac round square signbit erf erfc erfinv lgamma
digamma logit sinc i0 deg2rad rad2deg conj angle
where clamp clip clamp_min clamp_max lerp addcmul addcdiv nan_to_num
eq ne lt le gt ge greater greater_equal less less_equal not_equal
logical_and logical_or logical_xor logical_not bitwise_and bitwise_or bitwise_xor bitwise_not
bitwise_left_shift bitwise_right_shift isnan isinf isfinite isposinf isneginf isreal isclose
allclose equal
view view_as reshape reshape_as flatten unflatten ravel permute transpose swapaxes swapdims t
movedim moveaxis expand expand_as broadcast_to squeeze unsqueeze
sum mean matmul
""".split()

_INPLACE = """
exp log sqrt rsqrt sin cos tan tanh sigmoid relu abs neg floor ceil trunc round frac sign
clamp clip clamp_min clamp_max lerp addcmul addcdiv nan_to_num pow remainder fmod reciprocal
square exp2 expm1 log1p log2 log10 asin acos atan sinh cosh asinh acosh atanh erf erfc erfinv
lgamma digamma logit floor_divide sgn fix negative true_divide multiply subtract divide
maximum minimum atan2 arctan2 hypot copysign xlogy logical_not logical_and logical_or
logical_xor bitwise_and bitwise_or bitwise_xor bitwise_not eq ne lt le gt ge
""".split()


def bind_methods(names, namespace, inplace=()):
    """Attach ``namespace[name]`` as ``Tensor.name`` (and ``name_`` in-place variants)."""
    for name in names:
        setattr(Tensor, name, namespace[name])
    for name in inplace:
        if not hasattr(Tensor, name + "_"):
            setattr(Tensor, name + "_", methods.INPLACE(namespace[name], name + "_"))


methods._attach()
bind_methods(_METHODS, globals(), _INPLACE)
Tensor.__matmul__ = linalg.matmul
Tensor.__rmatmul__ = lambda self, other: linalg.matmul(other, self)
Tensor.H = property(lambda self: conj(transpose(self, 0, 1)) if self._data.ndim == 2 else self)  # noqa: F405,E501
Tensor.mH = property(lambda self: conj(transpose(self, -2, -1)))  # noqa: F405

from ember.ops import shape, random  # noqa: E402,F401
from ember.ops.shape import *  # noqa: E402,F401,F403
from ember.ops.random import *  # noqa: E402,F401,F403

bind_methods("cat split chunk tensor_split unbind narrow select".split(), globals())
for _name in ("uniform_ normal_ bernoulli_ exponential_ random_ geometric_ log_normal_ "
              "cauchy_").split():
    setattr(Tensor, _name, getattr(random, _name))
Tensor.bernoulli = random.bernoulli
Tensor.multinomial = random.multinomial

# reductions and sorting (ember/ops/reduce.py, ember/ops/sorting.py)
from ember.ops import sorting, scan  # noqa: E402,F401
from ember.ops.sorting import *  # noqa: E402,F401,F403
from ember.ops.scan import *  # noqa: E402,F401,F403

bind_methods("""nansum nanmean prod var std amax amin max min argmax argmin aminmax logsumexp norm
all any count_nonzero cumsum cumprod cummax cummin logcumsumexp sort argsort msort topk kthvalue
median nanmedian mode quantile nanquantile unique unique_consecutive""".split(), globals(),
             ("cumsum", "cumprod"))

# indexing, views and shape ops (ember/ops/index.py, views.py, shape.py)
from ember.ops import index  # noqa: E402,F401
from ember.ops.index import *  # noqa: E402,F401,F403

bind_methods("""gather scatter scatter_add scatter_reduce index_select index_add index_copy
index_fill index_put masked_fill masked_select masked_scatter take take_along_dim put nonzero
argwhere bincount histc flip fliplr flipud roll rot90 tile repeat_interleave tril triu diag
diag_embed diagflat trace diagonal diagonal_scatter as_strided""".split(), globals(),
             ("scatter", "scatter_add", "scatter_reduce", "tril", "triu"))
for _name in "index_add_ index_copy_ index_fill_ index_put_ masked_fill_ masked_scatter_ put_" \
        .split():
    setattr(Tensor, _name, getattr(index, _name))
Tensor.repeat, Tensor.unfold = shape.repeat, views.unfold
Tensor.T, Tensor.mT = property(views.tensor_T), property(views.tensor_mT)
_graph.HELPERS["replay"] = views.replay  # a stale view's node is made afresh from its base

# linear algebra (ember/ops/linalg*.py; the torch.linalg namespace is ember/linalg.py)
from ember.ops.linalg_solve import *  # noqa: E402,F401,F403
from ember.ops.linalg_decomp import *  # noqa: E402,F401,F403
from ember.ops.linalg_norms import *  # noqa: E402,F401,F403

bind_methods("""mm bmm mv dot vdot inner outer ger addmm addmv addbmm baddbmm addr cross kron
matrix_power matrix_exp det logdet slogdet inverse pinverse cholesky cholesky_solve
cholesky_inverse qr svd dist triangular_solve""".split(), globals(),
             ("addmm", "addmv", "addbmm", "baddbmm", "addr"))

# more elementwise math, numerical utilities, LU, and signal windows/STFT
# (ember/ops/arith.py, numeric.py, numeric_views.py, linalg_lu.py, spectral.py)
from ember.ops import arith, numeric, numeric_views, linalg_lu, spectral  # noqa: E402,F401
from ember.ops.arith import *  # noqa: E402,F401,F403
from ember.ops.numeric import *  # noqa: E402,F401,F403
from ember.ops.numeric_views import *  # noqa: E402,F401,F403
from ember.ops.linalg_lu import *  # noqa: E402,F401,F403
from ember.ops.spectral import *  # noqa: E402,F401,F403

for _mod in (arith, numeric, numeric_views, linalg_lu, spectral):
    bind_methods(_mod.METHODS, vars(_mod), _mod.INPLACE)
