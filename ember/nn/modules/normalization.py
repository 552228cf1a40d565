"""Layer, group, RMS and local response normalisation layers."""

from ember.nn import init
from ember.nn._functional import normalization as F
from ember.nn.modules.module import Module
from ember.nn.parameter import Parameter
from ember.ops.creation import empty

__all__ = ["LayerNorm", "GroupNorm", "RMSNorm", "LocalResponseNorm"]


def _shape_tuple(normalized_shape):
    if isinstance(normalized_shape, int):
        return (normalized_shape,)
    return tuple(normalized_shape)


class LayerNorm(Module):
    r"""Layer normalisation over the last ``len(normalized_shape)`` dims.

    .. math:: y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \gamma + \beta

    Args:
        normalized_shape: trailing shape to normalise over (an int or a tuple).
        eps: added to the (biased) variance. Default: 1e-5.
        elementwise_affine: learn :math:`\gamma` (init 1) and :math:`\beta` (init 0) of
            shape ``normalized_shape``. Default: ``True``.
        bias: learn :math:`\beta` too (with ``elementwise_affine``). Default: ``True``.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.LayerNorm(4)(ember.randn(2, 3, 4)).shape
        ember.Size([2, 3, 4])
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 device=None, dtype=None):
        super().__init__()
        self.normalized_shape = _shape_tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(empty(self.normalized_shape, device=device, dtype=dtype))
            if bias:
                self.bias = Parameter(empty(self.normalized_shape, device=device, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        if self.elementwise_affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class GroupNorm(Module):
    r"""Group normalisation: channels split into ``num_groups`` groups, each normalised over
    its channels and spatial dims, then a per-channel affine map.

    Args:
        num_groups: number of groups (must divide ``num_channels``).
        num_channels: :math:`C` of an ``(N, C, *)`` input.
        eps: added to the variance. Default: 1e-5.
        affine: learn per-channel :math:`\gamma` (1) and :math:`\beta` (0). Default: ``True``.
        bias: learn :math:`\beta` too (with ``affine``); keyword only. Default: ``True``.
    """

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None,
                 dtype=None, *, bias=True):
        super().__init__()
        if num_channels % num_groups != 0:
            raise ValueError("num_channels must be divisible by num_groups")
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        self.register_parameter("weight", Parameter(empty(num_channels, device=device, dtype=dtype))
                                if affine else None)
        self.register_parameter("bias", Parameter(empty(num_channels, device=device, dtype=dtype))
                                if affine and bias else None)
        self.reset_parameters()

    def reset_parameters(self):
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input):
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


class RMSNorm(Module):
    r"""Root-mean-square normalisation over the trailing ``normalized_shape``:

    .. math:: y = \frac{x}{\sqrt{\mathrm{E}[x^2] + \epsilon}} \gamma

    Args:
        normalized_shape: trailing shape to normalise over.
        eps: added under the root; ``None`` uses the input dtype's machine epsilon.
        elementwise_affine: learn :math:`\gamma` (init 1). Default: ``True``.
    """

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, device=None,
                 dtype=None):
        super().__init__()
        self.normalized_shape = _shape_tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(empty(self.normalized_shape, device=device, dtype=dtype))
        else:
            self.register_parameter("weight", None)
        self.reset_parameters()

    def reset_parameters(self):
        if self.elementwise_affine:
            init.ones_(self.weight)

    def forward(self, x):
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class LocalResponseNorm(Module):
    r"""Local response normalisation across neighbouring channels:
    :math:`b_c = a_c (k + \frac{\alpha}{n} \sum_{c'} a_{c'}^2)^{-\beta}`.

    Args:
        size: number of neighbouring channels :math:`n`.
        alpha: multiplicative factor. Default: 1e-4.
        beta: exponent. Default: 0.75.
        k: additive factor. Default: 1.
    """

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def forward(self, input):
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
