// The vector exp / silu / softplus the kernels use (AVX-512 polynomial versions on this machine,
// the C library on a portable build), against double precision.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "kernel_test_util.h"
#include "kernels/cpu/simd.h"

namespace statescope::kernels::test {
namespace {

// Distance in units in the last place between two finite floats of the same sign.
std::int64_t ulp_distance(float a, float b) {
    std::int32_t ia, ib;
    std::memcpy(&ia, &a, 4);
    std::memcpy(&ib, &b, 4);
    if (ia < 0) ia = std::numeric_limits<std::int32_t>::min() - ia;
    if (ib < 0) ib = std::numeric_limits<std::int32_t>::min() - ib;
    return std::abs(std::int64_t(ia) - std::int64_t(ib));
}

// 4M points evenly over the whole finite range of exp, plus every float in [-1, 1] at a stride:
// normal results are within 2 ulp of the correctly rounded exp (measured: 1 ulp);
// subnormal results (x < -87.34) within 2 units of 2^-149 plus that relative error.
TEST(KernelVecMath, ExpAccuracy) {
    std::vector<float> x;
    const int n = 1 << 22;
    for (int i = 0; i <= n; ++i) x.push_back(-103.9f + (88.72f + 103.9f) * float(i) / float(n));
    for (float v = -1.0f; v <= 1.0f; v = std::nextafter(v, 2.0f) + 1e-6f) x.push_back(v);
    std::vector<float> y(x.size());
    cpu::exp_array(x.data(), std::int64_t(x.size()), y.data());
    std::int64_t worst_ulp = 0;
    float worst_x = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        const double want = std::exp(double(x[i]));
        const float want_f = float(want);
        if (want_f >= std::numeric_limits<float>::min()) {
            const std::int64_t u = ulp_distance(y[i], want_f);
            if (u > worst_ulp) {
                worst_ulp = u;
                worst_x = x[i];
            }
        } else {
            ASSERT_LE(std::abs(y[i] - want),
                      2 * std::numeric_limits<float>::denorm_min() + 2.4e-7 * want)
                << "x = " << x[i];
        }
    }
    EXPECT_LE(worst_ulp, 2) << "at x = " << worst_x;
    if (std::getenv("STATESCOPE_TEST_VERBOSE") != nullptr)
        std::printf("[exp] worst %lld ulp at x = %.9g\n", (long long)worst_ulp, worst_x);
}

TEST(KernelVecMath, ExpSpecialValues) {
    const float inf = std::numeric_limits<float>::infinity();
    std::vector<float> x = {0.0f,  -0.0f,   1.0f,    -inf,   inf,           88.8f,  100.0f,
                            1e30f, -104.0f, -200.0f, -1e30f, std::nanf(""), 88.72f, -87.3f};
    std::vector<float> y(x.size());
    cpu::exp_array(x.data(), std::int64_t(x.size()), y.data());
    EXPECT_EQ(y[0], 1.0f);
    EXPECT_EQ(y[1], 1.0f);
    EXPECT_NEAR(y[2], 2.7182817f, 3e-7f);
    EXPECT_EQ(y[3], 0.0f);
    EXPECT_EQ(y[4], inf);
    EXPECT_EQ(y[5], inf);
    EXPECT_EQ(y[6], inf);
    EXPECT_EQ(y[7], inf);
    EXPECT_EQ(y[8], 0.0f);
    EXPECT_EQ(y[9], 0.0f);
    EXPECT_EQ(y[10], 0.0f);
    EXPECT_TRUE(std::isnan(y[11]));
    EXPECT_TRUE(std::isfinite(y[12]));
    EXPECT_GT(y[13], 0.0f);
}

// silu(z) = z / (1 + exp(-z)): relative error <= 4e-7 (exp's 2 ulp, the add and the division).
TEST(KernelVecMath, SiluAccuracy) {
    std::vector<float> x;
    for (int i = 0; i <= 200000; ++i) x.push_back(-80.0f + 160.0f * float(i) / 200000.0f);
    x.push_back(0.0f);
    x.push_back(-1000.0f);
    x.push_back(1000.0f);
    std::vector<float> y(x.size());
    cpu::silu_array(x.data(), std::int64_t(x.size()), y.data());
    std::vector<double> want(x.size()), scale(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
        want[i] = silu_d(x[i]);
        scale[i] = std::abs(want[i]) + 1e-38;  // relative, with a floor for the underflowing tail
    }
    expect_close(y.data(), 1, want, scale, 1, std::int64_t(x.size()), 4e-7, "silu");
}

// softplus(v) = log1p(exp(v)) for v <= 20, v above: relative error <= 5e-7 (exp and log at ~2 ulp
// each; where softplus ~ exp(v) for v << 0, exp's error alone). Exactly v above 20.
TEST(KernelVecMath, SoftplusAccuracy) {
    std::vector<float> x;
    for (int i = 0; i <= 400000; ++i) x.push_back(-100.0f + 140.0f * float(i) / 400000.0f);
    for (float v : {0.0f, 20.0f, std::nextafter(20.0f, 30.0f), 19.99f, 1e-8f, -1e-8f, 88.0f, 1e6f})
        x.push_back(v);
    std::vector<float> y(x.size());
    cpu::softplus_array(x.data(), std::int64_t(x.size()), y.data());
    std::vector<double> want(x.size()), scale(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
        const double v = x[i];
        want[i] = v > 20.0 ? v : std::log1p(std::exp(v));
        scale[i] = std::abs(want[i]) + 1e-38;  // floor: exp(v) is subnormal below v = -87.3
        if (v > 20.0) {
            EXPECT_EQ(y[i], x[i]) << "above the threshold softplus is the identity";
        }
    }
    expect_close(y.data(), 1, want, scale, 1, std::int64_t(x.size()), 5e-7, "softplus");
}

}  // namespace
}  // namespace statescope::kernels::test
