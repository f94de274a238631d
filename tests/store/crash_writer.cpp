// store_crash_writer DB SEED: a process that writes sessions until it is killed, the way the studio
// does (streamed replies, blobs, deletes, imports), and prints each fact once it is committed (the
// protocol is in crash_io.h). crash_test SIGKILLs it at random moments and checks the database.
#include <unistd.h>

#include <cstdio>
#include <random>
#include <string>

#include "core/store/session_json.h"
#include "core/store/session_store.h"
#include "core/store/sha256.h"
#include "tests/store/crash_io.h"

using namespace statescope;

namespace {

// One write(2) per line: the parent never sees half a line from a killed child.
void emit(const std::string& line) {
    const std::string l = line + "\n";
    [[maybe_unused]] auto n = ::write(1, l.data(), l.size());
}

std::string words(std::mt19937_64& rng, int count) {
    static const char* kWords[] = {"ocean", "state",  "space", "model", "token", "wave", "tide",
                                   "delta", "kernel", "scan",  "mamba", "layer", "norm", "gate"};
    std::string s;
    for (int i = 0; i < count; ++i) {
        if (i) s += ' ';
        s += kWords[rng() % 14];
        if (rng() % 5 == 0) s += std::to_string(rng() % 1000);
    }
    return s;
}

// What the writer meant to store (not what it reads back), so a write path that loses or
// duplicates text fails the check.
void report(std::int64_t id, std::int64_t session, const std::string& text) {
    emit("M " + std::to_string(id) + " " + std::to_string(session) + " " +
         std::to_string(text.size()) + " " + std::to_string(test::fnv1a64(text)));
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s DB SEED\n", argv[0]);
        return 2;
    }
    std::mt19937_64 rng(std::stoull(argv[2]));
    try {
        StoreOptions options;
        options.stream_flush_interval = std::chrono::milliseconds(1);
        SessionStore store(argv[1], options);
        SessionReader reader = store.reader();
        RowRef session;
        RowRef last_reply;
        for (int n = 0;; ++n) {
            const int roll = static_cast<int>(rng() % 100);
            if (session.is_null() || roll < 15) {
                session =
                    store.create_session("crash " + std::string(argv[2]) + "-" + std::to_string(n));
                last_reply = RowRef();
            }
            const int length = rng() % 10 == 0 ? 2000 : 1 + static_cast<int>(rng() % 60);
            const std::string question = words(rng, length);
            auto user = store.add_message(session, last_reply, Role::User, question);
            auto reply = store.begin_message(session, user, StreamStart{});
            const int tokens = 1 + static_cast<int>(rng() % 200);
            std::string answer;
            for (int t = 0; t < tokens; ++t) {
                std::string piece = " ";
                piece += words(rng, 1);
                store.append_text(reply, piece);
                answer += piece;
                if (t % 40 == 39) usleep(500);
            }
            GenerationStats stats;
            stats.generated_tokens = tokens;
            store.finish_message(reply, stats);
            std::string blob_hash;
            if (roll >= 15 && roll < 22) {
                std::vector<std::uint8_t> bytes(rng() % 20000);
                for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
                blob_hash = sha256_hex(bytes.data(), bytes.size());
                store.attach_blob(reply, {"state", bytes});
            }
            store.flush();
            last_reply = reply;
            report(user.id(), session.id(), question);
            report(reply.id(), session.id(), answer);
            if (!blob_hash.empty()) emit("B " + std::to_string(reply.id()) + " " + blob_hash);
            if (roll >= 22 && roll < 26) {
                // Delete some older session: announced first, since the kill may come right after.
                const auto sessions = reader.list_sessions(-1);
                if (sessions.size() > 3) {
                    const auto victim = sessions[sessions.size() - 1 - rng() % 3].id;
                    if (victim != session.id()) {
                        emit("d " + std::to_string(victim));
                        store.delete_session(victim);
                    }
                }
            }
            if (roll >= 26 && roll < 30) {
                auto doc = reader.export_document(session.id());
                doc.session.title = "import:" + std::to_string(doc.session.messages.size());
                const auto copy = store.import_document(doc);
                emit("I " + std::to_string(copy) + " " +
                     std::to_string(doc.session.messages.size()));
            }
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "store_crash_writer: %s\n", e.what());
        return 1;
    }
}
