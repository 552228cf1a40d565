"""All CPU benchmarks, ember vs PyTorch side by side (``make bench``).

Timings are figures for notes, not tests: the machines are shared and noisy.
"""

import os
import runpy
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

SCRIPTS = ["overhead.py", "training.py", "spatial.py", "distributed.py"]


def main():
    for name in SCRIPTS:
        print(f"\n=== benchmarks/{name} ===", flush=True)
        sys.argv = [os.path.join(HERE, name)]
        try:
            runpy.run_path(os.path.join(HERE, name), run_name="__main__")
        except SystemExit as e:
            if e.code not in (0, None):
                print(f"{name} exited with {e.code}")


if __name__ == "__main__":
    main()
