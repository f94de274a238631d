// Text <-> token ids from a Hugging Face tokenizer.json, matching the `tokenizers` library:
// added tokens, normalizer, pre-tokenizer, BPE model, post-processor on the way in; the decoder
// on the way out. Every stage is built from what the file composes (docs/MODELS.md §12).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace statescope {

class Tokenizer {
  public:
    // Throws statescope::Error naming the file (and the JSON path of a bad entry).
    static Tokenizer from_file(const std::filesystem::path& tokenizer_json);
    // `source_name` prefixes error messages (e.g. the file name).
    static Tokenizer from_json(std::string_view json_text, const std::string& source_name);

    // HF's Tokenizer.encode(text, add_special_tokens).ids. Throws statescope::Error when `text`
    // is not valid UTF-8, naming the byte offset.
    std::vector<std::int32_t> encode(std::string_view text, bool add_special_tokens = true) const;
    // HF's Tokenizer.decode(ids, skip_special_tokens). Throws statescope::Error for an id that
    // is neither in the model's vocabulary nor an added token.
    std::string decode(std::span<const std::int32_t> ids, bool skip_special_tokens = false) const;

    // Model vocabulary and added tokens together: the largest id + 1.
    std::int64_t vocab_size() const;
    std::optional<std::int32_t> token_to_id(std::string_view token) const;
    std::optional<std::string> id_to_token(std::int32_t id) const;
    // True for added tokens marked "special" (skipped by decode(ids, true)).
    bool is_special(std::int32_t id) const;

    // The name given at load time (the file path for from_file).
    const std::string& source_name() const;

    struct Impl;

  private:
    explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
    // Immutable after loading, so copies share it and encode/decode may run on many threads.
    std::shared_ptr<const Impl> impl_;
};

}  // namespace statescope
