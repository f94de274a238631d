#!/bin/bash
# The CUDA prefill check and measurement of bench/README.md's H200 section, in one device call:
# the CUDA op tests (the SSD's products also in one-pass TF32), the golden cases on CUDA, then
# statescope-bench-model at prompts 512 / 4096 / 32768 with the chunked scans (default), the
# one-pass TF32 SSD, the sequential scans (the previous kernels) and no scan at all (the time of
# everything else). Run from the repository root on the device with the binaries in $D (the
# recipe's folder, carried); logs and JSON lines go to $OUT, a short table is printed last.
set -u
D=${D:-$PWD/.devbin-prefill}
(cd "$D" && tar -xJf lib.tar.xz)
export LD_LIBRARY_PATH=$D/lib:/usr/local/cuda/lib64 STATESCOPE_TEST_DATA=$PWD/tests/data
C=$(cat "$D/commit")
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu,power.draw \
    --format=csv > "$OUT/env.txt" 2>&1
export STATESCOPE_TEST_VERBOSE=1
timeout 120 "$D/cuda_kernels_tests" > "$OUT/kernels.log" 2>&1
echo "cuda_kernels_tests rc=$?"
STATESCOPE_CUDA_SCAN=tf32 timeout 60 "$D/cuda_kernels_tests" --gtest_filter='CudaScan.*' \
    >> "$OUT/kernels.log" 2>&1
echo "cuda_kernels_tests (tf32 SSD) rc=$?"
unset STATESCOPE_TEST_VERBOSE
timeout 90 "$D/runtime_tests" --gtest_filter='*Golden*' > "$OUT/runtime.log" 2>&1
echo "runtime_tests golden rc=$?"
grep -E "FAILED|PASSED" "$OUT/runtime.log" | tail -3
bench() {  # mode shape prompts... ; appends one line, tagged with the mode, to $OUT/bench.jsonl
    local mode=$1 shape=$2
    shift 2
    local args=(--backend cuda --shape "$shape" --decode "${DECODE:-256}" --commit "$C" --out "$OUT/bench.jsonl"
        --dir "/tmp/statescope-bench-$shape" --reuse --repeats "${REPEATS:-3}")
    for p in "$@"; do args+=(--prompt "$p"); done
    if STATESCOPE_CUDA_SCAN=$mode timeout 150 "$D/statescope-bench-model" "${args[@]}" \
        > /dev/null 2>> "$OUT/bench.err"; then
        sed -i '$ s/"commit"/"scan":"'"$mode"'","commit"/' "$OUT/bench.jsonl"
    else
        echo "bench $mode $shape failed"
    fi
}
for s in mamba-130m mamba2-130m mamba-1.4b mamba-2.8b mamba2-2.7b; do
    bench chunked "$s" 512 4096 32768
done
export DECODE=16  # the variants below are about prefill
bench tf32 mamba2-2.7b 512 4096 32768
bench tf32 mamba2-130m 512 4096 32768
if [ "${VARIANTS:-all}" = all ]; then  # VARIANTS=new: a re-run that only changed the scans
    bench skip mamba-2.8b 512 4096 32768
    bench skip mamba2-2.7b 512 4096 32768
    REPEATS=1 bench sequential mamba2-2.7b 512 4096 32768
    REPEATS=1 bench sequential mamba-2.8b 512 4096 32768
fi
python3 - "$OUT/bench.jsonl" << 'EOF'
import json, sys
print(f"{'shape':12} {'scan':10} " + " ".join(f"{p:>9}" for p in (512, 4096, 32768)) + "   decode")
for line in open(sys.argv[1]):
    r = json.loads(line)
    pf = {e["prompt_tokens"]: e["tokens_per_s"] for e in r["prefill"]}
    print(f"{r['shape']:12} {r.get('scan', '?'):10} " +
          " ".join(f"{pf.get(p, 0):9.0f}" for p in (512, 4096, 32768)) +
          f"   {r['decode_tokens_per_s']:.0f}")
EOF
