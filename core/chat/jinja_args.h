// Binds call arguments to a Python-style signature for filters, tests, methods and globals:
// positional arguments fill the named parameters in order, keywords fill them by name, and the
// mistakes Python rejects (too many arguments, unknown or repeated keywords) are TypeErrors.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "core/chat/jinja_ast.h"
#include "core/chat/jinja_error.h"

namespace statescope::jinja {

class Args {
  public:
    // `rest`: extra positional arguments are allowed and kept (for *args functions).
    Args(const CallArgs& a, const std::string& fn, std::initializer_list<const char*> names,
         std::size_t required = 0, bool rest = false)
        : fn_(fn), names_(names), values_(names.size()) {
        std::size_t i = 0;
        for (; i < a.args.size(); ++i) {
            if (i < values_.size()) {
                values_[i] = a.args[i];
            } else if (rest) {
                rest_.push_back(a.args[i]);
            } else {
                type_error(fn + "() takes at most " + std::to_string(values_.size()) +
                           " argument(s) (" + std::to_string(a.args.size()) + " given)");
            }
        }
        for (const auto& kw : a.kwargs) {
            std::size_t k = 0;
            while (k < names_.size() && kw.first != names_[k]) ++k;
            if (k == names_.size())
                type_error(fn + "() got an unexpected keyword argument '" + kw.first + "'");
            if (values_[k])
                type_error(fn + "() got multiple values for argument '" + kw.first + "'");
            values_[k] = kw.second;
        }
        for (std::size_t k = 0; k < required; ++k)
            if (!values_[k])
                type_error(fn + "() missing required argument '" + std::string(names_[k]) + "'");
    }

    bool has(std::size_t i) const { return values_[i].has_value(); }
    const Value& at(std::size_t i) const { return *values_[i]; }
    Value get(std::size_t i, Value fallback) const {
        return values_[i] ? *values_[i] : std::move(fallback);
    }
    const std::vector<Value>& rest() const { return rest_; }

    // Typed accessors raising Python's TypeError wording.
    std::int64_t integer(std::size_t i, std::int64_t fallback) const {
        if (!values_[i]) return fallback;
        const Value& v = *values_[i];
        if (v.is_int() || v.is_bool()) return v.int_like();
        type_error("'" + type_name(v) + "' object cannot be interpreted as an integer");
    }
    bool boolean(std::size_t i, bool fallback) const {
        return values_[i] ? truthy(*values_[i]) : fallback;
    }
    std::optional<std::string> string_or_none(std::size_t i) const {
        if (!values_[i] || values_[i]->is_none()) return std::nullopt;
        if (!values_[i]->is_string())
            type_error(fn_ + "() argument '" + names_[i] + "' must be str or None, not " +
                       type_name(*values_[i]));
        return values_[i]->as_string();
    }
    std::string string(std::size_t i) const {
        if (!values_[i] || !values_[i]->is_string())
            type_error(fn_ + "() argument '" + names_[i] + "' must be str, not " +
                       (values_[i] ? type_name(*values_[i]) : std::string("nothing")));
        return values_[i]->as_string();
    }

  private:
    std::string fn_;
    std::vector<const char*> names_;
    std::vector<std::optional<Value>> values_;
    std::vector<Value> rest_;
};

}  // namespace statescope::jinja
