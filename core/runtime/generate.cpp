#include "core/runtime/generate.h"

#include <algorithm>
#include <chrono>
#include <optional>

#include "core/error.h"
#include "core/runtime/text_stream.h"

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

namespace {

using Clock = std::chrono::steady_clock;

// The decode loop after the prompt's logits: sample, stream, stop. `t0` is when the request began
// (for the time to first token), `t1` when the prompt's logits were ready.
void decode_loop(Model& model, Sequence& seq, std::span<const std::int32_t> prompt,
                 std::vector<float> logits, const GenerateOptions& options, const TokenFn& on_token,
                 std::vector<std::int32_t>* out_ids, Clock::time_point t0, Clock::time_point t1,
                 GenerateStats& stats) {
    if (!options.stop_strings.empty() && !options.detokenize)
        throw Error("cannot generate: stop strings need a tokenizer to decode the reply");
    if (options.on_text && !options.detokenize)
        throw Error("cannot generate: streaming text needs a tokenizer to decode the reply");
    Sampler sampler(options.sampler);
    std::vector<std::int32_t> history(prompt.begin(), prompt.end());  // for the penalties
    std::optional<IncrementalDetokenizer> detok;
    if (options.detokenize) detok.emplace(options.detokenize);
    StopStringMatcher stops(options.stop_strings);
    auto emit = [&](const std::string& piece) {
        if (piece.empty()) return;
        stats.text += piece;
        if (options.on_text) options.on_text(piece);
    };
    auto t_last = t1;
    // On a device backend the backend draws each step's token (the rule of kernels/sampling.h, with
    // the host sampler's penalties and u: the same tokens as the host path) and one id comes back
    // instead of the [V] row. The CPU path keeps the host sampler on its logits.
    const bool on_device = model.backend().name() != "cpu";
    const std::int64_t V = model.spec().vocab_size;
    std::int32_t picked = -1;  // the token the backend picked from the last step, if it did
    for (std::int64_t k = 0; k < options.max_new_tokens; ++k) {
        const std::int32_t next = picked >= 0 ? picked : sampler.sample(logits, history);
        history.push_back(next);
        ++stats.generated_tokens;
        if (out_ids) out_ids->push_back(next);
        if (k == 0)
            stats.time_to_first_token = std::chrono::duration<double>(Clock::now() - t0).count();
        const bool keep_going = !on_token || on_token(next);
        if (detok) {
            emit(stops.push(detok->push(next)));
            if (stops.matched()) {
                stats.stop = StopReason::StopString;
                break;
            }
        }
        if (std::find(options.stop_ids.begin(), options.stop_ids.end(), next) !=
            options.stop_ids.end()) {
            stats.stop = StopReason::Eos;
            break;
        }
        if (!keep_going) {
            stats.stop = StopReason::Cancelled;
            break;
        }
        if (k + 1 == options.max_new_tokens) break;  // the last token needs no forward pass
        const std::int32_t ids[1] = {next};
        if (on_device) {
            const Sampler::Step step = sampler.next(history, V);
            picked = model.forward_sample(seq, ids, sampler.params(), step.penalties(), step.u);
        } else {
            model.forward(seq, ids, LogitRows::Last, &logits);
        }
        t_last = Clock::now();
    }
    stats.decode_seconds = std::chrono::duration<double>(t_last - t1).count();
    if (detok && !stops.matched()) {
        // The end of the reply: an incomplete character decodes as a full decode would, and a
        // held-back tail that never became a stop string is text after all.
        emit(stops.push(detok->flush()));
        if (!stops.matched())
            emit(stops.flush());
        else
            stats.stop = StopReason::StopString;
    }
}

}  // namespace

GenerateStats generate(Model& model, Sequence& seq, std::span<const std::int32_t> prompt,
                       const GenerateOptions& options, const TokenFn& on_token,
                       std::vector<std::int32_t>* out_ids) {
    if (prompt.empty()) throw Error("cannot generate: the prompt is empty");
    GenerateStats stats;
    stats.prompt_tokens = static_cast<std::int64_t>(prompt.size());
    std::vector<float> logits;
    const auto t0 = Clock::now();
    if (!model.prefill(seq, prompt, options.prefill_chunk, options.prefill_progress, &logits)) {
        stats.stop = StopReason::Cancelled;
        return stats;
    }
    const auto t1 = Clock::now();
    stats.prefill_seconds = std::chrono::duration<double>(t1 - t0).count();
    decode_loop(model, seq, prompt, std::move(logits), options, on_token, out_ids, t0, t1, stats);
    return stats;
}

GenerateStats generate_from_logits(Model& model, Sequence& seq,
                                   std::span<const std::int32_t> prompt, std::vector<float> logits,
                                   const GenerateOptions& options, const TokenFn& on_token,
                                   std::vector<std::int32_t>* out_ids) {
    if (logits.empty()) throw Error("cannot generate: no logits for the prompt's last token");
    GenerateStats stats;
    stats.prompt_tokens = static_cast<std::int64_t>(prompt.size());
    const auto t0 = Clock::now();
    decode_loop(model, seq, prompt, std::move(logits), options, on_token, out_ids, t0, t0, stats);
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
