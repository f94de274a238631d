// rmsnorm and gated_rmsnorm against double references.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernel_test_util.h"

namespace statescope::kernels::test {
namespace {

// Each output is x * r * w with r = rsqrt(mean(x^2) + eps): the kernel sums the squares in double,
// then the sqrt, division and two fp32 products add ~4 ulp (2.4e-7). 1e-6 relative (~8 ulp) holds
// in every build (measured <= 3.8e-7) and still catches a wrong mean or a skipped element.
constexpr double kNormTol = 1e-6;

void check_rmsnorm(std::int64_t T, std::int64_t D, bool with_weight, bool wide, bool in_place,
                   std::uint32_t seed) {
    SCOPED_TRACE(testing::Message() << "T " << T << " D " << D << " weight " << with_weight
                                    << " wide " << wide << " in_place " << in_place);
    Rng rng(seed);
    const float eps = 1e-5f;
    const std::vector<float> x_dense = rng.vec(std::size_t(T * D), -3.0f, 3.0f);
    const std::vector<float> weight = rng.vec(std::size_t(D), 0.5f, 1.5f);
    const std::int64_t x_stride = wide ? D + 7 : D;
    std::vector<float> x = strided(x_dense, T, D, x_stride);
    const std::int64_t y_stride = in_place ? x_stride : (wide ? D + 2 : D);
    const float sentinel = -5.0f;
    std::vector<float> y_own(std::size_t(T * y_stride), sentinel);
    float* y = in_place ? x.data() : y_own.data();

    backend()->rmsnorm(x.data(), x_stride, T, D, with_weight ? weight.data() : nullptr, eps, y,
                       y_stride);

    std::vector<double> want(std::size_t(T * D)), scale(std::size_t(T * D));
    for (std::int64_t t = 0; t < T; ++t) {
        double ss = 0.0;
        for (std::int64_t i = 0; i < D; ++i) ss += double(x_dense[t * D + i]) * x_dense[t * D + i];
        const double r = 1.0 / std::sqrt(ss / double(D) + eps);
        for (std::int64_t i = 0; i < D; ++i) {
            want[t * D + i] = x_dense[t * D + i] * r * (with_weight ? weight[i] : 1.0);
            scale[t * D + i] = std::abs(want[t * D + i]) + 1e-30;
        }
    }
    expect_close(y, y_stride, want, scale, T, D, kNormTol, "rmsnorm");
    if (!in_place) expect_padding_untouched(y_own, T, D, y_stride, sentinel);
}

TEST(KernelRmsNorm, ShapesStridesWeights) {
    std::uint32_t seed = 100;
    for (std::int64_t T : {1, 5, 33})
        for (std::int64_t D : {1, 3, 16, 17, 67, 768, 4096})
            for (bool weight : {false, true})
                for (bool wide : {false, true})
                    for (bool in_place : {false, true})
                        check_rmsnorm(T, D, weight, wide, in_place, seed++);
}

// A row of zeros normalizes to zeros (rsqrt(eps) stays finite).
TEST(KernelRmsNorm, ZeroRow) {
    std::vector<float> x(16, 0.0f), y(16, 1.0f);
    backend()->rmsnorm(x.data(), 16, 1, 16, nullptr, 1e-6f, y.data(), 16);
    for (float v : y) EXPECT_EQ(v, 0.0f);
}

void check_gated(std::int64_t T, std::int64_t I, std::int64_t group_size, bool norm_before_gate,
                 bool with_weight, bool wide_z, bool in_place, std::uint32_t seed) {
    SCOPED_TRACE(testing::Message()
                 << "T " << T << " I " << I << " group " << group_size << " norm_before_gate "
                 << norm_before_gate << " weight " << with_weight << " wide_z " << wide_z
                 << " in_place " << in_place);
    Rng rng(seed);
    const float eps = 1e-5f;
    const std::vector<float> y_dense = rng.vec(std::size_t(T * I), -2.0f, 2.0f);
    const std::vector<float> z_dense = rng.vec(std::size_t(T * I), -6.0f, 6.0f);
    const std::vector<float> weight = rng.vec(std::size_t(I), 0.5f, 1.5f);
    const std::int64_t z_stride = wide_z ? I + 9 : I;
    const std::vector<float> z = strided(z_dense, T, I, z_stride);
    std::vector<float> y = y_dense, out_own(std::size_t(T * I), -1.0f);
    float* out = in_place ? y.data() : out_own.data();

    backend()->gated_rmsnorm(y.data(), z.data(), z_stride, T, I, group_size,
                             with_weight ? weight.data() : nullptr, eps, norm_before_gate, out);

    std::vector<double> want(std::size_t(T * I)), scale(std::size_t(T * I));
    for (std::int64_t t = 0; t < T; ++t) {
        for (std::int64_t g0 = 0; g0 < I; g0 += group_size) {
            std::vector<double> h(static_cast<std::size_t>(group_size));
            double ss = 0.0;
            for (std::int64_t i = 0; i < group_size; ++i) {
                const double yv = y_dense[t * I + g0 + i];
                h[i] = norm_before_gate ? yv : yv * silu_d(z_dense[t * I + g0 + i]);
                ss += h[i] * h[i];
            }
            const double r = 1.0 / std::sqrt(ss / double(group_size) + eps);
            for (std::int64_t i = 0; i < group_size; ++i) {
                const std::int64_t k = t * I + g0 + i;
                double v = h[i] * r * (with_weight ? weight[g0 + i] : 1.0);
                if (norm_before_gate) v *= silu_d(z_dense[k]);
                want[k] = v;
                scale[k] = std::abs(v) + 1e-30;
            }
        }
    }
    // silu adds ~3 ulp (vector exp + division) to kNormTol's budget: 2e-6 relative.
    expect_close(out, I, want, scale, T, I, 2e-6, "gated_rmsnorm");
}

// Group counts G = 1, 2, 4 (group_size = I / G), both gate orders, odd widths, z inside a wider
// row (as it is inside the in_proj output), and out aliasing y.
TEST(KernelGatedRmsNorm, GroupsGateOrderStrides) {
    std::uint32_t seed = 300;
    for (std::int64_t T : {1, 5, 33})
        for (std::int64_t I : {4, 68, 96, 1024, 1028})
            for (std::int64_t G : {1, 2, 4})
                for (bool nbg : {false, true})
                    for (bool weight : {false, true})
                        for (bool wide : {false, true})
                            for (bool in_place : {false, true})
                                check_gated(T, I, I / G, nbg, weight, wide, in_place, seed++);
    for (bool nbg : {false, true}) check_gated(3, 67, 67, nbg, true, true, false, seed++);
    for (bool nbg : {false, true}) check_gated(2, 17, 1, nbg, true, false, true, seed++);
}

}  // namespace
}  // namespace statescope::kernels::test
