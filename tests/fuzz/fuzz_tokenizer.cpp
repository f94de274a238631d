// libFuzzer target for the tokenizer. The input up to its first NUL byte is text for a fixed small
// tokenizer that uses most components (added tokens with lstrip/rstrip/single_word, normalizers,
// regex and Metaspace pre-tokenizers, byte fallback, a template and a decoder chain); the rest is
// read as ids to decode. The whole input is also parsed as a tokenizer.json, and text is encoded
// with it when it loads. Bad input must end in statescope::Error, never in a crash.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/tokenizer/tokenizer.h"

namespace {

constexpr std::string_view kTokenizerJson = R"({
  "version": "1.0",
  "added_tokens": [
    {"id": 300, "content": "<s>", "special": true, "normalized": false, "lstrip": false, "rstrip": false, "single_word": false},
    {"id": 301, "content": "[M]", "special": true, "normalized": false, "lstrip": true, "rstrip": true, "single_word": false},
    {"id": 302, "content": "word", "special": false, "normalized": true, "lstrip": false, "rstrip": false, "single_word": true},
    {"id": 303, "content": "  ", "special": false, "normalized": true, "lstrip": false, "rstrip": false, "single_word": false}
  ],
  "normalizer": {"type": "Sequence", "normalizers": [
    {"type": "NFKC"}, {"type": "Replace", "pattern": {"Regex": "\\s{3,}"}, "content": "  "}, {"type": "Lowercase"}]},
  "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
    {"type": "Split", "pattern": {"Regex": "\\p{N}{1,3}| ?\\p{L}+|\\s+(?!\\S)|x*"}, "behavior": "Isolated", "invert": false},
    {"type": "Digits", "individual_digits": false},
    {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": true}]},
  "post_processor": {"type": "TemplateProcessing",
    "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
    "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
    "special_tokens": {"<s>": {"id": "<s>", "ids": [300], "tokens": ["<s>"]}}},
  "decoder": {"type": "Sequence", "decoders": [
    {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "}, {"type": "ByteFallback"},
    {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 1}]},
  "model": {"type": "BPE", "unk_token": "<unk>", "fuse_unk": true, "byte_fallback": true,
    "vocab": {BYTE_TOKENS "<unk>": 256, "a": 257, "b": 258, "\u2581": 259, "\u2581a": 260, "ab": 261, "1": 262},
    "merges": [["\u2581", "a"], "a b"]}
})";

// The 256 "<0xAB>" byte tokens spliced into the vocabulary above.
std::string tokenizer_json() {
    std::string bytes;
    char entry[32];
    for (int b = 0; b < 256; ++b) {
        std::snprintf(entry, sizeof(entry), "\"<0x%02X>\": %d, ", b, b);
        bytes += entry;
    }
    std::string json(kTokenizerJson);
    json.replace(json.find("BYTE_TOKENS"), std::strlen("BYTE_TOKENS"), bytes);
    return json;
}

void exercise(const statescope::Tokenizer& tokenizer, std::string_view text,
              std::string_view id_bytes) {
    try {
        const auto ids = tokenizer.encode(text);
        tokenizer.decode(ids);
        tokenizer.decode(tokenizer.encode(text, false), true);
    } catch (const statescope::Error&) {
        // Invalid UTF-8 text.
    }
    std::vector<std::int32_t> ids;
    for (std::size_t i = 0; i + 1 < id_bytes.size(); i += 2) {
        ids.push_back(
            static_cast<std::int32_t>(static_cast<unsigned char>(id_bytes[i]) |
                                      (static_cast<unsigned char>(id_bytes[i + 1]) << 8)) %
            320);
    }
    try {
        tokenizer.decode(ids);
    } catch (const statescope::Error&) {
        // Ids outside the vocabulary.
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const statescope::Tokenizer fixed =
        statescope::Tokenizer::from_json(tokenizer_json(), "fuzz-tokenizer.json");
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const std::size_t nul = input.find('\0');
    const std::string_view text = input.substr(0, nul);
    const std::string_view rest =
        nul == std::string_view::npos ? std::string_view() : input.substr(nul + 1);
    exercise(fixed, text, rest);

    std::optional<statescope::Tokenizer> parsed;
    try {
        parsed = statescope::Tokenizer::from_json(input, "fuzz-input.json");
    } catch (const statescope::Error&) {
        return 0;
    }
    exercise(*parsed, text.substr(0, 256), rest.substr(0, 64));
    return 0;
}
