#include "app/cli/chat_recorder.h"

#include "core/chat/reply_stats.h"
#include "core/error.h"
#include "core/store/model_fingerprint.h"

namespace statescope::cli {

ChatRecorder::ChatRecorder(const std::filesystem::path& db, const std::filesystem::path& model_dir,
                           std::string backend, std::string dtype)
    : store_(db.empty() ? SessionStore::default_path() : db),
      model_(store_.touch_model(model_info_for(model_dir))),
      backend_(std::move(backend)),
      dtype_(std::move(dtype)) {}

void ChatRecorder::restart() {
    session_ = RowRef();
    rows_.clear();
}

RowRef ChatRecorder::saved_row(const Conversation& c, int node) {
    if (node < 0) return {};
    if (auto it = rows_.find(node); it != rows_.end()) return it->second;
    const ConversationNode& n = c.node(node);
    const RowRef parent = saved_row(c, n.parent);
    const auto role = role_from_string(n.role);
    if (!role) throw Error("chat --save: the store has no role \"" + n.role + "\"");
    NewMessage m;
    m.role = *role;
    m.text = n.content;
    m.model = model_;
    return rows_[node] = store_.add_message(session_, parent, std::move(m));
}

void ChatRecorder::save(const Conversation& c, const Conversation::Reply& r,
                        const GenerateOptions& options) {
    if (r.node < 0) return;
    if (session_.is_null()) {
        std::string title;
        for (int id : c.path())
            if (c.node(id).role == "user") {
                title = c.node(id).content.substr(0, c.node(id).content.find('\n'));
                break;
            }
        session_ = store_.create_session(title.substr(0, 80), model_);
    }
    const RowRef parent = saved_row(c, c.node(r.node).parent);

    const GenerateStats& g = r.stats;
    const SamplerSettings& s = options.sampler;
    Generation gen;
    gen.params.sampler = {{"temperature", s.temperature},
                          {"top_k", s.top_k},
                          {"top_p", s.top_p},
                          {"min_p", s.min_p},
                          {"repetition_penalty", s.repetition_penalty},
                          {"max_new_tokens", options.max_new_tokens}};
    if (c.read_twice()) gen.params.sampler["jrt"] = true;
    gen.params.seed = std::int64_t(s.seed & 0x7fffffffffffffffULL);
    gen.params.backend = backend_;
    gen.params.dtype = dtype_;
    gen.stats = generation_stats(r);
    NewMessage m;
    m.role = Role::Assistant;
    m.text = g.text;
    m.model = model_;
    m.generation = std::move(gen);
    m.status = g.stop == StopReason::Cancelled ? MessageStatus::Cancelled : MessageStatus::Complete;
    rows_[r.node] = store_.add_message(session_, parent, std::move(m));
}

std::int64_t ChatRecorder::session_id() {
    store_.flush();
    return session_.is_null() ? 0 : session_.id();
}

}  // namespace statescope::cli
