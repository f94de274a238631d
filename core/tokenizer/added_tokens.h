// tokenizer.json "added_tokens": special and user tokens matched in the text before the model
// sees it (HF tokenizers' AddedVocabulary).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/tokenizer/json_reader.h"
#include "core/tokenizer/normalized_string.h"

namespace statescope::tok {

class Normalizer;

struct AddedToken {
    std::int32_t id = 0;
    std::string content;
    // What the text is matched against and decodes to: the content itself, or for normalized
    // tokens the content after the normalizer (HF's normalized_cache).
    std::string match_form;
    bool special = false;
    bool normalized = true;
    bool single_word = false;
    bool lstrip = false;
    bool rstrip = false;
};

class AddedVocabulary {
  public:
    AddedVocabulary() = default;
    // `model_id` returns the model's id for a token, if any: HF gives an added token whose content
    // is already in the vocabulary that id.
    template <class ModelId>
    void load(const Json& json, const std::string& path, const JsonReader& reader,
              const Normalizer* normalizer, ModelId model_id);

    // HF's extract_and_normalize: cut the raw text on non-normalized tokens, normalize the rest,
    // cut it on normalized tokens.
    Pieces extract_and_normalize(std::string_view text, const Normalizer* normalizer) const;

    const AddedToken* by_id(std::int32_t id) const;
    std::optional<std::int32_t> id_of(std::string_view content) const;
    std::int64_t id_limit() const { return id_limit_; }

  private:
    // A byte trie over the match forms of one group of tokens, for leftmost-longest matching.
    class Trie {
      public:
        void insert(std::string_view key, std::size_t token_index);
        bool empty() const { return nodes_.size() <= 1; }
        // The longest key starting at `pos`: (end, token index), or none.
        std::optional<std::pair<std::size_t, std::size_t>> longest_at(std::string_view text,
                                                                      std::size_t pos) const;

      private:
        struct Node {
            std::vector<std::pair<unsigned char, std::uint32_t>> children;
            std::int64_t token = -1;
        };
        std::vector<Node> nodes_{1};
        bool first_byte_[256] = {};
    };

    void add(AddedToken token, const Normalizer* normalizer);
    void build_tries();
    // HF's find_matches + split_with_indices on one piece.
    std::vector<Piece> split_on(const NormalizedString& text, const Trie& trie) const;

    std::vector<AddedToken> tokens_;
    std::unordered_map<std::int32_t, std::size_t> index_by_id_;
    std::unordered_map<std::string, std::int32_t> id_by_content_;
    Trie raw_trie_;         // normalized=false tokens, matched on the raw text
    Trie normalized_trie_;  // normalized=true tokens, matched on normalized text
    std::int64_t id_limit_ = 0;
};

template <class ModelId>
void AddedVocabulary::load(const Json& json, const std::string& path, const JsonReader& reader,
                           const Normalizer* normalizer, ModelId model_id) {
    if (json.is_null()) return;
    if (!json.is_array()) reader.fail(path + " is not a list");
    for (std::size_t i = 0; i < json.size(); ++i) {
        const std::string item = JsonReader::index(path, i);
        const Json& entry = json[i];
        AddedToken token;
        token.content = reader.string_field(entry, item, "content");
        const std::int64_t id = reader.int_field(entry, item, "id");
        if (id < 0 || id > INT32_MAX)
            reader.fail(JsonReader::child(item, "id") + " is out of range");
        token.id = static_cast<std::int32_t>(id);
        if (const auto existing = model_id(token.content)) token.id = *existing;
        token.special = reader.bool_field(entry, item, "special", false);
        token.normalized = reader.bool_field(entry, item, "normalized", !token.special);
        token.single_word = reader.bool_field(entry, item, "single_word", false);
        token.lstrip = reader.bool_field(entry, item, "lstrip", false);
        token.rstrip = reader.bool_field(entry, item, "rstrip", false);
        add(std::move(token), normalizer);
    }
    build_tries();
}

}  // namespace statescope::tok
