// Shared helpers for the chat template tests: render with a pinned clock (2026-11-28, the date the
// golden cases were rendered on) and a small fixed context, and capture error messages.
#pragma once

#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/chat/chat_template.h"
#include "core/error.h"

namespace statescope::chat_test {

inline std::time_t pinned_now() {
    return local_noon("2026-11-28");
}

inline std::string data_path(const std::string& name) {
    return std::string(STATESCOPE_TEST_DATA) + "/chat/" + name;
}

inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    EXPECT_TRUE(in.good()) << path;
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// Variables most unit tests render with (the same ones the expected outputs were made with).
inline const nlohmann::ordered_json& default_vars() {
    static const nlohmann::ordered_json v = nlohmann::ordered_json::parse(R"({
      "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}],
      "d": {"a": 1, "items": 2, "b": [1, 2]},
      "l": [3, 1, 2],
      "s": "Hello World",
      "n": null,
      "f": 1.5,
      "t": true,
      "u8": "héllo wörld ✓ 😀",
      "nested": {"x": {"y": [{"z": "deep"}]}}
    })");
    return v;
}

inline std::string render(std::string_view source,
                          const nlohmann::ordered_json& vars = default_vars(),
                          const ChatTemplateLimits& limits = {}) {
    return ChatTemplate::parse(source, "chat template", limits).render_variables(vars, pinned_now);
}

// The statescope::Error message of parsing + rendering, or "<no error>".
inline std::string render_error(std::string_view source,
                                const nlohmann::ordered_json& vars = default_vars(),
                                const ChatTemplateLimits& limits = {}) {
    try {
        (void)render(source, vars, limits);
    } catch (const Error& e) {
        return e.what();
    }
    return "<no error>";
}

}  // namespace statescope::chat_test
