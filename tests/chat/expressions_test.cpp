// Expressions and values: Python's semantics as Jinja2 evaluates them. Expected outputs are what
// jinja2 3.1 renders with the variables of default_vars().
#include "tests/chat/chat_test_util.h"

namespace statescope::chat_test {
namespace {

// {{ x }} prints str(x): Python's repr for items inside containers, True/None, shortest float repr.
TEST(chat_expressions, PrintsValuesLikePythonStr) {
    EXPECT_EQ(render("{{ none }}|{{ None }}|{{ True }}|{{ false }}|{{ 1.0 }}|{{ -0.0 }}|{{ 2.5e-5 "
                     "}}|{{ 1e16 }}|{{ 1e15 }}|{{ 0.1 + 0.2 }}|{{ 1/7 }}"),
              "None|None|True|False|1.0|-0.0|2.5e-05|1e+16|1000000000000000.0|0.30000000000000004|"
              "0.14285714285714285");
    EXPECT_EQ(render("{{ [1, 'a', none, true, 1.0, {'k': 'v'}, (1,), ()] }}"),
              "[1, 'a', None, True, 1.0, {'k': 'v'}, (1,), ()]");
    EXPECT_EQ(render("{{ (1, 2) }}|{{ (1,) }}|{{ () }}|{{ 1, 2 }}"), "(1, 2)|(1,)|()|(1, 2)");
    EXPECT_EQ(render("{{ {'b': 1, 'a': 2} }}|{{ {1: 'x', 'k': none} }}|{{ {'a': 1, 'a': 2} }}"),
              "{'b': 1, 'a': 2}|{1: 'x', 'k': None}|{'a': 2}");
    EXPECT_EQ(render("{{ \"it's\" }}|{{ [\"it's\", 'a\"b', 'both\\'\"'] }}|{{ ['\\n\\t\\\\', "
                     "'\\x00\\x7f', 'é', '\\u200b'] }}"),
              "it's|[\"it's\", 'a\"b', 'both\\'\"']|['\\n\\t\\\\', '\\x00\\x7f', 'é', '\\u200b']");
    EXPECT_EQ(render("{{ d.keys() }}|{{ d.values() }}|{{ d.items() }}|{{ namespace(a=1) }}"),
              "dict_keys(['a', 'items', 'b'])|dict_values([1, 2, [1, 2]])|dict_items([('a', 1), "
              "('items', 2), ('b', [1, 2])])|<Namespace {'a': 1}>");
}

TEST(chat_expressions, Literals) {
    EXPECT_EQ(render("{{ 1_000 }}|{{ 0x1F }}|{{ 0o17 }}|{{ 0b101 }}|{{ 1.5e3 }}|{{ 1e-7 }}|{{ "
                     "123456789012345678 }}"),
              "1000|31|15|5|1500.0|1e-07|123456789012345678");
    EXPECT_EQ(render("{{ 'a' 'b' \"c\" }}|{{ 'it\\'s' }}|{{ \"q\\\"q\" }}|{{ 'tab\\there' }}|{{ "
                     "'\\x41\\u00e9\\U0001F600' }}|{{ '\\d' }}|{{ '\\101' }}"),
              "abc|it's|q\"q|tab\there|Aé😀|\\d|A");
    EXPECT_EQ(render("{{ [1, 2, ] }}|{{ {'a': 1, } }}|{{ true }}{{ True }}{{ none is none }}"),
              "[1, 2]|{'a': 1}|TrueTrueTrue");
}

// Python semantics: / is true division, // floors, % takes the divisor's sign, ** is
// left-associative in Jinja (2 ** 3 ** 2 == 64), bool is an int.
TEST(chat_expressions, Arithmetic) {
    EXPECT_EQ(render("{{ 1 + 2 * 3 }}|{{ (1 + 2) * 3 }}|{{ 7 // 2 }}|{{ -7 // 2 }}|{{ 7 % -3 }}|{{ "
                     "-7.5 // 2 }}|{{ 7.5 % 2 }}"),
              "7|9|3|-4|-2|-4.0|1.5");
    EXPECT_EQ(render("{{ 2 ** 10 }}|{{ 2 ** -2 }}|{{ 2.0 ** 3 }}|{{ 2 ** 3 ** 2 }}|{{ 1 / 3 }}|{{ "
                     "10 / 2 }}|{{ -2 ** 2 }}"),
              "1024|0.25|8.0|64|0.3333333333333333|5.0|4");
    EXPECT_EQ(render("{{ 'ab' * 3 }}|{{ 3 * 'x' }}|{{ [1] * 2 }}|{{ 'x' * -1 }}|{{ [1,2] + [3] "
                     "}}|{{ (1,) + (2,) }}|{{ 'a' + 'b' }}"),
              "ababab|xxx|[1, 1]||[1, 2, 3]|(1, 2)|ab");
    EXPECT_EQ(render("{{ true + true }}|{{ true * 3 }}|{{ 1.5 * 2 }}|{{ 7.0 // 2 }}|{{ -7 % 2.5 "
                     "}}|{{ -3 }}|{{ +3 }}|{{ -true }}"),
              "2|3|3.0|3.0|0.5|-3|3|-1");
    EXPECT_EQ(render("{{ 'a' ~ 1 ~ none ~ true ~ 1.0 }}|{{ 'abc' | upper ~ 'x' }}"),
              "a1NoneTrue1.0|ABCx");
}

TEST(chat_expressions, ComparisonsAndLogic) {
    EXPECT_EQ(render("{{ 1 == 1.0 }}|{{ true == 1 }}|{{ 'a' != 'b' }}|{{ [1,2] == [1,2] }}|{{ "
                     "(1,2) == [1,2] }}|{{ {'a':1} == {'a':1} }}"),
              "True|True|True|True|False|True");
    EXPECT_EQ(render("{{ 1 < 2 < 3 }}|{{ 3 > 2 > 5 }}|{{ 'a' < 'b' }}|{{ [1,2] < [1,3] }}|{{ 1 <= "
                     "1 }}|{{ 2 >= 3 }}"),
              "True|False|True|True|True|False");
    EXPECT_EQ(render("{{ 'a' in 'cat' }}|{{ 2 in [1,2] }}|{{ 'a' in {'a':1} }}|{{ 3 not in [1] "
                     "}}|{{ 'x' not in 'xyz' }}|{{ 'tool_calls' in messages[0] }}"),
              "True|True|True|True|False|False");
    EXPECT_EQ(render("{{ not true }}|{{ not none }}|{{ true and 'x' }}|{{ false or 'y' }}|{{ 0 or "
                     "[] }}|{{ '' and 1 }}|{{ not 1 == 2 }}"),
              "False|True|x|y|[]||True");
    EXPECT_EQ(render("{{ 'yes' if true else 'no' }}|{{ 'yes' if false else 'no' }}|[{{ 'yes' if "
                     "false }}]|{{ 'a' if 0 else 'b' if 1 else 'c' }}"),
              "yes|no|[]|b");
}

// Indexes and slices count code points, not bytes; out-of-range items are Undefined (print as '').
TEST(chat_expressions, SubscriptsAndSlices) {
    EXPECT_EQ(render("{{ s[0] }}|{{ s[-1] }}|{{ s[1:3] }}|{{ s[::-1] }}|{{ s[::2] }}|{{ s[100] "
                     "}}|{{ s[-100:] }}|{{ s[:-3] }}"),
              "H|d|el|dlroW olleH|HloWrd||Hello World|Hello Wo");
    EXPECT_EQ(render("{{ l[0] }}|{{ l[-1] }}|{{ l[1:] }}|{{ l[::-1] }}|{{ l[5] }}|{{ l[1:2] }}|{{ "
                     "(1,2,3)[1:] }}"),
              "3|2|[1, 2]|[2, 1, 3]||[1]|(2, 3)");
    EXPECT_EQ(render("{{ u8[1] }}|{{ u8[::-1] }}|{{ u8|length }}|{{ u8[-1] }}|{{ u8[2:6] }}"),
              "é|😀 ✓ dlröw olléh|15|😀|llo ");
    EXPECT_EQ(render("{{ d.a }}|{{ d['a'] }}|{{ d['items'] }}|{{ d.missing }}|{{ d.b.1 }}|{{ "
                     "nested.x.y[0].z }}|{{ messages[-1]['content'] }}"),
              "1|1|2||2|deep|yo");
}

// jinja2's default Undefined: prints as '', is falsy, iterates as empty, has length 0 and compares
// equal only to Undefined; attribute access, arithmetic and calls on it raise (see ChatErrors).
TEST(chat_expressions, UndefinedBehavesLikeJinjaDefault) {
    EXPECT_EQ(
        render("[{{ undefinedvar }}]|{{ undefinedvar ~ 'x' }}|{{ undefinedvar|default('dflt') "
               "}}|{{ undefinedvar is defined }}|{{ undefinedvar is undefined }}"),
        "[]|x|dflt|False|True");
    EXPECT_EQ(
        render("{% for x in undefinedvar %}x{% else %}empty{% endfor %}|{{ undefinedvar|length "
               "}}|{{ 'x' in undefinedvar }}|{{ undefinedvar == undefinedvar2 }}"),
        "empty|0|False|True");
    EXPECT_EQ(render("{{ d.missing is defined }}|{{ d.a is defined }}|{{ n.attr }}|{{ n.attr is "
                     "defined }}|{{ s.foo }}|{{ l['x'] }}|{{ l[1.5] }}"),
              "False|True||False|||");
    EXPECT_EQ(render("{% if undefinedvar %}T{% else %}F{% endif %}|{{ messages[5] is defined }}|{{ "
                     "messages[0]['nope'] is defined }}"),
              "F|False|False");
}

}  // namespace
}  // namespace statescope::chat_test
