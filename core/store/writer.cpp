#include "core/store/writer.h"

#include <sqlite3.h>

#include "core/store/sha256.h"

namespace statescope {
namespace {

// BEGIN IMMEDIATE already waits busy_timeout; this many of those before the batch fails.
constexpr int kBeginAttempts = 12;

std::int64_t unix_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

Statement& WriteContext::stmt(const char* sql) {
    auto& slot = cache_[sql];
    if (!slot) slot = std::make_unique<Statement>(db_, sql);
    slot->reset();
    return *slot;
}

std::int64_t WriteContext::now_ms() const {
    return unix_ms();
}

std::int64_t WriteContext::resolve(const RowRef& ref, std::string_view what) {
    if (ref.is_null()) throw Error("no " + std::string(what) + " given");
    auto* slot = ref.slot();
    if (slot->tentative) return *slot->tentative;
    std::lock_guard lock(slot->mutex);
    if (!slot->done) {
        throw Error("the " + std::string(what) +
                    " was never written (a pending reference no write filled)");
    }
    if (!slot->error.empty()) {
        throw Error("the " + std::string(what) + " was not saved: " + slot->error);
    }
    return slot->id;
}

std::optional<std::int64_t> WriteContext::resolve_optional(const RowRef& ref,
                                                           std::string_view what) {
    if (ref.is_null()) return std::nullopt;
    return resolve(ref, what);
}

void WriteContext::assign(const RowRef& ref, std::int64_t id) {
    ref.slot()->tentative = id;
    assigned_.push_back(ref);
}

BlobRef WriteContext::put_blob(const BlobData& blob) {
    const std::string hash = sha256_hex(blob.bytes.data(), blob.bytes.size());
    if (blobs_.ensure(hash, blob.bytes.data(), blob.bytes.size())) created_blobs_.push_back(hash);
    stmt(
        "INSERT INTO blobs (hash, size, ref_count, created_at) VALUES (?1, ?2, 0, ?3) "
        "ON CONFLICT (hash) DO NOTHING")
        .bind(1, hash)
        .bind(2, static_cast<std::int64_t>(blob.bytes.size()))
        .bind(3, now_ms())
        .run();
    return BlobRef{blob.name, hash, static_cast<std::int64_t>(blob.bytes.size())};
}

std::string WriteContext::take_stream(const RowRef& message) {
    if (message.is_null()) return {};
    Taken t;
    {
        std::lock_guard lock(writer_.mutex_);
        auto it = writer_.streams_.find(message.slot());
        if (it == writer_.streams_.end()) return {};
        t.message = it->second.message;
        t.text = std::move(it->second.text);
        t.appends = it->second.appends;
        writer_.streams_.erase(it);
    }
    std::string text = t.text;
    taken_.push_back(std::move(t));
    return text;
}

void WriteContext::after_commit(std::function<void()> fn) {
    after_.push_back(std::move(fn));
}

void WriteContext::reset_statements() {
    for (auto& [sql, st] : cache_) st->reset();
}

Writer::Writer(Connection db, BlobFiles blobs, WriterOptions options)
    : db_(std::move(db)),
      blobs_(std::move(blobs)),
      options_(std::move(options)),
      ctx_(db_, blobs_, *this),
      thread_([this] { run(); }) {}

Writer::~Writer() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_one();
    thread_.join();
    // Statements before the connection: close_v2 would otherwise keep it as a zombie.
    ctx_.cache_.clear();
}

void Writer::post(Command command, RowRef produces) {
    {
        std::lock_guard lock(mutex_);
        queue_.push_back(Queued{std::move(command), nullptr, std::move(produces)});
    }
    wake_.notify_one();
}

void Writer::post_with(Command command, Done done) {
    {
        std::lock_guard lock(mutex_);
        queue_.push_back(Queued{std::move(command), std::move(done), {}});
    }
    wake_.notify_one();
}

void Writer::finish(Queued& q, const std::string* error) {
    if (q.done) {
        q.done(error);
        return;
    }
    if (!error) {
        // A command that forgot its assign() must not leave a caller waiting in id() forever.
        if (q.produces && !q.produces.ready() && !q.produces.slot()->tentative) {
            q.produces.fail("the write completed without producing its row");
        }
        return;
    }
    if (q.produces && !q.produces.ready()) q.produces.fail(*error);
    report(*error);
}

void Writer::append(const RowRef& message, std::string_view text) {
    if (message.is_null() || text.empty()) return;
    bool wake = false;
    {
        std::lock_guard lock(mutex_);
        auto& s = streams_[message.slot()];
        if (s.message.is_null()) s.message = message;
        s.text.append(text);
        ++s.appends;
        if (!dirty_) {
            // Wake the writer once per flush interval, not once per token.
            dirty_ = true;
            dirty_since_ = std::chrono::steady_clock::now();
            wake = true;
        }
    }
    if (wake) wake_.notify_one();
}

std::future<void> Writer::barrier() {
    auto promise = std::make_shared<std::promise<void>>();
    post_with([](WriteContext&) {},
              [this, promise](const std::string* error) {
                  std::vector<std::string> errors;
                  {
                      std::lock_guard lock(mutex_);
                      errors.swap(errors_);
                  }
                  if (error) errors.insert(errors.begin(), *error);
                  if (errors.empty()) {
                      promise->set_value();
                      return;
                  }
                  std::string msg = errors.front();
                  if (errors.size() > 1) {
                      msg += " (and " + std::to_string(errors.size() - 1) + " more failed writes)";
                  }
                  promise->set_exception(std::make_exception_ptr(Error(msg)));
              });
    return promise->get_future();
}

void Writer::report(const std::string& error) {
    {
        std::lock_guard lock(mutex_);
        errors_.push_back(error);
    }
    // A throwing callback must not take the writer thread (and every later write) down with it.
    try {
        if (options_.on_error) options_.on_error(error);
    } catch (...) {
    }
}

void Writer::run() {
    std::unique_lock lock(mutex_);
    for (;;) {
        const auto due = [&] {
            return dirty_ && std::chrono::steady_clock::now() >=
                                 dirty_since_ + options_.stream_flush_interval;
        };
        while (!stop_ && queue_.empty() && !due()) {
            if (dirty_) {
                wake_.wait_until(lock, dirty_since_ + options_.stream_flush_interval);
            } else {
                wake_.wait(lock);
            }
        }
        std::vector<Queued> batch(std::make_move_iterator(queue_.begin()),
                                  std::make_move_iterator(queue_.end()));
        queue_.clear();
        const bool streams = dirty_;
        lock.unlock();
        if (!batch.empty() || streams) run_batch(batch);
        lock.lock();
        if (stop_ && queue_.empty()) break;
    }
}

std::optional<std::string> Writer::begin_batch() {
    std::string error;
    for (int attempt = 0; attempt < kBeginAttempts; ++attempt) {
        const int rc = sqlite3_exec(db_.raw(), "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
        if (rc == SQLITE_OK) return std::nullopt;
        error = sqlite3_errmsg(db_.raw());
        if ((rc & 0xff) != SQLITE_BUSY) break;
    }
    return "session database " + db_.path().string() + ": cannot start a write (" + error + ")";
}

Writer::Marks Writer::marks() const {
    return Marks{ctx_.assigned_.size(), ctx_.created_blobs_.size(), ctx_.after_.size(),
                 ctx_.taken_.size()};
}

void Writer::undo_since(const Marks& m, const std::string& error) {
    for (std::size_t i = m.assigned; i < ctx_.assigned_.size(); ++i) {
        ctx_.assigned_[i].slot()->tentative.reset();
        ctx_.assigned_[i].fail(error);
    }
    ctx_.assigned_.resize(m.assigned);
    for (std::size_t i = m.created_blobs; i < ctx_.created_blobs_.size(); ++i) {
        blobs_.remove(ctx_.created_blobs_[i]);
    }
    ctx_.created_blobs_.resize(m.created_blobs);
    ctx_.after_.resize(m.after);
    {
        // Text taken from a stream goes back in front of whatever arrived since.
        std::lock_guard lock(mutex_);
        for (std::size_t i = ctx_.taken_.size(); i-- > m.taken;) {
            auto& t = ctx_.taken_[i];
            auto& s = streams_[t.message.slot()];
            if (s.message.is_null()) s.message = t.message;
            s.text.insert(0, t.text);
            s.appends += t.appends;
            if (!dirty_) {
                dirty_ = true;
                dirty_since_ = std::chrono::steady_clock::now();
            }
        }
    }
    ctx_.taken_.resize(m.taken);
}

void Writer::write_streams() {
    std::vector<WriteContext::Taken> ready;
    {
        std::lock_guard lock(mutex_);
        for (auto it = streams_.begin(); it != streams_.end();) {
            auto* slot = it->first;
            bool failed = false;
            bool known = slot->tentative.has_value();
            if (!known) {
                std::lock_guard slot_lock(slot->mutex);
                known = slot->done;
                failed = slot->done && !slot->error.empty();
            }
            if (failed) {
                it = streams_.erase(it);  // its message was never saved; nothing to append to
            } else if (known && !it->second.text.empty()) {
                ready.push_back(
                    {it->second.message, std::move(it->second.text), it->second.appends});
                it->second.text.clear();
                it->second.appends = 0;
                ++it;
            } else {
                ++it;  // its message is further back in the queue
            }
        }
        dirty_ = false;
        for (const auto& [slot, s] : streams_) dirty_ = dirty_ || !s.text.empty();
        if (dirty_) dirty_since_ = std::chrono::steady_clock::now();
    }
    // Recorded as taken before the UPDATE, so a failure puts the text back.
    const std::size_t first = ctx_.taken_.size();
    for (auto& t : ready) ctx_.taken_.push_back(std::move(t));
    for (std::size_t i = first; i < ctx_.taken_.size(); ++i) {
        auto& t = ctx_.taken_[i];
        const std::int64_t id = ctx_.resolve(t.message, "streamed message");
        // Only a message still generating takes text (the schema refuses to rewrite finished ones).
        ctx_.stmt("UPDATE messages SET text = text || ?1 WHERE id = ?2 AND status = 'generating'")
            .bind(1, t.text)
            .bind(2, id)
            .run();
        if (db_.changes() == 0) {
            report("text streamed to message " + std::to_string(id) +
                   " after it was finished or deleted was dropped (" +
                   std::to_string(t.text.size()) + " bytes)");
            t.appends = 0;
            t.text.clear();
        }
    }
}

void Writer::run_batch(std::vector<Queued>& batch) {
    if (auto error = begin_batch()) {
        for (auto& q : batch) finish(q, &*error);
        return;
    }
    const Marks start = marks();
    std::vector<std::optional<std::string>> failed(batch.size());
    std::optional<std::string> batch_error;
    for (std::size_t i = 0; i < batch.size() && !batch_error; ++i) {
        const Marks m = marks();
        sqlite3_exec(db_.raw(), "SAVEPOINT command", nullptr, nullptr, nullptr);
        try {
            batch[i].command(ctx_);
            ctx_.reset_statements();
            db_.exec("RELEASE command");
        } catch (const std::exception& e) {
            ctx_.reset_statements();
            failed[i] = e.what();
            if (sqlite3_get_autocommit(db_.raw())) {
                // SQLite rolled the whole transaction back (disk full, I/O error): every command of
                // this batch is lost, not only this one.
                batch_error = e.what();
            } else {
                sqlite3_exec(db_.raw(), "ROLLBACK TO command", nullptr, nullptr, nullptr);
                sqlite3_exec(db_.raw(), "RELEASE command", nullptr, nullptr, nullptr);
                undo_since(m, e.what());
            }
        }
    }
    if (!batch_error) {
        try {
            write_streams();
            db_.exec("COMMIT");
        } catch (const std::exception& e) {
            batch_error = e.what();
        }
    }
    if (batch_error) {
        if (!sqlite3_get_autocommit(db_.raw())) {
            sqlite3_exec(db_.raw(), "ROLLBACK", nullptr, nullptr, nullptr);
        }
        undo_since(start, *batch_error);
        for (std::size_t i = 0; i < batch.size(); ++i) {
            finish(batch[i], failed[i] ? &*failed[i] : &*batch_error);
        }
        return;
    }

    CommitInfo info;
    info.commands = batch.size();
    for (const auto& t : ctx_.taken_) appends_durable_ += t.appends;
    info.appends_durable = appends_durable_;
    for (auto& ref : ctx_.assigned_) {
        const std::int64_t id = *ref.slot()->tentative;
        ref.slot()->tentative.reset();
        ref.publish(id);
    }
    auto after = std::move(ctx_.after_);
    ctx_.assigned_.clear();
    ctx_.created_blobs_.clear();
    ctx_.after_.clear();
    ctx_.taken_.clear();
    for (auto& fn : after) {
        try {
            fn();
        } catch (const std::exception& e) {
            report(e.what());
        }
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
        finish(batch[i], failed[i] ? &*failed[i] : nullptr);
    }
    try {
        if (options_.on_commit) options_.on_commit(info);
    } catch (const std::exception& e) {
        report(std::string("on_commit callback: ") + e.what());
    }
}

}  // namespace statescope
