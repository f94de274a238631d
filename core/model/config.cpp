#include "core/model/config.h"

#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "core/error.h"

namespace statescope {

namespace {

// Python's json.dump writes float('inf') as a bare Infinity, which is not JSON. Outside strings, rewrite
// the three bare words into strings that to_float() understands; everything else is left as written.
std::string quote_bare_non_finite(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 16);
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            out += c;
            if (c == '\\' && i + 1 < text.size()) {
                out += text[++i];
            } else if (c == '"') {
                in_string = false;
            }
            continue;
        }
        if (c == '"') {
            in_string = true;
            out += c;
            continue;
        }
        bool replaced = false;
        for (std::string_view word : {"-Infinity", "Infinity", "NaN"}) {
            if (text.substr(i, word.size()) == word) {
                out += '"';
                out += word;
                out += '"';
                i += word.size() - 1;
                replaced = true;
                break;
            }
        }
        if (!replaced) out += c;
    }
    return out;
}

std::string show(const nlohmann::json& v) {
    std::string s = v.dump();
    return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

}  // namespace

Config Config::load(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("cannot open " + path.string());
    std::stringstream buf;
    buf << in.rdbuf();
    return parse(buf.str(), path.string());
}

Config Config::parse(std::string_view text, const std::string& source_name) {
    Config cfg;
    cfg.source_ = source_name;
    try {
        cfg.json_ = nlohmann::json::parse(quote_bare_non_finite(text));
    } catch (const nlohmann::json::exception& e) {
        throw Error(source_name + ": not valid JSON: " + e.what());
    }
    if (!cfg.json_.is_object()) throw Error(source_name + ": the top level is not a JSON object");
    return cfg;
}

std::string Config::field(const std::string& key) const {
    return source_ + ": field \"" + key + "\" ";
}

bool Config::has(const std::string& key) const {
    auto it = json_.find(key);
    return it != json_.end() && !it->is_null();
}

std::optional<double> Config::to_float(const nlohmann::json& v) {
    if (v.is_number()) return v.get<double>();
    const nlohmann::json* s = &v;
    if (v.is_object() && v.size() == 1 && v.contains("__float__")) s = &v["__float__"];
    if (s->is_number()) return s->get<double>();
    if (!s->is_string()) return std::nullopt;
    std::string w = s->get<std::string>();
    for (auto& ch : w) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (w == "infinity" || w == "inf" || w == "+infinity" || w == "+inf")
        return std::numeric_limits<double>::infinity();
    if (w == "-infinity" || w == "-inf") return -std::numeric_limits<double>::infinity();
    if (w == "nan") return std::numeric_limits<double>::quiet_NaN();
    return std::nullopt;
}

std::int64_t Config::get_int(const std::string& key) const {
    if (!has(key)) throw Error(field(key) + "is missing");
    const auto& v = json_[key];
    if (v.is_number_integer()) return v.get<std::int64_t>();
    // 4.x configs sometimes hold integral floats (e.g. 16.0).
    if (v.is_number_float()) {
        double d = v.get<double>();
        if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15) return static_cast<std::int64_t>(d);
    }
    throw Error(field(key) + "is not an integer (got " + show(v) + ")");
}

std::int64_t Config::get_int(const std::string& key, std::int64_t fallback) const {
    return has(key) ? get_int(key) : fallback;
}

double Config::get_float(const std::string& key) const {
    if (!has(key)) throw Error(field(key) + "is missing");
    auto d = to_float(json_[key]);
    if (!d) throw Error(field(key) + "is not a number (got " + show(json_[key]) + ")");
    return *d;
}

double Config::get_float(const std::string& key, double fallback) const {
    return has(key) ? get_float(key) : fallback;
}

bool Config::get_bool(const std::string& key) const {
    if (!has(key)) throw Error(field(key) + "is missing");
    const auto& v = json_[key];
    if (!v.is_boolean()) throw Error(field(key) + "is not true or false (got " + show(v) + ")");
    return v.get<bool>();
}

bool Config::get_bool(const std::string& key, bool fallback) const {
    return has(key) ? get_bool(key) : fallback;
}

std::string Config::get_string(const std::string& key) const {
    if (!has(key)) throw Error(field(key) + "is missing");
    const auto& v = json_[key];
    if (!v.is_string()) throw Error(field(key) + "is not a string (got " + show(v) + ")");
    return v.get<std::string>();
}

std::string Config::get_string(const std::string& key, const std::string& fallback) const {
    return has(key) ? get_string(key) : fallback;
}

std::vector<std::int64_t> Config::get_int_list(const std::string& key) const {
    std::vector<std::int64_t> out;
    if (!has(key)) return out;
    const auto& v = json_[key];
    if (v.is_number_integer()) {
        out.push_back(v.get<std::int64_t>());
    } else if (v.is_array()) {
        for (const auto& e : v) {
            if (!e.is_number_integer()) throw Error(field(key) + "holds a non-integer (" + show(e) + ")");
            out.push_back(e.get<std::int64_t>());
        }
    } else {
        throw Error(field(key) + "is not an id or a list of ids (got " + show(v) + ")");
    }
    return out;
}

}  // namespace statescope
