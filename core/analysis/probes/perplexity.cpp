#include "core/analysis/probes/perplexity.h"

#include <algorithm>
#include <cmath>

#include "core/analysis/longmamba.h"
#include "core/error.h"
#include "core/runtime/sequence.h"

namespace statescope {

namespace {

// Registers the filter for one read of `tokens` tokens, also when the forward pass throws.
struct FilterScope {
    Model& model;
    LongMambaFilter* filter;
    FilterScope(Model& m, LongMambaFilter* f, std::int64_t tokens) : model(m), filter(f) {
        if (!filter) return;
        filter->check(model.spec());
        filter->begin_prompt(tokens);
        model.add_observer(filter);
    }
    ~FilterScope() {
        if (filter) model.remove_observer(filter);
    }
};

}  // namespace

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
    const FilterScope scope(model, options.longmamba, T);
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

WindowedLoss windowed_loss(Model& model, std::span<const std::int32_t> ids,
                           const WindowedOptions& w, const PerplexityOptions& options,
                           const ProgressFn& progress, const std::atomic<bool>* cancel) {
    if (w.pred_len < 1) throw Error("perplexity: the predicted length must be at least 1 token");
    if (w.max_windows < 1) throw Error("perplexity: at least one window per length is needed");
    if (options.chunk < 1) throw Error("perplexity: the chunk must be at least 1 token");
    const auto T = static_cast<std::int64_t>(ids.size());
    const auto V = static_cast<std::size_t>(model.spec().vocab_size);
    WindowedLoss out;
    struct Plan {
        std::int64_t W;
        std::vector<std::int64_t> starts;
    };
    std::vector<Plan> plans;
    std::int64_t total = 0;
    for (const std::int64_t W : w.windows) {
        if (W <= w.pred_len)
            throw Error("perplexity: window " + std::to_string(W) +
                        " must be longer than the predicted length " + std::to_string(w.pred_len));
        if (W > T) continue;
        Plan p{W, {}};
        const std::int64_t stride = std::max<std::int64_t>((T - W) / w.max_windows, 10);
        for (std::int64_t s = 0; s + W <= T && std::int64_t(p.starts.size()) < w.max_windows;
             s += stride)
            p.starts.push_back(s);
        total += static_cast<std::int64_t>(p.starts.size());
        plans.push_back(std::move(p));
    }
    std::int64_t done = 0;
    std::vector<float> logits;
    for (const Plan& p : plans) {
        WindowLoss wl;
        wl.window = p.W;
        for (const std::int64_t s0 : p.starts) {
            if ((cancel && cancel->load()) || out.cancelled) {
                out.cancelled = true;
                break;
            }
            const auto win = ids.subspan(std::size_t(s0), std::size_t(p.W));
            const FilterScope scope(model, options.longmamba, p.W);
            Sequence seq(model);
            // Tokens [0, W - pred_len - 1) only build the state; the last pred_len rows of
            // logits (positions W - pred_len - 1 .. W - 2) predict the scored tokens.
            const std::int64_t scored_from = p.W - w.pred_len - 1;
            for (std::int64_t t0 = 0; t0 < scored_from; t0 += options.chunk) {
                const std::int64_t n = std::min(options.chunk, scored_from - t0);
                model.forward(seq, win.subspan(std::size_t(t0), std::size_t(n)), LogitRows::None,
                              nullptr);
            }
            double sum = 0;
            for (std::int64_t t0 = scored_from; t0 < p.W - 1; t0 += options.chunk) {
                const std::int64_t n = std::min(options.chunk, p.W - 1 - t0);
                model.forward(seq, win.subspan(std::size_t(t0), std::size_t(n)), LogitRows::All,
                              &logits);
                for (std::int64_t r = 0; r < n; ++r)
                    sum += token_nll(std::span(logits).subspan(std::size_t(r) * V, V),
                                     win[std::size_t(t0 + r + 1)]);
            }
            wl.starts.push_back(s0);
            wl.mean_nll.push_back(sum / double(w.pred_len));
            ++done;
            if (progress && !progress(done, total)) out.cancelled = done < total;
        }
        if (!wl.starts.empty()) {
            double m = 0;
            for (double v : wl.mean_nll) m += v;
            wl.nll = m / double(wl.mean_nll.size());
            wl.perplexity = std::exp(wl.nll);
            out.windows.push_back(std::move(wl));
        }
        if (out.cancelled) break;
    }
    double avg = 0;
    for (const auto& wl : out.windows) avg += wl.perplexity;
    out.average_perplexity = out.windows.empty() ? 0.0 : avg / double(out.windows.size());
    return out;
}

}  // namespace statescope
