// RMSNorm and the Mamba-2 family's gated RMSNorm. Row by row, vectorised loops; threads over rows
// only for prefill-sized inputs.
#include <algorithm>
#include <cmath>

#include "kernels/cpu/ops.h"
#include "kernels/cpu/simd.h"

namespace statescope::kernels::cpu {

namespace {

// Rows x width below which a call stays on one thread: an OpenMP fork/join costs ~1.2 us on two
// idle cores, about the time one core takes to normalize 16K floats (0.9 us for 1536, measured).
constexpr std::int64_t kParallelMinElems = 1 << 14;
// Chunk of silu(z) values computed at once into a stack buffer (1 KB), so out may alias y.
constexpr std::int64_t kChunk = 256;

// sum_i v[i]^2, accumulated in double: the sum of D <= 8192 fp32 squares then has ~1 ulp error in
// every build (a sequential fp32 sum drifts by up to D ulp: 1.3e-6 relative measured at D = 4096
// without vectorisation), and the cost is nil next to reading the row.
double sum_squares(const float* v, std::int64_t n) {
    double s = 0.0;
#pragma omp simd reduction(+ : s)
    for (std::int64_t i = 0; i < n; ++i) s += double(v[i]) * double(v[i]);
    return s;
}

}  // namespace

// y[t, :] = x[t, :] * rsqrt(mean(x[t, :]^2) + eps) * weight     x, y: [T, D] with row strides
// weight may be null (weightless norm, falcon_mamba's dt/B/C norms). y may alias x.
void rmsnorm(const float* x, std::int64_t x_stride, std::int64_t T, std::int64_t D,
             const float* weight, float eps, float* y, std::int64_t y_stride) {
#pragma omp parallel for if (T * D >= kParallelMinElems && T > 1)
    for (std::int64_t t = 0; t < T; ++t) {
        const float* xr = x + t * x_stride;
        float* yr = y + t * y_stride;
        const float r = float(1.0 / std::sqrt(sum_squares(xr, D) / double(D) + eps));
        if (weight != nullptr) {
#pragma omp simd
            for (std::int64_t i = 0; i < D; ++i) yr[i] = xr[i] * r * weight[i];
        } else {
#pragma omp simd
            for (std::int64_t i = 0; i < D; ++i) yr[i] = xr[i] * r;
        }
    }
}

// Gated RMSNorm over groups of `group_size` channels (group_size = I for the full-width variant):
//   norm_before_gate = false: h = y * silu(z); out = h * rsqrt(mean_group(h^2) + eps) * weight
//   norm_before_gate = true:  out = y * rsqrt(mean_group(y^2) + eps) * weight * silu(z)
// y: [T, I] contiguous; z: [T, I] (row stride z_stride); weight: [I] or null; out: [T, I], may
// alias y. Each element of y is read before the same element of out is written, so aliasing is
// safe.
void gated_rmsnorm(const float* y, const float* z, std::int64_t z_stride, std::int64_t T,
                   std::int64_t I, std::int64_t group_size, const float* weight, float eps,
                   bool norm_before_gate, float* out) {
#pragma omp parallel for if (T * I >= kParallelMinElems && T > 1)
    for (std::int64_t t = 0; t < T; ++t) {
        float gate[kChunk];
        for (std::int64_t g0 = 0; g0 < I; g0 += group_size) {
            const std::int64_t n = group_size;
            const float* yr = y + t * I + g0;
            const float* zr = z + t * z_stride + g0;
            float* o = out + t * I + g0;
            const float* w = weight != nullptr ? weight + g0 : nullptr;
            if (!norm_before_gate) {
                double ss = 0.0;  // h = y * silu(z) goes to out first; then out *= r * w
                for (std::int64_t c0 = 0; c0 < n; c0 += kChunk) {
                    const std::int64_t m = std::min(kChunk, n - c0);
                    silu_array(zr + c0, m, gate);
#pragma omp simd reduction(+ : ss)
                    for (std::int64_t i = 0; i < m; ++i) {
                        const float h = yr[c0 + i] * gate[i];
                        o[c0 + i] = h;
                        ss += double(h) * double(h);
                    }
                }
                const float r = float(1.0 / std::sqrt(ss / double(n) + eps));
                if (w != nullptr) {
#pragma omp simd
                    for (std::int64_t i = 0; i < n; ++i) o[i] = o[i] * r * w[i];
                } else {
#pragma omp simd
                    for (std::int64_t i = 0; i < n; ++i) o[i] = o[i] * r;
                }
            } else {
                const float r = float(1.0 / std::sqrt(sum_squares(yr, n) / double(n) + eps));
                for (std::int64_t c0 = 0; c0 < n; c0 += kChunk) {
                    const std::int64_t m = std::min(kChunk, n - c0);
                    silu_array(zr + c0, m, gate);
                    if (w != nullptr) {
#pragma omp simd
                        for (std::int64_t i = 0; i < m; ++i)
                            o[c0 + i] = yr[c0 + i] * r * w[c0 + i] * gate[i];
                    } else {
#pragma omp simd
                        for (std::int64_t i = 0; i < m; ++i) o[c0 + i] = yr[c0 + i] * r * gate[i];
                    }
                }
            }
        }
    }
}

}  // namespace statescope::kernels::cpu
