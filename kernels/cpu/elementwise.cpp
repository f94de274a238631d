// Row copies and per-element ops: embedding, residual add, softplus, and the array forms of the
// vector math. All memory-bound and cheap: no threads.
#include <algorithm>
#include <cassert>

#include "kernels/cpu/ops.h"
#include "kernels/cpu/simd.h"

namespace statescope::kernels::cpu {

// out[t, :] = float(table[ids[t], :])                        table: [V, D]; out: [T, D]
// ids must lie in [0, V) (the runtime checks token ids once, at tokenization).
void embedding(const Weight& table, const std::int32_t* ids, std::int64_t T, float* out) {
    const std::int64_t D = table.cols;
    const std::size_t row_bytes = std::size_t(D) * dtype_size(table.dtype);
    for (std::int64_t t = 0; t < T; ++t) {
        assert(ids[t] >= 0 && ids[t] < table.rows);
        const auto* row = static_cast<const char*>(table.data) + std::size_t(ids[t]) * row_bytes;
        widen_to_f32(row, table.dtype, std::size_t(D), out + t * D);
    }
}

// y[i] += x[i] for i < n
void add(float* y, const float* x, std::int64_t n) {
    // A plain loop: g++ -O3 vectorises it to full-width adds; it runs at memory speed.
    for (std::int64_t i = 0; i < n; ++i) y[i] += x[i];
}

// delta[t, c] = clamp(softplus(dt[t, c] + bias[c]), lo, hi)   dt: [T, C] (row stride dt_stride)
// softplus(v) = log1p(exp(v)), = v for v > 20. bias may be null. delta: [T, C].
void softplus(const float* dt, std::int64_t dt_stride, std::int64_t T, std::int64_t C,
              const float* bias, float lo, float hi, float* delta) {
    for (std::int64_t t = 0; t < T; ++t) {
        const float* in = dt + t * dt_stride;
        float* out = delta + t * C;
        std::int64_t c = 0;
#if defined(STATESCOPE_CPU_AVX512)
        const __m512 vlo = _mm512_set1_ps(lo);
        const __m512 vhi = _mm512_set1_ps(hi);
        for (; c < C; c += 16) {
            const __mmask16 m = C - c >= 16 ? __mmask16(0xffff) : tail_mask(C - c);
            __m512 v = _mm512_maskz_loadu_ps(m, in + c);
            if (bias != nullptr) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, bias + c));
            // lo/hi first: max/min return the second operand when it is NaN, so NaN propagates.
            v = _mm512_min_ps(vhi, _mm512_max_ps(vlo, softplus_ps(v)));
            _mm512_mask_storeu_ps(out + c, m, v);
        }
#endif
        for (; c < C; ++c) {
            const float v = softplus_scalar(in[c] + (bias != nullptr ? bias[c] : 0.0f));
            out[c] = std::min(std::max(v, lo), hi);
        }
    }
}

void exp_array(const float* x, std::int64_t n, float* y) {
    std::int64_t i = 0;
#if defined(STATESCOPE_CPU_AVX512)
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, exp_ps(_mm512_loadu_ps(x + i)));
    if (i < n) {
        const __mmask16 m = tail_mask(n - i);
        _mm512_mask_storeu_ps(y + i, m, exp_ps(_mm512_maskz_loadu_ps(m, x + i)));
        i = n;
    }
#elif defined(STATESCOPE_CPU_AVX2)
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, exp_ps(_mm256_loadu_ps(x + i)));
#endif
    for (; i < n; ++i) y[i] = std::exp(x[i]);
}

void silu_array(const float* x, std::int64_t n, float* y) {
    std::int64_t i = 0;
#if defined(STATESCOPE_CPU_AVX512)
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, silu_ps(_mm512_loadu_ps(x + i)));
    if (i < n) {
        const __mmask16 m = tail_mask(n - i);
        _mm512_mask_storeu_ps(y + i, m, silu_ps(_mm512_maskz_loadu_ps(m, x + i)));
        i = n;
    }
#elif defined(STATESCOPE_CPU_AVX2)
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, silu_ps(_mm256_loadu_ps(x + i)));
#endif
    for (; i < n; ++i) y[i] = silu_scalar(x[i]);
}

void softplus_array(const float* x, std::int64_t n, float* y) {
    softplus(x, n, 1, n, nullptr, -INFINITY, INFINITY, y);
}

}  // namespace statescope::kernels::cpu
