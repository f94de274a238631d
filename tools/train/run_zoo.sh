#!/bin/sh
# Train the four demo-zoo models at once on one GPU (one process each) and pack each into OUT/zoo-NAME.tar.
# usage: tools/train/run_zoo.sh CORPUS_DIR OUT [BUDGET_S]
#   CORPUS_DIR holds tinystories-944k.txt, pg2591-grimm.txt and pg11-alice.txt.
# About BUDGET_S (default 150) seconds of training plus one to two minutes of setup, evaluation and export;
# each process is stopped after BUDGET_S + 140 s (or $ZOO_TIMEOUT_S) whatever happens. Output streams as it comes, and each model is
# packed as soon as its process ends, so a run cut short still leaves the models it finished.
# ZOO_MAX_STEPS fixes the step budget (the processes' own timing, taken while the others still set up, can
# promise more steps than the shared GPU gives them).
set -eu
CORPUS=$1; OUT=$2; BUDGET=${3:-150}
HERE=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d)
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
python3 -c 'import torch, transformers, tokenizers; print("torch", torch.__version__, "transformers", transformers.__version__, "tokenizers", tokenizers.__version__, "cuda", torch.cuda.is_available())'
python3 "$HERE/train_zoo.py" tokenizer "$CORPUS" "$W/tokenizer"
# GPUs: with one, the four share it; with two, Mamba-1 (the slowest to train) gets one to itself and the
# other three share the second; with four or more, one each.
gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)
gpu_of() {
  if [ "${gpus:-0}" -ge 4 ]; then case $1 in mamba) echo 0;; mamba2) echo 1;; llama) echo 2;; *) echo 3;; esac
  elif [ "${gpus:-0}" -ge 2 ]; then case $1 in mamba) echo 0;; *) echo 1;; esac
  else echo 0; fi
}
echo "GPUs: ${gpus:-0}"
for n in mamba mamba2 llama hybrid; do
  (
    export CUDA_VISIBLE_DEVICES=$(gpu_of $n)
    # how many of the four gpu_of puts on this model's GPU (training.json and the model card say it)
    sharing=$(for k in mamba mamba2 llama hybrid; do gpu_of $k; done | grep -cx "$(gpu_of $n)")
    if [ "$sharing" -eq 1 ]; then ZOO_GPU_SHARING="one GPU to itself"
    else ZOO_GPU_SHARING="$sharing models sharing one GPU"; fi
    export ZOO_GPU_SHARING
    timeout ${ZOO_TIMEOUT_S:-$((BUDGET + 140))} python3 "$HERE/train_zoo.py" train $n "$CORPUS" "$W" --budget-s "$BUDGET" ${ZOO_MAX_STEPS:+--max-steps "$ZOO_MAX_STEPS"} 2>&1 || true
    if [ -d "$W/models/zoo-$n" ]; then
      tar -C "$W" -cf "$OUT/zoo-$n.tar" "models/zoo-$n" "reference/zoo-$n.safetensors" && echo "[$n] packed $OUT/zoo-$n.tar"
    fi
  ) &
done
wait
ls -la "$OUT"
