// The session store: one SQLite database (plus its blob folder) holding every chat, branch,
// analysis run, comparison and benchmark run (docs/DESIGN.md §6).
//
// Writes are queued to one writer thread and return at once with a RowRef, usable immediately as
// the parent or target of the next write; flush() waits until everything queued is on disk. A
// streamed reply is begin_message() + append_text() per token + finish_message(): appends only
// touch memory and reach the disk every stream_flush_interval, so a crash loses at most that much
// of the reply being generated, and nothing else that was queued before it had time to commit.
// Every method may be called from any thread. Reading is SessionReader, one per thread (reader()).
// Next to the database live its WAL files, "<db>-lock" (which stores are open, see store_lock.h)
// and "<db>.blobs/".
//
//   SessionStore store(SessionStore::default_path());
//   auto session = store.create_session("Mamba poems", store.touch_model(model_info_for(dir)));
//   auto question = store.add_message(session, {}, Role::User, "Write a haiku");
//   StreamStart start;
//   start.params = params;
//   auto reply = store.begin_message(session, question, start);
//   for (token...) store.append_text(reply, piece);
//   store.finish_message(reply, stats);
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/store/records.h"
#include "core/store/row_ref.h"
#include "core/store/session_reader.h"
#include "core/store/store_writes.h"
#include "core/store/writer.h"

namespace statescope {

class StoreLock;

struct StoreOptions {
    std::chrono::milliseconds busy_timeout{5000};
    // How long streamed text may sit in memory: what a crash can lose of the reply in progress.
    std::chrono::milliseconds stream_flush_interval{200};
    bool check_integrity = true;  // PRAGMA quick_check when an existing file is opened
    // Writer thread callbacks (keep them short): after each commit, and for each failed write.
    std::function<void(const CommitInfo&)> on_commit;
    std::function<void(const std::string&)> on_write_error;
};

struct NewSession {
    std::string title;
    RowRef model;  // touch_model()'s, or none
    nlohmann::json metadata = nlohmann::json::object();
};

struct NewMessage {
    Role role = Role::User;
    std::string text;
    RowRef model;
    std::optional<Generation> generation;
    std::vector<BlobData> blobs;  // e.g. the SSM state after this turn
    MessageStatus status = MessageStatus::Complete;
    bool make_head = true;  // the new message becomes the leaf on screen
};

struct StreamStart {
    Role role = Role::Assistant;
    RowRef model;
    GenerationParams params;
    bool make_head = true;
};

struct NewAnalysisRun {
    RowRef session;
    RowRef message;
    RowRef model;
    std::string kind;
    nlohmann::json params = nlohmann::json::object();
    nlohmann::json result = nlohmann::json::object();
    std::vector<BlobData> blobs;
};

struct NewComparisonEntry {
    RowRef session;
    RowRef model;
};

struct NewComparison {
    std::string title;
    std::string prompt;
    nlohmann::json settings = nlohmann::json::object();
    std::vector<NewComparisonEntry> entries;
};

struct NewBenchmarkRun {
    RowRef model;
    std::string kind;
    nlohmann::json params = nlohmann::json::object();
    nlohmann::json result = nlohmann::json::object();
    nlohmann::json machine = nlohmann::json::object();
};

// One prompt and its reply, saved in one transaction (a caller with no tree of its own).
struct Exchange {
    std::optional<ModelInfo> model;          // model_info_for(model_dir)
    std::optional<std::int64_t> session_id;  // continue this session under its head; none: new
    std::string title;                       // new sessions; empty: the prompt's first line
    std::string system_prompt;               // new sessions; empty: no system message
    std::string prompt;
    std::string reply;
    GenerationParams params;
    GenerationStats stats;
    MessageStatus status = MessageStatus::Complete;
};

struct SavedExchange {
    std::int64_t session_id = 0;
    std::int64_t prompt_message_id = 0;
    std::int64_t reply_message_id = 0;
};

class SessionStore {
  public:
    // Opens or creates the database (see database_file.h for what happens to damaged, foreign or
    // newer files), upgrades it, and marks replies a dead process left 'generating' as
    // 'interrupted'. Throws Error with a message for the user.
    explicit SessionStore(const std::filesystem::path& path, StoreOptions options = {});
    // Writes everything still queued, then closes.
    ~SessionStore();
    SessionStore(const SessionStore&) = delete;
    SessionStore& operator=(const SessionStore&) = delete;

    // $XDG_DATA_HOME/statescope/sessions.db, else ~/.local/share/statescope/sessions.db.
    static std::filesystem::path default_path();
    const std::filesystem::path& path() const { return path_; }
    // Replies found 'generating' at open (a process died mid-reply) and marked 'interrupted'.
    int interrupted_at_open() const { return interrupted_at_open_; }

    // Queued writes: they return at once; errors go to on_write_error and the next flush().
    RowRef touch_model(const ModelInfo& model);
    RowRef create_session(NewSession session);
    RowRef create_session(std::string title, const RowRef& model = {});
    // `parent`: none for a first turn. An edit or a regeneration is a new message with the same
    // parent as the old one: siblings, never overwrites.
    RowRef add_message(const RowRef& session, const RowRef& parent, NewMessage message);
    RowRef add_message(const RowRef& session, const RowRef& parent, Role role, std::string text);
    RowRef begin_message(const RowRef& session, const RowRef& parent, StreamStart start);
    void append_text(const RowRef& message, std::string_view text);
    void finish_message(const RowRef& message, const GenerationStats& stats,
                        MessageStatus status = MessageStatus::Complete);
    void set_head(const RowRef& session, const RowRef& message);
    void rename_session(const RowRef& session, std::string title);
    void attach_blob(const RowRef& message, BlobData blob);
    RowRef add_analysis_run(NewAnalysisRun run);
    RowRef add_comparison(NewComparison comparison);
    RowRef add_benchmark_run(NewBenchmarkRun run);

    // Waits until everything queued before is committed (fsync'd); throws the first write that
    // failed since the previous flush().
    void flush();

    // Synchronous: each returns once its transaction is committed.
    SavedExchange save_exchange(const Exchange& exchange);
    // All or nothing: a session from a validated document (session_json.h). Returns its id.
    std::int64_t import_document(const SessionDocument& doc);
    // Deletes a session, its messages, runs and blob references; the text is removed from the
    // file, the search index and the WAL (secure_delete, FTS optimize, checkpoint). False when
    // there was no such session.
    bool delete_session(std::int64_t session_id);
    // Blob rows nothing references, their files, and files no row knows.
    GcReport collect_garbage();

    // A read connection for the calling thread.
    SessionReader reader() const;

  private:
    std::filesystem::path path_;
    StoreOptions options_;
    std::unique_ptr<StoreLock> lock_;
    std::unique_ptr<Writer> writer_;
    int interrupted_at_open_ = 0;
};

}  // namespace statescope
