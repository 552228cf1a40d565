#!/usr/bin/env bash
# ember on a GPU machine: the GPU tests, the CPU-side CUDA/AMP tests, then the GPU benchmarks.
#
# Needs no network and installs nothing: the system python with numpy, cupy, ml_dtypes,
# safetensors, pytest (and torch, for the side-by-side checks). The repository is put on
# PYTHONPATH. Logs and results go to $OUT when set, else to ./gpu_check_out:
#   env.log  gpu_tests.log gpu_tests.xml  cpu_side_tests.log  gpu_bench.log gpu_bench.json
# Each stage has a time limit; the whole check stays under 8 minutes.
# Exit status: 0 when the GPU tests pass, 1 when they fail, 2 when no GPU is usable.
set -u

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${OUT:-$REPO/gpu_check_out}"
PY="${PYTHON:-python3}"
mkdir -p "$OUT"
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1
cd "$REPO"

stage() { echo; echo "== $1 ($(date +%H:%M:%S))"; }

stage "environment" | tee "$OUT/env.log"
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 || true
  "$PY" - <<'EOF'
import sys
print("python", sys.version.split()[0])
for name in ("numpy", "cupy", "ml_dtypes", "torch"):
    try:
        mod = __import__(name)
        print(name, mod.__version__)
    except Exception as e:  # noqa: BLE001
        print(name, "unavailable:", e)
import ember
ok = ember.cuda.is_available()
print("ember.cuda.is_available():", ok)
if ok:
    print("device:", ember.cuda.get_device_properties(0))
    print("bfloat16 supported:", ember.cuda.is_bf16_supported())
sys.exit(0 if ok else 2)
EOF
} 2>&1 | tee -a "$OUT/env.log"
if [ "${PIPESTATUS[0]}" -ne 0 ]; then
  echo "no usable GPU: see $OUT/env.log"
  exit 2
fi

stage "GPU tests: pytest -m gpu tests/gpu (and NCCL where mpi4py is installed)" \
  | tee "$OUT/gpu_tests.log"
timeout 330 "$PY" -m pytest -q -m gpu tests/gpu tests/distributed/test_distributed.py \
  -p no:cacheprovider -rfEs --durations=15 \
  --junitxml="$OUT/gpu_tests.xml" 2>&1 | tee -a "$OUT/gpu_tests.log"
rc_tests=${PIPESTATUS[0]}

stage "CPU-side CUDA/AMP tests (with CuPy present)" | tee "$OUT/cpu_side_tests.log"
timeout 60 "$PY" -m pytest -q tests/test_cuda_plumbing.py tests/test_amp.py -p no:cacheprovider \
  -rfE 2>&1 | tee -a "$OUT/cpu_side_tests.log"
rc_cpu=${PIPESTATUS[0]}

stage "GPU benchmarks: benchmarks/gpu.py" | tee "$OUT/gpu_bench.log"
timeout 150 "$PY" benchmarks/gpu.py --seconds 1.5 --json "$OUT/gpu_bench.json" 2>&1 \
  | tee -a "$OUT/gpu_bench.log"
rc_bench=${PIPESTATUS[0]}

stage "summary"
echo "gpu tests: exit $rc_tests   cpu-side tests: exit $rc_cpu   benchmarks: exit $rc_bench" \
  | tee "$OUT/summary.log"
[ "$rc_tests" -eq 0 ] && [ "$rc_cpu" -eq 0 ] || exit 1
exit 0
