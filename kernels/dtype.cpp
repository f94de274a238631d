#include "kernels/dtype.h"

#include "kernels/cpu/simd.h"

namespace statescope::kernels {

// Round to nearest even; overflow (|f| >= 65520, halfway above the largest half 65504) gives inf;
// results below 2^-14 become half subnormals (units of 2^-24), rounded the same way; NaN stays a
// quiet NaN with the sign and the top mantissa bits kept.
std::uint16_t f32_to_f16(float f) {
    std::uint32_t bits;
    std::memcpy(&bits, &f, 4);
    const std::uint16_t sign = std::uint16_t((bits >> 16) & 0x8000u);
    const std::uint32_t abs = bits & 0x7fffffffu;
    if (abs > 0x7f800000u) return std::uint16_t(sign | 0x7e00u | ((abs >> 13) & 0x3ffu));
    if (abs >= 0x477ff000u) return std::uint16_t(sign | 0x7c00u);
    if (abs >= 0x38800000u) {  // normal half: rebias the exponent, round the 13 dropped bits
        std::uint32_t h = ((abs >> 23) - 127u + 15u) << 10 | ((abs >> 13) & 0x3ffu);
        const std::uint32_t rem = abs & 0x1fffu;
        if (rem > 0x1000u || (rem == 0x1000u && (h & 1u)))
            ++h;  // a carry into the exponent is right
        return std::uint16_t(sign | h);
    }
    // Subnormal half (or zero): value = m * 2^(e - 150) with the implicit bit in m, i.e.
    // m >> (126 - e) units of 2^-24.
    const std::uint32_t e = abs >> 23;
    const std::uint32_t shift = 126u - e;
    if (e == 0 || shift > 24u) return sign;  // below half the smallest subnormal 2^-25: rounds to 0
    const std::uint32_t m = (abs & 0x7fffffu) | 0x800000u;
    std::uint32_t h = m >> shift;
    const std::uint32_t rem = m & ((1u << shift) - 1u);
    const std::uint32_t half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (h & 1u))) ++h;  // 0x3ff + 1 = 0x400 is the smallest normal
    return std::uint16_t(sign | h);
}

void widen_to_f32(const void* src, DType t, std::size_t n, float* dst) {
    if (n == 0) return;
    if (t == DType::F32) {
        std::memcpy(dst, src, n * 4);
        return;
    }
    const auto* h = static_cast<const std::uint16_t*>(src);
    std::size_t i = 0;
#if defined(STATESCOPE_CPU_AVX512)
    if (t == DType::BF16) {
        for (; i + 16 <= n; i += 16) {
            const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(h + i));
            _mm512_storeu_ps(dst + i, cpu::bf16x16_to_ps(v));
        }
    } else {
        for (; i + 16 <= n; i += 16) {
            const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(h + i));
            _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(v));
        }
    }
#elif defined(STATESCOPE_CPU_AVX2)
    if (t == DType::BF16) {
        for (; i + 8 <= n; i += 8) {
            const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i));
            _mm256_storeu_ps(dst + i, cpu::bf16x8_to_ps(v));
        }
    } else {
        for (; i + 8 <= n; i += 8) {
            const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i));
            _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(v));
        }
    }
#endif
    if (t == DType::BF16) {
        for (; i < n; ++i) dst[i] = bf16_to_f32(h[i]);
    } else {
        for (; i < n; ++i) dst[i] = f16_to_f32(h[i]);
    }
}

}  // namespace statescope::kernels
