r"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` and their single-step cells.

Parameters follow PyTorch's names, shapes and gate order (``weight_ih_l{k}[_reverse]``
of shape (G, input), ``weight_hh_l{k}`` (G, hidden), ``bias_ih_l{k}``, ``bias_hh_l{k}``,
``weight_hr_l{k}`` for LSTM projections; G is H, 4H (i, f, g, o) or 3H (r, z, n)), and
all are initialised from :math:`U(-1/\sqrt{H}, 1/\sqrt{H})`. Each layer and direction
projects the inputs of all time steps in one GEMM, then runs one fused cell per step
(:mod:`ember.nn._functional.rnn`). Inputs may be padded tensors or
:class:`~ember.nn.utils.rnn.PackedSequence`.
"""

import math
import numbers
import warnings

from ember.ops.creation import empty, zeros
from ember.ops.shape import cat
from ember.ops.views import transpose, unsqueeze, squeeze
from ember.nn import init
from ember.nn.parameter import Parameter
from ember.nn.modules.module import Module
from ember.nn._functional.linear import linear
from ember.nn._functional.dropout import dropout as _dropout
from ember.nn._functional.rnn import rnn_cell, lstm_cell, gru_cell, np_int_list
from ember.nn._functional.rnn_layer import run_layer
from ember.nn._functional._seq_ops import stack0
from ember.nn.utils.rnn import PackedSequence

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


class RNNBase(Module):
    """Base of :class:`RNN`, :class:`LSTM` and :class:`GRU`: parameters, checks, the loop.

    Args:
        mode: ``'RNN_TANH'``, ``'RNN_RELU'``, ``'LSTM'`` or ``'GRU'``.
        input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
        proj_size: as in the subclasses.
    """

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        _check_args(mode, hidden_size, num_layers, dropout, proj_size)
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        dirs = 2 if bidirectional else 1
        gate = _GATES[mode] * hidden_size
        real_h = proj_size if proj_size > 0 else hidden_size
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            for d in range(dirs):
                layer_in = input_size if layer == 0 else real_h * dirs
                sfx = f"_l{layer}" + ("_reverse" if d == 1 else "")
                shapes = [("weight_ih", (gate, layer_in)), ("weight_hh", (gate, real_h))]
                if bias:
                    shapes += [("bias_ih", (gate,)), ("bias_hh", (gate,))]
                if proj_size > 0:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                names = []
                for name, shape in shapes:
                    setattr(self, name + sfx, Parameter(empty(shape, device=device,
                                                              dtype=dtype)))
                    names.append(name + sfx)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self):
        """Draw every weight and bias from :math:`U(-1/\\sqrt{H}, 1/\\sqrt{H})`."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv)

    def flatten_parameters(self):
        """A no-op (PyTorch compacts cuDNN weights here; ours are used as they are)."""

    @property
    def _flat_weights(self):
        return [getattr(self, n, None) for n in self._flat_weights_names]

    @property
    def all_weights(self):
        """Parameters per layer and direction, in ``_all_weights`` order."""
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # -- the forward pass -----------------------------------------------------------------
    def _layer_params(self, layer, d):
        names = self._all_weights[layer * (2 if self.bidirectional else 1) + d]
        p = {n.split("_l")[0]: getattr(self, n) for n in names}
        return p["weight_ih"], p["weight_hh"], p.get("bias_ih"), p.get("bias_hh"), \
            p.get("weight_hr")

    def _run(self, x, batch_sizes, hx, cx):
        """The stacked layers over packed time-major rows ``x`` (total, input_size).

        ``hx``/``cx`` are (L * D, B, H) in packed (sorted) batch order; returns the last
        layer's output rows and the final states (L * D, B, H).
        """
        dirs = 2 if self.bidirectional else 1
        kind = "RNN" if self.mode.startswith("RNN") else self.mode
        nonlin = "relu" if self.mode == "RNN_RELU" else "tanh"
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                w_ih, w_hh, b_ih, b_hh, w_hr = self._layer_params(layer, d)
                # GRU keeps b_hh inside the reset gate; the others fold it into one bias
                b = b_ih if kind == "GRU" or b_ih is None else b_ih + b_hh
                xw = linear(x, w_ih, b)
                k = layer * dirs + d
                out, h, c = run_layer(kind, xw, batch_sizes, hx[k],
                                      cx[k] if cx is not None else None,
                                      (w_hh, b_hh, w_hr), d == 1, nonlin)
                outs.append(out)
                h_n.append(h)
                c_n.append(c)
            x = outs[0] if dirs == 1 else cat(outs, 1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = _dropout(x, self.dropout, True)
        return x, stack0(h_n), (stack0(c_n) if cx is not None else None)

    def _state_sizes(self, batch):
        dirs = 2 if self.bidirectional else 1
        real_h = self.proj_size if self.proj_size > 0 else self.hidden_size
        return (self.num_layers * dirs, batch, real_h), (self.num_layers * dirs, batch,
                                                         self.hidden_size)

    def _forward(self, input, hx):
        """Shared by the subclasses; ``hx`` is a tensor, a pair (LSTM) or None."""
        is_lstm = self.mode == "LSTM"
        packed = isinstance(input, PackedSequence)
        if packed:
            data, batch_sizes = input.data, np_int_list(input.batch_sizes)
            batch, unbatched = batch_sizes[0], False
            self._check_input(data)
        else:
            if input.dim() not in (2, 3):
                raise ValueError(f"{type(self).__name__}: Expected input to be 2D or 3D, got "
                                 f"{input.dim()}D instead")
            unbatched = input.dim() == 2
            self._check_input(input)
            x = unsqueeze(input, 1) if unbatched else (
                transpose(input, 0, 1) if self.batch_first else input)
            t_len, batch = x.shape[0], x.shape[1]
            data, batch_sizes = x.reshape((t_len * batch, x.shape[2])), [batch] * t_len
        hsize, csize = self._state_sizes(batch)
        h0, c0 = self._initial_states(input, hx, unbatched, hsize, csize, is_lstm, packed)
        out, h_n, c_n = self._run(data, batch_sizes, h0, c0)
        if packed:
            out = PackedSequence(out, input.batch_sizes, input.sorted_indices,
                                 input.unsorted_indices)
            if input.unsorted_indices is not None:
                h_n = h_n[:, input.unsorted_indices]
                c_n = c_n[:, input.unsorted_indices] if c_n is not None else None
        else:
            out = out.reshape((len(batch_sizes), batch, out.shape[-1]))
            if unbatched:
                out, h_n = squeeze(out, 1), squeeze(h_n, 1)
                c_n = squeeze(c_n, 1) if c_n is not None else None
            elif self.batch_first:
                out = transpose(out, 0, 1)
        return out, ((h_n, c_n) if is_lstm else h_n)

    def _check_input(self, x):
        w = self.weight_ih_l0
        if x.dtype != w.dtype:
            raise ValueError(f"RNN input dtype ({_tname(x.dtype)}) does not match weight dtype "
                             f"({_tname(w.dtype)}). Convert input: input.to({_tname(w.dtype)}), "
                             f"or convert model: model.to({_tname(x.dtype)})")
        if x.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {x.shape[-1]}")

    def _initial_states(self, input, hx, unbatched, hsize, csize, is_lstm, packed):
        ref = input.data if packed else input
        if hx is None:
            h0 = zeros(hsize, dtype=ref.dtype, device=ref.device)
            c0 = zeros(csize, dtype=ref.dtype, device=ref.device) if is_lstm else None
            return h0, c0
        if is_lstm:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise RuntimeError("LSTM: expected hx to be a tuple (h_0, c_0)")
            h0, c0 = hx
            want = 2 if unbatched else 3
            if h0.dim() != want or c0.dim() != want:
                kind = "unbatched 2-D" if unbatched else "batched 3-D"
                raise RuntimeError(f"For {kind} input, hx and cx should also be {want}-D but "
                                   f"got ({h0.dim()}-D, {c0.dim()}-D) tensors")
        else:
            h0, c0 = hx, None
            want = 2 if unbatched else 3
            if h0.dim() != want:
                kind = "unbatched 2-D" if unbatched else "batched 3-D"
                raise RuntimeError(f"For {kind} input, hx should also be {want}-D but got "
                                   f"{h0.dim()}-D tensor")
        if unbatched:
            h0 = unsqueeze(h0, 1)
            c0 = unsqueeze(c0, 1) if c0 is not None else None
        if packed and input.sorted_indices is not None:
            h0 = h0[:, input.sorted_indices]
            c0 = c0[:, input.sorted_indices] if c0 is not None else None
        _check_size(h0, hsize, "hidden[0]" if is_lstm else "hidden")
        if c0 is not None:
            _check_size(c0, csize, "hidden[1]")
        return h0, c0


def _tname(dtype):
    return "torch." + str(dtype).split(".")[-1]


def _check_size(t, size, what):
    if tuple(t.shape) != tuple(size):
        raise RuntimeError(f"Expected {what} size {tuple(size)}, got {list(t.shape)}")


def _check_args(mode, hidden_size, num_layers, dropout, proj_size):
    if (not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1
            or isinstance(dropout, bool)):
        raise ValueError("dropout should be a number in range [0, 1] representing the "
                         "probability of an element being zeroed")
    if dropout > 0 and num_layers == 1:
        warnings.warn(f"dropout option adds dropout after all but last recurrent layer, so "
                      f"non-zero dropout expects num_layers greater than 1, but got "
                      f"dropout={dropout} and num_layers={num_layers}", stacklevel=3)
    if not isinstance(hidden_size, int):
        raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
    if hidden_size <= 0:
        raise ValueError("hidden_size must be greater than zero")
    if num_layers <= 0:
        raise ValueError("num_layers must be greater than zero")
    if proj_size < 0:
        raise ValueError("proj_size should be a positive integer or zero to disable projections")
    if proj_size >= hidden_size:
        raise ValueError("proj_size has to be smaller than hidden_size")
    if proj_size and mode != "LSTM":
        raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")


def _split_args(args, kwargs, names):
    """PyTorch's RNN constructors take their options positionally or by keyword."""
    if len(args) > len(names):
        raise TypeError(f"expected at most {len(names)} positional arguments, got {len(args)}")
    for n, v in zip(names, args):
        if n in kwargs:
            raise TypeError(f"got multiple values for argument '{n}'")
        kwargs[n] = v
    return kwargs


_BASE_ARGS = ["input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout",
              "bidirectional"]


class RNN(RNNBase):
    r"""Elman RNN: :math:`h_t = \tanh(x_t W_{ih}^T + b_{ih} + h_{t-1} W_{hh}^T + b_{hh})`.

    Args:
        input_size: features of the input :math:`x_t`.
        hidden_size: features of the hidden state :math:`h_t`.
        num_layers: stacked layers. Default: 1.
        nonlinearity: ``'tanh'`` or ``'relu'``. Default: ``'tanh'``.
        bias: use ``b_ih`` and ``b_hh``. Default: ``True``.
        batch_first: input and output are (B, T, H) instead of (T, B, H). Default: False.
        dropout: dropout on the outputs of every layer but the last (training only).
        bidirectional: also run each layer backwards in time. Default: ``False``.

    ``forward(input, hx=None)`` returns ``(output, h_n)``: output (T, B, D * H) (or a
    PackedSequence), h_n (num_layers * D, B, H).

    Example:
        >>> import ember
        >>> rnn = ember.nn.RNN(10, 20, 2)
        >>> out, h = rnn(ember.randn(5, 3, 10))
        >>> tuple(out.shape), tuple(h.shape)
        ((5, 3, 20), (2, 3, 20))
    """

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        names = _BASE_ARGS[:3] + ["nonlinearity"] + _BASE_ARGS[3:]
        kw = _split_args(args, kwargs, names)
        nonlinearity = kw.pop("nonlinearity", "tanh")
        if nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             f"'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__(mode, **kw)

    def forward(self, input, hx=None):
        return self._forward(input, hx)


class LSTM(RNNBase):
    r"""Long short-term memory with optional projections (``proj_size``).

    .. math::
        \begin{aligned}
        i, f, g, o &= \sigma, \sigma, \tanh, \sigma\,(x_t W_{ih}^T + b_{ih}
                      + h_{t-1} W_{hh}^T + b_{hh}) \\
        c_t &= f \odot c_{t-1} + i \odot g, \qquad h_t = o \odot \tanh(c_t)
        \end{aligned}

    With ``proj_size > 0``, :math:`h_t \leftarrow h_t W_{hr}^T`.

    ``forward(input, (h_0, c_0)=None)`` returns ``(output, (h_n, c_n))``.

    Example:
        >>> import ember
        >>> lstm = ember.nn.LSTM(10, 20, 2)
        >>> out, (h, c) = lstm(ember.randn(5, 3, 10))
        >>> tuple(out.shape), tuple(h.shape), tuple(c.shape)
        ((5, 3, 20), (2, 3, 20), (2, 3, 20))
    """

    def __init__(self, *args, **kwargs):
        kw = _split_args(args, kwargs, _BASE_ARGS + ["proj_size"])
        super().__init__("LSTM", **kw)

    def forward(self, input, hx=None):
        return self._forward(input, hx)


class GRU(RNNBase):
    r"""Gated recurrent unit.

    .. math::
        \begin{aligned}
        r, z &= \sigma(x_t W_{i\{r,z\}}^T + b_{i\{r,z\}} + h_{t-1} W_{h\{r,z\}}^T
                + b_{h\{r,z\}}) \\
        n &= \tanh(x_t W_{in}^T + b_{in} + r \odot (h_{t-1} W_{hn}^T + b_{hn})) \\
        h_t &= (1 - z) \odot n + z \odot h_{t-1}
        \end{aligned}

    Example:
        >>> import ember
        >>> gru = ember.nn.GRU(10, 20, batch_first=True)
        >>> out, h = gru(ember.randn(3, 5, 10))
        >>> tuple(out.shape), tuple(h.shape)
        ((3, 5, 20), (1, 3, 20))
    """

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", **_split_args(args, kwargs, _BASE_ARGS))

    def forward(self, input, hx=None):
        return self._forward(input, hx)


# -- cells -------------------------------------------------------------------------------------
class RNNCellBase(Module):
    """Base of the single-step cells: ``weight_ih`` (G, I), ``weight_hh`` (G, H), biases."""

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        g = num_chunks * hidden_size
        self.weight_ih = Parameter(empty((g, input_size), device=device, dtype=dtype))
        self.weight_hh = Parameter(empty((g, hidden_size), device=device, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(empty(g, device=device, dtype=dtype))
            self.bias_hh = Parameter(empty(g, device=device, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        """Draw every weight and bias from :math:`U(-1/\\sqrt{H}, 1/\\sqrt{H})`."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _prepare(self, input, hx, n_states):
        if input.dim() not in (1, 2):
            raise ValueError(f"{type(self).__name__}: Expected input to be 1D or 2D, got "
                             f"{input.dim()}D instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[-1]} "
                               f"expected {self.input_size}")
        unbatched = input.dim() == 1
        x = unsqueeze(input, 0) if unbatched else input
        if hx is None:
            z = zeros((x.shape[0], self.hidden_size), dtype=x.dtype, device=x.device)
            states = (z,) * n_states
        else:
            states = tuple(hx) if n_states == 2 else (hx,)
            if len(states) != n_states:
                raise RuntimeError("lstm_cell expects two hidden states")
            want = 1 if unbatched else 2
            for s in states:
                if s.dim() != want:
                    raise ValueError(f"{type(self).__name__}: Expected hidden to be {want}D "
                                     f"for {want}D input, got {s.dim()}D instead")
            states = tuple(unsqueeze(s, 0) for s in states) if unbatched else states
            for i, s in enumerate(states):
                if s.shape[0] != x.shape[0]:
                    raise RuntimeError(f"Input batch size {x.shape[0]} doesn't match hidden{i} "
                                       f"batch size {s.shape[0]}")
                if s.shape[1] != self.hidden_size:
                    raise RuntimeError(f"hidden{i} has inconsistent hidden_size: got "
                                       f"{s.shape[1]}, expected {self.hidden_size}")
        return x, states, unbatched

    def _xw(self, x, fold):
        b = self.bias_ih
        if fold and b is not None:
            b = b + self.bias_hh
        return linear(x, self.weight_ih, b)


class RNNCell(RNNCellBase):
    r"""One Elman step: :math:`h' = \tanh(x W_{ih}^T + b_{ih} + h W_{hh}^T + b_{hh})`.

    Example:
        >>> import ember
        >>> cell = ember.nn.RNNCell(10, 20)
        >>> tuple(cell(ember.randn(3, 10)).shape)
        (3, 20)
    """

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)

    def forward(self, input, hx=None):
        x, (h,), unbatched = self._prepare(input, hx, 1)
        out = rnn_cell(self._xw(x, True), h, self.weight_hh, self.nonlinearity)
        return squeeze(out, 0) if unbatched else out


class LSTMCell(RNNCellBase):
    r"""One LSTM step; ``forward(input, (h, c)=None)`` returns ``(h', c')``.

    Example:
        >>> import ember
        >>> cell = ember.nn.LSTMCell(10, 20)
        >>> h, c = cell(ember.randn(3, 10))
        >>> tuple(h.shape), tuple(c.shape)
        ((3, 20), (3, 20))
    """

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):
        x, (h, c), unbatched = self._prepare(input, hx, 2)
        h, c = lstm_cell(self._xw(x, True), h, c, self.weight_hh)
        return (squeeze(h, 0), squeeze(c, 0)) if unbatched else (h, c)


class GRUCell(RNNCellBase):
    r"""One GRU step: gates r, z, n as in :class:`GRU`.

    Example:
        >>> import ember
        >>> cell = ember.nn.GRUCell(10, 20)
        >>> tuple(cell(ember.randn(3, 10)).shape)
        (3, 20)
    """

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):
        x, (h,), unbatched = self._prepare(input, hx, 1)
        out = gru_cell(self._xw(x, False), h, self.weight_hh, self.bias_hh)
        return squeeze(out, 0) if unbatched else out

