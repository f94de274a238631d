// embedding, add, softplus, and the backend's memory functions.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "kernel_test_util.h"

namespace statescope::kernels::test {
namespace {

TEST(KernelBackend, NameAndMemory) {
    auto& b = backend();
    EXPECT_EQ(b->name(), "cpu");
    for (std::size_t bytes :
         {std::size_t(0), std::size_t(1), std::size_t(100), std::size_t(1) << 20}) {
        auto buf = b->alloc(bytes);
        ASSERT_NE(buf->data(), nullptr);
        EXPECT_EQ(buf->bytes(), bytes);
        EXPECT_EQ(reinterpret_cast<std::uintptr_t>(buf->data()) % 64, 0u) << "64-byte aligned";
        const auto* p = static_cast<const unsigned char*>(buf->data());
        for (std::size_t i = 0; i < bytes; ++i)
            ASSERT_EQ(p[i], 0) << "alloc() returns zeroed memory";
    }
    std::vector<float> host = {1, 2, 3, 4}, back(4);
    auto buf = b->alloc(16);
    b->copy_from_host(host.data(), buf->data(), 16);
    EXPECT_EQ(buf->f32()[2], 3.0f);
    auto buf2 = b->alloc(16);
    b->copy(buf->data(), buf2->data(), 16);
    b->copy_to_host(buf2->data(), back.data(), 16);
    EXPECT_EQ(back, host);
    b->copy(buf->data(), buf2->data(), 0);  // zero bytes: no-op

    const TestWeight w = [] {
        Rng rng(1);
        return make_weight(DType::BF16, 3, 5, rng);
    }();
    std::unique_ptr<Buffer> keep;
    const Weight up = b->upload(w.view(), &keep);
    EXPECT_EQ(up.data, w.view().data) << "the CPU backend uses the host weight as is";
    EXPECT_EQ(up.dtype, DType::BF16);
    EXPECT_EQ(up.rows, 3);
    EXPECT_EQ(up.cols, 5);
    EXPECT_EQ(keep, nullptr);
}

// Widening is exact: the rows must equal the rounded values bit for bit.
TEST(KernelEmbedding, EveryDTypeExact) {
    Rng rng(2);
    for (DType dtype : kAllDTypes) {
        for (std::int64_t D : {1, 17, 768}) {
            SCOPED_TRACE(testing::Message() << dtype_name(dtype) << " D " << D);
            const std::int64_t V = 67;
            const TestWeight table = make_weight(dtype, V, D, rng, -3.0f, 3.0f);
            const std::vector<std::int32_t> ids = {0, 66, 5, 5, 31, 1, 66};
            const auto T = std::int64_t(ids.size());
            std::vector<float> out(std::size_t(T * D), -1.0f);
            backend()->embedding(table.view(), ids.data(), T, out.data());
            for (std::int64_t t = 0; t < T; ++t)
                for (std::int64_t i = 0; i < D; ++i)
                    ASSERT_EQ(out[t * D + i], table.values[ids[t] * D + i])
                        << "t " << t << " i " << i;
        }
    }
}

TEST(KernelAdd, ExactSums) {
    Rng rng(3);
    for (std::int64_t n : {0, 1, 15, 16, 17, 1000}) {
        std::vector<float> y = rng.vec(std::size_t(n + 1)), x = rng.vec(std::size_t(n));
        std::vector<float> want = y;
        for (std::int64_t i = 0; i < n; ++i) want[i] = y[i] + x[i];  // one fp32 add: exact match
        backend()->add(y.data(), x.data(), n);
        EXPECT_EQ(y, want) << "n " << n;
    }
}

double softplus_d(double v) {
    return v > 20.0 ? v : std::log1p(std::exp(v));
}

// delta = clamp(softplus(dt + bias), lo, hi). The reference applies softplus to the fp32 sum
// dt + bias (the kernel's input). 5e-7 relative: the vector exp + log (see KernelVecMath).
TEST(KernelSoftplus, BiasClampStrides) {
    Rng rng(4);
    for (std::int64_t T : {1, 5, 33}) {
        for (std::int64_t C : {1, 3, 17, 48, 67}) {
            for (bool with_bias : {false, true}) {
                for (auto [lo, hi] : {std::pair{0.0f, INFINITY}, std::pair{1e-3f, INFINITY},
                                      std::pair{0.05f, 2.0f}}) {
                    SCOPED_TRACE(testing::Message() << "T " << T << " C " << C << " bias "
                                                    << with_bias << " lo " << lo << " hi " << hi);
                    const std::vector<float> dt_dense = rng.vec(std::size_t(T * C), -30.0f, 30.0f);
                    const std::vector<float> bias = rng.vec(std::size_t(C), -4.0f, 4.0f);
                    const std::int64_t stride = C + 13;  // dt is the tail of a wider row
                    const std::vector<float> dt = strided(dt_dense, T, C, stride);
                    std::vector<float> delta(std::size_t(T * C));
                    backend()->softplus(dt.data(), stride, T, C, with_bias ? bias.data() : nullptr,
                                        lo, hi, delta.data());
                    std::vector<double> want(delta.size()), scale(delta.size());
                    for (std::int64_t t = 0; t < T; ++t)
                        for (std::int64_t c = 0; c < C; ++c) {
                            const float v = dt_dense[t * C + c] + (with_bias ? bias[c] : 0.0f);
                            const double s =
                                std::min(std::max(softplus_d(v), double(lo)), double(hi));
                            want[t * C + c] = s;
                            scale[t * C + c] = std::abs(s) + 1e-38;
                        }
                    expect_close(delta.data(), C, want, scale, T, C, 5e-7, "softplus");
                }
            }
        }
    }
}

// The threshold: above 20 the result is v itself (bit for bit); at and below, log1p(exp(v)).
// The clamp applies after, including to the identity branch.
TEST(KernelSoftplus, ThresholdAndClampEdges) {
    const float above = std::nextafter(20.0f, 30.0f);
    std::vector<float> dt = {above, 25.5f, 20.0f, 19.5f, 0.0f, -20.0f, -100.0f, 1e30f};
    std::vector<float> out(dt.size());
    const auto n = std::int64_t(dt.size());
    backend()->softplus(dt.data(), n, 1, n, nullptr, 0.0f, INFINITY, out.data());
    EXPECT_EQ(out[0], above);
    EXPECT_EQ(out[1], 25.5f);
    EXPECT_EQ(out[2], 20.0f);  // log1p(e^20) = 20 + 2.1e-9: rounds to 20
    EXPECT_NEAR(out[3], std::log1p(std::exp(19.5)), 2e-6);
    EXPECT_NEAR(out[4], std::log(2.0), 1e-7);
    EXPECT_NEAR(out[5], 2.0611536e-9, 2e-15);
    EXPECT_GE(out[6], 0.0f);
    EXPECT_EQ(out[7], 1e30f);

    backend()->softplus(dt.data(), n, 1, n, nullptr, 1e-3f, 22.0f, out.data());
    EXPECT_EQ(out[0], above);
    EXPECT_EQ(out[1], 22.0f) << "hi clamps the identity branch too";
    EXPECT_EQ(out[5], 1e-3f) << "lo (time_step_min) clamps tiny deltas";
    EXPECT_EQ(out[6], 1e-3f);
    EXPECT_EQ(out[7], 22.0f);
}

}  // namespace
}  // namespace statescope::kernels::test
