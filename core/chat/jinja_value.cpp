#include "core/chat/jinja_value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "core/chat/jinja_error.h"
#include "core/chat/py_string.h"

namespace statescope::jinja {

namespace {
thread_local std::uint64_t* t_used = nullptr;
thread_local std::uint64_t t_limit = 0;
}  // namespace

void spend(std::uint64_t units) {
    if (!t_used) return;
    *t_used += units;
    if (*t_used > t_limit)
        fail("the template does too much work (over " + std::to_string(t_limit) +
             " bytes and items produced)");
}

WorkBudgetScope::WorkBudgetScope(std::uint64_t* used, std::uint64_t limit)
    : saved_used_(t_used), saved_limit_(t_limit) {
    t_used = used;
    t_limit = limit;
}

WorkBudgetScope::~WorkBudgetScope() {
    t_used = saved_used_;
    t_limit = saved_limit_;
}

const Value* DictData::find(const Value& key) const {
    for (const auto& kv : items)
        if (py_equal(kv.first, key)) return &kv.second;
    return nullptr;
}

const Value* DictData::find(std::string_view key) const {
    for (const auto& kv : items)
        if (kv.first.is_string() && kv.first.as_string() == key) return &kv.second;
    return nullptr;
}

Value* NamespaceData::find(std::string_view name) {
    for (auto& kv : attrs)
        if (kv.first == name) return &kv.second;
    return nullptr;
}

Value Value::undefined(std::string message, bool security) {
    return Value(Storage(std::in_place_index<0>, std::make_shared<const UndefinedInfo>(
                                                     UndefinedInfo{std::move(message), security})));
}

Value Value::string(std::string s) {
    return Value(
        Storage(std::in_place_index<5>, std::make_shared<const std::string>(std::move(s))));
}

namespace {
std::uint32_t checked_depth(std::uint32_t child_depth) {
    if (child_depth + 1 > kMaxValueDepth)
        fail("ValueError: values nest too deeply (more than " + std::to_string(kMaxValueDepth) +
             " levels of lists/dicts)");
    return child_depth + 1;
}
}  // namespace

std::uint32_t value_depth(const Value& v) {
    switch (v.type()) {
        case Value::Type::List:
            return v.as_list().depth;
        case Value::Type::Dict:
            return v.as_dict().depth;
        case Value::Type::Iterator:
            return v.as_iterator().items->depth + 1;
        case Value::Type::Loop:
            return v.as_loop().items->depth + 1;
        case Value::Type::Callable: {
            const auto& c = v.as_callable();
            return c.receiver ? value_depth(*c.receiver) + 1 : 0;
        }
        default:
            return 0;
    }
}

Value Value::list(std::vector<Value> items, SeqKind kind) {
    std::uint32_t d = 0;
    for (const auto& i : items) d = std::max(d, value_depth(i));
    const std::uint32_t depth = checked_depth(d);
    return Value(Storage(std::in_place_index<6>, std::make_shared<const ListData>(
                                                     ListData{std::move(items), kind, depth})));
}

Value Value::dict(DictData d) {
    std::uint32_t deepest = 0;
    for (const auto& kv : d.items)
        deepest = std::max({deepest, value_depth(kv.first), value_depth(kv.second)});
    d.depth = checked_depth(deepest);
    return Value(Storage(std::in_place_index<7>, std::make_shared<const DictData>(std::move(d))));
}

Value Value::namespace_object(std::shared_ptr<NamespaceData> ns) {
    return Value(Storage(std::in_place_index<8>, std::move(ns)));
}

Value Value::iterator(std::vector<Value> items, std::string type_name) {
    auto data = std::make_shared<IteratorData>();
    data->items = list(std::move(items)).list_ptr();
    data->type_name = std::move(type_name);
    return Value(Storage(std::in_place_index<9>, std::move(data)));
}

Value Value::loop(std::shared_ptr<LoopData> loop) {
    return Value(Storage(std::in_place_index<10>, std::move(loop)));
}

Value Value::callable(std::shared_ptr<const CallableData> c) {
    return Value(Storage(std::in_place_index<11>, std::move(c)));
}

const void* Value::identity() const {
    return std::visit(
        [](const auto& x) -> const void* {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, std::nullptr_t> || std::is_same_v<T, bool> ||
                          std::is_same_v<T, std::int64_t> || std::is_same_v<T, double>) {
                return nullptr;
            } else {
                return x.get();
            }
        },
        v_);
}

std::string type_name(const Value& v) {
    switch (v.type()) {
        case Value::Type::Undefined:
            return "Undefined";
        case Value::Type::None:
            return "NoneType";
        case Value::Type::Bool:
            return "bool";
        case Value::Type::Int:
            return "int";
        case Value::Type::Float:
            return "float";
        case Value::Type::String:
            return "str";
        case Value::Type::List:
            switch (v.as_list().kind) {
                case SeqKind::List:
                    return "list";
                case SeqKind::Tuple:
                    return "tuple";
                case SeqKind::DictKeys:
                    return "dict_keys";
                case SeqKind::DictValues:
                    return "dict_values";
                case SeqKind::DictItems:
                    return "dict_items";
            }
            return "list";
        case Value::Type::Dict:
            return "dict";
        case Value::Type::Namespace:
            return "Namespace";
        case Value::Type::Iterator:
            return v.as_iterator().type_name;
        case Value::Type::Loop:
            return "LoopContext";
        case Value::Type::Callable: {
            const auto k = v.as_callable().kind;
            if (k == CallableKind::Macro || k == CallableKind::Caller) return "Macro";
            if (k == CallableKind::Method) return "builtin_function_or_method";
            return "function";
        }
    }
    return "object";
}

bool truthy(const Value& v) {
    switch (v.type()) {
        case Value::Type::Undefined:
        case Value::Type::None:
            return false;
        case Value::Type::Bool:
            return v.as_bool();
        case Value::Type::Int:
            return v.as_int() != 0;
        case Value::Type::Float:
            return v.as_float() != 0.0;
        case Value::Type::String:
            return !v.as_string().empty();
        case Value::Type::List:
            return !v.as_list().items.empty();
        case Value::Type::Dict:
            return !v.as_dict().items.empty();
        default:
            return true;  // objects, generators, callables: Python's default truthiness
    }
}

bool hashable(const Value& v) {
    if (v.is_dict()) return false;
    if (!v.is_list()) return true;
    if (v.as_list().kind != SeqKind::Tuple) return false;
    for (const auto& item : v.as_list().items)
        if (!hashable(item)) return false;
    return true;
}

void fail_undefined(const Value& u) {
    const UndefinedInfo* info = u.undefined_info();
    if (info && info->security) fail("SecurityError: " + info->message);
    fail("UndefinedError: " + (info ? info->message : std::string("value is undefined")));
}

void unhashable(const Value& v) {
    type_error("unhashable type: '" + type_name(v) + "'");
}

bool py_equal(const Value& a, const Value& b) {
    spend(1);
    if (a.is_number() && b.is_number()) {
        if (a.is_float() || b.is_float()) return a.float_like() == b.float_like();
        return a.int_like() == b.int_like();
    }
    if (a.type() != b.type()) return false;
    switch (a.type()) {
        case Value::Type::Undefined:
        case Value::Type::None:
            return true;
        case Value::Type::String:
            spend(std::min(a.as_string().size(), b.as_string().size()));
            return a.as_string() == b.as_string();
        case Value::Type::List: {
            if (a.identity() == b.identity())
                return true;  // CPython compares identical items equal
            const auto& x = a.as_list();
            const auto& y = b.as_list();
            if (x.kind != y.kind || x.items.size() != y.items.size()) return false;
            for (std::size_t i = 0; i < x.items.size(); ++i)
                if (!py_equal(x.items[i], y.items[i])) return false;
            return true;
        }
        case Value::Type::Dict: {
            const auto& x = a.as_dict();
            const auto& y = b.as_dict();
            if (x.items.size() != y.items.size()) return false;
            for (const auto& kv : x.items) {
                const Value* other = y.find(kv.first);
                if (!other || !py_equal(kv.second, *other)) return false;
            }
            return true;
        }
        default:
            return a.identity() == b.identity();
    }
}

bool py_less(const Value& a, const Value& b) {
    spend(1);
    if (a.is_number() && b.is_number()) {
        if (a.is_float() || b.is_float()) return a.float_like() < b.float_like();
        return a.int_like() < b.int_like();
    }
    if (a.is_string() && b.is_string()) {
        spend(std::min(a.as_string().size(), b.as_string().size()));
        return a.as_string() < b.as_string();
    }
    if (a.is_list() && b.is_list() && a.as_list().kind == b.as_list().kind &&
        (a.as_list().kind == SeqKind::List || a.as_list().kind == SeqKind::Tuple)) {
        const auto& x = a.as_list().items;
        const auto& y = b.as_list().items;
        for (std::size_t i = 0; i < x.size() && i < y.size(); ++i) {
            if (py_equal(x[i], y[i])) continue;
            return py_less(x[i], y[i]);
        }
        return x.size() < y.size();
    }
    if (a.is_undefined()) fail_undefined(a);
    if (b.is_undefined()) fail_undefined(b);
    type_error("'<' not supported between instances of '" + type_name(a) + "' and '" +
               type_name(b) + "'");
}

std::string float_repr(double d) {
    if (std::isnan(d)) return "nan";
    if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
    if (d == 0.0) return std::signbit(d) ? "-0.0" : "0.0";
    // Shortest round-trip digits, then CPython's float_repr_style 'short' layout: fixed notation
    // for decimal exponents in [-5, 16), scientific (at least two exponent digits) otherwise.
    char buf[64];
    auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
    std::string sci(buf, res.ptr);
    std::string sign;
    if (sci[0] == '-') {
        sign = "-";
        sci.erase(0, 1);
    }
    const std::size_t epos = sci.find('e');
    std::string digits = sci.substr(0, epos);
    const int exp = std::stoi(sci.substr(epos + 1));
    digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
    std::string out;
    if (exp < -4 || exp >= 16) {
        out = digits.substr(0, 1);
        if (digits.size() > 1) {
            out += '.';
            out.append(digits, 1);
        }
        char e[16];
        std::snprintf(e, sizeof e, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
        out += e;
    } else if (exp < 0) {
        out = "0." + std::string(static_cast<std::size_t>(-exp - 1), '0') + digits;
    } else {
        const auto int_digits = static_cast<std::size_t>(exp + 1);
        if (digits.size() <= int_digits) {
            out = digits + std::string(int_digits - digits.size(), '0') + ".0";
        } else {
            out = digits.substr(0, int_digits) + "." + digits.substr(int_digits);
        }
    }
    return sign + out;
}

std::string py_repr(const Value& v) {
    spend(1);
    switch (v.type()) {
        case Value::Type::Undefined:
            return "Undefined";
        case Value::Type::None:
            return "None";
        case Value::Type::Bool:
            return v.as_bool() ? "True" : "False";
        case Value::Type::Int:
            return std::to_string(v.as_int());
        case Value::Type::Float:
            return float_repr(v.as_float());
        case Value::Type::String:
            spend(v.as_string().size());
            return py::repr(v.as_string());
        case Value::Type::List: {
            const auto& l = v.as_list();
            std::string body;
            for (std::size_t i = 0; i < l.items.size(); ++i) {
                if (i) body += ", ";
                body += py_repr(l.items[i]);
            }
            switch (l.kind) {
                case SeqKind::List:
                    return "[" + body + "]";
                case SeqKind::Tuple:
                    return "(" + body + (l.items.size() == 1 ? ",)" : ")");
                case SeqKind::DictKeys:
                    return "dict_keys([" + body + "])";
                case SeqKind::DictValues:
                    return "dict_values([" + body + "])";
                case SeqKind::DictItems:
                    return "dict_items([" + body + "])";
            }
            return body;
        }
        case Value::Type::Dict: {
            std::string out = "{";
            bool first = true;
            for (const auto& kv : v.as_dict().items) {
                if (!first) out += ", ";
                first = false;
                out += py_repr(kv.first) + ": " + py_repr(kv.second);
            }
            return out + "}";
        }
        case Value::Type::Namespace: {
            // Namespaces are mutable and may contain themselves; Python prints such a cycle as
            // {...} (Py_ReprEnter); a bounded depth keeps this recursion safe.
            static thread_local int namespace_depth = 0;
            if (namespace_depth >= 64) return "<Namespace {...}>";
            ++namespace_depth;
            struct Leave {
                ~Leave() { --namespace_depth; }
            } leave;
            std::string out = "<Namespace {";
            bool first = true;
            for (const auto& kv : v.as_namespace().attrs) {
                if (!first) out += ", ";
                first = false;
                out += py::repr(kv.first) + ": " + py_repr(kv.second);
            }
            return out + "}>";
        }
        case Value::Type::Iterator:
            return "<" + v.as_iterator().type_name + " object>";
        case Value::Type::Loop: {
            const auto& l = v.as_loop();
            return "<LoopContext " + std::to_string(l.index0 + 1) + "/" +
                   std::to_string(l.items->items.size()) + ">";
        }
        case Value::Type::Callable: {
            const auto& c = v.as_callable();
            if (c.kind == CallableKind::Macro) return "<Macro " + py::repr(c.name) + ">";
            if (c.kind == CallableKind::Caller) return "<Macro caller>";
            if (c.kind == CallableKind::Method) return "<built-in method " + c.name + ">";
            return "<function " + c.name + ">";
        }
    }
    return "";
}

std::string py_str(const Value& v) {
    if (v.is_string()) return v.as_string();
    if (v.is_undefined()) return "";
    return py_repr(v);
}

}  // namespace statescope::jinja
