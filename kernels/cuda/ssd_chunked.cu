// Mamba-2 SSD for prefill: the chunked form of the recurrence (Mamba-2 paper §6, mamba_ssm's
// mamba_chunk_scan_combined) with its products on the tensor cores. Head h (group g), chunk of
// Q = 64 tokens t, s in [0, Q), cum[t] = sum_{s<=t} delta[s,h] * A[h], S0 the state at the chunk's
// start ([P, N]):
//   y[t,p]  = sum_n C[t,n] exp(cum[t]) S0[p,n]                              (inter-chunk)
//           + sum_{s<=t} (sum_n C[t,n] B[s,n]) exp(cum[t] - cum[s]) delta[s] x[s,p]   (intra)
//           + D[h] x[t,p]
//   S1[p,n] = exp(cum[Q-1]) S0[p,n] + sum_s exp(cum[Q-1] - cum[s]) delta[s] x[s,p] B[s,n]
// which is the recurrence of backend.h unrolled over the chunk (every exponent <= 0: no overflow).
// The four products (C B^T [Q,Q], M X [Q,P], C S0^T [Q,P], Xw^T B [P,N]) are TF32 WMMA 16x16x8
// with fp32 accumulators; the state stays fp32 in shared memory across chunks. `exact` splits each
// operand into a TF32 high part and a TF32 remainder and sums three products (the 3xTF32 trick:
// ~fp32 accuracy, which the 1e-4 golden cases need); otherwise one product (~1e-3 relative).
//
// A block owns (head h, 32 rows of head_dim) and walks its segment of T chunk by chunk. For enough
// blocks T is cut into segments, as in the Mamba-1 chunked scan: pass 1 runs every segment but
// the last from a zero state (only the state update: a quarter of the products) and writes its
// end state and sum of delta * A; pass 2 chains the segments' start states (sequential over
// segments, parallel over H * P * N); pass 3 runs every segment from its start state, writing y.
#include <mma.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/scan_chunked.h"

namespace statescope::kernels::cuda {

namespace {

namespace wmma = nvcuda::wmma;

constexpr int kQ = 64;         // chunk length (tokens)
constexpr int kPt = 32;        // head_dim rows per block
constexpr int kThreads = 256;  // 8 warps
constexpr int kPad = 4;  // floats of row padding: 16-byte WMMA strides, rows off the same bank

int padded_n(std::int64_t N) {
    return static_cast<int>((N + 15) / 16 * 16);
}
// Shared memory (floats): C, B [Q, Np+pad]; X [Q, Pt+pad]; M [Q, Q+pad] (also Y [Q, Pt+pad]);
// S [Pt, Np+pad]; cum, delta [Q]. Every array starts on a 32-byte boundary (WMMA pointers need it).
std::size_t smem_bytes(int Np) {
    const std::size_t ldn = Np + kPad;
    return (2 * kQ * ldn + kQ * (kPt + kPad) + kQ * (kQ + kPad) + kPt * ldn + 2 * kQ) *
           sizeof(float);
}

// 16 bytes global -> shared without a register round trip (sm_80+); src_bytes = 0 writes zeros.
// All of a chunk's copies are in flight at once: the first version's element loads (one warp-wide
// load, then a shared store, 64 times over per thread) waited on L2 about 16 times per chunk, and
// the kernel ran at a third of its instruction-issue estimate on the H200.
__device__ __forceinline__ void cp_async16(float* smem_dst, const float* src, int src_bytes) {
    const unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(smem_dst));
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src),
                 "r"(src_bytes));
}

// TF32 WMMA exists from sm_80 on; an older device pass compiles the kernel to a trap.
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
using FragA = wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major>;
using FragAc = wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::col_major>;
using FragB = wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::row_major>;
using FragBc = wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::col_major>;
using Acc = wmma::fragment<wmma::accumulator, 16, 16, 8, float>;

// acc += a * b from fp32 tiles in shared memory, one TF32 product or three (hi*hi + hi*lo + lo*hi).
template <bool kExact, class FA, class FB>
__device__ __forceinline__ void mma_tf32(Acc& acc, const float* a, int lda, const float* b,
                                         int ldb) {
    FA ah;
    FB bh;
    wmma::load_matrix_sync(ah, a, lda);
    wmma::load_matrix_sync(bh, b, ldb);
    if constexpr (kExact) {
        FA al;
        FB bl;
#pragma unroll
        for (int e = 0; e < ah.num_elements; ++e) {
            const float v = ah.x[e], hi = wmma::__float_to_tf32(v);
            ah.x[e] = hi;
            al.x[e] = wmma::__float_to_tf32(v - hi);
        }
#pragma unroll
        for (int e = 0; e < bh.num_elements; ++e) {
            const float v = bh.x[e], hi = wmma::__float_to_tf32(v);
            bh.x[e] = hi;
            bl.x[e] = wmma::__float_to_tf32(v - hi);
        }
        wmma::mma_sync(acc, al, bh, acc);
        wmma::mma_sync(acc, ah, bl, acc);
    } else {
#pragma unroll
        for (int e = 0; e < ah.num_elements; ++e) ah.x[e] = wmma::__float_to_tf32(ah.x[e]);
#pragma unroll
        for (int e = 0; e < bh.num_elements; ++e) bh.x[e] = wmma::__float_to_tf32(bh.x[e]);
    }
    wmma::mma_sync(acc, ah, bh, acc);
}
#endif

// kOut = false (pass 1): segment blockIdx.z from a zero state; writes its end state to
// slots[z + 1] and its sum of delta * A to dA_sum[z, h]. kOut = true (pass 3): segment z from
// start + z * start_stride; writes y; the last segment writes `state`.
template <bool kOut, bool kExact>
__global__ void __launch_bounds__(kThreads)
    ssd_chunk_kernel(const float* __restrict__ x, std::int64_t x_stride,
                     const float* __restrict__ delta, const float* __restrict__ A,
                     const float* __restrict__ B, const float* __restrict__ C,
                     std::int64_t bc_stride, const float* __restrict__ D, std::int64_t T,
                     std::int64_t H, std::int64_t P, std::int64_t G, int N, int Np,
                     std::int64_t seg_len, bool vec, const float* start, std::int64_t start_stride,
                     float* slots, float* __restrict__ dA_sum, float* state,
                     float* __restrict__ y) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
    extern __shared__ __align__(128) float smem[];
    const int ldn = Np + kPad, ldq = kQ + kPad, ldp = kPt + kPad;
    float* Cs = smem;
    float* Bs = Cs + kQ * ldn;
    float* Xs = Bs + kQ * ldn;
    float* Ms = Xs + kQ * ldp;
    float* Ss = Ms + kQ * ldq;
    float* cum = Ss + kPt * ldn;
    float* dts = cum + kQ;
    const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
    const std::int64_t p0 = std::int64_t(blockIdx.x) * kPt, h = blockIdx.y, seg = blockIdx.z;
    const std::int64_t g = h / (H / G);
    const float Ah = A[h];
    const float Dh = kOut ? D[h] : 0.0f;
    const float* Bg = B + g * N;
    const float* Cg = C + g * N;
    const std::int64_t ts0 = seg * seg_len, ts1 = std::min(T, ts0 + seg_len);

    for (int k = tid; k < kPt * Np; k += kThreads) {
        const int p = k / Np, n = k % Np;
        float v = 0.0f;
        if (kOut && p0 + p < P && n < N) v = start[seg * start_stride + (h * P + p0 + p) * N + n];
        Ss[p * ldn + n] = v;
    }
    float seg_dA = 0.0f;
    for (std::int64_t t0 = ts0; t0 < ts1; t0 += kQ) {
        const int L = static_cast<int>(std::min<std::int64_t>(kQ, ts1 - t0));
        __syncthreads();  // the previous chunk's readers are done (and S is loaded)
        if (vec) {  // 16-byte rows: N, P, the strides and the pointers are multiples of 4 floats
            const int n4 = Np / 4;
            for (int k = tid; k < kQ * n4; k += kThreads) {
                const int t = k / n4, n = (k % n4) * 4;
                const bool in = t < L && n < N;
                const std::int64_t off = in ? (t0 + t) * bc_stride + n : 0;
                cp_async16(Bs + t * ldn + n, Bg + off, in ? 16 : 0);
                if constexpr (kOut) cp_async16(Cs + t * ldn + n, Cg + off, in ? 16 : 0);
            }
            for (int k = tid; k < kQ * (kPt / 4); k += kThreads) {
                const int t = k / (kPt / 4), p = (k % (kPt / 4)) * 4;
                const bool in = t < L && p0 + p < P;
                cp_async16(Xs + t * ldp + p, in ? x + (t0 + t) * x_stride + h * P + p0 + p : x,
                           in ? 16 : 0);
            }
            asm volatile("cp.async.commit_group;\n" ::);
        } else {
            for (int k = tid; k < kQ * Np; k += kThreads) {
                const int t = k / Np, n = k % Np;
                const bool in = t < L && n < N;
                Bs[t * ldn + n] = in ? Bg[(t0 + t) * bc_stride + n] : 0.0f;
                if constexpr (kOut) Cs[t * ldn + n] = in ? Cg[(t0 + t) * bc_stride + n] : 0.0f;
            }
            for (int k = tid; k < kQ * kPt; k += kThreads) {
                const int t = k / kPt, p = k % kPt;
                const bool in = t < L && p0 + p < P;
                Xs[t * ldp + p] = in ? x[(t0 + t) * x_stride + h * P + p0 + p] : 0.0f;
            }
        }
        if (warp == 0) {  // delta, and the inclusive prefix sum of delta * A, two tokens a lane
            const float d0 = lane < L ? delta[(t0 + lane) * H + h] : 0.0f;
            const float d1 = lane + 32 < L ? delta[(t0 + lane + 32) * H + h] : 0.0f;
            float a0 = d0 * Ah, a1 = d1 * Ah;
#pragma unroll
            for (int off = 1; off < 32; off *= 2) {
                const float u0 = __shfl_up_sync(0xffffffffu, a0, off);
                const float u1 = __shfl_up_sync(0xffffffffu, a1, off);
                if (lane >= off) a0 += u0, a1 += u1;
            }
            a1 += __shfl_sync(0xffffffffu, a0, 31);
            cum[lane] = a0;
            cum[lane + 32] = a1;
            dts[lane] = d0;
            dts[lane + 32] = d1;
        }
        if (vec) asm volatile("cp.async.wait_group 0;\n" ::);
        __syncthreads();
        const float cumL = cum[kQ - 1];  // padding tokens add 0: cum[Q-1] = cum[L-1]

        if constexpr (kOut) {
            // G = C B^T on the 10 tiles on or below the diagonal, into M.
            for (int tile = warp; tile < 10; tile += kThreads / 32) {
                int ti = 0, si = tile;
                while (si > ti) si -= ++ti;
                Acc acc;
                wmma::fill_fragment(acc, 0.0f);
                for (int k0 = 0; k0 < Np; k0 += 8)
                    mma_tf32<kExact, FragA, FragBc>(acc, Cs + ti * 16 * ldn + k0, ldn,
                                                    Bs + si * 16 * ldn + k0, ldn);
                wmma::store_matrix_sync(Ms + ti * 16 * ldq + si * 16, acc, ldq,
                                        wmma::mem_row_major);
            }
            __syncthreads();
            // M = G * exp(cum[t] - cum[s]) on s <= t, 0 above; C rows *= exp(cum[t]).
            for (int k = tid; k < kQ * kQ; k += kThreads) {
                const int t = k / kQ, s = k % kQ;
                Ms[t * ldq + s] = s <= t ? Ms[t * ldq + s] * __expf(cum[t] - cum[s]) : 0.0f;
            }
            for (int k = tid; k < kQ * Np; k += kThreads) {
                const int t = k / Np, n = k % Np;
                Cs[t * ldn + n] *= __expf(cum[t]);
            }
            for (int k = tid; k < kQ * kPt; k += kThreads)
                Xs[(k / kPt) * ldp + k % kPt] *= dts[k / kPt];
            __syncthreads();
            // Y tile (ti, pi) of [Q, Pt]: M X over s <= the tile's last row, + C S0^T.
            const int ti = warp / 2, pi = warp % 2;
            Acc acc;
            wmma::fill_fragment(acc, 0.0f);
            for (int k0 = 0; k0 < (ti + 1) * 16; k0 += 8)
                mma_tf32<kExact, FragA, FragB>(acc, Ms + ti * 16 * ldq + k0, ldq,
                                               Xs + k0 * ldp + pi * 16, ldp);
            for (int k0 = 0; k0 < Np; k0 += 8)
                mma_tf32<kExact, FragA, FragBc>(acc, Cs + ti * 16 * ldn + k0, ldn,
                                                Ss + pi * 16 * ldn + k0, ldn);
            __syncthreads();  // M, X and S0 are read: Y goes where M was
            wmma::store_matrix_sync(Ms + ti * 16 * ldp + pi * 16, acc, ldp, wmma::mem_row_major);
        }
        // X rows *= exp(cum[Q-1] - cum[s]) (and delta[s] here when no output pass applied it);
        // S *= exp(cum[Q-1]).
        for (int k = tid; k < kQ * kPt; k += kThreads) {
            const int s = k / kPt, p = k % kPt;
            Xs[s * ldp + p] *= kOut ? __expf(cumL - cum[s]) : dts[s] * __expf(cumL - cum[s]);
        }
        const float eL = __expf(cumL);
        for (int k = tid; k < kPt * Np; k += kThreads) Ss[(k / Np) * ldn + k % Np] *= eL;
        __syncthreads();
        if constexpr (kOut) {
            for (int k = tid; k < L * kPt; k += kThreads) {
                const int t = k / kPt, p = k % kPt;
                if (p0 + p >= P) continue;
                const std::int64_t col = h * P + p0 + p;
                y[(t0 + t) * H * P + col] = Ms[t * ldp + p] + Dh * x[(t0 + t) * x_stride + col];
            }
        }
        // S += Xw^T B: tiles (pi, ni) of [Pt, Np], accumulated in place.
        for (int tile = warp; tile < 2 * (Np / 16); tile += kThreads / 32) {
            const int pi = tile % 2, ni = tile / 2;
            float* s_tile = Ss + pi * 16 * ldn + ni * 16;
            Acc acc;
            wmma::load_matrix_sync(acc, s_tile, ldn, wmma::mem_row_major);
            for (int k0 = 0; k0 < kQ; k0 += 8)
                mma_tf32<kExact, FragAc, FragB>(acc, Xs + k0 * ldp + pi * 16, ldp,
                                                Bs + k0 * ldn + ni * 16, ldn);
            wmma::store_matrix_sync(s_tile, acc, ldn, wmma::mem_row_major);
        }
        seg_dA += cumL;
    }
    __syncthreads();
    float* dest = nullptr;
    if constexpr (!kOut) {
        dest = slots + (seg + 1) * H * P * N;
        if (blockIdx.x == 0 && tid == 0) dA_sum[seg * H + h] = seg_dA;
    } else {
        if (seg == gridDim.z - 1) dest = state;
    }
    if (dest != nullptr) {
        for (int k = tid; k < kPt * Np; k += kThreads) {
            const int p = k / Np, n = k % Np;
            if (p0 + p < P && n < N) dest[(h * P + p0 + p) * N + n] = Ss[p * ldn + n];
        }
    }
#else
    __trap();  // the host sends pre-sm_80 devices to the sequential kernel
#endif
}

// Pass 2, per (h, p, n) = j: slots[0] = state; slots[s] = exp(dA_sum[s-1, h]) * slots[s-1] +
// (segment s-1's end from zero, in slots[s] from pass 1).
__global__ void ssd_combine_kernel(const float* __restrict__ dA_sum,
                                   const float* __restrict__ state, std::int64_t H, std::int64_t PN,
                                   std::int64_t segs, float* __restrict__ slots) {
    const std::int64_t j = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x;
    const std::int64_t HPN = H * PN;
    if (j >= HPN) return;
    const std::int64_t h = j / PN;
    float S = state[j];
    slots[j] = S;
    for (std::int64_t s = 1; s < segs; ++s) {
        S = __expf(dA_sum[(s - 1) * H + h]) * S + slots[s * HPN + j];
        slots[s * HPN + j] = S;
    }
}

struct Plan {
    std::int64_t seg_len, segs;
};
Plan plan(std::int64_t T, std::int64_t H, std::int64_t P) {
    const int sms = sm_count();
    const std::int64_t chunks = (T + kQ - 1) / kQ;
    const std::int64_t blocks = H * ((P + kPt - 1) / kPt);
    // About 4 blocks per SM (2 resident with N = 128, 111 KB each): enough to fill the tail wave.
    const std::int64_t want = std::clamp<std::int64_t>((4 * sms + blocks - 1) / blocks, 1, chunks);
    const std::int64_t per_seg = (chunks + want - 1) / want;
    return {per_seg * kQ, (chunks + per_seg - 1) / per_seg};
}

template <bool kOut, bool kExact>
void set_smem(std::size_t bytes) {
    static std::size_t set = 0;
    if (bytes <= set) return;
    check(cudaFuncSetAttribute(ssd_chunk_kernel<kOut, kExact>,
                               cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes)),
          "cudaFuncSetAttribute (ssd_chunk_kernel)");
    set = bytes;
}

template <bool kExact>
void launch(const float* x, std::int64_t x_stride, const float* delta, const float* A,
            const float* B, const float* C, std::int64_t bc_stride, const float* D, std::int64_t T,
            std::int64_t H, std::int64_t P, std::int64_t G, std::int64_t N, float* state, float* y,
            float* scratch, cudaStream_t stream) {
    const Plan p = plan(T, H, P);
    const int Np = padded_n(N), n = static_cast<int>(N);
    const std::size_t smem = smem_bytes(Np);
    const unsigned gx = blocks_for(P, kPt), gy = static_cast<unsigned>(H);
    const auto a16 = [](const float* q) { return reinterpret_cast<std::uintptr_t>(q) % 16 == 0; };
    const bool vec = N % 4 == 0 && P % 4 == 0 && bc_stride % 4 == 0 && x_stride % 4 == 0 &&
                     a16(x) && a16(B) && a16(C);
    set_smem<true, kExact>(smem);
    if (p.segs == 1) {
        ssd_chunk_kernel<true, kExact><<<dim3(gx, gy, 1), kThreads, smem, stream>>>(
            x, x_stride, delta, A, B, C, bc_stride, D, T, H, P, G, n, Np, p.seg_len, vec, state, 0,
            nullptr, nullptr, state, y);
        check_launch("ssd_scan_chunked");
        return;
    }
    set_smem<false, kExact>(smem);
    float* slots = scratch;                        // [segs, H, P, N]
    float* dA_sum = scratch + p.segs * H * P * N;  // [segs, H]
    ssd_chunk_kernel<false, kExact><<<dim3(gx, gy, unsigned(p.segs - 1)), kThreads, smem, stream>>>(
        x, x_stride, delta, A, B, C, bc_stride, D, T, H, P, G, n, Np, p.seg_len, vec, nullptr, 0,
        slots, dA_sum, nullptr, nullptr);
    check_launch("ssd_scan_chunked (segment states)");
    ssd_combine_kernel<<<blocks_for(H * P * N, 256), 256, 0, stream>>>(dA_sum, state, H, P * N,
                                                                       p.segs, slots);
    check_launch("ssd_scan_chunked (combine)");
    ssd_chunk_kernel<true, kExact><<<dim3(gx, gy, unsigned(p.segs)), kThreads, smem, stream>>>(
        x, x_stride, delta, A, B, C, bc_stride, D, T, H, P, G, n, Np, p.seg_len, vec, slots,
        H * P * N, nullptr, nullptr, state, y);
    check_launch("ssd_scan_chunked (output)");
}

}  // namespace

std::size_t ssd_scan_chunked_scratch_bytes(std::int64_t T, std::int64_t H, std::int64_t P,
                                           std::int64_t N) {
    const Plan p = plan(T, H, P);
    if (p.segs <= 1) return 0;
    return std::size_t(p.segs * H * P * N + p.segs * H) * sizeof(float);
}

void ssd_scan_chunked(const float* x, std::int64_t x_stride, const float* delta, const float* A,
                      const float* B, const float* C, std::int64_t bc_stride, const float* D,
                      std::int64_t T, std::int64_t H, std::int64_t P, std::int64_t G,
                      std::int64_t N, bool exact, float* state, float* y, float* scratch,
                      cudaStream_t stream) {
    if (N > kSsdChunkedMaxN)
        throw std::runtime_error("CUDA chunked SSD: d_state " + std::to_string(N) + " is above " +
                                 std::to_string(kSsdChunkedMaxN));
    if (exact)
        launch<true>(x, x_stride, delta, A, B, C, bc_stride, D, T, H, P, G, N, state, y, scratch,
                     stream);
    else
        launch<false>(x, x_stride, delta, A, B, C, bc_stride, D, T, H, P, G, N, state, y, scratch,
                      stream);
}

}  // namespace statescope::kernels::cuda
