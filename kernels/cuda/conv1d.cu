// Causal depthwise conv1d (+ SiLU) continuing from conv_state:
//   window = [conv_state (K-1 oldest first) ; x[0..T)]
//   y[t, c] = act(bias[c] + sum_k w[c, k] * window[t + k, c])
//   conv_state <- window[T .. T+K-1)
// x: [T, C] (row stride x_stride); w: [C, K]; bias: [C] or null; conv_state: [K-1, C]; y: [T, C].
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/ops.h"

namespace statescope::kernels::cuda {

namespace {

constexpr int kThreads = 128;
// Up to this many tokens one thread per channel does the whole call (decode: one launch, the state
// shift fused); longer inputs split time across blocks and shift the state in a second launch.
constexpr std::int64_t kFusedMaxT = 16;
constexpr std::int64_t kTimeChunk = 32;

__device__ __forceinline__ float window_at(const float* x, std::int64_t x_stride,
                                           const float* conv_state, std::int64_t C, std::int64_t K,
                                           std::int64_t j, std::int64_t c) {
    return j < K - 1 ? conv_state[j * C + c] : x[(j - (K - 1)) * x_stride + c];
}

__device__ __forceinline__ float conv_at(const float* x, std::int64_t x_stride,
                                         const float* conv_state, std::int64_t C, std::int64_t K,
                                         const float* w, const float* bias, bool silu_act,
                                         std::int64_t t, std::int64_t c) {
    float acc = bias != nullptr ? bias[c] : 0.0f;
    for (std::int64_t k = 0; k < K; ++k)
        acc += w[c * K + k] * window_at(x, x_stride, conv_state, C, K, t + k, c);
    return silu_act ? silu(acc) : acc;
}

// conv_state[j, c] <- window[T + j, c], j ascending: window index T + j > j, so every read comes
// before the write that would overwrite it.
__device__ __forceinline__ void shift_state(const float* x, std::int64_t x_stride, std::int64_t T,
                                            std::int64_t C, std::int64_t K, float* conv_state,
                                            std::int64_t c) {
    for (std::int64_t j = 0; j < K - 1; ++j)
        conv_state[j * C + c] = window_at(x, x_stride, conv_state, C, K, T + j, c);
}

__global__ void conv1d_fused_kernel(const float* __restrict__ x, std::int64_t x_stride,
                                    std::int64_t T, std::int64_t C, std::int64_t K,
                                    const float* __restrict__ w, const float* __restrict__ bias,
                                    bool silu_act, float* conv_state, float* __restrict__ y) {
    wait_for_prior_grids();
    const std::int64_t c = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x;
    if (c >= C) return;
    for (std::int64_t t = 0; t < T; ++t)
        y[t * C + c] = conv_at(x, x_stride, conv_state, C, K, w, bias, silu_act, t, c);
    shift_state(x, x_stride, T, C, K, conv_state, c);
}

// grid = (channel blocks, time chunks)
__global__ void conv1d_prefill_kernel(const float* __restrict__ x, std::int64_t x_stride,
                                      std::int64_t T, std::int64_t C, std::int64_t K,
                                      const float* __restrict__ w, const float* __restrict__ bias,
                                      bool silu_act, const float* __restrict__ conv_state,
                                      float* __restrict__ y) {
    const std::int64_t c = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x;
    if (c >= C) return;
    const std::int64_t t0 = blockIdx.y * kTimeChunk, t1 = min(T, t0 + kTimeChunk);
    for (std::int64_t t = t0; t < t1; ++t)
        y[t * C + c] = conv_at(x, x_stride, conv_state, C, K, w, bias, silu_act, t, c);
}

__global__ void conv1d_state_kernel(const float* __restrict__ x, std::int64_t x_stride,
                                    std::int64_t T, std::int64_t C, std::int64_t K,
                                    float* conv_state) {
    const std::int64_t c = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x;
    if (c < C) shift_state(x, x_stride, T, C, K, conv_state, c);
}

// The batched decode step: grid.y = rows, row r one token (T = 1) of its own sequence, continuing
// conv_states[r] (a device array of device pointers); the state shift is fused as in decode.
__global__ void conv1d_rows_kernel(const float* __restrict__ x, std::int64_t x_stride,
                                   std::int64_t C, std::int64_t K, const float* __restrict__ w,
                                   const float* __restrict__ bias, bool silu_act,
                                   float* const* conv_states, float* __restrict__ y) {
    const std::int64_t c = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x;
    const std::int64_t r = blockIdx.y;
    if (c >= C) return;
    const float* xr = x + r * x_stride;
    float* conv_state = conv_states[r];
    y[r * C + c] = conv_at(xr, x_stride, conv_state, C, K, w, bias, silu_act, 0, c);
    shift_state(xr, x_stride, 1, C, K, conv_state, c);
}

}  // namespace

void causal_conv1d(const float* x, std::int64_t x_stride, std::int64_t T, std::int64_t C,
                   std::int64_t K, const float* w, const float* bias, bool silu, float* conv_state,
                   float* y, cudaStream_t stream) {
    if (T == 0 || C == 0) return;
    const unsigned cblocks = blocks_for(C, kThreads);
    if (T <= kFusedMaxT) {
        launch_dependent(conv1d_fused_kernel, cblocks, kThreads, 0, stream, x, x_stride, T, C, K, w,
                         bias, silu, conv_state, y);
        check_launch("causal_conv1d");
        return;
    }
    const dim3 grid(cblocks, blocks_for(T, kTimeChunk));
    conv1d_prefill_kernel<<<grid, kThreads, 0, stream>>>(x, x_stride, T, C, K, w, bias, silu,
                                                         conv_state, y);
    check_launch("causal_conv1d");
    conv1d_state_kernel<<<cblocks, kThreads, 0, stream>>>(x, x_stride, T, C, K, conv_state);
    check_launch("causal_conv1d state");
}

void causal_conv1d_rows(const float* x, std::int64_t x_stride, std::int64_t rows, std::int64_t C,
                        std::int64_t K, const float* w, const float* bias, bool silu,
                        float* const* conv_states, float* y, cudaStream_t stream) {
    if (rows == 0 || C == 0) return;
    const dim3 grid(blocks_for(C, kThreads), static_cast<unsigned>(rows));
    conv1d_rows_kernel<<<grid, kThreads, 0, stream>>>(x, x_stride, C, K, w, bias, silu, conv_states,
                                                      y);
    check_launch("causal_conv1d_rows");
}

}  // namespace statescope::kernels::cuda
