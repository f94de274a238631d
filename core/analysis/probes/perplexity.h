// Per-token loss over a text: the negative log-likelihood of every token given all the tokens
// before it, read in one pass through the model in chunks (the recurrent state and any KV cache
// carry over between chunks, so the loss at token t sees the whole text before t), with progress
// between chunks and a cancel flag. The per-token array is what the studio colours text with.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <vector>

#include "core/runtime/model.h"

namespace statescope {

struct PerplexityOptions {
    std::int64_t chunk = 512;  // tokens per forward call (memory: chunk x V logits)
};

struct TokenLoss {
    // nll[t-1] = -ln p(ids[t] | ids[0..t)) for t = 1..T-1 (the first token has no prediction),
    // log-softmax in fp64 over the fp32 logits.
    std::vector<double> nll;
    double mean_nll = 0;     // over nll
    double perplexity = 0;   // exp(mean_nll)
    bool cancelled = false;  // nll then covers the tokens read so far
};

// Error when ids has fewer than 2 tokens.
TokenLoss token_loss(Model& model, std::span<const std::int32_t> ids,
                     const PerplexityOptions& options, const ProgressFn& progress = {},
                     const std::atomic<bool>* cancel = nullptr);

// -ln softmax(logits)[target] in fp64 (the max subtracted first).
double token_nll(std::span<const float> logits, std::int32_t target);

}  // namespace statescope
