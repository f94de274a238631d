#include "core/runtime/generate.h"

#include <algorithm>
#include <chrono>

#include "core/error.h"

namespace statescope {

std::int32_t argmax(std::span<const float> logits) {
    std::size_t best = 0;
    for (std::size_t i = 1; i < logits.size(); ++i)
        if (logits[i] > logits[best]) best = i;
    return static_cast<std::int32_t>(best);
}

GenerateStats generate_greedy(Model& model, Sequence& seq, std::span<const std::int32_t> prompt,
                              const GenerateOptions& options, const TokenFn& on_token,
                              std::vector<std::int32_t>* out_ids) {
    using Clock = std::chrono::steady_clock;
    GenerateStats stats;
    if (prompt.empty() && seq.position() == 0) throw Error("cannot generate: the prompt is empty");
    stats.prompt_tokens = static_cast<std::int64_t>(prompt.size());
    std::vector<float> logits;
    const auto t0 = Clock::now();
    if (!prompt.empty() && !model.prefill(seq, prompt, options.prefill_chunk, options.prefill_progress, &logits)) {
        stats.cancelled = true;
        return stats;
    }
    if (logits.empty()) throw Error("cannot generate: no prompt and no logits from an earlier step");
    const auto t1 = Clock::now();
    stats.prefill_seconds = std::chrono::duration<double>(t1 - t0).count();
    auto t_last = t1;
    for (std::int64_t k = 0; k < options.max_new_tokens; ++k) {
        const std::int32_t next = argmax(logits);
        ++stats.generated_tokens;
        if (out_ids) out_ids->push_back(next);
        if (k == 0) stats.time_to_first_token = std::chrono::duration<double>(Clock::now() - t0).count();
        const bool keep_going = !on_token || on_token(next);
        if (std::find(options.stop_ids.begin(), options.stop_ids.end(), next) != options.stop_ids.end()) {
            stats.stopped_by_eos = true;
            break;
        }
        if (!keep_going) {
            stats.cancelled = true;
            break;
        }
        if (k + 1 == options.max_new_tokens) break;  // the last token needs no forward pass
        const std::int32_t ids[1] = {next};
        model.forward(seq, ids, LogitRows::Last, &logits);
        t_last = Clock::now();
    }
    stats.decode_seconds = std::chrono::duration<double>(t_last - t1).count();
    return stats;
}

}  // namespace statescope
