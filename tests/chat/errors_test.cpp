// Errors: every failure is a statescope::Error naming the template line, for syntax errors (at
// parse time) and runtime errors alike, with Python's exception class where Jinja2 raises one.
#include "tests/chat/chat_test_util.h"

namespace statescope::chat_test {
namespace {

TEST(chat_errors, SyntaxErrorsNameTheLine) {
    EXPECT_EQ(render_error("line1\n{% if true %}\nx\n{{ 1 | frobnicate }}\n{% endif %}"),
              "chat template line 4: unknown filter \"frobnicate\"");
    EXPECT_EQ(
        render_error("a\n\n{% for x in l %}\n{{ x }}"),
        "chat template line 4: unexpected end of template: the 'for' block on line 3 is never "
        "closed (expected 'endfor' or 'else')");
    EXPECT_EQ(render_error("{% if x %}\n{% endfor %}"),
              "chat template line 2: unknown tag 'endfor'");
    EXPECT_EQ(render_error("{{ 1 +\n}}"),
              "chat template line 2: unexpected 'end of print statement'");
    EXPECT_EQ(render_error("{% frob %}"), "chat template line 1: unknown tag 'frob'");
    EXPECT_EQ(render_error("\n{{ 'abc }}"),
              "chat template line 2: unterminated string literal (opened by ')");
    EXPECT_EQ(render_error("{{ x ) }}"), "chat template line 1: unexpected ')'");
    EXPECT_EQ(render_error("{{ a.b.c }"), "chat template line 1: unexpected '}'");
    EXPECT_EQ(render_error("{# unterminated"), "chat template line 1: Missing end of comment tag");
    EXPECT_EQ(render_error("{% raw %}no end"),
              "chat template line 1: Missing end of raw directive");
    EXPECT_EQ(render_error("{% macro m(a=1, b) %}{% endmacro %}"),
              "chat template line 1: non-default argument follows default argument");
    EXPECT_EQ(render_error("{{ x is frob }}"), "chat template line 1: unknown test \"frob\"");
    EXPECT_EQ(render_error("{% set true = 1 %}"), "chat template line 1: can't assign to 'const'");
    EXPECT_EQ(render_error("{% break %}"), "chat template line 1: 'break' outside of a for loop");
    EXPECT_EQ(render_error("{% include 'x.html' %}"),
              "chat template line 1: 'include' is not supported: a chat template has no other "
              "templates to load");
    EXPECT_EQ(render_error("\xff"), "chat template line 1: template is not valid UTF-8");
    // The name given to parse() leads the message.
    try {
        (void)ChatTemplate::parse("{% endif %}", "tokenizer_config.json");
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "tokenizer_config.json line 1: unknown tag 'endif'");
    }
}

TEST(chat_errors, UnknownFiltersInsideIfFailOnlyWhenEvaluated) {
    // Jinja2 compiles an unknown filter inside an `if` (or a conditional expression) to a runtime
    // error, so templates with optional branches still render.
    EXPECT_EQ(render("{% if false %}{{ x|frobnicate }}{% endif %}ok"), "ok");
    EXPECT_EQ(render("{{ x|frobnicate if false else 'fine' }}"), "fine");
    EXPECT_EQ(render_error("\n{% if true %}{{ x|frobnicate }}{% endif %}"),
              "chat template line 2: unknown filter \"frobnicate\"");
    EXPECT_EQ(
        render_error("{% for i in l %}{% if false %}{% endif %}{{ i|frobnicate }}{% endfor %}"),
        "chat template line 1: unknown filter \"frobnicate\"");
}

TEST(chat_errors, RuntimeErrorsNameTheLine) {
    EXPECT_EQ(render_error("x\ny\n{{ raise_exception('Conversation roles must alternate "
                           "user/assistant/user/assistant/...') }}"),
              "chat template line 3: raise_exception: Conversation roles must alternate "
              "user/assistant/user/assistant/...");
    // The innermost failing line wins, here inside a loop and an if.
    EXPECT_EQ(render_error("{% for m in messages %}\n{% if loop.index0 == 1 %}\n"
                           "{{ m.content.nope() }}\n{% endif %}\n{% endfor %}"),
              "chat template line 3: UndefinedError: 'str object' has no attribute 'nope'");
    // ... and inside a macro called from elsewhere.
    EXPECT_EQ(render_error("{% macro m(x) %}\n{{ x + 1 }}\n{% endmacro %}\n\n{{ m('a') }}"),
              "chat template line 2: TypeError: can only concatenate str (not \"int\") to str");
    EXPECT_EQ(
        render_error("{{ 1 + 'a' }}"),
        "chat template line 1: TypeError: unsupported operand type(s) for +: 'int' and 'str'");
    EXPECT_EQ(render_error("{{ 1 // 0 }}"),
              "chat template line 1: ZeroDivisionError: integer division or modulo by zero");
    EXPECT_EQ(render_error("{{ none < 1 }}"),
              "chat template line 1: TypeError: '<' not supported between instances of 'NoneType' "
              "and 'int'");
    EXPECT_EQ(render_error("{% for a, b in [[1, 2, 3]] %}{% endfor %}"),
              "chat template line 1: ValueError: too many values to unpack (expected 2)");
    EXPECT_EQ(render_error("{% for x in none %}{% endfor %}"),
              "chat template line 1: TypeError: 'NoneType' object is not iterable");
    EXPECT_EQ(render_error("{% set x = 5 %}{% set x.y = 1 %}"),
              "chat template line 1: cannot assign attribute on non-namespace object");
    EXPECT_EQ(render_error("{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}"),
              "chat template line 1: TypeError: macro 'm' takes not more than 1 argument(s)");
    EXPECT_EQ(render_error("{% macro m(a) %}{% endmacro %}{{ m(z=1) }}"),
              "chat template line 1: TypeError: macro 'm' takes no keyword argument 'z'");
    EXPECT_EQ(render_error("{{ l|select('odd')|length }}"),
              "chat template line 1: TypeError: object of type 'generator' has no len()");
    EXPECT_EQ(render_error("{{ ','.join([1, 2]) }}"),
              "chat template line 1: TypeError: sequence item 0: expected str instance, int found");
    EXPECT_EQ(render_error("{{ undefinedvar|tojson }}"),
              "chat template line 1: TypeError: Object of type Undefined is not JSON serializable");
    EXPECT_EQ(render_error("{{ range(0, 10, 0)|list }}"),
              "chat template line 1: ValueError: range() arg 3 must not be zero");
}

TEST(chat_errors, UndefinedFailsOnUse) {
    // Jinja2's default Undefined prints as '' but fails on attribute access, subscripts,
    // arithmetic, comparisons and calls, naming what was missing.
    EXPECT_EQ(render_error("{{ x.y }}"), "chat template line 1: UndefinedError: 'x' is undefined");
    EXPECT_EQ(render_error("{{ x['k'] }}"),
              "chat template line 1: UndefinedError: 'x' is undefined");
    EXPECT_EQ(render_error("{{ x + 1 }}"),
              "chat template line 1: UndefinedError: 'x' is undefined");
    EXPECT_EQ(render_error("{{ x() }}"), "chat template line 1: UndefinedError: 'x' is undefined");
    EXPECT_EQ(render_error("{{ x < 1 }}"),
              "chat template line 1: UndefinedError: 'x' is undefined");
    EXPECT_EQ(render_error("{{ d.missing.deeper }}"),
              "chat template line 1: UndefinedError: 'dict object' has no attribute 'missing'");
    EXPECT_EQ(render_error("{{ messages[5].role }}"),
              "chat template line 1: UndefinedError: list object has no element 5");
    EXPECT_EQ(render_error("{% macro m() %}{{ caller() }}{% endmacro %}{{ m() }}"),
              "chat template line 1: UndefinedError: No caller defined");
}

TEST(chat_errors, SandboxRefusesMutation) {
    // ImmutableSandboxedEnvironment: mutating methods of lists and dicts are unsafe attributes,
    // Undefined until called, then SecurityError.
    EXPECT_EQ(render("{{ l.append }}|{{ l.append is defined }}"), "|False");
    EXPECT_EQ(render_error("{{ l.append(4) }}"),
              "chat template line 1: SecurityError: access to attribute 'append' of 'list' object "
              "is unsafe.");
    EXPECT_EQ(render_error("{{ d.update({}) }}"),
              "chat template line 1: SecurityError: access to attribute 'update' of 'dict' object "
              "is unsafe.");
    EXPECT_EQ(render_error("{{ d.pop('a') }}"),
              "chat template line 1: SecurityError: access to attribute 'pop' of 'dict' object is "
              "unsafe.");
    EXPECT_EQ(render_error("{{ messages.__class__() }}"),
              "chat template line 1: SecurityError: access to attribute '__class__' of 'list' "
              "object is unsafe.");
    // The template still sees its inputs unchanged after a refused call.
    EXPECT_EQ(render("{% if l.sort is defined %}{% endif %}{{ l }}"), "[3, 1, 2]");
}

TEST(chat_errors, SandboxLimits) {
    // A billion iterations through nested ranges hits the loop budget, not the clock.
    EXPECT_EQ(render_error("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}"
                           "{% endfor %}"),
              "chat template line 1: loop iterations exceed the limit of 1000000");
    // range() itself is capped like jinja2.sandbox.MAX_RANGE.
    EXPECT_EQ(render_error("{{ range(100001)|length }}"),
              "chat template line 1: OverflowError: Range too big. The sandbox blocks ranges "
              "larger than MAX_RANGE (100000).");
    // Unbounded recursion.
    EXPECT_EQ(render_error("{% macro m(n) %}{{ m(n + 1) }}{% endmacro %}{{ m(0) }}"),
              "chat template line 1: macro calls nest too deeply (limit 100)");
    // Huge output, and huge strings that would never fit the output.
    EXPECT_EQ(render_error("{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}"),
              "chat template line 1: the output would exceed the limit of 16777216 bytes");
    EXPECT_EQ(render_error("{{ ('x' * 100000000)|length }}"),
              "chat template line 1: a repeated string would exceed the limit of 16777216 (bytes "
              "or items)");
    // Work that produces little output but a lot of intermediate data.
    ChatTemplateLimits small;
    small.max_work = 100000;
    EXPECT_EQ(render_error("{% for i in range(1000) %}{% set s = 'y' * 1000 %}{% endfor %}",
                           default_vars(), small),
              "chat template line 1: the template does too much work (over 100000 bytes and items "
              "produced)");
    // Lists nested in a loop (through a namespace) stay shallow enough to walk safely.
    EXPECT_EQ(render_error("{% set ns = namespace(v=[]) %}{% for i in range(1000) %}"
                           "{% set ns.v = [ns.v] %}{% endfor %}"),
              "chat template line 1: ValueError: values nest too deeply (more than 500 levels of "
              "lists/dicts)");
    // Parse-time nesting of expressions and blocks.
    EXPECT_EQ(render_error("{{ " + std::string(300, '(') + "1" + std::string(300, ')') + " }}"),
              "chat template line 1: template nests too deeply (more than 200 levels)");
    std::string chain = "{{ 1";
    for (int i = 0; i < 300; ++i) chain += " + 1";
    EXPECT_EQ(render_error(chain + " }}"),
              "chat template line 1: expression nests too deeply (more than 200 levels)");
    std::string blocks;
    for (int i = 0; i < 300; ++i) blocks += "{% if true %}";
    EXPECT_EQ(render_error(blocks),
              "chat template line 1: template nests too deeply (more than 200 levels)");
    // Custom limits apply as given.
    ChatTemplateLimits tiny;
    tiny.max_output_bytes = 10;
    EXPECT_EQ(render_error("{{ 'x' * 11 }}", default_vars(), tiny),
              "chat template line 1: a repeated string would exceed the limit of 10 (bytes or "
              "items)");
    EXPECT_EQ(render("{{ 'x' * 10 }}", default_vars(), tiny), "xxxxxxxxxx");
}

TEST(chat_errors, IntegersAreSixtyFourBit) {
    // Python's ints are unbounded; these are 64-bit, so overflow is an error rather than a
    // silently wrong number.
    EXPECT_EQ(render("{{ 9223372036854775807 }}|{{ -9223372036854775807 - 1 }}"),
              "9223372036854775807|-9223372036854775808");
    EXPECT_EQ(render_error("{{ 9223372036854775807 + 1 }}"),
              "chat template line 1: OverflowError: integer result does not fit in 64 bits");
    EXPECT_EQ(render_error("{{ 2 ** 64 }}"),
              "chat template line 1: OverflowError: integer result does not fit in 64 bits");
    EXPECT_EQ(render_error("{{ 99999999999999999999 }}"),
              "chat template line 1: integer literal 99999999999999999999 does not fit in 64 bits");
}

}  // namespace
}  // namespace statescope::chat_test
