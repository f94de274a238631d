#include "core/tokenizer/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/error.h"
#include "core/tokenizer/unicode.h"

namespace statescope::tok {

namespace {

// Oniguruma's `\s`/`\S` are exactly Unicode White_Space; PCRE2's UCP `\s` adds U+180E.
std::string translate_oniguruma(std::string_view pattern) {
    std::string out;
    out.reserve(pattern.size());
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        if (pattern[i] == '\\' && i + 1 < pattern.size()) {
            const char next = pattern[i + 1];
            if (next == 's') {
                out += "\\p{White_Space}";
            } else if (next == 'S') {
                out += "\\P{White_Space}";
            } else {
                out += pattern[i];
                out += next;
            }
            ++i;
        } else {
            out += pattern[i];
        }
    }
    return out;
}

std::string pcre2_message(int code) {
    PCRE2_UCHAR buffer[256];
    pcre2_get_error_message(code, buffer, sizeof(buffer));
    return reinterpret_cast<const char*>(buffer);
}

}  // namespace

Regex::Regex(std::string_view pattern, Syntax syntax) : pattern_(pattern) {
    if (syntax == Syntax::Literal && !pattern.empty()) {
        literal_ = pattern;
        return;
    }
    // An empty literal is compiled as the empty regex: HF escapes it into one, which matches the
    // empty string between every pair of characters.
    const std::string source =
        syntax == Syntax::Oniguruma ? translate_oniguruma(pattern) : std::string(pattern);
    int error = 0;
    PCRE2_SIZE offset = 0;
    std::uint32_t options = PCRE2_UTF | PCRE2_UCP;
    if (syntax == Syntax::Oniguruma) options |= PCRE2_MULTILINE;
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(source.data()), source.size(),
                                     options, &error, &offset, nullptr);
    if (code == nullptr) {
        throw Error("invalid regex \"" + std::string(pattern) + "\": " + pcre2_message(error) +
                    " at offset " + std::to_string(offset));
    }
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter when absent
    code_.reset(code, pcre2_code_free);
}

std::vector<ByteRange> Regex::find_all(std::string_view text) const {
    std::vector<ByteRange> matches;
    if (!literal_.empty()) {
        std::size_t pos = 0;
        while ((pos = text.find(literal_, pos)) != std::string_view::npos) {
            matches.emplace_back(pos, pos + literal_.size());
            pos += literal_.size();
        }
        return matches;
    }
    std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> data(
        pcre2_match_data_create_from_pattern(code_.get(), nullptr), pcre2_match_data_free);
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    std::size_t search_from = 0;
    bool have_last = false;
    std::size_t last_end = 0;
    while (search_from <= text.size()) {
        // The text was validated as UTF-8 once, up front.
        const int rc = pcre2_match(code_.get(), subject, text.size(), search_from,
                                   PCRE2_NO_UTF_CHECK, data.get(), nullptr);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            throw Error("regex \"" + pattern_ + "\" failed while matching: " + pcre2_message(rc));
        }
        const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data.get());
        const std::size_t start = ovector[0];
        const std::size_t end = ovector[1];
        if (start == end && have_last && last_end == end) {
            // Oniguruma's iterator: no empty match where the last one ended; step one character.
            if (search_from >= text.size()) break;
            search_from += utf8_length(static_cast<unsigned char>(text[search_from]));
            continue;
        }
        matches.emplace_back(start, end);
        search_from = end;
        have_last = true;
        last_end = end;
    }
    return matches;
}

}  // namespace statescope::tok
