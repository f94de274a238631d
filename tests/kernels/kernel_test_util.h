// Shared helpers of the kernel tests: seeded random data, weights rounded to a checkpoint dtype,
// and a comparison that states its tolerance. References are plain loops in double in each test.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "kernels/backend.h"
#include "kernels/dtype.h"

namespace statescope::kernels::test {

inline constexpr DType kAllDTypes[] = {DType::F32, DType::BF16, DType::F16};

// A size in a test's failure message.
inline std::string sz(std::int64_t v) {
    return std::to_string(v);
}

class Rng {
  public:
    explicit Rng(std::uint32_t seed) : gen_(seed) {}
    float uniform(float lo, float hi) {
        return std::uniform_real_distribution<float>(lo, hi)(gen_);
    }
    std::int64_t integer(std::int64_t lo, std::int64_t hi) {  // [lo, hi]
        return std::uniform_int_distribution<std::int64_t>(lo, hi)(gen_);
    }
    std::vector<float> vec(std::size_t n, float lo = -1.0f, float hi = 1.0f) {
        std::vector<float> v(n);
        for (auto& x : v) x = uniform(lo, hi);
        return v;
    }

  private:
    std::mt19937 gen_;
};

// A [rows, cols] weight stored in `dtype`, made by rounding random floats; `values` holds the exact
// (rounded) values as floats, which is what the double references multiply with.
struct TestWeight {
    DType dtype = DType::F32;
    std::int64_t rows = 0, cols = 0;
    std::vector<float> values;
    std::vector<std::uint16_t> half;

    Weight view() const {
        Weight w;
        w.data = dtype == DType::F32 ? static_cast<const void*>(values.data())
                                     : static_cast<const void*>(half.data());
        w.dtype = dtype;
        w.rows = rows;
        w.cols = cols;
        return w;
    }
};

inline TestWeight make_weight(DType dtype, std::int64_t rows, std::int64_t cols, Rng& rng,
                              float lo = -1.0f, float hi = 1.0f) {
    TestWeight w;
    w.dtype = dtype;
    w.rows = rows;
    w.cols = cols;
    w.values = rng.vec(std::size_t(rows * cols), lo, hi);
    if (dtype != DType::F32) {
        w.half.resize(w.values.size());
        for (std::size_t i = 0; i < w.values.size(); ++i) {
            w.half[i] = dtype == DType::BF16 ? f32_to_bf16(w.values[i]) : f32_to_f16(w.values[i]);
            w.values[i] = dtype == DType::BF16 ? bf16_to_f32(w.half[i]) : f16_to_f32(w.half[i]);
        }
    }
    return w;
}

// A [rows, width] fp32 matrix inside rows of `stride` floats; the padding holds NaN so that a
// kernel reading outside its rows poisons its output (and a kernel writing there is caught by
// expect_padding_untouched).
inline std::vector<float> strided(const std::vector<float>& dense, std::int64_t rows,
                                  std::int64_t width, std::int64_t stride) {
    std::vector<float> out(std::size_t(rows * stride), std::nanf(""));
    for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t c = 0; c < width; ++c) out[r * stride + c] = dense[r * width + c];
    return out;
}

inline void expect_padding_untouched(const std::vector<float>& buf, std::int64_t rows,
                                     std::int64_t width, std::int64_t stride, float sentinel) {
    for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t c = width; c < stride; ++c)
            if (!(buf[r * stride + c] == sentinel ||
                  (std::isnan(sentinel) && std::isnan(buf[r * stride + c]))))
                ADD_FAILURE() << "write outside the row at [" << r << ", " << c << "]";
}

// Expects |got[i] - want[i]| <= tol * scale[i] for every i (scale: the magnitude the error is
// measured against, e.g. sum |x w| for a dot product) and reports the worst element.
// STATESCOPE_TEST_VERBOSE=1 prints the worst error of passing checks too (to choose tolerances).
inline void expect_close(const float* got, std::int64_t got_stride, const std::vector<double>& want,
                         const std::vector<double>& scale, std::int64_t rows, std::int64_t width,
                         double tol, const std::string& what) {
    double worst = -1.0;
    std::int64_t worst_i = 0, bad = 0;
    for (std::int64_t r = 0; r < rows; ++r) {
        for (std::int64_t c = 0; c < width; ++c) {
            const std::int64_t i = r * width + c;
            const double g = got[r * got_stride + c];
            const double err = std::abs(g - want[i]);
            if (!(err <= tol * scale[i])) ++bad;
            const double rel = std::isnan(err) ? INFINITY : err / std::max(scale[i], 1e-300);
            if (rel > worst) {
                worst = rel;
                worst_i = i;
            }
        }
    }
    if (rows * width == 0) return;
    const std::int64_t wr = worst_i / width, wc = worst_i % width;
    EXPECT_EQ(bad, 0) << what << ": " << bad << " elements off; worst relative error " << worst
                      << " at [" << wr << ", " << wc << "]: got " << got[wr * got_stride + wc]
                      << ", want " << want[worst_i] << " (tol " << tol << ")";
    if (std::getenv("STATESCOPE_TEST_VERBOSE") != nullptr)
        std::printf("[close] %-40s worst %.3g (tol %.3g)\n", what.c_str(), worst, tol);
}

inline double silu_d(double z) {
    return z / (1.0 + std::exp(-z));
}

inline std::unique_ptr<Backend>& backend() {
    static std::unique_ptr<Backend> b = make_cpu_backend();
    return b;
}

}  // namespace statescope::kernels::test
