// CUDA matmul (GEMV for T <= 8, cuBLASLt above) against the CPU matmul, every weight dtype, strided
// rows, bias, odd shapes that are no multiple of the 16-byte vectors or the GEMM tiles.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "cuda_test_util.h"

namespace statescope::kernels::test {
namespace {

// Tolerance, relative to sum_i |x_i w_i| + |bias| (the scale of a dot product's rounding error):
// - fp32 inputs (GEMV, and cuBLASLt with F32 weights, no TF32): two fp32 sums in different orders,
//   ~cols * 2^-24 worst case; 2e-5 covers cols up to ~300 in the worst case and far more in
//   practice.
// - BF16 / F16 weights with T > 8: x is rounded to the weight dtype for the tensor cores, one
//   rounding per product, at most the unit roundoff: 2^-8 = 3.9e-3 (bf16) and 2^-11 = 4.9e-4
//   (f16) of sum |x w|; 4e-3 and 1e-3 (the H200 showed 3.3e-3 and 4.6e-4).
double matmul_tol(DType dt, std::int64_t T) {
    if (T <= 8 || dt == DType::F32) return 2e-5;
    return dt == DType::BF16 ? 4e-3 : 1e-3;
}

struct Shape {
    std::int64_t rows, cols;
};

TEST(CudaMatmul, MatchesCpuForEveryDtypeAndShape) {
    STATESCOPE_REQUIRE_CUDA();
    Rng rng(11);
    const Shape shapes[] = {{1, 1}, {37, 19}, {64, 48}, {768, 1536}, {1003, 200}, {80, 1536}};
    const std::int64_t Ts[] = {1, 2, 8, 9, 64, 257};
    for (DType dt : kAllDTypes) {
        for (const Shape& s : shapes) {
            for (std::int64_t T : Ts) {
                for (bool with_bias : {false, true}) {
                    const std::int64_t x_stride = s.cols + 3, y_stride = s.rows + 5;
                    TestWeight w = make_weight(dt, s.rows, s.cols, rng);
                    std::vector<float> x =
                        strided(rng.vec(std::size_t(T * s.cols)), T, s.cols, x_stride);
                    std::vector<float> bias = rng.vec(std::size_t(s.rows));
                    std::vector<float> y_cpu(std::size_t(T * y_stride), -7.0f);
                    cpu().matmul(x.data(), x_stride, T, w.view(), with_bias ? bias.data() : nullptr,
                                 y_cpu.data(), y_stride);
                    Dev dx(x), db(bias), dy(std::vector<float>(y_cpu.size(), -7.0f));
                    DevWeight dw(w);
                    cuda().matmul(dx.get(), x_stride, T, dw.w, with_bias ? db.get() : nullptr,
                                  dy.get(), y_stride);
                    const std::vector<float> y = dy.host();
                    // Per-element scale: sum |x w| + |bias|.
                    std::vector<double> want(std::size_t(T * s.rows)), scale(want.size());
                    for (std::int64_t t = 0; t < T; ++t)
                        for (std::int64_t o = 0; o < s.rows; ++o) {
                            double a = with_bias ? std::abs(bias[o]) : 0.0;
                            for (std::int64_t i = 0; i < s.cols; ++i)
                                a += std::abs(double(x[t * x_stride + i]) *
                                              w.values[o * s.cols + i]);
                            want[t * s.rows + o] = y_cpu[t * y_stride + o];
                            scale[t * s.rows + o] = std::max(a, 1e-30);
                        }
                    const std::string what = "matmul " + std::string(dtype_name(dt)) + " " +
                                             std::to_string(s.rows) + "x" + std::to_string(s.cols) +
                                             " T=" + std::to_string(T) + (with_bias ? " bias" : "");
                    expect_close(y.data(), y_stride, want, scale, T, s.rows, matmul_tol(dt, T),
                                 what);
                    expect_padding_untouched(y, T, s.rows, y_stride, -7.0f);
                }
            }
        }
    }
}

// The decode GEMV at the projection shapes of the 2.8B models (rows x cols: in_proj, out_proj,
// x_proj, dt_proj, a Mamba-2 in_proj) and a few row counts that leave a part-filled block group,
// with 16-byte aligned rows (the vectorized path and every warps-per-row split the launcher picks).
TEST(CudaMatmul, GemvMatchesCpuAtDecodeShapes) {
    STATESCOPE_REQUIRE_CUDA();
    Rng rng(12);
    const Shape shapes[] = {{10240, 2560}, {2560, 5120}, {192, 5120}, {5120, 160},
                            {10576, 2560}, {1001, 4096}, {3, 8192}};
    for (DType dt : kAllDTypes) {
        for (const Shape& s : shapes) {
            for (std::int64_t T : {1, 3, 8}) {
                const std::int64_t x_stride = s.cols, y_stride = s.rows + 4;
                TestWeight w = make_weight(dt, s.rows, s.cols, rng);
                std::vector<float> x = rng.vec(std::size_t(T * s.cols));
                std::vector<float> bias = rng.vec(std::size_t(s.rows));
                std::vector<float> y_cpu(std::size_t(T * y_stride), -7.0f);
                cpu().matmul(x.data(), x_stride, T, w.view(), bias.data(), y_cpu.data(), y_stride);
                Dev dx(x), db(bias), dy(std::vector<float>(y_cpu.size(), -7.0f));
                DevWeight dw(w);
                cuda().matmul(dx.get(), x_stride, T, dw.w, db.get(), dy.get(), y_stride);
                const std::vector<float> y = dy.host();
                std::vector<double> want(std::size_t(T * s.rows)), scale(want.size());
                for (std::int64_t t = 0; t < T; ++t)
                    for (std::int64_t o = 0; o < s.rows; ++o) {
                        double a = std::abs(bias[o]);
                        for (std::int64_t i = 0; i < s.cols; ++i)
                            a += std::abs(double(x[t * x_stride + i]) * w.values[o * s.cols + i]);
                        want[t * s.rows + o] = y_cpu[t * y_stride + o];
                        scale[t * s.rows + o] = std::max(a, 1e-30);
                    }
                const std::string what = "gemv " + std::string(dtype_name(dt)) + " " +
                                         std::to_string(s.rows) + "x" + std::to_string(s.cols) +
                                         " T=" + std::to_string(T);
                expect_close(y.data(), y_stride, want, scale, T, s.rows, matmul_tol(dt, T), what);
                expect_padding_untouched(y, T, s.rows, y_stride, -7.0f);
            }
        }
    }
}

// Mamba-1's dt_proj with its softplus: the GEMV's epilogue (T <= 8) and the matmul + softplus path
// (T = 20, cuBLASLt), against the CPU's matmul then softplus. softplus and the clamp have slope
// <= 1, so an output is off by at most its sum's error: matmul_tol(dt, T) of sum |x w| + |bias|, as
// the matmul test (the H200 showed 3e-6 for the GEMV and 3.4e-3 for bf16 at T = 20, relative to the
// output). With a clamp [0.01, 2] on one pass (as Mamba-2's time_step_limit).
TEST(CudaMatmul, MatmulSoftplusMatchesCpu) {
    STATESCOPE_REQUIRE_CUDA();
    Rng rng(13);
    const Shape shapes[] = {{5120, 160}, {37, 19}, {2560, 80}};
    for (DType dt : kAllDTypes)
        for (const Shape& s : shapes)
            for (std::int64_t T : {1, 3, 20})
                for (bool clamp : {false, true}) {
                    const float lo = clamp ? 0.01f : -INFINITY, hi = clamp ? 2.0f : INFINITY;
                    const std::int64_t x_stride = s.cols + 4;
                    TestWeight w = make_weight(dt, s.rows, s.cols, rng);
                    std::vector<float> x = rng.vec(std::size_t(T * x_stride));
                    std::vector<float> bias = rng.vec(std::size_t(s.rows), -4.0f, 1.0f);
                    std::vector<float> y_cpu(std::size_t(T * s.rows));
                    cpu().matmul_softplus(x.data(), x_stride, T, w.view(), bias.data(), lo, hi,
                                          y_cpu.data());
                    Dev dx(x), db(bias), dy(std::vector<float>(y_cpu.size(), -7.0f));
                    DevWeight dw(w);
                    cuda().matmul_softplus(dx.get(), x_stride, T, dw.w, db.get(), lo, hi, dy.get());
                    const std::vector<float> y = dy.host();
                    std::vector<double> want(y_cpu.begin(), y_cpu.end()), scale(want.size());
                    for (std::int64_t t = 0; t < T; ++t)
                        for (std::int64_t o = 0; o < s.rows; ++o) {
                            double a = std::abs(bias[o]);
                            for (std::int64_t i = 0; i < s.cols; ++i)
                                a += std::abs(double(x[t * x_stride + i]) *
                                              w.values[o * s.cols + i]);
                            scale[t * s.rows + o] = a;
                        }
                    expect_close(y.data(), s.rows, want, scale, T, s.rows, matmul_tol(dt, T),
                                 "matmul_softplus " + std::string(dtype_name(dt)) + " " +
                                     std::to_string(s.rows) + "x" + std::to_string(s.cols) +
                                     " T=" + std::to_string(T) + (clamp ? " clamp" : ""));
                }
}

}  // namespace
}  // namespace statescope::kernels::test
