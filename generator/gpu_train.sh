#!/usr/bin/env bash
# One prepared GPU session (issues 4 and 9): the before/after training throughput bench, then the
# longest training the time allows, everything written under $OUT:
#   $OUT/bench.json                    images/second per setting, FLOPs per image, profile
#   $OUT/run/generator.safetensors     EMA generator, fp16 (what the bot loads)
#   $OUT/run/checkpoint-{0,1}.safetensors  G and D in fp16 (resume with --resume $OUT/run)
#   $OUT/run/MODEL_CARD.md, samples.png, train.log
# Run from the repository root: OUT=/some/dir bash generator/gpu_train.sh
# The whole script ends within TOTAL_MINUTES: training gets what the bench leaves.
set -u
OUT=${OUT:?set OUT to the output folder}
DATA=${DATA:-data/dataset-128.npz}
TOTAL_MINUTES=${TOTAL_MINUTES:-9.25}
BATCH=${BATCH:-128}
MODEL=${MODEL:-lean}
DEVICE=${DEVICE:-cuda}
BENCH_SECONDS=${BENCH_SECONDS:-6}
CONFIGS=${CONFIGS:-naive,device-data,bf16,optimized}
EXTRA=${EXTRA:-}
PY=${PY:-}
if [ -z "$PY" ]; then  # the first Python that has torch
    for candidate in python3 python; do
        if command -v "$candidate" >/dev/null && "$candidate" -c "import torch" 2>/dev/null; then
            PY=$candidate; break
        fi
    done
fi
[ -n "$PY" ] || { echo "no Python with torch found"; exit 2; }

mkdir -p "$OUT/run"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || true
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available())"
ls -la "$DATA" || exit 2

echo "== training throughput, before and after (batch $BATCH)"
timeout 150 "$PY" -m generator.bench_train --data "$DATA" --batch "$BATCH" --model "$MODEL" --device "$DEVICE" \
    --seconds "$BENCH_SECONDS" --configs "$CONFIGS" --profile --out "$OUT/bench.json"

MINUTES=$("$PY" -c "print(round(max(0.5, $TOTAL_MINUTES - $SECONDS / 60), 2))")
echo "== training for $MINUTES minutes (script at ${SECONDS}s)"
"$PY" -m generator.train --data "$DATA" --out "$OUT/run" --minutes "$MINUTES" --batch "$BATCH" --model "$MODEL" \
    --device "$DEVICE" --ckpt half --ckpt-minutes 2 --grid-minutes 4 --log-seconds 20 $EXTRA
status=$?
ls -la "$OUT" "$OUT/run"
echo "== done in ${SECONDS}s (train exit $status)"
exit $status
