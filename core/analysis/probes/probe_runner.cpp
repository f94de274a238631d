#include "core/analysis/probes/probe_runner.h"

#include <chrono>

#include "core/analysis/longmamba.h"
#include "core/analysis/probes/probe_rng.h"
#include "core/analysis/probes/scoring.h"
#include "core/error.h"
#include "core/runtime/generate.h"
#include "core/runtime/model.h"
#include "core/runtime/sequence.h"

namespace statescope {

const char* probe_kind_name(ProbeKind kind) {
    switch (kind) {
        case ProbeKind::Passkey:
            return "passkey";
        case ProbeKind::Needle:
            return "needle";
        case ProbeKind::PhoneBook:
            return "phonebook";
    }
    return "?";
}

std::optional<ProbeKind> probe_kind_from_name(std::string_view name) {
    for (auto k : {ProbeKind::Passkey, ProbeKind::Needle, ProbeKind::PhoneBook})
        if (name == probe_kind_name(k)) return k;
    return std::nullopt;
}

std::int64_t default_max_new_tokens(ProbeKind kind) {
    switch (kind) {
        case ProbeKind::Passkey:
            return 8;  // Stuffed Mamba generates 5; a tokenizer may split 5 digits into 5 tokens
        case ProbeKind::Needle:
            return 10;  // deci_niah
        case ProbeKind::PhoneBook:
            return 16;  // ten digits, however the tokenizer splits them
    }
    return 16;
}

bool probe_correct(ProbeKind kind, std::string_view reply, std::string_view expected) {
    switch (kind) {
        case ProbeKind::Passkey:
            return contains_match(reply, expected);
        case ProbeKind::Needle:
            return whole_word_match(reply, expected);
        case ProbeKind::PhoneBook:
            return first_line_match(reply, expected);
    }
    return false;
}

ProbePrompt build_probe_prompt(ProbeKind kind, const TextCodec& codec, const Haystack* haystack,
                               std::int64_t length, double depth, std::uint64_t sample_seed) {
    ProbeRng rng(sample_seed);
    switch (kind) {
        case ProbeKind::Passkey:
            return passkey_prompt(codec, length, depth, rng);
        case ProbeKind::Needle:
            if (!haystack) throw Error("needle: no background text (haystack) was given");
            return needle_prompt(codec, *haystack, length, depth, rng);
        case ProbeKind::PhoneBook:
            return phonebook_prompt(codec, length, depth, rng);
    }
    throw Error("unknown probe kind");
}

namespace {

using Clock = std::chrono::steady_clock;

// Registers an observer for the lifetime of the run, also when generation throws.
struct ObserverScope {
    Model& model;
    Observer* observer;
    ObserverScope(Model& m, Observer* o) : model(m), observer(o) {
        if (observer) model.add_observer(observer);
    }
    ~ObserverScope() {
        if (observer) model.remove_observer(observer);
    }
};

}  // namespace

ProbeRun run_probe(Model& model, const TextCodec& codec, const ProbeOptions& options,
                   const Haystack* haystack, const ProbeHooks& hooks) {
    if (options.lengths.empty() || options.depths.empty() || options.samples < 1)
        throw Error("probe: the grid is empty (give lengths, depths and at least one sample)");
    if (options.kind == ProbeKind::Needle && !haystack)
        throw Error("needle: no background text (haystack) was given");
    ProbeRun run;
    run.options = options;
    run.planned =
        static_cast<std::int64_t>(options.lengths.size() * options.depths.size()) * options.samples;
    const auto t_run = Clock::now();
    auto cancelled = [&] { return hooks.cancel && hooks.cancel->load(); };
    if (hooks.longmamba) hooks.longmamba->check(model.spec());
    ObserverScope scope(model, hooks.longmamba);

    GenerateOptions gen;
    gen.max_new_tokens =
        options.max_new_tokens > 0 ? options.max_new_tokens : default_max_new_tokens(options.kind);
    gen.stop_ids = options.stop_ids;
    gen.stop_strings = {"\n"};
    gen.detokenize = codec.decode;
    gen.prefill_chunk = options.prefill_chunk;
    gen.prefill_progress = [&](std::int64_t read, std::int64_t of) {
        if (hooks.prompt_progress)
            hooks.prompt_progress(static_cast<std::int64_t>(run.samples.size()), run.planned, read,
                                  of);
        return !cancelled();
    };
    const TokenFn on_token = [&](std::int32_t) { return !cancelled(); };

    Sequence seq(model);
    for (const std::int64_t length : options.lengths) {
        for (const double depth : options.depths) {
            for (std::int64_t s = 0; s < options.samples; ++s) {
                if (cancelled()) {
                    run.cancelled = true;
                    break;
                }
                const auto t0 = Clock::now();
                ProbeSample out;
                out.length = length;
                out.depth = depth;
                out.sample = s;
                out.seed = sample_seed(options.seed, length, depth, s);
                const ProbePrompt p =
                    build_probe_prompt(options.kind, codec, haystack, length, depth, out.seed);
                const std::string text = p.text(options.jrt);
                const std::vector<std::int32_t> ids = codec.prompt_ids(text);
                if (options.keep_prompts) out.prompt = text;
                out.prompt_tokens = static_cast<std::int64_t>(ids.size());
                out.context_tokens = codec.count(p.context);
                out.needle_token = static_cast<std::int64_t>(
                    codec.prompt_ids(std::string_view(p.context).substr(0, p.needle_offset))
                        .size());
                out.actual_depth = out.context_tokens > 0
                                       ? double(out.needle_token) / double(out.context_tokens)
                                       : 0.0;
                out.units = p.units;
                out.expected = p.expected;
                seq.reset();
                if (hooks.longmamba) hooks.longmamba->begin_prompt(out.prompt_tokens);
                std::vector<std::int32_t> reply_ids;
                const GenerateStats st =
                    generate_greedy(model, seq, ids, gen, on_token, &reply_ids);
                if (st.stop == StopReason::Cancelled && cancelled()) {
                    run.cancelled = true;
                    break;
                }
                out.got = st.text;
                out.generated_tokens = st.generated_tokens;
                out.longmamba_active = hooks.longmamba && hooks.longmamba->active();
                out.prefill_seconds = st.prefill_seconds;
                out.decode_seconds = st.decode_seconds;
                out.correct = probe_correct(options.kind, out.got, out.expected);
                out.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
                run.samples.push_back(std::move(out));
                if (hooks.progress &&
                    !hooks.progress(static_cast<std::int64_t>(run.samples.size()), run.planned)) {
                    run.cancelled = true;
                    break;
                }
            }
            if (run.cancelled) break;
        }
        if (run.cancelled) break;
    }
    run.seconds = std::chrono::duration<double>(Clock::now() - t_run).count();
    return run;
}

}  // namespace statescope
