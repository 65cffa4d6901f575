#!/usr/bin/env bash
# The prepared GPU session, run on the device machine from the repository root:
#   bash generator/gpu_train.sh stage    # a call that only stages its carried part (seconds)
#   bash generator/gpu_train.sh train    # the last call: stage, resume, train, evaluate, write $OUT
# `figment gpu pack` prepares the parts and prints the exact calls; `figment gpu land DIR` takes the
# results in. Extra arguments go to generator/gpu/session.py, then to generator/train.py.
set -u
PY=${PY:-}
if [ -z "$PY" ]; then  # the first Python that has torch
    for candidate in python3 python; do
        if command -v "$candidate" >/dev/null && "$candidate" -c "import torch, safetensors" 2>/dev/null; then
            PY=$candidate; break
        fi
    done
fi
[ -n "$PY" ] || { echo "no Python with torch found"; exit 2; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || true
export PYTHONUNBUFFERED=1
exec "$PY" -m generator.gpu.session "$@"
