"""Autocast: run the ops that tolerate it in float16/bfloat16, the sensitive ones in float32.

Inside ``ember.autocast(device_type)`` an op listed for that device casts its floating
tensor inputs before it runs, following PyTorch's documented lists:

- ``LOWER``: matmul, linear, convolutions, RNNs... run in the autocast dtype (float32
  inputs are cast down; float64 inputs are left alone).
- ``FP32``: exp, log, softmax, sums, norms and losses on CUDA (on the CPU: losses,
  linear algebra, FFTs): float16/bfloat16 inputs are cast up to float32.
- ``PROMOTE``: ops with several inputs run in the widest floating dtype among them.
- ``BANNED``: ops PyTorch refuses under CUDA autocast (``binary_cross_entropy``).

The lists are one table per device type, keyed by the op's name in the registry
(``ember.ops.REGISTRY``), so there is no second list of ops. Autocast installs one hook
on the listed primitives while it is on (``Primitive.set_amp``): the registry's ``apply``
calls it to cast the inputs, and with autocast off the hot path pays one attribute read.
Composite public functions (built from primitives, such as ``mse_loss``) join the table
with the :func:`autocast_op` decorator. Casts go through ``ember.ops.elementwise.cast``,
so gradients flow back to float32 parameters in float32; backward passes run their
rules as recorded (no autocast inside ``backward()``), as in PyTorch.

The cast of a float32 leaf that requires grad (a parameter) is cached until the
outermost autocast region exits, so a weight used many times is cast once.
"""

import functools
import warnings

from ember import _dtype
from ember._tensor import Tensor
from ember.autograd import graph as _graph
from ember.autograd.grad_mode import STATE
from ember.ops import REGISTRY
from ember.ops.elementwise import cast as _cast

LOWER, FP32, PROMOTE, BANNED = "lower", "fp32", "promote", "banned"

_LOSSES = ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "nll_loss", "cross_entropy",
           "kl_div", "poisson_nll_loss", "cosine_embedding_loss", "hinge_embedding_loss",
           "margin_ranking_loss", "soft_margin_loss", "multilabel_soft_margin_loss",
           "triplet_margin_loss", "multi_margin_loss", "multilabel_margin_loss",
           "binary_cross_entropy_with_logits", "cross_entropy_fused", "seq_log_sigmoid",
           "ctc_loss")
_LINALG = ("linalg_cholesky_ex", "linalg_qr", "linalg_svd", "linalg_eig", "linalg_eigh",
           "linalg_inv_ex", "linalg_solve_ex", "linalg_solve_triangular", "linalg_pinv",
           "linalg_inv", "linalg_solve", "linalg_cholesky", "linalg_lstsq", "linalg_svdvals",
           "linalg_eigvals", "linalg_eigvalsh", "inverse", "cholesky")
_FFT = ("fft_c2c", "fft_r2c", "fft_c2r")
_CONV = ("conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
         "conv_transpose3d")


def _table(lower=(), fp32=(), promote=(), banned=()):
    t = dict.fromkeys(lower, LOWER)
    t.update(dict.fromkeys(fp32, FP32))
    t.update(dict.fromkeys(promote, PROMOTE))
    t.update(dict.fromkeys(banned, BANNED))
    return t


# PyTorch's "CUDA Ops that can autocast to float16 / to float32 / promote to the widest
# input type", by ember name: primitives first, then composite functions (autocast_op).
CUDA_OPS = _table(
    lower=("matmul", "linear", "conv_nd", "conv_transpose_nd", "einsum", "rnn_cell",
           "lstm_cell", "gru_cell", "rnn_layer", "lstm_layer", "gru_layer", "lstm", "gru",
           "rnn_tanh", "rnn_relu", "rnn_tanh_cell", "rnn_relu_cell", "mm", "bmm", "mv",
           "addmm", "addbmm", "baddbmm", "addmv", "addr", "chain_matmul", "multi_dot",
           "prelu") + _CONV,
    fp32=("pow", "int_pow", "acos", "asin", "cosh", "sinh", "tan", "exp", "expm1", "log",
          "log10", "log2", "log1p", "reciprocal", "rsqrt", "erfinv", "softmax", "log_softmax",
          "sum", "prod", "cumsum", "cumprod", "native_layer_norm", "native_group_norm")
    + _LOSSES + _LINALG + _FFT
    + ("softplus", "softmin", "norm", "normalize", "cosine_similarity", "cdist", "pdist",
       "dist", "renorm", "layer_norm", "group_norm"),
    promote=("atan2", "cat", "stack", "addcdiv", "addcmul", "cross", "dot", "tensordot",
             "bilinear", "grid_sample"),
    banned=("binary_cross_entropy",))

# PyTorch's "CPU Ops that can autocast to bfloat16 / to float32 / promote".
CPU_OPS = _table(
    lower=("matmul", "linear", "conv_nd", "conv_transpose_nd", "einsum", "lstm_layer", "lstm",
           "mm", "bmm", "addmm", "addbmm", "baddbmm", "prelu", "scaled_dot_product_attention",
           "linalg_vecdot", "conv_tbc") + _CONV,
    fp32=("binary_cross_entropy", "prod", "lstm_cell", "gru_cell")
    + _LOSSES + _LINALG + _FFT
    + ("cdist", "trace", "quantile", "nanquantile", "stft", "avg_pool3d", "max_pool3d",
       "adaptive_avg_pool3d", "max_unpool2d", "max_unpool3d", "polar", "cholesky_solve",
       "cholesky_inverse", "linalg_cond", "linalg_matrix_rank", "linalg_svdvals",
       "linalg_eigvals", "linalg_eigvalsh", "linalg_tensorinv", "linalg_tensorsolve",
       "linalg_lstsq"),
    promote=("cat", "stack", "index_copy"))

OPS = {"cpu": CPU_OPS, "cuda": CUDA_OPS}

_BANNED_MSG = {
    "binary_cross_entropy": (
        "ember.nn.functional.binary_cross_entropy and ember.nn.BCELoss are unsafe to "
        "autocast.\nMany models use a sigmoid layer right before the binary cross entropy "
        "layer.\nIn this case, combine the two layers using "
        "ember.nn.functional.binary_cross_entropy_with_logits\nor ember.nn.BCEWithLogitsLoss."
        "  binary_cross_entropy_with_logits and BCEWithLogits are\nsafe to autocast.")}


# -- state ---------------------------------------------------------------------------------------
class _DeviceState:
    __slots__ = ("enabled", "dtype")

    def __init__(self, dtype):
        self.enabled, self.dtype = False, dtype


_STATE = {"cpu": _DeviceState(_dtype.bfloat16), "cuda": _DeviceState(_dtype.float16)}
_GLOBAL = {"cache_enabled": True, "nesting": 0, "hooked": False, "custom_bwd": 0}
_cache = {}  # id(leaf) -> (leaf, version, dtype, cast): casts of parameters in this region


def is_autocast_available(device_type):
    """Whether autocast supports ``device_type`` ('cpu' and 'cuda')."""
    return device_type in _STATE


def is_autocast_enabled(device_type=None):
    """Whether autocast is on for ``device_type`` (no argument: CUDA, as in PyTorch)."""
    return _state(device_type or "cuda").enabled


def get_autocast_dtype(device_type):
    """The dtype ``LOWER`` ops run in on ``device_type`` (float16 on CUDA, bfloat16 on CPU
    unless an enclosing autocast chose another)."""
    return _state(device_type).dtype


def set_autocast_enabled(device_type, enabled):
    """Switch autocast for ``device_type`` on or off (prefer the context manager)."""
    _state(device_type).enabled = bool(enabled)
    _sync_hooks()


def set_autocast_dtype(device_type, dtype):
    _state(device_type).dtype = _dtype.to_dtype(dtype)


def is_autocast_cache_enabled():
    return _GLOBAL["cache_enabled"]


def set_autocast_cache_enabled(enabled):
    _GLOBAL["cache_enabled"] = bool(enabled)


def clear_autocast_cache():
    """Forget the cached casts of parameters (done when the outermost autocast exits)."""
    _cache.clear()


def _state(device_type):
    st = _STATE.get(device_type)
    if st is None:
        raise RuntimeError(f"User specified an unsupported autocast device_type "
                           f"'{device_type}'")
    return st


def _sync_hooks():
    """Install the hook on the listed primitives while autocast is on for any device."""
    on = any(st.enabled for st in _STATE.values())
    if on == _GLOBAL["hooked"]:
        return
    _GLOBAL["hooked"] = on
    for name in set(CPU_OPS) | set(CUDA_OPS):
        prim = REGISTRY.get(name)
        if prim is not None:
            prim.set_amp(_hook if on else None)


# -- casting -------------------------------------------------------------------------------------
def _hook(prim, args):
    """The registry's autocast hook: ``args`` cast by ``prim``'s policy on their device."""
    return _apply_policy(prim.name, args)


def _apply_policy(name, args):
    if _graph._callbacks and not _GLOBAL["custom_bwd"]:
        return args  # inside backward(): rules run in the dtypes the forward recorded
    dev = next((a._device for a in args if isinstance(a, Tensor)), None)
    if dev is None:
        return args
    st = _STATE.get(dev.type)
    if st is None or not st.enabled:
        return args
    policy = OPS[dev.type].get(name)
    if policy is None:
        return args
    if policy == LOWER:
        return tuple(_to_lower(a, st.dtype.np) for a in args)
    if policy == FP32:
        return tuple(_to_fp32(a) for a in args)
    if policy == PROMOTE:
        return _promote(args)
    raise RuntimeError(_BANNED_MSG.get(name, f"{name} is unsafe to autocast."))


def _is_float(a):
    return isinstance(a, Tensor) and a._data.dtype.kind in "fV"


def _to_lower(a, np_dtype):
    if not _is_float(a) or a._data.dtype == np_dtype or a._data.dtype.itemsize == 8:
        return a  # float64 is left alone, as in PyTorch
    if _GLOBAL["cache_enabled"] and a._requires_grad and a._node is None and \
            a._base is None and STATE.enabled:
        hit = _cache.get(id(a))
        ver = a._vc[0] if a._vc is not None else 0
        if hit is not None and hit[0] is a and hit[1] == ver and hit[2] == np_dtype:
            return hit[3]
        out = _cast(a, np_dtype)
        _cache[id(a)] = (a, ver, np_dtype, out)
        return out
    return _cast(a, np_dtype)


_F32 = _dtype.float32.np


def _to_fp32(a):
    if _is_float(a) and a._data.dtype.itemsize == 2:  # float16 and bfloat16
        return _cast(a, _F32)
    return a


def _promote(args):
    floats = [a for a in args if _is_float(a)]
    if len(floats) < 2:
        return args
    widest = floats[0].dtype
    for a in floats[1:]:
        widest = _dtype.promote_types(widest, a.dtype)
    return tuple(_cast(a, widest.np) if _is_float(a) else a for a in args)


def autocast_op(name):
    """Decorator that lets autocast cast the tensor arguments of a composite function.

    For a public function built from primitives (``mse_loss``), so the table can list it
    by ``name`` as PyTorch lists the op. Inside autocast, tensor arguments (positional
    and keyword) are cast by the table's policy and the body runs with autocast off for
    that device, as PyTorch runs a listed op; outside autocast the cost is one check.

    Example:
        >>> import ember
        >>> from ember.amp.autocast_mode import autocast_op
        >>> @autocast_op("mse_loss")
        ... def my_mse(x, y):
        ...     return ((x - y) ** 2).mean()
        >>> x = ember.ones(3, dtype=ember.bfloat16)
        >>> with ember.autocast("cpu"):
        ...     my_mse(x, x).dtype
        ember.float32
    """
    def deco(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            if not _GLOBAL["hooked"]:
                return fn(*args, **kwargs)
            dev = next((a._device for a in (*args, *kwargs.values()) if isinstance(a, Tensor)),
                       None)
            if dev is None or dev.type not in _STATE or not _STATE[dev.type].enabled or \
                    name not in OPS[dev.type]:
                return fn(*args, **kwargs)
            keys = list(kwargs)
            cast = _apply_policy(name, (*args, *kwargs.values()))
            args, kwargs = cast[:len(args)], dict(zip(keys, cast[len(args):]))
            with autocast(dev.type, enabled=False):
                return fn(*args, **kwargs)
        return wrapper
    return deco


# -- the context manager -------------------------------------------------------------------------
_SUPPORTED = {"cpu": (_dtype.bfloat16, _dtype.float16),
              "cuda": (_dtype.float16, _dtype.bfloat16)}


class autocast:
    """Run the block (or decorated function) in mixed precision on ``device_type``.

    Args:
        device_type: ``"cuda"`` or ``"cpu"``.
        dtype: the lower precision (default float16 on CUDA, bfloat16 on CPU).
        enabled: False runs the block without autocast (nested regions may turn it off).
        cache_enabled: cache the casts of parameters inside the region (default on).

    Example:
        >>> import ember
        >>> lin = ember.nn.Linear(4, 2)
        >>> with ember.autocast("cpu", dtype=ember.bfloat16):
        ...     y = lin(ember.randn(3, 4))
        ...     with ember.autocast("cpu", enabled=False):
        ...         z = lin(ember.randn(3, 4))
        >>> y.dtype, z.dtype
        (ember.bfloat16, ember.float32)
        >>> y.float().sum().backward()
        >>> lin.weight.grad.dtype
        ember.float32
    """

    def __init__(self, device_type, dtype=None, enabled=True, cache_enabled=None):
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        self.device = device_type
        _state(device_type)  # PyTorch's error for a device type autocast does not support
        self.fast_dtype = _dtype.to_dtype(dtype) if dtype is not None else \
            get_autocast_dtype(device_type)
        self._enabled = bool(enabled)
        self._cache_enabled = cache_enabled
        if not self._enabled:
            return
        if self.fast_dtype not in _SUPPORTED[device_type]:
            names = ", ".join(f"ember.{d.name}" for d in _SUPPORTED[device_type])
            warnings.warn(f"In {device_type.upper()} autocast, but the target dtype is not "
                          f"supported. Disabling autocast.\n{device_type.upper()} Autocast "
                          f"only supports dtypes of {names} currently.")
            self._enabled = False
        elif device_type == "cuda":
            from ember.backend import cuda as _backend
            if not _backend.is_available():
                warnings.warn("CUDA is not available (ember needs CuPy and an NVIDIA GPU). "
                              "Disabling autocast.")
                self._enabled = False
            elif self.fast_dtype is _dtype.bfloat16:
                from ember import cuda
                if not cuda.is_bf16_supported():
                    raise RuntimeError("Current CUDA Device does not support bfloat16. Please "
                                       "switch dtype to float16.")

    def __enter__(self):
        st = _STATE[self.device]
        self._prev = (st.enabled, st.dtype, _GLOBAL["cache_enabled"])
        st.enabled, st.dtype = self._enabled, self.fast_dtype
        if self._cache_enabled is not None:
            _GLOBAL["cache_enabled"] = bool(self._cache_enabled)
        _GLOBAL["nesting"] += 1
        _sync_hooks()
        return self

    def __exit__(self, *exc):
        _GLOBAL["nesting"] -= 1
        if _GLOBAL["nesting"] == 0:
            clear_autocast_cache()
        st = _STATE[self.device]
        st.enabled, st.dtype, _GLOBAL["cache_enabled"] = self._prev
        _sync_hooks()
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with autocast(self.device, self.fast_dtype, self._enabled, self._cache_enabled):
                return func(*args, **kwargs)
        return wrapper


# -- custom autograd Functions -------------------------------------------------------------------
def custom_fwd(fwd=None, *, device_type, cast_inputs=None):
    """Decorator for a custom ``Function.forward`` under autocast (PyTorch's ``custom_fwd``).

    With ``cast_inputs`` (a dtype), floating tensor arguments are cast to it and forward
    runs with autocast off; without, forward runs as autocast is and ``custom_bwd``
    runs backward in the same autocast state.
    """
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def wrapper(ctx, *args, **kwargs):
        ctx._fwd_used_autocast = is_autocast_enabled(device_type)
        ctx._dtype = get_autocast_dtype(device_type)
        if cast_inputs is None or not ctx._fwd_used_autocast:
            return fwd(ctx, *args, **kwargs)
        npd = _dtype.to_dtype(cast_inputs).np

        def cast(v):
            return _cast(v, npd) if _is_float(v) and v._device.type == device_type else v
        with autocast(device_type, enabled=False):
            return fwd(ctx, *[cast(a) for a in args], **{k: cast(v) for k, v in kwargs.items()})
    return wrapper


def custom_bwd(bwd=None, *, device_type):
    """Decorator for a custom ``Function.backward``: runs it in forward's autocast state."""
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)

    @functools.wraps(bwd)
    def wrapper(ctx, *grads):
        _GLOBAL["custom_bwd"] += 1
        try:
            with autocast(device_type, enabled=getattr(ctx, "_fwd_used_autocast", False),
                          dtype=getattr(ctx, "_dtype", None)):
                return bwd(ctx, *grads)
        finally:
            _GLOBAL["custom_bwd"] -= 1
    return wrapper
