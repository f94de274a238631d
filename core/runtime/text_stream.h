// Streaming text out of generated token ids at O(new text) per token.
//
// IncrementalDetokenizer decodes a short window of ids around each new token instead of the whole
// reply (the offsets scheme of text-generation-inference / vLLM): decoding `ids[prefix..]` next to
// `ids[prefix..read)` keeps the context decoders need (Metaspace's leading space, byte fallback),
// and a window whose text ends in U+FFFD is held until the bytes of the character are complete.
// StopStringMatcher sits after it: it holds back the tail that could still begin a stop string and
// cuts the text before the first stop string, even when the stop string spans tokens.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace statescope {

using DetokenizeFn = std::function<std::string(std::span<const std::int32_t>)>;

class IncrementalDetokenizer {
  public:
    explicit IncrementalDetokenizer(DetokenizeFn detokenize);

    // Adds one id; returns the text it completes (may be empty, e.g. mid-character).
    std::string push(std::int32_t id);
    // The text still held back (an incomplete character decodes to U+FFFD here, as a full decode
    // would).
    std::string flush();
    const std::vector<std::int32_t>& ids() const { return ids_; }

  private:
    // A window that has not produced a complete character after this many tokens is emitted as
    // decoded (the bytes are not valid UTF-8 and never will be), so the window stays bounded.
    static constexpr std::size_t kMaxPendingTokens = 8;
    DetokenizeFn detokenize_;
    std::vector<std::int32_t> ids_;
    std::size_t prefix_ = 0;  // start of the context window
    std::size_t read_ = 0;    // ids before this have been emitted
};

class StopStringMatcher {
  public:
    explicit StopStringMatcher(std::vector<std::string> stops);

    // Adds text; returns what can be shown now: everything before a matched stop string, or
    // everything but the tail that may still grow into one.
    std::string push(std::string_view text);
    // The held-back tail at the end of the reply (empty after a match).
    std::string flush();
    bool matched() const { return matched_; }

  private:
    std::vector<std::string> stops_;
    std::string pending_;
    bool matched_ = false;
};

}  // namespace statescope
