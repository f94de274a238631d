// Building small tokenizer.json files in tests, and reading results as token strings.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "core/tokenizer/tokenizer.h"

namespace statescope::test {

using Json = nlohmann::json;

// A BPE model: `tokens` get ids 0, 1, 2... in order; `merges` are ranked in order.
inline Json bpe_model(const std::vector<std::string>& tokens,
                      const std::vector<std::pair<std::string, std::string>>& merges = {},
                      Json extra = Json::object()) {
    Json vocab = Json::object();
    for (std::size_t i = 0; i < tokens.size(); ++i) vocab[tokens[i]] = static_cast<int>(i);
    Json merge_list = Json::array();
    for (const auto& [a, b] : merges) merge_list.push_back(Json::array({a, b}));
    Json model = {{"type", "BPE"}, {"vocab", vocab}, {"merges", merge_list}};
    for (auto it = extra.begin(); it != extra.end(); ++it) model[it.key()] = it.value();
    return model;
}

// A model that makes pre-tokenization visible: with ignore_merges and no merges, a piece that is
// in the vocabulary becomes that one token and any other piece falls apart into characters.
// The vocabulary: printable ASCII, "▁", then `words`.
inline Json word_model(const std::vector<std::string>& words) {
    std::vector<std::string> tokens;
    for (char c = ' '; c <= '~'; ++c) tokens.emplace_back(1, c);
    tokens.emplace_back("\xE2\x96\x81");  // ▁
    for (const auto& w : words) tokens.push_back(w);
    return bpe_model(tokens, {}, {{"ignore_merges", true}});
}

struct Parts {
    Json model;
    Json normalizer = nullptr;
    Json pre_tokenizer = nullptr;
    Json post_processor = nullptr;
    Json decoder = nullptr;
    Json added_tokens = Json::array();
};

inline Tokenizer build(const Parts& p) {
    const Json file = {{"version", "1.0"},
                       {"truncation", nullptr},
                       {"padding", nullptr},
                       {"added_tokens", p.added_tokens},
                       {"normalizer", p.normalizer},
                       {"pre_tokenizer", p.pre_tokenizer},
                       {"post_processor", p.post_processor},
                       {"decoder", p.decoder},
                       {"model", p.model}};
    return Tokenizer::from_json(file.dump(), "test.json");
}

// An entry of "added_tokens".
inline Json added(int id, const std::string& content, bool special, bool normalized = false,
                  bool lstrip = false, bool rstrip = false, bool single_word = false) {
    return {{"id", id},
            {"content", content},
            {"special", special},
            {"normalized", normalized},
            {"lstrip", lstrip},
            {"rstrip", rstrip},
            {"single_word", single_word}};
}

// encode() as token strings: each pre-tokenized piece is visible with word_model().
inline std::vector<std::string> tokens_of(const Tokenizer& t, const std::string& text,
                                          bool add_special_tokens = false) {
    std::vector<std::string> out;
    for (const std::int32_t id : t.encode(text, add_special_tokens)) {
        out.push_back(t.id_to_token(id).value_or("<missing>"));
    }
    return out;
}

using Strings = std::vector<std::string>;

}  // namespace statescope::test
