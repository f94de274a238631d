// Filters, tests, Python str/dict/list methods and HF's tojson. Expected outputs are what
// jinja2 3.1 renders (with HF's tojson) for default_vars().
#include "tests/chat/chat_test_util.h"

namespace statescope::chat_test {
namespace {

// trim/upper/lower/capitalize/title (Jinja's title splits on [-\s({[<], unlike str.title), replace,
// indent (Jinja 3: first=False, blank=False, a trailing newline adds no indented line), center,
// truncate, wordcount, format (printf-style), string, safe, escape.
TEST(chat_filters, StringFilters) {
    EXPECT_EQ(render("{{ '  x  '|trim }}|{{ 'xxhixx'|trim('x') }}|{{ 'Hello'|upper }}|{{ "
                     "'Hello'|lower }}|{{ 'hello world'|capitalize }}"),
              "x|hi|HELLO|hello|Hello world");
    EXPECT_EQ(render("{{ 'hELLO wORLD-foo (bar) x_y'|title }}|{{ \"they're bill's\"|title }}|{{ "
                     "\"they're\".title() }}"),
              "Hello World-Foo (Bar) X_y|They're Bill's|They'Re");
    EXPECT_EQ(render("{{ 'aaa'|replace('a', 'b') }}|{{ 'aaa'|replace('a', 'b', 2) }}|{{ "
                     "'abc'|replace('', '-') }}"),
              "bbb|bba|-a-b-c-");
    EXPECT_EQ(render("{{ 'a\\nb\\n\\nc'|indent }}|{{ 'a\\nb'|indent(2, true) }}|{{ "
                     "'a\\n\\nb\\n'|indent(2, blank=true) }}|{{ 'x\\ny'|indent('> ') }}"),
              "a\n"
              "    b\n"
              "\n"
              "    c|  a\n"
              "  b|a\n"
              "  \n"
              "  b\n"
              "  |x\n"
              "> y");
    EXPECT_EQ(
        render(
            "{{ 'abc'|center(9) }}|{{ 'x'*30|truncate(10) if false else ('x'*30)|truncate(10) "
            "}}|{{ 'hello world here'|truncate(12, leeway=0) }}|{{ 'hello world foo'|wordcount }}"),
        "   abc   |xxxxxxx...|hello...|3");
    EXPECT_EQ(
        render(
            "{{ '%s-%d'|format('a', 3) }}|{{ '%(x)s'|format(x=1) }}|{{ "
            "'%05.1f|%-4d|%x|%r'|format(3.14159, 7, 255, 'q') }}|{{ '%s and %s' % ('a', 'b') }}"),
        "a-3|1|003.1|7   |ff|'q'|a and b");
    EXPECT_EQ(render("{{ 42|string }}|{{ [1]|string }}|{{ none|string }}|{{ 'x'|safe }}|{{ '<a "
                     "href=\"x\">&\\'</a>'|e }}"),
              "42|[1]|None|x|&lt;a href=&#34;x&#34;&gt;&amp;&#39;&lt;/a&gt;");
}

// select/reject/map/unique/items/reverse return one-shot generators in Jinja2: they must go through
// |list or a loop before |length, and |last cannot take them.
TEST(chat_filters, SequenceFilters) {
    EXPECT_EQ(render("{{ l|join(', ') }}|{{ l|join }}|{{ messages|join(',', attribute='role') "
                     "}}|{{ [1, none]|join('-') }}"),
              "3, 1, 2|312|user,assistant|1-None");
    EXPECT_EQ(render("{{ l|first }}|{{ l|last }}|{{ []|first }}|{{ 'abc'|first }}|{{ d|first }}|{{ "
                     "'abc'|last }}"),
              "3|2||a|a|c");
    EXPECT_EQ(render("{{ l|length }}|{{ l|count }}|{{ 'héllo'|length }}|{{ d|length }}|{{ "
                     "'abc'|list }}|{{ d|list }}"),
              "3|3|5|3|['a', 'b', 'c']|['a', 'items', 'b']");
    EXPECT_EQ(render("{{ l|sort }}|{{ l|sort(reverse=true) }}|{{ ['b', 'A', 'c']|sort }}|{{ ['b', "
                     "'A', 'c']|sort(case_sensitive=true) }}"),
              "[1, 2, 3]|[3, 2, 1]|['A', 'b', 'c']|['A', 'b', 'c']");
    EXPECT_EQ(render("{{ [{'a':2,'b':1},{'a':1,'b':2},{'a':1,'b':1}]|sort(attribute='a,b') }}|{{ "
                     "messages|sort(attribute='role')|map(attribute='role')|list }}"),
              "[{'a': 1, 'b': 1}, {'a': 1, 'b': 2}, {'a': 2, 'b': 1}]|['assistant', 'user']");
    EXPECT_EQ(render("{{ l|reverse|list }}|{{ 'abc'|reverse }}|{{ [1,2,1,'a','A']|unique|list "
                     "}}|{{ ['a','A']|unique(case_sensitive=true)|list }}"),
              "[2, 1, 3]|cba|[1, 2, 'a']|['a', 'A']");
    EXPECT_EQ(render("{{ d|dictsort }}|{{ {'b':1,'A':2}|dictsort }}|{{ "
                     "{'b':1,'a':2}|dictsort(by='value') }}|{{ d|items|list }}"),
              "[('a', 1), ('b', [1, 2]), ('items', 2)]|[('A', 2), ('b', 1)]|[('b', 1), ('a', "
              "2)]|[('a', 1), ('items', 2), ('b', [1, 2])]");
    EXPECT_EQ(render("{{ messages|selectattr('role', 'equalto', 'user')|list }}|{{ "
                     "messages|rejectattr('role', 'eq', 'user')|map(attribute='content')|list }}"),
              "[{'role': 'user', 'content': 'hi'}]|['yo']");
    EXPECT_EQ(render("{{ [0,1,2,'',none,'x']|select|list }}|{{ [0,1,2]|reject|list }}|{{ "
                     "l|select('odd')|list }}|{{ l|select('>', 1)|list }}|{{ l|select('in', [1, "
                     "3])|list }}"),
              "[1, 2, 'x']|[0]|[3, 1]|[3, 2]|[3, 1]");
    EXPECT_EQ(render("{{ l|map('string')|join('-') }}|{{ ['a','b']|map('upper')|list }}|{{ "
                     "messages|map(attribute='missing', default='dflt')|list }}|{{ "
                     "[[1,2]]|map(attribute='1')|list }}"),
              "3-1-2|['A', 'B']|['dflt', 'dflt']|[2]");
    EXPECT_EQ(render("{% if l|select('gt', 100) %}a generator is always true{% endif %}|{% set g = "
                     "l|select('odd') %}{{ g|list }}{{ g|list }}"),
              "a generator is always true|[3, 1][]");
    EXPECT_EQ(render("{{ l|sum }}|{{ [1.5, 2]|sum }}|{{ l|max }}|{{ l|min }}|{{ ['b','A']|max "
                     "}}|{{ []|max }}|{{ messages|max(attribute='role') }}"),
              "6|3.5|3|1|b||{'role': 'user', 'content': 'hi'}");
    EXPECT_EQ(render("{{ l|batch(2)|list }}|{{ l|batch(2, 'x')|list }}|{{ "
                     "[1,2,3,4,5]|slice(2)|list }}|{{ d|attr('a') }}"),
              "[[3, 1], [2]]|[[3, 1], [2, 'x']]|[[1, 2, 3], [4, 5]]|");
}

TEST(chat_filters, NumberFilters) {
    EXPECT_EQ(
        render("{{ '42'|int }}|{{ '42.7'|int }}|{{ 'x'|int }}|{{ 'x'|int(7) }}|{{ 3.9|int }}|{{ "
               "'ff'|int(base=16) }}|{{ ' 12 '|int }}|{{ '1_000'|int }}|{{ true|int }}"),
        "42|42|0|7|3|255|12|1000|1");
    EXPECT_EQ(render("{{ '1.5'|float }}|{{ 'x'|float }}|{{ 3|float }}|{{ ' 2e3 '|float }}|{{ "
                     "'inf'|float }}"),
              "1.5|0.0|3.0|2000.0|inf");
    EXPECT_EQ(
        render("{{ 2.5|round }}|{{ 3.5|round }}|{{ 2.675|round(2) }}|{{ 3.14159|round(2, 'floor') "
               "}}|{{ 3.1|round(0, 'ceil') }}|{{ 5|round }}|{{ -3|abs }}|{{ -2.5|abs }}"),
        "2.0|4.0|2.67|3.14|4.0|5|3|2.5");
    EXPECT_EQ(render("{{ ''|default('e', true) }}|{{ ''|d('e') }}|{{ none|default('x') }}|{{ "
                     "none|default('x', true) }}"),
              "e||None|x");
}

// Python's type lattice: bool is a number but not an integer, Undefined is iterable, dicts are
// sequences.
TEST(chat_filters, Tests) {
    EXPECT_EQ(render("{{ 1 is odd }}{{ 2 is even }}{{ 9 is divisibleby 3 }}{{ 9 is divisibleby(4) "
                     "}}{{ 'a' is string }}{{ 1 is number }}{{ true is number }}{{ true is integer "
                     "}}{{ 1.0 is float }}{{ 1 is integer }}"),
              "TrueTrueTrueFalseTrueTrueTrueFalseTrueTrue");
    EXPECT_EQ(render("{{ d is mapping }}{{ l is mapping }}{{ l is iterable }}{{ 'x' is iterable "
                     "}}{{ 5 is iterable }}{{ undefinedvar is iterable }}{{ l is sequence }}{{ d "
                     "is sequence }}{{ 5 is sequence }}"),
              "TrueFalseTrueTrueFalseTrueTrueTrueFalse");
    EXPECT_EQ(render("{{ true is boolean }}{{ 1 is boolean }}{{ true is true }}{{ 1 is true }}{{ "
                     "false is false }}{{ none is none }}{{ 'abc' is lower }}{{ 'ABC' is upper "
                     "}}{{ 'a' is in 'abc' }}{{ 3 is in l }}"),
              "TrueFalseTrueFalseTrueTrueTrueTrueTrueTrue");
    EXPECT_EQ(
        render("{{ 1 is eq 1 }}{{ 1 is equalto 2 }}{{ 1 is ne 2 }}{{ 2 is gt 1 }}{{ 2 is ge 2 }}{{ "
               "1 is lt 2 }}{{ 1 is le 0 }}{{ 2 is greaterthan 1 }}{{ 1 is lessthan 2 }}"),
        "TrueFalseTrueTrueTrueTrueFalseTrueTrue");
    EXPECT_EQ(render("{{ none is sameas none }}{{ 'upper' is filter }}{{ 'odd' is test }}{{ 'nope' "
                     "is filter }}{{ d.get is callable }}{{ 1 is callable }}{{ 1 is not odd }}{{ "
                     "not 1 is odd }}{{ d.x is not defined }}"),
              "TrueTrueTrueFalseTrueFalseFalseFalseTrue");
}

// str methods templates call, with CPython's rules (split() on whitespace runs, strip() on Unicode
// whitespace, str.title() on cased runs).
TEST(chat_filters, PythonStringMethods) {
    EXPECT_EQ(render("{{ '  x  '.strip() }}|{{ 'xyx'.strip('x') }}|{{ '  x'.lstrip() }}|{{ "
                     "'x\\n\\n'.rstrip('\\n') }}|{{ s.upper() }}|{{ s.lower() }}|{{ 'hello "
                     "world'.title() }}|{{ 'hELLO'.capitalize() }}"),
              "x|y|x|x|HELLO WORLD|hello world|Hello World|Hello");
    EXPECT_EQ(
        render("{{ 'a,b,,c'.split(',') }}|{{ '  a  b '.split() }}|{{ 'a b c'.split(' ', 1) }}|{{ "
               "'a b c'.rsplit(' ', 1) }}|{{ 'a\\nb\\r\\nc'.splitlines() }}|{{ 'x'.split('x') }}"),
        "['a', 'b', '', 'c']|['a', 'b']|['a', 'b c']|['a b', 'c']|['a', 'b', 'c']|['', '']");
    EXPECT_EQ(render("{{ s.startswith('Hell') }}|{{ s.endswith('ld') }}|{{ s.startswith(('x', "
                     "'H')) }}|{{ s.find('o') }}|{{ s.rfind('o') }}|{{ s.find('z') }}|{{ "
                     "s.count('o') }}|{{ s.index('W') }}"),
              "True|True|True|4|7|-1|2|6");
    EXPECT_EQ(
        render(
            "{{ s.replace('l', 'L') }}|{{ s.replace('l', 'L', 1) }}|{{ ', '.join(['a', 'b']) }}|{{ "
            "'x'.center(5, '*') }}|{{ 'x'.ljust(3) }}|{{ 'x'.rjust(3, '0') }}|{{ '42'.zfill(5) }}"),
        "HeLLo WorLd|HeLlo World|a, b|**x**|x  |00x|00042");
    EXPECT_EQ(
        render(
            "{{ '12'.isdigit() }}|{{ 'ab'.isalpha() }}|{{ ' '.isspace() }}|{{ 'AB'.isupper() }}|{{ "
            "'a=b'.partition('=') }}|{{ 'abc'.removeprefix('a') }}|{{ 'abc'.removesuffix('c') }}"),
        "True|True|True|True|('a', '=', 'b')|bc|ab");
    EXPECT_EQ(
        render(
            "{{ '{} and {}'.format('a', 'b') }}|{{ '{1}{0}'.format('a', 'b') }}|{{ "
            "'{x}!'.format(x=5) }}|{{ '{:>5}|{:<5}|{:^5}|{:05d}|{:.2f}|{:,}|{:x}|{!r}'.format('a', "
            "'b', 'c', 42, 3.14159, 1234567, 255, 'q') }}"),
        "a and b|ba|5!|    a|b    |  c  |00042|3.14|1,234,567|ff|'q'");
    EXPECT_EQ(
        render("{{ 'ß'.upper() }}|{{ 'ÉCOLE'.lower() }}|{{ 'émile zola'.title() }}|{{ ' "
               "\\u3000x\\u00a0'.strip()|length }}|{{ 'héllo'[1:3] }}|{{ 'héllo'.find('l') }}"),
        "SS|école|Émile Zola|1|él|2");
    EXPECT_EQ(render("{{ d.get('a') }}|{{ d.get('zz') }}|{{ d.get('zz', 'dflt') }}|{{ "
                     "d.keys()|list }}|{{ l.index(1) }}|{{ l.count(3) }}|{{ (1, 1).count(1) }}"),
              "1|None|dflt|['a', 'items', 'b']|1|1|2");
}

// HF's tojson is json.dumps(x, ensure_ascii=False, indent=indent, separators=separators,
// sort_keys=sort_keys): insertion order kept, Unicode kept, ', '/': ' separators on one line and
// ',' with an indent, floats like Python, tuples as arrays.
TEST(chat_filters, ToJsonAsHfDefinesIt) {
    EXPECT_EQ(render("{{ d|tojson }}|{{ l|tojson }}|{{ 'x'|tojson }}|{{ none|tojson }}|{{ "
                     "1.0|tojson }}|{{ true|tojson }}|{{ u8|tojson }}|{{ (1, 2)|tojson }}"),
              "{\"a\": 1, \"items\": 2, \"b\": [1, 2]}|[3, 1, 2]|\"x\"|null|1.0|true|\"héllo wörld "
              "✓ 😀\"|[1, 2]");
    EXPECT_EQ(render("{{ nested|tojson(indent=2) }}"),
              "{\n"
              "  \"x\": {\n"
              "    \"y\": [\n"
              "      {\n"
              "        \"z\": \"deep\"\n"
              "      }\n"
              "    ]\n"
              "  }\n"
              "}");
    EXPECT_EQ(render("{{ d|tojson(indent=4) }}|{{ []|tojson(indent=2) }}|{{ {}|tojson(indent=2) "
                     "}}|{{ [[]]|tojson(indent=1) }}"),
              "{\n"
              "    \"a\": 1,\n"
              "    \"items\": 2,\n"
              "    \"b\": [\n"
              "        1,\n"
              "        2\n"
              "    ]\n"
              "}|[]|{}|[\n"
              " []\n"
              "]");
    EXPECT_EQ(render("{{ d|tojson(separators=(',', ':')) }}|{{ {'b': 1, 'a': [1, "
                     "2]}|tojson(sort_keys=true) }}|{{ u8|tojson(ensure_ascii=true) }}"),
              "{\"a\":1,\"items\":2,\"b\":[1,2]}|{\"a\": [1, 2], \"b\": 1}|\"h\\u00e9llo "
              "w\\u00f6rld \\u2713 \\ud83d\\ude00\"");
    EXPECT_EQ(
        render("{{ '\\u0000\\u001f\\u007f\"\\\\/\\b\\f\\n\\r\\t'|tojson }}|{{ {1: 'a', none: 'b', "
               "true: 'c', 1.5: 'd'}|tojson }}|{{ [1.0, 2.5, 1e20, 1e-10, -0.0]|tojson }}"),
        "\"\\u0000\\u001f\177\\\"\\\\/\\b\\f\\n\\r\\t\"|{\"1\": \"c\", \"null\": \"b\", \"1.5\": "
        "\"d\"}|[1.0, 2.5, 1e+20, 1e-10, -0.0]");
    EXPECT_EQ(render("{{ tools|tojson }}",
                     nlohmann::ordered_json::parse(
                         "{\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\", "
                         "\"description\": \"Ünïcode — “quotes”\", \"parameters\": {\"z\": 1, "
                         "\"a\": [true, null, 0.5]}}}]}")),
              "[{\"type\": \"function\", \"function\": {\"name\": \"f\", \"description\": "
              "\"Ünïcode — “quotes”\", \"parameters\": {\"z\": 1, \"a\": [true, null, 0.5]}}}]");
}

}  // namespace
}  // namespace statescope::chat_test
