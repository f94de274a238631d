// f32 <-> f16/bf16 conversions and widen_to_f32: exhaustive over the 16-bit encodings.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "kernel_test_util.h"
#include "kernels/dtype.h"

namespace statescope::kernels::test {
namespace {

std::uint32_t bits_of(float f) {
    std::uint32_t b;
    std::memcpy(&b, &f, 4);
    return b;
}
float from_bits(std::uint32_t b) {
    float f;
    std::memcpy(&f, &b, 4);
    return f;
}

bool is_f16_nan(std::uint16_t h) {
    return (h & 0x7c00u) == 0x7c00u && (h & 0x3ffu) != 0;
}
bool is_bf16_nan(std::uint16_t h) {
    return (h & 0x7f80u) == 0x7f80u && (h & 0x7fu) != 0;
}

TEST(KernelDType, F16ToF32KnownValues) {
    EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
    EXPECT_EQ(f16_to_f32(0xc000), -2.0f);
    EXPECT_EQ(f16_to_f32(0x7bff), 65504.0f);
    EXPECT_EQ(f16_to_f32(0x0400), std::ldexp(1.0f, -14));  // smallest normal
    EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
    EXPECT_EQ(f16_to_f32(0x03ff), std::ldexp(1023.0f, -24));
    EXPECT_EQ(bits_of(f16_to_f32(0x8000)), 0x80000000u);  // -0
    EXPECT_EQ(f16_to_f32(0x7c00), std::numeric_limits<float>::infinity());
    EXPECT_EQ(f16_to_f32(0xfc00), -std::numeric_limits<float>::infinity());
    EXPECT_TRUE(std::isnan(f16_to_f32(0x7e00)));
}

// Every finite half survives f16 -> f32 -> f16; every NaN stays a NaN with its sign.
TEST(KernelDType, F16RoundTripAllEncodings) {
    for (std::uint32_t h = 0; h < 0x10000u; ++h) {
        const float f = f16_to_f32(std::uint16_t(h));
        const std::uint16_t back = f32_to_f16(f);
        if (is_f16_nan(std::uint16_t(h))) {
            EXPECT_TRUE(is_f16_nan(back)) << std::hex << h;
            EXPECT_EQ(back & 0x8000u, h & 0x8000u) << std::hex << h;
        } else {
            ASSERT_EQ(back, h) << std::hex << h;
        }
    }
}

// Round to nearest even at every boundary: the midpoint of two adjacent halves (exact in fp32)
// goes to the even one, one fp32 ulp either side goes to the nearer one. Covers the subnormals
// (0 / 2^-24 midpoint included), the subnormal-normal boundary, and overflow: 65520, the midpoint
// of 65504 and 2^16, rounds to inf; just below it to 65504.
TEST(KernelDType, F16RoundsToNearestEvenAtEveryMidpoint) {
    for (std::uint32_t h = 0; h < 0x7c00u; ++h) {
        for (std::uint32_t sign : {0u, 0x8000u}) {
            const std::uint16_t lo = std::uint16_t(h | sign);
            const std::uint16_t hi = std::uint16_t((h + 1) | sign);  // 0x7c00 (inf) after 0x7bff
            const float a = f16_to_f32(lo);
            const float b = h + 1 == 0x7c00u ? (sign ? -65536.0f : 65536.0f) : f16_to_f32(hi);
            const float mid = (a + b) / 2;  // exact: 11 significant bits + 1
            ASSERT_EQ(f32_to_f16(mid), (h & 1u) ? hi : lo) << std::hex << h << " sign " << sign;
            ASSERT_EQ(f32_to_f16(std::nextafter(mid, a)), lo) << std::hex << h;
            ASSERT_EQ(f32_to_f16(std::nextafter(mid, b)), hi) << std::hex << h;
        }
    }
}

TEST(KernelDType, F16SpecialInputs) {
    const float inf = std::numeric_limits<float>::infinity();
    EXPECT_EQ(f32_to_f16(inf), 0x7c00);
    EXPECT_EQ(f32_to_f16(-inf), 0xfc00);
    EXPECT_EQ(f32_to_f16(1e10f), 0x7c00);
    EXPECT_EQ(f32_to_f16(std::numeric_limits<float>::max()), 0x7c00);
    EXPECT_EQ(f32_to_f16(-0.0f), 0x8000);
    EXPECT_EQ(f32_to_f16(1e-30f), 0x0000);  // far below 2^-25
    EXPECT_EQ(f32_to_f16(std::numeric_limits<float>::denorm_min()), 0x0000);
    EXPECT_EQ(f32_to_f16(-std::numeric_limits<float>::denorm_min()), 0x8000);
    EXPECT_TRUE(is_f16_nan(f32_to_f16(std::nanf(""))));
    EXPECT_TRUE(is_f16_nan(f32_to_f16(from_bits(0x7f800001u))));  // NaN with only low payload bits
    EXPECT_TRUE(is_f16_nan(f32_to_f16(from_bits(0xff800001u))));
    EXPECT_EQ(f32_to_f16(from_bits(0xff800001u)) & 0x8000, 0x8000);
}

TEST(KernelDType, BF16RoundTripAllEncodings) {
    for (std::uint32_t h = 0; h < 0x10000u; ++h) {
        const float f = bf16_to_f32(std::uint16_t(h));
        EXPECT_EQ(bits_of(f), h << 16);
        const std::uint16_t back = f32_to_bf16(f);
        if (is_bf16_nan(std::uint16_t(h))) {
            EXPECT_TRUE(is_bf16_nan(back)) << std::hex << h;
        } else {
            ASSERT_EQ(back, h) << std::hex << h;
        }
    }
}

// As for f16: every midpoint of adjacent bf16 values (incl. subnormals and the step to inf) goes to
// the even neighbour; the fp32 values either side go to the nearer one.
TEST(KernelDType, BF16RoundsToNearestEvenAtEveryMidpoint) {
    for (std::uint32_t h = 0; h < 0x7f80u; ++h) {
        for (std::uint32_t sign : {0u, 0x8000u}) {
            const std::uint16_t lo = std::uint16_t(h | sign);
            const std::uint16_t hi = std::uint16_t((h + 1) | sign);
            const std::uint32_t mid_bits = ((h | sign) << 16) | 0x8000u;  // halfway, exact in fp32
            ASSERT_EQ(f32_to_bf16(from_bits(mid_bits)), (h & 1u) ? hi : lo) << std::hex << h;
            ASSERT_EQ(f32_to_bf16(from_bits(mid_bits - 1)), lo) << std::hex << h;
            ASSERT_EQ(f32_to_bf16(from_bits(mid_bits + 1)), hi) << std::hex << h;
        }
    }
    EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::infinity()), 0x7f80);
    EXPECT_TRUE(is_bf16_nan(f32_to_bf16(from_bits(0x7f800001u))));  // low payload: still NaN
}

// widen_to_f32 = the scalar conversions, for lengths around the 16-lane vector width.
TEST(KernelDType, WidenMatchesScalarConversions) {
    Rng rng(7);
    for (std::size_t n : {0u, 1u, 7u, 8u, 9u, 15u, 16u, 17u, 33u, 100u, 1000u}) {
        std::vector<std::uint16_t> h(n);
        for (auto& v : h) v = std::uint16_t(rng.integer(0, 0xffff));
        if (n > 3) h[3] = 0x7c00;  // +inf as f16
        for (DType t : {DType::BF16, DType::F16}) {
            std::vector<float> out(n + 1, 123.0f);
            widen_to_f32(h.data(), t, n, out.data());
            for (std::size_t i = 0; i < n; ++i) {
                const float want = t == DType::BF16 ? bf16_to_f32(h[i]) : f16_to_f32(h[i]);
                if (std::isnan(want)) {
                    EXPECT_TRUE(std::isnan(out[i])) << i;
                } else {
                    ASSERT_EQ(bits_of(out[i]), bits_of(want))
                        << dtype_name(t) << " n " << n << " i " << i;
                }
            }
            EXPECT_EQ(out[n], 123.0f) << "wrote past n";
        }
        std::vector<float> f = rng.vec(n), out(n + 1, 123.0f);
        widen_to_f32(f.data(), DType::F32, n, out.data());
        for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(out[i], f[i]);
        EXPECT_EQ(out[n], 123.0f);
    }
}

// All 65536 halves through the vector path at once (F16C/AVX-512 conversion vs the scalar one).
TEST(KernelDType, WidenAllF16Encodings) {
    std::vector<std::uint16_t> h(0x10000);
    for (std::uint32_t i = 0; i < 0x10000u; ++i) h[i] = std::uint16_t(i);
    std::vector<float> out(h.size());
    widen_to_f32(h.data(), DType::F16, h.size(), out.data());
    for (std::uint32_t i = 0; i < 0x10000u; ++i) {
        if (is_f16_nan(h[i]))
            ASSERT_TRUE(std::isnan(out[i])) << std::hex << i;
        else
            ASSERT_EQ(bits_of(out[i]), bits_of(f16_to_f32(h[i]))) << std::hex << i;
    }
}

}  // namespace
}  // namespace statescope::kernels::test
