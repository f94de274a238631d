#include "core/store/session_markdown.h"

#include <cstdio>
#include <ctime>
#include <unordered_map>
#include <vector>

namespace statescope {
namespace {

std::string utc(std::int64_t ms) {
    const std::time_t t = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
    return buf;
}

std::string fixed(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

std::string heading(Role role) {
    switch (role) {
        case Role::System:
            return "System";
        case Role::User:
            return "User";
        case Role::Assistant:
            return "Assistant";
        case Role::Tool:
            return "Tool";
    }
    return "Message";
}

std::string model_name(const std::map<std::int64_t, ModelInfo>& models,
                       const std::optional<std::int64_t>& id) {
    if (!id) return {};
    auto it = models.find(*id);
    if (it == models.end()) return {};
    return "`" + it->second.path + "`" +
           (it->second.model_type.empty() ? "" : " (" + it->second.model_type + ")");
}

// "temperature=0.7 · top_p=0.9 · seed 42 · cpu/float32 · 12 prompt + 64 generated tokens · ..."
std::string generation_line(const Generation& g, const std::string& model) {
    std::vector<std::string> parts;
    if (!model.empty()) parts.push_back(model);
    if (g.params.sampler.is_object()) {
        for (auto it = g.params.sampler.begin(); it != g.params.sampler.end(); ++it) {
            parts.push_back(it.key() + "=" +
                            (it->is_string() ? it->get<std::string>() : it->dump()));
        }
    }
    if (g.params.seed) parts.push_back("seed " + std::to_string(*g.params.seed));
    std::string where = g.params.backend;
    if (!g.params.dtype.empty()) where += (where.empty() ? "" : "/") + g.params.dtype;
    if (!g.params.device.empty()) where += (where.empty() ? "" : " on ") + g.params.device;
    if (!where.empty()) parts.push_back(where);
    const auto& s = g.stats;
    if (s.prompt_tokens || s.generated_tokens) {
        parts.push_back(std::to_string(s.prompt_tokens.value_or(0)) + " prompt + " +
                        std::to_string(s.generated_tokens.value_or(0)) + " generated tokens");
    }
    if (s.ttft_s) parts.push_back("first token " + fixed(*s.ttft_s, 3) + " s");
    if (s.prefill_tok_s) parts.push_back("prefill " + fixed(*s.prefill_tok_s, 1) + " tok/s");
    if (s.decode_tok_s) parts.push_back(fixed(*s.decode_tok_s, 1) + " tok/s");
    if (!s.stop_reason.empty()) parts.push_back("stopped: " + s.stop_reason);
    std::string line;
    for (const auto& p : parts) line += (line.empty() ? "" : " · ") + p;
    return line;
}

}  // namespace

std::string to_markdown(const Session& session, const std::map<std::int64_t, ModelInfo>& models) {
    const auto branch = visible_branch(session);
    std::unordered_map<std::int64_t, std::vector<std::int64_t>>
        children;  // parent (0: root) -> ids
    for (const auto& m : session.messages) children[m.parent_id.value_or(0)].push_back(m.id);

    std::string out =
        "# " + (session.title.empty() ? std::string("Untitled session") : session.title) + "\n\n";
    out += "- Created " + utc(session.created_at_ms) + ", last activity " +
           utc(session.updated_at_ms) + "\n";
    const std::string model = model_name(models, session.model_id);
    if (!model.empty()) out += "- Model: " + model + "\n";
    out += "- " + std::to_string(branch.size()) + " turns shown";
    if (branch.size() < session.messages.size()) {
        out += " (the branch on screen; the session holds " +
               std::to_string(session.messages.size()) +
               " messages with edits and regenerations: export as JSON for all of them)";
    }
    out += "\n";

    for (const Message* m : branch) {
        out += "\n## " + heading(m->role) + "\n\n";
        out += m->text;
        if (!m->text.empty() && m->text.back() != '\n') out += '\n';
        if (m->status != MessageStatus::Complete) {
            out += "\n*(" + std::string(to_string(m->status)) +
                   (m->status == MessageStatus::Interrupted
                        ? ": the app stopped while this reply was being generated"
                        : "") +
                   ")*\n";
        }
        const auto& siblings = children[m->parent_id.value_or(0)];
        std::string notes;
        if (m->generation) {
            notes = generation_line(*m->generation, model_name(models, m->model_id));
        }
        if (siblings.size() > 1) {
            std::size_t pos = 0;
            while (siblings[pos] != m->id) ++pos;
            notes += (notes.empty() ? "" : " · ") + std::string("version ") +
                     std::to_string(pos + 1) + " of " + std::to_string(siblings.size());
        }
        if (!notes.empty()) out += "\n<sub>" + notes + "</sub>\n";
    }
    return out;
}

}  // namespace statescope
