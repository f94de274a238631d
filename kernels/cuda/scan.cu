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

#include <cstdint>
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

// The SSD decode step (T = 1), vectorised: the recurrence above at one token, the [H, P, N] state
// streamed through once with 16-byte loads and stores. A group of `lanes` lanes (a power of two,
// at most a warp) owns one state row r = (h, p) at a time, lane l its float4 chunks q = l + k *
// lanes (k < chunks) of the N / 4; group gg takes rows gg + j * n_groups (j < rows_per_group), so
// at each j a warp covers consecutive rows (contiguous memory), and every state load of the thread
// is issued before any is used: the step is one memory round trip. (ncu on the H200: the
// sequential kernel, 4-byte loads inside the update loop, moved mamba2-2.7b's 2.6 MB state at
// ~0.75 TB/s.) Batched rows (states != null): grid.y is the row b, on its slices of the inputs and
// its own state states[b]. Needs N % 4 == 0, 16-byte aligned state(s), B and C (and bc_stride % 4
// == 0 when batched), H * P * N < 2^31: ssd_step_vec_fits() checks.
constexpr int kStepThreads = 256;
// The one-token softplus folded into the step (dt null: delta is read as given): delta[h] =
// clamp(softplus(dt[h] + bias[h]), lo, hi), written to `delta` by the thread of row (h, 0).
struct SoftplusIn {
    const float* dt = nullptr;
    const float* bias = nullptr;
    float lo = 0.0f, hi = 0.0f;
    float* delta = nullptr;
};
constexpr int kStepMaxRows = 4;    // rows per group
constexpr int kStepMaxChunks = 2;  // float4 chunks per lane and row: N <= 256 (check_d_state)

__global__ void __launch_bounds__(kStepThreads)
    ssd_step_vec_kernel(const float* __restrict__ x, std::int64_t x_stride,
                        const float* __restrict__ delta, const float* __restrict__ A,
                        const float* __restrict__ B, const float* __restrict__ C,
                        std::int64_t bc_stride, const float* __restrict__ D, int H, int P,
                        int heads_per_group, int N, int lanes, int chunks, int rows_per_group,
                        int n_groups, float* state, float* const* states, float* __restrict__ y,
                        SoftplusIn sp) {
    wait_for_prior_grids();
    if (states != nullptr) {
        const std::int64_t b = blockIdx.y;
        x += b * x_stride;
        delta += b * H;
        B += b * bc_stride;
        C += b * bc_stride;
        y += b * std::int64_t(H) * P;
        state = states[b];
    }
    const int tid = blockIdx.x * kStepThreads + threadIdx.x;
    const int gg = tid / lanes, lane = tid % lanes;
    const int Q = N / 4, HP = H * P;
    float4* st = reinterpret_cast<float4*>(state);
    auto row_of = [&](int j) {
        return gg < n_groups && j < rows_per_group ? gg + j * n_groups : HP;
    };
    // Every state load first (predicated off past the rows / chunks: zeros, no access).
    float4 S[kStepMaxRows][kStepMaxChunks];
#pragma unroll
    for (int j = 0; j < kStepMaxRows; ++j) {
        const int r = row_of(j);
#pragma unroll
        for (int k = 0; k < kStepMaxChunks; ++k) {
            const int q = lane + k * lanes;
            S[j][k] = r < HP && k < chunks && q < Q ? __ldcs(st + std::int64_t(r) * Q + q)
                                                    : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        }
    }
    // Then each row's scalars (L2-resident: delta, A, D are [H], x one row).
    float xv[kStepMaxRows], dv[kStepMaxRows], av[kStepMaxRows], Dv[kStepMaxRows];
#pragma unroll
    for (int j = 0; j < kStepMaxRows; ++j) {
        const int r = row_of(j);
        const bool ok = r < HP;
        const int h = ok ? r / P : 0;
        xv[j] = ok ? x[r] : 0.0f;
        if (sp.dt != nullptr) {  // delta from in_proj's dt row (Backend::softplus_ssd_step)
            dv[j] = ok ? softplus_clamp(sp.dt[h] + (sp.bias != nullptr ? sp.bias[h] : 0.0f), sp.lo,
                                        sp.hi)
                       : 0.0f;
            if (ok && r % P == 0 && lane == 0) sp.delta[h] = dv[j];
        } else {
            dv[j] = ok ? delta[h] : 0.0f;
        }
        av[j] = ok ? A[h] : 0.0f;
        Dv[j] = ok && D != nullptr ? D[h] : 0.0f;
    }
#pragma unroll
    for (int j = 0; j < kStepMaxRows; ++j) {
        if (j >= rows_per_group) break;  // uniform over the grid: every lane reaches the shuffles
        const int r = row_of(j);
        const bool ok = r < HP;
        const int g = ok ? r / P / heads_per_group : 0;
        const float4* Bg = reinterpret_cast<const float4*>(B + std::int64_t(g) * N);
        const float4* Cg = reinterpret_cast<const float4*>(C + std::int64_t(g) * N);
        const float decay = __expf(dv[j] * av[j]), dx = dv[j] * xv[j];
        float acc = 0.0f;
#pragma unroll
        for (int k = 0; k < kStepMaxChunks; ++k) {
            const int q = lane + k * lanes;
            if (!(ok && k < chunks && q < Q)) continue;
            const float4 b = __ldg(Bg + q), c = __ldg(Cg + q);
            float4& s = S[j][k];
            s.x = decay * s.x + dx * b.x;
            s.y = decay * s.y + dx * b.y;
            s.z = decay * s.z + dx * b.z;
            s.w = decay * s.w + dx * b.w;
            acc += s.x * c.x;
            acc += s.y * c.y;
            acc += s.z * c.z;
            acc += s.w * c.w;
            __stcs(st + std::int64_t(r) * Q + q, s);
        }
        acc = group_sum(acc, lanes);
        if (ok && lane == 0) y[r] = acc + Dv[j] * xv[j];
    }
}

struct StepShape {
    int lanes = 1, chunks = 1, rows_per_group = 1, n_groups = 1;
    unsigned blocks = 1;
};
// Rows per group grow (1, 2, 4) while the grid would ask more than ~half the threads the GPU holds
// at once (2048 per SM on sm_90): fewer, longer threads, each with more loads in flight.
StepShape ssd_step_shape(std::int64_t HP, std::int64_t N, std::int64_t batch_rows) {
    StepShape s;
    const std::int64_t Q = N / 4;
    s.lanes = lanes_for(Q);
    s.chunks = static_cast<int>((Q + s.lanes - 1) / s.lanes);
    const std::int64_t budget = std::int64_t(sm_count()) * 1024;
    auto groups = [&](int rpg) { return (HP + rpg - 1) / rpg; };
    while (s.rows_per_group < kStepMaxRows &&
           groups(s.rows_per_group) * s.lanes * batch_rows > budget)
        s.rows_per_group *= 2;
    s.n_groups = static_cast<int>(groups(s.rows_per_group));
    s.blocks = blocks_for(std::int64_t(s.n_groups) * s.lanes, kStepThreads);
    return s;
}

bool aligned16(const void* p) {
    return reinterpret_cast<std::uintptr_t>(p) % 16 == 0;
}
bool ssd_step_vec_fits(std::int64_t H, std::int64_t P, std::int64_t N, const float* B,
                       const float* C, std::int64_t bc_stride, bool batched) {
    return N % 4 == 0 && N / 4 <= std::int64_t(32) * kStepMaxChunks && aligned16(B) &&
           aligned16(C) && (!batched || bc_stride % 4 == 0) && H * P * N < (std::int64_t(1) << 31);
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
    return T > 1 && N <= kSsdChunkedMaxN && tensor_cores() && prefill_path() != Path::Sequential &&
           ssd_scan_chunked_fits(N);
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
    if (T == 1 && aligned16(state) && ssd_step_vec_fits(H, P, N, B, C, bc_stride, false)) {
        const StepShape sh = ssd_step_shape(H * P, N, 1);
        launch_dependent(ssd_step_vec_kernel, sh.blocks, kStepThreads, 0, stream, x, x_stride,
                         delta, A, B, C, bc_stride, D, int(H), int(P), int(H / G), int(N), sh.lanes,
                         sh.chunks, sh.rows_per_group, sh.n_groups, state,
                         static_cast<float* const*>(nullptr), y, SoftplusIn{});
        check_launch("ssd_scan step");
        return;
    }
    const int lanes = lanes_for(N);
    launch_dependent(ssd_scan_kernel, blocks_for(H * P * lanes, kThreads), kThreads, 0, stream, x,
                     x_stride, delta, A, B, C, bc_stride, D, T, H, P, G, N, lanes, state, y);
    check_launch("ssd_scan");
}

bool softplus_ssd_step(const float* dt, const float* dt_bias, float lo, float hi, const float* x,
                       std::int64_t x_stride, const float* A, const float* B, const float* C,
                       std::int64_t bc_stride, const float* D, std::int64_t H, std::int64_t P,
                       std::int64_t G, std::int64_t N, float* state, float* delta, float* y,
                       cudaStream_t stream) {
    if (H * P == 0) return true;
    check_d_state(N);
    if (!aligned16(state) || !ssd_step_vec_fits(H, P, N, B, C, bc_stride, false)) return false;
    const StepShape sh = ssd_step_shape(H * P, N, 1);
    launch_dependent(ssd_step_vec_kernel, sh.blocks, kStepThreads, 0, stream, x, x_stride,
                     static_cast<const float*>(nullptr), A, B, C, bc_stride, D, int(H), int(P),
                     int(H / G), int(N), sh.lanes, sh.chunks, sh.rows_per_group, sh.n_groups, state,
                     static_cast<float* const*>(nullptr), y,
                     SoftplusIn{dt, dt_bias, lo, hi, delta});
    check_launch("softplus_ssd_step");
    return true;
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
                   std::int64_t N, float* const* states, bool states_aligned16, float* y,
                   cudaStream_t stream) {
    if (rows == 0 || H * P == 0) return;
    check_d_state(N);
    if (states_aligned16 && rows <= 65535 && ssd_step_vec_fits(H, P, N, B, C, bc_stride, true)) {
        const StepShape sh = ssd_step_shape(H * P, N, rows);
        const dim3 grid(sh.blocks, static_cast<unsigned>(rows));
        ssd_step_vec_kernel<<<grid, kStepThreads, 0, stream>>>(
            x, x_stride, delta, A, B, C, bc_stride, D, int(H), int(P), int(H / G), int(N), sh.lanes,
            sh.chunks, sh.rows_per_group, sh.n_groups, nullptr, states, y, SoftplusIn{});
        check_launch("ssd_scan_rows");
        return;
    }
    const int lanes = lanes_for(N);
    const dim3 grid(blocks_for(H * P * lanes, kThreads), static_cast<unsigned>(rows));
    ssd_scan_rows_kernel<<<grid, kThreads, 0, stream>>>(x, x_stride, delta, A, B, C, bc_stride, D,
                                                        H, P, G, N, lanes, states, y);
    check_launch("ssd_scan_rows");
}

}  // namespace statescope::kernels::cuda
