// Statements: if/for/set/namespace/macro/call/filter/raw/with and Jinja2's scoping rules. Expected
// outputs are what jinja2 3.1 renders with default_vars().
#include "tests/chat/chat_test_util.h"

namespace statescope::chat_test {
namespace {

TEST(chat_statements, IfElifElse) {
    EXPECT_EQ(
        render(
            "{% if false %}A{% elif true %}B{% else %}C{% endif %}|{%if true%}A{%else%}B{%endif%}"),
        "B|A");
    EXPECT_EQ(render("{% if messages[-1].role == 'assistant' %}A{% elif messages[-1].role == "
                     "'user' %}U{% endif %}"),
              "A");
}

// loop.index/index0/revindex/revindex0/first/last/length/previtem/nextitem, cycle() and changed().
TEST(chat_statements, ForLoopVariables) {
    EXPECT_EQ(render("{% for x in l %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ "
                     "loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ "
                     "loop.previtem }}{{ loop.nextitem }};{% endfor %}"),
              "1032TrueFalse31;2121FalseFalse332;3210FalseTrue31;");
    EXPECT_EQ(
        render("{% for x in l %}{{ loop.cycle('odd', 'even') }}{{ loop.depth }}{% endfor %}|{% for "
               "x in [1,1,2,2,3] %}{% if loop.changed(x) %}{{ x }}{% endif %}{% endfor %}"),
        "odd1even1odd1|123");
    EXPECT_EQ(render("{% for x in l %}{% set outer = loop %}{% for y in [1] %}{{ outer.index }}{{ "
                     "loop.index }}{% endfor %}{% endfor %}"),
              "112131");
}

// Tuple unpacking, dict/string iteration, the `if` filter (loop.length counts kept items), else,
// filters on the iterable, break and continue.
TEST(chat_statements, ForLoopForms) {
    EXPECT_EQ(render("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}|{% for k in d %}{{ k "
                     "}};{% endfor %}|{% for ch in 'abc' %}{{ ch }}-{% endfor %}"),
              "a=1;items=2;b=[1, 2];|a;items;b;|a-b-c-");
    EXPECT_EQ(render("{% for (a, b), c in [((1, 2), 3)] %}{{ a }}{{ b }}{{ c }}{% endfor %}|{% for "
                     "a, b in [[1, 2], [3, 4]] %}{{ a + b }}{% endfor %}"),
              "123|37");
    EXPECT_EQ(render("{% for x in l if x > 1 %}{{ x }}:{{ loop.length }}{% else %}none{% endfor "
                     "%}|{% for x in l if x > 5 %}{{ x }}{% else %}none{% endfor %}"),
              "3:22:2|none");
    EXPECT_EQ(render("{% for x in l|sort %}{{ x }}{% endfor %}|{% for x in "
                     "messages|selectattr('role', 'eq', 'user') %}{{ x.content }}{% endfor %}"),
              "123|hi");
    EXPECT_EQ(render("{% for x in l %}{% if x == 1 %}{% break %}{% endif %}{{ x }}{% endfor %}|{% "
                     "for x in l %}{% if x == 1 %}{% continue %}{% endif %}{{ x }}{% endfor %}"),
              "3|32");
    EXPECT_EQ(render("{% for x in 'ab' %}{% for y in 'cd' %}{{ x }}{{ y }}{% if y == 'c' %}{% "
                     "break %}{% endif %}{% endfor %}{% endfor %}"),
              "acbc");
}

// Jinja2 scoping: a loop body is a fresh scope each iteration (reads fall back to the outer value),
// `if` opens no scope, set/filter blocks and macros have their own; macros see later top-level
// sets.
TEST(chat_statements, Scoping) {
    EXPECT_EQ(render("{% set x = 1 %}{% for i in range(3) %}{{ x }}{% set x = i + 10 %}{{ x }},{% "
                     "endfor %}{{ x }}"),
              "110,111,112,1");
    EXPECT_EQ(
        render(
            "{% for i in range(3) %}{% if i == 1 %}{% set y = 5 %}{% endif %}{{ y }},{% endfor %}"),
        ",5,,");
    EXPECT_EQ(render("{% if true %}{% set z = 3 %}{% endif %}{{ z }}|{% for i in l %}{% set w = i "
                     "%}{% endfor %}[{{ w }}]"),
              "3|[]");
    EXPECT_EQ(render("{% filter upper %}{% set y = 1 %}a{% endfilter %}[{{ y }}]|{% set x %}{% set "
                     "y2 = 1 %}{% endset %}[{{ y2 }}]"),
              "A[]|[]");
    EXPECT_EQ(render("{% macro m() %}{{ y }}{% endmacro %}{% set y = 3 %}{{ m() }}"), "3");
}

TEST(chat_statements, SetAndNamespace) {
    EXPECT_EQ(render("{% set a, b = 1, 2 %}{{ a }}{{ b }}|{% set x %}inner {{ 1 + 1 }}{% endset "
                     "%}[{{ x }}]|{% set x | upper %}abc{% endset %}{{ x }}"),
              "12|[inner 2]|ABC");
    EXPECT_EQ(
        render("{% set ns = namespace(a=1, b='x') %}{% set ns.a = ns.a + 1 %}{{ ns.a }}{{ ns.b "
               "}}{{ ns }}|{% set ns2 = namespace({'k': 1}, j=2) %}{{ ns2.k }}{{ ns2.j }}"),
        "2x<Namespace {'a': 2, 'b': 'x'}>|12");
    EXPECT_EQ(
        render("{% set ns = namespace(found=false) %}{% for m in messages %}{% if m.role == "
               "'assistant' %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.found }}"),
        "True");
    EXPECT_EQ(render("{% set ns = namespace(items=[]) %}{% for m in messages %}{% set ns.items = "
                     "ns.items + [m.role] %}{% endfor %}{{ ns.items }}"),
              "['user', 'assistant']");
    EXPECT_EQ(render("{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}[{{ a }}]"), "3[]");
}

// Defaults (which may use earlier parameters), keyword arguments, varargs/kwargs, recursion,
// call/caller.
TEST(chat_statements, Macros) {
    EXPECT_EQ(render("{% macro m(a, b='B', c=none) %}[{{ a }}{{ b }}{{ c }}]{% endmacro %}{{ m(1) "
                     "}}{{ m(1, 2) }}{{ m(1, c=3) }}{{ m(b=4, a=5) }}"),
              "[1BNone][12None][1B3][54None]");
    EXPECT_EQ(render("{% macro m(a, b=a ~ '!') %}{{ b }}{% endmacro %}{{ m('hi') }}|{% macro m2(a) "
                     "%}[{{ a }}]{% endmacro %}{{ m2() }}"),
              "hi!|[]");
    EXPECT_EQ(render("{% macro m() %}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, k=3) }}"),
              "(1, 2){'k': 3}");
    EXPECT_EQ(render("{% macro m(a, b) %}{{ a }}-{{ b }}{% endmacro %}{{ m(*[1, 2]) }}|{{ "
                     "m(**{'a': 3, 'b': 4}) }}|{{ m(1, b=2,) }}"),
              "1-2|3-4|1-2");
    EXPECT_EQ(render("{% macro outer() %}<{{ caller('x') }}>{% endmacro %}{% call(v) outer() %}got "
                     "{{ v }}{% endcall %}"),
              "<got x>");
    EXPECT_EQ(render("{% macro r(n) %}{% if n > 0 %}{{ n }}{{ r(n - 1) }}{% endif %}{% endmacro "
                     "%}{{ r(5) }}"),
              "54321");
    EXPECT_EQ(render("{% macro m(x) %}{{ x }}{% endmacro %}{% set r = m('a') %}{{ r ~ r }}|{{ "
                     "m('q') | upper }}"),
              "aa|Q");
    EXPECT_EQ(render("{% macro m(x) -%}\n"
                     "  [{{ x }}]\n"
                     "{%- endmacro %}\n"
                     "{{ m(1) }}\n"
                     "{{ m(2) }}"),
              "[1]\n"
              "[2]");
}

TEST(chat_statements, FilterBlocksRawAndComments) {
    EXPECT_EQ(render("{% filter upper %}hello {{ 'x' }}{% endfilter %}|{% filter replace('a', 'b') "
                     "| upper %}banana{% endfilter %}"),
              "HELLO X|BBNBNB");
    EXPECT_EQ(render("{% raw %}{{ not rendered }}{% if %}{% endraw %}|{# a comment #}|{% if true "
                     "%}{# inside #}x{% endif %}"),
              "{{ not rendered }}{% if %}||x");
}

// range (with the sandbox's MAX_RANGE), dict, namespace, strftime_now (pinned to 2026-11-28 here).
TEST(chat_statements, Globals) {
    EXPECT_EQ(render("{{ range(5)|list }}|{{ range(1, 10, 3)|list }}|{{ range(5, 0, -2)|list }}|{{ "
                     "range(0)|list }}"),
              "[0, 1, 2, 3, 4]|[1, 4, 7]|[5, 3, 1]|[]");
    EXPECT_EQ(render("{{ dict(a=1, b=2) }}|{{ dict({'x': 1}, y=2) }}|{{ dict([('k', 'v')]) }}"),
              "{'a': 1, 'b': 2}|{'x': 1, 'y': 2}|{'k': 'v'}");
    EXPECT_EQ(
        render("{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%Y-%m-%d %A %B %j %-d %e %y') }}"),
        "28 Nov 2026|2026-11-28 Saturday November 332 28 28 26");
}

}  // namespace
}  // namespace statescope::chat_test
