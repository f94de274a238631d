// Python's arithmetic, `in` and `%`-formatting on template values. Integers are 64-bit here where
// Python's are unbounded: a result that does not fit is an OverflowError instead of a big number.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/chat/jinja_error.h"
#include "core/chat/jinja_renderer.h"
#include "core/chat/py_string.h"

namespace statescope::jinja {

namespace {

const char* op_symbol(BinOp op) {
    switch (op) {
        case BinOp::Add:
            return "+";
        case BinOp::Sub:
            return "-";
        case BinOp::Mul:
            return "*";
        case BinOp::Div:
            return "/";
        case BinOp::FloorDiv:
            return "//";
        case BinOp::Mod:
            return "%";
        case BinOp::Pow:
            return "** or pow()";
    }
    return "?";
}

[[noreturn]] void unsupported(BinOp op, const Value& a, const Value& b) {
    type_error(std::string("unsupported operand type(s) for ") + op_symbol(op) + ": '" +
               type_name(a) + "' and '" + type_name(b) + "'");
}

[[noreturn]] void overflow() {
    fail("OverflowError: integer result does not fit in 64 bits");
}

bool is_intlike(const Value& v) {
    return v.is_int() || v.is_bool();
}

Value repeat(Renderer& r, const Value& seq, std::int64_t times) {
    // Nothing to repeat (or no times) is empty right away: `[] * 10**9` must not loop 10**9 times.
    const bool empty = seq.is_string() ? seq.as_string().empty() : seq.as_list().items.empty();
    if (times <= 0 || empty)
        return seq.is_string() ? Value::string("") : Value::list({}, seq.as_list().kind);
    if (seq.is_string()) {
        const std::string& s = seq.as_string();
        if (!s.empty() &&
            static_cast<std::uint64_t>(times) > r.limits().max_output_bytes / s.size())
            r.check_size(r.limits().max_output_bytes + 1, "a repeated string");
        std::string out;
        out.reserve(s.size() * static_cast<std::size_t>(times));
        for (std::int64_t i = 0; i < times; ++i) out += s;
        r.charge(out.size());
        return Value::string(std::move(out));
    }
    const ListData& l = seq.as_list();
    if (!l.items.empty() &&
        static_cast<std::uint64_t>(times) > r.limits().max_output_bytes / l.items.size())
        r.check_size(r.limits().max_output_bytes + 1, "a repeated list");
    std::vector<Value> out;
    for (std::int64_t i = 0; i < times; ++i) out.insert(out.end(), l.items.begin(), l.items.end());
    r.charge(out.size());
    return Value::list(std::move(out), l.kind);
}

double float_floordiv(double a, double b) {
    const double mod = std::fmod(a, b);
    double div = (a - mod) / b;
    if (mod != 0.0 && ((b < 0) != (mod < 0))) div -= 1.0;
    if (div == 0.0) return std::copysign(0.0, a / b);
    double floordiv = std::floor(div);
    if (div - floordiv > 0.5) floordiv += 1.0;
    return floordiv;
}

double float_mod(double a, double b) {
    double mod = std::fmod(a, b);
    if (mod != 0.0) {
        if ((b < 0) != (mod < 0)) mod += b;
    } else {
        mod = std::copysign(0.0, b);
    }
    return mod;
}

Value power(const Value& a, const Value& b) {
    if (is_intlike(a) && is_intlike(b) && b.int_like() >= 0) {
        std::int64_t base = a.int_like(), exp = b.int_like(), result = 1;
        while (exp > 0) {
            if (exp & 1)
                if (__builtin_mul_overflow(result, base, &result)) overflow();
            exp >>= 1;
            if (exp > 0 && __builtin_mul_overflow(base, base, &base)) overflow();
        }
        return Value::integer(result);
    }
    const double x = a.float_like(), y = b.float_like();
    if (x == 0.0 && y < 0) fail("ZeroDivisionError: 0.0 cannot be raised to a negative power");
    if (x < 0 && std::floor(y) != y) fail("ValueError: complex results are not supported");
    const double r = std::pow(x, y);
    if (std::isinf(r) && std::isfinite(x) && std::isfinite(y))
        fail("OverflowError: (34, 'Numerical result out of range')");
    return Value::number(r);
}

}  // namespace

Value binary_op(Renderer& r, BinOp op, const Value& a, const Value& b) {
    if (op == BinOp::Mod && a.is_string())
        return Value::string(percent_format(r, a.as_string(), b));
    if (a.is_undefined()) fail_undefined(a);
    if (b.is_undefined()) fail_undefined(b);
    const bool nums = a.is_number() && b.is_number();
    const bool floats = nums && (a.is_float() || b.is_float());
    switch (op) {
        case BinOp::Add:
            if (floats) return Value::number(a.float_like() + b.float_like());
            if (nums) {
                std::int64_t out;
                if (__builtin_add_overflow(a.int_like(), b.int_like(), &out)) overflow();
                return Value::integer(out);
            }
            if (a.is_string() && b.is_string()) {
                r.check_size(a.as_string().size() + b.as_string().size(), "a string");
                r.charge(a.as_string().size() + b.as_string().size());
                return Value::string(a.as_string() + b.as_string());
            }
            if (a.is_list() && b.is_list() && a.as_list().kind == b.as_list().kind &&
                (a.as_list().kind == SeqKind::List || a.as_list().kind == SeqKind::Tuple)) {
                std::vector<Value> out = a.as_list().items;
                out.insert(out.end(), b.as_list().items.begin(), b.as_list().items.end());
                r.check_size(out.size(), "a list");
                r.charge(out.size());
                return Value::list(std::move(out), a.as_list().kind);
            }
            if (a.is_string() || (a.is_list() && a.as_list().kind == SeqKind::List) ||
                (a.is_list() && a.as_list().kind == SeqKind::Tuple))
                type_error("can only concatenate " + type_name(a) + " (not \"" + type_name(b) +
                           "\") to " + type_name(a));
            unsupported(op, a, b);
        case BinOp::Sub:
            if (floats) return Value::number(a.float_like() - b.float_like());
            if (nums) {
                std::int64_t out;
                if (__builtin_sub_overflow(a.int_like(), b.int_like(), &out)) overflow();
                return Value::integer(out);
            }
            unsupported(op, a, b);
        case BinOp::Mul:
            if (floats) return Value::number(a.float_like() * b.float_like());
            if (nums) {
                std::int64_t out;
                if (__builtin_mul_overflow(a.int_like(), b.int_like(), &out)) overflow();
                return Value::integer(out);
            }
            if ((a.is_string() || a.is_list()) && is_intlike(b)) return repeat(r, a, b.int_like());
            if ((b.is_string() || b.is_list()) && is_intlike(a)) return repeat(r, b, a.int_like());
            if (a.is_string() || a.is_list() || b.is_string() || b.is_list())
                type_error("can't multiply sequence by non-int of type '" +
                           type_name(a.is_string() || a.is_list() ? b : a) + "'");
            unsupported(op, a, b);
        case BinOp::Div:
            if (!nums) unsupported(op, a, b);
            if (b.float_like() == 0.0) fail("ZeroDivisionError: division by zero");
            return Value::number(a.float_like() / b.float_like());
        case BinOp::FloorDiv:
            if (!nums) unsupported(op, a, b);
            if (floats) {
                if (b.float_like() == 0.0) fail("ZeroDivisionError: float floor division by zero");
                return Value::number(float_floordiv(a.float_like(), b.float_like()));
            } else {
                const std::int64_t x = a.int_like(), y = b.int_like();
                if (y == 0) fail("ZeroDivisionError: integer division or modulo by zero");
                if (x == INT64_MIN && y == -1) overflow();
                std::int64_t q = x / y;
                if ((x % y != 0) && ((x < 0) != (y < 0))) --q;
                return Value::integer(q);
            }
        case BinOp::Mod:
            if (!nums) unsupported(op, a, b);
            if (floats) {
                if (b.float_like() == 0.0) fail("ZeroDivisionError: float modulo");
                return Value::number(float_mod(a.float_like(), b.float_like()));
            } else {
                const std::int64_t x = a.int_like(), y = b.int_like();
                if (y == 0) fail("ZeroDivisionError: integer modulo by zero");
                if (y == -1) return Value::integer(0);
                std::int64_t m = x % y;
                if (m != 0 && ((m < 0) != (y < 0))) m += y;
                return Value::integer(m);
            }
        case BinOp::Pow:
            if (!nums) unsupported(op, a, b);
            return power(a, b);
    }
    unsupported(op, a, b);
}

bool contains(const Value& container, const Value& item) {
    switch (container.type()) {
        case Value::Type::Undefined:
            return false;
        case Value::Type::String:
            if (!item.is_string())
                type_error("'in <string>' requires string as left operand, not " + type_name(item));
            spend(container.as_string().size());
            return container.as_string().find(item.as_string()) != std::string::npos;
        case Value::Type::List:
            for (const auto& v : container.as_list().items)
                if (py_equal(v, item)) return true;
            return false;
        case Value::Type::Dict:
            if (!hashable(item)) unhashable(item);
            return container.as_dict().find(item) != nullptr;
        case Value::Type::Iterator:
            for (const auto& v : container.as_iterator().items->items)
                if (py_equal(v, item)) return true;
            return false;
        default:
            type_error("argument of type '" + type_name(container) + "' is not iterable");
    }
}

std::string percent_format(Renderer& r, const std::string& fmt, const Value& args) {
    std::vector<Value> positional;
    const Value* mapping = nullptr;
    if (args.is_list() && args.as_list().kind == SeqKind::Tuple) {
        positional = args.as_list().items;
    } else if (args.is_dict()) {
        mapping = &args;
        positional.push_back(args);
    } else {
        positional.push_back(args);
    }
    std::size_t next_arg = 0;
    bool used_mapping = false;
    auto take = [&]() -> Value {
        if (next_arg >= positional.size()) type_error("not enough arguments for format string");
        return positional[next_arg++];
    };
    std::string out;
    for (std::size_t i = 0; i < fmt.size(); ++i) {
        if (fmt[i] != '%') {
            out += fmt[i];
            continue;
        }
        if (++i >= fmt.size()) value_error("incomplete format");
        Value value;
        bool have_value = false;
        if (fmt[i] == '(') {
            if (!mapping) type_error("format requires a mapping");
            const std::size_t close = fmt.find(')', i);
            if (close == std::string::npos) value_error("incomplete format key");
            const Value* v =
                mapping->as_dict().find(std::string_view(fmt).substr(i + 1, close - i - 1));
            if (!v) fail("KeyError: " + py::repr(fmt.substr(i + 1, close - i - 1)));
            value = *v;
            have_value = used_mapping = true;
            i = close + 1;
        }
        std::string flags;
        while (i < fmt.size() && std::string_view("-+ #0").find(fmt[i]) != std::string_view::npos)
            flags += fmt[i++];
        auto read_num = [&](std::int64_t& n) -> bool {
            if (i < fmt.size() && fmt[i] == '*') {
                const Value v = take();
                if (!is_intlike(v)) type_error("* wants int");
                n = v.int_like();
                ++i;
                return true;
            }
            bool any = false;
            n = 0;
            while (i < fmt.size() && fmt[i] >= '0' && fmt[i] <= '9') {
                n = std::min<std::int64_t>(n * 10 + (fmt[i++] - '0'), 1 << 30);
                any = true;
            }
            return any;
        };
        std::int64_t width = 0, precision = -1;
        read_num(width);
        if (i < fmt.size() && fmt[i] == '.') {
            ++i;
            read_num(precision);
            if (precision < 0) precision = 0;
        }
        while (i < fmt.size() && (fmt[i] == 'h' || fmt[i] == 'l' || fmt[i] == 'L')) ++i;
        if (i >= fmt.size()) value_error("incomplete format");
        const char type = fmt[i];
        if (type == '%') {
            out += '%';
            continue;
        }
        if (!have_value) value = take();
        r.check_size(static_cast<std::size_t>(std::max<std::int64_t>(width, precision)),
                     "a formatted field");
        std::string field;
        bool numeric = false;
        switch (type) {
            case 's':
            case 'r':
            case 'a': {
                field = type == 's' ? r.to_str(value) : py_repr(value);
                if (precision >= 0 && static_cast<std::size_t>(precision) < py::length(field))
                    field = field.substr(
                        0, py::byte_offset(field, static_cast<std::size_t>(precision)));
                break;
            }
            case 'd':
            case 'i':
            case 'u':
            case 'x':
            case 'X':
            case 'o': {
                numeric = true;
                std::int64_t n;
                if (is_intlike(value)) {
                    n = value.int_like();
                } else if (value.is_float() && (type == 'd' || type == 'i' || type == 'u')) {
                    if (!std::isfinite(value.as_float()) || std::fabs(value.as_float()) > 9.2e18)
                        overflow();
                    n = static_cast<std::int64_t>(value.as_float());
                } else {
                    type_error(
                        std::string("%") + type + " format: a" +
                        (type == 'd' || type == 'i' || type == 'u' ? " real number" : "n integer") +
                        " is required, not " + type_name(value));
                }
                const char conv = type == 'i' || type == 'u' ? 'd' : type;
                std::string spec = "%";
                for (char f : flags)
                    if (f == '+' || f == ' ' || f == '#') spec += f;
                if (precision >= 0)
                    spec += "." + std::to_string(std::min<std::int64_t>(precision, 100));
                spec += "ll";
                spec += conv;
                // C prints negative hex/octal as two's complement; Python prints a sign.
                const bool negative_radix = conv != 'd' && n < 0;
                char buf[256];
                if (conv == 'd') {
                    std::snprintf(buf, sizeof buf, spec.c_str(), static_cast<long long>(n));
                } else {
                    const auto u = static_cast<unsigned long long>(n);
                    std::snprintf(buf, sizeof buf, spec.c_str(), negative_radix ? 0ULL - u : u);
                }
                field = buf;
                if (type == 'o' && flags.find('#') != std::string::npos)
                    field.insert(field.find('0') + 1, "o");  // Python's prefix is 0o
                if (negative_radix) field.insert(0, "-");
                break;
            }
            case 'f':
            case 'F':
            case 'e':
            case 'E':
            case 'g':
            case 'G': {
                numeric = true;
                if (!value.is_number())
                    type_error(std::string("must be real number, not ") + type_name(value));
                std::string spec = "%";
                for (char f : flags)
                    if (f != '-' && f != '0') spec += f;
                spec += "." +
                        std::to_string(precision < 0 ? 6 : std::min<std::int64_t>(precision, 100));
                spec += type;
                char buf[512];
                std::snprintf(buf, sizeof buf, spec.c_str(), value.float_like());
                field = buf;
                break;
            }
            case 'c':
                if (value.is_string() && py::length(value.as_string()) == 1) {
                    field = value.as_string();
                } else if (is_intlike(value) && value.int_like() >= 0 &&
                           value.int_like() <= 0x10FFFF &&
                           !(value.int_like() >= 0xD800 && value.int_like() <= 0xDFFF)) {
                    py::append_utf8(field, static_cast<char32_t>(value.int_like()));
                } else {
                    type_error("%c requires an int or a unicode character");
                }
                break;
            default:
                value_error(std::string("unsupported format character '") + type + "'");
        }
        const auto len = static_cast<std::int64_t>(py::length(field));
        if (width > len) {
            const auto pad = static_cast<std::size_t>(width - len);
            if (flags.find('-') != std::string::npos) {
                field += std::string(pad, ' ');
            } else if (numeric && flags.find('0') != std::string::npos) {
                const std::size_t sign =
                    !field.empty() && (field[0] == '-' || field[0] == '+' || field[0] == ' ') ? 1
                                                                                              : 0;
                field.insert(sign, std::string(pad, '0'));
            } else {
                field.insert(0, std::string(pad, ' '));
            }
        }
        out += field;
        r.check_size(out.size(), "a formatted string");
    }
    // CPython treats any non-tuple, non-str argument with __getitem__ (list, Undefined) as a
    // mapping for `%`, so unused arguments are only an error for the other types.
    const bool getitem_like =
        args.is_undefined() || (args.is_list() && args.as_list().kind == SeqKind::List);
    if (!used_mapping && !mapping && !getitem_like && next_arg < positional.size())
        type_error("not all arguments converted during string formatting");
    return out;
}

}  // namespace statescope::jinja
