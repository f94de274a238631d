// The one writer: a thread that owns the write connection and turns everything queued since its
// last commit into one transaction. Callers never wait for the disk: post() and append() only take
// a mutex. Streamed text is coalesced in memory and written every stream_flush_interval, so a reply
// at 1000 tokens/s costs a few commits per second, and a crash loses at most that interval of the
// message being generated; anything else queued is committed as soon as the thread gets to it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/error.h"
#include "core/store/blob_files.h"
#include "core/store/records.h"
#include "core/store/row_ref.h"
#include "core/store/sqlite_handle.h"

namespace statescope {

struct CommitInfo {
    std::uint64_t appends_durable = 0;  // append() calls, since the start, whose text is committed
    std::size_t commands = 0;           // commands in this transaction
};

struct WriterOptions {
    std::chrono::milliseconds stream_flush_interval{200};
    // Called on the writer thread after each commit / each failed write; keep them short.
    std::function<void(const CommitInfo&)> on_commit;
    std::function<void(const std::string&)> on_error;
};

class Writer;

// What a command sees while it runs on the writer thread, inside the batch transaction.
class WriteContext {
  public:
    Connection& db() { return db_; }
    // A prepared statement for `sql`, reused across batches (keep `sql` a literal).
    Statement& stmt(const char* sql);
    std::int64_t now_ms() const;
    // The id of an earlier write (committed, or earlier in this transaction); Error when it failed.
    std::int64_t resolve(const RowRef& ref, std::string_view what);
    std::optional<std::int64_t> resolve_optional(const RowRef& ref, std::string_view what);
    // `ref` is the row `id`; published to waiting callers when the transaction commits.
    void assign(const RowRef& ref, std::int64_t id);
    // The blob file (written now, under the write lock) and its row; the reference to it is the
    // caller's insert. A file this command created is removed again if the command fails.
    BlobRef put_blob(const BlobData& blob);
    const BlobFiles& blob_files() const { return blobs_; }
    // Streamed text not yet written for `message`; the stream ends (later appends are errors).
    std::string take_stream(const RowRef& message);
    // Runs after this transaction commits (checkpoints, file removal).
    void after_commit(std::function<void()> fn);
    // Resets every cached statement, so none stays active (holding a read cursor) between commands.
    void reset_statements();

  private:
    friend class Writer;
    WriteContext(Connection& db, const BlobFiles& blobs, Writer& writer)
        : db_(db), blobs_(blobs), writer_(writer) {}
    Connection& db_;
    const BlobFiles& blobs_;
    Writer& writer_;
    std::unordered_map<const char*, std::unique_ptr<Statement>> cache_;
    struct Taken {
        RowRef message;
        std::string text;
        std::uint64_t appends = 0;
    };
    // What this transaction did outside SQL, undone for a command (or the whole batch) that fails.
    std::vector<RowRef> assigned_;
    std::vector<std::string> created_blobs_;
    std::vector<std::function<void()>> after_;
    std::vector<Taken> taken_;
};

class Writer {
  public:
    using Command = std::function<void(WriteContext&)>;
    // Receives nullptr once the command's transaction committed, or the error.
    using Done = std::function<void(const std::string* error)>;

    Writer(Connection db, BlobFiles blobs, WriterOptions options);
    // Writes everything still queued (streams included), then stops the thread.
    ~Writer();
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;

    // A write whose failure is reported to on_error and by the next barrier(); `produces` (the row
    // it will assign, if any) fails with it, so nobody waits on it forever.
    void post(Command command, RowRef produces = {});
    // A write with its own completion (call(), barrier()), which receives any failure instead.
    void post_with(Command command, Done done);
    void append(const RowRef& message, std::string_view text);
    // Ready once everything queued before it is committed; throws the first error of a post()ed
    // write since the previous barrier.
    std::future<void> barrier();

    // Runs fn in the next transaction; the future holds its result once that transaction committed.
    template <typename T>
    std::future<T> call(std::function<T(WriteContext&)> fn) {
        auto promise = std::make_shared<std::promise<T>>();
        auto value = std::make_shared<std::optional<T>>();
        post_with([fn = std::move(fn), value](WriteContext& ctx) { *value = fn(ctx); },
                  [promise, value](const std::string* error) {
                      if (error) {
                          promise->set_exception(std::make_exception_ptr(Error(*error)));
                      } else {
                          promise->set_value(std::move(**value));
                      }
                  });
        return promise->get_future();
    }

  private:
    friend class WriteContext;
    struct Queued {
        Command command;
        Done done;
        RowRef produces;
    };
    void finish(Queued& q, const std::string* error);
    struct Stream {
        RowRef message;
        std::string text;
        std::uint64_t appends = 0;
    };
    struct Marks {
        std::size_t assigned, created_blobs, after, taken;
    };

    void run();
    void run_batch(std::vector<Queued>& batch);
    // BEGIN IMMEDIATE, waiting out other processes' write transactions; the error when it gives up.
    std::optional<std::string> begin_batch();
    // Moves pending text of streams whose message row exists into the open transaction.
    void write_streams();
    Marks marks() const;
    // Undoes what commands after `m` did outside SQL: their rows fail with `error`, their new blob
    // files go, their taken stream text returns to the streams.
    void undo_since(const Marks& m, const std::string& error);
    void report(const std::string& error);

    Connection db_;
    BlobFiles blobs_;
    WriterOptions options_;
    WriteContext ctx_;

    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Queued> queue_;
    std::unordered_map<detail::RowSlot*, Stream> streams_;
    bool dirty_ = false;  // some stream has text not yet written
    std::chrono::steady_clock::time_point dirty_since_;
    bool stop_ = false;
    std::vector<std::string> errors_;  // post()ed writes that failed since the last barrier
    std::uint64_t appends_durable_ = 0;
    std::thread thread_;
};

}  // namespace statescope
