// The fused one-token steps of backend.h (matmul_conv1d_step, matmul_softplus_scan_step) against
// float64 references, on the CPU backend (whose implementations are the defaults: the unfused ops),
// several steps continuing the states.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "kernel_test_util.h"

namespace statescope::kernels::test {
namespace {

// matmul's tolerance (matmul_test): fp32 sums of <= a few thousand products, 1e-5 of sum |x w|.
constexpr double kMatmulTol = 1e-5;

struct ConvStepCase {
    DType dtype;
    std::int64_t rows, cols, conv_off, C, K;
    bool silu, in_bias, conv_bias;
};

// y = W x + bias; conv over [state ; y[conv_off + c]]; 3 steps. The conv reference reads the
// reference y, so its scale adds |w[c, K-1]| * (y's scale): the op's y error carries into the conv
// (silu's slope is within [-0.1, 1.1]). The state is checked exactly: rows shifted by one, the new
// row the op's own y.
void check_conv_step(const ConvStepCase& c, std::uint32_t seed) {
    SCOPED_TRACE(testing::Message()
                 << dtype_name(c.dtype) << " rows " << c.rows << " cols " << c.cols << " conv ["
                 << c.conv_off << ", +" << c.C << ") K " << c.K << " silu " << c.silu);
    Rng rng(seed);
    const TestWeight W = make_weight(c.dtype, c.rows, c.cols, rng);
    const std::vector<float> bias = rng.vec(std::size_t(c.rows));
    const std::vector<float> cw = rng.vec(std::size_t(c.C * c.K));
    const std::vector<float> cb = rng.vec(std::size_t(c.C));
    std::vector<float> state = rng.vec(std::size_t((c.K - 1) * c.C), -2.0f, 2.0f);
    for (int step = 0; step < 3; ++step) {
        const std::vector<float> x = rng.vec(std::size_t(c.cols));
        std::vector<float> y(std::size_t(c.rows), -7.0f), conv_y(std::size_t(c.C), -7.0f);
        const std::vector<float> state0 = state;
        backend()->matmul_conv1d_step(
            x.data(), W.view(), c.in_bias ? bias.data() : nullptr, y.data(), c.conv_off, c.C, c.K,
            cw.data(), c.conv_bias ? cb.data() : nullptr, c.silu, state.data(), conv_y.data());
        std::vector<double> y_want(std::size_t(c.rows)), y_scale(y_want.size());
        for (std::int64_t o = 0; o < c.rows; ++o) {
            double s = c.in_bias ? bias[o] : 0.0, a = std::abs(s);
            for (std::int64_t i = 0; i < c.cols; ++i) {
                const double p = double(x[i]) * W.values[o * c.cols + i];
                s += p;
                a += std::abs(p);
            }
            y_want[o] = s;
            y_scale[o] = a + 1e-30;
        }
        expect_close(y.data(), c.rows, y_want, y_scale, 1, c.rows, kMatmulTol, "in_proj y");
        std::vector<double> cy_want(std::size_t(c.C)), cy_scale(cy_want.size());
        for (std::int64_t ch = 0; ch < c.C; ++ch) {
            double s = c.conv_bias ? cb[ch] : 0.0, a = std::abs(s);
            for (std::int64_t k = 0; k < c.K; ++k) {
                const double win =
                    k < c.K - 1 ? double(state0[k * c.C + ch]) : y_want[c.conv_off + ch];
                s += cw[ch * c.K + k] * win;
                a += std::abs(cw[ch * c.K + k] * win);
            }
            a += std::abs(cw[ch * c.K + c.K - 1]) * y_scale[c.conv_off + ch];
            cy_want[ch] = c.silu ? silu_d(s) : s;
            cy_scale[ch] = a + 1e-30;
        }
        expect_close(conv_y.data(), c.C, cy_want, cy_scale, 1, c.C, kMatmulTol, "conv_y");
        std::int64_t bad = 0;
        for (std::int64_t ch = 0; ch < c.C; ++ch)
            for (std::int64_t k = 0; k + 1 < c.K; ++k) {
                const float want = k + 2 < c.K ? state0[(k + 1) * c.C + ch] : y[c.conv_off + ch];
                if (state[k * c.C + ch] != want) ++bad;
            }
        EXPECT_EQ(bad, 0) << "conv_state must be the old rows shifted by one and the new y";
    }
}

TEST(KernelFusedStep, MatmulConv1dStep) {
    std::uint32_t seed = 3100;
    for (DType dt : kAllDTypes) {
        // Mamba-1's split (x = the first half of xz), Mamba-2's (xBC inside z | xBC | dt), the
        // whole output, K = 1 (no state) to 5, no biases.
        for (ConvStepCase c : {ConvStepCase{dt, 134, 33, 0, 67, 4, true, true, true},
                               ConvStepCase{dt, 307, 64, 70, 230, 4, true, false, true},
                               ConvStepCase{dt, 50, 17, 0, 50, 2, false, true, false},
                               ConvStepCase{dt, 41, 8, 3, 20, 1, true, false, false},
                               ConvStepCase{dt, 96, 130, 16, 64, 5, true, true, true},
                               ConvStepCase{dt, 3072, 768, 0, 1536, 4, true, false, true}})
            check_conv_step(c, seed++);
    }
}

struct ScanStepCase {
    DType dtype;
    std::int64_t I, R, N;
    bool gate, clamp;
};

// delta against the double dt_proj + softplus (slope <= 1: matmul's tolerance of sum |dt w| +
// |bias|); y and the state against a double scan from the op's own delta, so the scan part gets
// the scan tolerance (scan_test: 2e-6 + 4e-7 per token of the accumulated magnitudes, one token a
// call, the states carried over 3 calls).
void check_scan_step(const ScanStepCase& c, std::uint32_t seed) {
    SCOPED_TRACE(testing::Message() << dtype_name(c.dtype) << " I " << c.I << " R " << c.R << " N "
                                    << c.N << " gate " << c.gate << " clamp " << c.clamp);
    Rng rng(seed);
    const TestWeight W = make_weight(c.dtype, c.I, c.R, rng, -0.5f, 0.5f);
    const std::vector<float> dt_bias = rng.vec(std::size_t(c.I), -4.0f, 1.0f);
    std::vector<float> A(std::size_t(c.I * c.N));
    for (auto& a : A) a = -std::exp(rng.uniform(-1.0f, 2.5f));
    const std::vector<float> D = rng.vec(std::size_t(c.I));
    std::vector<float> state = rng.vec(A.size());
    std::vector<double> S(state.begin(), state.end()), Sabs(S.size());
    for (std::size_t k = 0; k < S.size(); ++k) Sabs[k] = std::abs(S[k]);
    const float lo = c.clamp ? 0.01f : -INFINITY, hi = c.clamp ? 0.3f : INFINITY;
    constexpr int kSteps = 3;
    for (int step = 0; step < kSteps; ++step) {
        const std::vector<float> dt = rng.vec(std::size_t(c.R));
        const std::vector<float> x = rng.vec(std::size_t(c.I), -2.0f, 2.0f);
        const std::vector<float> z = rng.vec(std::size_t(c.I), -4.0f, 4.0f);
        const std::vector<float> B = rng.vec(std::size_t(c.N)), C = rng.vec(std::size_t(c.N));
        std::vector<float> delta(std::size_t(c.I), -7.0f), y(std::size_t(c.I), -7.0f);
        backend()->matmul_softplus_scan_step(
            dt.data(), W.view(), dt_bias.data(), lo, hi, x.data(), A.data(), B.data(), C.data(),
            D.data(), c.gate ? z.data() : nullptr, c.N, state.data(), delta.data(), y.data());
        std::vector<double> d_want(std::size_t(c.I)), d_scale(d_want.size());
        std::vector<double> y_want(std::size_t(c.I)), y_scale(y_want.size());
        for (std::int64_t i = 0; i < c.I; ++i) {
            double s = dt_bias[i], a = std::abs(s);
            for (std::int64_t r = 0; r < c.R; ++r) {
                const double p = double(dt[r]) * W.values[i * c.R + r];
                s += p;
                a += std::abs(p);
            }
            const double sp = s > 20.0 ? s : std::log1p(std::exp(s));
            d_want[i] = std::min(std::max(sp, double(lo)), double(hi));
            d_scale[i] = a + 1e-30;
            const double d = delta[i], xv = x[i];  // the op's delta: the scan checked on its own
            double dot = 0.0, mag = 0.0;
            for (std::int64_t n = 0; n < c.N; ++n) {
                const std::size_t k = std::size_t(i * c.N + n);
                const double decay = std::exp(d * A[k]);
                S[k] = decay * S[k] + d * B[n] * xv;
                Sabs[k] = decay * Sabs[k] + std::abs(d * B[n] * xv);
                dot += S[k] * C[n];
                mag += Sabs[k] * std::abs(C[n]);
            }
            double v = dot + D[i] * xv;
            mag += std::abs(D[i] * xv);
            if (c.gate) {
                const double g = silu_d(z[i]);
                v *= g;
                mag *= std::abs(g);
            }
            y_want[i] = v;
            y_scale[i] = mag + 1e-30;
        }
        const double scan_tol = 2e-6 + 4e-7 * kSteps;
        expect_close(delta.data(), c.I, d_want, d_scale, 1, c.I, kMatmulTol, "delta");
        expect_close(y.data(), c.I, y_want, y_scale, 1, c.I, scan_tol, "y");
        std::vector<double> s_scale(S.size());
        for (std::size_t k = 0; k < S.size(); ++k) s_scale[k] = std::abs(S[k]) + 1.0;
        expect_close(state.data(), c.N, S, s_scale, c.I, c.N, scan_tol, "state");
    }
}

TEST(KernelFusedStep, MatmulSoftplusScanStep) {
    std::uint32_t seed = 3200;
    for (DType dt : kAllDTypes)
        for (ScanStepCase c :
             {ScanStepCase{dt, 37, 13, 16, true, false}, ScanStepCase{dt, 300, 48, 16, true, true},
              ScanStepCase{dt, 67, 160, 17, false, false}, ScanStepCase{dt, 5, 1, 1, true, false},
              ScanStepCase{dt, 129, 40, 64, true, true},
              ScanStepCase{dt, 1536, 48, 16, true, false}})
            check_scan_step(c, seed++);
}

}  // namespace
}  // namespace statescope::kernels::test
