// The Python methods templates call on values: str (strip, split, startswith, replace, format ...),
// dict (items, keys, values, get) and list (index, count), plus the loop object's cycle/changed.
// ImmutableSandboxedEnvironment refuses the mutating ones (list.append, dict.update ...): getattr
// turns those into an Undefined that raises SecurityError when called.
#include <algorithm>
#include <array>

#include "core/chat/jinja_args.h"
#include "core/chat/jinja_error.h"
#include "core/chat/jinja_renderer.h"
#include "core/chat/py_string.h"

namespace statescope::jinja {

namespace {

constexpr std::array kStrMethods = {
    "strip",        "lstrip",      "rstrip",    "split",     "rsplit",    "splitlines",
    "startswith",   "endswith",    "upper",     "lower",     "title",     "capitalize",
    "swapcase",     "casefold",    "replace",   "find",      "rfind",     "index",
    "rindex",       "count",       "join",      "format",    "center",    "ljust",
    "rjust",        "zfill",       "isdigit",   "isalpha",   "isalnum",   "isspace",
    "isupper",      "islower",     "isnumeric", "isdecimal", "partition", "rpartition",
    "removeprefix", "removesuffix"};
constexpr std::array kDictMethods = {"items", "keys", "values", "get", "copy"};
constexpr std::array kDictUnsafe = {"clear", "pop", "popitem", "setdefault", "update"};
constexpr std::array kListMethods = {"index", "count", "copy"};
constexpr std::array kListUnsafe = {"append", "clear", "pop",    "reverse",
                                    "insert", "sort",  "extend", "remove"};

template <std::size_t N>
bool in(const std::array<const char*, N>& names, std::string_view name) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

Value str_list(std::vector<std::string> parts) {
    std::vector<Value> out;
    out.reserve(parts.size());
    for (auto& p : parts) out.push_back(Value::string(std::move(p)));
    return Value::list(std::move(out));
}

std::optional<std::int64_t> opt_int(const Args& a, std::size_t i) {
    if (!a.has(i) || a.at(i).is_none()) return std::nullopt;
    return a.integer(i, 0);
}

// str.startswith / endswith: a str or a tuple of str, within s[start:end].
bool affix_match(const std::string& s, const Args& a, bool prefix, const std::string& fn) {
    std::string_view view = s;
    if (a.has(1) || a.has(2)) {
        const std::size_t n = py::length(s);
        auto clamp = [&](std::optional<std::int64_t> v, std::size_t fallback) {
            if (!v) return fallback;
            std::int64_t x = *v < 0 ? *v + static_cast<std::int64_t>(n) : *v;
            return static_cast<std::size_t>(
                std::clamp<std::int64_t>(x, 0, static_cast<std::int64_t>(n)));
        };
        const std::size_t b = clamp(opt_int(a, 1), 0), e = clamp(opt_int(a, 2), n);
        if (b > e) return false;
        const std::size_t bb = py::byte_offset(s, b), eb = py::byte_offset(s, e);
        view = view.substr(bb, eb - bb);
    }
    auto one = [&](const Value& v) {
        if (!v.is_string())
            type_error(fn + " first arg must be str or a tuple of str, not " + type_name(v));
        const std::string& x = v.as_string();
        if (x.size() > view.size()) return false;
        return prefix ? view.compare(0, x.size(), x) == 0
                      : view.compare(view.size() - x.size(), x.size(), x) == 0;
    };
    const Value& p = a.at(0);
    if (p.is_list() && p.as_list().kind == SeqKind::Tuple) {
        for (const auto& v : p.as_list().items)
            if (one(v)) return true;
        return false;
    }
    return one(p);
}

char32_t fill_char(const Args& a, std::size_t i, const std::string& fn) {
    if (!a.has(i)) return U' ';
    const Value& v = a.at(i);
    if (!v.is_string() || py::length(v.as_string()) != 1)
        type_error(fn + "() argument 2 must be a str of length 1");
    return py::decode(v.as_string())[0];
}

Value string_method(Renderer& r, const std::string& s, const std::string& name,
                    const CallArgs& call) {
    const std::string fn = "str." + name;
    if (name == "strip" || name == "lstrip" || name == "rstrip") {
        Args a(call, fn, {"chars"});
        const auto chars = a.string_or_none(0);
        return Value::string(name == "strip"    ? py::strip(s, chars)
                             : name == "lstrip" ? py::lstrip(s, chars)
                                                : py::rstrip(s, chars));
    }
    if (name == "split" || name == "rsplit") {
        Args a(call, fn, {"sep", "maxsplit"});
        const auto sep = a.string_or_none(0);
        if (sep && sep->empty()) value_error("empty separator");
        const std::int64_t maxsplit = a.integer(1, -1);
        auto parts = name == "split" ? py::split(s, sep, maxsplit) : py::rsplit(s, sep, maxsplit);
        r.charge(parts.size());
        return str_list(std::move(parts));
    }
    if (name == "splitlines") {
        Args a(call, fn, {"keepends"});
        return str_list(py::splitlines(s, a.boolean(0, false)));
    }
    if (name == "startswith" || name == "endswith") {
        Args a(call, fn, {"prefix", "start", "end"}, 1);
        return Value::boolean(affix_match(s, a, name == "startswith", fn));
    }
    if (name == "upper" || name == "lower" || name == "title" || name == "capitalize" ||
        name == "swapcase" || name == "casefold") {
        Args a(call, fn, {});
        if (name == "upper") return Value::string(py::upper(s));
        if (name == "lower" || name == "casefold") return Value::string(py::lower(s));
        if (name == "title") return Value::string(py::title(s));
        if (name == "capitalize") return Value::string(py::capitalize(s));
        return Value::string(py::swapcase(s));
    }
    if (name == "replace") {
        Args a(call, fn, {"old", "new", "count"}, 2);
        const std::string old = a.string(0), repl = a.string(1);
        const std::int64_t count = a.integer(2, -1);
        std::int64_t hits = py::count(s, old);
        if (count >= 0) hits = std::min(hits, count);
        const auto grow =
            static_cast<std::int64_t>(repl.size()) - static_cast<std::int64_t>(old.size());
        if (grow > 0 && hits > 0 &&
            static_cast<std::uint64_t>(hits) >
                (r.limits().max_output_bytes) / static_cast<std::uint64_t>(grow))
            r.check_size(r.limits().max_output_bytes + 1, "a replaced string");
        r.check_size(s.size() + static_cast<std::size_t>(std::max<std::int64_t>(0, hits * grow)),
                     "a replaced string");
        return Value::string(py::replace(s, old, repl, count));
    }
    if (name == "find" || name == "rfind" || name == "index" || name == "rindex" ||
        name == "count") {
        Args a(call, fn, {"sub", "start", "end"}, 1);
        const std::string sub = a.string(0);
        if (name == "count") return Value::integer(py::count(s, sub, opt_int(a, 1), opt_int(a, 2)));
        const bool reverse = name == "rfind" || name == "rindex";
        const std::int64_t at = reverse ? py::rfind(s, sub, opt_int(a, 1), opt_int(a, 2))
                                        : py::find(s, sub, opt_int(a, 1), opt_int(a, 2));
        if (at < 0 && (name == "index" || name == "rindex")) value_error("substring not found");
        return Value::integer(at);
    }
    if (name == "join") {
        Args a(call, fn, {"iterable"}, 1);
        std::string out;
        std::size_t i = 0;
        for (const Value& v : r.iterate(a.at(0))) {
            if (!v.is_string())
                type_error("sequence item " + std::to_string(i) + ": expected str instance, " +
                           type_name(v) + " found");
            if (i++) out += s;
            out += v.as_string();
            r.check_size(out.size(), "a joined string");
        }
        r.charge(out.size());
        return Value::string(std::move(out));
    }
    if (name == "format") return Value::string(str_format(r, s, call));
    if (name == "center" || name == "ljust" || name == "rjust") {
        Args a(call, fn, {"width", "fillchar"}, 1);
        const std::int64_t width = a.integer(0, 0);
        r.check_size(static_cast<std::size_t>(std::max<std::int64_t>(width, 0)), "a padded string");
        const char32_t fill = fill_char(a, 1, name);
        return Value::string(name == "center"  ? py::center(s, width, fill)
                             : name == "ljust" ? py::ljust(s, width, fill)
                                               : py::rjust(s, width, fill));
    }
    if (name == "zfill") {
        Args a(call, fn, {"width"}, 1);
        const std::int64_t width = a.integer(0, 0);
        r.check_size(static_cast<std::size_t>(std::max<std::int64_t>(width, 0)), "a padded string");
        return Value::string(py::zfill(s, width));
    }
    if (name.rfind("is", 0) == 0) {
        Args a(call, fn, {});
        if (name == "isdigit" || name == "isnumeric" || name == "isdecimal")
            return Value::boolean(py::is_digit(s));
        if (name == "isalpha") return Value::boolean(py::is_alpha(s));
        if (name == "isalnum") return Value::boolean(py::is_alnum(s));
        if (name == "isspace") return Value::boolean(py::is_all_space(s));
        if (name == "isupper") return Value::boolean(py::is_upper(s));
        return Value::boolean(py::is_lower(s));
    }
    if (name == "partition" || name == "rpartition") {
        Args a(call, fn, {"sep"}, 1);
        const std::string sep = a.string(0);
        if (sep.empty()) value_error("empty separator");
        const std::size_t at = name == "partition" ? s.find(sep) : s.rfind(sep);
        std::vector<Value> parts;
        if (at == std::string::npos) {
            const bool left = name == "partition";
            parts = {Value::string(left ? s : ""), Value::string(""), Value::string(left ? "" : s)};
        } else {
            parts = {Value::string(s.substr(0, at)), Value::string(sep),
                     Value::string(s.substr(at + sep.size()))};
        }
        return Value::list(std::move(parts), SeqKind::Tuple);
    }
    if (name == "removeprefix" || name == "removesuffix") {
        Args a(call, fn, {"affix"}, 1);
        const std::string x = a.string(0);
        if (name == "removeprefix")
            return Value::string(s.rfind(x, 0) == 0 ? s.substr(x.size()) : s);
        const bool ends = s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0;
        return Value::string(ends ? s.substr(0, s.size() - x.size()) : s);
    }
    fail("AttributeError: 'str' object has no attribute '" + name + "'");
}

Value dict_method(Renderer& r, const Value& d, const std::string& name, const CallArgs& call) {
    const std::string fn = "dict." + name;
    const DictData& data = d.as_dict();
    if (name == "get") {
        Args a(call, fn, {"key", "default"}, 1);
        if (!hashable(a.at(0))) unhashable(a.at(0));
        if (const Value* v = data.find(a.at(0))) return *v;
        return a.get(1, Value::none());
    }
    Args a(call, fn, {});
    if (name == "copy") return d;
    std::vector<Value> out;
    out.reserve(data.items.size());
    for (const auto& kv : data.items) {
        if (name == "keys")
            out.push_back(kv.first);
        else if (name == "values")
            out.push_back(kv.second);
        else
            out.push_back(Value::list({kv.first, kv.second}, SeqKind::Tuple));
    }
    r.charge(out.size());
    return Value::list(std::move(out), name == "keys"     ? SeqKind::DictKeys
                                       : name == "values" ? SeqKind::DictValues
                                                          : SeqKind::DictItems);
}

Value list_method(const Value& l, const std::string& name, const CallArgs& call) {
    const auto& items = l.as_list().items;
    if (name == "copy") {
        Args a(call, "list.copy", {});
        return Value::list(items);
    }
    if (name == "count") {
        Args a(call, type_name(l) + ".count", {"value"}, 1);
        std::int64_t n = 0;
        for (const auto& v : items) n += py_equal(v, a.at(0));
        return Value::integer(n);
    }
    Args a(call, type_name(l) + ".index", {"value", "start", "stop"}, 1);
    const auto n = static_cast<std::int64_t>(items.size());
    auto clamp = [&](std::int64_t x) { return std::clamp<std::int64_t>(x < 0 ? x + n : x, 0, n); };
    const std::int64_t b = clamp(a.integer(1, 0)), e = clamp(a.integer(2, n));
    for (std::int64_t i = b; i < e; ++i)
        if (py_equal(items[static_cast<std::size_t>(i)], a.at(0))) return Value::integer(i);
    value_error(py_repr(a.at(0)) + " is not in " + type_name(l));
}

Value loop_method(const Value& loop, const std::string& name, const CallArgs& call) {
    LoopData& l = loop.as_loop();
    if (!call.kwargs.empty()) type_error("loop." + name + "() takes no keyword arguments");
    if (name == "cycle") {
        if (call.args.empty()) type_error("no items for cycling given");
        return call.args[l.index0 % call.args.size()];
    }
    // loop.changed(*values): true on the first call and whenever the values differ from the last.
    Value current = Value::list(call.args, SeqKind::Tuple);
    if (l.last_changed && py_equal(*l.last_changed, current)) return Value::boolean(false);
    l.last_changed = std::make_shared<Value>(std::move(current));
    return Value::boolean(true);
}

}  // namespace

MethodAccess method_access(const Value& receiver, std::string_view name) {
    switch (receiver.type()) {
        case Value::Type::String:
            return in(kStrMethods, name) ? MethodAccess::Safe : MethodAccess::None;
        case Value::Type::Dict:
            if (in(kDictMethods, name)) return MethodAccess::Safe;
            return in(kDictUnsafe, name) ? MethodAccess::Unsafe : MethodAccess::None;
        case Value::Type::List: {
            const SeqKind k = receiver.as_list().kind;
            if (k == SeqKind::List) {
                if (in(kListMethods, name)) return MethodAccess::Safe;
                return in(kListUnsafe, name) ? MethodAccess::Unsafe : MethodAccess::None;
            }
            if (k == SeqKind::Tuple && (name == "index" || name == "count"))
                return MethodAccess::Safe;
            return MethodAccess::None;
        }
        default:
            return MethodAccess::None;
    }
}

Value call_method(Renderer& r, const Value& receiver, const std::string& name,
                  const CallArgs& args) {
    switch (receiver.type()) {
        case Value::Type::String:
            return string_method(r, receiver.as_string(), name, args);
        case Value::Type::Dict:
            return dict_method(r, receiver, name, args);
        case Value::Type::List:
            return list_method(receiver, name, args);
        case Value::Type::Loop:
            return loop_method(receiver, name, args);
        default:
            type_error("'" + type_name(receiver) + "' object has no method '" + name + "'");
    }
}

}  // namespace statescope::jinja
