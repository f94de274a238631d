// Jinja2's tests (jinja2/tests.py): `x is defined`, `x is string`, `x is divisibleby 3` ...
// Python's type lattice matters here: bool is a number but not an integer, Undefined is iterable,
// and a dict is a sequence.
#include <cmath>

#include "core/chat/jinja_args.h"
#include "core/chat/jinja_builtins.h"
#include "core/chat/jinja_error.h"
#include "core/chat/jinja_renderer.h"
#include "core/chat/py_string.h"

namespace statescope::jinja {

namespace {

bool no_args(const CallArgs& call, const char* name) {
    Args a(call, name, {});
    return true;
}

bool t_defined(Renderer&, const Value& v, const CallArgs& c) {
    return no_args(c, "defined") && !v.is_undefined();
}
bool t_undefined(Renderer&, const Value& v, const CallArgs& c) {
    return no_args(c, "undefined") && v.is_undefined();
}
bool t_none(Renderer&, const Value& v, const CallArgs& c) {
    return no_args(c, "none") && v.is_none();
}
bool t_boolean(Renderer&, const Value& v, const CallArgs& c) {
    return no_args(c, "boolean") && v.is_bool();
}
bool t_true(Renderer&, const Value& v, const CallArgs& c) {
    return no_args(c, "true") && v.is_bool() && v.as_bool();
}
bool t_false(Renderer&, const Value& v, const CallArgs& c) {
    return no_args(c, "false") && v.is_bool() && !v.as_bool();
}
bool t_integer(Renderer&, const Value& v, const CallArgs& c) {
    return no_args(c, "integer") && v.is_int();
}
bool t_float(Renderer&, const Value& v, const CallArgs& c) {
    return no_args(c, "float") && v.is_float();
}
bool t_number(Renderer&, const Value& v, const CallArgs& c) {
    return no_args(c, "number") && v.is_number();
}
bool t_string(Renderer&, const Value& v, const CallArgs& c) {
    return no_args(c, "string") && v.is_string();
}
bool t_mapping(Renderer&, const Value& v, const CallArgs& c) {
    return no_args(c, "mapping") && v.is_dict();
}
bool t_escaped(Renderer&, const Value&, const CallArgs& c) {
    return no_args(c, "escaped") && false;
}

bool t_iterable(Renderer&, const Value& v, const CallArgs& c) {
    no_args(c, "iterable");
    return v.is_undefined() || v.is_string() || v.is_list() || v.is_dict() || v.is_iterator() ||
           v.is_loop();
}

bool t_sequence(Renderer&, const Value& v, const CallArgs& c) {
    no_args(c, "sequence");
    // len() and __getitem__: str, list, tuple, dict and (by its dunder methods) Undefined.
    return v.is_undefined() || v.is_string() || v.is_dict() ||
           (v.is_list() &&
            (v.as_list().kind == SeqKind::List || v.as_list().kind == SeqKind::Tuple));
}

bool t_callable(Renderer&, const Value& v, const CallArgs& c) {
    no_args(c, "callable");
    return v.is_callable() || v.is_undefined();  // Undefined defines __call__ (to fail)
}

bool t_sameas(Renderer&, const Value& v, const CallArgs& c) {
    Args a(c, "sameas", {"other"}, 1);
    const Value& o = a.at(0);
    if (v.type() != o.type()) return false;
    switch (v.type()) {
        case Value::Type::None:
            return true;
        case Value::Type::Bool:
            return v.as_bool() == o.as_bool();
        // CPython caches small ints, so `1 is 1` holds; other numbers are distinct objects.
        case Value::Type::Int:
            return v.as_int() == o.as_int() && v.as_int() >= -5 && v.as_int() <= 256;
        case Value::Type::Float:
            return false;
        default:
            return v.identity() == o.identity();
    }
}

bool odd_even(Renderer& r, const Value& v, bool odd) {
    return py_equal(binary_op(r, BinOp::Mod, v, Value::integer(2)), Value::integer(odd ? 1 : 0));
}
bool t_odd(Renderer& r, const Value& v, const CallArgs& c) {
    return no_args(c, "odd") && odd_even(r, v, true);
}
bool t_even(Renderer& r, const Value& v, const CallArgs& c) {
    return no_args(c, "even") && odd_even(r, v, false);
}

bool t_divisibleby(Renderer& r, const Value& v, const CallArgs& c) {
    Args a(c, "divisibleby", {"num"}, 1);
    return py_equal(binary_op(r, BinOp::Mod, v, a.at(0)), Value::integer(0));
}

bool t_lower(Renderer& r, const Value& v, const CallArgs& c) {
    return no_args(c, "lower") && py::is_lower(r.to_str(v));
}
bool t_upper(Renderer& r, const Value& v, const CallArgs& c) {
    return no_args(c, "upper") && py::is_upper(r.to_str(v));
}

bool t_in(Renderer&, const Value& v, const CallArgs& c) {
    Args a(c, "in", {"seq"}, 1);
    return contains(a.at(0), v);
}

Value other(const CallArgs& c, const char* name) {
    Args a(c, name, {"other"}, 1);
    return a.at(0);
}

bool t_eq(Renderer&, const Value& v, const CallArgs& c) {
    return py_equal(v, other(c, "eq"));
}
bool t_ne(Renderer&, const Value& v, const CallArgs& c) {
    return !py_equal(v, other(c, "ne"));
}
bool t_lt(Renderer&, const Value& v, const CallArgs& c) {
    return py_less(v, other(c, "lt"));
}
bool t_gt(Renderer&, const Value& v, const CallArgs& c) {
    return py_less(other(c, "gt"), v);
}
bool t_le(Renderer&, const Value& v, const CallArgs& c) {
    const Value o = other(c, "le");
    return py_less(v, o) || py_equal(v, o);
}
bool t_ge(Renderer&, const Value& v, const CallArgs& c) {
    const Value o = other(c, "ge");
    return py_less(o, v) || py_equal(v, o);
}

bool t_filter(Renderer&, const Value& v, const CallArgs& c) {
    no_args(c, "filter");
    return v.is_string() && find_filter(v.as_string()) != nullptr;
}
bool t_test(Renderer&, const Value& v, const CallArgs& c) {
    no_args(c, "test");
    return v.is_string() && find_test(v.as_string()) != nullptr;
}

struct TestEntry {
    const char* name;
    TestFn fn;
};

const TestEntry kTests[] = {
    {"defined", t_defined},
    {"undefined", t_undefined},
    {"none", t_none},
    {"boolean", t_boolean},
    {"true", t_true},
    {"false", t_false},
    {"integer", t_integer},
    {"float", t_float},
    {"number", t_number},
    {"string", t_string},
    {"mapping", t_mapping},
    {"iterable", t_iterable},
    {"sequence", t_sequence},
    {"callable", t_callable},
    {"sameas", t_sameas},
    {"escaped", t_escaped},
    {"odd", t_odd},
    {"even", t_even},
    {"divisibleby", t_divisibleby},
    {"lower", t_lower},
    {"upper", t_upper},
    {"in", t_in},
    {"==", t_eq},
    {"eq", t_eq},
    {"equalto", t_eq},
    {"!=", t_ne},
    {"ne", t_ne},
    {"<", t_lt},
    {"lt", t_lt},
    {"lessthan", t_lt},
    {"<=", t_le},
    {"le", t_le},
    {">", t_gt},
    {"gt", t_gt},
    {"greaterthan", t_gt},
    {">=", t_ge},
    {"ge", t_ge},
    {"filter", t_filter},
    {"test", t_test},
};

}  // namespace

TestFn find_test(std::string_view name) {
    for (const auto& t : kTests)
        if (name == t.name) return t.fn;
    return nullptr;
}

}  // namespace statescope::jinja
