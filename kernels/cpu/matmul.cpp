// y = x W^T + bias. Two kernels, chosen by the number of tokens T:
// - the streaming kernel (T below kBlasMinT): 4 rows x 4 tokens of dot products per step, the
//   weight read straight from its checkpoint dtype (BF16 widened by a shift, F16 by vcvtph2ps) in
//   L2-sized row tiles that every group of 4 tokens reuses. At T <= 4 (decode) it is a GEMV that
//   reads each weight byte once: memory-bound.
// - OpenBLAS sgemm (large T, compute-bound): F32 weights directly, BF16/F16 widened a tile at a
//   time into a per-thread fp32 buffer.
// Both split the output rows between the OpenMP threads (OpenBLAS is held to one thread).
#include <cblas.h>

#include <algorithm>
#include <vector>

#include "kernels/cpu/ops.h"
#include "kernels/cpu/simd.h"
#include "kernels/cpu/threading.h"

namespace statescope::kernels::cpu {

namespace {

// Tokens from which sgemm beats the streaming kernel. Measured single-threaded on the 2-core Xeon
// (OpenBLAS 0.3.21 SkylakeX kernels), 3072x768, 768x1536, 4096x2048: F32 own/OpenBLAS GFLOP/s
// 29-56/17-29 at T = 8, 40-67/29-51 at 16, 42-53/40-65 at 32, 45-52/57-81 at 64, 48-58/95-98 at
// 128; BF16 (OpenBLAS on widened tiles) 62-84/51-69 at 64, 78-85/80-81 at 128, 83/91 at 256.
// The streaming kernel's weight traffic from L2 (one 64-byte F32 line per 4 FMAs) caps it near
// half of peak; BF16/F16 halve that traffic, so they keep it longer.
constexpr std::int64_t kBlasMinTF32 = 32;
constexpr std::int64_t kBlasMinTHalf = 128;
constexpr int kTokens = 4;  // tokens per streaming step: 4 x 4 accumulators = 16 of 32 registers
// Rows per streaming step: 4 independent accumulators per token hide the 4-cycle FMA latency, and
// 4 weight streams are few enough for the hardware prefetcher.
constexpr int kRows = 4;
// Weight bytes per row tile of the streaming kernel (reused by each group of 4 tokens). On a
// 2-core slice of a Sapphire-Rapids-class Xeon, 512 KB beat 128/256 KB by 10-30% at T = 8-512;
// on the (shared, noisy) build machine the three were within noise. Fits its 1.25 MB L2.
constexpr std::int64_t kTileBytes = 512 << 10;
// Software prefetch distance along each weight row in the streaming kernel. The hardware
// prefetcher alone kept BF16 decode GEMVs at 15-23 GB/s (4 interleaved streams advancing only 32 B
// per step); 50280x768 on 2 cores of a Sapphire-Rapids-class host, GB/s F32/BF16 by distance:
// none 26-29/15-23, 3 KB 25/30, 4 KB 29/34-41, 6 KB 27-38/46-53, 8 KB 29-31/45, 16 KB 28-32/43-47.
constexpr int kPrefetchBytes = 6144;
// Below this many multiply-adds a call runs on one thread: an OpenMP fork/join costs ~1.2 us on two
// idle cores (measured), while 32K MACs stream 128 KB of F32 weight in ~3 us at 42 GB/s.
constexpr std::int64_t kParallelMinMacs = 1 << 15;
// Rows of a BF16/F16 weight widened to fp32 per sgemm call: 1 MB (64 rows of 4096 columns) stays
// in L2 while sgemm reuses it T >= 128 times; widening costs < 1% of the multiply.
constexpr std::int64_t kWidenTileBytes = 1 << 20;

template <DType D>
using ElemT = std::conditional_t<D == DType::F32, float, std::uint16_t>;

#if defined(STATESCOPE_CPU_AVX512)

template <DType D>
inline __m512 load16(const ElemT<D>* p) {
    if constexpr (D == DType::F32) {
        return _mm512_loadu_ps(p);
    } else {
        const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
        if constexpr (D == DType::BF16)
            return bf16x16_to_ps(h);
        else
            return _mm512_cvtph_ps(h);
    }
}

template <DType D>
inline __m512 load16(const ElemT<D>* p, __mmask16 m) {
    if constexpr (D == DType::F32) {
        return _mm512_maskz_loadu_ps(m, p);
    } else {
        const __m256i h = _mm256_maskz_loadu_epi16(m, p);
        if constexpr (D == DType::BF16)
            return bf16x16_to_ps(h);
        else
            return _mm512_cvtph_ps(h);
    }
}

// y[t, r] = x[t, :] . W[r, :] + bias[r] for rows [r0, r1) and NT tokens, kRows rows at a time:
// each 16-column step loads kRows weight vectors and NT x vectors (L1-resident) for
// kRows*NT FMAs.
template <DType D, int NT>
void gemv_rows(const float* x, std::int64_t x_stride, const ElemT<D>* w, std::int64_t cols,
               const float* bias, float* y, std::int64_t y_stride, std::int64_t r0,
               std::int64_t r1) {
    const std::int64_t full = cols / 16 * 16;
    const __mmask16 tail = tail_mask(cols - full);
    std::int64_t r = r0;
    for (; r + kRows <= r1; r += kRows) {
        __m512 acc[kRows][NT];
        for (auto& row : acc)
            for (auto& a : row) a = _mm512_setzero_ps();
        const ElemT<D>* wr = w + r * cols;
        for (std::int64_t c = 0; c < full; c += 16) {
            __m512 xv[NT];
            for (int t = 0; t < NT; ++t) xv[t] = _mm512_loadu_ps(x + t * x_stride + c);
            for (int k = 0; k < kRows; ++k) {
                _mm_prefetch(reinterpret_cast<const char*>(wr + k * cols + c) + kPrefetchBytes,
                             _MM_HINT_T0);
                const __m512 wv = load16<D>(wr + k * cols + c);
                for (int t = 0; t < NT; ++t) acc[k][t] = _mm512_fmadd_ps(wv, xv[t], acc[k][t]);
            }
        }
        if (full < cols) {
            __m512 xv[NT];
            for (int t = 0; t < NT; ++t)
                xv[t] = _mm512_maskz_loadu_ps(tail, x + t * x_stride + full);
            for (int k = 0; k < kRows; ++k) {
                const __m512 wv = load16<D>(wr + k * cols + full, tail);
                for (int t = 0; t < NT; ++t) acc[k][t] = _mm512_fmadd_ps(wv, xv[t], acc[k][t]);
            }
        }
        for (int k = 0; k < kRows; ++k) {
            const float b = bias != nullptr ? bias[r + k] : 0.0f;
            for (int t = 0; t < NT; ++t)
                y[t * y_stride + r + k] = _mm512_reduce_add_ps(acc[k][t]) + b;
        }
    }
    for (; r < r1; ++r) {
        __m512 acc[NT];
        for (auto& a : acc) a = _mm512_setzero_ps();
        const ElemT<D>* wr = w + r * cols;
        for (std::int64_t c = 0; c < cols; c += 16) {
            const __mmask16 m = c < full ? __mmask16(0xffff) : tail;
            const __m512 wv = load16<D>(wr + c, m);
            for (int t = 0; t < NT; ++t)
                acc[t] =
                    _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(m, x + t * x_stride + c), acc[t]);
        }
        const float b = bias != nullptr ? bias[r] : 0.0f;
        for (int t = 0; t < NT; ++t) y[t * y_stride + r] = _mm512_reduce_add_ps(acc[t]) + b;
    }
}

#elif defined(STATESCOPE_CPU_AVX2)

template <DType D>
inline __m256 load8(const ElemT<D>* p) {
    if constexpr (D == DType::F32) {
        return _mm256_loadu_ps(p);
    } else {
        const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        if constexpr (D == DType::BF16)
            return bf16x8_to_ps(h);
        else
            return _mm256_cvtph_ps(h);
    }
}

template <DType D>
inline float load1(const ElemT<D>* p) {
    if constexpr (D == DType::F32)
        return *p;
    else if constexpr (D == DType::BF16)
        return bf16_to_f32(*p);
    else
        return f16_to_f32(*p);
}

// As the AVX-512 version, 8 columns at a time; the last cols % 8 columns are scalar.
template <DType D, int NT>
void gemv_rows(const float* x, std::int64_t x_stride, const ElemT<D>* w, std::int64_t cols,
               const float* bias, float* y, std::int64_t y_stride, std::int64_t r0,
               std::int64_t r1) {
    const std::int64_t full = cols / 8 * 8;
    std::int64_t r = r0;
    for (; r + kRows <= r1; r += kRows) {
        __m256 acc[kRows][NT];
        for (auto& row : acc)
            for (auto& a : row) a = _mm256_setzero_ps();
        const ElemT<D>* wr = w + r * cols;
        for (std::int64_t c = 0; c < full; c += 8) {
            __m256 xv[NT];
            for (int t = 0; t < NT; ++t) xv[t] = _mm256_loadu_ps(x + t * x_stride + c);
            for (int k = 0; k < kRows; ++k) {
                _mm_prefetch(reinterpret_cast<const char*>(wr + k * cols + c) + kPrefetchBytes,
                             _MM_HINT_T0);
                const __m256 wv = load8<D>(wr + k * cols + c);
                for (int t = 0; t < NT; ++t) acc[k][t] = _mm256_fmadd_ps(wv, xv[t], acc[k][t]);
            }
        }
        for (int k = 0; k < kRows; ++k) {
            const float b = bias != nullptr ? bias[r + k] : 0.0f;
            for (int t = 0; t < NT; ++t) {
                float s = hsum_ps(acc[k][t]);
                for (std::int64_t c = full; c < cols; ++c)
                    s += load1<D>(wr + k * cols + c) * x[t * x_stride + c];
                y[t * y_stride + r + k] = s + b;
            }
        }
    }
    for (; r < r1; ++r) {
        __m256 acc[NT];
        for (auto& a : acc) a = _mm256_setzero_ps();
        const ElemT<D>* wr = w + r * cols;
        for (std::int64_t c = 0; c < full; c += 8) {
            const __m256 wv = load8<D>(wr + c);
            for (int t = 0; t < NT; ++t)
                acc[t] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x + t * x_stride + c), acc[t]);
        }
        const float b = bias != nullptr ? bias[r] : 0.0f;
        for (int t = 0; t < NT; ++t) {
            float s = hsum_ps(acc[t]);
            for (std::int64_t c = full; c < cols; ++c) s += load1<D>(wr + c) * x[t * x_stride + c];
            y[t * y_stride + r] = s + b;
        }
    }
}

#else

// Portable: widen a chunk of each row into a stack buffer, then an `omp simd` dot product (the
// pragma allows the reassociation a vectorised float sum needs without -ffast-math).
template <DType D, int NT>
void gemv_rows(const float* x, std::int64_t x_stride, const ElemT<D>* w, std::int64_t cols,
               const float* bias, float* y, std::int64_t y_stride, std::int64_t r0,
               std::int64_t r1) {
    constexpr std::int64_t kChunk = 256;
    float buf[kChunk];
    for (std::int64_t r = r0; r < r1; ++r) {
        float acc[NT] = {};
        for (std::int64_t c0 = 0; c0 < cols; c0 += kChunk) {
            const std::int64_t n = std::min(kChunk, cols - c0);
            const float* wf;
            if constexpr (D == DType::F32) {
                wf = w + r * cols + c0;
            } else {
                widen_to_f32(w + r * cols + c0, D, std::size_t(n), buf);
                wf = buf;
            }
            for (int t = 0; t < NT; ++t) {
                const float* xt = x + t * x_stride + c0;
                float s = 0.0f;
#pragma omp simd reduction(+ : s)
                for (std::int64_t c = 0; c < n; ++c) s += wf[c] * xt[c];
                acc[t] += s;
            }
        }
        const float b = bias != nullptr ? bias[r] : 0.0f;
        for (int t = 0; t < NT; ++t) y[t * y_stride + r] = acc[t] + b;
    }
}

#endif

template <DType D>
void gemv_tokens(const float* x, std::int64_t x_stride, int nt, const ElemT<D>* w,
                 std::int64_t cols, const float* bias, float* y, std::int64_t y_stride,
                 std::int64_t r0, std::int64_t r1) {
    switch (nt) {
        case 1:
            gemv_rows<D, 1>(x, x_stride, w, cols, bias, y, y_stride, r0, r1);
            break;
        case 2:
            gemv_rows<D, 2>(x, x_stride, w, cols, bias, y, y_stride, r0, r1);
            break;
        case 3:
            gemv_rows<D, 3>(x, x_stride, w, cols, bias, y, y_stride, r0, r1);
            break;
        default:
            gemv_rows<D, 4>(x, x_stride, w, cols, bias, y, y_stride, r0, r1);
            break;
    }
}

// The streaming kernel over all T tokens: each thread takes a contiguous share of the rows and
// walks it in kTileBytes tiles; every group of kTokens tokens runs over the tile while it is in L2.
template <DType D>
void stream_matmul(const float* x, std::int64_t x_stride, std::int64_t T, const Weight& W,
                   const float* bias, float* y, std::int64_t y_stride) {
    const auto* w = static_cast<const ElemT<D>*>(W.data);
    const std::int64_t cols = W.cols;
    const std::int64_t row_bytes = cols * std::int64_t(sizeof(ElemT<D>));
    const std::int64_t tile_rows =
        std::max<std::int64_t>(kRows, kTileBytes / row_bytes / kRows * kRows);
    const bool parallel = W.rows * cols * T >= kParallelMinMacs && W.rows >= 2 * kRows;
#pragma omp parallel if (parallel)
    {
        std::int64_t r0, r1;
        thread_share(W.rows, kRows, &r0, &r1);
        for (std::int64_t r = r0; r < r1; r += tile_rows) {
            const std::int64_t re = std::min(r1, r + tile_rows);
            for (std::int64_t t0 = 0; t0 < T; t0 += kTokens) {
                const int nt = int(std::min<std::int64_t>(kTokens, T - t0));
                gemv_tokens<D>(x + t0 * x_stride, x_stride, nt, w, cols, bias, y + t0 * y_stride,
                               y_stride, r, re);
            }
        }
    }
}

// y[:, r0:r1) = x W[r0:r1)^T (+ bias) with a single-threaded sgemm on fp32 rows `wf` ([r1-r0,
// cols]).
void sgemm_rows(const float* x, std::int64_t x_stride, std::int64_t T, const float* wf,
                std::int64_t cols, const float* bias, float* y, std::int64_t y_stride,
                std::int64_t r0, std::int64_t r1) {
    float beta = 0.0f;
    if (bias != nullptr) {  // start from the bias and accumulate onto it: one pass over y
        for (std::int64_t t = 0; t < T; ++t) std::copy(bias + r0, bias + r1, y + t * y_stride + r0);
        beta = 1.0f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, blasint(T), blasint(r1 - r0),
                blasint(cols), 1.0f, x, blasint(x_stride), wf, blasint(cols), beta, y + r0,
                blasint(y_stride));
}

// Prefill: each OpenMP thread runs sgemm on its contiguous share of the output rows. BF16/F16
// weights are widened a tile at a time into a per-thread fp32 buffer (allocated on the first large
// call and kept; the tile is reused T times, so the widening costs ~1/T of the multiply).
template <DType D>
void gemm(const float* x, std::int64_t x_stride, std::int64_t T, const Weight& W, const float* bias,
          float* y, std::int64_t y_stride) {
    const auto* w = static_cast<const ElemT<D>*>(W.data);
    const std::int64_t cols = W.cols;
    const bool parallel = W.rows * cols * T >= kParallelMinMacs && W.rows >= 32;
#pragma omp parallel if (parallel)
    {
        std::int64_t r0, r1;
        thread_share(W.rows, 16, &r0, &r1);
        if constexpr (D == DType::F32) {
            if (r0 < r1) sgemm_rows(x, x_stride, T, w + r0 * cols, cols, bias, y, y_stride, r0, r1);
        } else {
            thread_local std::vector<float> tile;
            const std::int64_t tile_rows =
                std::max<std::int64_t>(16, kWidenTileBytes / (cols * std::int64_t(sizeof(float))));
            if (tile.size() < std::size_t(tile_rows * cols))
                tile.resize(std::size_t(tile_rows * cols));
            for (std::int64_t r = r0; r < r1; r += tile_rows) {
                const std::int64_t re = std::min(r1, r + tile_rows);
                widen_to_f32(w + r * cols, D, std::size_t((re - r) * cols), tile.data());
                sgemm_rows(x, x_stride, T, tile.data(), cols, bias, y, y_stride, r, re);
            }
        }
    }
}

template <DType D>
void matmul_typed(const float* x, std::int64_t x_stride, std::int64_t T, const Weight& W,
                  const float* bias, float* y, std::int64_t y_stride) {
    const std::int64_t blas_min = D == DType::F32 ? kBlasMinTF32 : kBlasMinTHalf;
    if (T < blas_min)
        stream_matmul<D>(x, x_stride, T, W, bias, y, y_stride);
    else
        gemm<D>(x, x_stride, T, W, bias, y, y_stride);
}

}  // namespace

void init_threads() {
    // OpenBLAS (the pthread build on Debian) would otherwise start its own pool next to OpenMP's:
    // 4 busy threads on 2 cores. One BLAS thread per caller; matmul.cpp splits the work itself.
    openblas_set_num_threads(1);
}

// y[t, o] = sum_i x[t, i] * W[o, i] + bias[o]                 x: [T, W.cols] (row stride x_stride)
//                                                             y: [T, W.rows] (row stride y_stride)
// bias may be null.
void matmul(const float* x, std::int64_t x_stride, std::int64_t T, const Weight& W,
            const float* bias, float* y, std::int64_t y_stride) {
    if (T <= 0 || W.rows <= 0) return;
    if (W.cols == 0) {  // empty sum: y = bias (sgemm rejects K = 0)
        for (std::int64_t t = 0; t < T; ++t)
            for (std::int64_t o = 0; o < W.rows; ++o)
                y[t * y_stride + o] = bias != nullptr ? bias[o] : 0.0f;
        return;
    }
    switch (W.dtype) {
        case DType::F32:
            matmul_typed<DType::F32>(x, x_stride, T, W, bias, y, y_stride);
            break;
        case DType::BF16:
            matmul_typed<DType::BF16>(x, x_stride, T, W, bias, y, y_stride);
            break;
        case DType::F16:
            matmul_typed<DType::F16>(x, x_stride, T, W, bias, y, y_stride);
            break;
    }
}

}  // namespace statescope::kernels::cpu
