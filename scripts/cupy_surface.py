"""Record CuPy's public API surface as JSON, for the strict CuPy stand-in of tests/gpu.

Run where CuPy imports (no GPU needed: only names and signatures are read):

    python scripts/cupy_surface.py > tests/gpu/cupy_api.json

For every public callable of cupy, its submodules ember uses, cupyx and
cupyx.scipy.special it writes the parameters (name and kind), or ``"ufunc"`` with the
ufunc's parameters; for cupy.ndarray, each method's parameters (from the signature
CuPy's Cython docstrings embed) or ``"attr"``.
"""

import inspect
import json
import re
import sys

import cupy
import cupyx
import cupyx.scipy.special

MODULES = {"": cupy, "linalg": cupy.linalg, "fft": cupy.fft, "random": cupy.random,
           "lib.stride_tricks": cupy.lib.stride_tricks, "cupyx": cupyx,
           "cupyx.scipy.special": cupyx.scipy.special}
KINDS = {inspect.Parameter.POSITIONAL_ONLY: "P", inspect.Parameter.POSITIONAL_OR_KEYWORD: "PK",
         inspect.Parameter.VAR_POSITIONAL: "VP", inspect.Parameter.KEYWORD_ONLY: "K",
         inspect.Parameter.VAR_KEYWORD: "VK"}


def params_of(sig):
    return [[p.name, KINDS[p.kind], p.default is not inspect.Parameter.empty]
            for p in sig.parameters.values()]


def from_doc(doc):
    """Parameters from an embedded signature line ``name(self, a, b=None) -> type``."""
    first = (doc or "").strip().splitlines()[0] if doc else ""
    m = re.match(r"[\w.]+\((.*)\)", first.replace("\\*", "*"))
    if not m:
        return None
    try:
        sig = inspect.signature(eval(f"lambda {m.group(1)}: None", {"_ndarray_base": None}))
    except Exception:  # a default CPython cannot evaluate: keep the names only
        names = [p.strip().split("=")[0] for p in m.group(1).split(",") if p.strip()]
        return [[n.lstrip("*"), "VP" if n.startswith("*") and not n.startswith("**") else
                 "VK" if n.startswith("**") else "PK", "=" in p]
                for n, p in zip(names, m.group(1).split(","))]
    out = params_of(sig)
    return out[1:] if out and out[0][0] == "self" else out


def describe(obj):
    if isinstance(obj, cupy.ufunc):
        return {"ufunc": from_doc(obj.__doc__), "nin": obj.nin}
    try:
        return params_of(inspect.signature(obj))
    except (TypeError, ValueError):
        return from_doc(getattr(obj, "__doc__", None))


def main():
    out = {"version": cupy.__version__, "modules": {}, "ndarray": {}}
    for key, mod in MODULES.items():
        table = out["modules"][key] = {}
        for name in dir(mod):
            if name.startswith("_"):
                continue
            obj = getattr(mod, name)
            if inspect.ismodule(obj):
                continue
            if isinstance(obj, type) or not callable(obj):
                table[name] = "type" if isinstance(obj, type) else "value"
            else:
                table[name] = describe(obj)
    for name in dir(cupy.ndarray):
        if name.startswith("__") and name not in ("__dlpack__", "__dlpack_device__"):
            continue
        obj = getattr(cupy.ndarray, name)
        out["ndarray"][name] = from_doc(obj.__doc__) if callable(obj) else "attr"
    json.dump(out, sys.stdout, indent=0, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
