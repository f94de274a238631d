// rope against a double reference (angles from the fp32 product, as transformers computes them).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernel_test_util.h"

namespace statescope::kernels::test {
namespace {

void check_rope(std::int64_t T, std::int64_t heads, std::int64_t head_dim, std::int64_t rotary_dim,
                std::int64_t pos0, double theta, bool wide, std::uint32_t seed) {
    SCOPED_TRACE(testing::Message()
                 << "T " << T << " heads " << heads << " hd " << head_dim << " rot " << rotary_dim
                 << " pos0 " << pos0 << " theta " << theta);
    Rng rng(seed);
    const std::int64_t W = heads * head_dim, stride = wide ? W + 9 : W;
    const std::vector<float> dense = rng.vec(std::size_t(T * W));
    std::vector<float> x = strided(dense, T, W, stride);
    std::vector<float> inv(static_cast<std::size_t>(rotary_dim / 2));
    for (std::int64_t j = 0; j < rotary_dim / 2; ++j)
        inv[j] = float(1.0 / std::pow(theta, double(2 * j) / double(rotary_dim)));
    backend()->rope(x.data(), stride, T, heads, head_dim, rotary_dim, pos0, inv.data());
    std::vector<double> want(dense.begin(), dense.end()), scale(std::size_t(T * W), 0.0);
    const std::int64_t half = rotary_dim / 2;
    for (std::int64_t t = 0; t < T; ++t)
        for (std::int64_t h = 0; h < heads; ++h) {
            const std::int64_t base = t * W + h * head_dim;
            for (std::int64_t j = 0; j < half; ++j) {
                const double ang = double(float(pos0 + t) * inv[j]);
                const double a = dense[base + j], b = dense[base + j + half];
                want[base + j] = a * std::cos(ang) - b * std::sin(ang);
                want[base + j + half] = b * std::cos(ang) + a * std::sin(ang);
            }
            // error scale: |x[d]| + |x[partner]| inside the rotary dims, |x[d]| past them
            for (std::int64_t d = 0; d < head_dim; ++d) {
                const std::int64_t partner = d < half ? d + half : d - half;
                scale[base + d] = std::abs(double(dense[base + d])) + 1e-30 +
                                  (d < rotary_dim ? std::abs(double(dense[base + partner])) : 0.0);
            }
        }
    // two fp32 products and a sum, cos/sin rounded once: ~4 ulp of |a| + |b|
    expect_close(x.data(), stride, want, scale, T, W, 6e-7, "rope");
    expect_padding_untouched(x, T, W, stride, std::nanf(""));
}

TEST(KernelRope, FullPartialPositions) {
    std::uint32_t seed = 300;
    for (std::int64_t T : {1, 7})
        for (std::int64_t hd : {8, 64})
            for (std::int64_t rot : {hd, hd / 2})
                for (std::int64_t pos0 : {0, 5, 4093})
                    for (double theta : {10000.0, 1e11})
                        for (bool wide : {false, true})
                            check_rope(T, 3, hd, rot, pos0, theta, wide, seed++);
}

// Dims past rotary_dim pass through bit for bit.
TEST(KernelRope, PassThroughTail) {
    Rng rng(1);
    const std::int64_t hd = 16, rot = 8, heads = 2;
    std::vector<float> x = rng.vec(std::size_t(heads * hd));
    const std::vector<float> x0 = x;
    std::vector<float> inv(std::size_t(rot / 2), 0.3f);
    backend()->rope(x.data(), heads * hd, 1, heads, hd, rot, 11, inv.data());
    for (std::int64_t h = 0; h < heads; ++h)
        for (std::int64_t d = rot; d < hd; ++d) EXPECT_EQ(x[h * hd + d], x0[h * hd + d]);
    EXPECT_NE(x[0], x0[0]);
}

}  // namespace
}  // namespace statescope::kernels::test
