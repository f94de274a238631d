// Tokenizer for the Jinja2 subset, with Jinja2's whitespace control as HF configures it
// (trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False), matching jinja2/lexer.py:
// - newlines \r\n and \r become \n, and one trailing newline of the source is dropped;
// - `{%- ` / `{{- ` / `{#- ` strip all whitespace before the tag, ` -%}` / ` -}}` / ` -#}` all
// after;
// - lstrip_blocks: spaces/tabs between a line start and `{%` or `{#` (not `{{`) are dropped unless
//   the tag opens with `+` (`{%+`);
// - trim_blocks: one newline right after `%}` or `#}` is dropped unless the tag closes with `+%}`;
// - `{% raw %}...{% endraw %}` is data; comments produce nothing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace statescope::jinja {

enum class Tok : std::uint8_t {
    Data,
    VariableBegin,
    VariableEnd,
    BlockBegin,
    BlockEnd,
    Name,
    String,
    Integer,
    Float,
    Operator,
    Eof
};

struct Token {
    Tok type;
    int line;
    std::string text;  // data, name, decoded string literal, operator spelling
    std::int64_t int_value = 0;
    double float_value = 0.0;
};

// Throws jinja::Failure (with line) on lexical errors: unterminated tags, strings, bad characters.
std::vector<Token> tokenize(std::string_view source);

}  // namespace statescope::jinja
