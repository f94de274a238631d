// Streaming generation: prefill in chunks (progress, cancel), then one token at a time through the
// recurrent state, handing each token to a callback that can stop between any two tokens.
// Greedy for now; the sampler comes with the chat work.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "core/runtime/model.h"
#include "core/runtime/sequence.h"

namespace statescope {

struct GenerateOptions {
    std::int64_t max_new_tokens = 64;
    std::vector<std::int64_t> stop_ids;  // eos ids: generation ends after emitting one (it is returned)
    std::int64_t prefill_chunk = 512;
    ProgressFn prefill_progress;
};

struct GenerateStats {
    std::int64_t prompt_tokens = 0;
    std::int64_t generated_tokens = 0;
    double prefill_seconds = 0;
    double decode_seconds = 0;
    double time_to_first_token = 0;
    bool stopped_by_eos = false;
    bool cancelled = false;
};

// Called with each new token id; return false to stop.
using TokenFn = std::function<bool(std::int32_t id)>;

// Index of the largest logit (the first one on ties, as torch.argmax).
std::int32_t argmax(std::span<const float> logits);

GenerateStats generate_greedy(Model& model, Sequence& seq, std::span<const std::int32_t> prompt,
                              const GenerateOptions& options, const TokenFn& on_token,
                              std::vector<std::int32_t>* out_ids);

}  // namespace statescope
