// config.json as written by transformers 4.x and 5.x, with typed access that names the field at fault.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace statescope {

class Config {
public:
    // Reads and parses; Python's bare Infinity/-Infinity/NaN (4.x json.dump) are accepted.
    static Config load(const std::filesystem::path& path);
    static Config parse(std::string_view text, const std::string& source_name);

    bool has(const std::string& key) const;
    const nlohmann::json& json() const { return json_; }
    const std::string& source() const { return source_; }

    // Required fields: Error `config.json: field "hidden_size" is missing` / `... is not an integer (got "x")`.
    std::int64_t get_int(const std::string& key) const;
    double get_float(const std::string& key) const;
    bool get_bool(const std::string& key) const;
    std::string get_string(const std::string& key) const;

    // Optional fields: the default when absent or null; a present field of the wrong type is an Error.
    std::int64_t get_int(const std::string& key, std::int64_t fallback) const;
    double get_float(const std::string& key, double fallback) const;
    bool get_bool(const std::string& key, bool fallback) const;
    std::string get_string(const std::string& key, const std::string& fallback) const;

    // A float from a JSON value: a number, {"__float__": "Infinity"} (5.x), or "Infinity"/"inf"/"-Infinity"/"NaN".
    static std::optional<double> to_float(const nlohmann::json& v);
    // An id or a list of ids (eos_token_id may be either); empty when absent or null.
    std::vector<std::int64_t> get_int_list(const std::string& key) const;

    // "config.json: field \"key\" " — the start of every message about a field.
    std::string field(const std::string& key) const;

private:
    nlohmann::json json_;
    std::string source_;
};

}  // namespace statescope
