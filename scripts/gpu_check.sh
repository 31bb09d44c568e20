#!/usr/bin/env bash
# GPU check, one command, at most 8 minutes (step timeouts 150 + 120 + 150 + 60 s):   scripts/gpu_check.sh OUT_DIR [CIFAR_DIR]
#   1. the gpu-marked tests (plus the backend/AlexNet tests and watch on CUDA against CPU) with CUDA;
#   2. a batched linear-network run at scale (benchmarks/batched.py: 2048 runs, widths 64, n = 1000,
#      300 steps) on CUDA against numpy, with the agreement of the final weights;
#   3. a short AlexNet run (Figure 3) on CUDA at the paper's width, 900 SGD steps (the CPU default's count:
#      enough to leave the initial plateau on the stand-in; 2.3 epochs of CIFAR-10): CIFAR_DIR if given, else
#      the stand-in.  Its FIG3 status (trend / fail) is the step's exit status.  The dense layers are recorded
#      by `aligncheck.watch`'s recorder: OUT_DIR/alexnet/watch-<init>/report.html per initialisation;
#   4. `watch` on the AlexNet dense layers (paper's width) on CUDA: the recording overhead, every 10 steps, as a
#      % of a training step (benchmarks/watch_overhead.py; the CPU fallback times the 4 x 512 MLP instead).
# Writes OUT_DIR/gpu_check.log, OUT_DIR/batched.json, OUT_DIR/alexnet/{fig3.png,alexnet.json,fig3.md,watch-*/},
# OUT_DIR/watch_overhead.json.
# Without CUDA it runs the CPU fallback (same steps, small sizes) and says so in the log.
set -u
OUT=${1:?usage: scripts/gpu_check.sh OUT_DIR [CIFAR_DIR]}
CIFAR=${2:-}
mkdir -p "$OUT"
LOG="$OUT/gpu_check.log"
cd "$(dirname "$0")/.."
say() { echo "[$(date -u +%H:%M:%S)] $*" | tee -a "$LOG"; }

if python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  MODE=cuda
  BENCH=(--batch 2048 --dims 64,64,64,64,1 --n 1000 --steps 300 --reference-runs 2 --numpy-runs 64 --device cuda)
  ALEX=(--device cuda --max-steps 900 --width-scale 1.0)
  WATCH=(--device cuda --steps 100 --repeats 3)
else
  MODE=cpu-fallback
  BENCH=(--batch 64 --dims 20,20,20,20,1 --n 100 --steps 200 --reference-runs 2 --device auto)
  ALEX=(--device cpu --max-steps 900 --width-scale 0.125)
  WATCH=(--device cpu --threads 1 --steps 50 --repeats 2)
fi
say "mode: $MODE"
python -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')" 2>&1 | tee -a "$LOG"
[ "$MODE" = cuda ] && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | tee -a "$LOG"

status=0
say "1/4 tests: gpu-marked + backend + alexnet + watch on CUDA"
timeout 150 python -m pytest -q -p no:cacheprovider -rs tests/test_backend.py tests/test_alexnet.py \
  tests/test_watch.py::test_watch_on_cuda_matches_cpu 2>&1 | tail -15 | tee -a "$LOG"
[ "${PIPESTATUS[0]}" = 0 ] || status=1

say "2/4 batched linear networks: ${BENCH[*]}"
timeout 120 python benchmarks/batched.py "${BENCH[@]}" --json "$OUT/batched.json" 2>&1 | tee -a "$LOG"
[ "${PIPESTATUS[0]}" = 0 ] || status=1

say "3/4 AlexNet: ${ALEX[*]} ${CIFAR:+--data-dir $CIFAR}"
timeout 150 python -m aligncheck alexnet "${ALEX[@]}" ${CIFAR:+--data-dir "$CIFAR"} --out "$OUT/alexnet" 2>&1 \
  | grep -v '^alexnet:' | tee -a "$LOG"
[ "${PIPESTATUS[0]}" = 0 ] || status=1

say "4/4 watch overhead (every 10 steps): ${WATCH[*]}"
timeout 60 python benchmarks/watch_overhead.py "${WATCH[@]}" --json "$OUT/watch_overhead.json" 2>&1 | tee -a "$LOG"
[ "${PIPESTATUS[0]}" = 0 ] || status=1

say "done ($MODE), status $status; figure: $OUT/alexnet/fig3.png"
exit $status
