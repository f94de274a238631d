#include "core/chat/chat_template.h"

#include <cstdio>

#include "core/chat/jinja_error.h"
#include "core/chat/jinja_json.h"
#include "core/chat/jinja_parser.h"
#include "core/chat/jinja_renderer.h"
#include "core/error.h"

namespace statescope {

struct ChatTemplate::Parsed {
    jinja::Template tree;
};

namespace {

[[noreturn]] void rethrow(const std::string& name, const jinja::Failure& f) {
    throw Error(name + " line " + std::to_string(f.line() > 0 ? f.line() : 1) + ": " + f.what());
}

jinja::Limits runtime_limits(const ChatTemplateLimits& l) {
    jinja::Limits out;
    out.max_output_bytes = l.max_output_bytes;
    out.max_loop_iterations = l.max_loop_iterations;
    out.max_call_depth = l.max_call_depth;
    out.max_eval_depth = l.max_eval_depth;
    out.max_work = l.max_work;
    return out;
}

}  // namespace

ChatTemplate ChatTemplate::parse(std::string_view source, std::string name,
                                 const ChatTemplateLimits& limits) {
    ChatTemplate t;
    t.name_ = std::move(name);
    t.limits_ = limits;
    try {
        auto parsed = std::make_shared<Parsed>();
        parsed->tree = jinja::parse(source, limits.max_nesting);
        t.parsed_ = std::move(parsed);
    } catch (const jinja::Failure& f) {
        rethrow(t.name_, f);
    }
    return t;
}

std::string ChatTemplate::render_variables(const nlohmann::ordered_json& variables,
                                           std::function<std::time_t()> now) const {
    if (!variables.is_object()) throw Error(name_ + ": template variables must be a JSON object");
    try {
        std::vector<std::pair<std::string, jinja::Value>> context;
        for (auto it = variables.begin(); it != variables.end(); ++it)
            context.emplace_back(it.key(), jinja::from_json(it.value()));
        jinja::Renderer renderer(runtime_limits(limits_), std::move(now));
        return renderer.render(parsed_->tree, std::move(context));
    } catch (const jinja::Failure& f) {
        rethrow(name_, f);
    }
}

std::string ChatTemplate::render(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                                 const std::string& bos_token, const std::string& eos_token,
                                 const nlohmann::ordered_json& extra,
                                 std::function<std::time_t()> now) const {
    if (!extra.is_object() && !extra.is_null())
        throw Error(name_ + ": extra template variables must be a JSON object");
    // apply_chat_template: render(messages=..., tools=..., documents=...,
    // add_generation_prompt=...,
    // **special_tokens_map, **kwargs); tools and documents are None when not given.
    nlohmann::ordered_json vars = nlohmann::ordered_json::object();
    vars["messages"] = messages;
    vars["tools"] = nullptr;
    vars["documents"] = nullptr;
    vars["add_generation_prompt"] = add_generation_prompt;
    vars["bos_token"] = bos_token;
    vars["eos_token"] = eos_token;
    if (extra.is_object())
        for (auto it = extra.begin(); it != extra.end(); ++it)
            if (it.key() != "messages" && it.key() != "add_generation_prompt")
                vars[it.key()] = it.value();
    return render_variables(vars, std::move(now));
}

std::time_t local_noon(const std::string& date) {
    int y = 0, m = 0, d = 0;
    char tail = 0;
    if (date.size() != 10 || std::sscanf(date.c_str(), "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 ||
        m < 1 || m > 12 || d < 1 || d > 31)
        throw Error("date \"" + date + "\" is not YYYY-MM-DD");
    std::tm tm{};
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    tm.tm_hour = 12;
    tm.tm_isdst = -1;
    const std::time_t t = std::mktime(&tm);
    if (t == static_cast<std::time_t>(-1) || tm.tm_mday != d)
        throw Error("date \"" + date + "\" does not exist");
    return t;
}

}  // namespace statescope
