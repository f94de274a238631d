// Element types of weights as they lie in a checkpoint. Activations and recurrent state are always fp32.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace statescope::kernels {

enum class DType : std::uint8_t { F32, BF16, F16 };

constexpr std::size_t dtype_size(DType t) { return t == DType::F32 ? 4 : 2; }

constexpr std::string_view dtype_name(DType t) {
    switch (t) {
        case DType::F32: return "F32";
        case DType::BF16: return "BF16";
        case DType::F16: return "F16";
    }
    return "?";
}

// bf16 is the top half of an fp32: widening is a shift.
inline float bf16_to_f32(std::uint16_t h) {
    std::uint32_t bits = std::uint32_t(h) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

// Round to nearest even, as torch's .to(torch.bfloat16) does; NaN stays NaN.
inline std::uint16_t f32_to_bf16(float f) {
    std::uint32_t bits;
    std::memcpy(&bits, &f, 4);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return std::uint16_t((bits >> 16) | 0x40);
    bits += 0x7fffu + ((bits >> 16) & 1u);
    return std::uint16_t(bits >> 16);
}

// IEEE half -> float, including subnormals, inf and NaN.
inline float f16_to_f32(std::uint16_t h) {
    std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16;
    std::uint32_t exp = (h >> 10) & 0x1fu;
    std::uint32_t mant = h & 0x3ffu;
    std::uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else {  // subnormal: renormalize
            int e = -1;
            do {
                ++e;
                mant <<= 1;
            } while ((mant & 0x400u) == 0);
            bits = sign | (std::uint32_t(127 - 15 - e) << 23) | ((mant & 0x3ffu) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

// float -> IEEE half, round to nearest even (used by tests and benchmarks to make f16 weights).
std::uint16_t f32_to_f16(float f);

// Widen n elements of type `t` at `src` into fp32 `dst`.
void widen_to_f32(const void* src, DType t, std::size_t n, float* dst);

}  // namespace statescope::kernels
