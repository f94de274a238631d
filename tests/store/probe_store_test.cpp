// Probe results in the store: kept as analysis runs of a model (kind "probe.*", no session),
// read back by model and kind prefix exactly as written, and kept apart from other models' runs
// and from other kinds.
#include <gtest/gtest.h>

#include "core/store/session_store.h"
#include "tests/store/store_test_util.h"

namespace statescope {
namespace {

using test::ScratchDir;

TEST(store, ProbeResultsRoundTripByModel) {
    ScratchDir dir;
    SessionStore store(dir / "s.db");
    const RowRef m1 = store.touch_model({"/models/mamba-130m", "mamba", std::string(64, 'a')});
    const RowRef m2 = store.touch_model({"/models/mamba2-130m", "mamba2", std::string(64, 'b')});
    const nlohmann::json result = {
        {"format", "statescope-probe"},
        {"probe", "passkey"},
        {"samples",
         {{{"length", 1024},
           {"depth", 0.5},
           {"expected", "04217"},
           {"got", " 04217."},
           {"correct", true}}}},
        {"summary", {{"lengths", {1024}}, {"depths", {0.5}}, {"accuracy", {{1.0}}}}}};
    const nlohmann::json params = {{"lengths", {1024}}, {"seed", 123}, {"jrt", true}};
    const RowRef r1 = store.add_analysis_run({{}, {}, m1, "probe.passkey", params, result, {}});
    store.add_analysis_run({{}, {}, m1, "logit_lens", {}, {}, {}});
    store.add_analysis_run({{}, {}, m2, "probe.needle", params, result, {}});
    const RowRef r4 = store.add_analysis_run({{}, {}, m1, "probe.phonebook", params, {}, {}});
    store.flush();

    SessionReader reader = store.reader();
    const auto runs = reader.analysis_runs_of_model(m1.id(), "probe.");
    ASSERT_EQ(runs.size(), 2u);
    EXPECT_EQ(runs[0].id, r1.id());
    EXPECT_EQ(runs[0].kind, "probe.passkey");
    EXPECT_EQ(runs[0].model_id, m1.id());
    EXPECT_FALSE(runs[0].session_id.has_value());
    EXPECT_EQ(runs[0].params, params);
    EXPECT_EQ(runs[0].result, result);
    EXPECT_EQ(runs[1].id, r4.id());
    EXPECT_EQ(reader.analysis_runs_of_model(m1.id()).size(), 3u);
    EXPECT_EQ(reader.analysis_runs_of_model(m2.id(), "probe.").size(), 1u);
    EXPECT_TRUE(reader.analysis_runs_of_model(m1.id(), "probe.n").empty());
    // '_' and '%' in a prefix are characters, not LIKE patterns.
    EXPECT_TRUE(reader.analysis_runs_of_model(m1.id(), "probe_").empty());
    EXPECT_TRUE(reader.analysis_runs_of_model(m1.id(), "%").empty());
}

}  // namespace
}  // namespace statescope
