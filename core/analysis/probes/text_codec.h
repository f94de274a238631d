// How the probes turn text into the model's tokens and back: the model's tokenizer in the CLI and
// the studio, any stand-in in tests. Lengths are counted with `encode`; the model is fed
// `encode_prompt` (which may add the tokenizer's special tokens, as `generate --prompt` does).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace statescope {

struct TextCodec {
    // Text -> ids without special tokens (for counting).
    std::function<std::vector<std::int32_t>(std::string_view)> encode;
    // Text -> the ids fed to the model; when empty, encode is used.
    std::function<std::vector<std::int32_t>(std::string_view)> encode_prompt;
    std::function<std::string(std::span<const std::int32_t>)> decode;

    std::int64_t count(std::string_view text) const {
        return static_cast<std::int64_t>(encode(text).size());
    }
    std::vector<std::int32_t> prompt_ids(std::string_view text) const {
        return encode_prompt ? encode_prompt(text) : encode(text);
    }
};

}  // namespace statescope
