// Mamba-1's decode step after x_proj as one kernel (Backend::matmul_softplus_scan_step), one token:
//   delta[i] = clamp(softplus(sum_r dt[r] W[i, r] + dt_bias[i]), lo, hi)
//   S[i, n] = exp(delta[i] A[i, n]) S[i, n] + delta[i] B[n] x[i]
//   y[i] = (sum_n S[i, n] C[n] + D[i] x[i]) * silu(z[i])                 (no gate when z is null)
// dt: [R]; W: [I, R]; x, z, D, delta, y: [I]; A, state: [I, N] fp32; B, C: [N].
// One warp per channel i, 8 per block: the dt_rank dot as the one-warp-per-row GEMV does it
// (16-byte weight loads, lane l the chunks l, l + 32, ..., widened to fp32; a shuffle sum), the
// softplus as its epilogue, then the channel's N states as selective_scan's sequential kernel
// (lane l the states l, l + 32, ...; __expf; a shuffle sum). The state row and A row are loaded
// before the weights so all of a warp's loads are in flight at once. Replaces the dt_proj GEMV and
// the scan kernel (two launches; the ncu run of mamba-2.8b: 3.4 + 4.1 us a layer).
#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/gemv.cuh"
#include "kernels/cuda/ops.h"

namespace statescope::kernels::cuda {

namespace {

constexpr int kWarpsPerBlock = 8;
constexpr int kMaxStatesPerLane = 8;  // N <= 256
constexpr int kBatch = 4;             // 16-byte weight loads issued before the first is used

// kVec: W and dt 16-byte aligned and R a multiple of the elements per 16 bytes; else one element
// per lane per step. kSpl: states per lane, N <= 32 * kSpl (the register arrays sized to N: with 8
// for every N, ptxas capped the bf16 kernel at 64 registers and spilled, and mamba-2.8b's 640
// blocks no longer fit on the GPU at once).
template <typename W, bool kVec, int kSpl>
__global__ void __launch_bounds__(kWarpsPerBlock * 32)
    softplus_scan_step_kernel(const float* __restrict__ dt, const W* __restrict__ w, int I, int R,
                              const float* __restrict__ dt_bias, float lo, float hi,
                              const float* __restrict__ x, const float* __restrict__ A,
                              const float* __restrict__ B, const float* __restrict__ C,
                              const float* __restrict__ D, const float* __restrict__ z, int N,
                              float* __restrict__ state, float* __restrict__ delta,
                              float* __restrict__ y) {
    wait_for_prior_grids();
    const int lane = threadIdx.x % 32;
    const int i = blockIdx.x * kWarpsPerBlock + threadIdx.x / 32;
    if (i >= I) return;  // the whole warp: no block-wide barrier below
    const std::int64_t row0 = std::int64_t(i) * N;
    float S[kSpl], Ai[kSpl];
#pragma unroll
    for (int s = 0; s < kSpl; ++s) {
        const int n = lane + s * 32;
        S[s] = n < N ? state[row0 + n] : 0.0f;
        Ai[s] = n < N ? A[row0 + n] : 0.0f;
    }
    const float xv = x[i];
    const float zv = z != nullptr ? z[i] : 0.0f;
    const float Dv = D != nullptr ? D[i] : 0.0f;
    const float bv = dt_bias != nullptr ? dt_bias[i] : 0.0f;

    // delta[i]: the dt_rank dot.
    const W* row = w + std::int64_t(i) * R;
    float acc = 0.0f;
    if constexpr (kVec) {
        constexpr int kEpv = 16 / sizeof(W);
        const int first = lane * kEpv, stride = 32 * kEpv;
        const int n = first >= R ? 0 : (R - first + stride - 1) / stride;
        int k = 0;
        for (; k + kBatch <= n; k += kBatch) {
            uint4 raw[kBatch];
#pragma unroll
            for (int b = 0; b < kBatch; ++b) raw[b] = load_stream(row + first + (k + b) * stride);
#pragma unroll
            for (int b = 0; b < kBatch; ++b)
                dot_chunk<W, 1>(raw[b], dt, 0, 1, first + (k + b) * stride, &acc);
        }
        uint4 raw[kBatch - 1];  // the rest (dt_rank 160 in bf16: 20 chunks, one per lane < 20)
#pragma unroll
        for (int b = 0; b < kBatch - 1; ++b)
            raw[b] =
                k + b < n ? load_stream(row + first + (k + b) * stride) : make_uint4(0, 0, 0, 0);
#pragma unroll
        for (int b = 0; b < kBatch - 1; ++b)
            if (k + b < n) dot_chunk<W, 1>(raw[b], dt, 0, 1, first + (k + b) * stride, &acc);
    } else {
        for (int c = lane; c < R; c += 32) acc += to_f32(row[c]) * dt[c];
    }
    acc = group_sum(acc, 32);
    const float d = softplus_clamp(acc + bv, lo, hi);
    if (lane == 0) delta[i] = d;

    // The scan step.
    const float dx = d * xv;
    float sum = 0.0f;
#pragma unroll
    for (int s = 0; s < kSpl; ++s) {
        const int n = lane + s * 32;
        if (n < N) {
            S[s] = __expf(d * Ai[s]) * S[s] + dx * B[n];
            sum += S[s] * C[n];
        }
    }
    sum = group_sum(sum, 32);
    if (lane == 0) {
        float out = sum + Dv * xv;
        if (z != nullptr) out *= silu(zv);
        y[i] = out;
    }
#pragma unroll
    for (int s = 0; s < kSpl; ++s) {
        const int n = lane + s * 32;
        if (n < N) state[row0 + n] = S[s];
    }
}

template <typename W>
void launch(const float* dt, const Weight& W_, const float* dt_bias, float lo, float hi,
            const float* x, const float* A, const float* B, const float* C, const float* D,
            const float* z, std::int64_t N, float* state, float* delta, float* y,
            cudaStream_t stream) {
    const W* w = static_cast<const W*>(W_.data);
    constexpr int kEpv = 16 / sizeof(W);
    const bool vec = reinterpret_cast<std::uintptr_t>(w) % 16 == 0 && W_.cols % kEpv == 0 &&
                     reinterpret_cast<std::uintptr_t>(dt) % 16 == 0;
    const unsigned blocks = blocks_for(W_.rows, kWarpsPerBlock);
    const dim3 block(kWarpsPerBlock * 32);
    auto go = [&](auto kernel) {
        launch_dependent(kernel, blocks, block, 0, stream, dt, w, int(W_.rows), int(W_.cols),
                         dt_bias, lo, hi, x, A, B, C, D, z, int(N), state, delta, y);
    };
    auto pick = [&](auto vec_tag) {
        constexpr bool kV = decltype(vec_tag)::value;
        if (N <= 32)
            go(softplus_scan_step_kernel<W, kV, 1>);
        else if (N <= 64)
            go(softplus_scan_step_kernel<W, kV, 2>);
        else if (N <= 128)
            go(softplus_scan_step_kernel<W, kV, 4>);
        else
            go(softplus_scan_step_kernel<W, kV, kMaxStatesPerLane>);
    };
    if (vec)
        pick(std::true_type{});
    else
        pick(std::false_type{});
    check_launch("softplus_scan_step");
}

}  // namespace

bool softplus_scan_step_fits(const Weight& W, std::int64_t N) {
    return W.rows > 0 && N >= 1 && N <= 32 * kMaxStatesPerLane &&
           W.rows * std::max<std::int64_t>(N, W.cols) < (std::int64_t(1) << 31);
}

void softplus_scan_step(const float* dt, const Weight& W, const float* dt_bias, float lo, float hi,
                        const float* x, const float* A, const float* B, const float* C,
                        const float* D, const float* z, std::int64_t N, float* state, float* delta,
                        float* y, cudaStream_t stream) {
    switch (W.dtype) {
        case DType::F32:
            launch<float>(dt, W, dt_bias, lo, hi, x, A, B, C, D, z, N, state, delta, y, stream);
            break;
        case DType::BF16:
            launch<__nv_bfloat16>(dt, W, dt_bias, lo, hi, x, A, B, C, D, z, N, state, delta, y,
                                  stream);
            break;
        case DType::F16:
            launch<__half>(dt, W, dt_bias, lo, hi, x, A, B, C, D, z, N, state, delta, y, stream);
            break;
    }
}

}  // namespace statescope::kernels::cuda
