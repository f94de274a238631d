// Mamba-1 selective scan for prefill, parallel over time. Per channel i and state n the recurrence
//   S_t = exp(delta[t,i] * A[i,n]) * S_{t-1} + delta[t,i] * B[t,n] * x[t,i]
// is affine in S, so over a chunk c of tokens S_end = exp(A[i,n] * sum_c delta[., i]) * S_start +
// E_c, where E_c is the chunk's end state from a zero start. Three launches:
//   1. every chunk but the last, in parallel: E_c and sum_c delta        (scratch: slots, dsum)
//   2. per (i, n), sequential over the chunks: the true start state of each chunk
//   3. every chunk, in parallel, from its start state: y; the last chunk writes the final state.
// The exp work is about doubled (passes 1 and 3), in exchange for T / chunk times more threads
// than channels: the sequential kernel had I * 16 threads walking all T tokens (mamba-2.8b: 82k
// threads, 1.6 us per token per layer on the H200). A thread owns one channel and all of its N
// states in registers (coalesced x, delta, z, y rows across the warp); a block of 128 channels
// shares one chunk, so B and C (read as broadcasts), x and delta for 16 tokens at a time are
// staged in shared memory.
#include <algorithm>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/scan_chunked.h"

namespace statescope::kernels::cuda {

namespace {

constexpr int kThreads = 128;
// Tokens per shared-memory stage of B, C, x and delta. x and delta are staged too: read from
// global memory inside the token loop, each step waited on their latency (the first version ran
// at a third of the exp units' rate on the H200); 16 rows of 128 channels are 32 loads in flight.
constexpr int kStage = 16;
constexpr std::int64_t kMinChunk = 32;  // shorter chunks would spend more on passes 1-2 than gain
// Threads wanted in passes 1 and 3: about 2 resident waves of the H200's 132 SMs x 1024 threads.
constexpr std::int64_t kTargetThreads = std::int64_t(1) << 18;

struct Plan {
    std::int64_t chunk, chunks;
};
Plan plan(std::int64_t T, std::int64_t I) {
    const std::int64_t want = std::max<std::int64_t>(1, (kTargetThreads + I - 1) / I);
    const std::int64_t chunk = std::max(kMinChunk, (T + want - 1) / want);
    return {chunk, (T + chunk - 1) / chunk};
}

// kOut = false (pass 1): chunk c = blockIdx.y from a zero state; writes E_c to slots[c + 1] and
// sum_c delta to dsum[c]. kOut = true (pass 3): chunk c from start + c * start_stride, writes y;
// the last chunk writes `state`. NS >= N states per thread; the padding states have A = 0 and
// B = 0, so they stay 0.
template <int NS, bool kOut>
__global__ void __launch_bounds__(kThreads)
    chunk_kernel(const float* __restrict__ x, const float* __restrict__ delta,
                 const float* __restrict__ A, const float* __restrict__ B,
                 const float* __restrict__ C, std::int64_t bc_stride, const float* __restrict__ D,
                 const float* __restrict__ z, std::int64_t z_stride, std::int64_t T, std::int64_t I,
                 int N, std::int64_t chunk, const float* start, std::int64_t start_stride,
                 float* slots, float* __restrict__ dsum, float* state, float* __restrict__ y) {
    __shared__ float Bs[kStage][NS];
    __shared__ float Cs[kOut ? kStage : 1][NS];
    __shared__ float Xs[kStage][kThreads], Ds[kStage][kThreads];
    const std::int64_t c = blockIdx.y;
    const std::int64_t i = blockIdx.x * std::int64_t(kThreads) + threadIdx.x;
    const bool ok = i < I;
    const std::int64_t t0 = c * chunk, t1 = std::min(T, t0 + chunk);
    float S[NS], Ai[NS];
#pragma unroll
    for (int n = 0; n < NS; ++n) {
        const bool in = ok && n < N;
        Ai[n] = in ? A[i * N + n] : 0.0f;
        S[n] = kOut && in ? start[c * start_stride + i * N + n] : 0.0f;
    }
    const float Di = kOut && ok ? D[i] : 0.0f;
    float ds = 0.0f;
    for (std::int64_t ts = t0; ts < t1; ts += kStage) {
        const int len = static_cast<int>(std::min<std::int64_t>(kStage, t1 - ts));
        __syncthreads();  // the previous stage's reads are done
        for (int k = threadIdx.x; k < kStage * NS; k += kThreads) {
            const int tt = k / NS, n = k % NS;
            const bool in = tt < len && n < N;
            Bs[tt][n] = in ? B[(ts + tt) * bc_stride + n] : 0.0f;
            if constexpr (kOut) Cs[tt][n] = in ? C[(ts + tt) * bc_stride + n] : 0.0f;
        }
#pragma unroll
        for (int tt = 0; tt < kStage; ++tt) {
            const bool in = ok && tt < len;
            Xs[tt][threadIdx.x] = in ? x[(ts + tt) * I + i] : 0.0f;
            Ds[tt][threadIdx.x] = in ? delta[(ts + tt) * I + i] : 0.0f;
        }
        __syncthreads();
        if (!ok) continue;
        for (int tt = 0; tt < len; ++tt) {
            const std::int64_t t = ts + tt;
            const float d = Ds[tt][threadIdx.x], xv = Xs[tt][threadIdx.x], dx = d * xv;
            ds += d;
            float acc = 0.0f;
#pragma unroll
            for (int n = 0; n < NS; ++n) {
                S[n] = __expf(d * Ai[n]) * S[n] + dx * Bs[tt][n];
                if constexpr (kOut) acc += S[n] * Cs[tt][n];
            }
            if constexpr (kOut) {
                float out = acc + Di * xv;
                if (z != nullptr) out *= silu(z[t * z_stride + i]);
                y[t * I + i] = out;
            }
        }
    }
    if (!ok) return;
    if constexpr (!kOut) {
        float* end = slots + (c + 1) * I * N + i * N;
#pragma unroll
        for (int n = 0; n < NS; ++n)
            if (n < N) end[n] = S[n];
        dsum[c * I + i] = ds;
    } else if (c == gridDim.y - 1) {
#pragma unroll
        for (int n = 0; n < NS; ++n)
            if (n < N) state[i * N + n] = S[n];
    }
}

// Pass 2, per (i, n) = j: slots[0] = state; slots[c] = exp(A * dsum[c - 1]) * slots[c - 1] +
// E_{c-1} (E_{c-1} is in slots[c] from pass 1).
__global__ void combine_kernel(const float* __restrict__ A, const float* __restrict__ dsum,
                               const float* __restrict__ state, std::int64_t I, std::int64_t N,
                               std::int64_t chunks, float* __restrict__ slots) {
    const std::int64_t j = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x;
    if (j >= I * N) return;
    const std::int64_t i = j / N, IN = I * N;
    const float a = A[j];
    float S = state[j];
    slots[j] = S;
    for (std::int64_t c = 1; c < chunks; ++c) {
        S = __expf(a * dsum[(c - 1) * I + i]) * S + slots[c * IN + j];
        slots[c * IN + j] = S;
    }
}

template <int NS>
void launch(const float* x, const float* delta, const float* A, const float* B, const float* C,
            std::int64_t bc_stride, const float* D, const float* z, std::int64_t z_stride,
            std::int64_t T, std::int64_t I, std::int64_t N, float* state, float* y, float* scratch,
            cudaStream_t stream) {
    const Plan p = plan(T, I);
    const unsigned gx = blocks_for(I, kThreads);
    const int n = static_cast<int>(N);
    if (p.chunks == 1) {
        chunk_kernel<NS, true><<<dim3(gx, 1), kThreads, 0, stream>>>(
            x, delta, A, B, C, bc_stride, D, z, z_stride, T, I, n, p.chunk, state, 0, nullptr,
            nullptr, state, y);
        check_launch("selective_scan_chunked");
        return;
    }
    float* slots = scratch;                    // [chunks, I, N]
    float* dsum = scratch + p.chunks * I * N;  // [chunks, I]
    chunk_kernel<NS, false><<<dim3(gx, unsigned(p.chunks - 1)), kThreads, 0, stream>>>(
        x, delta, A, B, C, bc_stride, D, z, z_stride, T, I, n, p.chunk, nullptr, 0, slots, dsum,
        nullptr, nullptr);
    check_launch("selective_scan_chunked (chunk states)");
    combine_kernel<<<blocks_for(I * N, 256), 256, 0, stream>>>(A, dsum, state, I, N, p.chunks,
                                                               slots);
    check_launch("selective_scan_chunked (combine)");
    chunk_kernel<NS, true><<<dim3(gx, unsigned(p.chunks)), kThreads, 0, stream>>>(
        x, delta, A, B, C, bc_stride, D, z, z_stride, T, I, n, p.chunk, slots, I * N, nullptr,
        nullptr, state, y);
    check_launch("selective_scan_chunked (output)");
}

}  // namespace

std::size_t selective_scan_chunked_scratch_bytes(std::int64_t T, std::int64_t I, std::int64_t N) {
    const Plan p = plan(T, I);
    if (p.chunks <= 1) return 0;
    return std::size_t(p.chunks * I * N + p.chunks * I) * sizeof(float);
}

void selective_scan_chunked(const float* x, const float* delta, const float* A, const float* B,
                            const float* C, std::int64_t bc_stride, const float* D, const float* z,
                            std::int64_t z_stride, std::int64_t T, std::int64_t I, std::int64_t N,
                            float* state, float* y, float* scratch, cudaStream_t stream) {
    if (N <= 16)
        launch<16>(x, delta, A, B, C, bc_stride, D, z, z_stride, T, I, N, state, y, scratch,
                   stream);
    else if (N <= 32)
        launch<32>(x, delta, A, B, C, bc_stride, D, z, z_stride, T, I, N, state, y, scratch,
                   stream);
    else
        launch<64>(x, delta, A, B, C, bc_stride, D, z, z_stride, T, I, N, state, y, scratch,
                   stream);
}

}  // namespace statescope::kernels::cuda
