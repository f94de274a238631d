#include "core/chat/jinja_json.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "core/chat/jinja_error.h"
#include "core/chat/py_string.h"

namespace statescope::jinja {

namespace {

const char* kHex = "0123456789abcdef";

void append_u4(std::string& out, unsigned v) {
    out += "\\u";
    for (int k = 3; k >= 0; --k) out += kHex[(v >> (4 * k)) & 15];
}

// json.encoder.py_encode_basestring(_ascii): the two escaping modes of json.dumps.
void append_json_string(std::string& out, const std::string& s, bool ensure_ascii) {
    out += '"';
    const std::u32string u = ensure_ascii ? py::decode(s) : std::u32string();
    auto escape_one = [&](char32_t c) -> bool {
        switch (c) {
            case '"':
                out += "\\\"";
                return true;
            case '\\':
                out += "\\\\";
                return true;
            case '\n':
                out += "\\n";
                return true;
            case '\r':
                out += "\\r";
                return true;
            case '\t':
                out += "\\t";
                return true;
            case '\b':
                out += "\\b";
                return true;
            case '\f':
                out += "\\f";
                return true;
            default:
                break;
        }
        if (c < 0x20) {
            append_u4(out, static_cast<unsigned>(c));
            return true;
        }
        return false;
    };
    if (!ensure_ascii) {
        for (char ch : s)
            if (!escape_one(static_cast<unsigned char>(ch))) out += ch;
    } else {
        for (char32_t c : u) {
            if (escape_one(c)) continue;
            if (c >= 0x20 && c <= 0x7E) {
                out += static_cast<char>(c);
            } else if (c < 0x10000) {
                append_u4(out, static_cast<unsigned>(c));
            } else {
                const char32_t v = c - 0x10000;
                append_u4(out, 0xD800 | static_cast<unsigned>(v >> 10));
                append_u4(out, 0xDC00 | static_cast<unsigned>(v & 0x3FF));
            }
        }
    }
    out += '"';
}

std::string float_json(double d) {
    if (std::isnan(d)) return "NaN";
    if (std::isinf(d)) return d < 0 ? "-Infinity" : "Infinity";
    return float_repr(d);
}

[[noreturn]] void not_serializable(const Value& v) {
    type_error("Object of type " + type_name(v) + " is not JSON serializable");
}

class Dumper {
  public:
    explicit Dumper(const DumpOptions& o) : o_(o) {
        item_sep_ = o.item_separator ? *o.item_separator : (o.indent ? "," : ", ");
        key_sep_ = o.key_separator ? *o.key_separator : ": ";
    }

    void dump(const Value& v, int level) {
        if (level > 512) value_error("nested too deeply to serialise");
        spend(1);
        switch (v.type()) {
            case Value::Type::None:
                out_ += "null";
                return;
            case Value::Type::Bool:
                out_ += v.as_bool() ? "true" : "false";
                return;
            case Value::Type::Int:
                out_ += std::to_string(v.as_int());
                return;
            case Value::Type::Float:
                out_ += float_json(v.as_float());
                return;
            case Value::Type::String:
                spend(v.as_string().size());
                append_json_string(out_, v.as_string(), o_.ensure_ascii);
                return;
            case Value::Type::List: {
                const auto& l = v.as_list();
                if (l.kind != SeqKind::List && l.kind != SeqKind::Tuple) not_serializable(v);
                if (l.items.empty()) {
                    out_ += "[]";
                    return;
                }
                out_ += '[';
                for (std::size_t i = 0; i < l.items.size(); ++i) {
                    if (i) out_ += item_sep_;
                    newline(level + 1);
                    dump(l.items[i], level + 1);
                }
                newline(level);
                out_ += ']';
                return;
            }
            case Value::Type::Dict: {
                const auto& d = v.as_dict();
                if (d.items.empty()) {
                    out_ += "{}";
                    return;
                }
                std::vector<const std::pair<Value, Value>*> items;
                for (const auto& kv : d.items) items.push_back(&kv);
                if (o_.sort_keys)
                    std::stable_sort(items.begin(), items.end(), [](const auto* a, const auto* b) {
                        return py_less(a->first, b->first);
                    });
                out_ += '{';
                for (std::size_t i = 0; i < items.size(); ++i) {
                    if (i) out_ += item_sep_;
                    newline(level + 1);
                    append_json_string(out_, key_text(items[i]->first), o_.ensure_ascii);
                    out_ += key_sep_;
                    dump(items[i]->second, level + 1);
                }
                newline(level);
                out_ += '}';
                return;
            }
            default:
                not_serializable(v);
        }
    }

    std::string take() { return std::move(out_); }

  private:
    void newline(int level) {
        if (!o_.indent) return;
        spend(1 + static_cast<std::uint64_t>(level) * o_.indent->size());
        out_ += '\n';
        for (int i = 0; i < level; ++i) out_ += *o_.indent;
    }

    // Python's json coerces these key types to strings; anything else is a TypeError.
    static std::string key_text(const Value& k) {
        switch (k.type()) {
            case Value::Type::String:
                return k.as_string();
            case Value::Type::Int:
                return std::to_string(k.as_int());
            case Value::Type::Float:
                return float_json(k.as_float());
            case Value::Type::Bool:
                return k.as_bool() ? "true" : "false";
            case Value::Type::None:
                return "null";
            default:
                type_error("keys must be str, int, float, bool or None, not " + type_name(k));
        }
    }

    const DumpOptions& o_;
    std::string item_sep_, key_sep_;
    std::string out_;
};

Value from_json_impl(const nlohmann::ordered_json& j, int depth) {
    using T = nlohmann::ordered_json::value_t;
    if (depth > 512) fail("JSON input is nested too deeply");
    switch (j.type()) {
        case T::null:
            return Value::none();
        case T::boolean:
            return Value::boolean(j.get<bool>());
        case T::number_integer:
            return Value::integer(j.get<std::int64_t>());
        case T::number_unsigned: {
            const auto u = j.get<std::uint64_t>();
            if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
                fail("JSON integer " + std::to_string(u) + " is larger than 64 bits");
            return Value::integer(static_cast<std::int64_t>(u));
        }
        case T::number_float:
            return Value::number(j.get<double>());
        case T::string: {
            const auto& s = j.get_ref<const std::string&>();
            if (!py::valid_utf8(s)) fail("JSON input holds a string that is not valid UTF-8");
            return Value::string(s);
        }
        case T::array: {
            std::vector<Value> items;
            items.reserve(j.size());
            for (const auto& e : j) items.push_back(from_json_impl(e, depth + 1));
            return Value::list(std::move(items));
        }
        case T::object: {
            DictData d;
            d.items.reserve(j.size());
            for (auto it = j.begin(); it != j.end(); ++it) {
                if (!py::valid_utf8(it.key()))
                    fail("JSON input holds a key that is not valid UTF-8");
                d.items.emplace_back(Value::string(it.key()),
                                     from_json_impl(it.value(), depth + 1));
            }
            return Value::dict(std::move(d));
        }
        default:
            fail("JSON input holds a value of unsupported type (binary or discarded)");
    }
}

}  // namespace

Value from_json(const nlohmann::ordered_json& j) {
    return from_json_impl(j, 0);
}

std::string dumps(const Value& v, const DumpOptions& options) {
    Dumper d(options);
    d.dump(v, 0);
    return d.take();
}

}  // namespace statescope::jinja
