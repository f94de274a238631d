// Streaming a reply: appends cost the caller a mutex, reach the disk in batches, and what has been
// streamed survives even if the reply is never finished.
#include <atomic>
#include <thread>

#include "core/error.h"
#include "tests/store/store_test_util.h"

namespace statescope {
namespace {

using namespace statescope::test;
using namespace std::chrono_literals;

TEST(store_stream, AppendsAreCoalescedIntoFewCommits) {
    ScratchDir dir;
    std::atomic<int> commits{0};
    std::atomic<std::uint64_t> durable{0};
    StoreOptions o;
    o.stream_flush_interval = 50ms;
    o.on_commit = [&](const CommitInfo& c) {
        ++commits;
        durable = c.appends_durable;
    };
    SessionStore store(dir / "s.db", o);
    auto s = store.create_session("fast");
    auto reply = store.begin_message(s, {}, {});
    store.flush();
    const int before = commits;
    std::string expected;
    for (int i = 0; i < 5000; ++i) {
        std::string piece = "t";  // (not "t" + to_string: a GCC 12 -Wrestrict false positive)
        piece += std::to_string(i);
        piece += ' ';
        store.append_text(reply, piece);
        expected += piece;
    }
    store.finish_message(reply, {});
    store.flush();
    // on_commit runs on the writer thread and may still be running when flush() returns: give it a
    // moment.
    for (int i = 0; i < 500 && durable < 5000u; ++i) std::this_thread::sleep_for(10ms);
    // 5000 appends in a few milliseconds: a handful of transactions, not 5000.
    EXPECT_LT(commits - before, 20);
    EXPECT_EQ(durable, 5000u);
    EXPECT_EQ(store.reader().message(reply.id())->text, expected);
}

TEST(store_stream, StreamedTextIsOnDiskBeforeTheReplyEnds) {
    ScratchDir dir;
    const fs::path db = dir / "s.db";
    StoreOptions o;
    o.stream_flush_interval = 20ms;
    SessionStore store(db, o);
    auto s = store.create_session("slow");
    auto reply = store.begin_message(s, {}, {});
    store.append_text(reply, "The first words");
    // No flush: the interval alone must bring the text to disk, visible to another connection.
    SessionReader r(db);
    std::string seen;
    for (int i = 0; i < 200 && seen.empty(); ++i) {
        std::this_thread::sleep_for(10ms);
        if (auto m = r.message(reply.try_id().value_or(-1))) seen = m->text;
    }
    EXPECT_EQ(seen, "The first words");
    EXPECT_EQ(r.message(reply.id())->status, MessageStatus::Generating);
    store.append_text(reply, ", and the rest.");
    store.finish_message(reply, {}, MessageStatus::Cancelled);
    store.flush();
    const auto m = r.message(reply.id());
    EXPECT_EQ(m->text, "The first words, and the rest.");
    EXPECT_EQ(m->status, MessageStatus::Cancelled);
}

TEST(store_stream, TextAfterFinishIsReportedNotWritten) {
    ScratchDir dir;
    std::vector<std::string> errors;
    std::mutex mu;
    StoreOptions o;
    o.on_write_error = [&](const std::string& e) {
        std::lock_guard lock(mu);
        errors.push_back(e);
    };
    SessionStore store(dir / "s.db", o);
    auto s = store.create_session("x");
    auto reply = store.begin_message(s, {}, {});
    store.append_text(reply, "done");
    store.finish_message(reply, {});
    store.flush();
    store.append_text(reply, " late");
    EXPECT_THROW(store.flush(), Error);
    store.finish_message(reply, {});  // twice
    EXPECT_THROW(store.flush(), Error);
    EXPECT_EQ(store.reader().message(reply.id())->text, "done");
    std::lock_guard lock(mu);
    ASSERT_EQ(errors.size(), 2u);
    EXPECT_NE(errors[0].find("after it was finished"), std::string::npos) << errors[0];
    EXPECT_NE(errors[1].find("not being generated"), std::string::npos) << errors[1];
}

TEST(store_stream, SeveralStreamsFromSeveralThreads) {
    ScratchDir dir;
    StoreOptions o;
    o.stream_flush_interval = 2ms;
    SessionStore store(dir / "s.db", o);
    auto s = store.create_session("parallel");
    constexpr int kThreads = 4;
    std::vector<RowRef> replies;
    std::vector<std::string> expected(kThreads);
    for (int t = 0; t < kThreads; ++t) replies.push_back(store.begin_message(s, {}, {}));
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 2000; ++i) {
                const std::string piece = std::to_string(t) + ":" + std::to_string(i) + " ";
                store.append_text(replies[t], piece);
                expected[t] += piece;
                if (i % 500 == 0) std::this_thread::sleep_for(3ms);
            }
            store.finish_message(replies[t], {});
        });
    }
    for (auto& th : threads) th.join();
    store.flush();
    auto r = store.reader();
    for (int t = 0; t < kThreads; ++t) {
        EXPECT_EQ(r.message(replies[t].id())->text, expected[t]) << "stream " << t;
    }
    EXPECT_EQ(r.integrity_check(), "ok");
}

TEST(store_stream, AppendingToAReplyThatFailedToStartDropsTheText) {
    ScratchDir dir;
    SessionStore store(dir / "s.db");
    auto reply = store.begin_message(RowRef(777), {}, {});  // no such session
    store.append_text(reply, "lost");
    EXPECT_THROW(reply.id(), Error);
    EXPECT_THROW(store.flush(), Error);
    store.flush();  // and nothing keeps failing afterwards
}

}  // namespace
}  // namespace statescope
