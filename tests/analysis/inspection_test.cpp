// inspect(): the studio inspector's bundle equals the single analyses run on their own, and it
// stops when asked.
#include <gtest/gtest.h>

#include "core/analysis/inspection.h"
#include "core/error.h"
#include "core/runtime/backends.h"
#include "core/runtime/model.h"
#include "tests/analysis/reference.h"

namespace statescope {
namespace {

using namespace testing_ref;

std::vector<std::int32_t> prompt(int n) {
    std::vector<std::int32_t> ids;
    for (int i = 0; i < n; ++i) ids.push_back((i * 41 + 5) % 200);
    return ids;
}

TEST(Inspection, EqualsTheSingleAnalyses) {
    for (const char* name : {"mamba2-tiny", "nemotron_h-tiny"}) {
        SCOPED_TRACE(name);
        auto backend = make_backend("cpu");
        auto model = Model::load(kGolden / name, *backend);
        const auto ids = prompt(64);
        const Inspection in = inspect(*model, ids, {});
        ASSERT_EQ(in.tokens, 64);
        ASSERT_EQ(in.layers.size(), ssm_layers(model->spec()).size());
        CaptureOptions copt;
        copt.keep_delta = true;
        copt.state_stride = 2;  // the same chunk ends as inspect() (state statistics every T/32)
        Captures cap = capture_prefill(*model, ids, copt);
        for (std::size_t i = 0; i < in.layers.size(); ++i) {
            const auto& l = in.layers[i];
            const LayerCapture& lc = cap.layers[i];
            EXPECT_EQ(l.delta, lc.delta);
            const DecayLayer d = decay_layer(lc, 64, std::nullopt);
            EXPECT_EQ(l.decay.decay, d.decay);
            EXPECT_EQ(l.lyapunov.exponents, lyapunov_exponents(lc, 64).exponents);
            EXPECT_FALSE(l.state_stats.empty());
            EXPECT_EQ(l.kept.size(), std::size_t(64 * l.units));  // LongMamba ran (T >= 30)
        }
        EXPECT_EQ(in.lens.size(), std::size_t(model->spec().n_layers()));
        EXPECT_EQ(in.attention.size(), attention_layers(model->spec()).size());
        EXPECT_EQ(in.window_from, 64 - 48);
        EXPECT_FALSE(in.implicit.empty());
        for (const auto& m : in.implicit) EXPECT_EQ(m.map.size(), std::size_t(48 * 48));
        EXPECT_FALSE(in.perturbation.empty());
    }
}

TEST(Inspection, MatrixBudgetKeepsSummariesOfEveryLayer) {
    auto backend = make_backend("cpu");
    auto model = Model::load(kGolden / "mamba-tiny", *backend);
    const auto ids = prompt(40);
    const Inspection full = inspect(*model, ids, {});
    InspectOptions small;
    const std::int64_t U = full.layers[0].units;
    small.matrix_budget = 2 * 40 * U;  // room for one layer's delta + decay at a time
    const Inspection in = inspect(*model, ids, small);
    ASSERT_EQ(in.layers.size(), full.layers.size());
    ASSERT_GE(in.layers.size(), 2u);
    std::size_t with = 0;
    for (std::size_t i = 0; i < in.layers.size(); ++i) {
        const auto& a = in.layers[i];
        const auto& b = full.layers[i];
        EXPECT_TRUE(b.has_matrices());
        with += a.has_matrices();
        if (a.has_matrices()) {
            EXPECT_EQ(a.delta, b.delta);
            EXPECT_EQ(a.decay.decay, b.decay.decay);
        } else {
            EXPECT_TRUE(a.decay.decay.empty());
            EXPECT_TRUE(a.kept.empty());
        }
        // one prefill per layer instead of one for all: the same chunk ends, the same numbers
        EXPECT_EQ(a.delta_mean, b.delta_mean);
        EXPECT_EQ(a.decay.decay_mean, b.decay.decay_mean);
        EXPECT_EQ(a.lyapunov.exponents, b.lyapunov.exponents);
        EXPECT_EQ(a.kept_share, b.kept_share);
    }
    EXPECT_EQ(with, 1u);
    EXPECT_TRUE(in.layers[0].has_matrices());
}

TEST(Inspection, StopsWhenAsked) {
    auto backend = make_backend("cpu");
    auto model = Model::load(kGolden / "mamba2-tiny", *backend);
    const auto ids = prompt(1200);  // several prefill chunks per stage
    int calls = 0;
    std::int64_t last_total = 0;
    auto stop_early = [&](std::int64_t, std::int64_t total) {
        last_total = total;
        return ++calls < 2;
    };
    EXPECT_THROW(inspect(*model, ids, {}, stop_early), Error);
    EXPECT_EQ(calls, 2);  // stopped at the second report, inside the first stage
    EXPECT_EQ(last_total, 5000);
    EXPECT_THROW(inspect(*model, std::vector<std::int32_t>{1}, {}), Error);  // under 2 tokens
}

}  // namespace
}  // namespace statescope
