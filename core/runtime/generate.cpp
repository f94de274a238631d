#include "core/runtime/generate.h"

#include <algorithm>
#include <chrono>

#include "core/error.h"

namespace statescope {

const char* stop_reason_name(StopReason r) {
    switch (r) {
        case StopReason::MaxTokens:
            return "max_tokens";
        case StopReason::Eos:
            return "eos";
        case StopReason::StopString:
            return "stop_string";
        case StopReason::Cancelled:
            return "cancelled";
    }
    return "?";
}

std::int32_t argmax(std::span<const float> logits) {
    std::size_t best = 0;
    for (std::size_t i = 1; i < logits.size(); ++i)
        if (logits[i] > logits[best]) best = i;
    return static_cast<std::int32_t>(best);
}

GenerateStats generate(Model& model, Sequence& seq, std::span<const std::int32_t> prompt,
                       const GenerateOptions& options, const TokenFn& on_token,
                       std::vector<std::int32_t>* out_ids) {
    using Clock = std::chrono::steady_clock;
    if (prompt.empty()) throw Error("cannot generate: the prompt is empty");
    if (!options.stop_strings.empty() && !options.detokenize)
        throw Error("cannot generate: stop strings need a tokenizer to decode the reply");
    GenerateStats stats;
    stats.prompt_tokens = static_cast<std::int64_t>(prompt.size());
    Sampler sampler(options.sampler);
    std::vector<std::int32_t> history(prompt.begin(), prompt.end());  // for the penalties
    std::vector<std::int32_t> generated;
    std::vector<float> logits;
    const auto t0 = Clock::now();
    if (!model.prefill(seq, prompt, options.prefill_chunk, options.prefill_progress, &logits)) {
        stats.stop = StopReason::Cancelled;
        return stats;
    }
    const auto t1 = Clock::now();
    stats.prefill_seconds = std::chrono::duration<double>(t1 - t0).count();
    auto t_last = t1;
    for (std::int64_t k = 0; k < options.max_new_tokens; ++k) {
        const std::int32_t next = sampler.sample(logits, history);
        history.push_back(next);
        generated.push_back(next);
        ++stats.generated_tokens;
        if (out_ids) out_ids->push_back(next);
        if (k == 0)
            stats.time_to_first_token = std::chrono::duration<double>(Clock::now() - t0).count();
        const bool keep_going = !on_token || on_token(next);
        if (std::find(options.stop_ids.begin(), options.stop_ids.end(), next) !=
            options.stop_ids.end()) {
            stats.stop = StopReason::Eos;
            break;
        }
        if (!options.stop_strings.empty()) {
            // Decode the whole reply: a stop string may straddle tokens, and a token may end
            // mid-character.
            const std::string text = options.detokenize(generated);
            bool hit = false;
            for (const auto& s : options.stop_strings)
                if (!s.empty() && text.find(s) != std::string::npos) hit = true;
            if (hit) {
                stats.stop = StopReason::StopString;
                break;
            }
        }
        if (!keep_going) {
            stats.stop = StopReason::Cancelled;
            break;
        }
        if (k + 1 == options.max_new_tokens) break;  // the last token needs no forward pass
        const std::int32_t ids[1] = {next};
        model.forward(seq, ids, LogitRows::Last, &logits);
        t_last = Clock::now();
    }
    stats.decode_seconds = std::chrono::duration<double>(t_last - t1).count();
    if (options.detokenize) {
        stats.text = options.detokenize(generated);
        if (stats.stop == StopReason::StopString) {
            std::size_t cut = stats.text.size();
            for (const auto& s : options.stop_strings)
                if (!s.empty()) cut = std::min(cut, stats.text.find(s));
            stats.text.resize(cut);
        }
    }
    return stats;
}

GenerateStats generate_greedy(Model& model, Sequence& seq, std::span<const std::int32_t> prompt,
                              const GenerateOptions& options, const TokenFn& on_token,
                              std::vector<std::int32_t>* out_ids) {
    GenerateOptions greedy = options;
    greedy.sampler = SamplerSettings{};
    return generate(model, seq, prompt, greedy, on_token, out_ids);
}

}  // namespace statescope
