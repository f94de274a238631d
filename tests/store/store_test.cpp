// The store's contract: a tree that only grows, parameters and stats kept exactly, blobs counted
// and collected, deletion that really removes text, readers on other threads, errors that surface.
#include <sqlite3.h>

#include <atomic>
#include <thread>

#include "core/error.h"
#include "core/store/sha256.h"
#include "tests/store/store_test_util.h"

namespace statescope {
namespace {

using namespace statescope::test;

// A plain read-write connection that bypasses the store, as a buggy tool or a user with sqlite3.
std::string raw_exec(const fs::path& db, const std::string& sql) {
    sqlite3* raw = nullptr;
    sqlite3_open(db.c_str(), &raw);
    sqlite3_busy_timeout(raw, 5000);
    char* err = nullptr;
    sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, &err);
    std::string msg = err ? err : "";
    sqlite3_free(err);
    sqlite3_close(raw);
    return msg;
}

std::size_t count_occurrences(const std::string& hay, const std::string& needle) {
    std::size_t n = 0;
    for (auto p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
    return n;
}

TEST(store, EditsAndRegenerationsAreSiblings) {
    ScratchDir dir;
    SessionStore store(dir / "s.db");
    const auto ids = make_sample_session(store);
    auto r = store.reader();
    const auto s = r.session(ids.session);
    ASSERT_TRUE(s);
    ASSERT_EQ(s->messages.size(), 6u);
    std::map<std::int64_t, const Message*> by_id;
    for (const auto& m : s->messages) by_id[m.id] = &m;
    EXPECT_EQ(by_id[ids.reply_a]->parent_id, ids.question);
    EXPECT_EQ(by_id[ids.reply_b]->parent_id, ids.question) << "a regeneration is a sibling";
    EXPECT_EQ(by_id[ids.edit]->parent_id, ids.system) << "an edit is a sibling of the original";
    EXPECT_EQ(by_id[ids.question]->text, "Tell me about the ocean currents") << "never overwritten";
    EXPECT_EQ(s->head_message_id, ids.edit_reply);
    const auto branch = visible_branch(*s);
    ASSERT_EQ(branch.size(), 3u);
    EXPECT_EQ(branch[0]->id, ids.system);
    EXPECT_EQ(branch[1]->id, ids.edit);
    EXPECT_EQ(branch[2]->id, ids.edit_reply);

    // Switching the branch on screen is only a head move.
    store.set_head(ids.session, ids.reply_a);
    store.flush();
    const auto s2 = r.session(ids.session);
    EXPECT_EQ(visible_branch(*s2).back()->id, ids.reply_a);
    EXPECT_EQ(visible_branch(*s2).size(), 3u);
}

TEST(store, SchemaRefusesRewritesAndMoves) {
    ScratchDir dir;
    const fs::path db = dir / "s.db";
    SessionStore store(db);
    const auto ids = make_sample_session(store);
    const auto id = std::to_string(ids.question);
    EXPECT_NE(raw_exec(db, "UPDATE messages SET text = 'changed' WHERE id = " + id)
                  .find("never rewritten"),
              std::string::npos);
    EXPECT_NE(
        raw_exec(db, "UPDATE messages SET parent_id = NULL WHERE id = " + id).find("never move"),
        std::string::npos);
    EXPECT_NE(
        raw_exec(db,
                 "PRAGMA foreign_keys = ON; INSERT INTO sessions (title, created_at, updated_at) "
                 "VALUES ('x', 0, 0); UPDATE sessions SET head_message_id = " +
                     id + " WHERE id = last_insert_rowid()")
            .find("not in this session"),
        std::string::npos);
    EXPECT_EQ(store.reader().message(ids.question)->text, "Tell me about the ocean currents");
}

TEST(store, GenerationParamsAndStatsAreKeptExactly) {
    ScratchDir dir;
    SessionStore store(dir / "s.db");
    const auto ids = make_sample_session(store);
    auto r = store.reader();
    const auto a = r.message(ids.reply_a);
    ASSERT_TRUE(a && a->generation);
    EXPECT_EQ(a->generation->params, sample_params());
    EXPECT_EQ(a->generation->stats, sample_stats()) << "doubles survive bit for bit";
    const auto b = r.message(ids.reply_b);
    ASSERT_TRUE(b && b->generation);
    EXPECT_EQ(b->text, "Gulf Stream, mostly.");
    EXPECT_EQ(b->status, MessageStatus::Complete);
    EXPECT_EQ(b->generation->params, sample_params()) << "from begin_message";
    EXPECT_EQ(b->generation->stats, sample_stats()) << "from finish_message";
    const auto e = r.message(ids.edit_reply);
    ASSERT_TRUE(e && e->generation);
    EXPECT_FALSE(e->generation->stats.decode_tok_s) << "not measured is not zero";
    EXPECT_FALSE(r.message(ids.question)->generation);
}

TEST(store, BlobsAreContentAddressedCountedAndCollected) {
    ScratchDir dir;
    const fs::path db = dir / "s.db";
    SessionStore store(db);
    const auto ids = make_sample_session(store);
    auto r = store.reader();
    const auto run = r.session(ids.session)->analysis_runs.at(0);
    ASSERT_EQ(run.blobs.size(), 2u);
    EXPECT_EQ(run.blobs[0].name, "capture");
    EXPECT_EQ(run.blobs[0].size, 3000);
    EXPECT_EQ(r.read_blob(run.blobs[0].hash), std::vector<std::uint8_t>(3000, 7));
    const BlobFiles files(db);
    EXPECT_TRUE(fs::exists(files.path_of(run.blobs[0].hash)));
    const auto state = r.message(ids.edit_reply)->blobs.at(0);
    EXPECT_EQ(state.hash, sha256_hex(std::string("\x01\x02\x03\x04\x05")));

    // The same bytes in another session: one file, two references.
    auto other = store.create_session("other");
    auto m = store.add_message(other, {}, Role::User, "hi");
    store.attach_blob(m, BlobData{"copy", {1, 2, 3, 4, 5}});
    store.flush();
    auto refs = [&](const std::string& hash) {
        auto st = r.connection().prepare("SELECT ref_count FROM blobs WHERE hash = ?1");
        st.bind(1, hash);
        return st.step() ? st.int64(0) : -1;
    };
    EXPECT_EQ(refs(state.hash), 2);
    EXPECT_EQ(files.list_hashes().size(), 3u);

    ASSERT_TRUE(store.delete_session(ids.session));
    EXPECT_EQ(refs(state.hash), 1) << "still used by the other session";
    EXPECT_EQ(refs(run.blobs[0].hash), -1) << "unreferenced rows go with the session";
    EXPECT_FALSE(fs::exists(files.path_of(run.blobs[0].hash)));
    EXPECT_TRUE(fs::exists(files.path_of(state.hash)));
    EXPECT_EQ(r.read_blob(state.hash), (std::vector<std::uint8_t>{1, 2, 3, 4, 5}));

    // Files no row knows (a crash between file and commit) and dead temp files are swept.
    const std::string orphan = sha256_hex("orphan");
    fs::create_directories(files.path_of(orphan).parent_path());
    write_file(files.path_of(orphan), "orphan");
    write_file(files.path_of(orphan).string() + ".tmp-99999-0", "half");
    const auto gc = store.collect_garbage();
    EXPECT_EQ(gc.orphan_files, 1);
    EXPECT_EQ(gc.temp_files, 1);
    EXPECT_FALSE(fs::exists(files.path_of(orphan)));
    EXPECT_TRUE(fs::exists(files.path_of(state.hash)));

    // A damaged blob file is reported as such, naming it.
    write_file(files.path_of(state.hash), "tampered");
    try {
        r.read_blob(state.hash);
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("damaged"), std::string::npos);
    }
    EXPECT_EQ(r.integrity_check(), "ok");
}

TEST(store, ModelsComparisonsAndBenchmarks) {
    ScratchDir dir;
    SessionStore store(dir / "s.db");
    const ModelInfo info{"/m/a", "mamba2", std::string(64, 'b')};
    auto m1 = store.touch_model(info);
    auto m2 = store.touch_model(info);
    auto m3 = store.touch_model({"/m/a", "mamba2", std::string(64, 'c')});  // new weights
    auto s1 = store.create_session("left", m1);
    auto s2 = store.create_session("right", m3);
    NewComparison c;
    c.title = "a vs b";
    c.prompt = "Why?";
    c.settings = {{"max_new_tokens", 32}};
    c.entries = {NewComparisonEntry{s1, m1}, NewComparisonEntry{s2, m3}};
    auto cmp = store.add_comparison(c);
    NewBenchmarkRun b;
    b.model = m1;
    b.kind = "decode";
    b.params = {{"tokens", 256}};
    b.result = {{"tok_s", 1234.5}};
    b.machine = {{"cpu", "x"}};
    auto bench = store.add_benchmark_run(b);
    store.flush();
    EXPECT_EQ(m1.id(), m2.id()) << "the same folder and weights are one model";
    EXPECT_NE(m1.id(), m3.id());
    auto r = store.reader();
    EXPECT_EQ(r.models().size(), 2u);
    const auto cs = r.comparisons();
    ASSERT_EQ(cs.size(), 1u);
    EXPECT_EQ(cs[0].id, cmp.id());
    EXPECT_EQ(cs[0].prompt, "Why?");
    ASSERT_EQ(cs[0].entries.size(), 2u);
    EXPECT_EQ(cs[0].entries[1].session_id, s2.id());
    EXPECT_EQ(cs[0].entries[1].model_id, m3.id());
    const auto bs = r.benchmark_runs();
    ASSERT_EQ(bs.size(), 1u);
    EXPECT_EQ(bs[0].id, bench.id());
    EXPECT_EQ(bs[0].result["tok_s"], 1234.5);
    EXPECT_EQ(bs[0].model_id, m1.id());
    // Deleting a compared session keeps the comparison, without that pane's session.
    store.delete_session(s2.id());
    EXPECT_FALSE(r.comparisons()[0].entries[1].session_id);
    EXPECT_EQ(r.comparisons()[0].entries[1].model_id, m3.id());
}

TEST(store, DeletedTextLeavesTheFileTheIndexAndTheWal) {
    ScratchDir dir;
    const fs::path db = dir / "s.db";
    // Prefix-compressed FTS terms may drop the first letters; the tail is what must vanish.
    const std::string secret = "qzxsecretword";
    const std::string tail = secret.substr(3);
    SessionStore store(db);
    std::int64_t doomed = 0;
    {
        auto keep = store.create_session("keep");
        store.add_message(keep, {}, Role::User, "the harmless neighbour text stays");
        auto s = store.create_session("doomed");
        for (int i = 0; i < 20; ++i) {
            store.add_message(s, {}, Role::User,
                              "line " + std::to_string(i) + " mentions " + secret);
        }
        store.flush();
        doomed = s.id();
    }
    auto on_disk = [&] { return slurp(db) + slurp(db.string() + "-wal"); };
    ASSERT_GT(count_occurrences(on_disk(), tail), 0u) << "the check below must be able to fail";
    {
        auto r = store.reader();
        ASSERT_EQ(r.search(secret).size(), 20u);
    }
    ASSERT_TRUE(store.delete_session(doomed));
    EXPECT_FALSE(store.delete_session(doomed)) << "already gone";
    EXPECT_EQ(count_occurrences(on_disk(), tail), 0u);
    EXPECT_EQ(fs::file_size(db.string() + "-wal"), 0u) << "checkpointed and truncated";
    auto r = store.reader();
    EXPECT_TRUE(r.search(secret).empty());
    EXPECT_EQ(r.search("harmless neighbour").size(), 1u);
    EXPECT_EQ(r.integrity_check(), "ok");
}

TEST(store, ReadersOnOtherThreadsWhileWriting) {
    ScratchDir dir;
    const fs::path db = dir / "s.db";
    StoreOptions o;
    o.stream_flush_interval = std::chrono::milliseconds(5);
    SessionStore store(db, o);
    std::atomic<bool> done{false};
    std::atomic<int> reads{0};
    std::vector<std::string> failures(3);
    std::vector<std::thread> readers;
    for (int t = 0; t < 3; ++t) {
        readers.emplace_back([&, t] {
            try {
                SessionReader r = store.reader();
                std::int64_t last = 0;
                while (!done) {
                    const auto n = r.connection().query_int("SELECT count(*) FROM messages");
                    if (n < last) failures[t] = "message count went backwards";
                    last = n;
                    for (const auto& s : r.list_sessions(5)) r.session(s.id);
                    r.search("token");
                    ++reads;
                }
            } catch (const std::exception& e) {
                failures[t] = e.what();
            }
        });
    }
    for (int i = 0; i < 30; ++i) {
        auto s = store.create_session(std::to_string(i));
        auto q = store.add_message(s, {}, Role::User, "question " + std::to_string(i));
        auto a = store.begin_message(s, q, {});
        for (int k = 0; k < 50; ++k) {
            std::string piece =
                " token";  // (not "lit" + to_string: a GCC 12 -Wrestrict false positive)
            piece += std::to_string(k);
            store.append_text(a, piece);
        }
        store.finish_message(a, {});
    }
    store.flush();
    while (reads < 10) std::this_thread::yield();
    done = true;
    for (auto& t : readers) t.join();
    for (const auto& f : failures) EXPECT_EQ(f, "");
    auto r = store.reader();
    EXPECT_EQ(r.session_count(), 30);
    EXPECT_EQ(r.connection().query_int("SELECT count(*) FROM messages"), 60);
}

TEST(store, FailedWritesSurfaceAndDoNotStopLaterOnes) {
    ScratchDir dir;
    std::vector<std::string> reported;
    std::mutex mu;
    StoreOptions o;
    o.on_write_error = [&](const std::string& e) {
        std::lock_guard lock(mu);
        reported.push_back(e);
    };
    SessionStore store(dir / "s.db", o);
    auto ghost = store.add_message(RowRef(424242), {}, Role::User, "to nowhere");
    EXPECT_THROW(ghost.id(), Error);
    // A write depending on a failed one fails with the reason instead of waiting forever.
    auto child = store.add_message(RowRef(424242), ghost, Role::User, "child");
    EXPECT_THROW(child.id(), Error);
    auto s1 = store.create_session("one");
    auto s2 = store.create_session("two");
    auto m1 = store.add_message(s1, {}, Role::User, "in one");
    auto cross = store.add_message(s2, m1, Role::User, "parent in another session");
    try {
        cross.id();
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("not in this session"), std::string::npos) << e.what();
    }
    try {
        store.flush();
        FAIL() << "flush reports the failed writes";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("more failed writes"), std::string::npos) << e.what();
    }
    {
        std::lock_guard lock(mu);
        EXPECT_EQ(reported.size(), 3u);
    }
    auto ok = store.add_message(s1, m1, Role::Assistant, "fine");
    store.flush();  // the errors were reported once; nothing new failed
    EXPECT_GT(ok.id(), 0);
    auto r = store.reader();
    EXPECT_EQ(r.connection().query_int("SELECT count(*) FROM messages"), 2);
}

TEST(store, SaveExchangeIsDurableOnReturn) {
    ScratchDir dir;
    const fs::path db = dir / "s.db";
    SessionStore store(db);
    Exchange e;
    e.model = ModelInfo{"/m/x", "mamba", std::string(64, 'd')};
    e.system_prompt = "Be brief.";
    e.prompt =
        "What is a selective state space model, and why does it scale linearly in sequence length?";
    e.reply = "A recurrent model whose update depends on the input.";
    e.params = sample_params();
    e.stats = sample_stats();
    const auto first = store.save_exchange(e);
    // Visible to a fresh reader without flush(): the call returned after the commit.
    SessionReader r(db);
    auto s = r.session(first.session_id);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->title, "What is a selective state space model, and why does it scale...");
    ASSERT_EQ(s->messages.size(), 3u);
    EXPECT_EQ(s->messages[0].role, Role::System);
    EXPECT_EQ(s->messages[2].generation->stats, sample_stats());
    EXPECT_EQ(s->head_message_id, first.reply_message_id);

    Exchange next;
    next.session_id = first.session_id;
    next.prompt = "Shorter?";
    next.reply = "Input-dependent recurrence.";
    const auto second = store.save_exchange(next);
    EXPECT_EQ(second.session_id, first.session_id);
    s = r.session(first.session_id);
    ASSERT_EQ(s->messages.size(), 5u);
    EXPECT_EQ(s->messages[3].parent_id, first.reply_message_id) << "continues under the head";
    EXPECT_EQ(visible_branch(*s).size(), 5u);

    next.session_id = 9999;
    EXPECT_THROW(store.save_exchange(next), Error);
}

TEST(store, RepliesLeftGeneratingAreMarkedInterruptedOnlyWhenNobodyIsWriting) {
    ScratchDir dir;
    const fs::path db = dir / "s.db";
    std::int64_t reply_id = 0;
    {
        SessionStore store(db);
        auto s = store.create_session("x");
        auto reply = store.begin_message(s, {}, {});
        store.append_text(reply, "half a rep");
        store.flush();
        reply_id = reply.id();
        // Closed without finish_message: what a crash mid-reply leaves.
    }
    {
        SessionStore writer(db);
        EXPECT_EQ(writer.interrupted_at_open(), 1);
        const auto m = writer.reader().message(reply_id);
        EXPECT_EQ(m->status, MessageStatus::Interrupted);
        EXPECT_EQ(m->text, "half a rep") << "what was streamed before the crash is kept";

        // While this store generates, a second store (another process, say the CLI) opening the
        // same database must not mark its reply as interrupted.
        auto s = writer.create_session("live");
        auto live = writer.begin_message(s, {}, {});
        writer.append_text(live, "streaming");
        writer.flush();
        {
            SessionStore second(db);
            EXPECT_EQ(second.interrupted_at_open(), 0);
        }
        writer.append_text(live, " on");
        writer.finish_message(live, {});
        writer.flush();
        const auto done = writer.reader().message(live.id());
        EXPECT_EQ(done->status, MessageStatus::Complete);
        EXPECT_EQ(done->text, "streaming on");
    }
}

TEST(store, SearchTakesUserTextAndFts5Syntax) {
    ScratchDir dir;
    SessionStore store(dir / "s.db");
    auto s = store.create_session("Search me");
    store.add_message(s, {}, Role::User, "What's the café near the Ocean called?");
    store.add_message(s, {}, Role::User, "Oceanography is a science");
    store.add_message(s, {}, Role::User, "The ocean is deep");
    store.flush();
    auto r = store.reader();
    EXPECT_EQ(r.search("what's up?").size(), 0u) << "punctuation is text, not syntax";
    EXPECT_EQ(r.search("What's the").size(), 1u);
    EXPECT_EQ(r.search("cafe").size(), 1u) << "diacritics folded";
    EXPECT_EQ(r.search("ocean").size(), 2u);
    EXPECT_EQ(r.search("ocean*").size(), 3u) << "a trailing * is a prefix search";
    // Plain: both words anywhere. FTS5: the exact phrase.
    EXPECT_EQ(r.search("\"is ocean\"").size(), 1u);
    EXPECT_EQ(r.search("\"is ocean\"", 50, SearchSyntax::Fts5).size(), 0u);
    EXPECT_EQ(r.search("\"ocean is\"", 50, SearchSyntax::Fts5).size(), 1u);
    EXPECT_EQ(r.search("ocean NOT deep", 50, SearchSyntax::Fts5).size(), 1u);
    const auto hits = r.search("deep");
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_EQ(hits[0].snippet, "The ocean is [deep]");
    EXPECT_EQ(hits[0].session_title, "Search me");
    EXPECT_EQ(hits[0].session_id, s.id());
    try {
        r.search("ocean AND", 50, SearchSyntax::Fts5);
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("not a valid FTS5 query"), std::string::npos);
    }
    EXPECT_TRUE(r.search("   ").empty());
}

TEST(store, DefaultPathFollowsXdg) {
    const char* old_xdg = std::getenv("XDG_DATA_HOME");
    const std::string saved = old_xdg ? old_xdg : "";
    setenv("XDG_DATA_HOME", "/xdg/data", 1);
    EXPECT_EQ(SessionStore::default_path(), fs::path("/xdg/data/statescope/sessions.db"));
    setenv("XDG_DATA_HOME", "relative/ignored", 1);
    setenv("HOME", std::getenv("HOME") ? std::getenv("HOME") : "/home/x", 1);
    EXPECT_EQ(SessionStore::default_path(),
              fs::path(std::getenv("HOME")) / ".local/share/statescope/sessions.db");
    if (old_xdg) {
        setenv("XDG_DATA_HOME", saved.c_str(), 1);
    } else {
        unsetenv("XDG_DATA_HOME");
    }
}

}  // namespace
}  // namespace statescope
