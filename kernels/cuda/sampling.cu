// Sampling helpers on the device: the argmax of each logits row, so greedy decoding copies one id
// per token to the host instead of the whole [V] row.
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/ops.h"

namespace statescope::kernels::cuda {

namespace {

constexpr int kThreads = 1024;

// (value, index) a beats b: larger value, or the same value at a lower index (torch.argmax and the
// CPU sampler take the first maximum). NaN never wins, so a row with NaN still gives a real token.
__device__ __forceinline__ bool beats(float va, std::int32_t ia, float vb, std::int32_t ib) {
    return va > vb || (va == vb && ia < ib) || (ib < 0 && ia >= 0);
}

// out[t] = argmax_v x[t, v]          x: [T, V] (row stride x_stride); out: [T] int32; grid.x = T
__global__ void argmax_kernel(const float* __restrict__ x, std::int64_t x_stride, std::int64_t V,
                              std::int32_t* __restrict__ out) {
    wait_for_prior_grids();
    __shared__ float best_v[32];
    __shared__ std::int32_t best_i[32];
    const float* row = x + std::int64_t(blockIdx.x) * x_stride;
    float bv = -INFINITY;
    std::int32_t bi = -1;
    auto consider = [&](float v, std::int64_t i) {
        if (!(v != v) && beats(v, std::int32_t(i), bv, bi)) {
            bv = v;
            bi = std::int32_t(i);
        }
    };
    // Four independent loads in flight per thread before the compares (a row of 50k logits is
    // ~50 loads per thread; one at a time they were a chain of L2 round trips).
    const std::int64_t step = blockDim.x;
    std::int64_t i = threadIdx.x;
    for (; i + 3 * step < V; i += 4 * step) {
        const float v0 = row[i], v1 = row[i + step], v2 = row[i + 2 * step], v3 = row[i + 3 * step];
        consider(v0, i);
        consider(v1, i + step);
        consider(v2, i + 2 * step);
        consider(v3, i + 3 * step);
    }
    for (; i < V; i += step) consider(row[i], i);
    for (int off = 16; off > 0; off /= 2) {
        const float ov = __shfl_xor_sync(0xffffffffu, bv, off);
        const std::int32_t oi = __shfl_xor_sync(0xffffffffu, bi, off);
        if (oi >= 0 && beats(ov, oi, bv, bi)) {
            bv = ov;
            bi = oi;
        }
    }
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    if (lane == 0) {
        best_v[warp] = bv;
        best_i[warp] = bi;
    }
    __syncthreads();
    if (warp != 0) return;
    const int warps = blockDim.x / 32;
    bv = lane < warps ? best_v[lane] : -INFINITY;
    bi = lane < warps ? best_i[lane] : -1;
    for (int off = 16; off > 0; off /= 2) {
        const float ov = __shfl_xor_sync(0xffffffffu, bv, off);
        const std::int32_t oi = __shfl_xor_sync(0xffffffffu, bi, off);
        if (oi >= 0 && beats(ov, oi, bv, bi)) {
            bv = ov;
            bi = oi;
        }
    }
    if (lane == 0) out[blockIdx.x] = bi < 0 ? 0 : bi;  // an all-NaN row: token 0, as the CPU
}

}  // namespace

void argmax_rows(const float* x, std::int64_t x_stride, std::int64_t T, std::int64_t V,
                 std::int32_t* out, cudaStream_t stream) {
    if (T == 0) return;
    launch_dependent(argmax_kernel, static_cast<unsigned>(T), kThreads, 0, stream, x, x_stride, V,
                     out);
    check_launch("argmax");
}

}  // namespace statescope::kernels::cuda
