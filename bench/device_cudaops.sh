#!/bin/sh
# One device call for the CUDA op tests, the golden cases on CUDA (every model_type, fp32 and bf16)
# and a Transformer prefill/decode run, from binaries built as bench/README.md's recipe says but put
# in .devbin-ops (D=/work/main/.devbin-ops; the device copies /work/main's tree, whose tests/data
# travels already). On the device, from the repository root, carrying .devbin-ops:
#   sh .devbin-ops/device_cudaops.sh          (or paste the lines below; logs go to $OUT)
set -u
cd .devbin-ops && tar -xJf lib.tar.xz || exit 1
export LD_LIBRARY_PATH=$PWD/lib:/usr/local/cuda/lib64 STATESCOPE_TEST_DATA=$PWD/../tests/data
export STATESCOPE_TEST_VERBOSE=1
commit=$(cat commit)
{ nvidia-smi -L; echo "commit $commit"; } > "$OUT/device.txt" 2>&1
timeout 150 ./cuda_kernels_tests > "$OUT/kernels.log" 2>&1; echo "rc=$?" >> "$OUT/kernels.log"
timeout 90 ./runtime_tests --gtest_filter='Golden*' > "$OUT/golden.log" 2>&1
echo "rc=$?" >> "$OUT/golden.log"
timeout 45 ./statescope-bench-model --backend cuda --shape llama-130m --dtype bf16 --prompt 512 \
  --prompt 4096 --decode 128 --repeats 2 --commit "$commit" --out "$OUT/bench.jsonl" \
  > "$OUT/bench.log" 2>&1
echo "rc=$?" >> "$OUT/bench.log"
grep -E "FAILED|PASSED|rc=" "$OUT"/kernels.log "$OUT"/golden.log; tail -3 "$OUT/bench.log"
