// find_chat_template: the template files of a checkpoint folder, resolved like transformers 5.x
// (PreTrainedTokenizerBase._from_pretrained): chat_template.jinja and
// additional_chat_templates/*.jinja replace tokenizer_config.json's "chat_template" entirely when
// present.
#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include "core/chat/chat_template.h"
#include "core/error.h"

namespace statescope {

namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw Error(p.string() + ": cannot read the file");
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

nlohmann::ordered_json read_json(const fs::path& p) {
    try {
        return nlohmann::ordered_json::parse(read_file(p));
    } catch (const nlohmann::json::exception& e) {
        throw Error(p.string() + ": not valid JSON (" + e.what() + ")");
    }
}

// Special tokens are saved as strings or as AddedToken objects {"content": ..., "__type": ...}.
std::optional<std::string> token_text(const nlohmann::ordered_json& cfg, const char* key,
                                      const fs::path& file) {
    auto it = cfg.find(key);
    if (it == cfg.end() || it->is_null()) return std::nullopt;
    if (it->is_string()) return it->get<std::string>();
    if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
        return (*it)["content"].get<std::string>();
    throw Error(file.string() + ": \"" + key + "\" is neither a string nor {\"content\": ...}");
}

}  // namespace

std::optional<ModelChatTemplate> find_chat_template(const fs::path& model_dir,
                                                    const std::string& name) {
    if (!fs::is_directory(model_dir)) throw Error(model_dir.string() + ": not a folder");
    std::map<std::string, std::pair<std::string, fs::path>> templates;
    const fs::path jinja_file = model_dir / "chat_template.jinja";
    if (fs::is_regular_file(jinja_file)) templates["default"] = {read_file(jinja_file), jinja_file};
    const fs::path extra_dir = model_dir / "additional_chat_templates";
    if (fs::is_directory(extra_dir))
        for (const auto& entry : fs::directory_iterator(extra_dir))
            if (entry.is_regular_file() && entry.path().extension() == ".jinja")
                templates[entry.path().stem().string()] = {read_file(entry.path()), entry.path()};

    const fs::path config_file = model_dir / "tokenizer_config.json";
    nlohmann::ordered_json config = nlohmann::ordered_json::object();
    if (fs::is_regular_file(config_file)) config = read_json(config_file);
    if (!config.is_object()) throw Error(config_file.string() + ": not a JSON object");
    if (templates.empty() && config.contains("chat_template")) {
        const auto& ct = config["chat_template"];
        if (ct.is_string()) {
            templates["default"] = {ct.get<std::string>(), config_file};
        } else if (ct.is_array()) {
            for (const auto& entry : ct) {
                if (!entry.is_object() || !entry.contains("name") || !entry.contains("template") ||
                    !entry["name"].is_string() || !entry["template"].is_string())
                    throw Error(
                        config_file.string() +
                        ": \"chat_template\" entries must be {\"name\": ..., \"template\": ...}");
                templates[entry["name"].get<std::string>()] = {entry["template"].get<std::string>(),
                                                               config_file};
            }
        } else if (!ct.is_null()) {
            throw Error(config_file.string() + ": \"chat_template\" must be a string or a list");
        }
    }
    if (templates.empty()) return std::nullopt;

    ModelChatTemplate out;
    for (const auto& kv : templates) out.available.push_back(kv.first);
    auto it = templates.find(name);
    if (it == templates.end()) {
        std::string names;
        for (const auto& n : out.available) names += (names.empty() ? "" : ", ") + n;
        throw Error(model_dir.string() + ": no chat template named \"" + name +
                    "\" (available: " + names + ")");
    }
    out.name = it->first;
    out.source = it->second.first;
    out.file = it->second.second;

    // Special tokens: tokenizer_config.json, else special_tokens_map.json (older saves).
    const fs::path map_file = model_dir / "special_tokens_map.json";
    nlohmann::ordered_json special = nlohmann::ordered_json::object();
    if (fs::is_regular_file(map_file)) special = read_json(map_file);
    for (auto [key, slot] :
         {std::pair{"bos_token", &out.bos_token}, std::pair{"eos_token", &out.eos_token}}) {
        if (auto t = token_text(config, key, config_file)) {
            *slot = *t;
        } else if (special.is_object()) {
            if (auto s = token_text(special, key, map_file)) *slot = *s;
        }
    }
    return out;
}

}  // namespace statescope
