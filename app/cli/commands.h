// statescope-cli verbs. Each returns the process exit code and throws statescope::Error on bad
// input.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace statescope {
struct GenerateOptions;
struct LoadOptions;
}  // namespace statescope

namespace statescope::cli {

struct TokenizerSource {
    std::string model_dir;       // --model DIR: DIR/tokenizer.json
    std::string tokenizer_file;  // --tokenizer FILE
};

struct InfoArgs {
    std::string model_dir;
};
struct TokenizeArgs {
    TokenizerSource source;
    std::optional<std::string> text, text_file, jsonl;
    bool add_special_tokens = true;
};
struct DetokenizeArgs {
    TokenizerSource source;
    std::string ids;
    bool skip_special_tokens = false;
};
struct LogitsArgs {
    std::string model_dir;
    std::optional<std::string> ids, ids_file;
    std::optional<std::int64_t> decode_from;
    std::string backend = "cpu";
    std::string dtype;  // --dtype fp32|bf16|fp16: weights converted at load ("": as stored)
    std::string out;
};
struct GenerateArgs {
    std::string model_dir;
    std::optional<std::string> prompt, ids;
    std::int64_t max_new = 64;
    bool greedy = false;
    bool json = false;
    std::string backend = "cpu";
    std::string dtype;         // --dtype fp32|bf16|fp16 ("": the checkpoint's dtype)
    float temperature = 0.0f;  // 0: greedy (the default, and what --greedy forces)
    std::int64_t top_k = 0;
    float top_p = 1.0f, min_p = 0.0f;
    float repeat_penalty = 1.0f, presence_penalty = 0.0f, frequency_penalty = 0.0f;
    std::uint64_t seed = 0;
    std::vector<std::string> stop;
    // --chat: the prompt is one user message rendered through the model's chat template.
    bool chat = false;
    std::optional<std::string> system;  // --system S (with --chat)
    // LongMamba token filtering of the prompt (analyze longmamba-calibrate makes the file)
    std::string longmamba;
    double longmamba_c = 5e-2, longmamba_b = 1.0;
    std::int64_t longmamba_min_tokens = 3000;
    // --context-file F: a document put before --prompt (the question); with --jrt it is put there
    // twice ("just read twice", core/analysis/probes/prompts.h).
    std::optional<std::string> context_file;
    bool jrt = false;
};

int run_info(const InfoArgs& a);
int run_tokenize(const TokenizeArgs& a);
int run_detokenize(const DetokenizeArgs& a);
int run_logits(const LogitsArgs& a);
int run_generate(const GenerateArgs& a);

// --context-file and --jrt folded into --prompt: context + prompt, or context + context + prompt.
void apply_context(GenerateArgs& a);

// The sampling flags, max-new and stop strings of `a` as GenerateOptions (no tokenizer yet).
void apply_generate_flags(const GenerateArgs& a, statescope::GenerateOptions& opts);

// --dtype NAME -> the load options; Error naming the accepted values. "" loads weights as stored.
statescope::LoadOptions load_options(const std::string& dtype);

// "1,2, 3" or "1 2\n3" -> ids; Error naming the bad entry.
std::vector<std::int32_t> parse_ids(const std::string& text, const std::string& what);

}  // namespace statescope::cli
