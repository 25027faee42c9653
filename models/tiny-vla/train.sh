#!/usr/bin/env bash
# Rebuilds the tiny-vla package from scratch: demonstrations -> training -> ONNX export.
#
#   models/tiny-vla/train.sh            # everything, ~20 min on a 2-core machine
#   REUSE_DATASET=1 models/tiny-vla/train.sh   # keep target/tiny-vla/dataset if it matches
#   CHUNK=8 NAME=tiny-vla-h8 OUT=models/tiny-vla-h8 models/tiny-vla/train.sh   # a variant elsewhere
#   NAME=tiny-vla-parallel OUT=models/tiny-vla-parallel WORK=target/tiny-vla-parallel \
#     TRAIN_ARGS=--parallel models/tiny-vla/train.sh     # parallel decoding (one pass per chunk)
#
# Writes prefill.onnx, decode.onnx, model.json, dataset_statistics.json and parity.json next to
# this script; intermediates (dataset, checkpoint, logs) go to target/tiny-vla/.
set -euo pipefail
HERE="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WORK="${WORK:-$ROOT/target/tiny-vla}"
OUT="$(mkdir -p "${OUT:-$HERE}" && cd "${OUT:-$HERE}" && pwd)"
NAME="${NAME:-tiny-vla}"
PY=/usr/bin/python3            # Debian's python with Debian's torch; not a pyenv/venv python

# The recipe. Change it here only: model.json records what was run.
EPISODES="${EPISODES:-1500}"
DATA_SEED="${DATA_SEED:-1}"
IMAGE_SIZE="${IMAGE_SIZE:-64}"
PERTURB_PROB="${PERTURB_PROB:-0.3}"
TRAIN_SEED="${TRAIN_SEED:-0}"
EPOCHS="${EPOCHS:-8}"
CHUNK="${CHUNK:-4}"
TRAIN_ARGS="${TRAIN_ARGS:-}"

t0=$(date +%s)
mkdir -p "$WORK"

# --- Python packages (Debian's, no pip) ------------------------------------------------------
apt_updated=0
apt_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "train.sh: need root to apt-get install $*" >&2
    exit 2
  fi
  if [ "$apt_updated" = 0 ]; then
    apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" > /dev/null
}
if ! "$PY" -c "import torch, onnx, numpy" 2> /dev/null; then
  echo "train.sh: installing python3-torch python3-onnx python3-numpy" >&2
  apt_install python3-torch python3-onnx python3-numpy
fi
# Debian's torch calls BLAS through libblas.so.3, which defaults to the netlib reference
# implementation: ~4 GFLOP/s here against ~120 with OpenBLAS, i.e. hours instead of minutes.
# The OpenMP build matches torch's own OpenMP thread pool.
if ! dpkg -s libopenblas0-openmp > /dev/null 2>&1 && ! dpkg -s libopenblas0-pthread > /dev/null 2>&1; then
  echo "train.sh: installing libopenblas0-openmp (fast BLAS for torch)" >&2
  apt_install libopenblas0-openmp
fi

# --- Demonstrations ---------------------------------------------------------------------------
DATA="$WORK/dataset"
DATASET_CMD="./vla dataset generate --out target/tiny-vla/dataset --episodes $EPISODES --seed $DATA_SEED --image-size $IMAGE_SIZE --perturb-prob $PERTURB_PROB"
t_data=$(date +%s)
if [ "${REUSE_DATASET:-0}" = 1 ] && [ -f "$DATA/meta.json" ] \
    && "$PY" -c "import json,sys; m=json.load(open('$DATA/meta.json')); sys.exit(0 if (m['episodes'], m['seed'], m['image']['height']) == ($EPISODES, $DATA_SEED, $IMAGE_SIZE) and '--perturb-prob $PERTURB_PROB' in m['command'] else 1)"; then
  echo "train.sh: reusing $DATA"
else
  rm -rf "$DATA"
  echo "train.sh: $DATASET_CMD"
  (cd "$ROOT" && ./vla dataset generate --out "$DATA" --episodes "$EPISODES" --seed "$DATA_SEED" \
      --image-size "$IMAGE_SIZE" --perturb-prob "$PERTURB_PROB")
fi
dataset_seconds=$(( $(date +%s) - t_data ))

# --- Training -----------------------------------------------------------------------------------
# shellcheck disable=SC2086
"$PY" "$HERE/tooling/train.py" --data "$DATA" --out "$WORK/train" --seed "$TRAIN_SEED" \
    --epochs "$EPOCHS" --chunk "$CHUNK" $TRAIN_ARGS 2>&1 | tee "$WORK/train.log"

# --- Export -------------------------------------------------------------------------------------
wall=$(( $(date +%s) - t0 ))
"$PY" "$HERE/tooling/export.py" --checkpoint "$WORK/train/checkpoint.pt" --data "$DATA" --out "$OUT" --name "$NAME" \
    --dataset-command "$DATASET_CMD" --dataset-seconds "$dataset_seconds" --wall-seconds "$wall" \
    2>&1 | grep -v -i "warning" | tee "$WORK/export.log"

# --- Optional: ONNX Runtime parity, if the Java ORT jar is in the local Maven repository --------
ort_jar="$(ls -1 "$HOME"/.m2/repository/com/microsoft/onnxruntime/onnxruntime/*/onnxruntime-*.jar 2> /dev/null | grep -v sources | tail -n 1 || true)"
# (A parallel-decoding package has no decode graph: `./vla model check "$OUT"` runs its parity.)
if [ -n "$ort_jar" ] && [ -f "$HERE/tooling/OrtParity.java" ] && [ -f "$OUT/decode.onnx" ]; then
  (. "$ROOT/bin/find-jdk.sh" && "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "$ort_jar" "$HERE/tooling/OrtParity.java" "$OUT") || {
    echo "train.sh: ONNX Runtime parity FAILED" >&2
    exit 1
  }
fi

du -sh "$OUT"
total=$(( $(date +%s) - t0 ))
printf 'train.sh: done in %dm%02ds (dataset %ds)\n' $((total / 60)) $((total % 60)) "$dataset_seconds"
