// Session store benchmarks (results go to bench/results with command, machine and commit):
//   FtsSearch       full-text search over 100k messages (1000 sessions x 100), best 50 hits
//   OpenStore       opening that database (quick_check, WAL, migration check): app start cost
//   DeleteSession   a secure delete in it (rows, FTS optimize, checkpoint)
//   Stream1000      a reply streamed at 1000 tokens/s: the caller's cost per append_text, and
//                   how long until each token is committed (fsync'd), per stream_flush_interval
// The database is built once per run in $TMPDIR (about a minute) and removed at exit.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "core/store/session_store.h"

namespace statescope {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int kSessions = 1000;
constexpr int kMessagesPerSession = 100;
constexpr int kVocabulary = 20000;

// Words "w0".."w19999" drawn Zipf-like (rank r with weight 1/r), as in natural text: a few words
// in most messages, most words in a few.
class Words {
  public:
    Words() : rng_(42) {
        std::vector<double> w(kVocabulary);
        for (int i = 0; i < kVocabulary; ++i) w[i] = 1.0 / (i + 1);
        dist_ = std::discrete_distribution<int>(w.begin(), w.end());
    }
    std::string sentence(int n) {
        std::string s;
        for (int i = 0; i < n; ++i) {
            if (i) s += ' ';
            s += 'w';
            s += std::to_string(dist_(rng_));
        }
        return s;
    }
    std::mt19937_64& rng() { return rng_; }

  private:
    std::mt19937_64 rng_;
    std::discrete_distribution<int> dist_;
};

struct Corpus {
    fs::path dir;
    fs::path db;
    std::vector<std::int64_t> sessions;
    double build_seconds = 0;

    Corpus() {
        std::string pattern =
            (fs::temp_directory_path() / "statescope-store-bench-XXXXXX").string();
        if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
        dir = pattern;
        db = dir / "sessions.db";
        const auto start = Clock::now();
        Words words;
        SessionStore store(db);
        std::vector<RowRef> refs;
        for (int s = 0; s < kSessions; ++s) {
            auto session = store.create_session("session " + std::to_string(s));
            refs.push_back(session);
            RowRef parent;
            for (int m = 0; m < kMessagesPerSession; ++m) {
                const int n = 10 + static_cast<int>(words.rng()() % 60);
                parent = store.add_message(session, parent, m % 2 ? Role::Assistant : Role::User,
                                           words.sentence(n));
            }
        }
        store.flush();
        for (auto& r : refs) sessions.push_back(r.id());
        build_seconds = std::chrono::duration<double>(Clock::now() - start).count();
    }
    ~Corpus() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
};

Corpus& corpus() {
    static Corpus c;
    return c;
}

// Common word, mid-frequency word, rare word, two words, a phrase, a prefix.
const std::vector<std::pair<const char*, SearchSyntax>> kQueries = {
    {"w1", SearchSyntax::Plain},       {"w50", SearchSyntax::Plain},
    {"w15000", SearchSyntax::Plain},   {"w3 w40", SearchSyntax::Plain},
    {"\"w1 w2\"", SearchSyntax::Fts5}, {"w123*", SearchSyntax::Plain},
};

void FtsSearch(benchmark::State& state) {
    auto& c = corpus();
    SessionReader reader(c.db);
    const auto& [query, syntax] = kQueries[static_cast<std::size_t>(state.range(0))];
    std::size_t hits = 0;
    for (auto _ : state) {
        auto result = reader.search(query, 50, syntax);
        hits = result.size();
        benchmark::DoNotOptimize(result);
    }
    auto all =
        reader.connection().prepare("SELECT count(*) FROM message_fts WHERE message_fts MATCH ?1");
    all.bind(1, syntax == SearchSyntax::Plain ? plain_to_fts5(query) : std::string(query));
    all.step();
    state.SetLabel(std::string(query) + " (" + std::to_string(all.int64(0)) +
                   " matching messages)");
    state.counters["hits"] = static_cast<double>(hits);
    state.counters["messages"] = static_cast<double>(kSessions * kMessagesPerSession);
    state.counters["build_s"] = c.build_seconds;
}
BENCHMARK(FtsSearch)->DenseRange(0, 5)->Unit(benchmark::kMicrosecond);

// Arg: check_integrity (PRAGMA quick_check at open) off / on.
void OpenStore(benchmark::State& state) {
    auto& c = corpus();
    StoreOptions options;
    options.check_integrity = state.range(0) != 0;
    for (auto _ : state) {
        SessionStore store(c.db, options);
        benchmark::DoNotOptimize(store.path());
    }
    state.counters["db_MiB"] = static_cast<double>(fs::file_size(c.db)) / (1 << 20);
}
BENCHMARK(OpenStore)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->Iterations(5);

void DeleteSession(benchmark::State& state) {
    auto& c = corpus();
    SessionStore store(c.db);
    std::size_t next = 0;
    for (auto _ : state) {
        if (next >= c.sessions.size()) state.SkipWithError("out of sessions");
        store.delete_session(c.sessions[next++]);
    }
    c.sessions.erase(c.sessions.begin(), c.sessions.begin() + static_cast<std::ptrdiff_t>(next));
}
BENCHMARK(DeleteSession)->Unit(benchmark::kMillisecond)->Iterations(10);

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

// One reply of 3000 tokens at 1000 tokens/s (one append per millisecond), into a fresh database.
// Manual time = the append_text calls only; the counters give the distribution of both latencies.
void Stream1000(benchmark::State& state) {
    const auto interval = std::chrono::milliseconds(state.range(0));
    constexpr int kTokens = 3000;
    for (auto _ : state) {
        std::string pattern =
            (fs::temp_directory_path() / "statescope-stream-bench-XXXXXX").string();
        if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
        const fs::path dir = pattern;
        std::vector<Clock::time_point> appended(kTokens);
        std::vector<double> durable_ms;
        std::mutex mu;
        std::atomic<int> commits{0};
        StoreOptions options;
        options.stream_flush_interval = interval;
        options.on_commit = [&](const CommitInfo& info) {
            const auto now = Clock::now();
            std::lock_guard lock(mu);
            ++commits;
            // Appends [durable_ms.size(), appends_durable) became durable with this commit.
            while (durable_ms.size() < info.appends_durable &&
                   durable_ms.size() < appended.size()) {
                durable_ms.push_back(
                    std::chrono::duration<double, std::milli>(now - appended[durable_ms.size()])
                        .count());
            }
        };
        std::vector<double> append_us;
        append_us.reserve(kTokens);
        {
            SessionStore store(dir / "s.db", options);
            auto session = store.create_session("stream");
            auto prompt = store.add_message(session, {}, Role::User, "Tell me a long story");
            auto reply = store.begin_message(session, prompt, StreamStart{});
            store.flush();
            const int commits_before = commits;
            auto tick = Clock::now();
            double total = 0;
            for (int i = 0; i < kTokens; ++i) {
                tick += std::chrono::microseconds(1000);
                std::this_thread::sleep_until(tick);
                {
                    std::lock_guard lock(mu);
                    appended[static_cast<std::size_t>(i)] = Clock::now();
                }
                const auto t0 = Clock::now();
                store.append_text(reply, " token");
                const auto t1 = Clock::now();
                const double us = std::chrono::duration<double, std::micro>(t1 - t0).count();
                append_us.push_back(us);
                total += us;
            }
            store.finish_message(reply, {});
            store.flush();
            state.SetIterationTime(total * 1e-6);
            state.counters["commits_per_s"] = (commits - commits_before) / (kTokens / 1000.0);
        }
        std::error_code ec;
        fs::remove_all(dir, ec);
        state.counters["append_p50_us"] = percentile(append_us, 0.50);
        state.counters["append_p99_us"] = percentile(append_us, 0.99);
        state.counters["append_max_us"] = percentile(append_us, 1.0);
        state.counters["durable_p50_ms"] = percentile(durable_ms, 0.50);
        state.counters["durable_p99_ms"] = percentile(durable_ms, 0.99);
        state.counters["durable_max_ms"] = percentile(durable_ms, 1.0);
    }
}
BENCHMARK(Stream1000)
    ->Arg(200)
    ->Arg(50)
    ->Arg(10)
    ->UseManualTime()
    ->Iterations(1)
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace statescope

BENCHMARK_MAIN();
