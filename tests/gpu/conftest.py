"""With ``EMBER_STRICT_CUPY=1`` the GPU tier runs on tests/gpu/strict_cupy.py, a CuPy
stand-in that computes with NumPy and enforces CuPy's rules, so it runs without a GPU:

    EMBER_STRICT_CUPY=1 python -m pytest -m gpu tests/gpu

``make test`` does this after the main suite. On a GPU machine, leave it unset."""

import os

STRICT = os.environ.get("EMBER_STRICT_CUPY") == "1"


def install_for_process():
    """Put the strict stand-in (and its NCCL over MPI) in place for the rest of this process
    (the pytest session of tests/gpu, or a multi-process test's worker)."""
    from tests.gpu import fake_cupy
    ctx = fake_cupy.installed(strict=True)
    ctx.__enter__()
    _KEEP.append(ctx)  # held: a collected generator context would undo the installation


_KEEP = []


if STRICT:
    install_for_process()
