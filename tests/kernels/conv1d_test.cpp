// causal_conv1d against a double reference, and state continuation across calls.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernel_test_util.h"

namespace statescope::kernels::test {
namespace {

struct ConvCase {
    std::int64_t T, C, K;
    bool silu, with_bias, wide;
};

struct ConvData {
    std::vector<float> x_dense, w, bias, state0;
};

ConvData make_conv(const ConvCase& c, Rng& rng) {
    ConvData d;
    d.x_dense = rng.vec(std::size_t(c.T * c.C), -2.0f, 2.0f);
    d.w = rng.vec(std::size_t(c.C * c.K));
    d.bias = rng.vec(std::size_t(c.C));
    d.state0 = rng.vec(std::size_t((c.K - 1) * c.C), -2.0f, 2.0f);
    return d;
}

// Straight from the formula: window = [state ; x], y[t, c] = act(bias + sum_k w[c, k] window[t +
// k]).
void reference(const ConvCase& c, const ConvData& d, std::vector<double>* y,
               std::vector<double>* scale, std::vector<float>* state_out) {
    const std::int64_t S = c.K - 1;
    auto window = [&](std::int64_t j, std::int64_t ch) -> double {
        return j < S ? d.state0[j * c.C + ch] : d.x_dense[(j - S) * c.C + ch];
    };
    y->assign(std::size_t(c.T * c.C), 0.0);
    scale->assign(std::size_t(c.T * c.C), 0.0);
    for (std::int64_t t = 0; t < c.T; ++t) {
        for (std::int64_t ch = 0; ch < c.C; ++ch) {
            double s = c.with_bias ? d.bias[ch] : 0.0, a = std::abs(s);
            for (std::int64_t k = 0; k < c.K; ++k) {
                const double p = double(d.w[ch * c.K + k]) * window(t + k, ch);
                s += p;
                a += std::abs(p);
            }
            // silu(s) has derivative in [-0.1, 1.1]: the pre-activation error scale carries over.
            (*y)[t * c.C + ch] = c.silu ? silu_d(s) : s;
            (*scale)[t * c.C + ch] = a + 1e-30;
        }
    }
    state_out->assign(std::size_t(S * c.C), 0.0f);
    for (std::int64_t j = 0; j < S; ++j)
        for (std::int64_t ch = 0; ch < c.C; ++ch)
            (*state_out)[j * c.C + ch] = float(window(c.T + j, ch));
}

// Sums of K <= 20 products (1e-6 of sum |w x| is ~16 ulp: the sum order differs from the
// reference by at most K roundings), plus silu's ~3 ulp.
constexpr double kConvTol = 1e-6;

void check_conv(const ConvCase& c, std::uint32_t seed) {
    SCOPED_TRACE(testing::Message() << "T " << c.T << " C " << c.C << " K " << c.K << " silu "
                                    << c.silu << " bias " << c.with_bias << " wide " << c.wide);
    Rng rng(seed);
    const ConvData d = make_conv(c, rng);
    const std::int64_t x_stride = c.wide ? c.C + 11 : c.C;
    const std::vector<float> x = strided(d.x_dense, c.T, c.C, x_stride);
    std::vector<float> state = d.state0, y(std::size_t(c.T * c.C), -9.0f);
    backend()->causal_conv1d(x.data(), x_stride, c.T, c.C, c.K, d.w.data(),
                             c.with_bias ? d.bias.data() : nullptr, c.silu, state.data(), y.data());
    std::vector<double> want, scale;
    std::vector<float> state_want;
    reference(c, d, &want, &scale, &state_want);
    expect_close(y.data(), c.C, want, scale, c.T, c.C, kConvTol, "conv1d");
    EXPECT_EQ(state, state_want) << "conv_state must be the last K-1 inputs, copied exactly";
}

TEST(KernelConv1d, ShapesKernelsStrides) {
    std::uint32_t seed = 500;
    for (std::int64_t T : {1, 2, 3, 5, 33})
        for (std::int64_t C : {1, 3, 17, 64, 67, 130})
            for (std::int64_t K :
                 {1, 2, 4, 5, 20})  // 20 > the 16 the kernel transposes on the stack
                for (bool silu : {false, true})
                    for (bool bias : {false, true})
                        for (bool wide : {false, true})
                            check_conv({T, C, K, silu, bias, wide}, seed++);
}

// Large enough to thread over channel blocks.
TEST(KernelConv1d, PrefillSize) {
    check_conv({300, 3200, 4, true, true, true}, 600);
    check_conv({1, 3200, 4, true, true, false}, 601);
}

// Running T tokens in one call = running them in two calls (split at every point) = one token at a
// time, for the outputs and the final state. The kernel computes each output from the same window
// in the same order however the tokens are split, so this holds bit for bit.
TEST(KernelConv1d, StateContinuation) {
    for (std::int64_t K : {1, 2, 4, 7}) {
        const ConvCase c{13, 37, K, true, true, true};
        SCOPED_TRACE(testing::Message() << "K " << K);
        Rng rng(700 + std::uint32_t(K));
        const ConvData d = make_conv(c, rng);
        const std::int64_t xs = c.C + 3;
        const std::vector<float> x = strided(d.x_dense, c.T, c.C, xs);

        std::vector<float> state_all = d.state0, y_all(std::size_t(c.T * c.C));
        backend()->causal_conv1d(x.data(), xs, c.T, c.C, K, d.w.data(), d.bias.data(), true,
                                 state_all.data(), y_all.data());

        std::vector<std::vector<std::int64_t>> splits;
        for (std::int64_t s = 1; s < c.T; ++s) splits.push_back({s});
        std::vector<std::int64_t> ones;
        for (std::int64_t s = 1; s < c.T; ++s) ones.push_back(s);
        splits.push_back(ones);
        for (const auto& cuts : splits) {
            std::vector<float> state = d.state0, y(std::size_t(c.T * c.C));
            std::int64_t t0 = 0;
            std::vector<std::int64_t> bounds = cuts;
            bounds.push_back(c.T);
            for (std::int64_t t1 : bounds) {
                backend()->causal_conv1d(x.data() + t0 * xs, xs, t1 - t0, c.C, K, d.w.data(),
                                         d.bias.data(), true, state.data(), y.data() + t0 * c.C);
                t0 = t1;
            }
            EXPECT_EQ(y, y_all) << "split at " << cuts.front() << " (" << cuts.size() << " cuts)";
            EXPECT_EQ(state, state_all) << "split at " << cuts.front();
        }
    }
}

}  // namespace
}  // namespace statescope::kernels::test
