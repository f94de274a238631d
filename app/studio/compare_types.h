// What a comparison asks for and what it measures, as plain values: they travel between the
// UI thread and the compare worker by queued signals, and to and from the session store as JSON.
#pragma once

#include <QMetaType>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/runtime/sampler.h"

namespace statescope::studio {

struct CompareRequest {
    std::vector<std::string> model_dirs;  // 2-4 model folders, in pane order
    std::string prompt;                   // generated from by every model
    std::string text;  // scored token by token (per-token NLL); empty: the prompt
    std::int64_t max_new_tokens = 32;
    SamplerSettings sampler;  // default greedy; a seed makes sampling repeatable
    // Context lengths at which the sequence's memory is read (tokens of `text`, repeated).
    std::vector<std::int64_t> context_lengths = {16, 32, 64, 128, 256, 512, 1024};
    std::string backend = "cpu";
    // Run the models at the same time (each on its own thread) when their weights fit in memory
    // together; otherwise one after another, each unloaded before the next loads.
    bool together = false;
};

// Memory of one sequence after `context` tokens, read from the runtime's Sequence: allocated is
// every state buffer and the KV cache at its current capacity (Sequence::state_bytes(), what the
// backend holds); used counts only the KV rows of the positions so far (LayerState::kv_width).
struct MemoryPoint {
    std::int64_t context = 0;
    std::int64_t allocated_bytes = 0;
    std::int64_t used_bytes = 0;
};

// One token of the scored text: its piece of text and -log p(token | tokens before it) in nats
// (NaN for the first token, which nothing predicts).
struct TokenLoss {
    std::int32_t id = 0;
    std::string piece;
    double nll = std::numeric_limits<double>::quiet_NaN();
};

// Median (and 10th / 90th percentile) half-life in tokens of the units of each Mamba layer over
// the scored text: ln 2 / |A * mean delta| (core/analysis/decay.h). Empty for a Transformer.
struct DecayProfile {
    std::vector<std::int64_t> layers;
    std::vector<double> median_half_life, p10_half_life, p90_half_life;
};

struct ModelResult {
    std::string dir, name, model_type, layer_pattern, backend;
    std::string tokenizer;  // "tokenizer.json", or the fallback used and why
    std::string error;      // non-empty: this model failed; the rest are unset
    bool cancelled = false;
    std::string output;
    std::int64_t prompt_tokens = 0, generated_tokens = 0;
    double ttft_s = 0, prefill_s = 0, decode_s = 0, prefill_tok_s = 0, decode_tok_s = 0;
    std::int64_t weight_bytes = 0;
    std::int64_t state_bytes = 0;  // measured after the prompt and the reply
    // The runtime's own accounting, shown next to the measurement for reference.
    std::int64_t recurrent_state_bytes = 0, kv_bytes_per_token = 0;
    std::vector<MemoryPoint> memory;
    std::vector<TokenLoss> loss;
    double mean_nll = 0;  // over the tokens that have one
    DecayProfile decay;
};

struct CompareResult {
    CompareRequest request;
    std::vector<ModelResult> models;  // in request.model_dirs order
};

nlohmann::json to_json(const CompareRequest& r);
CompareRequest request_from_json(const nlohmann::json& j);
nlohmann::json to_json(const ModelResult& r);
ModelResult model_result_from_json(const nlohmann::json& j);
nlohmann::json to_json(const CompareResult& r);
// Throws statescope::Error naming the field when `j` is not a comparison.
CompareResult compare_result_from_json(const nlohmann::json& j);

}  // namespace statescope::studio

Q_DECLARE_METATYPE(statescope::studio::CompareRequest)
Q_DECLARE_METATYPE(statescope::studio::ModelResult)
Q_DECLARE_METATYPE(statescope::studio::CompareResult)
