#include "core/store/session_json.h"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

#include "core/error.h"
#include "core/store/base64.h"
#include "core/store/sha256.h"

namespace statescope {
namespace {

using nlohmann::json;
// Written in a fixed, readable order (format first, blob bytes last); read back as plain json.
using ojson = nlohmann::ordered_json;

constexpr const char* kFormat = "statescope-session";

ojson opt(const std::optional<std::int64_t>& v) {
    return v ? ojson(*v) : ojson(nullptr);
}
ojson opt(const std::optional<double>& v) {
    return v ? ojson(*v) : ojson(nullptr);
}

ojson blobs_to_json(const std::vector<BlobRef>& blobs) {
    ojson a = ojson::array();
    for (const auto& b : blobs) a.push_back({{"name", b.name}, {"hash", b.hash}, {"size", b.size}});
    return a;
}

ojson generation_to_json(const Generation& g) {
    const auto& p = g.params;
    const auto& s = g.stats;
    return {{"sampler", p.sampler},
            {"seed", opt(p.seed)},
            {"backend", p.backend},
            {"dtype", p.dtype},
            {"device", p.device},
            {"prompt_tokens", opt(s.prompt_tokens)},
            {"generated_tokens", opt(s.generated_tokens)},
            {"ttft_s", opt(s.ttft_s)},
            {"prefill_s", opt(s.prefill_s)},
            {"decode_s", opt(s.decode_s)},
            {"prefill_tok_s", opt(s.prefill_tok_s)},
            {"decode_tok_s", opt(s.decode_tok_s)},
            {"peak_memory_bytes", opt(s.peak_memory_bytes)},
            {"state_bytes", opt(s.state_bytes)},
            {"stop_reason", s.stop_reason}};
}

// One JSON object being read: every access names its path in errors, and done() refuses keys
// nobody asked for (a newer format's field would otherwise be dropped silently).
class Reader {
  public:
    Reader(const json& j, std::string path, const std::string& source)
        : j_(j), path_(std::move(path)), source_(source) {
        if (!j_.is_object()) fail_here("must be an object");
    }

    [[noreturn]] void fail(const std::string& key, const std::string& msg) const {
        throw Error(source_ + ": " + child(key) + ": " + msg);
    }
    [[noreturn]] void fail_here(const std::string& msg) const {
        throw Error(source_ + ": " + (path_.empty() ? "the document" : path_) + ": " + msg);
    }
    std::string child(const std::string& key) const {
        return path_.empty() ? key : path_ + "." + key;
    }

    // Null when absent or null.
    const json* get(const std::string& key) {
        seen_.insert(key);
        auto it = j_.find(key);
        if (it == j_.end() || it->is_null()) return nullptr;
        return &*it;
    }
    const json& need(const std::string& key) {
        const json* v = get(key);
        if (!v) fail(key, "is missing");
        return *v;
    }
    std::string str(const std::string& key) {
        const json& v = need(key);
        if (!v.is_string()) fail(key, "must be a string");
        return v.get<std::string>();
    }
    std::int64_t integer(const std::string& key) {
        const json& v = need(key);
        if (!v.is_number_integer()) fail(key, "must be an integer");
        return v.get<std::int64_t>();
    }
    std::optional<std::int64_t> opt_integer(const std::string& key) {
        const json* v = get(key);
        if (!v) return std::nullopt;
        if (!v->is_number_integer()) fail(key, "must be an integer or null");
        return v->get<std::int64_t>();
    }
    std::optional<double> opt_number(const std::string& key) {
        const json* v = get(key);
        if (!v) return std::nullopt;
        if (!v->is_number()) fail(key, "must be a number or null");
        return v->get<double>();
    }
    // Any JSON value, null included (params and results are the caller's own JSON); `fallback`
    // when the key is absent.
    json any(const std::string& key, const json& fallback) {
        seen_.insert(key);
        auto it = j_.find(key);
        return it == j_.end() ? fallback : *it;
    }
    json object(const std::string& key) {
        const json* v = get(key);
        if (!v) return json::object();
        if (!v->is_object()) fail(key, "must be an object");
        return *v;
    }
    const json& array(const std::string& key) {
        static const json kEmpty = json::array();
        const json* v = get(key);
        if (!v) return kEmpty;
        if (!v->is_array()) fail(key, "must be an array");
        return *v;
    }
    void done() const {
        for (auto it = j_.begin(); it != j_.end(); ++it) {
            if (!seen_.count(it.key())) {
                fail(it.key(),
                     "is not a field of format version " + std::to_string(kSessionFormatVersion));
            }
        }
    }

  private:
    const json& j_;
    std::string path_;
    const std::string& source_;
    std::set<std::string> seen_;
};

std::string indexed(const std::string& path, std::size_t i) {
    return path + "[" + std::to_string(i) + "]";
}

struct Parser {
    const std::string& source;
    SessionDocument doc;
    std::set<std::string> referenced_blobs;
    std::map<std::string, std::int64_t> blob_sizes;  // from the refs, checked against the bytes

    std::optional<std::int64_t> model_index(Reader& r, const std::string& key) {
        auto v = r.opt_integer(key);
        if (v && (*v < 0 || *v >= static_cast<std::int64_t>(doc.models.size()))) {
            r.fail(key, "model " + std::to_string(*v) + " is not an index into models (" +
                            std::to_string(doc.models.size()) + " of them)");
        }
        return v;
    }

    std::vector<BlobRef> blobs(Reader& r, const std::string& path) {
        std::vector<BlobRef> out;
        std::set<std::string> names;
        const json& a = r.array("blobs");
        for (std::size_t i = 0; i < a.size(); ++i) {
            Reader b(a[i], indexed(path + ".blobs", i), source);
            BlobRef ref{b.str("name"), b.str("hash"), b.integer("size")};
            b.done();
            if (ref.name.empty()) b.fail("name", "must not be empty");
            if (!names.insert(ref.name).second)
                b.fail("name", "\"" + ref.name + "\" appears twice");
            if (!is_sha256_hex(ref.hash))
                b.fail("hash", "must be 64 lowercase hex digits (SHA-256)");
            if (ref.size < 0) b.fail("size", "must not be negative");
            auto [it, fresh] = blob_sizes.emplace(ref.hash, ref.size);
            if (!fresh && it->second != ref.size) b.fail("size", "differs from another reference");
            referenced_blobs.insert(ref.hash);
            out.push_back(std::move(ref));
        }
        std::sort(out.begin(), out.end(),
                  [](const BlobRef& x, const BlobRef& y) { return x.name < y.name; });
        return out;
    }

    Generation generation(const json& j, const std::string& path) {
        Reader r(j, path, source);
        Generation g;
        g.params.sampler = r.any("sampler", json::object());
        g.params.seed = r.opt_integer("seed");
        g.params.backend = r.get("backend") ? r.str("backend") : "";
        g.params.dtype = r.get("dtype") ? r.str("dtype") : "";
        g.params.device = r.get("device") ? r.str("device") : "";
        g.stats.prompt_tokens = r.opt_integer("prompt_tokens");
        g.stats.generated_tokens = r.opt_integer("generated_tokens");
        g.stats.ttft_s = r.opt_number("ttft_s");
        g.stats.prefill_s = r.opt_number("prefill_s");
        g.stats.decode_s = r.opt_number("decode_s");
        g.stats.prefill_tok_s = r.opt_number("prefill_tok_s");
        g.stats.decode_tok_s = r.opt_number("decode_tok_s");
        g.stats.peak_memory_bytes = r.opt_integer("peak_memory_bytes");
        g.stats.state_bytes = r.opt_integer("state_bytes");
        g.stats.stop_reason = r.get("stop_reason") ? r.str("stop_reason") : "";
        r.done();
        return g;
    }

    void parse(const json& j) {
        Reader top(j, "", source);
        const json& format = top.need("format");
        if (format != kFormat) top.fail("format", std::string("must be \"") + kFormat + "\"");
        const auto version = top.integer("version");
        if (version > kSessionFormatVersion) {
            top.fail("version", "is " + std::to_string(version) +
                                    ", written by a newer Statescope (this build reads up to " +
                                    std::to_string(kSessionFormatVersion) + ")");
        }
        if (version < 1) top.fail("version", "must be 1");

        const json& models = top.array("models");
        for (std::size_t i = 0; i < models.size(); ++i) {
            Reader m(models[i], indexed("models", i), source);
            doc.models.push_back(
                ModelInfo{m.str("path"), m.str("model_type"), m.str("content_hash")});
            m.done();
        }

        Session& s = doc.session;
        std::unordered_map<std::int64_t, std::size_t> position;  // message key -> index
        const json& messages = top.array("messages");
        for (std::size_t i = 0; i < messages.size(); ++i) {
            const std::string path = indexed("messages", i);
            Reader r(messages[i], path, source);
            Message m;
            m.id = r.integer("id");
            if (m.id <= 0) r.fail("id", "must be positive");
            if (position.count(m.id)) r.fail("id", std::to_string(m.id) + " appears twice");
            m.parent_id = r.opt_integer("parent");
            // Parents before children: the tree cannot have a cycle and inserts in one pass.
            if (m.parent_id && !position.count(*m.parent_id)) {
                r.fail("parent",
                       std::to_string(*m.parent_id) + " is not the id of an earlier message");
            }
            const auto role = role_from_string(r.str("role"));
            if (!role) r.fail("role", "must be system, user, assistant or tool");
            m.role = *role;
            const auto status = status_from_string(r.str("status"));
            if (!status)
                r.fail("status", "must be complete, generating, interrupted, cancelled or failed");
            m.status = *status;
            m.text = r.str("text");
            m.created_at_ms = r.integer("created_at");
            m.model_id = model_index(r, "model");
            if (const json* g = r.get("generation"))
                m.generation = generation(*g, path + ".generation");
            m.blobs = blobs(r, path);
            r.done();
            position[m.id] = i;
            s.messages.push_back(std::move(m));
        }

        const json& runs = top.array("analysis_runs");
        for (std::size_t i = 0; i < runs.size(); ++i) {
            const std::string path = indexed("analysis_runs", i);
            Reader r(runs[i], path, source);
            AnalysisRun a;
            a.id = static_cast<std::int64_t>(i) + 1;
            a.message_id = r.opt_integer("message");
            if (a.message_id && !position.count(*a.message_id)) {
                r.fail("message", std::to_string(*a.message_id) + " is not a message id");
            }
            a.model_id = model_index(r, "model");
            a.kind = r.str("kind");
            if (a.kind.empty()) r.fail("kind", "must not be empty");
            a.params = r.any("params", json::object());
            a.result = r.any("result", json::object());
            a.created_at_ms = r.integer("created_at");
            a.blobs = blobs(r, path);
            r.done();
            s.analysis_runs.push_back(std::move(a));
        }

        Reader sr(top.need("session"), "session", source);
        s.title = sr.str("title");
        s.created_at_ms = sr.integer("created_at");
        s.updated_at_ms = sr.integer("updated_at");
        s.model_id = model_index(sr, "model");
        s.head_message_id = sr.opt_integer("head");
        if (s.head_message_id && !position.count(*s.head_message_id)) {
            sr.fail("head", std::to_string(*s.head_message_id) + " is not a message id");
        }
        s.metadata = sr.any("metadata", json::object());
        sr.done();

        const json bj = top.object("blobs");
        Reader blobs_obj(bj, "blobs", source);
        for (auto it = bj.begin(); it != bj.end(); ++it) {
            const std::string& hash = it.key();
            blobs_obj.get(hash);
            if (!is_sha256_hex(hash)) blobs_obj.fail(hash, "is not a SHA-256 hex name");
            if (!referenced_blobs.count(hash))
                blobs_obj.fail(hash, "is not referenced by anything");
            if (!it->is_string()) blobs_obj.fail(hash, "must be a base64 string");
            auto bytes = base64_decode(it->get<std::string>());
            if (!bytes) blobs_obj.fail(hash, "is not valid base64");
            if (sha256_hex(bytes->data(), bytes->size()) != hash) {
                blobs_obj.fail(hash, "bytes do not match their SHA-256 name");
            }
            if (static_cast<std::int64_t>(bytes->size()) != blob_sizes.at(hash)) {
                blobs_obj.fail(hash, "has " + std::to_string(bytes->size()) +
                                         " bytes but is referenced with size " +
                                         std::to_string(blob_sizes.at(hash)));
            }
            doc.blobs.emplace(hash, std::move(*bytes));
        }
        for (const auto& hash : referenced_blobs) {
            if (!doc.blobs.count(hash)) {
                top.fail("blobs", "has no bytes for referenced blob " + hash);
            }
        }
        top.done();
    }
};

}  // namespace

ojson to_json(const SessionDocument& doc) {
    const Session& s = doc.session;
    ojson models = ojson::array();
    for (const auto& m : doc.models) {
        models.push_back(
            {{"path", m.path}, {"model_type", m.model_type}, {"content_hash", m.content_hash}});
    }
    ojson messages = ojson::array();
    for (const auto& m : s.messages) {
        ojson jm = {
            {"id", m.id},
            {"parent", opt(m.parent_id)},
            {"role", to_string(m.role)},
            {"status", to_string(m.status)},
            {"created_at", m.created_at_ms},
            {"model", opt(m.model_id)},
            {"text", m.text},
            {"generation", m.generation ? generation_to_json(*m.generation) : ojson(nullptr)},
            {"blobs", blobs_to_json(m.blobs)}};
        messages.push_back(std::move(jm));
    }
    ojson runs = ojson::array();
    for (const auto& r : s.analysis_runs) {
        runs.push_back({{"message", opt(r.message_id)},
                        {"model", opt(r.model_id)},
                        {"kind", r.kind},
                        {"params", r.params},
                        {"result", r.result},
                        {"created_at", r.created_at_ms},
                        {"blobs", blobs_to_json(r.blobs)}});
    }
    ojson blobs = ojson::object();
    for (const auto& [hash, bytes] : doc.blobs) blobs[hash] = base64_encode(bytes);
    return {{"format", kFormat},
            {"version", kSessionFormatVersion},
            {"session",
             {{"title", s.title},
              {"created_at", s.created_at_ms},
              {"updated_at", s.updated_at_ms},
              {"model", opt(s.model_id)},
              {"head", opt(s.head_message_id)},
              {"metadata", s.metadata}}},
            {"models", models},
            {"messages", messages},
            {"analysis_runs", runs},
            {"blobs", blobs}};
}

SessionDocument document_from_json(const json& j, const std::string& source) {
    Parser p{source, {}, {}, {}};
    p.parse(j);
    return std::move(p.doc);
}

SessionDocument document_from_text(const std::string& text, const std::string& source) {
    json j;
    try {
        j = json::parse(text);
    } catch (const json::parse_error& e) {
        throw Error(source + ": not JSON (" + e.what() + ")");
    }
    return document_from_json(j, source);
}

}  // namespace statescope
