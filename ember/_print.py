"""PyTorch-style tensor printing (``repr``/``str``), with ``set_printoptions``.

The layout follows PyTorch's: one number format for the whole tensor, chosen from the
nonzero finite values that are shown (integers print as ``1.``, wide ranges in scientific
notation, otherwise ``precision`` decimals); every element is padded to the widest one;
rows wrap at ``linewidth``; tensors with more than ``threshold`` elements show only
``edgeitems`` at each end of every dim.
"""

import math

import numpy as np


class _Options:
    precision = 4
    threshold = 1000
    edgeitems = 3
    linewidth = 80
    sci_mode = None


_PROFILES = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80),
             "full": (4, math.inf, 3, 80)}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None):
    """Set how tensors print (PyTorch's options and defaults).

    Args:
        precision: digits after the decimal point (default 4).
        threshold: element count above which tensors are summarised (default 1000).
        edgeitems: items shown at each end of a summarised dim (default 3).
        linewidth: characters per line (default 80).
        profile: ``"default"``, ``"short"`` or ``"full"``.
        sci_mode: force scientific notation on (True) or off (False); None chooses.
    """
    if profile is not None:
        (_Options.precision, _Options.threshold, _Options.edgeitems,
         _Options.linewidth) = _PROFILES[profile]
    for name, value in (("precision", precision), ("threshold", threshold),
                        ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if value is not None:
            setattr(_Options, name, value)
    _Options.sci_mode = sci_mode


class _Formatter:
    """One format for all values of a tensor (or of the real or imaginary parts)."""

    def __init__(self, values, floating):
        self.floating = floating
        self.int_mode = True
        self.sci_mode = False
        if not floating:
            self.width = max((len(_plain(v)) for v in values.ravel()), default=1)
            return
        vals = values.astype(np.float64).ravel()
        nz = vals[np.isfinite(vals) & (vals != 0)]
        self.int_mode = bool(np.all(nz == np.ceil(nz)))
        if nz.size:
            lo, hi = float(np.abs(nz).min()), float(np.abs(nz).max())
            wide = hi / lo > 1000.0 or hi > 1.0e8
            self.sci_mode = wide if self.int_mode else wide or lo < 1.0e-4
        if _Options.sci_mode is not None:
            self.sci_mode = _Options.sci_mode
        self.width = max((len(self._text(v)) for v in nz), default=1)

    def _text(self, v):
        if not math.isfinite(v):
            return str(v)
        p = _Options.precision
        if self.sci_mode:
            return f"{v:.{p}e}"
        if self.int_mode:
            return f"{v:.0f}."
        return f"{v:.{p}f}"

    def format(self, v):
        text = self._text(float(v)) if self.floating else _plain(v)
        return text.rjust(self.width)


def _plain(v):
    if isinstance(v, (bool, np.bool_)):
        return "True" if v else "False"
    return str(v)


def _summarize(a, edge):
    """The values that will be shown when ``a`` is summarised (for choosing the format)."""
    for d in range(a.ndim):
        if a.shape[d] > 2 * edge:
            idx = list(range(edge)) + list(range(a.shape[d] - edge, a.shape[d]))
            a = np.take(a, idx, axis=d)
    return a


class _Printer:
    def __init__(self, a, summarize):
        self.summarize = summarize
        self.edge = _Options.edgeitems
        shown = _summarize(a, self.edge) if summarize else a
        floating = a.dtype.kind in "fc"
        if a.dtype.kind == "c":
            self.real = _Formatter(shown.real, True)
            self.imag = _Formatter(shown.imag, True)
        else:
            self.real = _Formatter(shown, floating)
            self.imag = None

    def element(self, v):
        if self.imag is None:
            return self.real.format(v)
        im = self.imag.format(v.imag).lstrip()
        return self.real.format(v.real) + (im if im[0] in "+-" else "+" + im) + "j"

    def element_width(self):
        w = self.real.width + 2
        return w + self.imag.width + 1 if self.imag is not None else w

    def _items(self, n):
        if self.summarize and n > 2 * self.edge:
            return list(range(self.edge)), list(range(n - self.edge, n))
        return list(range(n)), None

    def vector(self, a, indent):
        head, tail = self._items(a.shape[0])
        items = [self.element(a[i]) for i in head]
        if tail is not None:
            items += [" ..."] + [self.element(a[i]) for i in tail]
        per_line = max(1, int((_Options.linewidth - indent) // self.element_width()))
        lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"

    def block(self, a, indent):
        if a.ndim == 0:
            return self.element(a[()])
        if a.ndim == 1:
            return self.vector(a, indent)
        head, tail = self._items(a.shape[0])
        rows = [self.block(a[i], indent + 1) for i in head]
        if tail is not None:
            rows += ["..."] + [self.block(a[i], indent + 1) for i in tail]
        sep = "," + "\n" * (a.ndim - 1) + " " * (indent + 1)
        return "[" + sep.join(rows) + "]"


def _host(t):
    a = t._data if t._device.type == "cpu" else t._data.get()
    return a.astype(np.float32) if a.dtype.kind == "V" else a  # bfloat16


def _suffixes(t, a):
    from ember._dtype import get_default_dtype, from_numpy_dtype
    dt = from_numpy_dtype(t._data.dtype)
    default = get_default_dtype()
    out = []
    if t._device.type != "cpu":
        out.append(f"device='{t._device}'")
    if a.size == 0:
        if a.ndim != 1:
            out.append(f"size={tuple(a.shape)}")
        if dt is not default:
            out.append(f"dtype=ember.{dt.name}")
    elif dt not in (default, default.to_complex()) and dt.name not in ("int64", "bool"):
        out.append(f"dtype=ember.{dt.name}")
    if t._node is not None:
        out.append(f"grad_fn=<{t._node.name()}>")
    elif t._requires_grad:
        out.append("requires_grad=True")
    return out


def tensor_repr(t):
    """``tensor([...], dtype=..., grad_fn=<...>)`` exactly as PyTorch lays it out."""
    a = _host(t)
    prefix = "tensor("
    if a.size == 0:
        body = "[]"
    else:
        printer = _Printer(a, a.size > _Options.threshold)
        body = printer.block(a, len(prefix))
    return _with_suffixes(prefix + body, _suffixes(t, a), len(prefix)) + ")"


def _with_suffixes(text, suffixes, indent):
    """Append ``, suffix`` items, starting a new line where one would pass ``linewidth``."""
    last = len(text) - text.rfind("\n") + 1
    for s in suffixes:
        if last + len(s) + 2 > _Options.linewidth:
            text += ",\n" + " " * indent + s
            last = indent + len(s)
        else:
            text += ", " + s
            last += len(s) + 2
    return text
