// Runs a recall probe over a grid of lengths x depths x samples on a loaded model: builds each
// prompt (prompts.h) from its own seed, generates greedily until a newline, scores the reply
// (scoring.h). Reports progress after every sample and stops between samples, during a prefill
// (between chunks) or during decoding when the cancel flag is set; what ran so far is returned.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/analysis/probes/prompts.h"
#include "core/analysis/probes/text_codec.h"

namespace statescope {

class Model;
class LongMambaFilter;

enum class ProbeKind { Passkey, Needle, PhoneBook };
const char* probe_kind_name(ProbeKind kind);  // "passkey", "needle", "phonebook"
std::optional<ProbeKind> probe_kind_from_name(std::string_view name);

struct ProbeOptions {
    ProbeKind kind = ProbeKind::Passkey;
    std::vector<std::int64_t> lengths = {1024, 2048, 4096, 8192};  // tokens of the context
    std::vector<double> depths = {0.0, 0.25, 0.5, 0.75, 1.0};      // needle position in [0, 1]
    std::int64_t samples = 1;                                      // per (length, depth) cell
    std::uint64_t seed = 123;
    bool jrt = false;  // context twice before the question
    // 0: the probe's own (passkey 8, needle 10 as deci_niah, phone book 16)
    std::int64_t max_new_tokens = 0;
    std::int64_t prefill_chunk = 512;
    std::vector<std::int64_t> stop_ids;  // the model's eos ids
    bool keep_prompts = false;           // ProbeSample::prompt holds the prompt text
};

// The token budget a probe generates when ProbeOptions::max_new_tokens is 0.
std::int64_t default_max_new_tokens(ProbeKind kind);

struct ProbeSample {
    std::int64_t length = 0;  // requested context tokens
    double depth = 0;         // requested
    std::int64_t sample = 0;  // index within the cell
    std::uint64_t seed = 0;   // sample_seed(): rebuilds this prompt alone
    std::int64_t prompt_tokens = 0;
    std::int64_t context_tokens = 0;  // of one copy of the context
    std::int64_t needle_token = 0;    // tokens before the needle (first copy with JRT)
    double actual_depth = 0;          // needle_token / context_tokens
    std::int64_t units = 0;           // passkey blocks, needle sentences or phone-book entries
    std::string expected, got;        // got: the reply up to its first newline
    std::string prompt;               // with ProbeOptions::keep_prompts
    bool correct = false;
    std::int64_t generated_tokens = 0;
    bool longmamba_active = false;  // LongMamba filtered this prompt (long enough, filter given)
    double seconds = 0;             // the whole sample: building the prompt, prefill, decode
    double prefill_seconds = 0, decode_seconds = 0;
};

struct ProbeRun {
    ProbeOptions options;
    std::vector<ProbeSample> samples;  // length-major, then depth, then sample
    std::int64_t planned = 0;          // lengths x depths x samples
    bool cancelled = false;
    double seconds = 0;
};

struct ProbeHooks {
    // After each sample: (samples done, samples planned); return false to stop.
    std::function<bool(std::int64_t done, std::int64_t total)> progress;
    // During each prompt's prefill: (samples done, samples planned, prompt tokens read, prompt
    // tokens), between prefill chunks (a long prompt on a CPU takes a while).
    std::function<void(std::int64_t done, std::int64_t total, std::int64_t read, std::int64_t of)>
        prompt_progress;
    const std::atomic<bool>* cancel = nullptr;  // checked between chunks and tokens
    // LongMamba token filtering: registered on the model for the run, begin_prompt() per sample.
    LongMambaFilter* longmamba = nullptr;
};

// The prompt of one sample, as the runner builds it (for tests and for showing a cell's prompt).
ProbePrompt build_probe_prompt(ProbeKind kind, const TextCodec& codec, const Haystack* haystack,
                               std::int64_t length, double depth, std::uint64_t sample_seed);

// `haystack` is needed by the needle probe only. Error on an empty grid or a bad length/depth.
ProbeRun run_probe(Model& model, const TextCodec& codec, const ProbeOptions& options,
                   const Haystack* haystack, const ProbeHooks& hooks = {});

// Whether `reply` answers `expected` by the probe's own rule.
bool probe_correct(ProbeKind kind, std::string_view reply, std::string_view expected);

}  // namespace statescope
