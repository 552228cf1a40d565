"""Convolution layers: ``Conv1d/2d/3d``, ``ConvTranspose1d/2d/3d`` and their lazy forms."""

import math

from ember.ops.creation import empty
from ember.nn import init
from ember.nn._functional.conv import (conv1d, conv2d, conv3d, conv_transpose1d,
                                       conv_transpose2d, conv_transpose3d)
from ember.nn._functional.spatial import pad as _pad
from ember.nn.modules.module import Module
from ember.nn.parameter import Parameter, UninitializedParameter, is_lazy

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
           "ConvTranspose3d", "LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d",
           "LazyConvTranspose2d", "LazyConvTranspose3d"]

_PADDING_MODES = {"zeros", "reflect", "replicate", "circular"}


def _ntuple(v, n):
    if isinstance(v, (list, tuple)):
        return tuple(v) if len(v) != 1 else tuple(v) * n
    return (v,) * n


class _ConvNd(Module):
    """Shared state of the convolution layers (PyTorch's attribute names and checks)."""

    _nd = 0

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                 transposed, output_padding, groups, bias, padding_mode, device=None,
                 dtype=None):
        super().__init__()
        nd = self._nd
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        kernel_size, stride = _ntuple(kernel_size, nd), _ntuple(stride, nd)
        dilation = _ntuple(dilation, nd)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of "
                                 f"{{'valid', 'same'}}")
            if padding == "same" and any(s != 1 for s in stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
        else:
            padding = _ntuple(padding, nd)
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {_PADDING_MODES}, but got "
                             f"padding_mode='{padding_mode}'")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.transposed = dilation, transposed
        self.output_padding = _ntuple(output_padding, nd)
        self.groups, self.padding_mode = groups, padding_mode
        self._reversed_padding_repeated_twice = self._reversed_padding()
        shape = ((in_channels, out_channels // groups) if transposed else
                 (out_channels, in_channels // groups)) + kernel_size
        lazy = in_channels == 0 and isinstance(self, _LazyConvMixin)

        def param(shp):
            return UninitializedParameter(device=device, dtype=dtype) if lazy else \
                Parameter(empty(shp, device=device, dtype=dtype))
        self.weight = param(shape)
        if bias:
            self.bias = param((out_channels,))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def _reversed_padding(self):
        """``F.pad`` amounts (last dim first) for the non-zero padding modes."""
        if isinstance(self.padding, str):
            out = [0, 0] * self._nd
            if self.padding == "same":
                for i, (d, k) in enumerate(zip(self.dilation, self.kernel_size)):
                    total = d * (k - 1)
                    j = self._nd - 1 - i
                    out[2 * j], out[2 * j + 1] = total // 2, total - total // 2
            return out
        return [p for p in reversed(self.padding) for _ in range(2)]

    def reset_parameters(self):
        r"""Weight from ``kaiming_uniform_(a=sqrt(5))``, i.e. :math:`U(-1/\sqrt{k}, 1/\sqrt{k})`
        with :math:`k` = fan-in; bias from the same range."""
        if is_lazy(self.weight):
            return
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * len(self.padding):
            s += f", padding={self.padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * len(self.output_padding):
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class _Conv(_ConvNd):
    _fn = None

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros", device=None,
                 dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         False, 0, groups, bias, padding_mode, device, dtype)

    def _conv_forward(self, input, weight, bias):
        fn = type(self)._fn
        if self.padding_mode != "zeros":
            x = _pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return fn(x, weight, bias, self.stride, 0, self.dilation, self.groups)
        return fn(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, input):
        return self._conv_forward(input, self.weight, self.bias)


class Conv1d(_Conv):
    r"""1-D convolution over :math:`(N, C_{in}, L)`:
    :math:`\text{out}(N_i, C_{out_j}) = \text{bias}(C_{out_j}) + \sum_k
    \text{weight}(C_{out_j}, k) \star \text{input}(N_i, k)`.

    Args:
        in_channels, out_channels: channel counts.
        kernel_size: window length ``k``.
        stride, dilation: int or 1-tuple.
        padding: int, 1-tuple, ``'valid'`` or ``'same'``.
        groups: independent channel groups (both channel counts must divide by it).
        bias: learn an additive bias. Default: ``True``.
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.

    Shape:
        Input :math:`(N, C_{in}, L_{in})` or :math:`(C_{in}, L_{in})`; output
        :math:`(N, C_{out}, L_{out})`,
        :math:`L_{out} = \lfloor (L_{in} + 2p - d(k-1) - 1)/s \rfloor + 1`.

    Attributes:
        weight: :math:`(C_{out}, C_{in}/\text{groups}, k)` from :math:`U(-\sqrt{c}, \sqrt{c})`,
            :math:`c = \text{groups} / (C_{in} k)`; bias :math:`(C_{out})`, same range.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.Conv1d(16, 33, 3, stride=2)(ember.randn(20, 16, 50)).shape
        ember.Size([20, 33, 24])
    """

    _nd = 1
    _fn = staticmethod(conv1d)


class Conv2d(_Conv):
    r"""2-D convolution over :math:`(N, C_{in}, H, W)`.

    Args:
        in_channels, out_channels: channel counts.
        kernel_size: int or pair.
        stride, dilation: int or pair.
        padding: int, pair, ``'valid'`` or ``'same'``.
        groups: independent channel groups.
        bias: learn an additive bias. Default: ``True``.
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.

    Shape:
        Input :math:`(N, C_{in}, H_{in}, W_{in})` or unbatched; output
        :math:`(N, C_{out}, H_{out}, W_{out})`, per dim
        :math:`\lfloor (S + 2p - d(k-1) - 1)/s \rfloor + 1`.

    Attributes:
        weight: :math:`(C_{out}, C_{in}/\text{groups}, k_H, k_W)` from
            :math:`U(-\sqrt{c}, \sqrt{c})`, :math:`c = \text{groups} / (C_{in} k_H k_W)`;
            bias :math:`(C_{out})`, same range.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> m = nn.Conv2d(16, 33, (3, 5), stride=(2, 1), padding=(4, 2), dilation=(3, 1))
        >>> m(ember.randn(2, 16, 50, 100)).shape
        ember.Size([2, 33, 26, 100])
    """

    _nd = 2
    _fn = staticmethod(conv2d)


class Conv3d(_Conv):
    r"""3-D convolution over :math:`(N, C_{in}, D, H, W)`.

    Args:
        in_channels, out_channels: channel counts.
        kernel_size, stride, dilation: int or triple.
        padding: int, triple, ``'valid'`` or ``'same'``.
        groups: independent channel groups.
        bias: learn an additive bias. Default: ``True``.
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.

    Shape:
        Output :math:`(N, C_{out}, D_{out}, H_{out}, W_{out})`, each
        :math:`\lfloor (S + 2p - d(k-1) - 1)/s \rfloor + 1`.

    Attributes:
        weight: :math:`(C_{out}, C_{in}/\text{groups}, k_D, k_H, k_W)`; bias :math:`(C_{out})`.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.Conv3d(4, 8, 3, stride=2)(ember.randn(1, 4, 10, 10, 10)).shape
        ember.Size([1, 8, 4, 4, 4])
    """

    _nd = 3
    _fn = staticmethod(conv3d)


class _ConvTranspose(_ConvNd):
    _fn = None

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for '
                             f"{self.__class__.__name__}")
        if isinstance(padding, str):
            raise ValueError(f"{self.__class__.__name__}: padding must be an int or a tuple")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         True, output_padding, groups, bias, padding_mode, device, dtype)

    def _output_padding(self, input, output_size):
        """The output_padding that yields ``output_size`` (PyTorch's range check)."""
        if output_size is None:
            return self.output_padding
        nd = self._nd
        lead = 2 if input.ndim == nd + 2 else 1
        output_size = list(output_size)
        if len(output_size) == lead + nd:
            output_size = output_size[lead:]
        if len(output_size) != nd:
            raise ValueError(f"ConvTranspose{nd}D: for {input.ndim}D input, output_size must "
                             f"have {nd} or {lead + nd} elements (got {len(output_size)})")
        lo, hi = [], []
        for d in range(nd):
            size = ((input.shape[d + lead] - 1) * self.stride[d] - 2 * self.padding[d]
                    + self.dilation[d] * (self.kernel_size[d] - 1) + 1)
            lo.append(size)
            hi.append(size + self.stride[d] - 1)
        for d in range(nd):
            if not lo[d] <= output_size[d] <= hi[d]:
                raise ValueError(f"requested an output size of {output_size}, but valid sizes "
                                 f"range from {lo} to {hi} (for an input of "
                                 f"{list(input.shape[lead:])})")
        return tuple(output_size[d] - lo[d] for d in range(nd))

    def forward(self, input, output_size=None):
        opad = self._output_padding(input, output_size)
        return type(self)._fn(input, self.weight, self.bias, self.stride, self.padding, opad,
                              self.groups, self.dilation)


class ConvTranspose1d(_ConvTranspose):
    r"""1-D transposed convolution (the input gradient of ``Conv1d``).

    Args:
        in_channels, out_channels: channel counts.
        kernel_size, stride, padding, output_padding, dilation: int or 1-tuple.
        groups: independent channel groups.
        bias: learn an additive bias. Default: ``True``.

    Shape:
        Output :math:`(N, C_{out}, L_{out})`,
        :math:`L_{out} = (L_{in} - 1)s - 2p + d(k-1) + \text{output\_padding} + 1`
        (``forward(input, output_size)`` picks ``output_padding`` for a requested size).

    Attributes:
        weight: :math:`(C_{in}, C_{out}/\text{groups}, k)`; bias :math:`(C_{out})`.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.ConvTranspose1d(4, 2, 3, stride=2)(ember.randn(1, 4, 5)).shape
        ember.Size([1, 2, 11])
    """

    _nd = 1
    _fn = staticmethod(conv_transpose1d)


class ConvTranspose2d(_ConvTranspose):
    r"""2-D transposed convolution ("deconvolution").

    Args:
        in_channels, out_channels: channel counts.
        kernel_size, stride, padding, output_padding, dilation: int or pair.
        groups: independent channel groups.
        bias: learn an additive bias. Default: ``True``.

    Shape:
        Output :math:`(N, C_{out}, H_{out}, W_{out})`, per dim
        :math:`(S - 1)s - 2p + d(k-1) + \text{output\_padding} + 1`.

    Attributes:
        weight: :math:`(C_{in}, C_{out}/\text{groups}, k_H, k_W)`; bias :math:`(C_{out})`.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> up = nn.ConvTranspose2d(16, 16, 3, stride=2, padding=1)
        >>> up(ember.randn(1, 16, 6, 6), output_size=[1, 16, 12, 12]).shape
        ember.Size([1, 16, 12, 12])
    """

    _nd = 2
    _fn = staticmethod(conv_transpose2d)


class ConvTranspose3d(_ConvTranspose):
    r"""3-D transposed convolution.

    Args:
        in_channels, out_channels: channel counts.
        kernel_size, stride, padding, output_padding, dilation: int or triple.
        groups: independent channel groups.
        bias: learn an additive bias. Default: ``True``.

    Shape:
        Output :math:`(N, C_{out}, D_{out}, H_{out}, W_{out})`, each
        :math:`(S - 1)s - 2p + d(k-1) + \text{output\_padding} + 1`.

    Attributes:
        weight: :math:`(C_{in}, C_{out}/\text{groups}, k_D, k_H, k_W)`; bias :math:`(C_{out})`.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> nn.ConvTranspose3d(2, 4, 2, stride=2)(ember.randn(1, 2, 3, 3, 3)).shape
        ember.Size([1, 4, 6, 6, 6])
    """

    _nd = 3
    _fn = staticmethod(conv_transpose3d)


# -- lazy ------------------------------------------------------------------------------------
class _LazyConvMixin:
    """``in_channels`` inferred from the first input; then the module becomes its base class."""

    cls_to_become = None

    def _lazy_init(self):
        self._lazy_hook = self.register_forward_pre_hook(_LazyConvMixin._infer_parameters)

    def has_uninitialized_params(self):
        return any(is_lazy(p) for p in self._parameters.values() if p is not None)

    def initialize_parameters(self, input, *args, **kwargs):
        """Materialise weight and bias from the input's channel dim and initialise them."""
        if not self.has_uninitialized_params():
            return
        lead = 1 if input.ndim == self._nd + 2 else 0
        self.in_channels = input.shape[lead]
        if self.in_channels % self.groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if self.transposed:
            shape = (self.in_channels, self.out_channels // self.groups) + self.kernel_size
        else:
            shape = (self.out_channels, self.in_channels // self.groups) + self.kernel_size
        self.weight.materialize(shape)
        if self.bias is not None:
            self.bias.materialize((self.out_channels,))
        self.reset_parameters()

    @staticmethod
    def _infer_parameters(module, args):
        module.initialize_parameters(*args)
        module._lazy_hook.remove()
        del module._lazy_hook
        module.__class__ = module.cls_to_become


def _lazy(base, nd):
    def __init__(self, out_channels, kernel_size, *args, **kwargs):
        base.__init__(self, 0, out_channels, kernel_size, *args, **kwargs)
        self._lazy_init()

    doc = (f"A :class:`{base.__name__}` whose ``in_channels`` is inferred from the first "
           f"input (``input.shape[1]``, or ``[0]`` unbatched); arguments as in "
           f"``{base.__name__}`` without ``in_channels``.")
    return type(f"Lazy{base.__name__}", (_LazyConvMixin, base),
                {"__init__": __init__, "cls_to_become": base, "__doc__": doc,
                 "__module__": __name__})


LazyConv1d = _lazy(Conv1d, 1)
LazyConv2d = _lazy(Conv2d, 2)
LazyConv3d = _lazy(Conv3d, 3)
LazyConvTranspose1d = _lazy(ConvTranspose1d, 1)
LazyConvTranspose2d = _lazy(ConvTranspose2d, 2)
LazyConvTranspose3d = _lazy(ConvTranspose3d, 3)
