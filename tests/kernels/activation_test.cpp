// scale, add_scaled and glu against double references.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernel_test_util.h"

namespace statescope::kernels::test {
namespace {

double act_d(double v, Activation act) {
    switch (act) {
        case Activation::Silu:
            return silu_d(v);
        case Activation::Gelu:
            return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
        case Activation::Relu2:
            return v > 0 ? v * v : 0.0;
    }
    return v;
}

// Each output is one activation (a few fp32 ops, exp/erf within 2 ulp) times one product: 1e-6
// relative to |act(g)| |u| (+ a floor for outputs near 0) is ~8 ulp.
constexpr double kGluTol = 1e-6;

void check_glu(Activation act, std::int64_t T, std::int64_t F, bool gated, bool wide,
               std::uint32_t seed) {
    SCOPED_TRACE(testing::Message() << "act " << int(act) << " T " << T << " F " << F << " gated "
                                    << gated << " wide " << wide);
    Rng rng(seed);
    const std::vector<float> g_dense = rng.vec(std::size_t(T * F), -6.0f, 6.0f);
    const std::vector<float> u_dense = rng.vec(std::size_t(T * F), -2.0f, 2.0f);
    const std::int64_t gs = wide ? F + 5 : F, us = wide ? F + 3 : F;
    const std::vector<float> g = strided(g_dense, T, F, gs), u = strided(u_dense, T, F, us);
    std::vector<float> out(std::size_t(T * F), -7.0f);
    backend()->glu(g.data(), gs, gated ? u.data() : nullptr, us, T, F, act, out.data());
    std::vector<double> want(static_cast<std::size_t>(T * F)),
        scale(static_cast<std::size_t>(T * F));
    for (std::int64_t i = 0; i < T * F; ++i) {
        const double a = act_d(g_dense[i], act);
        want[i] = gated ? a * u_dense[i] : a;
        // GELU's tail erfc(-v / sqrt 2) has relative condition number ~v^2: the rounding of its
        // fp32 argument alone moves it by v^2 ulp, so the bound grows with v^2 there.
        const double cond = act == Activation::Gelu ? 1.0 + double(g_dense[i]) * g_dense[i] : 1.0;
        scale[i] = std::abs(want[i]) * cond + 1e-6;
    }
    expect_close(out.data(), F, want, scale, T, F, kGluTol, "glu");
}

TEST(KernelGlu, ActivationsShapesStrides) {
    std::uint32_t seed = 900;
    for (Activation act : {Activation::Silu, Activation::Gelu, Activation::Relu2})
        for (std::int64_t T : {1, 4})
            for (std::int64_t F : {1, 17, 256})
                for (bool gated : {false, true})
                    for (bool wide : {false, true}) check_glu(act, T, F, gated, wide, seed++);
}

// out may alias the up input (mamba2's y * silu(z) without a gated norm).
TEST(KernelGlu, InPlaceOverUp) {
    Rng rng(42);
    const std::int64_t T = 3, F = 33;
    const std::vector<float> g = rng.vec(std::size_t(T * F), -4, 4);
    std::vector<float> u = rng.vec(std::size_t(T * F));
    const std::vector<float> u0 = u;
    backend()->glu(g.data(), F, u.data(), F, T, F, Activation::Silu, u.data());
    std::vector<double> want(static_cast<std::size_t>(T * F)),
        scale(static_cast<std::size_t>(T * F));
    for (std::int64_t i = 0; i < T * F; ++i) {
        want[i] = silu_d(g[i]) * u0[i];
        scale[i] = std::abs(want[i]) + 1e-6;
    }
    expect_close(u.data(), F, want, scale, T, F, kGluTol, "glu in place");
}

TEST(KernelScale, StridedRowsOnly) {
    Rng rng(7);
    const std::int64_t T = 5, n = 19, stride = 23;
    std::vector<float> x = strided(rng.vec(std::size_t(T * n)), T, n, stride);
    const std::vector<float> x0 = x;
    backend()->scale(x.data(), stride, T, n, 0.37f);
    for (std::int64_t t = 0; t < T; ++t)
        for (std::int64_t i = 0; i < stride; ++i) {
            const std::size_t k = std::size_t(t * stride + i);
            if (i < n)
                EXPECT_EQ(x[k], x0[k] * 0.37f) << t << "," << i;
            else
                EXPECT_TRUE(std::isnan(x[k])) << "write outside the row at " << t << "," << i;
        }
}

TEST(KernelAddScaled, MatchesReference) {
    Rng rng(8);
    const std::int64_t n = 1001;
    std::vector<float> y = rng.vec(std::size_t(n));
    const std::vector<float> y0 = y, x = rng.vec(std::size_t(n));
    backend()->add_scaled(y.data(), x.data(), -1.75f, n);
    std::vector<double> want(static_cast<std::size_t>(n)), scale(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
        want[i] = double(y0[i]) - 1.75 * double(x[i]);
        scale[i] = std::abs(double(y0[i])) + 1.75 * std::abs(double(x[i]));
    }
    // one fp32 multiply-add: 2 ulp of the operands' magnitude
    expect_close(y.data(), n, want, scale, 1, n, 2.4e-7, "add_scaled");
}

}  // namespace
}  // namespace statescope::kernels::test
