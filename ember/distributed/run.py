"""Launcher: ``python -m ember.distributed.run -n 4 train.py [args...]``.

Each process gets ``OMP_NUM_THREADS``/``OPENBLAS_NUM_THREADS`` = cores // n unless set
(like torchrun), so the processes do not fight over the cores.

A thin wrapper over ``mpiexec`` (from the ``distributed`` extra: mpi4py with the
``mpich`` wheel, or any MPI on the PATH). It runs ``-n`` copies of the script with the
same Python; ``init_process_group("mpi")`` inside the script picks up rank and size.

Several machines: pass ``--hostfile hosts.txt`` (one host per line, optionally
``host:slots``) with ``-n`` the total number of processes; every host needs the same
Python environment and the script at the same path, and passwordless ssh between hosts
(MPICH's Hydra launcher). Under Slurm, ``srun --mpi=pmi2 python train.py`` works as well,
as does plain ``mpiexec -n 4 python train.py``.
"""

import argparse
import os
import shutil
import sys


def find_mpiexec():
    """``mpiexec`` next to this Python (a venv with the mpich wheel), else on the PATH."""
    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if os.path.exists(here):
        return here
    found = shutil.which("mpiexec") or shutil.which("mpirun")
    if found is None:
        raise SystemExit("ember.distributed.run: no mpiexec found; install the 'distributed' "
                         "extra (pip install 'ember[distributed]') or an MPI library")
    return found


def build_command(argv):
    p = argparse.ArgumentParser(prog="python -m ember.distributed.run",
                                description="Run a training script on several processes.")
    p.add_argument("-n", "--nproc-per-node", "--nproc_per_node", "--np", dest="n", type=int,
                   default=1, help="number of processes (total, across hosts)")
    p.add_argument("--hostfile", help="MPI hostfile for multi-machine runs")
    p.add_argument("--hosts", help="comma-separated host list (alternative to --hostfile)")
    p.add_argument("-m", dest="module", action="store_true",
                   help="run the target as a module (python -m target)")
    p.add_argument("script", help="the training script (or module with -m)")
    p.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the script")
    a = p.parse_args(argv)
    if a.n < 1:
        p.error(f"-n must be at least 1, got {a.n}")
    cmd = [find_mpiexec(), "-n", str(a.n)]
    if a.hostfile:
        cmd += ["-f", a.hostfile]
    if a.hosts:
        cmd += ["-hosts", a.hosts]
    cmd += [sys.executable] + (["-m"] if a.module else []) + [a.script] + a.args
    return cmd


THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def thread_env(nproc, env=None):
    """The environment with BLAS threads per process set to ``cores // nproc`` (at least 1)
    unless the user set them: several processes each running a full-width BLAS thread pool
    on the same cores slow each other down many times over."""
    env = dict(os.environ if env is None else env)
    per = str(max(1, (os.cpu_count() or 1) // max(nproc, 1)))
    for var in THREAD_VARS:
        env.setdefault(var, per)
    return env


def main(argv=None):
    cmd = build_command(sys.argv[1:] if argv is None else argv)
    os.execve(cmd[0], cmd, thread_env(int(cmd[2])))


if __name__ == "__main__":
    main()
