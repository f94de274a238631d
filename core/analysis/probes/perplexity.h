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

class LongMambaFilter;

struct PerplexityOptions {
    std::int64_t chunk = 512;  // tokens per forward call (memory: chunk x V logits)
    // LongMamba token filtering, set to the text's (or the window's) length. The filter keeps a
    // token by its own delta alone, so reading in chunks filters as one pass would.
    LongMambaFilter* longmamba = nullptr;
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

// LongMamba's long-context perplexity (my_evaluation.py::special_input_ppl, A §5.5): for each
// window length W, up to `max_windows` windows starting at 0, stride, 2 stride, ... with stride =
// max((T - W) / max_windows, 10), each read from a fresh state; the loss is the mean NLL of the
// window's last `pred_len` tokens.
struct WindowedOptions {
    std::vector<std::int64_t> windows;  // W, tokens
    std::int64_t pred_len = 100;
    std::int64_t max_windows = 10;
};
struct WindowLoss {
    std::int64_t window = 0;
    std::vector<std::int64_t> starts;  // token offset of each window read
    std::vector<double> mean_nll;      // per window, over its last pred_len tokens
    double nll = 0;                    // mean over the windows
    double perplexity = 0;             // exp(nll)
};
struct WindowedLoss {
    std::vector<WindowLoss> windows;  // lengths longer than the text are left out
    double average_perplexity = 0;    // mean of the per-length perplexities
    bool cancelled = false;
};
// Progress counts windows. Error when pred_len < 1 or a window is not longer than pred_len.
WindowedLoss windowed_loss(Model& model, std::span<const std::int32_t> ids,
                           const WindowedOptions& windows, const PerplexityOptions& options,
                           const ProgressFn& progress = {},
                           const std::atomic<bool>* cancel = nullptr);

// -ln softmax(logits)[target] in fp64 (the max subtracted first).
double token_nll(std::span<const float> logits, std::int32_t target);

}  // namespace statescope
