// Jinja's global functions available to chat templates: range (with the sandbox's MAX_RANGE),
// dict, namespace, joiner, and HF's raise_exception and strftime_now.
#include <array>

#include "core/chat/jinja_args.h"
#include "core/chat/jinja_error.h"
#include "core/chat/jinja_renderer.h"
#include "core/chat/py_strftime.h"

namespace statescope::jinja {

namespace {

__extension__ typedef __int128 Wide;  // exact intermediate for 64-bit overflow checks

// dict(*args, **kwargs): one optional mapping or iterable of pairs, then keywords.
DictData make_dict(Renderer& r, const CallArgs& call, const std::string& fn) {
    if (call.args.size() > 1)
        type_error(fn + " expected at most 1 argument, got " + std::to_string(call.args.size()));
    DictData d;
    auto put = [&](const Value& k, const Value& v) {
        if (!hashable(k)) unhashable(k);
        for (auto& kv : d.items)
            if (py_equal(kv.first, k)) {
                kv.second = v;
                return;
            }
        d.items.emplace_back(k, v);
    };
    if (!call.args.empty()) {
        const Value& src = call.args[0];
        if (src.is_dict()) {
            d = src.as_dict();
        } else {
            std::size_t i = 0;
            for (const Value& item : r.iterate(src)) {
                if (!item.is_list() || item.as_list().items.size() != 2)
                    value_error("dictionary update sequence element #" + std::to_string(i) +
                                " has the wrong length or type");
                put(item.as_list().items[0], item.as_list().items[1]);
                ++i;
            }
        }
    }
    for (const auto& kw : call.kwargs) put(Value::string(kw.first), kw.second);
    return d;
}

Value range(Renderer& r, const CallArgs& call) {
    if (!call.kwargs.empty()) type_error("range() takes no keyword arguments");
    if (call.args.empty() || call.args.size() > 3)
        type_error("range expected 1 to 3 arguments, got " + std::to_string(call.args.size()));
    std::array<std::int64_t, 3> v{0, 0, 1};
    for (std::size_t i = 0; i < call.args.size(); ++i) {
        const Value& a = call.args[i];
        if (!a.is_int() && !a.is_bool())
            type_error(std::string(1, '\'').append(type_name(a)) +
                       "' object cannot be interpreted as an integer");
        v[i] = a.int_like();
    }
    if (call.args.size() == 1) v = {0, v[0], 1};
    const auto [start, stop, step] = v;
    if (step == 0) value_error("range() arg 3 must not be zero");
    Wide n = 0;
    if (step > 0 && stop > start) n = (static_cast<Wide>(stop) - start + step - 1) / step;
    if (step < 0 && stop < start) n = (static_cast<Wide>(start) - stop - step - 1) / -step;
    if (n > r.limits().max_range)
        fail("OverflowError: Range too big. The sandbox blocks ranges larger than MAX_RANGE (" +
             std::to_string(r.limits().max_range) + ").");
    std::vector<Value> out;
    out.reserve(static_cast<std::size_t>(n));
    for (Wide i = 0; i < n; ++i)
        out.push_back(Value::integer(static_cast<std::int64_t>(start + i * step)));
    r.charge(out.size());
    return Value::list(std::move(out));
}

}  // namespace

Value call_global(Renderer& r, const CallableData& fn, const CallArgs& args) {
    const std::string& name = fn.name;
    if (name == "range") return range(r, args);
    if (name == "dict") return Value::dict(make_dict(r, args, "dict"));
    if (name == "namespace") {
        auto ns = std::make_shared<NamespaceData>();
        for (auto& kv : make_dict(r, args, "namespace").items) {
            if (!kv.first.is_string()) type_error("namespace() keywords must be strings");
            ns->attrs.emplace_back(kv.first.as_string(), kv.second);
        }
        r.track(ns);
        return Value::namespace_object(std::move(ns));
    }
    if (name == "joiner") {
        // joiner(sep=", "): a callable returning "" the first time and sep afterwards.
        Args a(args, "joiner", {"sep"});
        auto j = std::make_shared<CallableData>();
        j->kind = CallableKind::Builtin;
        j->name = "joiner instance";
        j->receiver = std::make_shared<Value>(a.get(0, Value::string(", ")));
        j->state = std::make_shared<Value>(Value::boolean(false));
        return Value::callable(std::move(j));
    }
    if (name == "joiner instance") {
        Args a(args, "joiner", {});
        if (!truthy(*fn.state)) {
            *fn.state = Value::boolean(true);
            return Value::string("");
        }
        return *fn.receiver;
    }
    if (name == "raise_exception") {
        Args a(args, "raise_exception", {"message"}, 1);
        fail("raise_exception: " + r.to_str(a.at(0)));
    }
    if (name == "strftime_now") {
        Args a(args, "strftime_now", {"format"}, 1);
        const std::time_t t = r.now();
        std::tm tm{};
        localtime_r(&t, &tm);
        return Value::string(py::strftime(a.string(0), tm));
    }
    fail("NameError: '" + name + "' is not defined");
}

}  // namespace statescope::jinja
