// SIGKILL a process writing sessions at random moments, over and over: after every kill the
// database must pass integrity_check and hold every message the writer had seen committed, intact;
// nothing is left 'generating', and no import is half there.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "core/store/sha256.h"
#include "tests/store/crash_io.h"
#include "tests/store/store_test_util.h"

namespace statescope {
namespace {

using namespace statescope::test;

struct Expected {
    std::int64_t session = 0;
    std::size_t size = 0;
    std::uint64_t fnv = 0;
};

struct Facts {
    std::map<std::int64_t, Expected> messages;
    std::map<std::int64_t, std::string> blobs;  // message -> hash
    std::map<std::int64_t, std::size_t> imports;
    std::set<std::int64_t> maybe_deleted;
};

void apply_line(const std::string& line, Facts& f) {
    std::istringstream in(line);
    char kind = 0;
    in >> kind;
    if (kind == 'M') {
        std::int64_t id = 0;
        Expected e;
        in >> id >> e.session >> e.size >> e.fnv;
        f.messages[id] = e;
    } else if (kind == 'B') {
        std::int64_t id = 0;
        std::string hash;
        in >> id >> hash;
        f.blobs[id] = hash;
    } else if (kind == 'I') {
        std::int64_t id = 0;
        std::size_t n = 0;
        in >> id >> n;
        f.imports[id] = n;
    } else if (kind == 'd') {
        std::int64_t id = 0;
        in >> id;
        f.maybe_deleted.insert(id);
    }
}

// Runs the writer for `ms` milliseconds, kills it, and returns its complete output lines.
std::vector<std::string> run_and_kill(const fs::path& db, std::uint64_t seed, int ms,
                                      std::string& err) {
    int out[2];
    EXPECT_EQ(pipe(out), 0);
    const fs::path err_file = db.parent_path() / "writer.err";
    const pid_t pid = fork();
    if (pid == 0) {
        dup2(out[1], 1);
        const int e = open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (e >= 0) dup2(e, 2);
        close(out[0]);
        const std::string seed_arg = std::to_string(seed);
        execl(STATESCOPE_CRASH_WRITER, STATESCOPE_CRASH_WRITER, db.c_str(), seed_arg.c_str(),
              static_cast<char*>(nullptr));
        _exit(127);
    }
    close(out[1]);
    std::string data;
    char buf[65536];
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                              deadline - std::chrono::steady_clock::now())
                              .count();
        if (left <= 0) break;
        pollfd p{out[0], POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(left)) > 0) {
            const ssize_t n = read(out[0], buf, sizeof buf);
            if (n <= 0) break;  // the writer died on its own; the checks below will say why
            data.append(buf, static_cast<std::size_t>(n));
        }
    }
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    // Lines written before the kill are still in the pipe.
    for (ssize_t n; (n = read(out[0], buf, sizeof buf)) > 0;)
        data.append(buf, static_cast<std::size_t>(n));
    close(out[0]);
    err = slurp(err_file);
    std::vector<std::string> lines;
    std::size_t start = 0;
    for (std::size_t nl; (nl = data.find('\n', start)) != std::string::npos; start = nl + 1) {
        lines.push_back(data.substr(start, nl - start));
    }
    return lines;
}

TEST(store_crash, SigkillAtRandomMomentsLosesNothingCommitted) {
    ScratchDir dir;
    const fs::path db = dir / "sessions.db";
    constexpr int kKills = 120;
    std::mt19937_64 rng(20240607);
    Facts facts;
    int interrupted_seen = 0;
    int kills_with_progress = 0;
    for (int i = 0; i < kKills; ++i) {
        // Half short runs (the kill often lands during open, recovery or the first commits), half
        // long enough for a few exchanges (it lands mid-stream, mid-delete, mid-import).
        const int ms =
            rng() % 2 == 0 ? 40 + static_cast<int>(rng() % 120) : 2 + static_cast<int>(rng() % 38);
        std::string err;
        const auto before = facts.messages.size();
        for (const auto& line : run_and_kill(db, rng(), ms, err)) apply_line(line, facts);
        ASSERT_EQ(err, "") << "the writer failed by itself in run " << i;
        kills_with_progress += facts.messages.size() > before;

        SessionStore store(db);  // recovery: must open whatever the kill left
        interrupted_seen += store.interrupted_at_open();
        auto r = store.reader();
        ASSERT_EQ(r.integrity_check(), "ok") << "after kill " << i;
        std::map<std::int64_t, std::pair<std::int64_t, std::string>> rows;  // id -> session, text
        {
            auto st = r.connection().prepare("SELECT id, session_id, status, text FROM messages");
            while (st.step()) {
                ASSERT_NE(st.text(2), "generating")
                    << "message " << st.int64(0) << " after kill " << i;
                rows[st.int64(0)] = {st.int64(1), st.text(3)};
            }
        }
        for (const auto& [id, e] : facts.messages) {
            auto it = rows.find(id);
            if (it == rows.end()) {
                ASSERT_TRUE(facts.maybe_deleted.count(e.session))
                    << "committed message " << id << " of session " << e.session
                    << " lost after kill " << i;
                continue;
            }
            ASSERT_EQ(it->second.first, e.session) << "message " << id;
            ASSERT_EQ(it->second.second.size(), e.size) << "message " << id << " after kill " << i;
            ASSERT_EQ(fnv1a64(it->second.second), e.fnv) << "message " << id << " after kill " << i;
        }
        for (const auto& [id, hash] : facts.blobs) {
            if (!rows.count(id)) continue;
            const auto m = r.message(id);
            ASSERT_EQ(m->blobs.size(), 1u) << "message " << id << " lost its blob after kill " << i;
            ASSERT_EQ(m->blobs[0].hash, hash);
            const auto bytes = r.read_blob(hash);  // the file is there, verified against its name
            ASSERT_EQ(sha256_hex(bytes.data(), bytes.size()), hash);
        }
        // Imports are one transaction: a session titled import:N has N messages or does not exist.
        {
            auto st = r.connection().prepare(
                "SELECT s.id, s.title, (SELECT count(*) FROM messages WHERE session_id = s.id) "
                "FROM sessions s WHERE s.title LIKE 'import:%'");
            while (st.step()) {
                ASSERT_EQ(st.text(1), "import:" + std::to_string(st.int64(2)))
                    << "half-imported session " << st.int64(0) << " after kill " << i;
            }
        }
        for (const auto& [id, n] : facts.imports) {
            if (facts.maybe_deleted.count(id)) continue;
            auto s = r.session(id);
            ASSERT_TRUE(s) << "imported session " << id << " lost";
            ASSERT_EQ(s->messages.size(), n);
        }
    }
    // The test must have exercised what it claims: writes committed between kills, and kills
    // landing while a reply was streaming. (Loose bounds: the machine may be busy.)
    EXPECT_GT(facts.messages.size(), 150u);
    EXPECT_GT(kills_with_progress, 20);
    EXPECT_GT(interrupted_seen, 3);
    EXPECT_FALSE(facts.imports.empty());
    EXPECT_FALSE(facts.maybe_deleted.empty());
    EXPECT_FALSE(facts.blobs.empty());
    std::printf(
        "[ crash    ] %d kills, %zu committed messages checked, %d replies interrupted "
        "mid-stream\n",
        kKills, facts.messages.size(), interrupted_seen);
}

}  // namespace
}  // namespace statescope
