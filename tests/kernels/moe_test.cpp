// moe_route against double references of the three router scorings.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "kernel_test_util.h"

namespace statescope::kernels::test {
namespace {

struct Route {
    std::vector<std::int32_t> experts;
    std::vector<double> weights;
};

std::vector<std::int64_t> order(const std::vector<double>& v) {
    std::vector<std::int64_t> idx(v.size());
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(), [&](auto a, auto b) { return v[a] > v[b]; });
    return idx;
}

// One token, straight from the formulas in backend.h.
Route reference(const float* l, std::int64_t E, std::int64_t k, RouterScoring scoring,
                const float* bias, std::int64_t n_group, std::int64_t topk_group, bool normalize,
                double route_scale) {
    std::vector<double> p(static_cast<std::size_t>(E)), choice(static_cast<std::size_t>(E));
    Route r;
    if (scoring == RouterScoring::SoftmaxTopK) {
        double mx = *std::max_element(l, l + E), sum = 0;
        for (std::int64_t e = 0; e < E; ++e) sum += p[e] = std::exp(double(l[e]) - mx);
        for (auto& x : p) x /= sum;
        choice = p;
    } else if (scoring == RouterScoring::TopKSoftmax) {
        for (std::int64_t e = 0; e < E; ++e) choice[e] = p[e] = l[e];
    } else {
        for (std::int64_t e = 0; e < E; ++e) {
            p[e] = 1 / (1 + std::exp(-double(l[e])));
            choice[e] = p[e] + (bias ? bias[e] : 0.0);
        }
        const std::int64_t per = E / n_group;
        std::vector<double> gs(static_cast<std::size_t>(n_group));
        for (std::int64_t g = 0; g < n_group; ++g) {
            std::vector<double> m(choice.begin() + g * per, choice.begin() + (g + 1) * per);
            std::sort(m.rbegin(), m.rend());
            gs[g] = m[0] + (per > 1 ? m[1] : 0);
        }
        auto go = order(gs);
        for (std::int64_t j = topk_group; j < n_group; ++j)
            for (std::int64_t e = go[j] * per; e < (go[j] + 1) * per; ++e) choice[e] = -INFINITY;
    }
    auto idx = order(choice);
    double total = 0;
    for (std::int64_t j = 0; j < k; ++j) {
        r.experts.push_back(std::int32_t(idx[j]));
        r.weights.push_back(p[idx[j]]);
    }
    if (scoring == RouterScoring::TopKSoftmax) {
        const double mx = r.weights[0];
        double sum = 0;
        for (auto& w : r.weights) sum += w = std::exp(w - mx);
        for (auto& w : r.weights) w /= sum;
    }
    for (double w : r.weights) total += w;
    for (auto& w : r.weights) w = (normalize ? w / (total + 1e-20) : w) * route_scale;
    return r;
}

void check(RouterScoring scoring, std::int64_t E, std::int64_t k, std::int64_t n_group,
           std::int64_t topk_group, bool normalize, bool with_bias, std::uint32_t seed) {
    SCOPED_TRACE(testing::Message()
                 << "scoring " << int(scoring) << " E " << E << " k " << k << " groups " << n_group
                 << "/" << topk_group << " normalize " << normalize);
    Rng rng(seed);
    const std::int64_t T = 6;
    const std::vector<float> logits = rng.vec(std::size_t(T * E), -4, 4);
    const std::vector<float> bias = rng.vec(std::size_t(E), -0.5f, 0.5f);
    std::vector<std::int32_t> experts(std::size_t(T * k), -1);
    std::vector<float> weights(static_cast<std::size_t>(T * k));
    backend()->moe_route(logits.data(), T, E, k, scoring, with_bias ? bias.data() : nullptr,
                         n_group, topk_group, normalize, 2.5f, experts.data(), weights.data());
    for (std::int64_t t = 0; t < T; ++t) {
        const Route r =
            reference(logits.data() + t * E, E, k, scoring, with_bias ? bias.data() : nullptr,
                      n_group, topk_group, normalize, 2.5);
        for (std::int64_t j = 0; j < k; ++j) {
            EXPECT_EQ(experts[t * k + j], r.experts[j]) << "token " << t << " slot " << j;
            EXPECT_NEAR(weights[t * k + j], r.weights[j], 1e-6 * std::abs(r.weights[j]) + 1e-7)
                << "token " << t << " slot " << j;
        }
    }
}

TEST(KernelMoeRoute, SoftmaxTopKWithoutRenormalisation) {
    for (std::int64_t k : {1, 2, 3})
        check(RouterScoring::SoftmaxTopK, 8, k, 1, 1, false, false, 600 + k);
}

TEST(KernelMoeRoute, TopKSoftmax) {
    for (std::int64_t k : {1, 2, 5})
        check(RouterScoring::TopKSoftmax, 9, k, 1, 1, false, false, 610 + k);
}

TEST(KernelMoeRoute, SigmoidWithBiasNormalisationAndGroups) {
    check(RouterScoring::Sigmoid, 8, 2, 1, 1, true, true, 620);
    check(RouterScoring::Sigmoid, 8, 2, 1, 1, false, true, 621);
    check(RouterScoring::Sigmoid, 16, 4, 4, 2, true, true, 622);
    check(RouterScoring::Sigmoid, 12, 3, 3, 1, true, false, 623);
}

}  // namespace
}  // namespace statescope::kernels::test
