#include "core/chat/jinja_lexer.h"

#include <cstdlib>
#include <limits>

#include "core/chat/jinja_error.h"
#include "core/chat/py_string.h"

namespace statescope::jinja {

namespace {

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_name_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           static_cast<unsigned char>(c) >= 0x80;
}
bool is_name_char(char c) {
    return is_name_start(c) || is_digit(c);
}

// Jinja's data regexes use Python's `\s`, which is Unicode whitespace (U+00A0, U+3000 ...), so
// whitespace tests decode code points rather than test bytes.
std::size_t space_len(std::string_view s, std::size_t i) {
    if (i >= s.size()) return 0;
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) return py::is_space(b) ? 1 : 0;
    const std::size_t n = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
    const std::u32string cp = py::decode(s.substr(i, n));
    return !cp.empty() && py::is_space(cp[0]) ? n : 0;
}

std::size_t skip_spaces(std::string_view s, std::size_t i) {
    while (std::size_t n = space_len(s, i)) i += n;
    return i;
}

std::string rstrip_spaces(std::string_view s) {
    return py::rstrip(s);
}

bool all_spaces(std::string_view s) {
    if (s.empty()) return false;
    return skip_spaces(s, 0) == s.size();
}

// `(\d+_)*\d+` starting at i; returns the end or npos.
std::size_t match_digits(std::string_view s, std::size_t i) {
    if (i >= s.size() || !is_digit(s[i])) return std::string_view::npos;
    while (true) {
        while (i < s.size() && is_digit(s[i])) ++i;
        if (i + 1 < s.size() && s[i] == '_' && is_digit(s[i + 1])) {
            ++i;
            continue;
        }
        return i;
    }
}

std::string without_underscores(std::string_view s) {
    std::string out;
    for (char c : s)
        if (c != '_') out += c;
    return out;
}

// Python's "unicode-escape" decoding of a literal body, after Jinja's encode("ascii",
// "backslashreplace"): a backslash before a non-ASCII character therefore sees that character's
// \xNN / \uNNNN / \UNNNNNNNN spelling, which is kept as text.
std::string unescape(std::string_view body) {
    std::string out;
    std::size_t i = 0;
    auto hex_value = [&](std::size_t start, int n) -> long {
        if (start + n > body.size()) return -1;
        long v = 0;
        for (int k = 0; k < n; ++k) {
            const char c = body[start + k];
            int d;
            if (c >= '0' && c <= '9')
                d = c - '0';
            else if (c >= 'a' && c <= 'f')
                d = c - 'a' + 10;
            else if (c >= 'A' && c <= 'F')
                d = c - 'A' + 10;
            else
                return -1;
            v = v * 16 + d;
        }
        return v;
    };
    auto put = [&](long cp) {
        if (cp >= 0xD800 && cp <= 0xDFFF) fail("string literal holds a lone surrogate escape");
        if (cp > 0x10FFFF) fail("string literal holds an illegal Unicode character escape");
        py::append_utf8(out, static_cast<char32_t>(cp));
    };
    while (i < body.size()) {
        const char c = body[i];
        if (c != '\\') {
            out += c;
            ++i;
            continue;
        }
        if (i + 1 >= body.size()) fail("string literal ends with a lone backslash");
        const char e = body[i + 1];
        i += 2;
        switch (e) {
            case '\n':
                break;
            case '\\':
                out += '\\';
                break;
            case '\'':
                out += '\'';
                break;
            case '"':
                out += '"';
                break;
            case 'a':
                out += '\a';
                break;
            case 'b':
                out += '\b';
                break;
            case 'f':
                out += '\f';
                break;
            case 'n':
                out += '\n';
                break;
            case 'r':
                out += '\r';
                break;
            case 't':
                out += '\t';
                break;
            case 'v':
                out += '\v';
                break;
            case 'x':
            case 'u':
            case 'U': {
                const int n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                const long v = hex_value(i, n);
                if (v < 0) fail(std::string("truncated \\") + e + std::string(n, 'X') + " escape");
                put(v);
                i += n;
                break;
            }
            case 'N':
                fail("\\N{...} escapes are not supported in string literals");
            default:
                if (e >= '0' && e <= '7') {
                    long v = e - '0';
                    for (int k = 0; k < 2 && i < body.size() && body[i] >= '0' && body[i] <= '7';
                         ++k, ++i)
                        v = v * 8 + (body[i] - '0');
                    put(v);
                } else if (static_cast<unsigned char>(e) >= 0x80) {
                    // Back up to re-read the whole UTF-8 character and spell it as Python would.
                    std::size_t start = i - 1, end = start + 1;
                    while (end < body.size() &&
                           (static_cast<unsigned char>(body[end]) & 0xC0) == 0x80)
                        ++end;
                    const char32_t cp = py::decode(body.substr(start, end - start))[0];
                    static const char* hex = "0123456789abcdef";
                    const int digits = cp < 0x100 ? 2 : cp < 0x10000 ? 4 : 8;
                    out += '\\';
                    out += digits == 2 ? 'x' : digits == 4 ? 'u' : 'U';
                    for (int k = digits - 1; k >= 0; --k) out += hex[(cp >> (4 * k)) & 15];
                    i = end;
                } else {
                    out += '\\';  // unknown escapes stay as written (Python keeps them)
                    out += e;
                }
        }
    }
    return out;
}

class Lexer {
  public:
    explicit Lexer(std::string_view source) {
        // newline_re.split(source)[::2], drop one trailing "", join with "\n".
        src_.reserve(source.size());
        for (std::size_t i = 0; i < source.size(); ++i) {
            if (source[i] == '\r') {
                src_ += '\n';
                if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
            } else {
                src_ += source[i];
            }
        }
        if (!src_.empty() && src_.back() == '\n') src_.pop_back();
    }

    std::vector<Token> run() {
        const std::size_t n = src_.size();
        while (pos_ < n) {
            std::size_t p = pos_;
            while (p + 1 < n && !(src_[p] == '{' &&
                                  (src_[p + 1] == '{' || src_[p + 1] == '%' || src_[p + 1] == '#')))
                ++p;
            if (p + 1 >= n) {
                emit_data(std::string(src_.substr(pos_)));
                advance_to(n);
                break;
            }
            const char kind = src_[p + 1];
            std::size_t after = p + 2;
            char sign = 0;
            if (after < n && (src_[after] == '-' || src_[after] == '+')) sign = src_[after++];
            std::size_t raw_end = 0;
            if (kind == '%') raw_end = match_raw_begin(p);

            emit_data(strip_text(src_.substr(pos_, p - pos_), sign, kind != '{'));
            advance_to(p);
            const int tag_line = line_;
            if (raw_end) {
                advance_to(raw_end);
                line_starting_ = src_[raw_end - 1] == '\n';
                lex_raw_body(tag_line);
            } else if (kind == '#') {
                lex_comment(after, tag_line);
            } else {
                push(kind == '%' ? Tok::BlockBegin : Tok::VariableBegin, tag_line);
                advance_to(after);
                lex_tag(kind == '%', tag_line);
            }
        }
        push(Tok::Eof, line_);
        return std::move(out_);
    }

  private:
    void advance_to(std::size_t p) {
        for (std::size_t i = pos_; i < p; ++i) line_ += src_[i] == '\n';
        pos_ = p;
    }

    void push(Tok type, int line, std::string text = {}) {
        out_.push_back(Token{type, line, std::move(text)});
    }

    void emit_data(std::string text) {
        if (!text.empty()) push(Tok::Data, line_, std::move(text));
    }

    // OptionalLStrip: `-` strips all trailing whitespace of the text; otherwise lstrip_blocks drops
    // the whitespace between the last line start and a block/comment tag.
    std::string strip_text(std::string_view text, char sign, bool lstrip_allowed) const {
        if (sign == '-') return rstrip_spaces(text);
        if (sign != '+' && lstrip_allowed) {
            const std::size_t nl = text.rfind('\n');
            const std::size_t l_pos = nl == std::string_view::npos ? 0 : nl + 1;
            if ((l_pos > 0 || line_starting_) && all_spaces(text.substr(l_pos)))
                return std::string(text.substr(0, l_pos));
        }
        return std::string(text);
    }

    bool starts(std::size_t i, std::string_view what) const {
        return src_.compare(i, what.size(), what) == 0;
    }

    // `{%(-|+|)\s*raw\s*(?:-%}\s*|%})` at p; returns the end of the match or 0.
    std::size_t match_raw_begin(std::size_t p) const {
        std::size_t i = p + 2;
        if (i < src_.size() && (src_[i] == '-' || src_[i] == '+')) ++i;
        i = skip_spaces(src_, i);
        if (!starts(i, "raw")) return 0;
        i = skip_spaces(src_, i + 3);
        if (starts(i, "-%}")) return skip_spaces(src_, i + 3);
        if (starts(i, "%}")) return i + 2;
        return 0;
    }

    // After the end of a block or comment tag: `+` keeps everything, `-` eats all whitespace,
    // plain ones eat one newline (trim_blocks).
    std::size_t tag_suffix(std::size_t end, char sign) const {
        if (sign == '-') return skip_spaces(src_, end);
        if (sign == 0 && end < src_.size() && src_[end] == '\n') return end + 1;
        return end;
    }

    void lex_raw_body(int line) {
        for (std::size_t q = src_.find("{%", pos_); q != std::string::npos;
             q = src_.find("{%", q + 1)) {
            std::size_t i = q + 2;
            char sign = 0;
            if (i < src_.size() && (src_[i] == '-' || src_[i] == '+')) sign = src_[i++];
            i = skip_spaces(src_, i);
            if (!starts(i, "endraw")) continue;
            i = skip_spaces(src_, i + 6);
            char end_sign = 0;
            if (starts(i, "+%}") || starts(i, "-%}")) {
                end_sign = src_[i];
                i += 3;
            } else if (starts(i, "%}")) {
                i += 2;
            } else {
                continue;
            }
            const std::size_t end = tag_suffix(i, end_sign);
            emit_data(strip_text(src_.substr(pos_, q - pos_), sign, true));
            advance_to(end);
            line_starting_ = src_[end - 1] == '\n';
            return;
        }
        throw Failure("Missing end of raw directive", line);
    }

    void lex_comment(std::size_t from, int line) {
        for (std::size_t q = from; q + 1 < src_.size(); ++q) {
            char sign = 0;
            std::size_t close;
            if ((src_[q] == '-' || src_[q] == '+') && starts(q + 1, "#}")) {
                sign = src_[q];
                close = q + 3;
            } else if (starts(q, "#}")) {
                close = q + 2;
            } else {
                continue;
            }
            const std::size_t end = tag_suffix(close, sign);
            advance_to(end);
            line_starting_ = src_[end - 1] == '\n';
            return;
        }
        throw Failure("Missing end of comment tag", line);
    }

    void lex_tag(bool block, int tag_line) {
        std::vector<char> balance;
        const std::size_t n = src_.size();
        while (true) {
            if (balance.empty()) {
                std::size_t end = 0;
                if (block) {
                    if (starts(pos_, "+%}"))
                        end = pos_ + 3;
                    else if (starts(pos_, "-%}"))
                        end = skip_spaces(src_, pos_ + 3);
                    else if (starts(pos_, "%}"))
                        end = tag_suffix(pos_ + 2, 0);
                } else {
                    if (starts(pos_, "-}}"))
                        end = skip_spaces(src_, pos_ + 3);
                    else if (starts(pos_, "}}"))
                        end = pos_ + 2;
                }
                if (end) {
                    push(block ? Tok::BlockEnd : Tok::VariableEnd, line_);
                    advance_to(end);
                    line_starting_ = src_[end - 1] == '\n';
                    return;
                }
            }
            if (pos_ >= n)
                throw Failure(std::string("unexpected end of template, expected '") +
                                  (block ? "end of statement block'" : "end of print statement'"),
                              tag_line);
            if (std::size_t sp = space_len(src_, pos_)) {
                advance_to(pos_ + sp);
                continue;
            }
            if (lex_number()) continue;
            const char c = src_[pos_];
            if (is_name_start(c)) {
                std::size_t e = pos_;
                while (e < n && is_name_char(src_[e])) ++e;
                push(Tok::Name, line_, src_.substr(pos_, e - pos_));
                advance_to(e);
                continue;
            }
            if (c == '\'' || c == '"') {
                std::size_t e = pos_ + 1;
                while (e < n && src_[e] != c) e += src_[e] == '\\' ? 2 : 1;
                if (e >= n)
                    throw Failure(std::string("unterminated string literal (opened by ") + c + ")",
                                  line_);
                push(Tok::String, line_, unescape_at(pos_ + 1, e));
                advance_to(e + 1);
                continue;
            }
            lex_operator(balance);
        }
    }

    std::string unescape_at(std::size_t b, std::size_t e) {
        try {
            return unescape(std::string_view(src_).substr(b, e - b));
        } catch (Failure& f) {
            f.set_line(line_);
            throw;
        }
    }

    bool lex_number() {
        const std::string_view s = src_;
        const std::size_t p = pos_;
        if (p >= s.size() || !is_digit(s[p])) return false;
        // float_re (tried first): digits then `.digits` and/or an exponent; not right after a '.'.
        if (p == 0 || s[p - 1] != '.') {
            std::size_t i = match_digits(s, p);
            std::size_t frac_end = std::string_view::npos;
            if (i < s.size() && s[i] == '.') frac_end = match_digits(s, i + 1);
            std::size_t exp_from = frac_end != std::string_view::npos ? frac_end : i;
            std::size_t exp_end = std::string_view::npos;
            if (exp_from < s.size() && (s[exp_from] == 'e' || s[exp_from] == 'E')) {
                std::size_t j = exp_from + 1;
                if (j < s.size() && (s[j] == '+' || s[j] == '-')) ++j;
                exp_end = match_digits(s, j);
            }
            std::size_t end = exp_end != std::string_view::npos ? exp_end : frac_end;
            if (end != std::string_view::npos) {
                const std::string text = without_underscores(s.substr(p, end - p));
                Token t{Tok::Float, line_, text};
                t.float_value = std::strtod(text.c_str(), nullptr);
                out_.push_back(std::move(t));
                advance_to(end);
                return true;
            }
        }
        // integer_re: 0b/0o/0x with optional single underscores, [1-9](_?\d)*, 0(_?0)*.
        int base = 10;
        std::size_t i = p;
        auto digit_ok = [&](char c) {
            if (base == 2) return c == '0' || c == '1';
            if (base == 8) return c >= '0' && c <= '7';
            if (base == 16) return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
            return is_digit(c);
        };
        if (s[p] == '0' && p + 1 < s.size() &&
            (s[p + 1] == 'b' || s[p + 1] == 'B' || s[p + 1] == 'o' || s[p + 1] == 'O' ||
             s[p + 1] == 'x' || s[p + 1] == 'X')) {
            const char k = static_cast<char>(s[p + 1] | 0x20);
            base = k == 'b' ? 2 : k == 'o' ? 8 : 16;
            std::size_t j = p + 2;
            std::size_t last = std::string_view::npos;
            while (true) {
                std::size_t t = j;
                if (t < s.size() && s[t] == '_') ++t;
                if (t < s.size() && digit_ok(s[t])) {
                    j = t + 1;
                    last = j;
                } else {
                    break;
                }
            }
            if (last == std::string_view::npos) {
                base = 10;  // just "0": the letter lexes as a name after it
            } else {
                i = last;
            }
        }
        if (base == 10) {
            const bool zero = s[p] == '0';
            i = p + 1;
            while (true) {
                std::size_t t = i;
                if (t < s.size() && s[t] == '_') ++t;
                if (t < s.size() && (zero ? s[t] == '0' : is_digit(s[t])))
                    i = t + 1;
                else
                    break;
            }
        }
        const std::string digits =
            without_underscores(s.substr(base == 10 ? p : p + 2, i - (base == 10 ? p : p + 2)));
        std::int64_t v = 0;
        for (char c : digits) {
            const int d = is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10;
            if (v > (std::numeric_limits<std::int64_t>::max() - d) / base)
                throw Failure("integer literal " + std::string(s.substr(p, i - p)) +
                                  " does not fit in 64 bits",
                              line_);
            v = v * base + d;
        }
        Token t{Tok::Integer, line_, std::string(s.substr(p, i - p))};
        t.int_value = v;
        out_.push_back(std::move(t));
        advance_to(i);
        return true;
    }

    void lex_operator(std::vector<char>& balance) {
        static const char* kTwo[] = {"**", "//", "==", "!=", ">=", "<="};
        for (const char* op : kTwo) {
            if (starts(pos_, op)) {
                push(Tok::Operator, line_, op);
                advance_to(pos_ + 2);
                return;
            }
        }
        const char c = src_[pos_];
        static const std::string_view kOne = "+-/*%~[](){}><=.:|,;";
        if (kOne.find(c) == std::string_view::npos) {
            throw Failure(std::string("unexpected char '") + c + "'", line_);
        }
        if (c == '{') balance.push_back('}');
        if (c == '(') balance.push_back(')');
        if (c == '[') balance.push_back(']');
        if (c == '}' || c == ')' || c == ']') {
            if (balance.empty()) throw Failure(std::string("unexpected '") + c + "'", line_);
            const char expected = balance.back();
            balance.pop_back();
            if (expected != c)
                throw Failure(std::string("unexpected '") + c + "', expected '" + expected + "'",
                              line_);
        }
        push(Tok::Operator, line_, std::string(1, c));
        advance_to(pos_ + 1);
    }

    std::string src_;
    std::size_t pos_ = 0;
    int line_ = 1;
    bool line_starting_ = true;
    std::vector<Token> out_;
};

}  // namespace

std::vector<Token> tokenize(std::string_view source) {
    if (!py::valid_utf8(source)) throw Failure("template is not valid UTF-8", 1);
    return Lexer(source).run();
}

}  // namespace statescope::jinja
