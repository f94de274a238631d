// The routed experts of a mixture-of-experts layer for the decode step, with the chosen experts
// read on the device: an "indexed GEMV" whose weight matrix is picked per row by experts[t, j], so
// the step needs no copy of the routing to the host and can be recorded.
//   e = experts[t, j] ; h[t, j, o] = act(<gate_e[o, :], x[t]>) * <up_e[o, :], x[t]>    (ungated:
//   act(<up_e[o, :], x[t]>))                        kernel 1: a warp per (o, t, j), grid.y = t k +
//   j out[t, d] = (accumulate ? out[t, d] : 0) + sum_j weights[t, j] <down_e[d, :], h[t, j]>
//                                                   kernel 2: a warp per (d, t), j in order
// Both are bandwidth-bound like the dense GEMV (matmul.cu): each chosen expert's rows are read
// once per token, widened to fp32, with 16-byte loads where a row is 16-byte aligned.
#include <cstdint>
#include <stdexcept>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/ops.h"

namespace statescope::kernels::cuda {

namespace {

constexpr int kWarps = 8;
constexpr int kThreads = kWarps * 32;

// <row[0..cols), x[0..cols)> over one warp, fp32 accumulation; every lane gets the sum.
template <typename W>
__device__ __forceinline__ float warp_dot(const W* __restrict__ row, const float* __restrict__ x,
                                          std::int64_t cols) {
    constexpr int kEpv = 16 / sizeof(W);  // elements per 16-byte load
    const int lane = threadIdx.x % 32;
    float acc = 0.0f;
    const bool vec = reinterpret_cast<std::uintptr_t>(row) % 16 == 0 && cols % kEpv == 0;
    if (vec) {  // uniform across the warp (one row per warp)
        for (std::int64_t c = std::int64_t(lane) * kEpv; c < cols; c += 32 * kEpv) {
            const uint4 raw = *reinterpret_cast<const uint4*>(row + c);
            const W* w = reinterpret_cast<const W*>(&raw);
#pragma unroll
            for (int q = 0; q < kEpv; ++q) acc += to_f32(w[q]) * x[c + q];
        }
    } else {
        for (std::int64_t c = lane; c < cols; c += 32) acc += to_f32(row[c]) * x[c];
    }
    return group_sum(acc, 32);
}

// hidden: [T * k, F]. grid (ceil(F / kWarps), T * k).
template <typename W>
__global__ void __launch_bounds__(kThreads)
    expert_gate_up_kernel(const float* __restrict__ x, std::int64_t x_stride, std::int64_t k,
                          const std::int32_t* __restrict__ experts, const void* const* gate,
                          const void* const* up, std::int64_t E, std::int64_t D, std::int64_t F,
                          Activation act, float* __restrict__ hidden) {
    const std::int64_t o = std::int64_t(blockIdx.x) * kWarps + threadIdx.x / 32;
    const std::int64_t p = blockIdx.y;  // t * k + j
    if (o >= F) return;
    const std::int32_t e = experts[p];
    float* h = hidden + p * F + o;
    if (e < 0 || e >= E) {
        if (threadIdx.x % 32 == 0) *h = 0.0f;
        return;
    }
    const float* xt = x + (p / k) * x_stride;
    const float u = warp_dot(static_cast<const W*>(up[e]) + o * D, xt, D);
    float v;
    if (gate != nullptr) {
        const float g = warp_dot(static_cast<const W*>(gate[e]) + o * D, xt, D);
        v = activate(g, act) * u;
    } else {
        v = activate(u, act);
    }
    if (threadIdx.x % 32 == 0) *h = v;
}

// out: [T, D]. grid (ceil(D / kWarps), T). One fp32 multiply and one add per expert, in j order
// (no fused multiply-add), as the CPU op sums them.
template <typename W>
__global__ void __launch_bounds__(kThreads)
    expert_down_kernel(const float* __restrict__ hidden, std::int64_t k,
                       const std::int32_t* __restrict__ experts, const float* __restrict__ weights,
                       const void* const* down, std::int64_t E, std::int64_t D, std::int64_t F,
                       bool accumulate, float* __restrict__ out) {
    const std::int64_t d = std::int64_t(blockIdx.x) * kWarps + threadIdx.x / 32;
    const std::int64_t t = blockIdx.y;
    if (d >= D) return;
    float acc = accumulate ? out[t * D + d] : 0.0f;
    for (std::int64_t j = 0; j < k; ++j) {
        const std::int32_t e = experts[t * k + j];
        if (e < 0 || e >= E) continue;
        const float y =
            warp_dot(static_cast<const W*>(down[e]) + d * F, hidden + (t * k + j) * F, F);
        acc = __fadd_rn(acc, __fmul_rn(weights[t * k + j], y));
    }
    if (threadIdx.x % 32 == 0) out[t * D + d] = acc;
}

template <typename W>
void launch(const float* x, std::int64_t x_stride, std::int64_t T, std::int64_t k,
            const std::int32_t* experts, const float* weights, const ExpertFfns& f, float* hidden,
            bool accumulate, float* out, cudaStream_t stream) {
    const dim3 grid1(blocks_for(f.d_ff, kWarps), static_cast<unsigned>(T * k));
    expert_gate_up_kernel<W><<<grid1, kThreads, 0, stream>>>(
        x, x_stride, k, experts, f.gate, f.up, f.n_experts, f.d_model, f.d_ff, f.act, hidden);
    check_launch("moe_experts gate/up");
    const dim3 grid2(blocks_for(f.d_model, kWarps), static_cast<unsigned>(T));
    expert_down_kernel<W><<<grid2, kThreads, 0, stream>>>(
        hidden, k, experts, weights, f.down, f.n_experts, f.d_model, f.d_ff, accumulate, out);
    check_launch("moe_experts down");
}

}  // namespace

void moe_experts(const float* x, std::int64_t x_stride, std::int64_t T, std::int64_t k,
                 const std::int32_t* experts, const float* weights, const ExpertFfns& ffn,
                 float* hidden, bool accumulate, float* out, cudaStream_t stream) {
    if (T == 0 || ffn.d_model == 0) return;
    if (T * k > 65535)
        throw std::runtime_error("moe_experts on CUDA: " + std::to_string(T) + " rows of " +
                                 std::to_string(k) + " experts exceed the kernel's grid");
    switch (ffn.dtype) {
        case DType::F32:
            launch<float>(x, x_stride, T, k, experts, weights, ffn, hidden, accumulate, out,
                          stream);
            break;
        case DType::BF16:
            launch<__nv_bfloat16>(x, x_stride, T, k, experts, weights, ffn, hidden, accumulate, out,
                                  stream);
            break;
        case DType::F16:
            launch<__half>(x, x_stride, T, k, experts, weights, ffn, hidden, accumulate, out,
                           stream);
            break;
    }
}

}  // namespace statescope::kernels::cuda
