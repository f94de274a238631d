#include "core/chat/py_string.h"

#include "core/tokenizer/unicode.h"

#include <algorithm>
#include <stdexcept>

#include <utf8proc.h>

namespace statescope::py {

namespace {

// Decodes one code point at s[i]; the caller guarantees valid UTF-8.
char32_t next_cp(std::string_view s, std::size_t& i) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) {
        ++i;
        return b0;
    }
    int n = b0 >= 0xF0 ? 3 : b0 >= 0xE0 ? 2 : 1;
    char32_t c = b0 & (0x3F >> n);
    ++i;
    for (int k = 0; k < n && i < s.size(); ++k, ++i) c = (c << 6) | (s[i] & 0x3F);
    return c;
}

bool in_chars(char32_t c, const std::u32string& set) {
    return set.find(c) != std::u32string::npos;
}

template <typename Pred>
std::string strip_impl(std::string_view s, bool left, bool right, Pred strip_it) {
    std::u32string u = decode(s);
    std::size_t b = 0, e = u.size();
    if (left)
        while (b < e && strip_it(u[b])) ++b;
    if (right)
        while (e > b && strip_it(u[e - 1])) --e;
    return encode(std::u32string_view(u).substr(b, e - b));
}

std::string strip_any(std::string_view s, const std::optional<std::string>& chars, bool left,
                      bool right) {
    if (!chars) return strip_impl(s, left, right, [](char32_t c) { return is_space(c); });
    const std::u32string set = decode(*chars);
    return strip_impl(s, left, right, [&](char32_t c) { return in_chars(c, set); });
}

char32_t map_case(char32_t c, int how) {
    if (c < 0x80) {
        if (how == 0 && c >= 'a' && c <= 'z') return c - 32;
        if (how == 1 && c >= 'A' && c <= 'Z') return c + 32;
        if (how == 2 && c >= 'a' && c <= 'z') return c - 32;
        return c;
    }
    const auto ic = static_cast<utf8proc_int32_t>(c);
    if (how == 0) return static_cast<char32_t>(utf8proc_toupper(ic));
    if (how == 1) return static_cast<char32_t>(utf8proc_tolower(ic));
    return static_cast<char32_t>(utf8proc_totitle(ic));
}

// The SpecialCasing.txt entries CPython applies that a one-to-one mapping cannot express
// ('ß'.upper() == 'SS', 'ﬁ'.upper() == 'FI', 'İ'.lower() == 'i̇'); how: 0 upper, 1 lower, 2 title.
const char* special_case(char32_t c, int how) {
    switch (c) {
        case 0xDF:
            return how == 0 ? "SS" : how == 2 ? "Ss" : nullptr;
        case 0xFB00:
            return how == 0 ? "FF" : how == 2 ? "Ff" : nullptr;
        case 0xFB01:
            return how == 0 ? "FI" : how == 2 ? "Fi" : nullptr;
        case 0xFB02:
            return how == 0 ? "FL" : how == 2 ? "Fl" : nullptr;
        case 0xFB03:
            return how == 0 ? "FFI" : how == 2 ? "Ffi" : nullptr;
        case 0xFB04:
            return how == 0 ? "FFL" : how == 2 ? "Ffl" : nullptr;
        case 0xFB05:
        case 0xFB06:
            return how == 0 ? "ST" : how == 2 ? "St" : nullptr;
        case 0x149:
            return how == 1 ? nullptr : "\u02BCN";
        case 0x130:
            return how == 1 ? "i\u0307" : nullptr;
        default:
            return nullptr;
    }
}

void append_mapped(std::string& out, char32_t c, int how) {
    if (c >= 0x80)
        if (const char* sp = special_case(c, how)) {
            out += sp;
            return;
        }
    append_utf8(out, map_case(c, how));
}

std::string map_all(std::string_view s, int how) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) append_mapped(out, next_cp(s, i), how);
    return out;
}

bool is_lower_cp(char32_t c) {
    return utf8proc_category(static_cast<utf8proc_int32_t>(c)) == UTF8PROC_CATEGORY_LL;
}
bool is_upper_cp(char32_t c) {
    const auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(c));
    return cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LT;
}
bool is_alpha_cp(char32_t c) {
    const auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(c));
    return cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO;
}
bool is_digit_cp(char32_t c) {
    return utf8proc_category(static_cast<utf8proc_int32_t>(c)) == UTF8PROC_CATEGORY_ND;
}
bool is_numeric_cp(char32_t c) {
    const auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(c));
    return cat == UTF8PROC_CATEGORY_ND || cat == UTF8PROC_CATEGORY_NL ||
           cat == UTF8PROC_CATEGORY_NO;
}

template <typename Pred>
bool all_of_nonempty(std::string_view s, Pred p) {
    if (s.empty()) return false;
    for (std::size_t i = 0; i < s.size();)
        if (!p(next_cp(s, i))) return false;
    return true;
}

// Python's slice-index clamping for find/count: negative counts from the end, then clamp to [0, n].
std::size_t clamp_index(std::optional<std::int64_t> v, std::size_t n, std::size_t fallback) {
    if (!v) return fallback;
    std::int64_t x = *v;
    if (x < 0) x += static_cast<std::int64_t>(n);
    if (x < 0) x = 0;
    if (x > static_cast<std::int64_t>(n)) x = static_cast<std::int64_t>(n);
    return static_cast<std::size_t>(x);
}

std::string pad(std::string_view s, std::int64_t width, char32_t fill, int align) {
    const auto n = static_cast<std::int64_t>(length(s));
    if (width <= n) return std::string(s);
    const std::int64_t total = width - n;
    // CPython's center puts the extra space on the right unless both the margin and width are odd.
    std::int64_t left = 0;
    if (align == 0) left = total / 2 + (total & width & 1);
    if (align == 2) left = total;
    std::string f;
    append_utf8(f, fill);
    std::string out;
    for (std::int64_t i = 0; i < left; ++i) out += f;
    out += s;
    for (std::int64_t i = 0; i < total - left; ++i) out += f;
    return out;
}

}  // namespace

bool valid_utf8(std::string_view s) {
    return tok::find_invalid_utf8(s) == std::string_view::npos;
}

bool is_ascii(std::string_view s) {
    for (char ch : s)
        if (static_cast<unsigned char>(ch) >= 0x80) return false;
    return true;
}

void append_utf8(std::string& out, char32_t c) {
    tok::append_utf8(out, c);
}

std::u32string decode(std::string_view s) {
    std::u32string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) out += next_cp(s, i);
    return out;
}

std::string encode(std::u32string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char32_t c : s) append_utf8(out, c);
    return out;
}

std::size_t length(std::string_view s) {
    std::size_t n = 0;
    for (char ch : s) n += (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
    return n;
}

std::size_t byte_offset(std::string_view s, std::size_t index) {
    std::size_t i = 0;
    for (std::size_t k = 0; k < index && i < s.size(); ++k) next_cp(s, i);
    return i;
}

bool is_space(char32_t c) {
    if (c <= 0x20) return c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
    return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
           c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

bool is_linebreak(char32_t c) {
    return c == '\n' || c == '\r' || c == 0x0B || c == 0x0C || c == 0x1C || c == 0x1D ||
           c == 0x1E || c == 0x85 || c == 0x2028 || c == 0x2029;
}

std::string strip(std::string_view s, const std::optional<std::string>& chars) {
    return strip_any(s, chars, true, true);
}
std::string lstrip(std::string_view s, const std::optional<std::string>& chars) {
    return strip_any(s, chars, true, false);
}
std::string rstrip(std::string_view s, const std::optional<std::string>& chars) {
    return strip_any(s, chars, false, true);
}

std::vector<std::string> split(std::string_view s, const std::optional<std::string>& sep,
                               std::int64_t maxsplit) {
    std::vector<std::string> out;
    if (maxsplit < 0) maxsplit = INT64_MAX;
    if (sep) {
        if (sep->empty()) throw std::invalid_argument("empty separator");
        std::size_t pos = 0;
        while (maxsplit-- > 0) {
            const std::size_t hit = s.find(*sep, pos);
            if (hit == std::string_view::npos) break;
            out.emplace_back(s.substr(pos, hit - pos));
            pos = hit + sep->size();
        }
        out.emplace_back(s.substr(pos));
        return out;
    }
    // sep=None: runs of whitespace separate, leading/trailing whitespace yields no empty strings.
    const std::u32string u = decode(s);
    std::size_t i = 0;
    while (true) {
        while (i < u.size() && is_space(u[i])) ++i;
        if (i >= u.size()) break;
        if (maxsplit-- <= 0) {
            std::size_t e = u.size();
            while (e > i && is_space(u[e - 1])) --e;
            out.push_back(encode(std::u32string_view(u).substr(i, e - i)));
            break;
        }
        std::size_t j = i;
        while (j < u.size() && !is_space(u[j])) ++j;
        out.push_back(encode(std::u32string_view(u).substr(i, j - i)));
        i = j;
    }
    return out;
}

std::vector<std::string> rsplit(std::string_view s, const std::optional<std::string>& sep,
                                std::int64_t maxsplit) {
    if (maxsplit < 0) return split(s, sep, -1);
    std::vector<std::string> out;
    if (sep) {
        if (sep->empty()) throw std::invalid_argument("empty separator");
        std::size_t end = s.size();
        while (maxsplit-- > 0) {
            if (end < sep->size()) break;
            const std::size_t hit = s.rfind(*sep, end - sep->size());
            if (hit == std::string_view::npos) break;
            out.emplace_back(s.substr(hit + sep->size(), end - hit - sep->size()));
            end = hit;
        }
        out.emplace_back(s.substr(0, end));
        std::reverse(out.begin(), out.end());
        return out;
    }
    const std::u32string u = decode(s);
    std::size_t e = u.size();
    while (true) {
        while (e > 0 && is_space(u[e - 1])) --e;
        if (e == 0) break;
        if (maxsplit-- <= 0) {
            std::size_t b = 0;
            while (b < e && is_space(u[b])) ++b;
            out.push_back(encode(std::u32string_view(u).substr(b, e - b)));
            break;
        }
        std::size_t b = e;
        while (b > 0 && !is_space(u[b - 1])) --b;
        out.push_back(encode(std::u32string_view(u).substr(b, e - b)));
        e = b;
    }
    std::reverse(out.begin(), out.end());
    return out;
}

std::vector<std::string> splitlines(std::string_view s, bool keepends) {
    std::vector<std::string> out;
    const std::u32string u = decode(s);
    std::size_t start = 0, i = 0;
    while (i < u.size()) {
        if (!is_linebreak(u[i])) {
            ++i;
            continue;
        }
        std::size_t eol = i + 1;
        if (u[i] == '\r' && eol < u.size() && u[eol] == '\n') ++eol;
        out.push_back(encode(std::u32string_view(u).substr(start, (keepends ? eol : i) - start)));
        start = i = eol;
    }
    if (start < u.size()) out.push_back(encode(std::u32string_view(u).substr(start)));
    return out;
}

std::string upper(std::string_view s) {
    return map_all(s, 0);
}
std::string lower(std::string_view s) {
    return map_all(s, 1);
}

std::string capitalize(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    bool first = true;
    for (std::size_t i = 0; i < s.size();) {
        append_mapped(out, next_cp(s, i), first ? 2 : 1);
        first = false;
    }
    return out;
}

bool is_cased(char32_t c) {
    return is_lower_cp(c) || is_upper_cp(c);
}

std::string title(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    bool previous_cased = false;
    for (std::size_t i = 0; i < s.size();) {
        const char32_t c = next_cp(s, i);
        append_mapped(out, c, previous_cased ? 1 : 2);
        previous_cased = is_cased(c);
    }
    return out;
}

std::string swapcase(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size();) {
        const char32_t c = next_cp(s, i);
        if (is_upper_cp(c))
            append_mapped(out, c, 1);
        else if (is_lower_cp(c))
            append_mapped(out, c, 0);
        else
            append_utf8(out, c);
    }
    return out;
}

bool is_upper(std::string_view s) {
    bool cased = false;
    for (std::size_t i = 0; i < s.size();) {
        const char32_t c = next_cp(s, i);
        if (is_lower_cp(c)) return false;
        cased = cased || is_upper_cp(c);
    }
    return cased;
}

bool is_lower(std::string_view s) {
    bool cased = false;
    for (std::size_t i = 0; i < s.size();) {
        const char32_t c = next_cp(s, i);
        if (is_upper_cp(c)) return false;
        cased = cased || is_lower_cp(c);
    }
    return cased;
}

bool is_digit(std::string_view s) {
    return all_of_nonempty(s, is_digit_cp);
}
bool is_alpha(std::string_view s) {
    return all_of_nonempty(s, is_alpha_cp);
}
bool is_alnum(std::string_view s) {
    return all_of_nonempty(s, [](char32_t c) { return is_alpha_cp(c) || is_numeric_cp(c); });
}
bool is_all_space(std::string_view s) {
    return all_of_nonempty(s, is_space);
}

std::string replace(std::string_view s, std::string_view old, std::string_view repl,
                    std::int64_t count) {
    if (count < 0) count = INT64_MAX;
    std::string out;
    if (old.empty()) {
        for (std::size_t i = 0; i < s.size();) {
            if (count-- > 0) out += repl;
            const std::size_t b = i;
            next_cp(s, i);
            out += s.substr(b, i - b);
        }
        if (count > 0) out += repl;
        return out;
    }
    std::size_t pos = 0;
    while (count-- > 0) {
        const std::size_t hit = s.find(old, pos);
        if (hit == std::string_view::npos) break;
        out += s.substr(pos, hit - pos);
        out += repl;
        pos = hit + old.size();
    }
    out += s.substr(pos);
    return out;
}

std::int64_t find(std::string_view s, std::string_view sub, std::optional<std::int64_t> start,
                  std::optional<std::int64_t> end) {
    const std::size_t n = length(s);
    const std::size_t b = clamp_index(start, n, 0), e = clamp_index(end, n, n);
    if (b > e) return -1;
    const std::size_t bb = byte_offset(s, b), eb = byte_offset(s, e);
    const std::size_t hit = s.substr(bb, eb - bb).find(sub);
    if (hit == std::string_view::npos) return -1;
    return static_cast<std::int64_t>(b + length(s.substr(bb, hit)));
}

std::int64_t rfind(std::string_view s, std::string_view sub, std::optional<std::int64_t> start,
                   std::optional<std::int64_t> end) {
    const std::size_t n = length(s);
    const std::size_t b = clamp_index(start, n, 0), e = clamp_index(end, n, n);
    if (b > e) return -1;
    const std::size_t bb = byte_offset(s, b), eb = byte_offset(s, e);
    const std::size_t hit = s.substr(bb, eb - bb).rfind(sub);
    if (hit == std::string_view::npos) return -1;
    return static_cast<std::int64_t>(b + length(s.substr(bb, hit)));
}

std::int64_t count(std::string_view s, std::string_view sub, std::optional<std::int64_t> start,
                   std::optional<std::int64_t> end) {
    const std::size_t n = length(s);
    const std::size_t b = clamp_index(start, n, 0), e = clamp_index(end, n, n);
    if (b > e) return 0;
    const std::string_view r = s.substr(byte_offset(s, b), byte_offset(s, e) - byte_offset(s, b));
    if (sub.empty()) return static_cast<std::int64_t>(length(r) + 1);
    std::int64_t c = 0;
    for (std::size_t pos = r.find(sub); pos != std::string_view::npos;
         pos = r.find(sub, pos + sub.size()))
        ++c;
    return c;
}

std::string center(std::string_view s, std::int64_t width, char32_t fill) {
    return pad(s, width, fill, 0);
}
std::string ljust(std::string_view s, std::int64_t width, char32_t fill) {
    return pad(s, width, fill, 1);
}
std::string rjust(std::string_view s, std::int64_t width, char32_t fill) {
    return pad(s, width, fill, 2);
}

std::string zfill(std::string_view s, std::int64_t width) {
    const auto n = static_cast<std::int64_t>(length(s));
    if (width <= n) return std::string(s);
    std::string zeros(static_cast<std::size_t>(width - n), '0');
    if (!s.empty() && (s[0] == '+' || s[0] == '-'))
        return std::string(1, s[0]) + zeros + std::string(s.substr(1));
    return zeros + std::string(s);
}

std::string repr(std::string_view s) {
    const bool has_single = s.find('\'') != std::string_view::npos;
    const bool has_double = s.find('"') != std::string_view::npos;
    const char quote = has_single && !has_double ? '"' : '\'';
    std::string out(1, quote);
    static const char* hex = "0123456789abcdef";
    for (std::size_t i = 0; i < s.size();) {
        const char32_t c = next_cp(s, i);
        if (c == static_cast<char32_t>(quote) || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c < 0x20 || c == 0x7F) {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        } else if (c < 0x80) {
            out += static_cast<char>(c);
        } else {
            // str.isprintable(): everything but the "Other" and separator categories (space is
            // fine).
            const auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(c));
            const bool printable = !(cat == UTF8PROC_CATEGORY_CC || cat == UTF8PROC_CATEGORY_CF ||
                                     cat == UTF8PROC_CATEGORY_CS || cat == UTF8PROC_CATEGORY_CO ||
                                     cat == UTF8PROC_CATEGORY_CN || cat == UTF8PROC_CATEGORY_ZL ||
                                     cat == UTF8PROC_CATEGORY_ZP || cat == UTF8PROC_CATEGORY_ZS);
            if (printable) {
                append_utf8(out, c);
            } else {
                int digits = c < 0x100 ? 2 : c < 0x10000 ? 4 : 8;
                out += digits == 2 ? "\\x" : digits == 4 ? "\\u" : "\\U";
                for (int k = digits - 1; k >= 0; --k) out += hex[(c >> (4 * k)) & 15];
            }
        }
    }
    out += quote;
    return out;
}

}  // namespace statescope::py
