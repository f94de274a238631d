// Python 3 str semantics on UTF-8 strings: chat templates call str methods (strip, split, title...)
// and Jinja filters built on them, and HF renders them with CPython, so indices, whitespace and
// case rules follow CPython's code-point model, not bytes. Every string here is valid UTF-8
// (checked on entry).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace statescope::py {

bool valid_utf8(std::string_view s);
bool is_ascii(std::string_view s);
void append_utf8(std::string& out, char32_t c);
std::u32string decode(std::string_view s);
std::string encode(std::u32string_view s);
std::size_t length(std::string_view s);  // code points
// Byte offset of code point `index` (index <= length), for slicing without a full decode.
std::size_t byte_offset(std::string_view s, std::size_t index);

// CPython str.isspace(): the characters str.split()/strip() treat as whitespace, and what `\s`
// matches in Python's re (the Jinja lexer's whitespace control uses both).
bool is_space(char32_t c);
bool is_linebreak(char32_t c);  // str.splitlines() boundaries

std::string strip(std::string_view s, const std::optional<std::string>& chars = std::nullopt);
std::string lstrip(std::string_view s, const std::optional<std::string>& chars = std::nullopt);
std::string rstrip(std::string_view s, const std::optional<std::string>& chars = std::nullopt);
// str.split(sep=None, maxsplit=-1) and str.rsplit; an empty sep is a ValueError in Python (thrown
// here as std::invalid_argument with Python's message).
std::vector<std::string> split(std::string_view s, const std::optional<std::string>& sep,
                               std::int64_t maxsplit = -1);
std::vector<std::string> rsplit(std::string_view s, const std::optional<std::string>& sep,
                                std::int64_t maxsplit = -1);
std::vector<std::string> splitlines(std::string_view s, bool keepends = false);

std::string upper(std::string_view s);
std::string lower(std::string_view s);
std::string capitalize(std::string_view s);  // first char title case, rest lower (Python >= 3.8)
std::string title(std::string_view s);       // str.title(): word = run of cased characters
std::string swapcase(std::string_view s);
bool is_cased(char32_t c);
bool is_upper(std::string_view s);  // str.isupper(): has a cased char and no lowercase one
bool is_lower(std::string_view s);
bool is_digit(std::string_view s);
bool is_alpha(std::string_view s);
bool is_alnum(std::string_view s);
bool is_all_space(std::string_view s);  // str.isspace()

// str.replace(old, new, count); an empty `old` inserts `repl` around every code point, as CPython
// does.
std::string replace(std::string_view s, std::string_view old, std::string_view repl,
                    std::int64_t count = -1);
// str.find / rfind / count over the code-point range [start, end) with Python's index clamping.
std::int64_t find(std::string_view s, std::string_view sub, std::optional<std::int64_t> start = {},
                  std::optional<std::int64_t> end = {});
std::int64_t rfind(std::string_view s, std::string_view sub, std::optional<std::int64_t> start = {},
                   std::optional<std::int64_t> end = {});
std::int64_t count(std::string_view s, std::string_view sub, std::optional<std::int64_t> start = {},
                   std::optional<std::int64_t> end = {});

std::string center(std::string_view s, std::int64_t width, char32_t fill = U' ');
std::string ljust(std::string_view s, std::int64_t width, char32_t fill = U' ');
std::string rjust(std::string_view s, std::int64_t width, char32_t fill = U' ');
std::string zfill(std::string_view s, std::int64_t width);

// repr(str): single quotes unless the text has ' and no ", escapes for \\, the quote, \n \r \t and
// non-printable code points (\xNN, \uNNNN, \UNNNNNNNN).
std::string repr(std::string_view s);

}  // namespace statescope::py
