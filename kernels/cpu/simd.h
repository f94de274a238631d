// SIMD building blocks shared by the CPU kernels: which instruction set this build targets, fast
// vector exp/log/silu, and loads that widen BF16/F16 weights to fp32. Internal to kernels/cpu.
//
// Paths: AVX-512 (F+BW+VL, this machine), AVX2+FMA+F16C, and plain C++. The choice is made at
// compile time from the -march flags (STATESCOPE_NATIVE=ON gives AVX-512 here; OFF gives the
// portable path).
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
#define STATESCOPE_CPU_AVX512 1
#elif defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#define STATESCOPE_CPU_AVX2 1
#endif

#if defined(STATESCOPE_CPU_AVX512) || defined(STATESCOPE_CPU_AVX2)
// g++ 12 warns "__Y may be used uninitialized" inside its own intrinsics (the `__Y = __Y` idiom of
// _mm512_undefined_ps; GCC bug 105593, fixed in 13). The warning points into the header, so
// silencing it around the include silences only that.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#endif

namespace statescope::kernels::cpu {

// Scalar reference versions: the portable path, and the tails of the vector loops.
inline float silu_scalar(float z) {
    return z / (1.0f + std::exp(-z));
}

// softplus(v) = log1p(exp(v)), and v itself above torch's threshold 20 (where log1p(exp(v)) - v <
// 2.1e-9, far below half an ulp of v, so the two agree to rounding anyway).
inline float softplus_scalar(float v) {
    return v > 20.0f ? v : std::log1p(std::exp(v));
}

// Cody-Waite split of ln 2: kLn2Hi has 9 significant bits, so n * kLn2Hi is exact for |n| < 2^15
// and x - n ln2 loses nothing to cancellation (Cephes expf/logf).
inline constexpr float kLn2Hi = 0.693359375f;
inline constexpr float kLn2Lo = -2.12194440e-4f;
inline constexpr float kLog2e = 1.44269504088896341f;
// Below -103.98, exp underflows to 0 even as an fp32 subnormal; above 88.73 it overflows to inf.
// Clamping to [-104, 89] keeps 2^n finite in the reduction and still gives exactly 0 and inf there.
inline constexpr float kExpLo = -104.0f;
inline constexpr float kExpHi = 89.0f;

#if defined(STATESCOPE_CPU_AVX512)

// exp(x) on 16 lanes. x = n ln2 + r with |r| <= ln2/2 (Cody-Waite), exp(r) = 1 + r + r^2 P(r) with
// Cephes' degree-5 minimax P, then vscalefps multiplies by 2^n and rounds overflow to inf and
// underflow to subnormals/0 correctly. Error against the correctly rounded exp: at most 1 ulp
// (relative 1.2e-7) over 6M points spanning [-103.9, 88.72] (KernelVecMath.ExpAccuracy, which
// allows 2 ulp). NaN stays NaN (max/min return their second operand when it is NaN).
inline __m512 exp_ps(__m512 x) {
    x = _mm512_min_ps(_mm512_set1_ps(kExpHi), _mm512_max_ps(_mm512_set1_ps(kExpLo), x));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(kLog2e)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Hi), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Lo), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    const __m512 e =
        _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(e, n);
}

// log(x) on 16 lanes for finite x > 0 (what softplus needs; x <= 0, inf and NaN are not handled).
// x = m 2^k with m in [sqrt(1/2), sqrt(2)), log(x) = log1p(f) + k ln2 with f = m - 1 and Cephes'
// logf polynomial (Cephes quotes ~1 ulp). Tested through softplus: <= 1.7e-7 relative measured
// (KernelVecMath.SoftplusAccuracy).
inline __m512 log_ps(__m512 x) {
    __m512 k = _mm512_getexp_ps(x);                                         // floor(log2 x)
    __m512 m = _mm512_getmant_ps(x, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_src);  // [1, 2)
    const __mmask16 big = _mm512_cmp_ps_mask(m, _mm512_set1_ps(1.41421356f), _CMP_GT_OQ);
    m = _mm512_mask_mul_ps(m, big, m, _mm512_set1_ps(0.5f));
    k = _mm512_mask_add_ps(k, big, k, _mm512_set1_ps(1.0f));
    const __m512 f = _mm512_sub_ps(m, _mm512_set1_ps(1.0f));
    const __m512 z = _mm512_mul_ps(f, f);
    __m512 p = _mm512_set1_ps(7.0376836292e-2f);
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(-1.1514610310e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.1676998740e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(-1.2420140846e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.4249322787e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(-1.6668057665e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.0000714765e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(-2.4999993993e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(3.3333331174e-1f));
    __m512 y = _mm512_mul_ps(_mm512_mul_ps(p, z), f);
    y = _mm512_fmadd_ps(k, _mm512_set1_ps(kLn2Lo), y);
    y = _mm512_fnmadd_ps(z, _mm512_set1_ps(0.5f), y);
    return _mm512_fmadd_ps(k, _mm512_set1_ps(kLn2Hi), _mm512_add_ps(f, y));
}

// silu(z) = z / (1 + exp(-z)); a true division (not rcp14) keeps it within ~3 ulp.
inline __m512 silu_ps(__m512 z) {
    const __m512 e = exp_ps(_mm512_sub_ps(_mm512_setzero_ps(), z));
    return _mm512_div_ps(z, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

// softplus(v) = max(v, 0) + log1p(exp(-|v|)), = v for v > 20. The stable form never overflows;
// log1p(w) = log(1 + w) + (w - ((1 + w) - 1)) / (1 + w) recovers the bits of w lost in 1 + w.
inline __m512 softplus_ps(__m512 v) {
    const __m512 abs_v = _mm512_abs_ps(v);
    const __m512 w = exp_ps(_mm512_sub_ps(_mm512_setzero_ps(), abs_v));
    const __m512 s = _mm512_add_ps(_mm512_set1_ps(1.0f), w);
    const __m512 corr = _mm512_div_ps(_mm512_sub_ps(w, _mm512_sub_ps(s, _mm512_set1_ps(1.0f))), s);
    const __m512 l = _mm512_add_ps(log_ps(s), corr);
    const __m512 sp = _mm512_add_ps(_mm512_max_ps(v, _mm512_setzero_ps()), l);
    const __mmask16 over = _mm512_cmp_ps_mask(v, _mm512_set1_ps(20.0f), _CMP_GT_OQ);
    return _mm512_mask_blend_ps(over, sp, v);
}

// Mask of the first n (< 16) lanes.
inline __mmask16 tail_mask(std::int64_t n) {
    return __mmask16((1u << n) - 1u);
}

// 16 bf16 -> fp32: bf16 is the top half of an fp32, so zero-extend to 32 bits and shift left 16.
inline __m512 bf16x16_to_ps(__m256i h) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

#elif defined(STATESCOPE_CPU_AVX2)

// exp(x) on 8 lanes: the same reduction and polynomial as the AVX-512 version. Without vscalefps,
// 2^n is applied as 2^(n/2) * 2^(n - n/2), both exponents in [-75, 64], so the result still
// overflows to inf and underflows gradually to subnormals/0.
inline __m256 exp_ps(__m256 x) {
    x = _mm256_min_ps(_mm256_set1_ps(kExpHi), _mm256_max_ps(_mm256_set1_ps(kExpLo), x));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(kLog2e)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Hi), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Lo), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    const __m256 e =
        _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
    const __m256i ni = _mm256_cvtps_epi32(n);
    const __m256i n1 = _mm256_srai_epi32(ni, 1);
    const __m256i n2 = _mm256_sub_epi32(ni, n1);
    const __m256i bias = _mm256_set1_epi32(127);
    const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
    const __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
    const __m256 out = _mm256_mul_ps(_mm256_mul_ps(e, s1), s2);
    // The integer path loses NaN (cvtps_epi32 gives INT_MIN); put it back.
    return _mm256_blendv_ps(out, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

inline __m256 silu_ps(__m256 z) {
    const __m256 e = exp_ps(_mm256_sub_ps(_mm256_setzero_ps(), z));
    return _mm256_div_ps(z, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

inline __m256 bf16x8_to_ps(__m128i h) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

inline float hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

#endif

// Array forms, also the test hooks for the vector math (defined in elementwise.cpp).
void exp_array(const float* x, std::int64_t n, float* y);
void silu_array(const float* x, std::int64_t n, float* y);
void softplus_array(const float* x, std::int64_t n, float* y);

}  // namespace statescope::kernels::cpu
