#!/usr/bin/env bash
# Fine-tunes a trained package on the states its own policy reaches (DAgger, Ross et al. 2011).
# Each round: the current package drives some subgoals in the simulator and the expert labels every
# state it reaches (`vla dataset generate --learner`, docs/dataset.md "On-policy rows"); the model is
# then fine-tuned from its checkpoint on the demonstrations plus every round's on-policy rows, and
# exported to be the next round's learner.
#
#   NAME=tiny-vla-parallel OUT=models/tiny-vla-parallel WORK=target/tiny-vla-parallel \
#     TRAIN_ARGS=--parallel models/tiny-vla/dagger.sh     # after train.sh with the same WORK
#
# For real-time chunking (an autoregressive model that continues committed prefixes), the rounds
# drive in PREFIX mode, with delays up to 420 ms:
#
#   NAME=tiny-vla-h8 CHUNK=8 OUT=models/tiny-vla-h8 WORK=target/tiny-vla-h8 ROUND_SEEDS="2 102" \
#     ROUND_EXECUTION="prefix prefix" ROUND_EPOCHS="2 2" EPISODES=300 LEARNER_LATENCY=20..420 \
#     VERSION=2 models/tiny-vla/dagger.sh
#
# Needs $WORK/dataset, $WORK/train/checkpoint.pt (train.sh's) and the package train.sh exported
# (LEARNER, default $OUT: the first round's learner). Intermediates go to $WORK/dagger/.
# 13–16 min per round on 2 cores.
set -euo pipefail
HERE="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WORK="${WORK:-$ROOT/target/tiny-vla}"
OUT="$(mkdir -p "${OUT:-$HERE}" && cd "${OUT:-$HERE}" && pwd)"
NAME="${NAME:-tiny-vla}"
LEARNER="${LEARNER:-$OUT}"
PY=/usr/bin/python3

# The recipe. Change it here only: model.json records what was run. One word per round: the
# shipped tiny-vla-parallel had a first round executed step by step (before the controller-driven
# learner existed) and two through the controller.
ROUND_SEEDS="${ROUND_SEEDS:-2 102 103}"                           # scenes unlike the demonstrations' (1) and the benchmarks' (1000+)
ROUND_EXECUTION="${ROUND_EXECUTION:-steps controller controller}" # vla dataset generate --learner-execution
ROUND_EPOCHS="${ROUND_EPOCHS:-3 2 2}"
EPISODES="${EPISODES:-500}"          # per round
LEARNER_PROB="${LEARNER_PROB:-0.7}"
LEARNER_LATENCY="${LEARNER_LATENCY:-10..150}"
PERTURB_PROB="${PERTURB_PROB:-0.3}"
IMAGE_SIZE="${IMAGE_SIZE:-64}"
LR="${LR:-5e-4}"
CHUNK="${CHUNK:-4}"
TRAIN_SEED="${TRAIN_SEED:-0}"
TRAIN_ARGS="${TRAIN_ARGS:-}"
VERSION="${VERSION:-3}"              # model.json's version: the package train.sh exports is 1

[ -f "$WORK/dataset/meta.json" ] && [ -f "$WORK/train/checkpoint.pt" ] || {
  echo "dagger.sh: $WORK needs train.sh's dataset/ and train/checkpoint.pt" >&2
  exit 2
}
t0=$(date +%s)
data="$WORK/dataset"
checkpoint="$WORK/train/checkpoint.pt"
learner="$LEARNER"
commands=""
read -r -a seeds <<< "$ROUND_SEEDS"
read -r -a executions <<< "$ROUND_EXECUTION"
read -r -a epochs <<< "$ROUND_EPOCHS"
ROUNDS=${#seeds[@]}
if [ "${#executions[@]}" != "$ROUNDS" ] || [ "${#epochs[@]}" != "$ROUNDS" ]; then
  echo "dagger.sh: ROUND_SEEDS, ROUND_EXECUTION and ROUND_EPOCHS need one word per round" >&2
  exit 2
fi
for ((i = 0; i < ROUNDS; i++)); do
  round=$((i + 1))
  dir="$WORK/dagger/round$round"
  rm -rf "$dir"
  mkdir -p "$dir"
  args=(--episodes "$EPISODES" --seed "${seeds[$i]}" --image-size "$IMAGE_SIZE" --perturb-prob "$PERTURB_PROB"
        --learner "$learner" --learner-prob "$LEARNER_PROB" --learner-execution "${executions[$i]}"
        --learner-latency "$LEARNER_LATENCY")
  echo "dagger.sh: round $round: ./vla dataset generate --out $dir/onpolicy ${args[*]}"
  (cd "$ROOT" && ./vla dataset generate --out "$dir/onpolicy" "${args[@]}")
  commands="$commands; vla dataset generate ${args[*]}"
  data="$data,$dir/onpolicy"
  # shellcheck disable=SC2086
  "$PY" "$HERE/tooling/train.py" --data "$data" --out "$dir/train" --seed "$TRAIN_SEED" --epochs "${epochs[$i]}" \
      --chunk "$CHUNK" --lr "$LR" --init "$checkpoint" $TRAIN_ARGS 2>&1 | tee "$dir/train.log"
  checkpoint="$dir/train/checkpoint.pt"
  target="$dir/package"
  [ "$round" = "$ROUNDS" ] && target="$OUT"
  wall=$(( $(date +%s) - t0 ))
  "$PY" "$HERE/tooling/export.py" --checkpoint "$checkpoint" --data "$data" --out "$target" --name "$NAME" --version "$VERSION" \
      --dataset-command "$("$PY" -c "import json, sys; print(json.load(open(sys.argv[1]))['command'])" "$WORK/dataset/meta.json")$commands" \
      --wall-seconds "$wall" 2>&1 | grep -v -i "warning" | tee "$dir/export.log"
  learner="$target"
done
(cd "$ROOT" && ./vla model check "$OUT")
total=$(( $(date +%s) - t0 ))
printf 'dagger.sh: %d round(s) in %dm%02ds\n' "$ROUNDS" $((total / 60)) $((total % 60))
