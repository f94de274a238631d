// UTF-8 and Unicode character helpers shared by the tokenizer stages. The predicates mirror the
// Rust functions HF tokenizers calls (char::is_whitespace, char::is_numeric, ...), so a stage
// written against them behaves like its Rust counterpart.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace statescope::tok {

// Byte offset of the first byte that does not start a valid UTF-8 sequence (Rust's rules: no
// overlongs, no surrogates, nothing above U+10FFFF), or std::string_view::npos when all is valid.
std::size_t find_invalid_utf8(std::string_view bytes);

// Rust's String::from_utf8_lossy: each maximal invalid subpart becomes one U+FFFD.
std::string utf8_lossy(std::string_view bytes);

// Decodes the code point at `pos` of valid UTF-8 and moves `pos` past it.
char32_t next_code_point(std::string_view text, std::size_t& pos);

// Length in bytes of the UTF-8 sequence that starts with `lead` (1 for a stray byte).
std::size_t utf8_length(unsigned char lead);

void append_utf8(std::string& out, char32_t code_point);
std::string to_utf8(char32_t code_point);

// Unicode White_Space: Rust's char::is_whitespace and the `\s` of its regex crate and Oniguruma.
bool is_white_space(char32_t c);
// General category N* (Nd, Nl, No): Rust's char::is_numeric.
bool is_numeric(char32_t c);
// ASCII punctuation or general category P*: HF's Punctuation pre-tokenizer.
bool is_punctuation(char32_t c);
// The `\w` of Rust's regex crate (Alphabetic, M*, Nd, Pc, Join_Control): added-token single_word.
bool is_word_char(char32_t c);

// Rust's char::to_lowercase appended to `out` (full mapping: U+0130 becomes two code points).
void append_lowercase(std::string& out, char32_t c);

}  // namespace statescope::tok
