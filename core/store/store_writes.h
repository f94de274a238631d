// The SQL of every write, on the writer thread inside its transaction, with ids already resolved.
// SessionStore's queued writes and the import of a whole session both come through here, so a row
// is written one way whatever produced it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/store/records.h"
#include "core/store/writer.h"

namespace statescope {

std::int64_t upsert_model(WriteContext& ctx, const ModelInfo& model, std::int64_t used_at_ms);

std::int64_t insert_session(WriteContext& ctx, const std::string& title, std::int64_t created_at_ms,
                            std::optional<std::int64_t> model_id, const nlohmann::json& metadata);
// Moves updated_at forward (never back), so the session list stays ordered by last activity.
void touch_session(WriteContext& ctx, std::int64_t session_id, std::int64_t at_ms);
void set_session_times(WriteContext& ctx, std::int64_t session_id, std::int64_t created_at_ms,
                       std::int64_t updated_at_ms);
void set_head(WriteContext& ctx, std::int64_t session_id, std::optional<std::int64_t> message_id);
void rename_session(WriteContext& ctx, std::int64_t session_id, const std::string& title);
// Deletes the session with its messages, runs and blob references; drops the deleted text from the
// full-text index and the blobs nobody references any more. False when there was no such session.
bool delete_session(WriteContext& ctx, std::int64_t session_id);

struct MessageRow {
    std::int64_t session_id = 0;
    std::optional<std::int64_t> parent_id;
    Role role = Role::User;
    std::string_view text;
    MessageStatus status = MessageStatus::Complete;
    std::int64_t created_at_ms = 0;
    std::optional<std::int64_t> model_id;
};
std::int64_t insert_message(WriteContext& ctx, const MessageRow& row);
// Appends `text` and sets the final status (and stats when given) of a generating message.
void finish_message(WriteContext& ctx, std::int64_t message_id, std::string_view text,
                    MessageStatus status, const GenerationStats* stats);
void write_generation(WriteContext& ctx, std::int64_t message_id, const Generation& generation);
void insert_message_blob(WriteContext& ctx, std::int64_t message_id, const BlobRef& blob);

struct AnalysisRow {
    std::optional<std::int64_t> session_id;
    std::optional<std::int64_t> message_id;
    std::optional<std::int64_t> model_id;
    std::string_view kind;
    const nlohmann::json* params = nullptr;
    const nlohmann::json* result = nullptr;
    std::int64_t created_at_ms = 0;
};
std::int64_t insert_analysis_run(WriteContext& ctx, const AnalysisRow& row);
void insert_analysis_blob(WriteContext& ctx, std::int64_t analysis_id, const BlobRef& blob);

std::int64_t insert_comparison(WriteContext& ctx, const std::string& title,
                               const std::string& prompt, const nlohmann::json& settings,
                               const std::vector<ComparisonEntry>& entries);
std::int64_t insert_benchmark_run(WriteContext& ctx, std::optional<std::int64_t> model_id,
                                  const std::string& kind, const nlohmann::json& params,
                                  const nlohmann::json& result, const nlohmann::json& machine);

struct GcReport {
    std::int64_t blobs_removed = 0;  // rows (and files) nothing referenced
    std::int64_t bytes_removed = 0;
    std::int64_t orphan_files = 0;  // files without a row (a crash between file and commit)
    std::int64_t temp_files = 0;    // half-written files of writers that died
};
// Blobs with ref_count 0: rows deleted and files removed, inside the write transaction (so no other
// writer can be re-adding the same content meanwhile). With sweep_files, also files the table
// does not know.
GcReport collect_garbage(WriteContext& ctx, bool sweep_files);

// Marks messages left 'generating' by a process that died as 'interrupted'; returns how many.
int mark_interrupted(Connection& db);

}  // namespace statescope
