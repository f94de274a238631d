#include "core/store/store_writes.h"

#include <algorithm>
#include <filesystem>
#include <unordered_set>

#include "core/error.h"

namespace statescope {
namespace {

std::string dump(const nlohmann::json* j) {
    return j ? j->dump() : "{}";
}

}  // namespace

std::int64_t upsert_model(WriteContext& ctx, const ModelInfo& model, std::int64_t used_at_ms) {
    auto& st = ctx.stmt(
        "INSERT INTO models (path, model_type, content_hash, first_seen, last_used) "
        "VALUES (?1, ?2, ?3, ?4, ?4) "
        "ON CONFLICT (path, content_hash) DO UPDATE SET "
        "model_type = excluded.model_type, last_used = max(last_used, excluded.last_used) "
        "RETURNING id");
    st.bind(1, model.path)
        .bind(2, model.model_type)
        .bind(3, model.content_hash)
        .bind(4, used_at_ms);
    if (!st.step()) throw Error("model " + model.path + " was not recorded");
    const std::int64_t id = st.int64(0);
    st.reset();
    return id;
}

std::int64_t insert_session(WriteContext& ctx, const std::string& title, std::int64_t created_at_ms,
                            std::optional<std::int64_t> model_id, const nlohmann::json& metadata) {
    ctx.stmt(
           "INSERT INTO sessions (title, created_at, updated_at, model_id, metadata) "
           "VALUES (?1, ?2, ?2, ?3, ?4)")
        .bind(1, title)
        .bind(2, created_at_ms)
        .bind(3, model_id)
        .bind(4, metadata.dump())
        .run();
    return ctx.db().last_insert_rowid();
}

void touch_session(WriteContext& ctx, std::int64_t session_id, std::int64_t at_ms) {
    ctx.stmt("UPDATE sessions SET updated_at = max(updated_at, ?2) WHERE id = ?1")
        .bind(1, session_id)
        .bind(2, at_ms)
        .run();
}

void set_session_times(WriteContext& ctx, std::int64_t session_id, std::int64_t created_at_ms,
                       std::int64_t updated_at_ms) {
    ctx.stmt("UPDATE sessions SET created_at = ?2, updated_at = ?3 WHERE id = ?1")
        .bind(1, session_id)
        .bind(2, created_at_ms)
        .bind(3, updated_at_ms)
        .run();
}

void set_head(WriteContext& ctx, std::int64_t session_id, std::optional<std::int64_t> message_id) {
    ctx.stmt("UPDATE sessions SET head_message_id = ?2 WHERE id = ?1")
        .bind(1, session_id)
        .bind(2, message_id)
        .run();
    if (ctx.db().changes() == 0)
        throw Error("session " + std::to_string(session_id) + " not found");
}

void rename_session(WriteContext& ctx, std::int64_t session_id, const std::string& title) {
    ctx.stmt("UPDATE sessions SET title = ?2 WHERE id = ?1")
        .bind(1, session_id)
        .bind(2, title)
        .run();
    if (ctx.db().changes() == 0)
        throw Error("session " + std::to_string(session_id) + " not found");
}

bool delete_session(WriteContext& ctx, std::int64_t session_id) {
    ctx.stmt("DELETE FROM sessions WHERE id = ?1").bind(1, session_id).run();
    if (ctx.db().changes() == 0) return false;
    // An external-content FTS5 index keeps the tokens of deleted rows in old segments until they
    // are merged; 'optimize' merges everything now, so the deleted words leave the file (with
    // secure_delete zeroing the freed pages) instead of lingering the way users complained about.
    ctx.db().exec("INSERT INTO message_fts (message_fts) VALUES ('optimize')");
    collect_garbage(ctx, false);
    // Old page images stay in the WAL until a checkpoint; TRUNCATE also empties the file.
    Connection& db = ctx.db();
    ctx.after_commit([&db] { db.exec("PRAGMA wal_checkpoint(TRUNCATE)"); });
    return true;
}

std::int64_t insert_message(WriteContext& ctx, const MessageRow& row) {
    ctx.stmt(
           "INSERT INTO messages (session_id, parent_id, role, text, status, created_at, model_id) "
           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
        .bind(1, row.session_id)
        .bind(2, row.parent_id)
        .bind(3, to_string(row.role))
        .bind(4, row.text)
        .bind(5, to_string(row.status))
        .bind(6, row.created_at_ms)
        .bind(7, row.model_id)
        .run();
    return ctx.db().last_insert_rowid();
}

void write_generation(WriteContext& ctx, std::int64_t message_id, const Generation& g) {
    const auto& p = g.params;
    const auto& s = g.stats;
    ctx.stmt(
           "INSERT OR REPLACE INTO generations (message_id, sampler, seed, backend, dtype, device, "
           "prompt_tokens, generated_tokens, ttft_s, prefill_s, decode_s, prefill_tok_s, "
           "decode_tok_s, peak_memory_bytes, state_bytes, stop_reason) "
           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)")
        .bind(1, message_id)
        .bind(2, p.sampler.dump())
        .bind(3, p.seed)
        .bind(4, p.backend)
        .bind(5, p.dtype)
        .bind(6, p.device)
        .bind(7, s.prompt_tokens)
        .bind(8, s.generated_tokens)
        .bind(9, s.ttft_s)
        .bind(10, s.prefill_s)
        .bind(11, s.decode_s)
        .bind(12, s.prefill_tok_s)
        .bind(13, s.decode_tok_s)
        .bind(14, s.peak_memory_bytes)
        .bind(15, s.state_bytes)
        .bind(16, s.stop_reason)
        .run();
}

void finish_message(WriteContext& ctx, std::int64_t message_id, std::string_view text,
                    MessageStatus status, const GenerationStats* stats) {
    ctx.stmt(
           "UPDATE messages SET text = text || ?2, status = ?3 "
           "WHERE id = ?1 AND status = 'generating'")
        .bind(1, message_id)
        .bind(2, text)
        .bind(3, to_string(status))
        .run();
    if (ctx.db().changes() == 0) {
        throw Error("message " + std::to_string(message_id) +
                    " is not being generated (finished twice, or deleted)");
    }
    if (!stats) return;
    ctx.stmt("INSERT INTO generations (message_id) VALUES (?1) ON CONFLICT DO NOTHING")
        .bind(1, message_id)
        .run();
    ctx.stmt(
           "UPDATE generations SET prompt_tokens = ?2, generated_tokens = ?3, ttft_s = ?4, "
           "prefill_s = ?5, decode_s = ?6, prefill_tok_s = ?7, decode_tok_s = ?8, "
           "peak_memory_bytes = ?9, state_bytes = ?10, stop_reason = ?11 WHERE message_id = ?1")
        .bind(1, message_id)
        .bind(2, stats->prompt_tokens)
        .bind(3, stats->generated_tokens)
        .bind(4, stats->ttft_s)
        .bind(5, stats->prefill_s)
        .bind(6, stats->decode_s)
        .bind(7, stats->prefill_tok_s)
        .bind(8, stats->decode_tok_s)
        .bind(9, stats->peak_memory_bytes)
        .bind(10, stats->state_bytes)
        .bind(11, stats->stop_reason)
        .run();
}

void insert_message_blob(WriteContext& ctx, std::int64_t message_id, const BlobRef& blob) {
    ctx.stmt("INSERT INTO message_blobs (message_id, name, hash) VALUES (?1, ?2, ?3)")
        .bind(1, message_id)
        .bind(2, blob.name)
        .bind(3, blob.hash)
        .run();
}

std::int64_t insert_analysis_run(WriteContext& ctx, const AnalysisRow& row) {
    ctx.stmt(
           "INSERT INTO analysis_runs (session_id, message_id, model_id, kind, params, result, "
           "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
        .bind(1, row.session_id)
        .bind(2, row.message_id)
        .bind(3, row.model_id)
        .bind(4, row.kind)
        .bind(5, dump(row.params))
        .bind(6, dump(row.result))
        .bind(7, row.created_at_ms)
        .run();
    return ctx.db().last_insert_rowid();
}

void insert_analysis_blob(WriteContext& ctx, std::int64_t analysis_id, const BlobRef& blob) {
    ctx.stmt("INSERT INTO analysis_blobs (analysis_id, name, hash) VALUES (?1, ?2, ?3)")
        .bind(1, analysis_id)
        .bind(2, blob.name)
        .bind(3, blob.hash)
        .run();
}

std::int64_t insert_comparison(WriteContext& ctx, const std::string& title,
                               const std::string& prompt, const nlohmann::json& settings,
                               const std::vector<ComparisonEntry>& entries) {
    ctx.stmt(
           "INSERT INTO comparisons (title, prompt, settings, created_at) VALUES (?1, ?2, ?3, ?4)")
        .bind(1, title)
        .bind(2, prompt)
        .bind(3, settings.dump())
        .bind(4, ctx.now_ms())
        .run();
    const std::int64_t id = ctx.db().last_insert_rowid();
    for (std::size_t i = 0; i < entries.size(); ++i) {
        ctx.stmt(
               "INSERT INTO comparison_entries (comparison_id, position, session_id, model_id) "
               "VALUES (?1, ?2, ?3, ?4)")
            .bind(1, id)
            .bind(2, static_cast<std::int64_t>(i))
            .bind(3, entries[i].session_id)
            .bind(4, entries[i].model_id)
            .run();
    }
    return id;
}

std::int64_t insert_benchmark_run(WriteContext& ctx, std::optional<std::int64_t> model_id,
                                  const std::string& kind, const nlohmann::json& params,
                                  const nlohmann::json& result, const nlohmann::json& machine) {
    ctx.stmt(
           "INSERT INTO benchmark_runs (model_id, kind, params, result, machine, created_at) "
           "VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
        .bind(1, model_id)
        .bind(2, kind)
        .bind(3, params.dump())
        .bind(4, result.dump())
        .bind(5, machine.dump())
        .bind(6, ctx.now_ms())
        .run();
    return ctx.db().last_insert_rowid();
}

GcReport collect_garbage(WriteContext& ctx, bool sweep_files) {
    GcReport report;
    std::vector<std::pair<std::string, std::int64_t>> dead;
    {
        auto& st = ctx.stmt("SELECT hash, size FROM blobs WHERE ref_count = 0");
        while (st.step()) dead.emplace_back(st.text(0), st.int64(1));
        st.reset();
    }
    for (const auto& [hash, size] : dead) {
        ctx.stmt("DELETE FROM blobs WHERE hash = ?1 AND ref_count = 0").bind(1, hash).run();
        // The file goes only after the commit: the references that made this blob dead are
        // deleted in the same transaction, so a kill or a failed commit brings them back and
        // they must find their file. A later command of the same batch may also have put the
        // content again; the row tells. A kill between the commit and the removal leaves an
        // orphan file, which the next sweep removes.
        WriteContext* c = &ctx;
        ctx.after_commit([c, hash = hash] {
            auto& st = c->stmt("SELECT 1 FROM blobs WHERE hash = ?1").bind(1, hash);
            const bool alive = st.step();
            st.reset();
            if (!alive) c->blob_files().remove(hash);
        });
        ++report.blobs_removed;
        report.bytes_removed += size;
    }
    if (!sweep_files) return report;
    std::unordered_set<std::string> known;
    {
        auto& st = ctx.stmt("SELECT hash FROM blobs");
        while (st.step()) known.insert(st.text(0));
        st.reset();
    }
    // Dead blobs' files are removed after the commit (above), not here.
    for (const auto& d : dead) known.insert(d.first);
    for (const auto& hash : ctx.blob_files().list_hashes()) {
        if (!known.count(hash)) {
            ctx.blob_files().remove(hash);
            ++report.orphan_files;
        }
    }
    for (const auto& temp : ctx.blob_files().list_temp_files()) {
        std::error_code ec;
        std::filesystem::remove(temp, ec);
        ++report.temp_files;
    }
    return report;
}

int mark_interrupted(Connection& db) {
    db.exec("UPDATE messages SET status = 'interrupted' WHERE status = 'generating'");
    return db.changes();
}

}  // namespace statescope
