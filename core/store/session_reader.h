// Reading the store from any thread: each SessionReader is its own connection (one per thread; the
// object itself is not shared between threads). WAL lets it read while the writer commits; every
// multi-query read runs in one read transaction, so it sees one consistent snapshot.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/store/blob_files.h"
#include "core/store/records.h"
#include "core/store/sqlite_handle.h"

namespace statescope {

enum class SearchSyntax {
    Plain,  // the words as typed, all of them required, any order ("what's up?" is fine)
    Fts5,   // FTS5 query syntax: "exact phrase", OR, NOT, prefix*, NEAR(...)
};

// A session with what it needs to live outside this database: ids are document-local (messages
// numbered 1..n in order, model_id indexes `models`), blobs travel as bytes.
struct SessionDocument {
    Session session;
    std::vector<ModelInfo> models;
    std::map<std::string, std::vector<std::uint8_t>> blobs;  // by hash
};

class SessionReader {
  public:
    explicit SessionReader(const std::filesystem::path& db_path,
                           std::chrono::milliseconds busy_timeout = std::chrono::seconds(5));
    SessionReader(SessionReader&&) noexcept = default;

    // Most recently active first.
    std::vector<SessionSummary> list_sessions(std::int64_t limit = -1, std::int64_t offset = 0);
    std::int64_t session_count();
    std::optional<Session> session(std::int64_t id);
    std::optional<Message> message(std::int64_t id);
    // Best match first; snippets mark matched terms with [ ].
    std::vector<SearchHit> search(std::string_view query, std::int64_t limit = 50,
                                  SearchSyntax syntax = SearchSyntax::Plain);

    std::optional<ModelRecord> model(std::int64_t id);
    std::vector<ModelRecord> models();
    std::vector<Comparison> comparisons();
    std::vector<BenchmarkRun> benchmark_runs();
    // Analysis runs on one model (whatever session they belong to, if any) whose kind starts with
    // `kind_prefix` ("probe." for the probes' results), oldest first.
    std::vector<AnalysisRun> analysis_runs_of_model(std::int64_t model_id,
                                                    std::string_view kind_prefix = {});
    std::vector<std::uint8_t> read_blob(std::string_view hash);

    // The session ready for export (Error when there is no such session).
    SessionDocument export_document(std::int64_t session_id);

    // PRAGMA integrity_check plus the FTS index's own check; "ok" or the problems found.
    std::string integrity_check();
    Connection& connection() { return db_; }

  private:
    std::vector<Message> messages_of(std::int64_t session_id);
    std::vector<AnalysisRun> analysis_runs_of(std::int64_t session_id);
    std::vector<AnalysisRun> read_analysis_runs(Statement& st);
    std::vector<BlobRef> blobs_of(const char* sql, std::int64_t owner);

    Connection db_;
    BlobFiles blobs_;
};

// "what's up?" -> "\"what's\" \"up?\"": each word a quoted FTS5 string, so user text never is
// syntax.
std::string plain_to_fts5(std::string_view text);

}  // namespace statescope
