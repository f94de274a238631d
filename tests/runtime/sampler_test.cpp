// The sampler: truncations never emit an excluded token, temperature draws follow softmax(l/T), the
// penalties follow their formulas, and a seed fixes the output.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <numeric>
#include <random>
#include <set>

#include "core/error.h"
#include "core/runtime/sampler.h"

namespace statescope {
namespace {

std::vector<float> random_logits(std::size_t V, std::uint64_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.0f, 2.0f);
    std::vector<float> l(V);
    for (auto& v : l) v = d(rng);
    return l;
}

// softmax(l / T) in double: the reference for the temperature test.
std::vector<double> softmax(const std::vector<float>& l, double T) {
    double m = *std::max_element(l.begin(), l.end()), s = 0;
    std::vector<double> p(l.size());
    for (std::size_t i = 0; i < l.size(); ++i) s += p[i] = std::exp((l[i] - m) / T);
    for (auto& v : p) v /= s;
    return p;
}

std::vector<std::int32_t> ranked(const std::vector<float>& l) {
    std::vector<std::int32_t> order(l.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return l[a] > l[b]; });
    return order;
}

TEST(Sampler, GreedyIsArgmax) {
    auto l = random_logits(100, 1);
    Sampler s(SamplerSettings{});
    EXPECT_EQ(s.sample(l, {}), ranked(l)[0]);
}

TEST(Sampler, TopKNeverEmitsOutsideTheTopK) {
    auto l = random_logits(50, 2);
    const auto order = ranked(l);
    SamplerSettings set;
    set.temperature = 1.5f;
    set.top_k = 5;
    set.seed = 7;
    Sampler s(set);
    std::set<std::int32_t> allowed(order.begin(), order.begin() + 5), seen;
    for (int i = 0; i < 5000; ++i) {
        const auto t = s.sample(l, {});
        ASSERT_TRUE(allowed.count(t)) << "token " << t << " is outside the top 5";
        seen.insert(t);
    }
    EXPECT_EQ(seen.size(), 5u);  // and all five do appear at T = 1.5
}

TEST(Sampler, TopPKeepsTheSmallestPrefixReachingP) {
    auto l = random_logits(40, 3);
    const auto order = ranked(l);
    const auto p = softmax(l, 1.0);
    SamplerSettings set;
    set.temperature = 1.0f;
    set.top_p = 0.6f;
    set.seed = 11;
    Sampler s(set);
    std::size_t n = 0;
    double acc = 0;
    while (acc < 0.6) acc += p[order[n++]];
    std::set<std::int32_t> allowed(order.begin(), order.begin() + std::ptrdiff_t(n));
    const auto dist = s.distribution(l, {});
    for (std::size_t i = 0; i < l.size(); ++i)
        EXPECT_EQ(dist[i] > 0, allowed.count(std::int32_t(i)) == 1) << i;
    for (int i = 0; i < 3000; ++i) ASSERT_TRUE(allowed.count(s.sample(l, {})));
}

TEST(Sampler, MinPDropsUnlikelyTokens) {
    auto l = random_logits(60, 4);
    const auto p = softmax(l, 0.8);
    const double pmax = *std::max_element(p.begin(), p.end());
    SamplerSettings set;
    set.temperature = 0.8f;
    set.min_p = 0.2f;
    set.seed = 5;
    Sampler s(set);
    for (int i = 0; i < 3000; ++i) {
        const auto t = s.sample(l, {});
        ASSERT_GE(p[std::size_t(t)], 0.2 * pmax - 1e-9) << "token " << t;
    }
}

TEST(Sampler, TemperatureDrawsFollowSoftmax) {
    auto l = random_logits(8, 6);
    for (float T : {0.5f, 1.0f, 2.0f}) {
        SamplerSettings set;
        set.temperature = T;
        set.seed = 99;
        Sampler s(set);
        const auto p = softmax(l, T);
        const int draws = 40000;
        std::vector<int> count(l.size());
        for (int i = 0; i < draws; ++i) ++count[std::size_t(s.sample(l, {}))];
        for (std::size_t i = 0; i < l.size(); ++i) {
            // 5 standard deviations of a binomial proportion: fails by chance about once in 10^6
            // runs.
            const double sd = std::sqrt(p[i] * (1 - p[i]) / draws);
            EXPECT_NEAR(double(count[i]) / draws, p[i], 5 * sd + 1e-4)
                << "T=" << T << " token " << i;
        }
    }
}

TEST(Sampler, SameSeedSameTokensOtherSeedOtherTokens) {
    auto l = random_logits(200, 8);
    auto draw = [&](std::uint64_t seed) {
        SamplerSettings set;
        set.temperature = 1.0f;
        set.seed = seed;
        Sampler s(set);
        std::vector<std::int32_t> out;
        for (int i = 0; i < 50; ++i) out.push_back(s.sample(l, {}));
        return out;
    };
    EXPECT_EQ(draw(42), draw(42));
    EXPECT_NE(draw(42), draw(43));
}

TEST(Sampler, RepetitionPenaltyFollowsTransformers) {
    // logit / penalty when positive, logit * penalty when negative, once per distinct token.
    std::vector<float> l = {2.0f, -1.0f, 1.9f, 0.5f};
    SamplerSettings set;
    set.repetition_penalty = 2.0f;
    Sampler s(set);
    const std::int32_t history[] = {0, 0, 1};
    // 0: 2.0 -> 1.0 (below token 2's 1.9), so greedy now picks token 2.
    EXPECT_EQ(s.sample(l, history), 2);
    set.repetition_penalty = 1.0f;
    set.presence_penalty = 0.5f;
    set.frequency_penalty = 0.1f;
    set.temperature = 1.0f;
    Sampler s2(set);
    // Token 0: 2.0 - 0.5 - 0.2 = 1.3; token 1: -1 - 0.5 - 0.1 = -1.6; check through the
    // distribution.
    const auto d = s2.distribution(l, history);
    const auto ref = softmax({1.3f, -1.6f, 1.9f, 0.5f}, 1.0);
    for (std::size_t i = 0; i < 4; ++i) EXPECT_NEAR(d[i], ref[i], 1e-6);
}

TEST(Sampler, PenaltyWindow) {
    std::vector<float> l = {2.0f, 1.9f};
    SamplerSettings set;
    set.repetition_penalty = 4.0f;
    set.penalty_last_n = 1;
    Sampler s(set);
    const std::int32_t history[] = {0, 1};  // only the last token (1) is in the window
    EXPECT_EQ(s.sample(l, history), 0);
}

TEST(Sampler, BadSettingsAreErrors) {
    SamplerSettings set;
    set.top_p = 0.0f;
    EXPECT_THROW(Sampler{set}, Error);
    set = {};
    set.min_p = 1.5f;
    EXPECT_THROW(Sampler{set}, Error);
    set = {};
    set.repetition_penalty = 0.0f;
    EXPECT_THROW(Sampler{set}, Error);
}

}  // namespace
}  // namespace statescope
