"""With ``EMBER_STRICT_CUPY=1`` the GPU tier runs on tests/gpu/strict_cupy.py, a CuPy
stand-in that computes with NumPy and enforces CuPy's rules, so it runs without a GPU:

    EMBER_STRICT_CUPY=1 python -m pytest -m gpu tests/gpu

``make test`` does this after the main suite. On a GPU machine, leave it unset."""

import os

STRICT = os.environ.get("EMBER_STRICT_CUPY") == "1"

if STRICT:
    from tests.gpu import fake_cupy
    _installed = fake_cupy.installed(strict=True)
    _installed.__enter__()  # for the whole session: this process runs only tests/gpu
