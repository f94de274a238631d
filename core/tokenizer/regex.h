// Unicode regular expressions for pre-tokenizer splits and Replace patterns.
// PCRE2 (UTF + UCP) because tokenizer.json patterns need \p{L}/\p{N} classes and lookahead such
// as GPT-2's `\s+(?!\S)`, which std::regex lacks; HF runs them on Oniguruma, whose Ruby syntax
// PCRE2 reads nearly unchanged (see Syntax::Oniguruma for the differences smoothed over).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct pcre2_real_code_8;

namespace statescope::tok {

using ByteRange = std::pair<std::size_t, std::size_t>;

class Regex {
  public:
    enum class Syntax {
        // A pattern from tokenizer.json, written for Oniguruma: `^`/`$` are line anchors and
        // `\s` is Unicode White_Space (PCRE2's \s also takes U+180E).
        Oniguruma,
        // A pattern written here for PCRE2.
        Pcre2,
        // Plain text matched literally (HF escapes String patterns into a regex).
        Literal,
    };

    // Throws statescope::Error with PCRE2's message and the offset of the fault.
    Regex(std::string_view pattern, Syntax syntax);

    // Every match, left to right, as Oniguruma's find_iter yields them: an empty match is kept
    // once, and an empty match right where the previous match ended is skipped by one character.
    std::vector<ByteRange> find_all(std::string_view text) const;

    const std::string& pattern() const { return pattern_; }

  private:
    std::string pattern_;
    std::string literal_;  // non-empty when matched with a plain substring search
    std::shared_ptr<pcre2_real_code_8> code_;
};

}  // namespace statescope::tok
