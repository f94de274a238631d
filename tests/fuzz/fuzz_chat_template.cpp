// Fuzz target: arbitrary bytes as a chat template, parsed and rendered against a small fixed
// conversation. Must end in text or a statescope::Error, never a crash, hang, leak or UB. Limits
// are kept small so every input renders in milliseconds.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/chat/chat_template.h"
#include "core/chat/py_string.h"
#include "core/error.h"

namespace {

const nlohmann::ordered_json& context() {
    static const nlohmann::ordered_json c = nlohmann::ordered_json::parse(R"({
      "messages": [
        {"role": "system", "content": "Be brief. /no_think"},
        {"role": "user", "content": "Weather in Zürich? 😀"},
        {"role": "assistant", "content": "<think>\nhm\n</think>\n\nChecking.",
         "tool_calls": [{"type": "function", "function": {"name": "get_weather",
                                                          "arguments": {"city": "Zürich", "days": 2}}}]},
        {"role": "tool", "content": "{\"temp\": 21.5}"},
        {"role": "user", "content": [{"type": "text", "text": "part"}, {"type": "image"}]}
      ],
      "tools": [{"type": "function", "function": {"name": "get_weather", "parameters":
                 {"type": "object", "properties": {"city": {"type": "string"}}}}}],
      "documents": null,
      "add_generation_prompt": true,
      "bos_token": "<s>",
      "eos_token": "</s>",
      "enable_thinking": false
    })");
    return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view source(reinterpret_cast<const char*>(data), size);
    statescope::ChatTemplateLimits limits;
    limits.max_output_bytes = 64 << 10;
    limits.max_loop_iterations = 20000;
    limits.max_call_depth = 20;
    limits.max_nesting = 64;
    limits.max_eval_depth = 400;
    limits.max_work = 1 << 22;
    try {
        const auto t = statescope::ChatTemplate::parse(source, "fuzz", limits);
        const std::string out =
            t.render_variables(context(), [] { return std::time_t{1795867200}; });
        // Everything the engine produces is valid UTF-8 (HF would fail to tokenize anything else).
        if (!statescope::py::valid_utf8(out)) __builtin_trap();
    } catch (const statescope::Error&) {
    }
    return 0;
}
