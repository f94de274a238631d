// attention against a double reference: GQA, causal over a cache with a prefix, sliding window.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernel_test_util.h"

namespace statescope::kernels::test {
namespace {

void check_attention(std::int64_t T, std::int64_t pos0, std::int64_t nh, std::int64_t nkv,
                     std::int64_t hd, std::int64_t window, bool wide, std::uint32_t seed) {
    SCOPED_TRACE(testing::Message()
                 << "T " << T << " pos0 " << pos0 << " heads " << nh << "/" << nkv << " hd " << hd
                 << " window " << window << " wide " << wide);
    Rng rng(seed);
    const std::int64_t L = pos0 + T, qw = nh * hd, kvw = nkv * hd;
    const std::int64_t qs = wide ? qw + 3 : qw, kvs = wide ? kvw + 5 : kvw, os = wide ? qw + 2 : qw;
    const std::vector<float> q_dense = rng.vec(std::size_t(T * qw), -2, 2);
    const std::vector<float> k_dense = rng.vec(std::size_t(L * kvw), -2, 2);
    const std::vector<float> v_dense = rng.vec(std::size_t(L * kvw));
    const std::vector<float> q = strided(q_dense, T, qw, qs), k = strided(k_dense, L, kvw, kvs),
                             v = strided(v_dense, L, kvw, kvs);
    std::vector<float> out(std::size_t(T * os), -3.0f);
    const float scale = float(1.0 / std::sqrt(double(hd)));
    backend()->attention(q.data(), qs, k.data(), v.data(), kvs, T, pos0, nh, nkv, hd, scale, window,
                         out.data(), os);
    std::vector<double> want(static_cast<std::size_t>(T * qw)),
        tol_scale(static_cast<std::size_t>(T * qw));
    const std::int64_t rep = nh / nkv;
    for (std::int64_t t = 0; t < T; ++t)
        for (std::int64_t h = 0; h < nh; ++h) {
            const std::int64_t g = h / rep, p = pos0 + t;
            const std::int64_t first = window > 0 ? std::max<std::int64_t>(0, p - window + 1) : 0;
            std::vector<double> s(static_cast<std::size_t>(L));
            double mx = -INFINITY, sum = 0;
            for (std::int64_t j = first; j <= p; ++j) {
                double dot = 0;
                for (std::int64_t d = 0; d < hd; ++d)
                    dot += double(q_dense[t * qw + h * hd + d]) * k_dense[j * kvw + g * hd + d];
                s[j] = dot * scale;
                mx = std::max(mx, s[j]);
            }
            for (std::int64_t j = first; j <= p; ++j) sum += s[j] = std::exp(s[j] - mx);
            for (std::int64_t d = 0; d < hd; ++d) {
                double acc = 0, mag = 0;
                for (std::int64_t j = first; j <= p; ++j) {
                    acc += s[j] / sum * v_dense[j * kvw + g * hd + d];
                    mag += s[j] / sum * std::abs(v_dense[j * kvw + g * hd + d]);
                }
                want[t * qw + h * hd + d] = acc;
                tol_scale[t * qw + h * hd + d] = mag + 1e-30;
            }
        }
    // fp32 dot products (hd terms, |s| up to ~4 sqrt(hd)) and a softmax-weighted sum: the error in
    // a probability is ~ hd ulp of the logits' size; 2e-5 of sum p |v| is ~1 ulp * 4 * 64 with
    // margin.
    expect_close(out.data(), os, want, tol_scale, T, qw, 2e-5, "attention");
    expect_padding_untouched(out, T, qw, os, -3.0f);
}

TEST(KernelAttention, GqaPrefixWindowStrides) {
    std::uint32_t seed = 500;
    for (auto [nh, nkv] : {std::pair<std::int64_t, std::int64_t>{4, 4}, {4, 2}, {6, 1}})
        for (std::int64_t T : {1, 9})
            for (std::int64_t pos0 : {0, 13})
                for (std::int64_t window : {0, 4})
                    for (bool wide : {false, true})
                        check_attention(T, pos0, nh, nkv, 16, window, wide, seed++);
    check_attention(3, 200, 8, 2, 64, 0, false, seed++);
}

// The first query of a sequence sees only itself: the output is its own value row.
TEST(KernelAttention, FirstTokenReturnsItsValue) {
    Rng rng(9);
    const std::int64_t hd = 8;
    const std::vector<float> q = rng.vec(hd), k = rng.vec(hd), v = rng.vec(hd);
    std::vector<float> out(hd);
    backend()->attention(q.data(), hd, k.data(), v.data(), hd, 1, 0, 1, 1, hd, 0.5f, 0, out.data(),
                         hd);
    for (std::int64_t d = 0; d < hd; ++d) EXPECT_FLOAT_EQ(out[d], v[d]);
}

}  // namespace
}  // namespace statescope::kernels::test
