#include "core/tokenizer/post_processors.h"

#include <map>

namespace statescope::tok {

namespace {

constexpr std::string_view kSupported =
    "TemplateProcessing, ByteLevel, RobertaProcessing, BertProcessing, Sequence";

// The single-sequence template as a list of id runs, with the sequence marked by `sequence`.
class Template final : public PostProcessor {
  public:
    struct Item {
        bool sequence = false;
        std::vector<std::int32_t> ids;
    };
    explicit Template(std::vector<Item> items) : items_(std::move(items)) {}

    std::vector<std::int32_t> process(std::vector<std::int32_t> ids) const override {
        std::vector<std::int32_t> out;
        out.reserve(ids.size() + 4);
        for (const Item& item : items_) {
            const auto& part = item.sequence ? ids : item.ids;
            out.insert(out.end(), part.begin(), part.end());
        }
        return out;
    }

  private:
    std::vector<Item> items_;
};

// ByteLevel as a post-processor only trims offsets: the ids pass through.
class PassThrough final : public PostProcessor {
  public:
    std::vector<std::int32_t> process(std::vector<std::int32_t> ids) const override { return ids; }
};

class Sequence final : public PostProcessor {
  public:
    explicit Sequence(std::vector<std::unique_ptr<PostProcessor>> steps)
        : steps_(std::move(steps)) {}
    std::vector<std::int32_t> process(std::vector<std::int32_t> ids) const override {
        for (const auto& step : steps_) ids = step->process(std::move(ids));
        return ids;
    }

  private:
    std::vector<std::unique_ptr<PostProcessor>> steps_;
};

// Roberta/Bert: "cls": [token, id] and "sep": [token, id]; a single sequence is cls A sep.
std::int32_t pair_id(const Json& json, const std::string& path, std::string_view key,
                     const JsonReader& reader) {
    const Json& pair = reader.field(json, path, key);
    if (!pair.is_array() || pair.size() != 2 || !pair[1].is_number_integer()) {
        reader.fail(JsonReader::child(path, key) + " is not [\"token\", id]");
    }
    return pair[1].get<std::int32_t>();
}

std::unique_ptr<PostProcessor> make_template(const Json& json, const std::string& path,
                                             const JsonReader& reader) {
    // special_tokens: {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}
    std::map<std::string, std::vector<std::int32_t>, std::less<>> specials;
    if (const Json* table = reader.optional_field(json, "special_tokens")) {
        const std::string table_path = JsonReader::child(path, "special_tokens");
        if (!table->is_object()) reader.fail(table_path + " is not an object");
        for (auto it = table->begin(); it != table->end(); ++it) {
            const std::string entry_path = JsonReader::child(table_path, it.key());
            const Json& ids = reader.field(it.value(), entry_path, "ids");
            std::vector<std::int32_t> list;
            if (!ids.is_array())
                reader.fail(JsonReader::child(entry_path, "ids") + " is not a list");
            for (const Json& id : ids) {
                if (!id.is_number_integer()) {
                    reader.fail(JsonReader::child(entry_path, "ids") + " holds a non-integer");
                }
                list.push_back(id.get<std::int32_t>());
            }
            specials[it.key()] = std::move(list);
        }
    }
    const std::string single_path = JsonReader::child(path, "single");
    const Json& single = reader.field(json, path, "single");
    if (!single.is_array()) reader.fail(single_path + " is not a list");
    std::vector<Template::Item> items;
    for (std::size_t i = 0; i < single.size(); ++i) {
        const std::string item_path = JsonReader::index(single_path, i);
        const Json& piece = single[i];
        std::string special_name;
        bool sequence_a = false;
        bool sequence_b = false;
        if (piece.is_object() && piece.contains("Sequence")) {
            const std::string id =
                reader.string_field(piece["Sequence"], item_path + ".Sequence", "id");
            sequence_a = id == "A";
            sequence_b = id == "B";
            if (!sequence_a && !sequence_b) {
                reader.fail(item_path + ".Sequence.id is \"" + id + "\", not \"A\" or \"B\"");
            }
        } else if (piece.is_object() && piece.contains("SpecialToken")) {
            special_name =
                reader.string_field(piece["SpecialToken"], item_path + ".SpecialToken", "id");
        } else if (piece.is_string()) {
            // The string form "[CLS]:0" / "$A:0" that TemplateProcessing also accepts.
            std::string s = piece.get<std::string>();
            s = s.substr(0, s.find(':'));
            if (s.starts_with('$')) {
                sequence_b = s == "$B" || s == "$b";
                sequence_a = !sequence_b;
            } else {
                special_name = s;
            }
        } else {
            reader.fail(item_path + " is not {\"Sequence\": ...} or {\"SpecialToken\": ...}");
        }
        if (sequence_b) continue;  // a single sequence has no B
        if (sequence_a) {
            items.push_back({true, {}});
            continue;
        }
        const auto found = specials.find(special_name);
        if (found == specials.end()) {
            reader.fail(item_path + " names special token \"" + special_name +
                        "\", which special_tokens does not define");
        }
        items.push_back({false, found->second});
    }
    return std::make_unique<Template>(std::move(items));
}

}  // namespace

std::unique_ptr<PostProcessor> make_post_processor(const Json& json, const std::string& path,
                                                   const JsonReader& reader) {
    if (json.is_null()) return nullptr;
    const std::string type = reader.type_of(json, path, "post_processor");
    if (type == "TemplateProcessing") return make_template(json, path, reader);
    if (type == "ByteLevel") return std::make_unique<PassThrough>();
    if (type == "RobertaProcessing" || type == "BertProcessing") {
        const std::int32_t cls = pair_id(json, path, "cls", reader);
        const std::int32_t sep = pair_id(json, path, "sep", reader);
        return std::make_unique<Template>(
            std::vector<Template::Item>{{false, {cls}}, {true, {}}, {false, {sep}}});
    }
    if (type == "Sequence") {
        const std::string list_path = JsonReader::child(path, "processors");
        const Json& list = reader.field(json, path, "processors");
        if (!list.is_array()) reader.fail(list_path + " is not a list");
        std::vector<std::unique_ptr<PostProcessor>> steps;
        for (std::size_t i = 0; i < list.size(); ++i) {
            auto step = make_post_processor(list[i], JsonReader::index(list_path, i), reader);
            if (step) steps.push_back(std::move(step));
        }
        return std::make_unique<Sequence>(std::move(steps));
    }
    reader.unknown_type("post_processor", type, path, kSupported);
}

}  // namespace statescope::tok
