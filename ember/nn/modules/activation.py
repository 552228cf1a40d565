"""Activation modules: thin wrappers over ``ember.nn.functional`` (see there for the math).

(``MultiheadAttention`` lives in ``attention.py``.)
"""

from ember.nn._functional import activation as F
from ember.nn.modules.module import Module
from ember.nn.parameter import Parameter
from ember.ops.creation import empty
from ember.nn import init

__all__ = ["Threshold", "ReLU", "RReLU", "Hardtanh", "ReLU6", "Sigmoid", "Hardsigmoid", "Tanh",
           "SiLU", "Mish", "Hardswish", "ELU", "CELU", "SELU", "GLU", "GELU", "Hardshrink",
           "LeakyReLU", "LogSigmoid", "Softplus", "Softshrink", "PReLU", "Softsign",
           "Tanhshrink", "Softmin", "Softmax", "Softmax2d", "LogSoftmax"]


def _inplace_str(inplace, first=False):
    if not inplace:
        return ""
    return "inplace=True" if first else ", inplace=True"


class _Stateless(Module):
    """An activation with no arguments: ``forward`` applies ``fn``."""

    fn = None

    def forward(self, input):
        return type(self).fn(input)


class _Inplace(Module):
    """An activation whose only argument is ``inplace``."""

    fn = None

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return type(self).fn(input, inplace=self.inplace)

    def extra_repr(self):
        return _inplace_str(self.inplace, first=True)


class Threshold(Module):
    r""":math:`y = x` if :math:`x > \text{threshold}`, else ``value``.

    Args:
        threshold: the value to threshold at.
        value: the value to replace with.
        inplace: operate in place. Default: ``False``.
    """

    def __init__(self, threshold, value, inplace=False):
        super().__init__()
        self.threshold = threshold
        self.value = value
        self.inplace = inplace

    def forward(self, input):
        return F.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self):
        return f"threshold={self.threshold}, value={self.value}{_inplace_str(self.inplace)}"


class ReLU(_Inplace):
    r""":math:`\text{ReLU}(x) = \max(0, x)`.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.ReLU()(ember.tensor([-1.0, 2.0]))
        tensor([0., 2.])
    """

    fn = staticmethod(F.relu)


class RReLU(Module):
    r"""Randomized leaky ReLU: :math:`x` for :math:`x \ge 0`, else :math:`a x` with
    :math:`a \sim U(\text{lower}, \text{upper})` in training and
    :math:`a = (\text{lower} + \text{upper}) / 2` in evaluation.
    """

    def __init__(self, lower=1.0 / 8, upper=1.0 / 3, inplace=False):
        super().__init__()
        self.lower = lower
        self.upper = upper
        self.inplace = inplace

    def forward(self, input):
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self):
        return f"lower={self.lower}, upper={self.upper}{_inplace_str(self.inplace)}"


class Hardtanh(Module):
    r"""Clamp to ``[min_val, max_val]``.

    Args:
        min_val: lower bound. Default: -1.
        max_val: upper bound. Default: 1.
        inplace: operate in place. Default: ``False``.
    """

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False, min_value=None,
                 max_value=None):
        super().__init__()
        if min_value is not None:
            min_val = min_value
        if max_value is not None:
            max_val = max_value
        self.min_val = min_val
        self.max_val = max_val
        self.inplace = inplace
        if not self.max_val > self.min_val:
            raise AssertionError("max_val must be larger than min_val")

    def forward(self, input):
        return F.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}{_inplace_str(self.inplace)}"


class ReLU6(Hardtanh):
    r""":math:`\min(\max(0, x), 6)`."""

    def __init__(self, inplace=False):
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self):
        return _inplace_str(self.inplace, first=True)


class Sigmoid(_Stateless):
    r""":math:`\sigma(x) = 1 / (1 + e^{-x})`."""

    fn = staticmethod(F.sigmoid)


class Tanh(_Stateless):
    r""":math:`\tanh(x)`."""

    fn = staticmethod(F.tanh)


class Hardsigmoid(_Inplace):
    r"""Piecewise-linear sigmoid: :math:`\text{clamp}(x / 6 + 1/2, 0, 1)`."""

    fn = staticmethod(F.hardsigmoid)

    def extra_repr(self):
        return ""


class SiLU(_Inplace):
    r""":math:`x \sigma(x)`."""

    fn = staticmethod(F.silu)


class Mish(_Inplace):
    r""":math:`x \tanh(\text{softplus}(x))`."""

    fn = staticmethod(F.mish)

    def extra_repr(self):
        return ""


class Hardswish(_Inplace):
    r""":math:`x \cdot \text{clamp}(x + 3, 0, 6) / 6`."""

    fn = staticmethod(F.hardswish)

    def extra_repr(self):
        return ""


class ELU(Module):
    r""":math:`x` if :math:`x > 0`, else :math:`\alpha (e^x - 1)`."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, input):
        return F.elu(input, self.alpha, self.inplace)

    def extra_repr(self):
        return f"alpha={self.alpha}{_inplace_str(self.inplace)}"


class CELU(ELU):
    r""":math:`\max(0, x) + \min(0, \alpha (e^{x / \alpha} - 1))`."""

    def forward(self, input):
        return F.celu(input, self.alpha, self.inplace)


class SELU(_Inplace):
    r""":math:`\text{scale} (\max(0, x) + \min(0, \alpha (e^x - 1)))`, with
    :math:`\alpha \approx 1.6733` and :math:`\text{scale} \approx 1.0507`."""

    fn = staticmethod(F.selu)


class GLU(Module):
    r""":math:`a \otimes \sigma(b)`, ``a`` and ``b`` the halves of the input along ``dim``."""

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.glu(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class GELU(Module):
    r""":math:`x \Phi(x)`, or its tanh approximation with ``approximate='tanh'``."""

    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, input):
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Hardshrink(Module):
    r""":math:`x` where :math:`|x| > \lambda`, else 0."""

    def __init__(self, lambd=0.5):
        super().__init__()
        self.lambd = lambd

    def forward(self, input):
        return F.hardshrink(input, self.lambd)

    def extra_repr(self):
        return f"{self.lambd}"


class Softshrink(Hardshrink):
    r""":math:`x - \lambda` above :math:`\lambda`, :math:`x + \lambda` below
    :math:`-\lambda`, else 0."""

    def forward(self, input):
        return F.softshrink(input, self.lambd)


class LeakyReLU(Module):
    r""":math:`x` for :math:`x > 0`, else :math:`\text{negative\_slope} \cdot x`."""

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}{_inplace_str(self.inplace)}"


class LogSigmoid(_Stateless):
    r""":math:`\log \sigma(x)`."""

    fn = staticmethod(F.logsigmoid)


class Softplus(Module):
    r""":math:`\frac{1}{\beta} \log(1 + e^{\beta x})` (linear above ``threshold``)."""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, input):
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class PReLU(Module):
    r""":math:`\max(0, x) + a \min(0, x)` with a learned :math:`a` (one, or one per channel).

    Args:
        num_parameters: 1, or the number of channels (dim 1 of the input). Default: 1.
        init: initial value of :math:`a`. Default: 0.25.
    """

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        self.num_parameters = num_parameters
        super().__init__()
        self.init = init
        self.weight = Parameter(empty(num_parameters, device=device, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self):
        init.constant_(self.weight, self.init)

    def forward(self, input):
        return F.prelu(input, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class Softsign(_Stateless):
    r""":math:`x / (1 + |x|)`."""

    fn = staticmethod(F.softsign)


class Tanhshrink(_Stateless):
    r""":math:`x - \tanh(x)`."""

    fn = staticmethod(F.tanhshrink)


class _SoftmaxLike(Module):
    fn = None

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def __setstate__(self, state):
        super().__setstate__(state)
        self.__dict__.setdefault("dim", None)

    def forward(self, input):
        return type(self).fn(input, self.dim, _stacklevel=5)

    def extra_repr(self):
        return f"dim={self.dim}"


class Softmin(_SoftmaxLike):
    r""":math:`\text{softmax}(-x)` along ``dim``."""

    fn = staticmethod(F.softmin)


class Softmax(_SoftmaxLike):
    r""":math:`e^{x_i} / \sum_j e^{x_j}` along ``dim`` (rows sum to 1).

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.Softmax(dim=1)(ember.zeros(1, 4))
        tensor([[0.2500, 0.2500, 0.2500, 0.2500]])
    """

    fn = staticmethod(F.softmax)


class LogSoftmax(_SoftmaxLike):
    r""":math:`\log \text{softmax}(x)` along ``dim``."""

    fn = staticmethod(F.log_softmax)


class Softmax2d(Module):
    """Softmax over the channels (dim -3) of a ``(N, C, H, W)`` or ``(C, H, W)`` input."""

    def forward(self, input):
        if input.dim() not in (3, 4):
            raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {input.dim()}D "
                             f"instead")
        return F.softmax(input, -3, _stacklevel=5)
