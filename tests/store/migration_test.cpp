// Every older schema version kept in tests/data/store upgrades to the current one with its
// conversations intact; a migration that fails leaves the database at the version it was.
#include <sqlite3.h>

#include "core/error.h"
#include "core/store/schema.h"
#include "tests/store/store_test_util.h"

namespace statescope {
namespace {

using namespace statescope::test;

// "vN.db". (Built with += : "v" + std::to_string() trips a GCC 12 -Wrestrict false positive.)
std::string fixture_name(int version) {
    std::string name = "v";
    name += std::to_string(version);
    return name + ".db";
}

fs::path copy_fixture(const ScratchDir& dir, int version) {
    const fs::path src = kStoreData / fixture_name(version);
    const fs::path dst = dir / fixture_name(version);
    fs::copy_file(src, dst);
    return dst;
}

std::int64_t raw_user_version(const fs::path& p) {
    sqlite3* db = nullptr;
    sqlite3_open_v2(p.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr);
    sqlite3_step(st);
    const auto v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

// What the fixture conversation must look like at the current version, whichever version it was
// written by (make_fixture.cpp writes the same rows for each).
void expect_fixture_content(SessionReader& r) {
    EXPECT_EQ(r.integrity_check(), "ok");
    auto s = r.session(1);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->title, "Ocean chat");
    EXPECT_EQ(s->created_at_ms, 1700000000000);
    EXPECT_EQ(s->updated_at_ms, 1700000300000);
    EXPECT_EQ(s->model_id, 1);
    EXPECT_EQ(s->head_message_id, 6);
    EXPECT_EQ(s->metadata, nlohmann::json({{"template", "chatml"}}));
    ASSERT_EQ(s->messages.size(), 6u);
    const auto& m = s->messages;
    EXPECT_EQ(m[2].text, "Rivers carry dissolved minerals into it.");
    EXPECT_EQ(m[2].parent_id, 2);
    EXPECT_EQ(m[3].parent_id, 2) << "the regeneration stays a sibling";
    EXPECT_EQ(m[4].parent_id, 1) << "the edit stays a sibling";

    ASSERT_TRUE(m[2].generation);
    const auto& g3 = *m[2].generation;
    EXPECT_EQ(g3.params.sampler, nlohmann::json({{"temperature", 0.8}}));
    EXPECT_EQ(g3.params.seed, 7);
    EXPECT_EQ(g3.params.backend, "cpu");
    EXPECT_EQ(g3.params.dtype, "float32");
    EXPECT_EQ(g3.stats.prompt_tokens, 10);
    EXPECT_EQ(g3.stats.generated_tokens, 20);
    EXPECT_EQ(g3.stats.ttft_s, 0.05);
    EXPECT_EQ(g3.stats.prefill_s, 0.025);
    EXPECT_EQ(g3.stats.decode_s, 0.5);
    EXPECT_DOUBLE_EQ(g3.stats.prefill_tok_s.value_or(-1), 400.0);
    EXPECT_DOUBLE_EQ(g3.stats.decode_tok_s.value_or(-1), 40.0);
    ASSERT_TRUE(m[3].generation);
    EXPECT_FALSE(m[3].generation->stats.ttft_s) << "absent stays absent, not 0";
    EXPECT_FALSE(m[3].generation->stats.prefill_tok_s) << "no rate from a zero duration";
    EXPECT_DOUBLE_EQ(m[3].generation->stats.decode_tok_s.value_or(-1), 20.0);
    ASSERT_TRUE(m[5].generation);
    EXPECT_EQ(m[5].generation->params.backend, "cuda");
    EXPECT_FALSE(m[5].generation->stats.generated_tokens);
    EXPECT_FALSE(m[0].generation);

    auto s2 = r.session(2);
    ASSERT_TRUE(s2);
    ASSERT_EQ(s2->messages.size(), 2u);
    EXPECT_EQ(s2->messages[1].status, MessageStatus::Interrupted);
    EXPECT_EQ(s2->messages[1].text, "Hel");

    ASSERT_EQ(s->analysis_runs.size(), 1u);
    EXPECT_EQ(s->analysis_runs[0].result, nlohmann::json({{"top", {"salt"}}}));
    const auto comparisons = r.comparisons();
    ASSERT_EQ(comparisons.size(), 1u);
    ASSERT_EQ(comparisons[0].entries.size(), 2u);
    EXPECT_EQ(comparisons[0].entries[1].session_id, 2);
    const auto benches = r.benchmark_runs();
    ASSERT_EQ(benches.size(), 1u);
    EXPECT_EQ(benches[0].result["tok_s"], 512.5);
    ASSERT_EQ(r.models().size(), 1u);

    // The full-text index covers what was written before it existed.
    const auto hits = r.search("salty ocean");
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_EQ(hits[0].message_id, 2);
    EXPECT_EQ(r.search("minerals").size(), 1u);
}

class store_migration : public ::testing::TestWithParam<int> {};

TEST_P(store_migration, FixtureUpgradesWithContentIntact) {
    ScratchDir dir;
    const int version = GetParam();
    const fs::path original = kStoreData / fixture_name(version);
    ASSERT_TRUE(fs::exists(original)) << "fixture missing: " << original;
    EXPECT_EQ(raw_user_version(original), version) << "the fixture is what its name says";
    const std::string original_bytes = slurp(original);
    const fs::path db = copy_fixture(dir, version);
    {
        SessionStore store(db);
        auto r = store.reader();
        EXPECT_EQ(r.connection().query_int("PRAGMA user_version"), kSchemaVersion);
        expect_fixture_content(r);
        // Still a working store: the tree grows and search sees the new text.
        store.add_message(1, 5, Role::Assistant, "Another answer");  // a regeneration
        store.add_message(1, 6, Role::User, "and the tides?");
        store.flush();
        EXPECT_EQ(r.search("tides").size(), 1u);
    }
    // Opening again is a no-op for the schema.
    SessionStore again(db);
    EXPECT_EQ(again.reader().session(1)->messages.size(), 8u);
    EXPECT_EQ(slurp(original), original_bytes) << "tests never modify the fixture itself";
}

INSTANTIATE_TEST_SUITE_P(EveryVersion, store_migration, ::testing::Range(1, kSchemaVersion + 1),
                         [](const ::testing::TestParamInfo<int>& p) {
                             std::string name = "v";
                             name += std::to_string(p.param);
                             return name;
                         });

TEST(store_migration_failure, LeavesTheOldVersionIntact) {
    ScratchDir dir;
    const fs::path db = copy_fixture(dir, 1);
    {
        // Something in the way of migration 2 (as if a user had added their own table).
        sqlite3* raw = nullptr;
        ASSERT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
        ASSERT_EQ(sqlite3_exec(raw, "CREATE TABLE generations (x)", nullptr, nullptr, nullptr),
                  SQLITE_OK);
        sqlite3_close(raw);
    }
    try {
        SessionStore store(db);
        FAIL() << "the migration should have failed";
    } catch (const Error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("schema v2"), std::string::npos) << msg;
        EXPECT_NE(msg.find("stays at v1"), std::string::npos) << msg;
        EXPECT_NE(msg.find(db.string()), std::string::npos) << msg;
    }
    EXPECT_EQ(raw_user_version(db), 1);
    // The v1 columns and rows are all still there: nothing of the failed step was applied.
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(raw, "SELECT count(params_json) FROM messages", -1, &st, nullptr),
              SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    EXPECT_EQ(sqlite3_column_int(st, 0), 3);
    sqlite3_finalize(st);
    ASSERT_EQ(
        sqlite3_prepare_v2(raw, "SELECT count(*) FROM sqlite_schema WHERE name = 'message_fts'", -1,
                           &st, nullptr),
        SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    EXPECT_EQ(sqlite3_column_int(st, 0), 0);
    sqlite3_finalize(st);
    sqlite3_close(raw);
}

TEST(store_migration_steps, AreNumberedWithoutGaps) {
    int expected = 1;
    for (const auto& m : migrations()) EXPECT_EQ(m.version, expected++);
    EXPECT_EQ(expected - 1, kSchemaVersion);
}

}  // namespace
}  // namespace statescope
