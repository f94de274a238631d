#include "core/analysis/probes/perplexity.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/runtime/sequence.h"

namespace statescope {

double token_nll(std::span<const float> logits, std::int32_t target) {
    if (target < 0 || std::size_t(target) >= logits.size())
        throw Error("perplexity: token id " + std::to_string(target) + " is outside the " +
                    std::to_string(logits.size()) + "-token vocabulary");
    double m = -INFINITY;
    for (float v : logits) m = std::max(m, double(v));
    double sum = 0;
    for (float v : logits) sum += std::exp(double(v) - m);
    return -(double(logits[std::size_t(target)]) - m - std::log(sum));
}

TokenLoss token_loss(Model& model, std::span<const std::int32_t> ids,
                     const PerplexityOptions& options, const ProgressFn& progress,
                     const std::atomic<bool>* cancel) {
    const auto T = static_cast<std::int64_t>(ids.size());
    if (T < 2)
        throw Error("perplexity: the text has " + std::to_string(T) +
                    " token(s); at least 2 are needed");
    if (options.chunk < 1) throw Error("perplexity: the chunk must be at least 1 token");
    const auto V = static_cast<std::size_t>(model.spec().vocab_size);
    TokenLoss out;
    out.nll.reserve(std::size_t(T - 1));
    Sequence seq(model);
    std::vector<float> logits;
    // Row r of a chunk starting at t0 predicts token t0 + r + 1; the last token predicts nothing,
    // so the final chunk stops at T - 1.
    for (std::int64_t t0 = 0; t0 < T - 1; t0 += options.chunk) {
        if (cancel && cancel->load()) {
            out.cancelled = true;
            break;
        }
        const std::int64_t n = std::min(options.chunk, T - 1 - t0);
        model.forward(seq, ids.subspan(std::size_t(t0), std::size_t(n)), LogitRows::All, &logits);
        for (std::int64_t r = 0; r < n; ++r)
            out.nll.push_back(token_nll(std::span(logits).subspan(std::size_t(r) * V, V),
                                        ids[std::size_t(t0 + r + 1)]));
        if (progress && !progress(t0 + n, T - 1)) {
            out.cancelled = t0 + n < T - 1;
            break;
        }
    }
    double sum = 0;
    for (double v : out.nll) sum += v;
    out.mean_nll = out.nll.empty() ? 0.0 : sum / double(out.nll.size());
    out.perplexity = std::exp(out.mean_nll);
    return out;
}

}  // namespace statescope
