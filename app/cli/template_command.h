// statescope-cli template: renders a Hugging Face chat template exactly as transformers'
// apply_chat_template(tokenize=False) would, and prints the text byte for byte (nothing added).
#pragma once

#include <iosfwd>
#include <optional>
#include <string>

namespace statescope::cli {

struct TemplateArgs {
    std::string template_file;                 // --template FILE: a .jinja file
    std::optional<std::string> messages_file;  // --messages FILE.json ("-": stdin)
    bool add_generation_prompt = false;        // --add-generation-prompt
    // --bos S / --eos S. With --model DIR an empty value means "the model's own token"
    // (tokenizer_config.json or special_tokens_map.json).
    std::string bos, eos;
    std::optional<std::string> now;  // --now YYYY-MM-DD: pins strftime_now (local noon)
    std::string model_dir;  // --model DIR: the checkpoint's template, instead of --template
    std::string template_name = "default";  // --template-name NAME: a named template of --model
};

// The messages file is a JSON array of messages, or an object {"messages": [...], "tools": [...],
// ...} whose other keys become template variables (documents, enable_thinking ...).
// Throws statescope::Error on bad input; returns the exit code.
int run_template(const TemplateArgs& args);
int run_template(const TemplateArgs& args, std::ostream& out);

}  // namespace statescope::cli
