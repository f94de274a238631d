#include "core/store/session_reader.h"

#include <cctype>
#include <unordered_map>

#include "core/error.h"
#include "core/store/database_file.h"

namespace statescope {
namespace {

nlohmann::json parse_column(const Connection& db, const std::string& text, const char* table,
                            std::int64_t row, const char* column) {
    try {
        return nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception&) {
        throw Error("session database " + db.path().string() + ": " + table + " row " +
                    std::to_string(row) + ": " + column + " is not JSON");
    }
}

Role role_column(const Connection& db, const std::string& s, std::int64_t row) {
    if (auto r = role_from_string(s)) return *r;
    throw Error("session database " + db.path().string() + ": messages row " + std::to_string(row) +
                ": unknown role \"" + s + "\"");
}

// The columns of a message joined with its generation, in this order (see messages_of).
constexpr const char* kMessageColumns =
    "m.id, m.session_id, m.parent_id, m.role, m.text, m.status, m.created_at, m.model_id, "
    "g.message_id, g.sampler, g.seed, g.backend, g.dtype, g.device, g.prompt_tokens, "
    "g.generated_tokens, g.ttft_s, g.prefill_s, g.decode_s, g.prefill_tok_s, g.decode_tok_s, "
    "g.peak_memory_bytes, g.state_bytes, g.stop_reason "
    "FROM messages m LEFT JOIN generations g ON g.message_id = m.id ";

Message read_message(const Connection& db, const Statement& st) {
    Message m;
    m.id = st.int64(0);
    m.session_id = st.int64(1);
    m.parent_id = st.opt_int64(2);
    m.role = role_column(db, st.text(3), m.id);
    m.text = st.text(4);
    const auto status = status_from_string(st.text(5));
    if (!status) {
        throw Error("session database " + db.path().string() + ": messages row " +
                    std::to_string(m.id) + ": unknown status \"" + st.text(5) + "\"");
    }
    m.status = *status;
    m.created_at_ms = st.int64(6);
    m.model_id = st.opt_int64(7);
    if (!st.is_null(8)) {
        Generation g;
        g.params.sampler = parse_column(db, st.text(9), "generations", m.id, "sampler");
        g.params.seed = st.opt_int64(10);
        g.params.backend = st.text(11);
        g.params.dtype = st.text(12);
        g.params.device = st.text(13);
        g.stats.prompt_tokens = st.opt_int64(14);
        g.stats.generated_tokens = st.opt_int64(15);
        g.stats.ttft_s = st.opt_real(16);
        g.stats.prefill_s = st.opt_real(17);
        g.stats.decode_s = st.opt_real(18);
        g.stats.prefill_tok_s = st.opt_real(19);
        g.stats.decode_tok_s = st.opt_real(20);
        g.stats.peak_memory_bytes = st.opt_int64(21);
        g.stats.state_bytes = st.opt_int64(22);
        g.stats.stop_reason = st.text(23);
        m.generation = std::move(g);
    }
    return m;
}

ModelRecord read_model(const Statement& st) {
    ModelRecord r;
    r.id = st.int64(0);
    r.info.path = st.text(1);
    r.info.model_type = st.text(2);
    r.info.content_hash = st.text(3);
    r.first_seen_ms = st.int64(4);
    r.last_used_ms = st.int64(5);
    return r;
}

}  // namespace

std::string plain_to_fts5(std::string_view text) {
    std::string out;
    std::size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
        std::size_t j = i;
        while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j]))) ++j;
        if (j > i) {
            std::string_view word = text.substr(i, j - i);
            // A trailing * keeps its meaning (prefix search); everything else is literal.
            const bool prefix = word.size() > 1 && word.back() == '*';
            if (prefix) word.remove_suffix(1);
            if (!out.empty()) out += ' ';
            out += '"';
            for (char c : word) out += c == '"' ? std::string("\"\"") : std::string(1, c);
            out += '"';
            if (prefix) out += '*';
        }
        i = j;
    }
    return out;
}

SessionReader::SessionReader(const std::filesystem::path& db_path,
                             std::chrono::milliseconds busy_timeout)
    : db_(open_reader_connection(db_path, busy_timeout)), blobs_(db_path) {}

std::vector<SessionSummary> SessionReader::list_sessions(std::int64_t limit, std::int64_t offset) {
    auto st = db_.prepare(
        "SELECT s.id, s.title, s.created_at, s.updated_at, "
        "(SELECT count(*) FROM messages WHERE session_id = s.id), s.model_id, "
        "coalesce(md.path, '') FROM sessions s LEFT JOIN models md ON md.id = s.model_id "
        "ORDER BY s.updated_at DESC, s.id DESC LIMIT ?1 OFFSET ?2");
    st.bind(1, limit).bind(2, offset);
    std::vector<SessionSummary> out;
    while (st.step()) {
        SessionSummary s;
        s.id = st.int64(0);
        s.title = st.text(1);
        s.created_at_ms = st.int64(2);
        s.updated_at_ms = st.int64(3);
        s.message_count = st.int64(4);
        s.model_id = st.opt_int64(5);
        s.model_path = st.text(6);
        out.push_back(std::move(s));
    }
    return out;
}

std::int64_t SessionReader::session_count() {
    return db_.query_int("SELECT count(*) FROM sessions");
}

std::vector<Message> SessionReader::messages_of(std::int64_t session_id) {
    auto st = db_.prepare(std::string("SELECT ") + kMessageColumns +
                          "WHERE m.session_id = ?1 ORDER BY m.id");
    st.bind(1, session_id);
    std::vector<Message> out;
    std::unordered_map<std::int64_t, std::size_t> index;
    while (st.step()) {
        index[st.int64(0)] = out.size();
        out.push_back(read_message(db_, st));
    }
    auto bl = db_.prepare(
        "SELECT mb.message_id, mb.name, mb.hash, b.size FROM message_blobs mb "
        "JOIN blobs b ON b.hash = mb.hash JOIN messages m ON m.id = mb.message_id "
        "WHERE m.session_id = ?1 ORDER BY mb.message_id, mb.name");
    bl.bind(1, session_id);
    while (bl.step()) {
        out[index.at(bl.int64(0))].blobs.push_back(BlobRef{bl.text(1), bl.text(2), bl.int64(3)});
    }
    return out;
}

std::vector<BlobRef> SessionReader::blobs_of(const char* sql, std::int64_t owner) {
    auto st = db_.prepare(sql);
    st.bind(1, owner);
    std::vector<BlobRef> out;
    while (st.step()) out.push_back(BlobRef{st.text(0), st.text(1), st.int64(2)});
    return out;
}

std::vector<AnalysisRun> SessionReader::analysis_runs_of(std::int64_t session_id) {
    auto st = db_.prepare(
        "SELECT id, session_id, message_id, model_id, kind, params, result, created_at "
        "FROM analysis_runs WHERE session_id = ?1 ORDER BY id");
    st.bind(1, session_id);
    return read_analysis_runs(st);
}

std::vector<AnalysisRun> SessionReader::analysis_runs_of_model(std::int64_t model_id,
                                                               std::string_view kind_prefix) {
    ReadTransaction tx(db_);
    // substr() rather than LIKE: a prefix with '%' or '_' in it means itself.
    auto st = db_.prepare(
        "SELECT id, session_id, message_id, model_id, kind, params, result, created_at "
        "FROM analysis_runs WHERE model_id = ?1 AND substr(kind, 1, length(?2)) = ?2 "
        "ORDER BY id");
    st.bind(1, model_id);
    st.bind(2, std::string(kind_prefix));  // never NULL: an empty prefix matches every kind
    return read_analysis_runs(st);
}

std::vector<AnalysisRun> SessionReader::read_analysis_runs(Statement& st) {
    std::vector<AnalysisRun> out;
    while (st.step()) {
        AnalysisRun r;
        r.id = st.int64(0);
        r.session_id = st.opt_int64(1);
        r.message_id = st.opt_int64(2);
        r.model_id = st.opt_int64(3);
        r.kind = st.text(4);
        r.params = parse_column(db_, st.text(5), "analysis_runs", r.id, "params");
        r.result = parse_column(db_, st.text(6), "analysis_runs", r.id, "result");
        r.created_at_ms = st.int64(7);
        out.push_back(std::move(r));
    }
    for (auto& r : out) {
        r.blobs = blobs_of(
            "SELECT ab.name, ab.hash, b.size FROM analysis_blobs ab JOIN blobs b ON b.hash = "
            "ab.hash "
            "WHERE ab.analysis_id = ?1 ORDER BY ab.name",
            r.id);
    }
    return out;
}

std::optional<Session> SessionReader::session(std::int64_t id) {
    ReadTransaction tx(db_);
    auto st = db_.prepare(
        "SELECT id, title, created_at, updated_at, model_id, head_message_id, metadata "
        "FROM sessions WHERE id = ?1");
    st.bind(1, id);
    if (!st.step()) return std::nullopt;
    Session s;
    s.id = st.int64(0);
    s.title = st.text(1);
    s.created_at_ms = st.int64(2);
    s.updated_at_ms = st.int64(3);
    s.model_id = st.opt_int64(4);
    s.head_message_id = st.opt_int64(5);
    s.metadata = parse_column(db_, st.text(6), "sessions", s.id, "metadata");
    s.messages = messages_of(id);
    s.analysis_runs = analysis_runs_of(id);
    return s;
}

std::optional<Message> SessionReader::message(std::int64_t id) {
    ReadTransaction tx(db_);
    auto st = db_.prepare(std::string("SELECT ") + kMessageColumns + "WHERE m.id = ?1");
    st.bind(1, id);
    if (!st.step()) return std::nullopt;
    Message m = read_message(db_, st);
    m.blobs = blobs_of(
        "SELECT mb.name, mb.hash, b.size FROM message_blobs mb JOIN blobs b ON b.hash = mb.hash "
        "WHERE mb.message_id = ?1 ORDER BY mb.name",
        id);
    return m;
}

std::vector<SearchHit> SessionReader::search(std::string_view query, std::int64_t limit,
                                             SearchSyntax syntax) {
    const std::string match =
        syntax == SearchSyntax::Plain ? plain_to_fts5(query) : std::string(query);
    if (match.empty()) return {};
    std::vector<SearchHit> out;
    try {
        auto st = db_.prepare(
            "SELECT m.id, m.session_id, s.title, m.role, "
            "snippet(message_fts, 0, '[', ']', '...', 16), message_fts.rank "
            "FROM message_fts JOIN messages m ON m.id = message_fts.rowid "
            "JOIN sessions s ON s.id = m.session_id "
            "WHERE message_fts MATCH ?1 ORDER BY message_fts.rank LIMIT ?2");
        st.bind(1, match).bind(2, limit);
        while (st.step()) {
            SearchHit h;
            h.message_id = st.int64(0);
            h.session_id = st.int64(1);
            h.session_title = st.text(2);
            h.role = role_column(db_, st.text(3), h.message_id);
            h.snippet = st.text(4);
            h.rank = st.real(5);
            out.push_back(std::move(h));
        }
    } catch (const Error& e) {
        if (syntax == SearchSyntax::Fts5) {
            throw Error("search: \"" + std::string(query) + "\" is not a valid FTS5 query (" +
                        e.what() + ")");
        }
        throw;
    }
    return out;
}

std::optional<ModelRecord> SessionReader::model(std::int64_t id) {
    auto st = db_.prepare(
        "SELECT id, path, model_type, content_hash, first_seen, last_used FROM models WHERE id = "
        "?1");
    st.bind(1, id);
    if (!st.step()) return std::nullopt;
    return read_model(st);
}

std::vector<ModelRecord> SessionReader::models() {
    auto st = db_.prepare(
        "SELECT id, path, model_type, content_hash, first_seen, last_used FROM models "
        "ORDER BY last_used DESC, id");
    std::vector<ModelRecord> out;
    while (st.step()) out.push_back(read_model(st));
    return out;
}

std::vector<Comparison> SessionReader::comparisons() {
    ReadTransaction tx(db_);
    auto st =
        db_.prepare("SELECT id, title, prompt, settings, created_at FROM comparisons ORDER BY id");
    std::vector<Comparison> out;
    while (st.step()) {
        Comparison c;
        c.id = st.int64(0);
        c.title = st.text(1);
        c.prompt = st.text(2);
        c.settings = parse_column(db_, st.text(3), "comparisons", c.id, "settings");
        c.created_at_ms = st.int64(4);
        out.push_back(std::move(c));
    }
    for (auto& c : out) {
        auto es = db_.prepare(
            "SELECT session_id, model_id FROM comparison_entries WHERE comparison_id = ?1 "
            "ORDER BY position");
        es.bind(1, c.id);
        while (es.step()) c.entries.push_back(ComparisonEntry{es.opt_int64(0), es.opt_int64(1)});
    }
    return out;
}

std::vector<BenchmarkRun> SessionReader::benchmark_runs() {
    auto st = db_.prepare(
        "SELECT id, model_id, kind, params, result, machine, created_at FROM benchmark_runs "
        "ORDER BY id");
    std::vector<BenchmarkRun> out;
    while (st.step()) {
        BenchmarkRun b;
        b.id = st.int64(0);
        b.model_id = st.opt_int64(1);
        b.kind = st.text(2);
        b.params = parse_column(db_, st.text(3), "benchmark_runs", b.id, "params");
        b.result = parse_column(db_, st.text(4), "benchmark_runs", b.id, "result");
        b.machine = parse_column(db_, st.text(5), "benchmark_runs", b.id, "machine");
        b.created_at_ms = st.int64(6);
        out.push_back(std::move(b));
    }
    return out;
}

std::vector<std::uint8_t> SessionReader::read_blob(std::string_view hash) {
    return blobs_.read(hash);
}

SessionDocument SessionReader::export_document(std::int64_t session_id) {
    ReadTransaction tx(db_);
    auto loaded = session(session_id);
    if (!loaded) {
        throw Error("session " + std::to_string(session_id) + " not found in " +
                    db_.path().string());
    }
    SessionDocument doc;
    Session& s = doc.session;
    s = std::move(*loaded);

    // Models by first appearance: the session's, then its messages', then its runs'.
    std::unordered_map<std::int64_t, std::int64_t> model_index;
    auto map_model = [&](std::optional<std::int64_t>& id) {
        if (!id) return;
        auto it = model_index.find(*id);
        if (it == model_index.end()) {
            auto rec = model(*id);
            if (!rec) throw Error("session database: model " + std::to_string(*id) + " is missing");
            it = model_index.emplace(*id, static_cast<std::int64_t>(doc.models.size())).first;
            doc.models.push_back(rec->info);
        }
        id = it->second;
    };
    std::unordered_map<std::int64_t, std::int64_t> message_key;
    for (std::size_t i = 0; i < s.messages.size(); ++i) {
        message_key[s.messages[i].id] = static_cast<std::int64_t>(i) + 1;
    }
    auto map_message = [&](std::optional<std::int64_t>& id) {
        if (id) id = message_key.at(*id);
    };
    auto take_blobs = [&](const std::vector<BlobRef>& refs) {
        for (const auto& b : refs) {
            if (!doc.blobs.count(b.hash)) doc.blobs[b.hash] = read_blob(b.hash);
        }
    };

    s.id = 0;
    map_model(s.model_id);
    map_message(s.head_message_id);
    for (auto& m : s.messages) {
        m.id = message_key.at(m.id);
        m.session_id = 0;
        map_message(m.parent_id);
        map_model(m.model_id);
        take_blobs(m.blobs);
    }
    for (std::size_t i = 0; i < s.analysis_runs.size(); ++i) {
        auto& r = s.analysis_runs[i];
        r.id = static_cast<std::int64_t>(i) + 1;
        r.session_id.reset();
        map_message(r.message_id);
        map_model(r.model_id);
        take_blobs(r.blobs);
    }
    return doc;
}

std::string SessionReader::integrity_check() {
    std::string problems;
    {
        auto st = db_.prepare("PRAGMA integrity_check");
        while (st.step()) {
            const std::string line = st.text(0);
            if (line != "ok") problems += (problems.empty() ? "" : "; ") + line;
        }
    }
    {
        auto st = db_.prepare("PRAGMA foreign_key_check");
        while (st.step()) {
            problems += (problems.empty() ? "" : "; ") + std::string("foreign key: ") + st.text(0) +
                        " row " + std::to_string(st.int64(1)) + " -> " + st.text(2);
        }
    }
    // FTS5's check is an INSERT command that only reads; query_only would refuse it.
    db_.exec("PRAGMA query_only = OFF");
    try {
        db_.exec("INSERT INTO message_fts (message_fts) VALUES ('integrity-check')");
    } catch (const Error& e) {
        problems += (problems.empty() ? "" : "; ") + std::string("full-text index: ") + e.what();
    }
    db_.exec("PRAGMA query_only = ON");
    return problems.empty() ? "ok" : problems;
}

}  // namespace statescope
