// Streaming generation: prefill in chunks (progress, cancel), then one token at a time through the
// recurrent state, handing each token to a callback that can stop between any two tokens. Stops on
// any eos id and on stop strings (matched on the decoded text, across token boundaries). The reply
// text is decoded incrementally (core/runtime/text_stream.h): O(new text) per token.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/runtime/model.h"
#include "core/runtime/sampler.h"
#include "core/runtime/sequence.h"

namespace statescope {

struct GenerateOptions {
    std::int64_t max_new_tokens = 64;
    std::vector<std::int64_t>
        stop_ids;  // eos ids: generation ends after emitting one (it is returned)
    std::vector<std::string> stop_strings;
    // Decodes generated ids to text; needed for stop strings (and for GenerateStats::text).
    std::function<std::string(std::span<const std::int32_t>)> detokenize;
    // Streams the reply text as it becomes final: whole UTF-8 characters, never a stop string
    // nor the start of one that may still complete. Needs detokenize.
    std::function<void(std::string_view)> on_text;
    std::int64_t prefill_chunk = 512;
    ProgressFn prefill_progress;
    SamplerSettings sampler;  // default: greedy
};

enum class StopReason { MaxTokens, Eos, StopString, Cancelled };
const char* stop_reason_name(StopReason r);

struct GenerateStats {
    std::int64_t prompt_tokens = 0;
    std::int64_t generated_tokens = 0;
    double prefill_seconds = 0;
    double decode_seconds = 0;  // from the first token's logits to the last forward pass
    double time_to_first_token = 0;
    StopReason stop = StopReason::MaxTokens;
    std::string text;  // decoded reply, cut before a matched stop string (when detokenize is set)

    double prefill_tokens_per_s() const {
        return prefill_seconds > 0 ? prompt_tokens / prefill_seconds : 0.0;
    }
    double decode_tokens_per_s() const {
        return decode_seconds > 0 && generated_tokens > 1 ? (generated_tokens - 1) / decode_seconds
                                                          : 0.0;
    }
};

// Called with each new token id; return false to stop.
using TokenFn = std::function<bool(std::int32_t id)>;

// Index of the largest logit (the first one on ties, as torch.argmax).
std::int32_t argmax(std::span<const float> logits);

// The last generated token is returned but not run through the model (as transformers' generate);
// feed it before continuing the sequence.
GenerateStats generate(Model& model, Sequence& seq, std::span<const std::int32_t> prompt,
                       const GenerateOptions& options, const TokenFn& on_token,
                       std::vector<std::int32_t>* out_ids);

// generate() for a prompt already in `seq` (prefilled, e.g. from a restored snapshot plus a
// suffix), given the logits of its last token. `prompt` is the whole prompt: the penalties look at
// it and stats.prompt_tokens counts it; prefill time is not measured here.
GenerateStats generate_from_logits(Model& model, Sequence& seq,
                                   std::span<const std::int32_t> prompt, std::vector<float> logits,
                                   const GenerateOptions& options, const TokenFn& on_token,
                                   std::vector<std::int32_t>* out_ids);

// generate() with the greedy sampler, whatever options.sampler says.
GenerateStats generate_greedy(Model& model, Sequence& seq, std::span<const std::int32_t> prompt,
                              const GenerateOptions& options, const TokenFn& on_token,
                              std::vector<std::int32_t>* out_ids);

}  // namespace statescope
