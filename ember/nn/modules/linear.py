"""Affine layers: ``Identity``, ``Linear``, ``Bilinear``, ``LazyLinear``."""

import math

from ember.ops.creation import empty
from ember.nn import init
from ember.nn._functional.linear import linear, bilinear
from ember.nn.modules.lazy import LazyModuleMixin
from ember.nn.modules.module import Module
from ember.nn.parameter import Parameter, UninitializedParameter

__all__ = ["Identity", "Linear", "Bilinear", "LazyLinear"]


class Identity(Module):
    """Returns its input unchanged (arguments to the constructor are ignored).

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.Identity(54, unused="x")(ember.ones(2)).shape
        ember.Size([2])
    """

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    r"""Applies an affine map :math:`y = x A^T + b`.

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        bias: whether to learn an additive bias. Default: ``True``.

    Shape:
        Input :math:`(*, H_{in})`, output :math:`(*, H_{out})`.

    Attributes:
        weight: :math:`(H_{out}, H_{in})`, initialised from :math:`U(-\sqrt{k}, \sqrt{k})`
            with :math:`k = 1 / H_{in}` (``kaiming_uniform_`` with ``a = sqrt(5)``).
        bias: :math:`(H_{out})`, from the same distribution.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> m = nn.Linear(20, 30)
        >>> m(ember.randn(128, 20)).shape
        ember.Size([128, 30])
    """

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(empty((out_features, in_features), device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_features, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """Re-draw weight and bias from :math:`U(-1/\\sqrt{H_{in}}, 1/\\sqrt{H_{in}})`."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        return linear(input, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Bilinear(Module):
    r"""Applies a bilinear map :math:`y = x_1^T A x_2 + b`.

    Args:
        in1_features: size of each first input sample.
        in2_features: size of each second input sample.
        out_features: size of each output sample.
        bias: whether to learn an additive bias. Default: ``True``.

    Shape:
        Inputs :math:`(*, H_{in1})` and :math:`(*, H_{in2})`, output :math:`(*, H_{out})`.

    Attributes:
        weight: :math:`(H_{out}, H_{in1}, H_{in2})` from :math:`U(-\sqrt{k}, \sqrt{k})`,
            :math:`k = 1 / H_{in1}`; bias: :math:`(H_{out})`, same distribution.
    """

    def __init__(self, in1_features, in2_features, out_features, bias=True, device=None,
                 dtype=None):
        super().__init__()
        self.in1_features = in1_features
        self.in2_features = in2_features
        self.out_features = out_features
        self.weight = Parameter(empty((out_features, in1_features, in2_features),
                                      device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_features, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1 / math.sqrt(self.weight.shape[1])
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        return bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class LazyLinear(LazyModuleMixin, Linear):
    """A :class:`Linear` whose ``in_features`` is inferred from the first input.

    Until the first forward its weight and bias are :class:`UninitializedParameter`; the
    first call materialises and initialises them, and the module becomes a ``Linear``.

    Args:
        out_features: size of each output sample.
        bias: whether to learn an additive bias. Default: ``True``.
    """

    cls_to_become = Linear

    def __init__(self, out_features, bias=True, device=None, dtype=None):
        super().__init__(0, 0, False)
        self.out_features = out_features
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input):
        """Materialise the parameters from the first input's last dim and initialise them."""
        if not self.has_uninitialized_params():
            return
        self.in_features = input.shape[-1]
        self.weight.materialize((self.out_features, self.in_features))
        if self.bias is not None:
            self.bias.materialize((self.out_features,))
        self.reset_parameters()
