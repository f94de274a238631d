// Whitespace control, checked against Jinja2 3.1 with trim_blocks=True, lstrip_blocks=True
// (HF's settings). Each expectation is what jinja2 renders; the comments give the rule that
// explains it.
#include "tests/chat/chat_test_util.h"

namespace statescope::chat_test {
namespace {

// trim_blocks: the first newline after %} (and #}) goes; text otherwise stays as written.
TEST(chat_whitespace, TrimBlocksDropsOneNewlineAfterBlockTags) {
    // '{% if true %}\n' and '{% endif %}\n' lose their newline: 'a\n' + 'b\n' + 'c'.
    EXPECT_EQ(render("a\n"
                     "{% if true %}\n"
                     "b\n"
                     "{% endif %}\n"
                     "c"),
              "a\n"
              "b\n"
              "c");
    // Only one newline is eaten: the second stays.
    EXPECT_EQ(render("{% if true %}\n"
                     "\n"
                     "b{% endif %}"),
              "\n"
              "b");
    // Print tags are not blocks: their newline stays. The source's final newline is dropped
    // (keep_trailing_newline=False).
    EXPECT_EQ(render("{{ 'a' }}\n"
                     "{{ 'b' }}\n"),
              "a\n"
              "b");
    // A comment closes like a block: its newline goes.
    EXPECT_EQ(render("x{# note #}\n"
                     "y"),
              "xy");
}

// lstrip_blocks: spaces/tabs from the start of a line up to {% or {# are dropped, never before {{.
TEST(chat_whitespace, LstripBlocksDropsIndentBeforeBlockTags) {
    // The indents before both tags go, the indents of the text lines 'b' and 'c' stay.
    EXPECT_EQ(render("a\n"
                     "  {% if true %}\n"
                     "  b\n"
                     "  {% endif %}\n"
                     "  c"),
              "a\n"
              "  b\n"
              "  c");
    // Before a print tag the indent stays.
    EXPECT_EQ(render("  {{ 1 }}\n"), "  1");
    // Not at a line start: 'text ' keeps its space (only whitespace-only line prefixes go).
    EXPECT_EQ(render("text {% if true %}x{% endif %} more"), "text x more");
    // Comments are lstripped like blocks, and trimmed after.
    EXPECT_EQ(render("\t {# c #}\n"
                     "z"),
              "z");
    // Python's \s is Unicode: a no-break space counts as indentation too.
    EXPECT_EQ(render("\u00a0 {% if true %}x{% endif %}"), "x");
}

// `{%+` keeps the indentation before the tag; `+%}` keeps the newline after it.
TEST(chat_whitespace, PlusDisablesLstripAndTrim) {
    // '  ' before {%+ stays; '{% endif +%}' keeps its newline, and the next line's indent is text.
    EXPECT_EQ(render("a\n"
                     "  {%+ if true %}\n"
                     "  b\n"
                     "  {% endif +%}\n"
                     "  c"),
              "a\n"
              "    b\n"
              "\n"
              "  c");
}

// `{%-`/`{{-`/`{#-` strip every whitespace character before the tag, newlines included;
// `-%}`/`-}}`/`-#}` strip every whitespace character after it.
TEST(chat_whitespace, MinusStripsAllWhitespace) {
    // All spaces around both tags go: 'abc'.
    EXPECT_EQ(render("a  {%- if true -%}  b  {%- endif -%}  c"), "abc");
    // Same for print tags: 'x1y'.
    EXPECT_EQ(render("x {{- 1 -}} y"), "x1y");
    // And comments: 'xy'.
    EXPECT_EQ(render("x\n"
                     " {#- comment -#} \n"
                     "y"),
              "xy");
    // '{{-' eats '\n ' before it; '{%- endfor' eats the ',' line's newline: '0,1,2,'.
    EXPECT_EQ(render("{%- for i in range(3) %}\n"
                     " {{- i }},\n"
                     "{%- endfor %}"),
              "0,1,2,");
    // '-%}' eats the newline and indent after 'for'; '{%-' eats the newline before endfor.
    EXPECT_EQ(render("{% for i in range(3) -%}\n"
                     "  {{ i }}\n"
                     "{%- endfor %}"),
              "012");
}

// The body of a loop is everything between the tags after trimming: here '  {{ i }}\n' (lstrip does
// not touch the indent before a print tag, trim_blocks removed the newline after the for tag).
TEST(chat_whitespace, LoopBodiesRepeatTheirWhitespace) {
    EXPECT_EQ(render("{% for i in range(3) %}\n"
                     "  {{ i }}\n"
                     "{% endfor %}\n"),
              "  0\n"
              "  1\n"
              "  2\n");
}

// Jinja turns \r\n and \r into \n before lexing, so trim_blocks sees them as one newline.
TEST(chat_whitespace, NewlinesAreNormalised) {
    EXPECT_EQ(render("a\r\n"
                     "b\r\n"
                     "{% if true %}\r\n"
                     "c\r\n"
                     "{% endif %}\r\n"),
              "a\n"
              "b\n"
              "c\n");
}

// {% raw %} keeps its body verbatim; the opening tag does not trim its newline (Jinja's raw regex
// has no trim_blocks suffix) but `{% endraw %}` does, and lstrip applies before both tags.
TEST(chat_whitespace, RawBlocksAreData) {
    EXPECT_EQ(render("{% raw %}\n"
                     "{{ x }}{% endraw %}\n"),
              "\n"
              "{{ x }}");
    EXPECT_EQ(render("  {% raw %} {{ y }} {% endraw %}  \n"
                     "z"),
              " {{ y }}   \n"
              "z");
    EXPECT_EQ(render("a {%- raw -%}  {{x}}  {%- endraw -%} b"), "a{{x}}b");
}

// The shape real templates use: `{%- ... %}` on indented lines with `{{- ... }}` output.
TEST(chat_whitespace, ChatTemplateIdioms) {
    EXPECT_EQ(render("{%- for m in messages %}\n"
                     "    {{- '<|' + m.role + '|>\\n' + m.content + '\\n' }}\n"
                     "{%- endfor %}\n"
                     "{%- if true %}\n"
                     "    {{- '<|assistant|>\\n' }}\n"
                     "{%- endif %}\n"),
              "<|user|>\n"
              "hi\n"
              "<|assistant|>\n"
              "yo\n"
              "<|assistant|>\n");
    // A macro body keeps its own lines: '  inner\n'.
    EXPECT_EQ(render("{% macro m() %}\n"
                     "  inner\n"
                     "{% endmacro %}\n"
                     "[{{ m() }}]"),
              "[  inner\n"
              "]");
    // lstrip removes the indent before {% if %}; the spaces after {% endif %} are text.
    EXPECT_EQ(render("line1  \n"
                     "   {% if false %}x{% endif %}   \n"
                     "line3"),
              "line1  \n"
              "   \n"
              "line3");
}

}  // namespace
}  // namespace statescope::chat_test
