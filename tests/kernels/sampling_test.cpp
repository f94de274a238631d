// The sampling op (kernels/sampling.h) against a float64 reference written from the rule's text:
// penalties, ranking (ties by lower id), temperature, top-k, min-p, top-p, and the inverse-CDF
// draw in ranked order, on random rows with planted ties, NaN and infinities.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "kernel_test_util.h"
#include "kernels/cpu/ops.h"

namespace statescope::kernels::test {
namespace {

struct RefRow {
    std::vector<std::int32_t> ids;  // kept, ranked
    std::vector<double> p;          // their probabilities
};

// The rule of kernels/sampling.h in double, step by step (a full sort; no shared code with the op).
RefRow reference(const std::vector<float>& row, const SampleParams& s,
                 const std::vector<std::int32_t>& pen_ids,
                 const std::vector<std::int32_t>& pen_counts) {
    const std::size_t V = row.size();
    std::vector<double> l(V);
    for (std::size_t i = 0; i < V; ++i) l[i] = std::isnan(row[i]) ? -INFINITY : double(row[i]);
    for (std::size_t j = 0; j < pen_ids.size(); ++j) {
        float v = row[std::size_t(pen_ids[j])];
        if (s.repetition_penalty != 1.0f)
            v = v > 0 ? v / s.repetition_penalty : v * s.repetition_penalty;
        v -= std::fma(s.frequency_penalty, float(pen_counts[j]), s.presence_penalty);
        l[std::size_t(pen_ids[j])] = std::isnan(v) ? -INFINITY : double(v);
    }
    std::vector<std::int32_t> order(V);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return l[a] > l[b]; });
    RefRow out;
    if (s.temperature <= 0.0f || std::isinf(l[order[0]])) {
        out.ids = {order[0]};
        out.p = {1.0};
        return out;
    }
    std::vector<double> w(V);
    for (std::size_t r = 0; r < V; ++r)
        w[r] = std::exp((l[order[r]] - l[order[0]]) / s.temperature);
    std::size_t keep = V;
    if (s.top_k > 0) keep = std::min<std::size_t>(keep, std::size_t(s.top_k));
    if (s.min_p > 0.0f) {
        std::size_t n = 0;
        for (std::size_t r = 0; r < keep; ++r)
            if (w[r] / w[0] >= s.min_p) n = r + 1;
        keep = std::max<std::size_t>(n, 1);
    }
    if (s.top_p < 1.0f) {
        double mass = 0;
        for (std::size_t r = 0; r < keep; ++r) mass += w[r];
        double acc = 0;
        for (std::size_t r = 0; r < keep; ++r) {
            acc += w[r];
            if (acc >= s.top_p * mass) {
                keep = r + 1;
                break;
            }
        }
    }
    double mass = 0;
    for (std::size_t r = 0; r < keep; ++r) mass += w[r];
    for (std::size_t r = 0; r < keep; ++r) {
        out.ids.push_back(order[r]);
        out.p.push_back(w[r] / mass);
    }
    return out;
}

std::int32_t reference_draw(const RefRow& r, double u) {
    double acc = 0;
    for (std::size_t i = 0; i < r.ids.size(); ++i) {
        acc += r.p[i];
        if (u < acc) return r.ids[i];
    }
    return r.ids.back();
}

std::vector<SampleParams> settings_grid(std::int64_t V) {
    std::vector<SampleParams> out;
    for (float temp : {0.0f, 0.7f, 1.0f, 1.6f})
        for (std::int64_t k : {std::int64_t(0), std::int64_t(1), std::int64_t(40), V + 5})
            for (float top_p : {1.0f, 0.9f, 0.3f})
                for (float min_p : {0.0f, 0.05f})
                    for (bool pen : {false, true}) {
                        SampleParams s;
                        s.temperature = temp;
                        s.top_k = k;
                        s.top_p = top_p;
                        s.min_p = min_p;
                        if (pen) {
                            s.repetition_penalty = 1.3f;
                            s.presence_penalty = 0.4f;
                            s.frequency_penalty = 0.15f;
                        }
                        out.push_back(s);
                    }
    return out;
}

// A random row with planted ties at the top, a NaN, and (for V > 8) an -inf.
std::vector<float> planted_row(std::int64_t V, Rng& rng) {
    std::vector<float> row = rng.vec(std::size_t(V), -6.0f, 6.0f);
    if (V > 8) {
        row[std::size_t(rng.integer(0, V - 1))] = 7.0f;
        row[std::size_t(rng.integer(0, V - 1))] = 7.0f;
        row[std::size_t(rng.integer(0, V - 1))] = std::numeric_limits<float>::quiet_NaN();
        row[std::size_t(rng.integer(0, V - 1))] = -INFINITY;
    }
    return row;
}

void penalties_for(std::int64_t V, Rng& rng, std::vector<std::int32_t>& ids,
                   std::vector<std::int32_t>& counts) {
    ids.clear();
    counts.clear();
    for (std::int64_t i = 0; i < V && ids.size() < 12; i += 1 + rng.integer(0, V / 8 + 1)) {
        ids.push_back(std::int32_t(i));
        counts.push_back(std::int32_t(rng.integer(1, 4)));
    }
}

TEST(KernelSample, MatchesTheFloat64RuleOnEverySetting) {
    Rng rng(41);
    for (std::int64_t V : {1, 2, 17, 1000, 50280}) {
        const std::vector<float> row = planted_row(V, rng);
        std::vector<std::int32_t> pid, pcount;
        penalties_for(V, rng, pid, pcount);
        for (const SampleParams& s : settings_grid(V)) {
            const bool pen = s.has_penalties();
            const std::vector<std::int32_t> none;
            const RefRow want = reference(row, s, pen ? pid : none, pen ? pcount : none);
            const cpu::Ranked got =
                cpu::rank_row(row.data(), V, s, pen ? pid : none, pen ? pcount : none);
            const std::string what =
                "V " + std::to_string(V) + " T " + std::to_string(s.temperature) + " k " +
                std::to_string(s.top_k) + " top_p " + std::to_string(s.top_p) + " min_p " +
                std::to_string(s.min_p) + (pen ? " penalties" : "");
            ASSERT_EQ(got.ids, want.ids) << what;
            const std::int64_t offsets[2] = {0, std::int64_t(pid.size())};
            const SamplePenalties p{pen ? offsets : nullptr, pid.data(), pcount.data()};
            for (std::size_t i = 0; i < want.p.size(); ++i)
                EXPECT_NEAR(got.e[i] / got.cum.back(), want.p[i], 1e-12 * want.p[0]) << what;
            for (int d = 0; d < 64; ++d) {
                const double u = (d + 0.5) / 64.0;
                EXPECT_EQ(cpu::draw(got, u), reference_draw(want, u)) << what << " u " << u;
            }
            // and the op end to end (penalties through SamplePenalties)
            for (const double u : {0.015625 * 3.5, 0.640625}) {
                std::int32_t out = -1;
                backend()->sample(row.data(), V, 1, V, s, p, &u, &out);
                EXPECT_EQ(out, reference_draw(want, u)) << what << " u " << u;
            }
        }
    }
}

// Rows that decide by the edge cases: equal maxima give the lowest id; -0 and +0 tie; an all-NaN or
// all -inf row gives token 0; +inf wins outright.
TEST(KernelSample, EdgeRows) {
    SampleParams s;
    s.temperature = 1.0f;
    const double u = 0.999;
    auto pick = [&](std::vector<float> row, SampleParams p) {
        std::int32_t out = -1;
        backend()->sample(row.data(), std::int64_t(row.size()), 1, std::int64_t(row.size()), p, {},
                          &u, &out);
        return out;
    };
    SampleParams greedy;
    EXPECT_EQ(pick({1.0f, 3.0f, 3.0f, 2.0f}, greedy), 1);
    EXPECT_EQ(pick({-0.0f, 0.0f, -1.0f}, greedy), 0);
    const float nan = std::numeric_limits<float>::quiet_NaN();
    EXPECT_EQ(pick({nan, nan, nan}, s), 0);
    EXPECT_EQ(pick({-INFINITY, -INFINITY}, s), 0);
    EXPECT_EQ(pick({1.0f, INFINITY, 2.0f}, s), 1);
    EXPECT_EQ(pick({nan, 1.0f, nan}, greedy), 1);
    // top_k = 1 is greedy whatever u
    SampleParams k1 = s;
    k1.top_k = 1;
    EXPECT_EQ(pick({0.5f, 0.4f, 0.6f, 0.6f}, k1), 2);
    // a repetition penalty pulls the winner below the runner-up
    const std::int32_t id = 2, count = 1;
    const std::int64_t off[2] = {0, 1};
    SampleParams rep;
    rep.repetition_penalty = 2.0f;
    std::vector<float> row = {0.5f, 0.9f, 1.2f};
    std::int32_t out = -1;
    backend()->sample(row.data(), 3, 1, 3, rep, SamplePenalties{off, &id, &count}, &u, &out);
    EXPECT_EQ(out, 1);
}

}  // namespace
}  // namespace statescope::kernels::test
