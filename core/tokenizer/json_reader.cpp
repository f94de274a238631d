#include "core/tokenizer/json_reader.h"

#include "core/error.h"
#include "core/tokenizer/unicode.h"

namespace statescope::tok {

void JsonReader::fail(const std::string& message) const {
    throw Error(source_ + ": " + message);
}

std::string JsonReader::child(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string JsonReader::index(const std::string& path, std::size_t i) {
    return path + "[" + std::to_string(i) + "]";
}

const Json& JsonReader::field(const Json& obj, const std::string& path,
                              std::string_view key) const {
    if (!obj.is_object()) fail(path + " is not a JSON object");
    const auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) fail(child(path, key) + " is missing");
    return *it;
}

const Json* JsonReader::optional_field(const Json& obj, std::string_view key) const {
    if (!obj.is_object()) return nullptr;
    const auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return nullptr;
    return &*it;
}

std::string JsonReader::string_field(const Json& obj, const std::string& path,
                                     std::string_view key) const {
    const Json& value = field(obj, path, key);
    if (!value.is_string()) fail(child(path, key) + " is not a string");
    return value.get<std::string>();
}

std::optional<std::string> JsonReader::optional_string(const Json& obj, const std::string& path,
                                                       std::string_view key) const {
    const Json* value = optional_field(obj, key);
    if (value == nullptr) return std::nullopt;
    if (!value->is_string()) fail(child(path, key) + " is not a string");
    return value->get<std::string>();
}

bool JsonReader::bool_field(const Json& obj, const std::string& path, std::string_view key,
                            bool fallback) const {
    const Json* value = optional_field(obj, key);
    if (value == nullptr) return fallback;
    if (!value->is_boolean()) fail(child(path, key) + " is not true or false");
    return value->get<bool>();
}

std::int64_t JsonReader::int_field(const Json& obj, const std::string& path,
                                   std::string_view key) const {
    const Json& value = field(obj, path, key);
    if (!value.is_number_integer()) fail(child(path, key) + " is not an integer");
    return value.get<std::int64_t>();
}

char32_t JsonReader::char_field(const Json& obj, const std::string& path,
                                std::string_view key) const {
    const std::string s = string_field(obj, path, key);
    if (s.empty() || find_invalid_utf8(s) != std::string::npos) {
        fail(child(path, key) + " is not a single character");
    }
    std::size_t pos = 0;
    const char32_t c = next_code_point(s, pos);
    if (pos != s.size()) fail(child(path, key) + " is not a single character");
    return c;
}

Regex JsonReader::pattern(const Json& json, const std::string& path) const {
    if (json.is_object() && json.size() == 1) {
        const auto it = json.begin();
        const bool literal = it.key() == "String";
        if (it.value().is_string() && (literal || it.key() == "Regex")) {
            try {
                return Regex(it.value().get<std::string>(),
                             literal ? Regex::Syntax::Literal : Regex::Syntax::Oniguruma);
            } catch (const Error& e) {
                fail(path + ": " + e.what());
            }
        }
    }
    fail(path + " is not {\"String\": ...} or {\"Regex\": ...}");
}

std::string JsonReader::type_of(const Json& obj, const std::string& path,
                                std::string_view kind) const {
    if (!obj.is_object()) fail(path + " is not a JSON object (a " + std::string(kind) + ")");
    const auto it = obj.find("type");
    if (it == obj.end() || !it->is_string()) {
        fail(path + " has no \"type\" naming the " + std::string(kind));
    }
    return it->get<std::string>();
}

void JsonReader::unknown_type(std::string_view kind, const std::string& type,
                              const std::string& path, std::string_view supported) const {
    fail("unknown " + std::string(kind) + " type \"" + type + "\" at " + path +
         " (supported: " + std::string(supported) + ")");
}

}  // namespace statescope::tok
