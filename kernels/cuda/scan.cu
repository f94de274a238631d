// The Mamba-1 selective scan and the Mamba-2 SSD recurrence: the dispatch between the prefill
// kernels, parallel over time (scan_chunked.h), and the sequential kernels here, which serve decode
// (T = 1: the fused step) and the shapes the chunked kernels do not take. In the sequential kernels
// a group of lanes owns one state row (a channel for Mamba-1, a (head, p) pair for Mamba-2) across
// d_state, keeps it in registers for the whole call and walks time sequentially; the sum over
// d_state is a shuffle reduction within the group.
//
// STATESCOPE_CUDA_SCAN picks the prefill path (for measuring one against the other in one run):
// unset: chunked, the SSD in 3xTF32 (~fp32); "tf32": chunked, the SSD in one TF32 product per tile;
// "sequential": the sequential kernels for every T; "skip": prefill calls (T > 1) launch nothing
// and leave y and the state as they were: wrong outputs, only to time the rest of a model's
// prefill.
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/ops.h"
#include "kernels/cuda/scan_chunked.h"

#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace statescope::kernels::cuda {

namespace {

constexpr int kThreads = 128;
constexpr int kMaxStatesPerLane = 8;  // d_state <= 256

// Lanes per row: the power of two >= N, at most a warp.
int lanes_for(std::int64_t N) {
    int l = 1;
    while (l < N && l < 32) l *= 2;
    return l;
}

// Mamba-1, row = channel i, S = state[i, n]:
//   S = exp(delta[t,i] * A[i,n]) * S + delta[t,i] * B[t,n] * x[t,i]
//   y[t,i] = (sum_n S * C[t,n] + D[i] * x[t,i]) * silu(z[t,i])          (no gate when z is null)
// Thread `tid` of I * lanes (rounded up to whole blocks); the kernels below pick the pointers.
__device__ __forceinline__ void selective_scan_body(
    const float* __restrict__ x, const float* __restrict__ delta, const float* __restrict__ A,
    const float* __restrict__ B, const float* __restrict__ C, std::int64_t bc_stride,
    const float* __restrict__ D, const float* __restrict__ z, std::int64_t z_stride, std::int64_t T,
    std::int64_t I, std::int64_t N, int lanes, std::int64_t tid, float* __restrict__ state,
    float* __restrict__ y) {
    const std::int64_t i = tid / lanes;
    const int lane = static_cast<int>(tid % lanes);
    // Rows past I still run the loop (without memory access) so every shuffle has its whole warp.
    const bool row_ok = i < I;
    const int spl = static_cast<int>((N + lanes - 1) / lanes);
    float S[kMaxStatesPerLane], Ai[kMaxStatesPerLane];
#pragma unroll
    for (int s = 0; s < kMaxStatesPerLane; ++s) {
        const std::int64_t n = lane + std::int64_t(s) * lanes;
        const bool ok = row_ok && s < spl && n < N;
        S[s] = ok ? state[i * N + n] : 0.0f;
        Ai[s] = ok ? A[i * N + n] : 0.0f;
    }
    const float Di = row_ok ? D[i] : 0.0f;
    for (std::int64_t t = 0; t < T; ++t) {
        const float d = row_ok ? delta[t * I + i] : 0.0f;
        const float xv = row_ok ? x[t * I + i] : 0.0f;
        const float dx = d * xv;
        float acc = 0.0f;
#pragma unroll
        for (int s = 0; s < kMaxStatesPerLane; ++s) {
            const std::int64_t n = lane + std::int64_t(s) * lanes;
            if (row_ok && s < spl && n < N) {
                S[s] = __expf(d * Ai[s]) * S[s] + dx * B[t * bc_stride + n];
                acc += S[s] * C[t * bc_stride + n];
            }
        }
        acc = group_sum(acc, lanes);
        if (row_ok && lane == 0) {
            float out = acc + Di * xv;
            if (z != nullptr) out *= silu(z[t * z_stride + i]);
            y[t * I + i] = out;
        }
    }
#pragma unroll
    for (int s = 0; s < kMaxStatesPerLane; ++s) {
        const std::int64_t n = lane + std::int64_t(s) * lanes;
        if (row_ok && s < spl && n < N) state[i * N + n] = S[s];
    }
}

// Mamba-2, row r = (h, p), group g = h / (H / G), S = state[h, p, n]:
//   S = exp(delta[t,h] * A[h]) * S + delta[t,h] * x[t,h,p] * B[t,g,n]
//   y[t,h,p] = sum_n S * C[t,g,n] + D[h] * x[t,h,p]
// Thread `tid` of H * P * lanes (rounded up to whole blocks); the kernels below pick the pointers.
__device__ __forceinline__ void ssd_scan_body(
    const float* __restrict__ x, std::int64_t x_stride, const float* __restrict__ delta,
    const float* __restrict__ A, const float* __restrict__ B, const float* __restrict__ C,
    std::int64_t bc_stride, const float* __restrict__ D, std::int64_t T, std::int64_t H,
    std::int64_t P, std::int64_t G, std::int64_t N, int lanes, std::int64_t tid,
    float* __restrict__ state, float* __restrict__ y) {
    const std::int64_t r = tid / lanes;
    const int lane = static_cast<int>(tid % lanes);
    const bool row_ok = r < H * P;
    const std::int64_t h = row_ok ? r / P : 0;
    const std::int64_t g = h / (H / G);
    const int spl = static_cast<int>((N + lanes - 1) / lanes);
    float S[kMaxStatesPerLane];
#pragma unroll
    for (int s = 0; s < kMaxStatesPerLane; ++s) {
        const std::int64_t n = lane + std::int64_t(s) * lanes;
        S[s] = row_ok && s < spl && n < N ? state[r * N + n] : 0.0f;
    }
    const float Ah = row_ok ? A[h] : 0.0f, Dh = row_ok ? D[h] : 0.0f;
    const float* Bg = B + g * N;
    const float* Cg = C + g * N;
    for (std::int64_t t = 0; t < T; ++t) {
        const float d = row_ok ? delta[t * H + h] : 0.0f;
        const float xv = row_ok ? x[t * x_stride + r] : 0.0f;
        const float decay = __expf(d * Ah), dx = d * xv;
        float acc = 0.0f;
#pragma unroll
        for (int s = 0; s < kMaxStatesPerLane; ++s) {
            const std::int64_t n = lane + std::int64_t(s) * lanes;
            if (row_ok && s < spl && n < N) {
                S[s] = decay * S[s] + dx * Bg[t * bc_stride + n];
                acc += S[s] * Cg[t * bc_stride + n];
            }
        }
        acc = group_sum(acc, lanes);
        if (row_ok && lane == 0) y[t * H * P + r] = acc + Dh * xv;
    }
#pragma unroll
    for (int s = 0; s < kMaxStatesPerLane; ++s) {
        const std::int64_t n = lane + std::int64_t(s) * lanes;
        if (row_ok && s < spl && n < N) state[r * N + n] = S[s];
    }
}

__device__ __forceinline__ std::int64_t thread_index() {
    return blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x;
}

__global__ void selective_scan_kernel(const float* x, const float* delta, const float* A,
                                      const float* B, const float* C, std::int64_t bc_stride,
                                      const float* D, const float* z, std::int64_t z_stride,
                                      std::int64_t T, std::int64_t I, std::int64_t N, int lanes,
                                      float* state, float* y) {
    wait_for_prior_grids();
    selective_scan_body(x, delta, A, B, C, bc_stride, D, z, z_stride, T, I, N, lanes,
                        thread_index(), state, y);
}

__global__ void ssd_scan_kernel(const float* x, std::int64_t x_stride, const float* delta,
                                const float* A, const float* B, const float* C,
                                std::int64_t bc_stride, const float* D, std::int64_t T,
                                std::int64_t H, std::int64_t P, std::int64_t G, std::int64_t N,
                                int lanes, float* state, float* y) {
    wait_for_prior_grids();
    ssd_scan_body(x, x_stride, delta, A, B, C, bc_stride, D, T, H, P, G, N, lanes, thread_index(),
                  state, y);
}

// The batched decode step: grid.y = rows, row r one token (T = 1) of its own sequence, on its
// slices of the inputs and its own state, states[r] (a device array of device pointers).
__global__ void selective_scan_rows_kernel(const float* x, const float* delta, const float* A,
                                           const float* B, const float* C, std::int64_t bc_stride,
                                           const float* D, const float* z, std::int64_t z_stride,
                                           std::int64_t I, std::int64_t N, int lanes,
                                           float* const* states, float* y) {
    const std::int64_t r = blockIdx.y;
    selective_scan_body(x + r * I, delta + r * I, A, B + r * bc_stride, C + r * bc_stride,
                        bc_stride, D, z != nullptr ? z + r * z_stride : nullptr, z_stride, 1, I, N,
                        lanes, thread_index(), states[r], y + r * I);
}

__global__ void ssd_scan_rows_kernel(const float* x, std::int64_t x_stride, const float* delta,
                                     const float* A, const float* B, const float* C,
                                     std::int64_t bc_stride, const float* D, std::int64_t H,
                                     std::int64_t P, std::int64_t G, std::int64_t N, int lanes,
                                     float* const* states, float* y) {
    const std::int64_t r = blockIdx.y;
    ssd_scan_body(x + r * x_stride, x_stride, delta + r * H, A, B + r * bc_stride,
                  C + r * bc_stride, bc_stride, D, 1, H, P, G, N, lanes, thread_index(), states[r],
                  y + r * H * P);
}

void check_d_state(std::int64_t N) {
    if (N > 32 * kMaxStatesPerLane)
        throw std::runtime_error("CUDA scan: d_state " + std::to_string(N) + " is above the " +
                                 std::to_string(32 * kMaxStatesPerLane) + " the kernels hold");
}

enum class Path { Chunked, ChunkedTf32, Sequential, Skip };
Path prefill_path() {
    static const Path p = [] {
        const char* v = std::getenv("STATESCOPE_CUDA_SCAN");
        if (v != nullptr && std::strcmp(v, "sequential") == 0) return Path::Sequential;
        if (v != nullptr && std::strcmp(v, "tf32") == 0) return Path::ChunkedTf32;
        if (v != nullptr && std::strcmp(v, "skip") == 0) return Path::Skip;
        return Path::Chunked;
    }();
    return p;
}
// TF32 WMMA needs sm_80 or newer.
bool tensor_cores() {
    static const bool ok = [] {
        int dev = 0, major = 0;
        cudaGetDevice(&dev);
        cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev);
        return major >= 8;
    }();
    return ok;
}
// T = 1 is decode: the sequential kernel is the fused step (one token, no scratch, no extra
// launches, and safe to record in a CUDA graph).
bool selective_chunked(std::int64_t T, std::int64_t N) {
    return T > 1 && N <= kSelChunkedMaxN && prefill_path() != Path::Sequential;
}
bool ssd_chunked(std::int64_t T, std::int64_t N) {
    return T > 1 && N <= kSsdChunkedMaxN && tensor_cores() && prefill_path() != Path::Sequential;
}

}  // namespace

std::size_t selective_scan_scratch_bytes(std::int64_t T, std::int64_t I, std::int64_t N) {
    return selective_chunked(T, N) ? selective_scan_chunked_scratch_bytes(T, I, N) : 0;
}

std::size_t ssd_scan_scratch_bytes(std::int64_t T, std::int64_t H, std::int64_t P, std::int64_t N) {
    return ssd_chunked(T, N) ? ssd_scan_chunked_scratch_bytes(T, H, P, N) : 0;
}

void selective_scan(const float* x, const float* delta, const float* A, const float* B,
                    const float* C, std::int64_t bc_stride, const float* D, const float* z,
                    std::int64_t z_stride, std::int64_t T, std::int64_t I, std::int64_t N,
                    float* state, float* y, float* scratch, cudaStream_t stream) {
    if (T == 0 || I == 0 || (T > 1 && prefill_path() == Path::Skip)) return;
    check_d_state(N);
    if (selective_chunked(T, N)) {
        selective_scan_chunked(x, delta, A, B, C, bc_stride, D, z, z_stride, T, I, N, state, y,
                               scratch, stream);
        return;
    }
    const int lanes = lanes_for(N);
    launch_dependent(selective_scan_kernel, blocks_for(I * lanes, kThreads), kThreads, 0, stream, x,
                     delta, A, B, C, bc_stride, D, z, z_stride, T, I, N, lanes, state, y);
    check_launch("selective_scan");
}

void ssd_scan(const float* x, std::int64_t x_stride, const float* delta, const float* A,
              const float* B, const float* C, std::int64_t bc_stride, const float* D,
              std::int64_t T, std::int64_t H, std::int64_t P, std::int64_t G, std::int64_t N,
              float* state, float* y, float* scratch, cudaStream_t stream) {
    if (T == 0 || H * P == 0 || (T > 1 && prefill_path() == Path::Skip)) return;
    check_d_state(N);
    if (ssd_chunked(T, N)) {
        ssd_scan_chunked(x, x_stride, delta, A, B, C, bc_stride, D, T, H, P, G, N,
                         prefill_path() != Path::ChunkedTf32, state, y, scratch, stream);
        return;
    }
    const int lanes = lanes_for(N);
    launch_dependent(ssd_scan_kernel, blocks_for(H * P * lanes, kThreads), kThreads, 0, stream, x,
                     x_stride, delta, A, B, C, bc_stride, D, T, H, P, G, N, lanes, state, y);
    check_launch("ssd_scan");
}

void selective_scan_rows(const float* x, const float* delta, const float* A, const float* B,
                         const float* C, std::int64_t bc_stride, const float* D, const float* z,
                         std::int64_t z_stride, std::int64_t rows, std::int64_t I, std::int64_t N,
                         float* const* states, float* y, cudaStream_t stream) {
    if (rows == 0 || I == 0) return;
    check_d_state(N);
    const int lanes = lanes_for(N);
    const dim3 grid(blocks_for(I * lanes, kThreads), static_cast<unsigned>(rows));
    selective_scan_rows_kernel<<<grid, kThreads, 0, stream>>>(x, delta, A, B, C, bc_stride, D, z,
                                                              z_stride, I, N, lanes, states, y);
    check_launch("selective_scan_rows");
}

void ssd_scan_rows(const float* x, std::int64_t x_stride, const float* delta, const float* A,
                   const float* B, const float* C, std::int64_t bc_stride, const float* D,
                   std::int64_t rows, std::int64_t H, std::int64_t P, std::int64_t G,
                   std::int64_t N, float* const* states, float* y, cudaStream_t stream) {
    if (rows == 0 || H * P == 0) return;
    check_d_state(N);
    const int lanes = lanes_for(N);
    const dim3 grid(blocks_for(H * P * lanes, kThreads), static_cast<unsigned>(rows));
    ssd_scan_rows_kernel<<<grid, kThreads, 0, stream>>>(x, x_stride, delta, A, B, C, bc_stride, D,
                                                        H, P, G, N, lanes, states, y);
    check_launch("ssd_scan_rows");
}

}  // namespace statescope::kernels::cuda
