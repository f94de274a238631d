#include "core/store/session_store.h"

#include <cstdlib>
#include <system_error>
#include <unordered_map>

#include "core/error.h"
#include "core/store/database_file.h"
#include "core/store/store_lock.h"

namespace statescope {
namespace fs = std::filesystem;
namespace {

std::optional<std::int64_t> session_head(WriteContext& ctx, std::int64_t session_id) {
    auto& st = ctx.stmt("SELECT head_message_id FROM sessions WHERE id = ?1");
    st.bind(1, session_id);
    if (!st.step()) throw Error("session " + std::to_string(session_id) + " not found");
    auto head = st.opt_int64(0);
    st.reset();
    return head;
}

std::int64_t session_of_message(WriteContext& ctx, std::int64_t message_id) {
    auto& st = ctx.stmt("SELECT session_id FROM messages WHERE id = ?1");
    st.bind(1, message_id);
    if (!st.step()) throw Error("message " + std::to_string(message_id) + " not found");
    const auto id = st.int64(0);
    st.reset();
    return id;
}

// The first line of the prompt, cut at a word near 60 characters (UTF-8 safe).
std::string title_from(const std::string& prompt) {
    std::string line = prompt.substr(0, prompt.find('\n'));
    if (line.size() <= 60) return line;
    std::size_t cut = line.rfind(' ', 60);
    if (cut == std::string::npos || cut < 20) {
        cut = 60;
        while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
    }
    return line.substr(0, cut) + "...";
}

}  // namespace

SessionStore::SessionStore(const fs::path& path, StoreOptions options)
    : path_(path), options_(std::move(options)) {
    std::error_code ec;
    if (fs::is_directory(path_, ec)) {
        throw Error("session database " + path_.string() + " is a folder; give a file path");
    }
    // Open (and upgrade) first: a file that is refused or set aside gets no lock file next to it.
    Connection db =
        open_writer_connection(path_, {options_.busy_timeout, options_.check_integrity});
    lock_ = std::make_unique<StoreLock>(path_);
    if (lock_->was_alone()) {
        interrupted_at_open_ = mark_interrupted(db);
        lock_->share();
    }
    WriterOptions wo;
    wo.stream_flush_interval = options_.stream_flush_interval;
    wo.on_commit = options_.on_commit;
    wo.on_error = options_.on_write_error;
    writer_ = std::make_unique<Writer>(std::move(db), BlobFiles(path_), std::move(wo));
}

SessionStore::~SessionStore() {
    writer_.reset();
}

fs::path SessionStore::default_path() {
    const char* xdg = std::getenv("XDG_DATA_HOME");
    if (xdg && *xdg && fs::path(xdg).is_absolute())
        return fs::path(xdg) / "statescope" / "sessions.db";
    const char* home = std::getenv("HOME");
    if (!home || !*home) {
        throw Error(
            "cannot find a place for the session database: neither XDG_DATA_HOME nor HOME "
            "is set (pass --db PATH)");
    }
    return fs::path(home) / ".local" / "share" / "statescope" / "sessions.db";
}

RowRef SessionStore::touch_model(const ModelInfo& model) {
    RowRef ref = RowRef::pending();
    writer_->post(
        [ref, model](WriteContext& ctx) {
            ctx.assign(ref, upsert_model(ctx, model, ctx.now_ms()));
        },
        ref);
    return ref;
}

RowRef SessionStore::create_session(NewSession session) {
    RowRef ref = RowRef::pending();
    writer_->post(
        [ref, s = std::move(session)](WriteContext& ctx) {
            const auto model = ctx.resolve_optional(s.model, "model");
            ctx.assign(ref, insert_session(ctx, s.title, ctx.now_ms(), model, s.metadata));
        },
        ref);
    return ref;
}

RowRef SessionStore::create_session(std::string title, const RowRef& model) {
    NewSession s;
    s.title = std::move(title);
    s.model = model;
    return create_session(std::move(s));
}

RowRef SessionStore::add_message(const RowRef& session, const RowRef& parent, Role role,
                                 std::string text) {
    NewMessage m;
    m.role = role;
    m.text = std::move(text);
    return add_message(session, parent, std::move(m));
}

RowRef SessionStore::add_message(const RowRef& session, const RowRef& parent, NewMessage message) {
    RowRef ref = RowRef::pending();
    writer_->post(
        [ref, session, parent, m = std::move(message)](WriteContext& ctx) {
            const auto sid = ctx.resolve(session, "session");
            const auto now = ctx.now_ms();
            const auto id = insert_message(
                ctx, {sid, ctx.resolve_optional(parent, "parent message"), m.role, m.text, m.status,
                      now, ctx.resolve_optional(m.model, "model")});
            if (m.generation) write_generation(ctx, id, *m.generation);
            for (const auto& b : m.blobs) insert_message_blob(ctx, id, ctx.put_blob(b));
            if (m.make_head) statescope::set_head(ctx, sid, id);
            touch_session(ctx, sid, now);
            ctx.assign(ref, id);
        },
        ref);
    return ref;
}

RowRef SessionStore::begin_message(const RowRef& session, const RowRef& parent, StreamStart start) {
    RowRef ref = RowRef::pending();
    writer_->post(
        [ref, session, parent, s = std::move(start)](WriteContext& ctx) {
            const auto sid = ctx.resolve(session, "session");
            const auto now = ctx.now_ms();
            const auto id = insert_message(
                ctx, {sid, ctx.resolve_optional(parent, "parent message"), s.role, "",
                      MessageStatus::Generating, now, ctx.resolve_optional(s.model, "model")});
            write_generation(ctx, id, Generation{s.params, {}});
            if (s.make_head) statescope::set_head(ctx, sid, id);
            touch_session(ctx, sid, now);
            ctx.assign(ref, id);
        },
        ref);
    return ref;
}

void SessionStore::append_text(const RowRef& message, std::string_view text) {
    writer_->append(message, text);
}

void SessionStore::finish_message(const RowRef& message, const GenerationStats& stats,
                                  MessageStatus status) {
    writer_->post([message, stats, status](WriteContext& ctx) {
        if (status == MessageStatus::Generating) {
            throw Error("finish_message: the final status cannot be 'generating'");
        }
        const auto id = ctx.resolve(message, "message");
        const std::string rest = ctx.take_stream(message);
        statescope::finish_message(ctx, id, rest, status, &stats);
        touch_session(ctx, session_of_message(ctx, id), ctx.now_ms());
    });
}

void SessionStore::set_head(const RowRef& session, const RowRef& message) {
    writer_->post([session, message](WriteContext& ctx) {
        statescope::set_head(ctx, ctx.resolve(session, "session"),
                             ctx.resolve_optional(message, "head message"));
    });
}

void SessionStore::rename_session(const RowRef& session, std::string title) {
    writer_->post([session, title = std::move(title)](WriteContext& ctx) {
        statescope::rename_session(ctx, ctx.resolve(session, "session"), title);
    });
}

void SessionStore::attach_blob(const RowRef& message, BlobData blob) {
    writer_->post([message, blob = std::move(blob)](WriteContext& ctx) {
        insert_message_blob(ctx, ctx.resolve(message, "message"), ctx.put_blob(blob));
    });
}

RowRef SessionStore::add_analysis_run(NewAnalysisRun run) {
    RowRef ref = RowRef::pending();
    writer_->post(
        [ref, r = std::move(run)](WriteContext& ctx) {
            AnalysisRow row;
            row.session_id = ctx.resolve_optional(r.session, "session");
            row.message_id = ctx.resolve_optional(r.message, "message");
            // A run on a message belongs to its session (and is exported and deleted with it).
            if (row.message_id) {
                const auto owner = session_of_message(ctx, *row.message_id);
                if (row.session_id && *row.session_id != owner) {
                    throw Error("analysis run: message " + std::to_string(*row.message_id) +
                                " is not in session " + std::to_string(*row.session_id));
                }
                row.session_id = owner;
            }
            row.model_id = ctx.resolve_optional(r.model, "model");
            row.kind = r.kind;
            row.params = &r.params;
            row.result = &r.result;
            row.created_at_ms = ctx.now_ms();
            const auto id = insert_analysis_run(ctx, row);
            for (const auto& b : r.blobs) insert_analysis_blob(ctx, id, ctx.put_blob(b));
            ctx.assign(ref, id);
        },
        ref);
    return ref;
}

RowRef SessionStore::add_comparison(NewComparison comparison) {
    RowRef ref = RowRef::pending();
    writer_->post(
        [ref, c = std::move(comparison)](WriteContext& ctx) {
            std::vector<ComparisonEntry> entries;
            for (const auto& e : c.entries) {
                entries.push_back({ctx.resolve_optional(e.session, "compared session"),
                                   ctx.resolve_optional(e.model, "compared model")});
            }
            ctx.assign(ref, insert_comparison(ctx, c.title, c.prompt, c.settings, entries));
        },
        ref);
    return ref;
}

RowRef SessionStore::add_benchmark_run(NewBenchmarkRun run) {
    RowRef ref = RowRef::pending();
    writer_->post(
        [ref, b = std::move(run)](WriteContext& ctx) {
            ctx.assign(ref, insert_benchmark_run(ctx, ctx.resolve_optional(b.model, "model"),
                                                 b.kind, b.params, b.result, b.machine));
        },
        ref);
    return ref;
}

void SessionStore::flush() {
    writer_->barrier().get();
}

SavedExchange SessionStore::save_exchange(const Exchange& e) {
    return writer_
        ->call<SavedExchange>([&e](WriteContext& ctx) {
            const auto now = ctx.now_ms();
            std::optional<std::int64_t> model;
            if (e.model) model = upsert_model(ctx, *e.model, now);
            SavedExchange saved;
            std::optional<std::int64_t> parent;
            if (e.session_id) {
                saved.session_id = *e.session_id;
                parent = session_head(ctx, saved.session_id);
            } else {
                saved.session_id =
                    insert_session(ctx, e.title.empty() ? title_from(e.prompt) : e.title, now,
                                   model, nlohmann::json::object());
                if (!e.system_prompt.empty()) {
                    parent = insert_message(
                        ctx, {saved.session_id, std::nullopt, Role::System, e.system_prompt,
                              MessageStatus::Complete, now, std::nullopt});
                }
            }
            saved.prompt_message_id =
                insert_message(ctx, {saved.session_id, parent, Role::User, e.prompt,
                                     MessageStatus::Complete, now, std::nullopt});
            if (e.status == MessageStatus::Generating) {
                throw Error("save_exchange: a saved reply cannot be 'generating'");
            }
            saved.reply_message_id =
                insert_message(ctx, {saved.session_id, saved.prompt_message_id, Role::Assistant,
                                     e.reply, e.status, now, model});
            write_generation(ctx, saved.reply_message_id, Generation{e.params, e.stats});
            statescope::set_head(ctx, saved.session_id, saved.reply_message_id);
            touch_session(ctx, saved.session_id, now);
            return saved;
        })
        .get();
}

std::int64_t SessionStore::import_document(const SessionDocument& doc) {
    return writer_
        ->call<std::int64_t>([&doc](WriteContext& ctx) {
            const Session& s = doc.session;
            std::vector<std::int64_t> models;
            for (const auto& m : doc.models)
                models.push_back(upsert_model(ctx, m, s.updated_at_ms));
            auto model =
                [&](const std::optional<std::int64_t>& index) -> std::optional<std::int64_t> {
                if (!index) return std::nullopt;
                return models.at(static_cast<std::size_t>(*index));
            };
            auto put = [&](const BlobRef& ref) {
                const auto& bytes = doc.blobs.at(ref.hash);
                BlobRef stored = ctx.put_blob(BlobData{ref.name, bytes});
                if (stored.hash != ref.hash) throw Error("import: blob " + ref.hash + " changed");
                return stored;
            };
            const auto sid =
                insert_session(ctx, s.title, s.created_at_ms, model(s.model_id), s.metadata);
            std::unordered_map<std::int64_t, std::int64_t> ids;  // document key -> new id
            auto message =
                [&](const std::optional<std::int64_t>& key) -> std::optional<std::int64_t> {
                if (!key) return std::nullopt;
                return ids.at(*key);
            };
            for (const auto& m : s.messages) {
                const auto id = insert_message(ctx, {sid, message(m.parent_id), m.role, m.text,
                                                     m.status, m.created_at_ms, model(m.model_id)});
                ids[m.id] = id;
                if (m.generation) write_generation(ctx, id, *m.generation);
                for (const auto& b : m.blobs) insert_message_blob(ctx, id, put(b));
            }
            for (const auto& r : s.analysis_runs) {
                AnalysisRow row;
                row.session_id = sid;
                row.message_id = message(r.message_id);
                row.model_id = model(r.model_id);
                row.kind = r.kind;
                row.params = &r.params;
                row.result = &r.result;
                row.created_at_ms = r.created_at_ms;
                const auto id = insert_analysis_run(ctx, row);
                for (const auto& b : r.blobs) insert_analysis_blob(ctx, id, put(b));
            }
            statescope::set_head(ctx, sid, message(s.head_message_id));
            set_session_times(ctx, sid, s.created_at_ms, s.updated_at_ms);
            return sid;
        })
        .get();
}

bool SessionStore::delete_session(std::int64_t session_id) {
    return writer_
        ->call<bool>(
            [session_id](WriteContext& ctx) { return statescope::delete_session(ctx, session_id); })
        .get();
}

GcReport SessionStore::collect_garbage() {
    return writer_
        ->call<GcReport>([](WriteContext& ctx) { return statescope::collect_garbage(ctx, true); })
        .get();
}

SessionReader SessionStore::reader() const {
    return SessionReader(path_, options_.busy_timeout);
}

}  // namespace statescope
