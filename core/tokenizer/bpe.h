// The BPE model of tokenizer.json: vocabulary, ranked merges, unknown-token and byte fallback.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/tokenizer/json_reader.h"

namespace statescope::tok {

class Bpe {
  public:
    // `json` is tokenizer.json's "model" object with "type": "BPE".
    Bpe(const Json& json, const std::string& path, const JsonReader& reader);
    Bpe(const Bpe&) = delete;
    Bpe& operator=(const Bpe&) = delete;

    // Appends the ids of one pre-tokenized word (HF's BPE::tokenize).
    void tokenize(std::string_view word, std::vector<std::int32_t>& ids) const;

    std::optional<std::int32_t> token_to_id(std::string_view token) const;
    const std::string* id_to_token(std::int32_t id) const;
    // Largest id + 1 (0 for an empty vocabulary).
    std::int64_t id_limit() const { return static_cast<std::int64_t>(tokens_.size()); }

  private:
    struct Merge {
        std::uint32_t rank;
        std::int32_t new_id;
    };
    struct StringHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const {
            return std::hash<std::string_view>{}(s);
        }
    };
    using Vocab = std::unordered_map<std::string, std::int32_t, StringHash, std::equal_to<>>;

    std::vector<std::int32_t> merge_word(std::string_view word) const;
    const Merge* find_merge(std::int32_t left, std::int32_t right) const;

    Vocab vocab_;
    std::vector<std::string> tokens_;  // by id; empty for ids not in the vocabulary
    std::vector<bool> has_token_;
    std::unordered_map<std::uint64_t, Merge> merges_;
    std::optional<std::string> unk_token_;
    std::string continuing_subword_prefix_;
    std::string end_of_word_suffix_;
    bool fuse_unk_ = false;
    bool byte_fallback_ = false;
    bool ignore_merges_ = false;
    std::int32_t byte_ids_[256];  // id of "<0xAB>" per byte, -1 when absent

    // Words seen before (HF keeps the same bounded cache): most text repeats its words.
    static constexpr std::size_t kCacheCapacity = 10000;
    static constexpr std::size_t kCacheMaxWordBytes = 256;
    mutable std::mutex cache_mutex_;
    mutable std::unordered_map<std::string, std::vector<std::int32_t>, StringHash, std::equal_to<>>
        cache_;
};

}  // namespace statescope::tok
