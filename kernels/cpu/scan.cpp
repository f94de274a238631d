// The recurrences: Mamba-1's selective scan (per channel, a state vector of d_state) and Mamba-2's
// SSD scan (per head, a [head_dim, d_state] state with a scalar decay). Threads over channels /
// heads (independent recurrences), SIMD over d_state.
#include <algorithm>
#include <cmath>

#include <omp.h>

#include "kernels/cpu/ops.h"
#include "kernels/cpu/simd.h"

namespace statescope::kernels::cpu {

namespace {

// State updates (T * I * N or T * H * P * N) below which a call stays on one thread: one update is
// ~0.1-0.3 ns here, so 32K of them take a few us, about a fork/join.
constexpr std::int64_t kParallelMinUpdates = 1 << 15;
// Tokens per block in selective_scan: the block's x/delta/y rows (64 lines each per 16 channels)
// and B/C rows stay in L1 while a thread walks its channels.
constexpr std::int64_t kTokenBlock = 64;
// States of one channel held in registers at once (4 AVX-512 registers; Mamba-1 uses N = 16).
constexpr std::int64_t kStateGroup = 64;

void thread_share(std::int64_t n, std::int64_t align, std::int64_t* b, std::int64_t* e) {
    const int nth = omp_get_num_threads();
    const int tid = omp_get_thread_num();
    std::int64_t per = (n + nth - 1) / nth;
    per = (per + align - 1) / align * align;
    *b = std::min(n, per * tid);
    *e = std::min(n, *b + per);
}

#if defined(STATESCOPE_CPU_AVX512)

// Channel i, states [n0, n0 + nn) (nn <= 16 * NC), tokens [t0, t1): the states and A stay in
// registers across the tokens; the partial dot products with C go to (or add onto) y[t, i].
template <int NC>
void scan_channel(const float* x, const float* delta, const float* A, const float* B,
                  const float* C, std::int64_t bc_stride, std::int64_t I, std::int64_t N,
                  std::int64_t i, std::int64_t n0, std::int64_t nn, std::int64_t t0,
                  std::int64_t t1, float* state, float* y) {
    __mmask16 m[NC];
    __m512 s[NC], a[NC];
    for (int k = 0; k < NC; ++k) {
        const std::int64_t left = nn - 16 * k;
        m[k] = left >= 16 ? __mmask16(0xffff) : tail_mask(left);
        s[k] = _mm512_maskz_loadu_ps(m[k], state + i * N + n0 + 16 * k);
        a[k] = _mm512_maskz_loadu_ps(m[k], A + i * N + n0 + 16 * k);
    }
    // Masked-off lanes hold s = 0, a = 0, B = C = 0: they stay 0 and add nothing to y.
    for (std::int64_t t = t0; t < t1; ++t) {
        const float d = delta[t * I + i];
        const __m512 vd = _mm512_set1_ps(d);
        const __m512 vdx = _mm512_set1_ps(d * x[t * I + i]);
        const float* b = B + t * bc_stride + n0;
        const float* c = C + t * bc_stride + n0;
        __m512 acc = _mm512_setzero_ps();
        for (int k = 0; k < NC; ++k) {
            const __m512 decay = exp_ps(_mm512_mul_ps(vd, a[k]));
            const __m512 bx = _mm512_mul_ps(vdx, _mm512_maskz_loadu_ps(m[k], b + 16 * k));
            s[k] = _mm512_fmadd_ps(decay, s[k], bx);
            acc = _mm512_fmadd_ps(s[k], _mm512_maskz_loadu_ps(m[k], c + 16 * k), acc);
        }
        const float dot = _mm512_reduce_add_ps(acc);
        y[t * I + i] = n0 == 0 ? dot : y[t * I + i] + dot;
    }
    for (int k = 0; k < NC; ++k) _mm512_mask_storeu_ps(state + i * N + n0 + 16 * k, m[k], s[k]);
}

// y[t, i0:i1) = (y + D * x) * silu(z) over one row segment.
void finish_row(const float* x, const float* D, const float* z, std::int64_t i0, std::int64_t i1,
                float* y) {
    for (std::int64_t i = i0; i < i1; i += 16) {
        const __mmask16 m = i1 - i >= 16 ? __mmask16(0xffff) : tail_mask(i1 - i);
        __m512 v = _mm512_maskz_loadu_ps(m, y + i);
        if (D != nullptr)
            v = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, D + i), _mm512_maskz_loadu_ps(m, x + i), v);
        if (z != nullptr) v = _mm512_mul_ps(v, silu_ps(_mm512_maskz_loadu_ps(m, z + i)));
        _mm512_mask_storeu_ps(y + i, m, v);
    }
}

#else

// Portable: the same order of work; the state loop vectorises where the compiler can.
void scan_channel_portable(const float* x, const float* delta, const float* A, const float* B,
                           const float* C, std::int64_t bc_stride, std::int64_t I, std::int64_t N,
                           std::int64_t i, std::int64_t t0, std::int64_t t1, float* state,
                           float* y) {
    float* s = state + i * N;
    const float* a = A + i * N;
    for (std::int64_t t = t0; t < t1; ++t) {
        const float d = delta[t * I + i];
        const float dx = d * x[t * I + i];
        const float* b = B + t * bc_stride;
        const float* c = C + t * bc_stride;
        float dot = 0.0f;
        for (std::int64_t n = 0; n < N; ++n) {
            s[n] = std::exp(d * a[n]) * s[n] + dx * b[n];
            dot += s[n] * c[n];
        }
        y[t * I + i] = dot;
    }
}

void finish_row(const float* x, const float* D, const float* z, std::int64_t i0, std::int64_t i1,
                float* y) {
    for (std::int64_t i = i0; i < i1; ++i) {
        float v = y[i] + (D != nullptr ? D[i] * x[i] : 0.0f);
        if (z != nullptr) v *= silu_scalar(z[i]);
        y[i] = v;
    }
}

#endif

}  // namespace

// Mamba-1 selective scan, one channel i of I, state n of N (S = state[i, n]):
//   S = exp(delta[t,i] * A[i,n]) * S + delta[t,i] * B[t,n] * x[t,i]
//   y[t,i] = (sum_n S * C[t,n] + D[i] * x[t,i]) * silu(z[t,i])          (no gate when z is null)
// x, delta: [T, I] contiguous; B, C: [T, N] with row stride bc_stride; z: [T, I] row stride z_stride;
// A: [I, N] (already -exp(A_log)); D: [I]; state: [I, N] fp32, updated; y: [T, I].
void selective_scan(const float* x, const float* delta, const float* A, const float* B,
                    const float* C, std::int64_t bc_stride, const float* D, const float* z,
                    std::int64_t z_stride, std::int64_t T, std::int64_t I, std::int64_t N,
                    float* state, float* y) {
    if (T <= 0 || I <= 0) return;
#pragma omp parallel if (T * I * N >= kParallelMinUpdates && I >= 32)
    {
        std::int64_t i0, i1;
        thread_share(I, 16, &i0, &i1);
        for (std::int64_t t0 = 0; t0 < T && i0 < i1; t0 += kTokenBlock) {
            const std::int64_t t1 = std::min(T, t0 + kTokenBlock);
            for (std::int64_t i = i0; i < i1; ++i) {
#if defined(STATESCOPE_CPU_AVX512)
                if (N == 0)
                    for (std::int64_t t = t0; t < t1; ++t) y[t * I + i] = 0.0f;
                for (std::int64_t n0 = 0; n0 < N; n0 += kStateGroup) {
                    const std::int64_t nn = std::min(kStateGroup, N - n0);
                    switch ((nn + 15) / 16) {
                        case 1:
                            scan_channel<1>(x, delta, A, B, C, bc_stride, I, N, i, n0, nn, t0, t1,
                                            state, y);
                            break;
                        case 2:
                            scan_channel<2>(x, delta, A, B, C, bc_stride, I, N, i, n0, nn, t0, t1,
                                            state, y);
                            break;
                        case 3:
                            scan_channel<3>(x, delta, A, B, C, bc_stride, I, N, i, n0, nn, t0, t1,
                                            state, y);
                            break;
                        default:
                            scan_channel<4>(x, delta, A, B, C, bc_stride, I, N, i, n0, nn, t0, t1,
                                            state, y);
                            break;
                    }
                }
#else
                scan_channel_portable(x, delta, A, B, C, bc_stride, I, N, i, t0, t1, state, y);
#endif
            }
            for (std::int64_t t = t0; t < t1; ++t)
                finish_row(x + t * I, D, z != nullptr ? z + t * z_stride : nullptr, i0, i1,
                           y + t * I);
        }
    }
}

// Mamba-2 SSD recurrence for H heads of head_dim P, G groups of d_state N (head h uses group
// g = h / (H / G)):
//   S[h,p,n] = exp(delta[t,h] * A[h]) * S[h,p,n] + delta[t,h] * x[t,h,p] * B[t,g,n]
//   y[t,h,p] = sum_n S[h,p,n] * C[t,g,n] + D[h] * x[t,h,p]
// x: [T, H*P] (row stride x_stride); delta: [T, H]; B, C: [T, G*N] (row stride bc_stride);
// A, D: [H]; state: [H, P, N] fp32, updated; y: [T, H*P] contiguous.
// H must be a multiple of G.
void ssd_scan(const float* x, std::int64_t x_stride, const float* delta, const float* A,
              const float* B, const float* C, std::int64_t bc_stride, const float* D,
              std::int64_t T, std::int64_t H, std::int64_t P, std::int64_t G, std::int64_t N,
              float* state, float* y) {
    if (T <= 0 || H <= 0) return;
    const std::int64_t heads_per_group = H / G;
    // One head's state ([P, N], 32 KB for P = 64, N = 128) stays in L1 across the tokens.
#pragma omp parallel for schedule(static) if (T * H * P * N >= kParallelMinUpdates && H > 1)
    for (std::int64_t h = 0; h < H; ++h) {
        const std::int64_t g = h / heads_per_group;
        const float dh = D != nullptr ? D[h] : 0.0f;
        for (std::int64_t t = 0; t < T; ++t) {
            const float dt = delta[t * H + h];
            // One exp per (token, head): the accurate library exp costs nothing here.
            const float decay = std::exp(dt * A[h]);
            const float* b = B + t * bc_stride + g * N;
            const float* c = C + t * bc_stride + g * N;
            const float* xr = x + t * x_stride + h * P;
            float* yr = y + t * H * P + h * P;
            for (std::int64_t p = 0; p < P; ++p) {
                float* s = state + (h * P + p) * N;
                const float dtx = dt * xr[p];
#if defined(STATESCOPE_CPU_AVX512)
                const __m512 vdecay = _mm512_set1_ps(decay);
                const __m512 vdtx = _mm512_set1_ps(dtx);
                __m512 acc = _mm512_setzero_ps();
                for (std::int64_t n = 0; n < N; n += 16) {
                    const __mmask16 m = N - n >= 16 ? __mmask16(0xffff) : tail_mask(N - n);
                    __m512 sv = _mm512_mul_ps(vdecay, _mm512_maskz_loadu_ps(m, s + n));
                    sv = _mm512_fmadd_ps(vdtx, _mm512_maskz_loadu_ps(m, b + n), sv);
                    _mm512_mask_storeu_ps(s + n, m, sv);
                    acc = _mm512_fmadd_ps(sv, _mm512_maskz_loadu_ps(m, c + n), acc);
                }
                const float dot = _mm512_reduce_add_ps(acc);
#else
                float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
                for (std::int64_t n = 0; n < N; ++n) {
                    s[n] = decay * s[n] + dtx * b[n];
                    dot += s[n] * c[n];
                }
#endif
                yr[p] = dot + dh * xr[p];
            }
        }
    }
}

}  // namespace statescope::kernels::cpu
