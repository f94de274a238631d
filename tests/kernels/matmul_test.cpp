// matmul: y[t, o] = sum_i x[t, i] W[o, i] + bias[o], against a double reference on the exact
// (already rounded) weight values, for both kernels (the streaming kernel below T = 32 for F32 and
// T = 128 for BF16/F16, OpenBLAS sgemm from there) and every dtype.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernel_test_util.h"

namespace statescope::kernels::test {
namespace {

// fp32 accumulation of n <= 4096 products: the worst case is n * 2^-24 * sum|x w| (2.4e-4), but
// the kernels sum in 16 lanes / sgemm blocks, so observed errors stay near sqrt(n) * 2^-24
// (~4e-6 at n = 4096; measured <= 2.4e-7 here); 1e-5 of sum |x w| leaves margin without hiding a
// wrong term (one missing product of a random row is ~1e-2 of the sum).
constexpr double kTol = 1e-5;

void check_matmul(DType dtype, std::int64_t rows, std::int64_t cols, std::int64_t T, bool with_bias,
                  bool wide, std::uint32_t seed) {
    SCOPED_TRACE(testing::Message() << dtype_name(dtype) << " rows " << rows << " cols " << cols
                                    << " T " << T << " bias " << with_bias << " wide " << wide);
    Rng rng(seed);
    const TestWeight W = make_weight(dtype, rows, cols, rng);
    const std::vector<float> x_dense = rng.vec(std::size_t(T * cols));
    const std::vector<float> bias = rng.vec(std::size_t(rows));
    const std::int64_t x_stride = wide ? cols + 5 : cols;
    const std::int64_t y_stride = wide ? rows + 3 : rows;
    const std::vector<float> x = strided(x_dense, T, cols, x_stride);
    const float sentinel = -777.0f;
    std::vector<float> y(std::size_t(T * y_stride), sentinel);

    backend()->matmul(x.data(), x_stride, T, W.view(), with_bias ? bias.data() : nullptr, y.data(),
                      y_stride);

    std::vector<double> want(std::size_t(T * rows)), scale(std::size_t(T * rows));
    for (std::int64_t t = 0; t < T; ++t) {
        for (std::int64_t o = 0; o < rows; ++o) {
            double s = with_bias ? bias[o] : 0.0, a = with_bias ? std::abs(bias[o]) : 0.0;
            for (std::int64_t i = 0; i < cols; ++i) {
                const double p = double(x_dense[t * cols + i]) * W.values[o * cols + i];
                s += p;
                a += std::abs(p);
            }
            want[t * rows + o] = s;
            scale[t * rows + o] = a;
        }
    }
    expect_close(y.data(), y_stride, want, scale, T, rows, kTol, "matmul");
    expect_padding_untouched(y, T, rows, y_stride, sentinel);
}

TEST(KernelMatmul, OddShapesEveryDTypeAndPath) {
    std::uint32_t seed = 1;
    for (DType dtype : kAllDTypes)
        for (std::int64_t rows : {1, 3, 17, 67})
            for (std::int64_t cols : {1, 3, 16, 17, 67, 130})
                for (std::int64_t T : {1, 2, 3, 4, 5, 33})
                    for (bool bias : {false, true})
                        for (bool wide : {false, true})
                            check_matmul(dtype, rows, cols, T, bias, wide, seed++);
}

// Decode-sized projections: threaded GEMV (several rows per iteration, row tails per thread).
TEST(KernelMatmul, DecodeShapes) {
    for (DType dtype : kAllDTypes) {
        check_matmul(dtype, 1536, 768, 1, false, false, 11);
        check_matmul(dtype, 3072, 768, 2, true, true, 12);
        check_matmul(dtype, 771, 1536, 3, true, false, 13);
        check_matmul(dtype, 80, 1536, 1, false, true, 14);
        check_matmul(dtype, 1536, 48, 1, true, false, 15);  // dt_proj: short rows
    }
}

// Prefill-sized: the streaming kernel over several L2 tiles per thread (1000 rows of 4096 columns:
// 32 F32 / 64 BF16 rows per tile) and several 4-token groups, and threaded sgemm, for BF16/F16 on
// several widened tiles per thread (64 rows of 4096 columns per tile, a partial last one).
TEST(KernelMatmul, PrefillShapes) {
    for (DType dtype : kAllDTypes) {
        check_matmul(dtype, 1000, 4096, 5, true, true, 21);
        check_matmul(dtype, 517, 768, 31, false, false, 22);
        check_matmul(dtype, 517, 768, 64, true, false, 23);
        check_matmul(dtype, 300, 4096, 130, true, true, 24);
        check_matmul(dtype, 33, 100, 200, true, true, 25);
    }
}

TEST(KernelMatmul, ZeroColumnsGiveBias) {
    const std::vector<float> bias = {1.0f, -2.0f, 3.0f};
    std::vector<float> x(8, 0.0f), y(6, 99.0f);
    Weight W;
    W.data = x.data();
    W.rows = 3;
    W.cols = 0;
    backend()->matmul(x.data(), 0, 2, W, bias.data(), y.data(), 3);
    EXPECT_EQ(y, (std::vector<float>{1, -2, 3, 1, -2, 3}));
    backend()->matmul(x.data(), 0, 2, W, nullptr, y.data(), 3);
    EXPECT_EQ(y, std::vector<float>(6, 0.0f));
}

}  // namespace
}  // namespace statescope::kernels::test
