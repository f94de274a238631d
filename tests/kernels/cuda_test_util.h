// Helpers of the CUDA-vs-CPU op tests: the CUDA backend or a skip that says why (CI has nvcc but no
// GPU), device copies of host data, and a comparison against the CPU op's output that states its
// tolerance. The CPU op is the reference (it is itself checked against float64 in the other tests).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "core/runtime/backends.h"
#include "kernel_test_util.h"

namespace statescope::kernels::test {

struct CudaOrWhy {
    std::unique_ptr<Backend> backend;
    std::string why;
};

inline CudaOrWhy& cuda_state() {
    static CudaOrWhy c = [] {
        CudaOrWhy r;
        try {
            r.backend = statescope::make_backend("cuda");
        } catch (const std::exception& e) {
            r.why = e.what();
        }
        return r;
    }();
    return c;
}
inline Backend& cuda() {
    return *cuda_state().backend;
}
inline Backend& cpu() {
    return *backend();
}

#define STATESCOPE_REQUIRE_CUDA()                                          \
    do {                                                                   \
        if (!::statescope::kernels::test::cuda_state().backend)            \
            GTEST_SKIP() << "no CUDA backend here: "                       \
                         << ::statescope::kernels::test::cuda_state().why; \
    } while (0)

// A host vector copied into CUDA memory.
class Dev {
  public:
    explicit Dev(const std::vector<float>& host)
        : n_(host.size()), buf_(cuda().alloc(host.size() * sizeof(float))) {
        cuda().copy_from_host(host.data(), buf_->data(), n_ * sizeof(float));
    }
    float* get() { return buf_->f32(); }
    std::vector<float> host() const {
        std::vector<float> out(n_);
        cuda().copy_to_host(buf_->data(), out.data(), n_ * sizeof(float));
        return out;
    }

  private:
    std::size_t n_;
    std::unique_ptr<Buffer> buf_;
};

struct DevWeight {
    Weight w;
    std::unique_ptr<Buffer> keep;
    explicit DevWeight(const TestWeight& t) { w = cuda().upload(t.view(), &keep); }
};

// Expects |got[i] - want[i]| <= tol * max(|want[i]|, floor_rel * max|want|) where want is the CPU
// op's output: relative per element, with the floor keeping near-zero elements of a sum from
// demanding more than the sum's scale. NaN in either is a failure unless both are NaN (padding).
inline void expect_near_cpu(const std::vector<float>& got, const std::vector<float>& want,
                            double tol, double floor_rel, const std::string& what) {
    ASSERT_EQ(got.size(), want.size()) << what;
    double maxw = 0;
    for (float v : want)
        if (std::isfinite(v)) maxw = std::max(maxw, std::abs(double(v)));
    double worst = 0;
    std::size_t worst_i = 0, bad = 0;
    for (std::size_t i = 0; i < got.size(); ++i) {
        if (std::isnan(want[i]) && std::isnan(got[i])) continue;
        const double scale = std::max({std::abs(double(want[i])), floor_rel * maxw, 1e-30});
        const double rel = std::abs(double(got[i]) - double(want[i])) / scale;
        if (!(rel <= tol)) ++bad;
        if (!(rel <= worst)) {
            worst = std::isnan(rel) ? INFINITY : rel;
            worst_i = i;
        }
    }
    EXPECT_EQ(bad, 0u) << what << ": worst relative error " << worst << " at " << worst_i
                       << " (got " << got[worst_i] << ", cpu " << want[worst_i] << ", tol " << tol
                       << ")";
    if (std::getenv("STATESCOPE_TEST_VERBOSE") != nullptr)
        std::printf("[cuda-vs-cpu] %-56s worst %.3g (tol %.3g)\n", what.c_str(), worst, tol);
}

}  // namespace statescope::kernels::test
