// The recurrences: Mamba-1's selective scan (per channel, a state vector of d_state) and Mamba-2's
// SSD scan (per head, a [head_dim, d_state] state with a scalar decay). Threads over channels /
// heads (independent recurrences); SIMD over 16 channels for Mamba-1 (its d_state is 16, and every
// state has its own decay, so the exp is per element either way) and over d_state for Mamba-2
// (one decay per head; d_state 64-128).
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/ops.h"
#include "kernels/cpu/simd.h"
#include "kernels/cpu/threading.h"

namespace statescope::kernels::cpu {

namespace {

// State updates below which a call stays on one thread (a fork/join costs ~1.2 us). Measured on
// one core: selective_scan ~1.7 ns per update at T = 1 (the state transposes dominate) falling to
// ~0.4 ns from T = 8; ssd_scan ~0.1-0.2 ns. Both thresholds are a few us of work, so a mamba-130m
// decode scan (1536 x 16 updates, 43 us on one core, 23 us on two) is split over both cores.
constexpr std::int64_t kSelParallelMinUpdates = 1 << 12;
constexpr std::int64_t kSsdParallelMinUpdates = 1 << 15;

struct SelArgs {
    const float *x, *delta, *A, *B, *C, *D, *z;
    std::int64_t bc_stride, z_stride, T, I, N;
    float *state, *y;
};

#if defined(STATESCOPE_CPU_AVX512)

// 16 channels per vector ("lanes"), one state n at a time, tokens outer. Each token reads
// contiguous row slices of x, delta, z and writes y, which the hardware prefetcher streams (walking
// one 16-channel column down all T rows instead crossed a 4 KB page per access and ran 3-5x slower
// at T >= 256), and y needs no horizontal sums. The thread's states and A are kept transposed,
// [group][n][16 channels], in a per-thread buffer: gathered once per call and scattered back at
// the end (~2 KB per 16 channels at N = 16). Measured against a kernel with the 16 states in the
// lanes (one exp, three FMAs and a horizontal sum per channel and token), this was as fast at
// T = 1 and 1.3-1.9x faster from T = 2 on, on one and two threads.
void scan_range(const SelArgs& a, std::int64_t i_begin, std::int64_t i_end) {
    const std::int64_t N = a.N, I = a.I;
    const std::int64_t groups = (i_end - i_begin + 15) / 16;
    const std::int64_t group_floats = 2 * N * 16;  // state^T then A^T
    thread_local std::vector<float> buf;           // grows on the first call, then reused
    if (buf.size() < std::size_t(groups * group_floats))
        buf.resize(std::size_t(groups * group_floats));
    const __m512i idx =
        _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                           _mm512_set1_epi32(int(N)));
    auto lanes = [&](std::int64_t g) {
        const std::int64_t left = i_end - (i_begin + 16 * g);
        return left >= 16 ? __mmask16(0xffff) : tail_mask(left);
    };
    for (std::int64_t g = 0; g < groups; ++g) {
        const std::int64_t i0 = i_begin + 16 * g;
        float* st = buf.data() + g * group_floats;
        for (std::int64_t n = 0; n < N; ++n) {  // masked-off lanes: s = A = 0, so they stay 0
            const __m512 z = _mm512_setzero_ps();
            _mm512_storeu_ps(st + n * 16,
                             _mm512_mask_i32gather_ps(z, lanes(g), idx, a.state + i0 * N + n, 4));
            _mm512_storeu_ps(st + (N + n) * 16,
                             _mm512_mask_i32gather_ps(z, lanes(g), idx, a.A + i0 * N + n, 4));
        }
    }
    for (std::int64_t t = 0; t < a.T; ++t) {
        const float* b = a.B + t * a.bc_stride;
        const float* c = a.C + t * a.bc_stride;
        for (std::int64_t g = 0; g < groups; ++g) {
            const std::int64_t i0 = i_begin + 16 * g;
            const __mmask16 lm = lanes(g);
            float* st = buf.data() + g * group_floats;
            const float* at = st + N * 16;
            const __m512 vd = _mm512_maskz_loadu_ps(lm, a.delta + t * I + i0);
            const __m512 vx = _mm512_maskz_loadu_ps(lm, a.x + t * I + i0);
            const __m512 vdx = _mm512_mul_ps(vd, vx);
            __m512 acc = _mm512_setzero_ps();
            for (std::int64_t n = 0; n < N; ++n) {
                const __m512 decay = exp_ps(_mm512_mul_ps(vd, _mm512_loadu_ps(at + n * 16)));
                const __m512 sv = _mm512_fmadd_ps(decay, _mm512_loadu_ps(st + n * 16),
                                                  _mm512_mul_ps(vdx, _mm512_set1_ps(b[n])));
                _mm512_storeu_ps(st + n * 16, sv);
                acc = _mm512_fmadd_ps(sv, _mm512_set1_ps(c[n]), acc);
            }
            if (a.D != nullptr) acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(lm, a.D + i0), vx, acc);
            if (a.z != nullptr)
                acc = _mm512_mul_ps(acc,
                                    silu_ps(_mm512_maskz_loadu_ps(lm, a.z + t * a.z_stride + i0)));
            _mm512_mask_storeu_ps(a.y + t * I + i0, lm, acc);
        }
    }
    for (std::int64_t g = 0; g < groups; ++g) {
        const std::int64_t i0 = i_begin + 16 * g;
        const float* st = buf.data() + g * group_floats;
        for (std::int64_t n = 0; n < N; ++n)
            _mm512_mask_i32scatter_ps(a.state + i0 * N + n, lanes(g), idx,
                                      _mm512_loadu_ps(st + n * 16), 4);
    }
}

#else

// Portable: one channel at a time, the state loop vectorises where the compiler can.
void scan_range(const SelArgs& a, std::int64_t i_begin, std::int64_t i_end) {
    for (std::int64_t i = i_begin; i < i_end; ++i) {
        float* s = a.state + i * a.N;
        const float* av = a.A + i * a.N;
        for (std::int64_t t = 0; t < a.T; ++t) {
            const float d = a.delta[t * a.I + i];
            const float x = a.x[t * a.I + i];
            const float* b = a.B + t * a.bc_stride;
            const float* c = a.C + t * a.bc_stride;
            float dot = 0.0f;
            for (std::int64_t n = 0; n < a.N; ++n) {
                s[n] = std::exp(d * av[n]) * s[n] + d * x * b[n];
                dot += s[n] * c[n];
            }
            float v = dot + (a.D != nullptr ? a.D[i] * x : 0.0f);
            if (a.z != nullptr) v *= silu_scalar(a.z[t * a.z_stride + i]);
            a.y[t * a.I + i] = v;
        }
    }
}

#endif

}  // namespace

// Mamba-1 selective scan, one channel i of I, state n of N (S = state[i, n]):
//   S = exp(delta[t,i] * A[i,n]) * S + delta[t,i] * B[t,n] * x[t,i]
//   y[t,i] = (sum_n S * C[t,n] + D[i] * x[t,i]) * silu(z[t,i])          (no gate when z is null)
// x, delta: [T, I] contiguous; B, C: [T, N] with row stride bc_stride; z: [T, I] row stride
// z_stride; A: [I, N] (already -exp(A_log)); D: [I]; state: [I, N] fp32, updated; y: [T, I].
void selective_scan(const float* x, const float* delta, const float* A, const float* B,
                    const float* C, std::int64_t bc_stride, const float* D, const float* z,
                    std::int64_t z_stride, std::int64_t T, std::int64_t I, std::int64_t N,
                    float* state, float* y) {
    if (T <= 0 || I <= 0) return;
    const SelArgs args{x, delta, A, B, C, D, z, bc_stride, z_stride, T, I, N, state, y};
#pragma omp parallel if (T * I * N >= kSelParallelMinUpdates && I >= 32)
    {
        std::int64_t i0, i1;
        thread_share(I, 16, &i0, &i1);
        if (i0 < i1) scan_range(args, i0, i1);
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
#pragma omp parallel for schedule(static) if (T * H * P * N >= kSsdParallelMinUpdates && H > 1)
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
