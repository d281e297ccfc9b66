#!/usr/bin/env bash
# The GPU check in one command (benchmarks/gpu_check.py says what it measures):
#   bash benchmarks/gpu_check.sh [OUT_DIR] [gpu_check.py options]   # OUT_DIR: $1, else $OUT, else outputs/gpu_check
#   bash benchmarks/gpu_check.sh outputs/smoke --cpu-smoke          # the same code path on the CPU, tiny model
# Writes OUT_DIR/gpu_check.log (everything), OUT_DIR/gpu_check.json and a few phase logs; the last line printed is
# the summary. Runs under the first of $PYTHON, python3. Wheels in $GPU_CHECK_WHEELS (default
# outputs/gpu_check_wheels, made here by `python benchmarks/gpu_check.py --fetch-wheels outputs/gpu_check_wheels`)
# are installed first into a folder of their own: the GPU image has torch and transformers but no TRL or datasets.
set -u
cd "$(dirname "$0")/.." || exit 2
out="${OUT:-outputs/gpu_check}"
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then
    out="$1"
    shift
fi
mkdir -p "$out" || exit 2
python="${PYTHON:-python3}"
wheels="${GPU_CHECK_WHEELS:-outputs/gpu_check_wheels}"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 TRL_EXPERIMENTAL_SILENCE=1
export TOKENIZERS_PARALLELISM=false WANDB_MODE=disabled
{
    echo "[gpu_check] $(date -u +%FT%TZ) $(uname -m) $(getconf _NPROCESSORS_ONLN) cores; python: $(command -v "$python")"
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
    if ls "$wheels"/*.whl >/dev/null 2>&1; then
        site=/tmp/gpu_check_site
        echo "[gpu_check] installing $(ls "$wheels"/*.whl | wc -l) carried wheel(s) from $wheels into $site"
        "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" \
            "$wheels"/*.whl && export PYTHONPATH="$site:$PYTHONPATH"
    fi
    "$python" benchmarks/gpu_check.py --out "$out" "$@"
} 2>&1 | tee "$out/gpu_check.log"
exit "${PIPESTATUS[0]}"
