// JSON in and out of the template engine: the caller's messages/tools (nlohmann::ordered_json, so
// dict items keep the order they were given, as Python dicts do) become Values, and the `tojson`
// filter serialises Values exactly as HF's override does: json.dumps(x, ensure_ascii=False,
// indent=indent, separators=separators, sort_keys=sort_keys), Python's formatting of floats and
// separators included.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/chat/jinja_value.h"

namespace statescope::jinja {

// Throws Failure on strings that are not valid UTF-8 (Python could not have held them either).
Value from_json(const nlohmann::ordered_json& j);

struct DumpOptions {
    std::optional<std::string> indent;          // None: one line; else the per-level indent text
    std::optional<std::string> item_separator;  // default ", " (one line) or "," (indented)
    std::optional<std::string> key_separator;   // default ": "
    bool sort_keys = false;
    bool ensure_ascii = false;  // HF passes False; json.dumps' own default is True
};

// Throws Failure ("TypeError: Object of type Undefined is not JSON serializable") like json.dumps.
std::string dumps(const Value& v, const DumpOptions& options);

}  // namespace statescope::jinja
