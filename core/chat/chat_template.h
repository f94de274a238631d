// Hugging Face chat templates rendered byte for byte as transformers does: a sandboxed Jinja2
// subset with the settings of transformers' _compile_jinja_template
// (ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols]),
// filter tojson = json.dumps(ensure_ascii=False, ...), globals raise_exception and strftime_now).
// The template cannot touch files or processes (there are none to give it) and every resource it
// could exhaust is bounded; all failures are statescope::Error naming the template line.
#pragma once

#include <cstdint>
#include <ctime>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace statescope {

struct ChatTemplateLimits {
    std::size_t max_output_bytes = std::size_t{16} << 20;  // the rendered text, and any one string
    std::uint64_t max_loop_iterations = 1'000'000;         // over all for loops of one render
    int max_call_depth = 100;                              // nested macro calls
    int max_nesting = 200;      // blocks / expression depth accepted by the parser
    int max_eval_depth = 1500;  // nested evaluation (statements, expressions, calls) at run time
    std::uint64_t max_work = std::uint64_t{1} << 28;  // bytes and items produced by one render
};

class ChatTemplate {
  public:
    // Parses Jinja source. Syntax errors, unknown tags and (outside `if`) unknown filters/tests are
    // Errors such as `chat template line 12: unknown filter "frobnicate"`.
    static ChatTemplate parse(std::string_view source, std::string name = "chat template",
                              const ChatTemplateLimits& limits = {});

    // Renders with HF's context: messages, add_generation_prompt, bos_token, eos_token, tools and
    // documents (None unless `extra` gives them, as apply_chat_template passes them), plus every
    // variable in `extra` (enable_thinking, custom special tokens ...). `now` pins strftime_now's
    // clock (local time); by default it is the system clock.
    std::string render(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                       const std::string& bos_token, const std::string& eos_token,
                       const nlohmann::ordered_json& extra = nlohmann::ordered_json::object(),
                       std::function<std::time_t()> now = {}) const;

    // Renders with exactly these variables (a JSON object) and nothing HF adds.
    std::string render_variables(const nlohmann::ordered_json& variables,
                                 std::function<std::time_t()> now = {}) const;

    const std::string& name() const { return name_; }
    const ChatTemplateLimits& limits() const { return limits_; }
    void set_limits(const ChatTemplateLimits& limits) { limits_ = limits; }

    struct Parsed;  // the syntax tree (core/chat/jinja_ast.h), shared by copies

  private:
    ChatTemplate() = default;
    std::shared_ptr<const Parsed> parsed_;
    std::string name_;
    ChatTemplateLimits limits_;
};

// A checkpoint folder's template, found the way transformers 5.x loads a tokenizer: the separate
// files chat_template.jinja (the "default") and additional_chat_templates/<name>.jinja take
// priority over tokenizer_config.json's "chat_template" (a string, or a list of {name, template}).
struct ModelChatTemplate {
    std::string source;
    std::string bos_token, eos_token;    // "" when the tokenizer defines none
    std::filesystem::path file;          // where the template text came from
    std::string name;                    // which named template was picked
    std::vector<std::string> available;  // every template name the folder offers
};

// nullopt when the folder has no chat template at all; Error for unreadable or malformed files or
// an unknown `name`.
std::optional<ModelChatTemplate> find_chat_template(const std::filesystem::path& model_dir,
                                                    const std::string& name = "default");

// Local noon of a YYYY-MM-DD date, for pinning strftime_now (tests, `--now`). Error if malformed.
std::time_t local_noon(const std::string& date);

}  // namespace statescope
