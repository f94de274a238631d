// What the session store holds, as plain values: what readers return, what export/import carry.
// Times are Unix milliseconds (UTC); ids are the database's rowids.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace statescope {

enum class Role { System, User, Assistant, Tool };
// Generating: tokens are still arriving. Interrupted: the process died while generating (set when
// the database is next opened). Cancelled: the user stopped it. Failed: the engine threw.
enum class MessageStatus { Complete, Generating, Interrupted, Cancelled, Failed };

std::string_view to_string(Role role);
std::string_view to_string(MessageStatus status);
std::optional<Role> role_from_string(std::string_view s);
std::optional<MessageStatus> status_from_string(std::string_view s);

// A model folder as the store identifies it: the same path with other weights is another model.
struct ModelInfo {
    std::string path;
    std::string model_type;    // config.json model_type ("mamba", "mamba2", ...)
    std::string content_hash;  // sha256 of config.json + weight index (model_fingerprint())
};

struct ModelRecord {
    std::int64_t id = 0;
    ModelInfo info;
    std::int64_t first_seen_ms = 0;
    std::int64_t last_used_ms = 0;
};

// How an assistant message was produced. sampler holds the sampler's own names (temperature,
// top_k, top_p, min_p, repetition_penalty, max_new_tokens, greedy...), so new knobs need no schema.
struct GenerationParams {
    nlohmann::json sampler = nlohmann::json::object();
    std::optional<std::int64_t> seed;
    std::string backend;  // "cpu", "cuda"
    std::string dtype;    // "float32", "bfloat16"
    std::string device;   // "Intel Xeon ...", "NVIDIA H200": what produced the tok/s below
    bool operator==(const GenerationParams&) const = default;
};

// What it cost. Absent values stay absent (never 0), so "not measured" differs from "zero".
struct GenerationStats {
    std::optional<std::int64_t> prompt_tokens;
    std::optional<std::int64_t> generated_tokens;
    std::optional<double> ttft_s;  // request to first generated token, prefill included
    std::optional<double> prefill_s;
    std::optional<double> decode_s;
    std::optional<double> prefill_tok_s;  // prompt tokens / prefill_s
    std::optional<double> decode_tok_s;   // generated tokens / decode_s
    std::optional<std::int64_t> peak_memory_bytes;
    std::optional<std::int64_t> state_bytes;  // recurrent state size of the sequence
    std::string stop_reason;                  // "eos", "max_new_tokens", "cancelled", ...
    bool operator==(const GenerationStats&) const = default;
};

struct Generation {
    GenerationParams params;
    GenerationStats stats;
    bool operator==(const Generation&) const = default;
};

// A named reference to a content-addressed blob file (a state snapshot, an activation capture).
struct BlobRef {
    std::string name;
    std::string hash;  // sha256 hex of the bytes; the file name
    std::int64_t size = 0;
    bool operator==(const BlobRef&) const = default;
};

// Bytes to store, under a name that means something to the owner ("ssm_state", "capture").
struct BlobData {
    std::string name;
    std::vector<std::uint8_t> bytes;
};

struct Message {
    std::int64_t id = 0;
    std::int64_t session_id = 0;
    std::optional<std::int64_t> parent_id;  // none: a root (the first turn, or an edit of it)
    Role role = Role::User;
    std::string text;
    MessageStatus status = MessageStatus::Complete;
    std::int64_t created_at_ms = 0;
    std::optional<std::int64_t> model_id;
    std::optional<Generation> generation;  // assistant messages the engine produced
    std::vector<BlobRef> blobs;            // sorted by name
};

struct AnalysisRun {
    std::int64_t id = 0;
    std::optional<std::int64_t> session_id;
    std::optional<std::int64_t> message_id;
    std::optional<std::int64_t> model_id;
    std::string kind;  // "logit_lens", "state_norms", "patching", ...
    nlohmann::json params = nlohmann::json::object();
    nlohmann::json result = nlohmann::json::object();
    std::int64_t created_at_ms = 0;
    std::vector<BlobRef> blobs;  // sorted by name
};

struct Session {
    std::int64_t id = 0;
    std::string title;
    std::int64_t created_at_ms = 0;
    std::int64_t updated_at_ms = 0;
    std::optional<std::int64_t> model_id;
    std::optional<std::int64_t>
        head_message_id;  // the leaf on screen: its path is the visible branch
    nlohmann::json metadata = nlohmann::json::object();
    std::vector<Message> messages;           // by id, so a parent always comes before its children
    std::vector<AnalysisRun> analysis_runs;  // by id
};

struct SessionSummary {
    std::int64_t id = 0;
    std::string title;
    std::int64_t created_at_ms = 0;
    std::int64_t updated_at_ms = 0;
    std::int64_t message_count = 0;
    std::optional<std::int64_t> model_id;
    std::string model_path;
};

struct ComparisonEntry {
    std::optional<std::int64_t> session_id;
    std::optional<std::int64_t> model_id;
};

// The same prompt run through several models or settings, one session per pane.
struct Comparison {
    std::int64_t id = 0;
    std::string title;
    std::string prompt;
    nlohmann::json settings = nlohmann::json::object();
    std::int64_t created_at_ms = 0;
    std::vector<ComparisonEntry> entries;  // in pane order
};

struct BenchmarkRun {
    std::int64_t id = 0;
    std::optional<std::int64_t> model_id;
    std::string kind;  // "decode", "prefill", ...
    nlohmann::json params = nlohmann::json::object();
    nlohmann::json result = nlohmann::json::object();
    nlohmann::json machine = nlohmann::json::object();  // CPU/GPU, driver, commit
    std::int64_t created_at_ms = 0;
};

struct SearchHit {
    std::int64_t message_id = 0;
    std::int64_t session_id = 0;
    std::string session_title;
    Role role = Role::User;
    std::string snippet;  // matched terms between [ and ]
    double rank = 0;      // bm25: lower is better
};

// The path root -> head_message_id (or, without a head, to the newest message), oldest first.
std::vector<const Message*> visible_branch(const Session& session);

}  // namespace statescope
