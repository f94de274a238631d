// The fused one-token steps on CUDA (matmul_conv1d_step: the conv in the T = 1 GEMV's epilogue;
// matmul_softplus_scan_step: one warp per channel) against the CPU backend's (the unfused ops):
// the 2.8B models' shapes, odd shapes that take the GEMV's scalar path and its 2/4/8-warps-per-row
// splits, every weight dtype, several steps continuing the states.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "cuda_test_util.h"

namespace statescope::kernels::test {
namespace {

// The GEMV against the CPU matmul (cuda_matmul_test): two fp32 sums of the same products in other
// orders, 2e-5 of sum |x w| + |bias|.
constexpr double kGemvTol = 2e-5;

struct ConvCase {
    std::int64_t rows, cols, conv_off, C, K;
    bool silu, in_bias, conv_bias;
    std::int64_t x_shift;  // floats added to x's address: 1 takes the GEMV's scalar path
};

// y (the raw in_proj row) within kGemvTol of sum |x w| + |bias|; conv_y within the same of its own
// sum's scale, |bias| + sum_k |w_k window_k|, plus |w[c, K-1]| times y's scale (y's error carries
// into the conv; silu's slope is within [-0.1, 1.1]); the state exactly: the CPU's older rows
// shifted by one, and CUDA's own y as the newest row.
void check_conv(const ConvCase& c, DType dt, std::uint32_t seed) {
    Rng rng(seed);
    const TestWeight w = make_weight(dt, c.rows, c.cols, rng);
    const std::vector<float> bias = rng.vec(std::size_t(c.rows));
    const std::vector<float> cw = rng.vec(std::size_t(c.C * c.K)), cb = rng.vec(std::size_t(c.C));
    std::vector<float> state = rng.vec(std::size_t((c.K - 1) * c.C), -2.0f, 2.0f);
    DevWeight dw(w);
    Dev dbias(bias), dcw(cw), dcb(cb), dstate(state);
    for (int step = 0; step < 3; ++step) {
        const std::vector<float> x = rng.vec(std::size_t(c.cols + c.x_shift));
        const std::vector<float> state0 = state;
        std::vector<float> y(std::size_t(c.rows)), conv_y(std::size_t(c.C));
        cpu().matmul_conv1d_step(x.data() + c.x_shift, w.view(), c.in_bias ? bias.data() : nullptr,
                                 y.data(), c.conv_off, c.C, c.K, cw.data(),
                                 c.conv_bias ? cb.data() : nullptr, c.silu, state.data(),
                                 conv_y.data());
        Dev dx(x), dy(std::vector<float>(y.size(), std::nanf(""))),
            dconv_y(std::vector<float>(conv_y.size(), std::nanf("")));
        cuda().matmul_conv1d_step(dx.get() + c.x_shift, dw.w, c.in_bias ? dbias.get() : nullptr,
                                  dy.get(), c.conv_off, c.C, c.K, dcw.get(),
                                  c.conv_bias ? dcb.get() : nullptr, c.silu, dstate.get(),
                                  dconv_y.get());
        const std::vector<float> gy = dy.host(), gconv = dconv_y.host(), gstate = dstate.host();
        const std::string what = std::string(dtype_name(dt)) + " " + sz(c.rows) + "x" + sz(c.cols) +
                                 " conv [" + sz(c.conv_off) + ", +" + sz(c.C) + ") K=" + sz(c.K) +
                                 (c.silu ? " silu" : "") + " x+" + sz(c.x_shift) + " step " +
                                 sz(step);
        std::vector<double> y_want(y.begin(), y.end()), y_scale(y.size());
        for (std::int64_t o = 0; o < c.rows; ++o) {
            double a = c.in_bias ? std::abs(bias[o]) : 0.0;
            for (std::int64_t i = 0; i < c.cols; ++i)
                a += std::abs(double(x[c.x_shift + i]) * w.values[o * c.cols + i]);
            y_scale[o] = a + 1e-30;
        }
        expect_close(gy.data(), c.rows, y_want, y_scale, 1, c.rows, kGemvTol, "y " + what);
        std::vector<double> cy_want(conv_y.begin(), conv_y.end()), cy_scale(conv_y.size());
        for (std::int64_t ch = 0; ch < c.C; ++ch) {
            double a = c.conv_bias ? std::abs(cb[ch]) : 0.0;
            for (std::int64_t k = 0; k < c.K; ++k) {
                const double win =
                    k < c.K - 1 ? double(state0[k * c.C + ch]) : double(y[c.conv_off + ch]);
                a += std::abs(cw[ch * c.K + k] * win);
            }
            a += std::abs(cw[ch * c.K + c.K - 1]) * y_scale[c.conv_off + ch];
            cy_scale[ch] = a + 1e-30;
        }
        expect_close(gconv.data(), c.C, cy_want, cy_scale, 1, c.C, kGemvTol, "conv_y " + what);
        std::int64_t bad = 0;
        for (std::int64_t ch = 0; ch < c.C; ++ch)
            for (std::int64_t k = 0; k + 1 < c.K; ++k) {
                const float want = k + 2 < c.K ? state[k * c.C + ch] : gy[c.conv_off + ch];
                if (gstate[k * c.C + ch] != want) ++bad;
            }
        EXPECT_EQ(bad, 0) << "conv_state " << what
                          << ": the old rows shifted by one and the new y, exactly";
        state = gstate;  // both sides continue from the same state
        dstate = Dev(state);
    }
}

TEST(CudaFusedStep, MatmulConv1dStepMatchesCpu) {
    STATESCOPE_REQUIRE_CUDA();
    std::uint32_t seed = 51;
    const ConvCase cases[] = {
        // mamba-2.8b: in_proj [2 * 5120, 2560], x = the first 5120 outputs.
        {10240, 2560, 0, 5120, 4, true, false, true, 0},
        // mamba2-2.7b: in_proj [5120 + 5376 + 80, 2560], xBC = outputs 5120 .. 10495.
        {10576, 2560, 5120, 5376, 4, true, false, true, 0},
        // Odd: the scalar GEMV (37 columns; x misaligned), 2/4/8 warps per row (1001 x 2048,
        // 300 x 4096), K = 2 / 3, no silu or biases, conv channels at the end of the output.
        {301, 37, 13, 150, 4, true, true, true, 0},
        {1001, 2048, 0, 500, 3, true, true, false, 0},
        {300, 4096, 37, 200, 4, false, false, true, 0},
        {1003, 200, 503, 500, 2, true, true, true, 1},
        {64, 1, 0, 64, 4, true, false, false, 0},
    };
    for (DType dt : kAllDTypes)
        for (const ConvCase& c : cases) check_conv(c, dt, seed++);
}

struct ScanCase {
    std::int64_t I, R, N;
    bool gate, clamp;
    std::int64_t dt_shift;  // floats added to dt's address: 1 takes the scalar dot
};

// delta within kGemvTol of sum |dt w| + |bias| of the CPU's (softplus and the clamp have slope <=
// 1). y and the state against the CPU's selective_scan run on CUDA's delta (so a ulp of delta is
// not amplified through exp(delta A) into the comparison): the scan tolerance of cuda_scan_test,
// 1e-5 + 2e-7 per token of the largest |y| (resp. |state|), over 4 steps.
void check_scan(const ScanCase& c, DType dt, std::uint32_t seed) {
    Rng rng(seed);
    const TestWeight w = make_weight(dt, c.I, c.R, rng, -0.5f, 0.5f);
    const std::vector<float> dt_bias = rng.vec(std::size_t(c.I), -4.0f, 1.0f);
    std::vector<float> A(std::size_t(c.I * c.N));
    for (auto& a : A) a = -std::exp(rng.uniform(-1.0f, 2.5f));
    const std::vector<float> D = rng.vec(std::size_t(c.I));
    std::vector<float> state = rng.vec(A.size());
    DevWeight dw(w);
    Dev dbias(dt_bias), dA(A), dD(D), dstate(state);
    const float lo = c.clamp ? 0.01f : -INFINITY, hi = c.clamp ? 0.3f : INFINITY;
    constexpr int kSteps = 4;
    for (int step = 0; step < kSteps; ++step) {
        const std::vector<float> dtv = rng.vec(std::size_t(c.R + c.dt_shift));
        const std::vector<float> x = rng.vec(std::size_t(c.I), -2.0f, 2.0f);
        const std::vector<float> z = rng.vec(std::size_t(c.I), -4.0f, 4.0f);
        const std::vector<float> B = rng.vec(std::size_t(c.N)), C = rng.vec(std::size_t(c.N));
        Dev ddt(dtv), dx(x), dz(z), dB(B), dC(C);
        Dev ddelta(std::vector<float>(std::size_t(c.I), std::nanf("")));
        Dev dy(std::vector<float>(std::size_t(c.I), std::nanf("")));
        cuda().matmul_softplus_scan_step(ddt.get() + c.dt_shift, dw.w, dbias.get(), lo, hi,
                                         dx.get(), dA.get(), dB.get(), dC.get(), dD.get(),
                                         c.gate ? dz.get() : nullptr, c.N, dstate.get(),
                                         ddelta.get(), dy.get());
        const std::vector<float> gdelta = ddelta.host();
        std::vector<float> delta(std::size_t(c.I)), y(std::size_t(c.I));
        cpu().matmul_softplus(dtv.data() + c.dt_shift, c.R, 1, w.view(), dt_bias.data(), lo, hi,
                              delta.data());
        cpu().selective_scan(x.data(), gdelta.data(), A.data(), B.data(), C.data(), c.N, D.data(),
                             c.gate ? z.data() : nullptr, c.I, 1, c.I, c.N, state.data(), y.data());
        const std::string what = std::string(dtype_name(dt)) + " I=" + sz(c.I) + " R=" + sz(c.R) +
                                 " N=" + sz(c.N) + (c.gate ? " gate" : "") +
                                 (c.clamp ? " clamp" : "") + " dt+" + sz(c.dt_shift) + " step " +
                                 sz(step);
        std::vector<double> d_want(delta.begin(), delta.end()), d_scale(delta.size());
        for (std::int64_t i = 0; i < c.I; ++i) {
            double a = std::abs(dt_bias[i]);
            for (std::int64_t r = 0; r < c.R; ++r)
                a += std::abs(double(dtv[c.dt_shift + r]) * w.values[i * c.R + r]);
            d_scale[i] = a + 1e-30;
        }
        expect_close(gdelta.data(), c.I, d_want, d_scale, 1, c.I, kGemvTol, "delta " + what);
        const double tol = 1e-5 + 2e-7 * kSteps;
        expect_near_cpu(dy.host(), y, tol, 1.0, "y " + what);
        expect_near_cpu(dstate.host(), state, tol, 1.0, "state " + what);
    }
}

TEST(CudaFusedStep, MatmulSoftplusScanStepMatchesCpu) {
    STATESCOPE_REQUIRE_CUDA();
    std::uint32_t seed = 61;
    const ScanCase cases[] = {
        {5120, 160, 16, true, false, 0},  // mamba-2.8b: dt_proj [5120, 160], d_state 16
        {1536, 48, 16, true, false, 0},   // mamba-130m
        {37, 13, 16, true, false, 0},     // the scalar dot (13 columns)
        {300, 48, 17, false, true, 0},    // a padded state array, no gate, Mamba-2's clamp
        {129, 160, 64, true, false, 1},   // dt misaligned: the scalar dot
        {70, 520, 128, true, false, 0},   // a dot past the first batch of 16-byte loads
        {33, 40, 256, true, true, 0},     // d_state 256: 8 states a lane
        {5, 8, 1, true, false, 0},
    };
    for (DType dt : kAllDTypes)
        for (const ScanCase& c : cases) check_scan(c, dt, seed++);
}

}  // namespace
}  // namespace statescope::kernels::test
