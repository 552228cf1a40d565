"""PyTorch-style tensor printing."""

import numpy as np


def _format(a):
    if a.dtype.kind == "V":
        a = a.astype(np.float32)
    if a.dtype.kind == "b":
        return np.array2string(a, separator=", ", prefix="tensor(",
                               formatter={"bool": lambda v: "True" if v else "False"})
    if a.dtype.kind in "iu":
        return np.array2string(a, separator=", ", prefix="tensor(")
    finite = a[np.isfinite(a)] if a.dtype.kind == "f" else a
    if a.dtype.kind == "f" and finite.size and np.all(finite == np.round(finite)) and \
            np.abs(finite).max() < 1e8:
        return np.array2string(a, separator=", ", prefix="tensor(",
                               formatter={"float_kind": lambda v: f"{v:.0f}." if np.isfinite(v)
                                          else str(v)})
    return np.array2string(a, separator=", ", prefix="tensor(", precision=4,
                           floatmode="fixed" if a.dtype.kind == "f" else "maxprec",
                           suppress_small=False)


def tensor_repr(t):
    a = t._data if t._device.type == "cpu" else t._data.get()
    body = _format(a) if a.size else "[]"
    extras = []
    if a.size == 0 and a.shape != (0,):
        extras.append(f"size={tuple(a.shape)}")
    default = {"float32", "int64", "bool", "complex64"}
    from ember._dtype import get_default_dtype, from_numpy_dtype
    dt = from_numpy_dtype(a.dtype)
    if dt.name not in default or (dt.is_floating_point and dt is not get_default_dtype()
                                  and dt.name != "float32") or (
            dt.name == "float32" and get_default_dtype().name != "float32"):
        extras.append(f"dtype=ember.{dt.name}")
    if t._device.type != "cpu":
        extras.append(f"device='{t._device}'")
    if t._node is not None:
        extras.append(f"grad_fn=<{t._node.name()}>")
    elif t._requires_grad:
        extras.append("requires_grad=True")
    return "tensor(" + body + "".join(", " + e for e in extras) + ")"
