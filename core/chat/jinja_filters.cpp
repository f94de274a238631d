// Jinja2's built-in filters (jinja2/filters.py, 3.1) as chat templates use them, plus HF's tojson.
// Where Jinja returns a generator (map, select, reject, unique, items, reverse) the result is a
// one-shot iterator value, so `|length` on it fails and `if` on it is always true, as in Jinja2.
// Not provided (no chat template needs them; they fail as unknown filters): groupby, pprint,
// random, striptags, urlencode, urlize, wordwrap, xmlattr, filesizeformat.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "core/chat/jinja_args.h"
#include "core/chat/jinja_builtins.h"
#include "core/chat/jinja_error.h"
#include "core/chat/jinja_json.h"
#include "core/chat/jinja_renderer.h"
#include "core/chat/py_string.h"

namespace statescope::jinja {

namespace {

__extension__ typedef __int128 Wide;  // exact intermediate for 64-bit overflow checks

Value str_value(std::string s) {
    return Value::string(std::move(s));
}

// _prepare_attribute_parts + make_attrgetter: "a.b.0" looks up a, then b, then index 0.
std::vector<Value> attribute_parts(const Value& attribute) {
    std::vector<Value> parts;
    if (attribute.is_none()) return parts;
    if (!attribute.is_string()) return {attribute};
    for (const auto& p : py::split(attribute.as_string(), std::string("."))) {
        const bool digits =
            !p.empty() && p.size() < 19 &&
            std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; });
        parts.push_back(digits ? Value::integer(std::stoll(p)) : Value::string(p));
    }
    return parts;
}

Value lower_if_string(const Value& v) {
    return v.is_string() ? Value::string(py::lower(v.as_string())) : v;
}

Value get_attribute(Renderer& r, Value item, const std::vector<Value>& parts,
                    const Value* default_value = nullptr) {
    for (const auto& p : parts) {
        item = r.getitem(item, p);
        if (default_value && item.is_undefined()) item = *default_value;
    }
    return item;
}

// make_multi_attrgetter: "age,name" -> [item.age, item.name] (a list compares lexicographically).
Value sort_key(Renderer& r, const Value& item, const Value& attribute, bool case_sensitive) {
    if (attribute.is_none()) return case_sensitive ? item : lower_if_string(item);
    std::vector<Value> keys;
    const std::vector<std::string> fields = attribute.is_string()
                                                ? py::split(attribute.as_string(), std::string(","))
                                                : std::vector<std::string>{};
    if (!attribute.is_string()) {
        Value k = get_attribute(r, item, {attribute});
        keys.push_back(case_sensitive ? k : lower_if_string(k));
    }
    for (const auto& f : fields) {
        Value k = get_attribute(r, item, attribute_parts(Value::string(f)));
        keys.push_back(case_sensitive ? k : lower_if_string(k));
    }
    return Value::list(std::move(keys));
}

std::int64_t py_len(const Value& v) {
    switch (v.type()) {
        case Value::Type::Undefined:
            return 0;
        case Value::Type::String:
            return static_cast<std::int64_t>(py::length(v.as_string()));
        case Value::Type::List:
            return static_cast<std::int64_t>(v.as_list().items.size());
        case Value::Type::Dict:
            return static_cast<std::int64_t>(v.as_dict().items.size());
        case Value::Type::Namespace:
            break;
        case Value::Type::Loop:
            return static_cast<std::int64_t>(v.as_loop().items->items.size());
        default:
            break;
    }
    type_error("object of type '" + type_name(v) + "' has no len()");
}

// Python float(str): surrounding whitespace, underscores between digits, inf/nan spellings.
std::optional<double> parse_float(const std::string& text) {
    std::string s = py::strip(text);
    std::string clean;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '_') {
            if (i == 0 || i + 1 >= s.size() ||
                !std::isdigit(static_cast<unsigned char>(s[i - 1])) ||
                !std::isdigit(static_cast<unsigned char>(s[i + 1])))
                return std::nullopt;
            continue;
        }
        clean += s[i];
    }
    if (clean.empty()) return std::nullopt;
    std::string body = clean;
    if (body[0] == '+' || body[0] == '-') body.erase(0, 1);
    const std::string lowered = py::lower(body);
    if (lowered == "inf" || lowered == "infinity" || lowered == "nan") {
        double v = lowered == "nan" ? NAN : INFINITY;
        return clean[0] == '-' ? -v : v;
    }
    for (char c : body)
        if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == 'e' || c == 'E' ||
              c == '+' || c == '-'))
            return std::nullopt;
    char* end = nullptr;
    const double v = std::strtod(clean.c_str(), &end);
    if (end != clean.c_str() + clean.size()) return std::nullopt;
    return v;
}

// Python int(str, base): whitespace, sign, underscores, optional 0x/0o/0b prefix when base allows.
std::optional<std::int64_t> parse_int(const std::string& text, std::int64_t base) {
    std::string s = py::strip(text);
    bool neg = false;
    if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        s.erase(0, 1);
    }
    if (s.size() > 1 && s[0] == '0') {
        const char p = static_cast<char>(s[1] | 0x20);
        const std::int64_t pb = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 0;
        if (pb && (base == pb || base == 0)) {
            base = pb;
            s.erase(0, 2);
            if (!s.empty() && s[0] == '_') s.erase(0, 1);
        }
    }
    if (base == 0) base = 10;
    if (s.empty() || base < 2 || base > 36) return std::nullopt;
    Wide v = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (c == '_' && i > 0 && i + 1 < s.size() && s[i - 1] != '_') continue;
        int d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'z')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'Z')
            d = c - 'A' + 10;
        else
            return std::nullopt;
        if (d >= base) return std::nullopt;
        v = v * base + d;
        if (v > static_cast<Wide>(INT64_MAX) + 1)
            fail("OverflowError: int() result does not fit in 64 bits");
    }
    if (neg) v = -v;
    if (v > INT64_MAX) fail("OverflowError: int() result does not fit in 64 bits");
    return static_cast<std::int64_t>(v);
}

// ---- filters, named do_<name> as in jinja2/filters.py

Value do_abs(Renderer&, const Value& v, const CallArgs& call) {
    Args a(call, "abs", {});
    if (v.is_float()) return Value::number(std::fabs(v.as_float()));
    if (v.is_int() || v.is_bool()) {
        if (v.int_like() == INT64_MIN) fail("OverflowError: abs() result does not fit in 64 bits");
        return Value::integer(std::llabs(v.int_like()));
    }
    type_error("bad operand type for abs(): '" + type_name(v) + "'");
}

Value do_attr(Renderer& r, const Value& v, const CallArgs& call) {
    Args a(call, "attr", {"name"}, 1);
    const std::string name = a.string(0);
    if (v.is_namespace() || v.is_loop() || method_access(v, name) != MethodAccess::None)
        return r.getattr(v, name);
    if (v.is_undefined()) return r.getattr(v, name);
    return Value::undefined("'" + type_name(v) + " object' has no attribute '" + name + "'");
}

Value do_batch(Renderer& r, const Value& v, const CallArgs& call) {
    Args a(call, "batch", {"linecount", "fill_with"}, 1);
    const std::int64_t n = a.integer(0, 1);
    if (n < 1) value_error("batch size must be at least 1");
    r.check_size(static_cast<std::size_t>(n), "a batch");
    const Value fill = a.get(1, Value::none());
    std::vector<Value> out, tmp;
    for (auto& item : r.iterate(v)) {
        if (static_cast<std::int64_t>(tmp.size()) == n) {
            out.push_back(Value::list(std::move(tmp)));
            tmp.clear();
        }
        tmp.push_back(std::move(item));
    }
    if (!tmp.empty()) {
        if (!fill.is_none())
            while (static_cast<std::int64_t>(tmp.size()) < n) tmp.push_back(fill);
        out.push_back(Value::list(std::move(tmp)));
    }
    return Value::iterator(std::move(out), "generator");
}

Value do_capitalize(Renderer& r, const Value& v, const CallArgs& call) {
    Args a(call, "capitalize", {});
    return str_value(py::capitalize(r.to_str(v)));
}

Value do_center(Renderer& r, const Value& v, const CallArgs& call) {
    Args a(call, "center", {"width"});
    const std::int64_t width = a.integer(0, 80);
    r.check_size(static_cast<std::size_t>(std::max<std::int64_t>(width, 0)), "a centered string");
    return str_value(py::center(r.to_str(v), width));
}

Value do_length(Renderer&, const Value& v, const CallArgs& call) {
    Args a(call, "length", {});
    return Value::integer(py_len(v));
}

Value do_default(Renderer&, const Value& v, const CallArgs& call) {
    Args a(call, "default", {"default_value", "boolean"});
    if (v.is_undefined() || (a.boolean(1, false) && !truthy(v))) return a.get(0, Value::string(""));
    return v;
}

Value do_dictsort(Renderer& r, const Value& v, const CallArgs& call) {
    Args a(call, "dictsort", {"case_sensitive", "by", "reverse"});
    if (!v.is_dict()) type_error("'" + type_name(v) + "' object has no attribute 'items'");
    const bool case_sensitive = a.boolean(0, false), reverse = a.boolean(2, false);
    const std::string by = a.has(1) ? a.string(1) : "key";
    if (by != "key" && by != "value")
        fail("FilterArgumentError: You can only sort by either \"key\" or \"value\"");
    std::vector<std::pair<Value, Value>> items = v.as_dict().items;
    auto key = [&](const std::pair<Value, Value>& kv) {
        const Value& k = by == "key" ? kv.first : kv.second;
        return case_sensitive ? k : lower_if_string(k);
    };
    std::stable_sort(items.begin(), items.end(), [&](const auto& x, const auto& y) {
        return reverse ? py_less(key(y), key(x)) : py_less(key(x), key(y));
    });
    std::vector<Value> out;
    for (auto& kv : items) out.push_back(Value::list({kv.first, kv.second}, SeqKind::Tuple));
    r.charge(out.size());
    return Value::list(std::move(out));
}

Value do_escape(Renderer& r, const Value& v, const CallArgs& call) {
    Args a(call, "escape", {});
    const std::string s = r.to_str(v);
    std::string out;
    for (char c : s) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&#34;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += c;
        }
    }
    return str_value(std::move(out));
}

Value do_first(Renderer& r, const Value& v, const CallArgs& call) {
    Args a(call, "first", {});
    std::vector<Value> items = r.iterate(v);
    if (items.empty()) return Value::undefined("No first item, sequence was empty.");
    return items.front();
}

Value do_last(Renderer& r, const Value& v, const CallArgs& call) {
    Args a(call, "last", {});
    if (v.is_iterator()) type_error("'" + type_name(v) + "' object is not reversible");
    std::vector<Value> items = r.iterate(v);
    if (items.empty()) return Value::undefined("No last item, sequence was empty.");
    return items.back();
}

Value do_float(Renderer&, const Value& v, const CallArgs& call) {
    Args a(call, "float", {"default"});
    // float(Undefined) raises (Undefined.__float__); do_float only catches TypeError/ValueError.
    if (v.is_undefined()) fail_undefined(v);
    if (v.is_number()) return Value::number(v.float_like());
    if (v.is_string())
        if (auto f = parse_float(v.as_string())) return Value::number(*f);
    return a.get(0, Value::number(0.0));
}

Value do_format(Renderer& r, const Value& v, const CallArgs& call) {
    if (!call.args.empty() && !call.kwargs.empty())
        fail("FilterArgumentError: can't handle positional and keyword arguments at the same time");
    Value args;
    if (!call.kwargs.empty()) {
        DictData d;
        for (const auto& kw : call.kwargs) d.items.emplace_back(Value::string(kw.first), kw.second);
        args = Value::dict(std::move(d));
    } else {
        args = Value::list(call.args, SeqKind::Tuple);
    }
    return str_value(percent_format(r, r.to_str(v), args));
}

Value do_indent(Renderer& r, const Value& v, const CallArgs& call) {
    Args a(call, "indent", {"width", "first", "blank"});
    // do_indent starts with `s += "\n"`, which only str supports.
    if (v.is_undefined()) fail_undefined(v);
    if (v.is_list() && v.as_list().kind == SeqKind::List)  // list += str works, then this fails
        fail("AttributeError: 'list' object has no attribute 'splitlines'");
    if (!v.is_string())
        type_error("unsupported operand type(s) for +=: '" + type_name(v) + "' and 'str'");
    std::string indention;
    if (a.has(0) && a.at(0).is_string()) {
        indention = a.at(0).as_string();
    } else {
        const std::int64_t w = a.integer(0, 4);
        r.check_size(static_cast<std::size_t>(std::max<std::int64_t>(w, 0)), "an indentation");
        indention.assign(static_cast<std::size_t>(std::max<std::int64_t>(w, 0)), ' ');
    }
    // Jinja 3.x: `s += "\n"` before splitlines(), so a trailing newline yields no extra line.
    const std::vector<std::string> lines = py::splitlines(r.to_str(v) + "\n");
    std::string out;
    if (a.boolean(2, false)) {
        for (std::size_t i = 0; i < lines.size(); ++i) {
            if (i) out += "\n" + indention;
            out += lines[i];
            r.check_size(out.size(), "an indented string");
        }
    } else {
        out = lines.empty() ? "" : lines[0];
        for (std::size_t i = 1; i < lines.size(); ++i) {
            out += "\n";
            if (!lines[i].empty()) out += indention;
            out += lines[i];
            r.check_size(out.size(), "an indented string");
        }
    }
    if (a.boolean(1, false)) out = indention + out;
    return str_value(std::move(out));
}

Value do_int(Renderer&, const Value& v, const CallArgs& call) {
    Args a(call, "int", {"default", "base"});
    if (v.is_undefined()) fail_undefined(v);  // int(Undefined) raises
    const Value fallback = a.get(0, Value::integer(0));
    if (v.is_int() || v.is_bool()) return Value::integer(v.int_like());
    if (v.is_float()) {
        const double f = v.as_float();
        if (!std::isfinite(f)) return fallback;
        if (std::fabs(f) >= 9.2e18) fail("OverflowError: int() result does not fit in 64 bits");
        return Value::integer(static_cast<std::int64_t>(f));
    }
    if (v.is_string()) {
        if (auto i = parse_int(v.as_string(), a.integer(1, 10))) return Value::integer(*i);
        // Jinja's quirk: "42.23"|int gives 42 through float().
        if (auto f = parse_float(v.as_string()); f && std::isfinite(*f)) {
            if (std::fabs(*f) >= 9.2e18)
                fail("OverflowError: int() result does not fit in 64 bits");
            return Value::integer(static_cast<std::int64_t>(*f));
        }
    }
    return fallback;
}

Value do_items(Renderer& r, const Value& v, const CallArgs& call) {
    Args a(call, "items", {});
    if (v.is_undefined()) return Value::iterator({}, "generator");
    if (!v.is_dict()) type_error("Can only get item pairs from a mapping.");
    std::vector<Value> out;
    for (const auto& kv : v.as_dict().items)
        out.push_back(Value::list({kv.first, kv.second}, SeqKind::Tuple));
    r.charge(out.size());
    return Value::iterator(std::move(out), "generator");
}

Value do_join(Renderer& r, const Value& v, const CallArgs& call) {
    Args a(call, "join", {"d", "attribute"});
    const std::string sep = a.has(0) ? r.to_str(a.at(0)) : "";
    const std::vector<Value> parts = a.has(1) ? attribute_parts(a.at(1)) : std::vector<Value>{};
    std::string out;
    bool first = true;
    for (const auto& item : r.iterate(v)) {
        if (!first) out += sep;
        first = false;
        out += r.to_str(a.has(1) ? get_attribute(r, item, parts) : item);
        r.check_size(out.size(), "a joined string");
    }
    return str_value(std::move(out));
}

Value do_list(Renderer& r, const Value& v, const CallArgs& call) {
    Args a(call, "list", {});
    return Value::list(r.iterate(v));
}

Value do_lower(Renderer& r, const Value& v, const CallArgs& call) {
    Args a(call, "lower", {});
    return str_value(py::lower(r.to_str(v)));
}

Value do_upper(Renderer& r, const Value& v, const CallArgs& call) {
    Args a(call, "upper", {});
    return str_value(py::upper(r.to_str(v)));
}

Value do_map(Renderer& r, const Value& v, const CallArgs& call) {
    std::vector<Value> out;
    if (!truthy(v)) return Value::iterator({}, "generator");
    if (call.args.empty() && !call.kwargs.empty()) {
        Value attribute, fallback = Value::none();
        bool have_attribute = false;
        for (const auto& kw : call.kwargs) {
            if (kw.first == "attribute") {
                attribute = kw.second;
                have_attribute = true;
            } else if (kw.first == "default") {
                fallback = kw.second;
            } else {
                fail("FilterArgumentError: Unexpected keyword argument '" + kw.first + "'");
            }
        }
        if (!have_attribute) fail("FilterArgumentError: map requires a filter argument");
        const auto parts = attribute_parts(attribute);
        for (const auto& item : r.iterate(v))
            out.push_back(get_attribute(r, item, parts, fallback.is_none() ? nullptr : &fallback));
    } else {
        if (call.args.empty()) fail("FilterArgumentError: map requires a filter argument");
        if (!call.args[0].is_string()) type_error("map() filter name must be a string");
        const std::string name = call.args[0].as_string();
        CallArgs rest{std::vector<Value>(call.args.begin() + 1, call.args.end()), call.kwargs};
        for (const auto& item : r.iterate(v)) out.push_back(r.call_filter(name, item, rest));
    }
    return Value::iterator(std::move(out), "generator");
}

Value min_or_max(Renderer& r, const Value& v, const CallArgs& call, bool want_max) {
    Args a(call, want_max ? "max" : "min", {"case_sensitive", "attribute"});
    const std::vector<Value> items = r.iterate(v);
    if (items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
    const bool case_sensitive = a.boolean(0, false);
    const Value attribute = a.get(1, Value::none());
    auto key = [&](const Value& item) {
        Value k = attribute.is_none() ? item : get_attribute(r, item, attribute_parts(attribute));
        return case_sensitive ? k : lower_if_string(k);
    };
    std::size_t best = 0;
    Value best_key = key(items[0]);
    for (std::size_t i = 1; i < items.size(); ++i) {
        Value k = key(items[i]);
        if (want_max ? py_less(best_key, k) : py_less(k, best_key)) {
            best = i;
            best_key = std::move(k);
        }
    }
    return items[best];
}

Value do_max(Renderer& r, const Value& v, const CallArgs& call) {
    return min_or_max(r, v, call, true);
}
Value do_min(Renderer& r, const Value& v, const CallArgs& call) {
    return min_or_max(r, v, call, false);
}

// select/reject/selectattr/rejectattr share prepare_select_or_reject's argument layout.
Value select_or_reject(Renderer& r, const Value& v, const CallArgs& call, bool keep_true,
                       bool lookup_attr) {
    if (!truthy(v)) return Value::iterator({}, "generator");
    std::size_t off = 0;
    std::vector<Value> parts;
    if (lookup_attr) {
        if (call.args.empty()) fail("FilterArgumentError: Missing parameter for attribute name");
        parts = attribute_parts(call.args[0]);
        off = 1;
    }
    std::string test;
    CallArgs test_args;
    const bool have_test = call.args.size() > off;
    if (have_test) {
        if (!call.args[off].is_string()) type_error("test name must be a string");
        test = call.args[off].as_string();
        test_args.args.assign(call.args.begin() + static_cast<std::ptrdiff_t>(off + 1),
                              call.args.end());
        test_args.kwargs = call.kwargs;
    }
    std::vector<Value> out;
    for (auto& item : r.iterate(v)) {
        const Value subject = lookup_attr ? get_attribute(r, item, parts) : item;
        const bool passed = have_test ? r.call_test(test, subject, test_args) : truthy(subject);
        if (passed == keep_true) out.push_back(std::move(item));
    }
    return Value::iterator(std::move(out), "generator");
}

Value do_select(Renderer& r, const Value& v, const CallArgs& c) {
    return select_or_reject(r, v, c, true, false);
}
Value do_reject(Renderer& r, const Value& v, const CallArgs& c) {
    return select_or_reject(r, v, c, false, false);
}
Value do_selectattr(Renderer& r, const Value& v, const CallArgs& c) {
    return select_or_reject(r, v, c, true, true);
}
Value do_rejectattr(Renderer& r, const Value& v, const CallArgs& c) {
    return select_or_reject(r, v, c, false, true);
}

Value do_replace(Renderer& r, const Value& v, const CallArgs& call) {
    Args a(call, "replace", {"old", "new", "count"}, 2);
    CallArgs method{{Value::string(r.to_str(a.at(0))), Value::string(r.to_str(a.at(1)))}, {}};
    if (a.has(2) && !a.at(2).is_none()) method.args.push_back(a.at(2));
    return call_method(r, Value::string(r.to_str(v)), "replace", method);
}

Value do_reverse(Renderer& r, const Value& v, const CallArgs& call) {
    Args a(call, "reverse", {});
    if (v.is_string()) {
        std::u32string u = py::decode(v.as_string());
        std::reverse(u.begin(), u.end());
        return str_value(py::encode(u));
    }
    std::vector<Value> items = r.iterate(v);
    std::reverse(items.begin(), items.end());
    if (v.is_iterator()) return Value::list(std::move(items));  // reversed() failed: a list
    const std::string kind = v.is_dict() ? "dict_reversekeyiterator"
                             : v.is_list() && v.as_list().kind == SeqKind::Tuple
                                 ? "reversed"
                                 : "list_reverseiterator";
    return Value::iterator(std::move(items), kind);
}

Value do_round(Renderer&, const Value& v, const CallArgs& call) {
    Args a(call, "round", {"precision", "method"});
    const std::int64_t precision = a.integer(0, 0);
    const std::string method = a.has(1) ? a.string(1) : "common";
    if (method != "common" && method != "ceil" && method != "floor")
        fail("FilterArgumentError: method must be common, ceil or floor");
    if (!v.is_number()) type_error("type " + type_name(v) + " doesn't define __round__ method");
    if (method == "common" && (v.is_int() || v.is_bool()) && precision >= 0)
        return Value::integer(v.int_like());  // round(int, n) stays an int
    const double x = v.float_like();
    if (!std::isfinite(x)) return Value::number(x);
    const double scale =
        std::pow(10.0, static_cast<double>(std::clamp<std::int64_t>(precision, -308, 308)));
    if (method == "ceil") return Value::number(std::ceil(x * scale) / scale);
    if (method == "floor") return Value::number(std::floor(x * scale) / scale);
    if (precision >= 0 && precision <= 300) {
        // Python's round() is correctly rounded (half to even on the exact binary value), which is
        // what printf's %.Nf does on glibc.
        char buf[1024];
        std::snprintf(buf, sizeof buf, "%.*f", static_cast<int>(precision), x);
        return Value::number(std::strtod(buf, nullptr));
    }
    return Value::number(std::nearbyint(x * scale) / scale);
}

Value do_safe(Renderer& r, const Value& v, const CallArgs& call) {
    Args a(call, "safe", {});
    return str_value(r.to_str(v));
}

Value do_slice(Renderer& r, const Value& v, const CallArgs& call) {
    Args a(call, "slice", {"slices", "fill_with"}, 1);
    const std::int64_t slices = a.integer(0, 1);
    if (slices < 1) fail("ZeroDivisionError: integer division or modulo by zero");
    const Value fill = a.get(1, Value::none());
    const std::vector<Value> seq = r.iterate(v);
    const auto length = static_cast<std::int64_t>(seq.size());
    const std::int64_t per = length / slices, with_extra = length % slices;
    std::int64_t offset = 0;
    std::vector<Value> out;
    for (std::int64_t n = 0; n < slices && n < 100000; ++n) {
        const std::int64_t start = offset + n * per;
        if (n < with_extra) ++offset;
        const std::int64_t end = offset + (n + 1) * per;
        std::vector<Value> tmp(seq.begin() + start, seq.begin() + end);
        if (!fill.is_none() && n >= with_extra) tmp.push_back(fill);
        out.push_back(Value::list(std::move(tmp)));
    }
    return Value::iterator(std::move(out), "generator");
}

Value do_sort(Renderer& r, const Value& v, const CallArgs& call) {
    Args a(call, "sort", {"reverse", "case_sensitive", "attribute"});
    const bool reverse = a.boolean(0, false), case_sensitive = a.boolean(1, false);
    const Value attribute = a.get(2, Value::none());
    std::vector<std::pair<Value, Value>> keyed;
    for (auto& item : r.iterate(v)) {
        Value k = sort_key(r, item, attribute, case_sensitive);
        keyed.emplace_back(std::move(k), std::move(item));
    }
    // sorted(reverse=True) keeps equal items in their original order, like a stable sort on >.
    std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& x, const auto& y) {
        return reverse ? py_less(y.first, x.first) : py_less(x.first, y.first);
    });
    std::vector<Value> out;
    out.reserve(keyed.size());
    for (auto& kv : keyed) out.push_back(std::move(kv.second));
    r.charge(out.size());
    return Value::list(std::move(out));
}

Value do_string(Renderer& r, const Value& v, const CallArgs& call) {
    Args a(call, "string", {});
    return str_value(r.to_str(v));
}

Value do_sum(Renderer& r, const Value& v, const CallArgs& call) {
    Args a(call, "sum", {"attribute", "start"});
    Value total = a.get(1, Value::integer(0));
    if (total.is_string()) type_error("sum() can't sum strings [use ''.join(seq) instead]");
    const std::vector<Value> parts = a.has(0) ? attribute_parts(a.at(0)) : std::vector<Value>{};
    for (const auto& item : r.iterate(v))
        total = binary_op(r, BinOp::Add, total, a.has(0) ? get_attribute(r, item, parts) : item);
    return total;
}

Value do_title(Renderer& r, const Value& v, const CallArgs& call) {
    Args a(call, "title", {});
    // Jinja splits on runs of [-\s({[<] and upper-cases the first character of every piece.
    const std::u32string u = py::decode(r.to_str(v));
    std::string out;
    bool start = true;
    bool in_sep = false;
    for (char32_t c : u) {
        const bool sep =
            c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || py::is_space(c);
        if (sep != in_sep) start = true;
        in_sep = sep;
        const std::string one = py::encode(std::u32string(1, c));
        out += start ? py::upper(one) : py::lower(one);
        start = false;
    }
    return str_value(std::move(out));
}

// HF's override: json.dumps(x, ensure_ascii=False, indent=indent, separators=separators,
// sort_keys=sort_keys).
Value do_tojson(Renderer& r, const Value& v, const CallArgs& call) {
    Args a(call, "tojson", {"ensure_ascii", "indent", "separators", "sort_keys"});
    DumpOptions o;
    o.ensure_ascii = a.boolean(0, false);
    o.sort_keys = a.boolean(3, false);
    if (a.has(1) && !a.at(1).is_none()) {
        const Value& ind = a.at(1);
        if (ind.is_string()) {
            o.indent = ind.as_string();
        } else {
            const std::int64_t n = a.integer(1, 0);
            r.check_size(static_cast<std::size_t>(std::max<std::int64_t>(n, 0)), "a JSON indent");
            o.indent = std::string(static_cast<std::size_t>(std::max<std::int64_t>(n, 0)), ' ');
        }
    }
    if (a.has(2) && !a.at(2).is_none()) {
        const Value& sep = a.at(2);
        if (!sep.is_list() || sep.as_list().items.size() != 2 ||
            !sep.as_list().items[0].is_string() || !sep.as_list().items[1].is_string())
            value_error("separators must be a (item_separator, key_separator) pair of strings");
        o.item_separator = sep.as_list().items[0].as_string();
        o.key_separator = sep.as_list().items[1].as_string();
    }
    std::string s = dumps(v, o);
    r.check_size(s.size(), "a JSON string");
    return str_value(std::move(s));
}

Value do_trim(Renderer& r, const Value& v, const CallArgs& call) {
    Args a(call, "trim", {"chars"});
    return str_value(py::strip(r.to_str(v), a.string_or_none(0)));
}

Value do_truncate(Renderer& r, const Value& v, const CallArgs& call) {
    Args a(call, "truncate", {"length", "killwords", "end", "leeway"});
    // do_truncate works on the value itself: len() first, then slicing and rsplit, which only a
    // string survives; anything short enough comes back unchanged.
    const std::int64_t n = py_len(v);
    const std::int64_t length = a.integer(0, 255);
    const bool killwords = a.boolean(1, false);
    const std::string end = a.has(2) ? r.to_str(a.at(2)) : "...";
    const std::int64_t leeway = a.has(3) && !a.at(3).is_none() ? a.integer(3, 5) : 5;
    const auto end_len = static_cast<std::int64_t>(py::length(end));
    if (length < end_len)
        fail("AssertionError: expected length >= " + std::to_string(end_len) + ", got " +
             std::to_string(length));
    if (leeway < 0) fail("AssertionError: expected leeway >= 0, got " + std::to_string(leeway));
    if (n <= length + leeway) return v;
    if (!v.is_string()) type_error("'" + type_name(v) + "' cannot be truncated");
    const std::string& s = v.as_string();
    const std::string head =
        s.substr(0, py::byte_offset(s, static_cast<std::size_t>(length - end_len)));
    if (killwords) return str_value(head + end);
    return str_value(py::rsplit(head, std::string(" "), 1)[0] + end);
}

Value do_unique(Renderer& r, const Value& v, const CallArgs& call) {
    Args a(call, "unique", {"case_sensitive", "attribute"});
    const bool case_sensitive = a.boolean(0, false);
    const Value attribute = a.get(1, Value::none());
    const std::vector<Value> parts = attribute_parts(attribute);
    std::vector<Value> seen, out;
    for (auto& item : r.iterate(v)) {
        Value key = get_attribute(r, item, parts);
        if (!case_sensitive) key = lower_if_string(key);
        if (!hashable(key)) unhashable(key);
        bool dup = false;
        for (const auto& s : seen)
            if (py_equal(s, key)) {
                dup = true;
                break;
            }
        if (dup) continue;
        seen.push_back(std::move(key));
        out.push_back(std::move(item));
    }
    return Value::iterator(std::move(out), "generator");
}

Value do_wordcount(Renderer& r, const Value& v, const CallArgs& call) {
    Args a(call, "wordcount", {});
    const std::u32string u = py::decode(r.to_str(v));
    std::int64_t words = 0;
    bool in_word = false;
    for (char32_t c : u) {
        const std::string one = py::encode(std::u32string(1, c));
        const bool w = c == '_' || py::is_alnum(one);  // Python's \w
        if (w && !in_word) ++words;
        in_word = w;
    }
    return Value::integer(words);
}

struct FilterEntry {
    const char* name;
    FilterFn fn;
};

const FilterEntry kFilters[] = {
    {"abs", do_abs},
    {"attr", do_attr},
    {"batch", do_batch},
    {"capitalize", do_capitalize},
    {"center", do_center},
    {"count", do_length},
    {"d", do_default},
    {"default", do_default},
    {"dictsort", do_dictsort},
    {"e", do_escape},
    {"escape", do_escape},
    {"first", do_first},
    {"float", do_float},
    {"forceescape", do_escape},
    {"format", do_format},
    {"indent", do_indent},
    {"int", do_int},
    {"items", do_items},
    {"join", do_join},
    {"last", do_last},
    {"length", do_length},
    {"list", do_list},
    {"lower", do_lower},
    {"map", do_map},
    {"max", do_max},
    {"min", do_min},
    {"reject", do_reject},
    {"rejectattr", do_rejectattr},
    {"replace", do_replace},
    {"reverse", do_reverse},
    {"round", do_round},
    {"safe", do_safe},
    {"select", do_select},
    {"selectattr", do_selectattr},
    {"slice", do_slice},
    {"sort", do_sort},
    {"string", do_string},
    {"sum", do_sum},
    {"title", do_title},
    {"tojson", do_tojson},
    {"trim", do_trim},
    {"truncate", do_truncate},
    {"unique", do_unique},
    {"upper", do_upper},
    {"wordcount", do_wordcount},
};

}  // namespace

FilterFn find_filter(std::string_view name) {
    for (const auto& f : kFilters)
        if (name == f.name) return f.fn;
    return nullptr;
}

}  // namespace statescope::jinja
