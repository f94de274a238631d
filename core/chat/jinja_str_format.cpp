// str.format() as the sandbox allows it: positional/keyword fields with .attr and [key] lookups
// (through the sandbox's getattr/getitem), !r/!s/!a conversions and the format mini-language for
// str, int and float ([[fill]align][sign][#][0][width][,|_][.precision][type]).
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/chat/jinja_error.h"
#include "core/chat/jinja_renderer.h"
#include "core/chat/py_string.h"

namespace statescope::jinja {

namespace {

struct Spec {
    char32_t fill = U' ';
    char align = 0;
    char sign = '-';
    bool alt = false;
    std::int64_t width = 0;
    char grouping = 0;
    std::int64_t precision = -1;
    char type = 0;
};

Spec parse_spec(const std::string& text) {
    Spec s;
    const std::u32string u = py::decode(text);
    std::size_t i = 0;
    auto is_align = [](char32_t c) { return c == '<' || c == '>' || c == '^' || c == '='; };
    if (u.size() >= 2 && is_align(u[1])) {
        s.fill = u[0];
        s.align = static_cast<char>(u[1]);
        i = 2;
    } else if (!u.empty() && is_align(u[0])) {
        s.align = static_cast<char>(u[0]);
        i = 1;
    }
    if (i < u.size() && (u[i] == '+' || u[i] == '-' || u[i] == ' '))
        s.sign = static_cast<char>(u[i++]);
    if (i < u.size() && u[i] == '#') {
        s.alt = true;
        ++i;
    }
    if (i < u.size() && u[i] == '0') {
        if (!s.align) {
            s.fill = U'0';
            s.align = '=';
        }
        ++i;
    }
    auto digits = [&](std::int64_t& out) {
        bool any = false;
        while (i < u.size() && u[i] >= '0' && u[i] <= '9') {
            out = std::min<std::int64_t>(out * 10 + (u[i++] - '0'), std::int64_t{1} << 40);
            any = true;
        }
        return any;
    };
    digits(s.width);
    if (i < u.size() && (u[i] == ',' || u[i] == '_')) s.grouping = static_cast<char>(u[i++]);
    if (i < u.size() && u[i] == '.') {
        ++i;
        s.precision = 0;
        if (!digits(s.precision)) value_error("Format specifier missing precision");
    }
    if (i < u.size()) s.type = static_cast<char>(u[i++]);
    if (i != u.size()) value_error("Invalid format specifier '" + text + "'");
    return s;
}

std::string group_digits(const std::string& digits, char sep, int every) {
    std::string out;
    const std::size_t n = digits.size();
    for (std::size_t i = 0; i < n; ++i) {
        if (i && (n - i) % every == 0) out += sep;
        out += digits[i];
    }
    return out;
}

std::string pad(Renderer& r, std::string sign, std::string body, const Spec& s,
                char default_align) {
    const std::int64_t len = static_cast<std::int64_t>(py::length(sign) + py::length(body));
    r.check_size(static_cast<std::size_t>(std::max<std::int64_t>(s.width, 0)), "a formatted field");
    if (s.width <= len) return sign + body;
    const auto total = static_cast<std::size_t>(s.width - len);
    std::string f;
    py::append_utf8(f, s.fill);
    auto rep = [&](std::size_t n) {
        std::string o;
        for (std::size_t k = 0; k < n; ++k) o += f;
        return o;
    };
    switch (s.align ? s.align : default_align) {
        case '<':
            return sign + body + rep(total);
        case '^':
            return rep(total / 2) + sign + body + rep(total - total / 2);
        case '=':
            return sign + rep(total) + body;
        default:
            return rep(total) + sign + body;
    }
}

std::string format_int(Renderer& r, std::int64_t n, const Spec& s) {
    const char type = s.type ? s.type : 'd';
    const bool neg = n < 0;
    const auto mag =
        neg ? 0ULL - static_cast<unsigned long long>(n) : static_cast<unsigned long long>(n);
    std::string digits;
    std::string prefix;
    if (type == 'c') {
        if (n < 0 || n > 0x10FFFF) fail("OverflowError: %c arg not in range(0x110000)");
        // A lone surrogate cannot be UTF-8 (HF would fail encoding it); refuse it here.
        if (n >= 0xD800 && n <= 0xDFFF) value_error("%c arg is a lone surrogate");
        py::append_utf8(digits, static_cast<char32_t>(n));
        return pad(r, "", digits, s, '<');
    }
    const int base = type == 'b' ? 2 : type == 'o' ? 8 : (type == 'x' || type == 'X') ? 16 : 10;
    if (type != 'd' && type != 'n' && base == 10)
        value_error(std::string("Unknown format code '") + type + "' for object of type 'int'");
    if (s.precision >= 0) value_error("Precision not allowed in integer format specifier");
    unsigned long long m = mag;
    do {
        digits += "0123456789abcdef"[m % base];
        m /= base;
    } while (m);
    std::reverse(digits.begin(), digits.end());
    if (type == 'X') std::transform(digits.begin(), digits.end(), digits.begin(), ::toupper);
    if (s.grouping) digits = group_digits(digits, s.grouping, base == 10 ? 3 : 4);
    if (s.alt && base != 10)
        prefix = type == 'b' ? "0b" : type == 'o' ? "0o" : type == 'x' ? "0x" : "0X";
    std::string sign = neg ? "-" : s.sign == '+' ? "+" : s.sign == ' ' ? " " : "";
    return pad(r, sign + prefix, digits, s, '>');
}

std::string format_float(Renderer& r, double x, const Spec& s) {
    char type = s.type;
    std::string body;
    const bool neg = std::signbit(x) && !std::isnan(x);
    const double mag = std::fabs(x);
    if (std::isinf(mag) || std::isnan(mag)) {
        body = std::isnan(mag) ? "nan" : "inf";
        if (type == 'F' || type == 'E' || type == 'G')
            std::transform(body.begin(), body.end(), body.begin(), ::toupper);
    } else if (!type && s.precision < 0) {
        body = float_repr(mag);
    } else {
        const std::int64_t prec = s.precision < 0 ? 6 : std::min<std::int64_t>(s.precision, 200);
        char spec[32];
        char buf[512];
        double v = mag;
        std::string suffix;
        if (type == '%') {
            v *= 100;
            suffix = "%";
            type = 'f';
        }
        const char conv = type ? (type == 'n' ? 'g' : type) : 'g';
        if (std::string_view("eEfFgG").find(conv) == std::string_view::npos)
            value_error(std::string("Unknown format code '") + type +
                        "' for object of type 'float'");
        std::snprintf(spec, sizeof spec, "%%%s.%lld%c", s.alt ? "#" : "",
                      static_cast<long long>(prec), conv);
        if (v > 1e300 && (conv == 'f' || conv == 'F'))
            fail("ValueError: float too large to format");
        std::snprintf(buf, sizeof buf, spec, v);
        body = buf;
        // With a precision and no type Python behaves like 'g' but keeps at least one decimal.
        if (!type && body.find_first_of(".e") == std::string::npos) body += ".0";
        body += suffix;
    }
    if (s.grouping) {
        const std::size_t end = body.find_first_not_of("0123456789");
        body = group_digits(body.substr(0, end), s.grouping, 3) +
               (end == std::string::npos ? "" : body.substr(end));
    }
    std::string sign = neg ? "-" : s.sign == '+' ? "+" : s.sign == ' ' ? " " : "";
    return pad(r, sign, body, s, '>');
}

std::string format_value(Renderer& r, const Value& v, const std::string& spec_text) {
    if (spec_text.empty()) return r.to_str(v);
    const Spec s = parse_spec(spec_text);
    if (v.is_string()) {
        if (s.type && s.type != 's')
            value_error(std::string("Unknown format code '") + s.type +
                        "' for object of type 'str'");
        if (s.sign != '-') value_error("Sign not allowed in string format specifier");
        std::string body = v.as_string();
        if (s.precision >= 0 && static_cast<std::size_t>(s.precision) < py::length(body))
            body = body.substr(0, py::byte_offset(body, static_cast<std::size_t>(s.precision)));
        return pad(r, "", body, s, '<');
    }
    if (v.is_int() || v.is_bool()) {
        if (s.type && std::string_view("eEfFgGn%").find(s.type) != std::string_view::npos &&
            s.type != 'n')
            return format_float(r, v.float_like(), s);
        if (v.is_bool() && !s.type) return pad(r, "", v.as_bool() ? "True" : "False", s, '<');
        return format_int(r, v.int_like(), s);
    }
    if (v.is_float()) return format_float(r, v.as_float(), s);
    type_error("unsupported format string passed to " + type_name(v) + ".__format__");
}

}  // namespace

std::string str_format(Renderer& r, const std::string& fmt, const CallArgs& args) {
    std::string out;
    std::size_t auto_index = 0;
    bool used_auto = false, used_manual = false;
    for (std::size_t i = 0; i < fmt.size(); ++i) {
        const char c = fmt[i];
        if (c == '}') {
            if (i + 1 < fmt.size() && fmt[i + 1] == '}') {
                out += '}';
                ++i;
                continue;
            }
            value_error("Single '}' encountered in format string");
        }
        if (c != '{') {
            out += c;
            continue;
        }
        if (i + 1 < fmt.size() && fmt[i + 1] == '{') {
            out += '{';
            ++i;
            continue;
        }
        const std::size_t close = fmt.find('}', i + 1);
        if (close == std::string::npos) value_error("Single '{' encountered in format string");
        const std::string field = fmt.substr(i + 1, close - i - 1);
        if (field.find('{') != std::string::npos)
            value_error("nested replacement fields are not supported");
        i = close;
        std::size_t bang = field.find('!'), colon = field.find(':');
        if (bang != std::string::npos && colon != std::string::npos && colon < bang)
            bang = std::string::npos;
        const std::size_t name_end = std::min(bang, colon);
        const std::string name = field.substr(0, name_end);
        char conversion = 0;
        if (bang != std::string::npos) {
            if (bang + 1 >= field.size())
                value_error("end of string while looking for conversion specifier");
            conversion = field[bang + 1];
            if (bang + 2 < field.size() && field[bang + 2] != ':')
                value_error("expected ':' after conversion specifier");
        }
        const std::string spec = colon != std::string::npos ? field.substr(colon + 1) : "";
        // arg_name, then .attr / [key] accessors.
        std::size_t p = 0;
        while (p < name.size() && name[p] != '.' && name[p] != '[') ++p;
        const std::string arg = name.substr(0, p);
        Value v;
        if (arg.empty()) {
            if (used_manual)
                value_error(
                    "cannot switch from manual field specification to automatic field numbering");
            used_auto = true;
            if (auto_index >= args.args.size())
                fail("IndexError: Replacement index " + std::to_string(auto_index) +
                     " out of range for positional args tuple");
            v = args.args[auto_index++];
        } else if (std::all_of(arg.begin(), arg.end(),
                               [](char d) { return d >= '0' && d <= '9'; })) {
            if (used_auto)
                value_error(
                    "cannot switch from automatic field numbering to manual field specification");
            used_manual = true;
            const std::size_t idx = arg.size() > 9 ? SIZE_MAX : std::stoul(arg);
            if (idx >= args.args.size())
                fail("IndexError: Replacement index " + arg +
                     " out of range for positional args tuple");
            v = args.args[idx];
        } else {
            auto it = std::find_if(args.kwargs.begin(), args.kwargs.end(),
                                   [&](const auto& kv) { return kv.first == arg; });
            if (it == args.kwargs.end()) fail("KeyError: " + py::repr(arg));
            v = it->second;
        }
        while (p < name.size()) {
            if (name[p] == '.') {
                std::size_t e = p + 1;
                while (e < name.size() && name[e] != '.' && name[e] != '[') ++e;
                v = r.getattr(v, name.substr(p + 1, e - p - 1));
                p = e;
            } else {
                const std::size_t e = name.find(']', p);
                if (e == std::string::npos) value_error("Missing ']' in format string");
                const std::string key = name.substr(p + 1, e - p - 1);
                const bool numeric = !key.empty() && key.size() < 10 &&
                                     std::all_of(key.begin(), key.end(),
                                                 [](char d) { return d >= '0' && d <= '9'; });
                v = r.getitem(v, numeric ? Value::integer(std::stoll(key)) : Value::string(key));
                p = e + 1;
            }
        }
        if (conversion == 'r' || conversion == 'a')
            v = Value::string(py_repr(v));
        else if (conversion == 's')
            v = Value::string(r.to_str(v));
        else if (conversion)
            value_error(std::string("Unknown conversion specifier ") + conversion);
        out += format_value(r, v, spec);
        r.check_size(out.size(), "a formatted string");
    }
    r.charge(out.size());
    return out;
}

}  // namespace statescope::jinja
