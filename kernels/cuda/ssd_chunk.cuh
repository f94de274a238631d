// The pieces the passes of the chunked SSD share (ssd_chunked.cu states the math and the order of
// the passes): the chunk and tile sizes, one round's buffers, 16-byte tile loads into shared
// memory, the per-chunk prefix sum of delta * A, and the TF32 / 3xTF32 mma.sync product.
#pragma once

#include <cstdint>

#include "kernels/cuda/common.cuh"

namespace statescope::kernels::cuda::ssd {

constexpr int kQ = 64;         // chunk length (tokens)
constexpr int kPt = 64;        // head_dim rows per block of the state and output passes
constexpr int kThreads = 256;  // 8 warps
constexpr int kPad = 4;  // floats of row padding: 16-byte rows for cp.async, rows off the same
                         // bank (the mma.sync loads' strides: ssd_chunk.cuh below)

__host__ __device__ inline int pad16(std::int64_t v) {
    return static_cast<int>((v + 15) / 16 * 16);
}

// One round: up to a fixed number of chunks of kQ tokens, the pointers already at the round's first
// token. N and P are padded to Np, Pp (multiples of 16) in the scratch arrays, whose pads hold 0.
struct Round {
    const float* x;  // [T, x_stride], head h at columns h * P
    std::int64_t x_stride;
    const float* delta;  // [T, H]
    const float* A;      // [H]
    const float* B;      // [T, bc_stride], group g at columns g * N
    const float* C;      // [T, bc_stride]
    std::int64_t bc_stride;
    const float* D;  // [H]
    std::int64_t T;  // tokens of this round
    std::int64_t H, P, G;
    int N, Np, Pp;
    bool vec;       // x, B, C rows may be read 16 bytes at a time (see ssd_chunked.cu)
    float* cb;      // [chunks, G, kQ, kQ]  C B^T of each chunk, 0 above the diagonal tiles
    float* states;  // [chunks, H, Pp, Np]  chunk-local end states, then chunk start states
    float* dA_end;  // [chunks, H]          cum[kQ - 1] of each chunk
    float* state;   // [H, P, N]            in: the state before the round; out: after it
    float* y;       // [T, H * P]
};

// Dynamic shared memory of each pass's block at padded d_state Np (the launchers ask for these; the
// host checks them against the device's per-block limit before choosing the chunked path).
std::size_t chunk_cb_smem_bytes(int Np);
std::size_t chunk_state_smem_bytes(int Np);
std::size_t state_chain_smem_bytes();
std::size_t chunk_scan_smem_bytes(int Np);

void launch_chunk_cb(const Round& r, bool exact, cudaStream_t stream);
void launch_chunk_state(const Round& r, bool exact, cudaStream_t stream);
void launch_state_passing(const Round& r, cudaStream_t stream);
void launch_state_chain(const Round& r, bool exact, cudaStream_t stream);
void launch_chunk_scan(const Round& r, bool exact, cudaStream_t stream);

__host__ __device__ inline std::int64_t chunks_of(std::int64_t T) {
    return (T + kQ - 1) / kQ;
}

// Raises a kernel's dynamic shared-memory limit above the 48 KB default once per size.
template <class Kernel>
void allow_smem(Kernel kernel, std::size_t bytes, std::size_t& done, const char* what) {
    if (bytes <= done) return;
    check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes)),
          what);
    done = bytes;
}

// 16 bytes global -> shared without a register round trip (sm_80+); src_bytes = 0 writes zeros.
__device__ __forceinline__ void cp_async16(float* smem_dst, const float* src, int src_bytes) {
    const unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(smem_dst));
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src),
                 "r"(src_bytes));
}
__device__ __forceinline__ void cp_async_commit() {
    asm volatile("cp.async.commit_group;\n" ::);
}
// Waits for all but the newest kPending committed groups of this thread.
template <int kPending>
__device__ __forceinline__ void cp_async_wait() {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending) : "memory");
}
__device__ __forceinline__ void cp_async_commit_wait() {
    asm volatile("cp.async.commit_group;\n" ::);
    asm volatile("cp.async.wait_group 0;\n" ::: "memory");
}

// dst[i, j] = src[i * ld_src + j] for i < valid_rows, j < valid_cols; 0 elsewhere in the
// [rows, width] tile (width a multiple of 4). vec: 16-byte cp.async copies (src, ld_src and
// valid_cols multiples of 4 floats; the caller waits for them); else element loads. `safe` is any
// readable address, passed for the zero-filled copies. Rows go to warps, columns to lanes: no
// division by the runtime width (an integer division is ~20 instructions, and these loops run
// 8-32 times a thread). nthreads is a multiple of 32.
__device__ __forceinline__ void load_tile(float* dst, int ld_dst, const float* src,
                                          std::int64_t ld_src, int rows, int width, int valid_rows,
                                          int valid_cols, bool vec, const float* safe, int tid,
                                          int nthreads) {
    const int warp = tid / 32, lane = tid % 32, warps = nthreads / 32;
    if (vec) {
        for (int i = warp; i < rows; i += warps) {
            const float* row = src + i * ld_src;
            for (int j = lane * 4; j < width; j += 128) {
                const bool in = i < valid_rows && j < valid_cols;
                cp_async16(dst + i * ld_dst + j, in ? row + j : safe, in ? 16 : 0);
            }
        }
    } else {
        for (int i = warp; i < rows; i += warps) {
            const float* row = src + i * ld_src;
            for (int j = lane; j < width; j += 32)
                dst[i * ld_dst + j] = i < valid_rows && j < valid_cols ? row[j] : 0.0f;
        }
    }
}

// One warp, for the chunk's tokens t < L (two a lane; padding tokens have delta 0):
//   cum[t]  = sum_{s<=t} delta[s, h] * A[h]        (so cum[kQ - 1] = cum[L - 1])
//   dts[t]  = delta[t, h]
//   ecum[t] = exp(cum[t])
//   wts[t]  = delta[t, h] exp(cum[kQ - 1] - cum[t])
// each output but cum optional (null). Every exponent is <= 0 (A < 0, delta >= 0).
// chunk_delta loads a lane's two deltas, chunk_cumsum_of computes the rest from them (a kernel
// may issue the loads early and use them later); chunk_cumsum does both.
__device__ __forceinline__ void chunk_delta(const float* delta, std::int64_t H, std::int64_t h,
                                            int L, int lane, float& d0, float& d1) {
    d0 = lane < L ? delta[std::int64_t(lane) * H + h] : 0.0f;
    d1 = lane + 32 < L ? delta[std::int64_t(lane + 32) * H + h] : 0.0f;
}
__device__ __forceinline__ void chunk_cumsum_of(float d0, float d1, float Ah, int lane, float* cum,
                                                float* dts, float* ecum, float* wts) {
    float a0 = d0 * Ah, a1 = d1 * Ah;
#pragma unroll
    for (int off = 1; off < 32; off *= 2) {
        const float u0 = __shfl_up_sync(0xffffffffu, a0, off);
        const float u1 = __shfl_up_sync(0xffffffffu, a1, off);
        if (lane >= off) a0 += u0, a1 += u1;
    }
    a1 += __shfl_sync(0xffffffffu, a0, 31);
    const float last = __shfl_sync(0xffffffffu, a1, 31);
    cum[lane] = a0;
    cum[lane + 32] = a1;
    if (dts != nullptr) dts[lane] = d0, dts[lane + 32] = d1;
    if (ecum != nullptr) ecum[lane] = __expf(a0), ecum[lane + 32] = __expf(a1);
    if (wts != nullptr) wts[lane] = d0 * __expf(last - a0), wts[lane + 32] = d1 * __expf(last - a1);
}
__device__ __forceinline__ void chunk_cumsum(const float* delta, std::int64_t H, std::int64_t h,
                                             int L, float Ah, int lane, float* cum, float* dts,
                                             float* ecum, float* wts) {
    float d0, d1;
    chunk_delta(delta, H, h, L, lane, d0, d1);
    chunk_cumsum_of(d0, d1, Ah, lane, cum, dts, ecum, wts);
}

// TF32 tensor-core products exist from sm_80 on; an older device pass compiles the kernels to a
// trap.
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
__device__ __forceinline__ unsigned tf32_bits(float v) {
    unsigned r;
    asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(r) : "f"(v));
    return r;
}
__device__ __forceinline__ float to_tf32(float v) {
    return __uint_as_float(tf32_bits(v));
}

// Operands are converted once, when staged in shared memory (stage_tile), not on every fragment
// load: several warps load each operand fragment, and the conversions were most of the issued
// instructions of the product loops (WMMA fragments converted on every load).
//
// Row i of the [rows, width] tile at dst (16-byte aligned rows, width a multiple of 4) times
// scale[i] (none when null), then as the products read it: without kExact rounded to TF32 here,
// so that fragments need no conversion; with kExact left fp32 (split() splits it on the fragment
// load).
template <bool kExact>
__device__ __forceinline__ void stage_tile(float* dst, int ld, int rows, int width,
                                           const float* scale, int tid, int nthreads) {
    if (kExact && scale == nullptr) return;
    const int warp = tid / 32, lane = tid % 32, warps = nthreads / 32;
    for (int i = warp; i < rows; i += warps) {
        const float f = scale != nullptr ? scale[i] : 1.0f;
        for (int j = lane * 4; j < width; j += 128) {
            float4 v = *reinterpret_cast<float4*>(dst + i * ld + j);
            v.x *= f, v.y *= f, v.z *= f, v.w *= f;
            if constexpr (!kExact)
                v.x = to_tf32(v.x), v.y = to_tf32(v.y), v.z = to_tf32(v.z), v.w = to_tf32(v.w);
            *reinterpret_cast<float4*>(dst + i * ld + j) = v;
        }
    }
}

// mma.sync m16n8k8 TF32 on fragments loaded from shared memory by hand, in the layouts the PTX
// ISA fixes (g = lane / 4, q = lane % 4):
//   A [16 x 8]: a0 (g, q), a1 (g + 8, q), a2 (g, q + 4), a3 (g + 8, q + 4)
//   B [8 x 8]:  b0 (k = q, n = g), b1 (k = q + 4, n = g)
//   C [16 x 8]: c0 (g, 2q), c1 (g, 2q + 1), c2 (g + 8, 2q), c3 (g + 8, 2q + 1)
// (WMMA leaves the accumulator layout unspecified; a known one lets a kernel scale accumulator
// rows and store them straight from registers.) Bank conflicts: a row-major A or an n-major B
// (lane address g * ld + q) is conflict-free for ld = 4 mod 8; a k-major B or a column-major A
// (q * ld + g) for ld = 8 mod 32.
struct MmaA {
    unsigned hi[4], lo[4];  // lo: the 3xTF32 remainders, unused (and dropped) without kExact
};
struct MmaB {
    unsigned hi[2], lo[2];
};

// The operand as the products take it. Without kExact the values were rounded to TF32 when
// staged: the bits as they are. With kExact the 3xTF32 split: hi = tf32(v), lo = v - hi (exact
// in fp32), and hi*hi + hi*lo + lo*hi is fp32 accurate to ~2^-22, the lo*lo term dropped
// (|lo| <= 2^-11 |v|). lo is passed as it is: the tensor cores read the upper 19 bits of a .tf32
// operand (the lower 13 truncated), which errs by < 2^-10 |lo| <= 2^-21 |v|, the dropped term's
// order (~1e-6 relative a product in all; the fp32 golden cases need 1e-4), and saves the second
// conversion an element. Exact mode keeps one fp32 copy in shared memory and splits on the load:
// hi and lo arrays would double the output pass's 104 KB (one block an SM instead of two).
template <bool kExact>
__device__ __forceinline__ void split(float v, unsigned& hi, unsigned& lo) {
    if constexpr (kExact) {
        hi = tf32_bits(v);
        lo = __float_as_uint(v - __uint_as_float(hi));
    } else {
        hi = __float_as_uint(v);
    }
}
// A at p[m * ld + k] (row-major) or p[k * ld + m] (column-major); B at p[k * ld + n] (k-major)
// or p[n * ld + k] (n-major); p at the tile's (0, 0).
template <bool kExact>
__device__ __forceinline__ void load_a_row(MmaA& f, const float* p, int ld, int g, int q) {
    split<kExact>(p[g * ld + q], f.hi[0], f.lo[0]);
    split<kExact>(p[(g + 8) * ld + q], f.hi[1], f.lo[1]);
    split<kExact>(p[g * ld + q + 4], f.hi[2], f.lo[2]);
    split<kExact>(p[(g + 8) * ld + q + 4], f.hi[3], f.lo[3]);
}
template <bool kExact>
__device__ __forceinline__ void load_a_col(MmaA& f, const float* p, int ld, int g, int q) {
    split<kExact>(p[q * ld + g], f.hi[0], f.lo[0]);
    split<kExact>(p[q * ld + g + 8], f.hi[1], f.lo[1]);
    split<kExact>(p[(q + 4) * ld + g], f.hi[2], f.lo[2]);
    split<kExact>(p[(q + 4) * ld + g + 8], f.hi[3], f.lo[3]);
}
template <bool kExact>
__device__ __forceinline__ void load_b_k(MmaB& f, const float* p, int ld, int g, int q) {
    split<kExact>(p[q * ld + g], f.hi[0], f.lo[0]);
    split<kExact>(p[(q + 4) * ld + g], f.hi[1], f.lo[1]);
}
template <bool kExact>
__device__ __forceinline__ void load_b_n(MmaB& f, const float* p, int ld, int g, int q) {
    split<kExact>(p[g * ld + q], f.hi[0], f.lo[0]);
    split<kExact>(p[g * ld + q + 4], f.hi[1], f.lo[1]);
}

__device__ __forceinline__ void mma1688(float (&d)[4], const unsigned (&a)[4],
                                        const unsigned (&b)[2]) {
    asm("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
        "{%8, %9}, {%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
// d += a b: one product, or with kExact the three of 3xTF32, the small ones first.
template <bool kExact>
__device__ __forceinline__ void mma(float (&d)[4], const MmaA& a, const MmaB& b) {
    if constexpr (kExact) {
        mma1688(d, a.lo, b.hi);
        mma1688(d, a.hi, b.lo);
    }
    mma1688(d, a.hi, b.hi);
}
// d[j] += a b[j] for j < J, the 3xTF32 terms in sweeps over j: J independent accumulators between
// two dependent products of one accumulator, instead of 3 dependent products back to back.
template <bool kExact, int J>
__device__ __forceinline__ void mma_row(float (&d)[J][4], const MmaA& a, const MmaB (&b)[J]) {
    if constexpr (kExact) {
#pragma unroll
        for (int j = 0; j < J; ++j) mma1688(d[j], a.lo, b[j].hi);
#pragma unroll
        for (int j = 0; j < J; ++j) mma1688(d[j], a.hi, b[j].lo);
    }
#pragma unroll
    for (int j = 0; j < J; ++j) mma1688(d[j], a.hi, b[j].hi);
}
// d0 += a[0] b and d1 += a[1] b, the 3xTF32 terms in sweeps as mma_row's.
template <bool kExact>
__device__ __forceinline__ void mma_col2(float (&d0)[4], float (&d1)[4], const MmaA (&a)[2],
                                         const MmaB& b) {
    if constexpr (kExact) {
        mma1688(d0, a[0].lo, b.hi);
        mma1688(d1, a[1].lo, b.hi);
        mma1688(d0, a[0].hi, b.lo);
        mma1688(d1, a[1].hi, b.lo);
    }
    mma1688(d0, a[0].hi, b.hi);
    mma1688(d1, a[1].hi, b.hi);
}
#endif

}  // namespace statescope::kernels::cuda::ssd
