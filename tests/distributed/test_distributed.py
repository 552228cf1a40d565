"""Real multi-process runs under MPI (marked ``distributed``)."""

import os
import subprocess
import sys
import time

import pytest

pytest.importorskip("mpi4py")
pytestmark = pytest.mark.distributed

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def _mpiexec():
    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return here if os.path.exists(here) else "mpiexec"


def run(script, n, *args, timeout=120, extra_env=None):
    from ember.distributed.run import thread_env
    env = dict(thread_env(n), PYTHONPATH=ROOT, **(extra_env or {}))
    cmd = [_mpiexec(), "-n", str(n), sys.executable, os.path.join(HERE, "scripts", script),
           *args]
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    return p, time.time() - t0


@pytest.mark.parametrize("n", [2, 3])
def test_collectives(n):
    p, _ = run("collectives.py", n)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.count("OK") == n  # ranks' lines may interleave


@pytest.mark.parametrize("n", [2, 3])
def test_ddp_matches_single_process(n):
    p, _ = run("ddp_train.py", n)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.count("OK") == n


def test_rank_that_raises_ends_the_job_quickly():
    p, secs = run("fail.py", 2, "raise", timeout=60)
    assert p.returncode != 0
    assert "rank 1 failed on purpose" in p.stderr
    assert secs < 10


def test_mismatched_shapes_raise_clearly():
    p, secs = run("fail.py", 2, "mismatch", timeout=60)
    assert p.returncode != 0
    assert "differ across ranks" in p.stderr and "float32[3]" in p.stderr
    assert secs < 10


def test_collective_timeout():
    p, secs = run("fail.py", 2, "timeout", "2", timeout=60)
    assert p.returncode != 0
    assert "timed out after 2.0 s" in p.stderr
    assert secs < 15


def test_launcher_runs_script():
    env = dict(os.environ, PYTHONPATH=ROOT)
    p = subprocess.run([sys.executable, "-m", "ember.distributed.run", "-n", "2",
                        os.path.join(HERE, "scripts", "collectives.py")], capture_output=True,
                       text=True, timeout=120, env=env, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    assert p.stdout.count("OK") == 2


def test_launcher_limits_blas_threads_per_process(monkeypatch):
    from ember.distributed.run import thread_env
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    env = thread_env(4, {"MKL_NUM_THREADS": "3"})
    assert env["OMP_NUM_THREADS"] == str(max(1, (os.cpu_count() or 1) // 4))
    assert env["MKL_NUM_THREADS"] == "3"  # the user's setting wins


def test_launcher_command_line():
    from ember.distributed.run import build_command
    cmd = build_command(["-n", "4", "--hostfile", "h.txt", "train.py", "--lr", "0.1"])
    assert cmd[1:3] == ["-n", "4"] and cmd[3:5] == ["-f", "h.txt"]
    assert cmd[-3:] == ["train.py", "--lr", "0.1"] and cmd[-4] == sys.executable


@pytest.mark.parametrize("n", [2, 3])
def test_sync_batchnorm_matches_big_batch(n):
    p, _ = run("syncbn.py", n)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.count("OK") == n


@pytest.mark.slow
def test_ddp_digits_example_trains(tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT)
    pytest.importorskip("sklearn")
    p = subprocess.run([sys.executable, "-m", "ember.distributed.run", "-n", "2",
                        os.path.join(ROOT, "examples", "ddp_digits.py"),
                        "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
    assert p.returncode == 0, p.stderr[-3000:]
    acc = float(p.stdout.strip().splitlines()[-1].split()[3])
    assert acc >= 0.97


@pytest.mark.gpu
@pytest.mark.parametrize("script", ["nccl.py", "ddp_nccl.py"])
def test_nccl_collectives_and_ddp(script):
    cupy = pytest.importorskip("cupy")
    if cupy.cuda.runtime.getDeviceCount() < 1:
        pytest.skip("no CUDA device")
    n = min(2, cupy.cuda.runtime.getDeviceCount())
    p, _ = run(script, n)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.count("OK") == n


@pytest.mark.parametrize("script", ["nccl.py", "ddp_nccl.py"])
def test_nccl_engine_and_ddp_on_the_strict_cupy_stand_in(script):
    """No GPU needed: the ranks run on tests/gpu/strict_cupy.py with NCCL over MPI
    (tests/gpu/fake_nccl.py), so ember's NCCL engine and DDP's NCCL path (device buckets,
    the comm thread's own communicator) run end to end; real GPUs run test_nccl_*."""
    pytest.importorskip("scipy")
    p, _ = run(script, 2, extra_env={"EMBER_STRICT_CUPY": "1"})
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.count("OK") == 2
