// Reading tokenizer.json fields with errors that name the file and the JSON path at fault, so a
// user can find the broken entry (docs/STYLE.md §8).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/tokenizer/regex.h"

namespace statescope::tok {

using Json = nlohmann::json;

class JsonReader {
  public:
    explicit JsonReader(std::string source_name) : source_(std::move(source_name)) {}

    // Throws statescope::Error("<source>: <message>").
    [[noreturn]] void fail(const std::string& message) const;

    const std::string& source() const { return source_; }

    // `obj` must be an object; `key` must be present (and not null).
    const Json& field(const Json& obj, const std::string& path, std::string_view key) const;
    // Null when absent or null.
    const Json* optional_field(const Json& obj, std::string_view key) const;

    std::string string_field(const Json& obj, const std::string& path, std::string_view key) const;
    std::optional<std::string> optional_string(const Json& obj, const std::string& path,
                                               std::string_view key) const;
    bool bool_field(const Json& obj, const std::string& path, std::string_view key,
                    bool fallback) const;
    std::int64_t int_field(const Json& obj, const std::string& path, std::string_view key) const;
    // A one-character string (Rust `char` fields such as Metaspace's replacement).
    char32_t char_field(const Json& obj, const std::string& path, std::string_view key) const;

    // {"String": "..."} (matched literally) or {"Regex": "..."} (Oniguruma syntax), as Split,
    // Replace normalizers and Replace decoders write their pattern.
    Regex pattern(const Json& json, const std::string& path) const;

    // The "type" of a component, or fail naming the component kind.
    std::string type_of(const Json& obj, const std::string& path, std::string_view kind) const;
    [[noreturn]] void unknown_type(std::string_view kind, const std::string& type,
                                   const std::string& path, std::string_view supported) const;

    static std::string child(const std::string& path, std::string_view key);
    static std::string index(const std::string& path, std::size_t i);

  private:
    std::string source_;
};

}  // namespace statescope::tok
