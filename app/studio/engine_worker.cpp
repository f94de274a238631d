#include "app/studio/engine_worker.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "app/studio/model_library.h"
#include "core/analysis/inspection.h"
#include "core/chat/chat_template.h"
#include "core/chat/conversation.h"
#include "core/chat/reply_stats.h"
#include "core/error.h"
#include "core/model/config.h"
#include "core/runtime/backends.h"
#include "core/runtime/generate.h"
#include "core/runtime/model.h"
#include "core/tokenizer/tokenizer.h"

namespace statescope::studio {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// Models without a chat template (base models, the bundled demo) get a plain transcript, written
// as a template so that it runs through the same Conversation; the stop string ends the reply where
// the model starts writing the user's next turn.
constexpr const char* kPlainTranscript = R"({%- for m in messages -%}
{%- if m['role'] == 'system' -%}{{ m['content'] + '\n\n' }}
{%- elif m['role'] == 'user' -%}{{ 'User: ' + m['content'] + '\n' }}
{%- else -%}{{ 'Assistant: ' + m['content'] + '\n' }}
{%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}Assistant:{%- endif -%})";
constexpr const char* kPlainUserStop = "\nUser:";

nlohmann::ordered_json to_messages(const QVector<ChatTurn>& turns) {
    nlohmann::ordered_json messages = nlohmann::ordered_json::array();
    for (const auto& t : turns)
        messages.push_back({{"role", t.role.toStdString()}, {"content", t.text.toStdString()}});
    return messages;
}

}  // namespace

EngineWorker::EngineWorker(QObject* parent) : QObject(parent) {}
EngineWorker::~EngineWorker() = default;

void EngineWorker::loadModel(const QString& dir_q, const QString& backend_name) {
    const fs::path dir(dir_q.toStdString());
    try {
        // Drop the old model first: two large models need not fit at once.
        conversation_.reset();
        conversation_node_.clear();
        model_.reset();
        tokenizer_.reset();
        if (!backend_ || backend_->name() != backend_name.toStdString())
            backend_ = make_backend(backend_name.toStdString());
        model_ = Model::load(dir, *backend_);
        const fs::path tok = dir / "tokenizer.json";
        if (!fs::exists(tok))
            throw Error("cannot chat with " + dir.string() + ": it has no tokenizer.json");
        tokenizer_ = std::make_unique<Tokenizer>(Tokenizer::from_file(tok));
        const auto found = find_chat_template(dir);  // parsed now: fail here, not mid-chat
        has_chat_template_ = found.has_value();
        ChatFormat format{found ? ChatTemplate::parse(found->source, found->file.string())
                                : ChatTemplate::parse(kPlainTranscript, "plain transcript"),
                          found ? found->bos_token : std::string(),
                          found ? found->eos_token : std::string(),
                          nlohmann::ordered_json::object(),
                          {},
                          /*add_special_tokens=*/!found};
        conversation_ = std::make_unique<Conversation>(*model_, *tokenizer_, std::move(format));
        stop_ids_ = model_->spec().eos_token_ids;
        if (fs::exists(dir / "generation_config.json")) {
            auto ids = Config::load(dir / "generation_config.json").get_int_list("eos_token_id");
            if (!ids.empty()) stop_ids_ = ids;
        }
        LoadedModel info;
        info.dir = dir_q;
        info.name = QString::fromStdString(dir.filename().string());
        info.model_type = QString::fromStdString(model_->spec().model_type);
        info.backend = QString::fromStdString(backend_->name());
        info.has_chat_template = has_chat_template_;
        emit modelLoaded(info);
    } catch (const std::exception& e) {
        conversation_.reset();
        model_.reset();
        emit modelFailed(dir_q, explain_load_error(dir_q, e.what()));
    }
}

std::string EngineWorker::render(const QVector<ChatTurn>& turns, bool add_generation_prompt) const {
    return conversation_->render_messages(to_messages(turns), add_generation_prompt);
}

void EngineWorker::select_branch(const GenerationRequest& request) {
    if (request.conversation != conversation_key_) {
        conversation_->clear();
        conversation_node_.clear();
        conversation_key_ = request.conversation;
    }
    int at = -1;
    for (const ChatTurn& t : request.turns) {
        const auto it = conversation_node_.find(t.node);
        if (t.node >= 0 && it != conversation_node_.end() &&
            conversation_->node(it->second).parent == at) {
            at = it->second;
            continue;
        }
        conversation_->select(at);
        at = conversation_->add(t.role.toStdString(), t.text.toStdString());
        if (t.node >= 0) conversation_node_[t.node] = at;
    }
    conversation_->select(at);
}

void EngineWorker::renderTemplate(const GenerationRequest& request) {
    if (!model_) {
        emit templateRendered(tr("(no model loaded)"), 0);
        return;
    }
    try {
        conversation_->set_read_twice(request.read_twice);
        const std::string text = render(request.turns, true);
        emit templateRendered(QString::fromStdString(text),
                              static_cast<qint64>(conversation_->tokenize(text).size()));
    } catch (const std::exception& e) {
        emit templateRendered(tr("cannot render the template: %1").arg(e.what()), 0);
    }
}

void EngineWorker::generate(const GenerationRequest& request) {
    stop_.store(false);
    if (!model_) {
        emit generationFailed(request.id, tr("no model is loaded"));
        return;
    }
    try {
        select_branch(request);
        conversation_->set_read_twice(request.read_twice);

        GenerateOptions opts;
        opts.max_new_tokens = request.max_new_tokens;
        opts.sampler = request.sampler;
        opts.stop_ids = stop_ids_;
        if (!has_chat_template_) opts.stop_strings = {kPlainUserStop};
        opts.prefill_progress = [&](std::int64_t done, std::int64_t total) {
            emit prefillProgress(request.id, done, total);
            return !stop_.load();
        };
        std::size_t hold = 0;
        for (const auto& s : opts.stop_strings) hold = std::max(hold, s.size() - 1);

        std::vector<std::int32_t> out_ids;
        std::string sent;
        auto last_emit = Clock::now();
        auto flush = [&](bool final_text, const std::string* whole) {
            std::string text = whole ? *whole : tokenizer_->decode(out_ids, true);
            if (!final_text) {
                // Hold back what may begin a stop string, and a trailing U+FFFD or three: a
                // character split across tokens decodes as those until its last byte arrives.
                // (Replacement characters inside the text are bytes that are not UTF-8 at all.)
                text.resize(text.size() > hold ? text.size() - hold : 0);
                for (int i = 0; i < 3 && text.size() >= 3 &&
                                text.compare(text.size() - 3, 3, "\xEF\xBF\xBD") == 0;
                     ++i)
                    text.resize(text.size() - 3);
            }
            if (text.size() > sent.size() && text.compare(0, sent.size(), sent) == 0) {
                emit textReady(request.id, QString::fromStdString(text.substr(sent.size())));
                sent = text;
            }
            last_emit = Clock::now();
        };
        auto on_token = [&](std::int32_t id) {
            out_ids.push_back(id);
            if (stop_.load()) return false;
            if (Clock::now() - last_emit >= kBatchInterval) flush(false, nullptr);
            return !stop_.load();
        };
        const Conversation::Reply r = conversation_->reply(opts, on_token);
        if (r.node >= 0 && request.reply_node >= 0) conversation_node_[request.reply_node] = r.node;
        flush(true, &r.stats.text);

        ReplyStats stats;
        stats.store_stats = generation_stats(r);
        stats.store_stats.state_bytes =
            static_cast<std::int64_t>(conversation_->sequence().state_bytes());
        // Stop pressed: "cancelled", whatever ended the generation first.
        if (stop_.load()) stats.store_stats.stop_reason = "cancelled";
        stats.reused_tokens = r.reused_tokens;
        stats.backend = QString::fromStdString(backend_->name());
        stats.text = QString::fromStdString(r.stats.text);
        emit generationFinished(request.id, stats);
    } catch (const std::exception& e) {
        emit generationFailed(request.id, QString::fromStdString(e.what()));
    }
}

void EngineWorker::analyse(const AnalysisRequest& request) {
    analysis_stop_.store(false);
    if (!model_) {
        emit analysisFailed(request.id, tr("no model is loaded"));
        return;
    }
    try {
        const std::string text = render(request.turns, false);
        const std::vector<std::int32_t> ids = conversation_->tokenize(text);
        if (ids.size() < 2)
            throw Error("the conversation is too short to analyse (under 2 tokens)");
        ProgressFn progress = [&](std::int64_t done, std::int64_t total) {
            emit analysisProgress(request.id, done, total);
            return !analysis_stop_.load();
        };
        auto core = std::make_shared<Inspection>(inspect(*model_, ids, InspectOptions{}, progress));
        widgets::InspectorData d;
        d.id = request.id;
        d.model_name = QString::fromStdString(fs::path(model_->spec().dir).filename().string());
        // Token texts decoded one by one (widgets never see the tokenizer); the analysed text is
        // their concatenation, so each token's offset is exact in it.
        for (std::int32_t id : ids) {
            d.offsets.push_back(int(d.text.size()));
            const QString t = QString::fromStdString(tokenizer_->decode(std::span(&id, 1), false));
            d.tokens << t;
            d.text += t;
        }
        for (const auto& l : core->lens)
            for (std::int32_t id : l.top_ids)
                if (!d.vocab.contains(id))
                    d.vocab.insert(
                        id, QString::fromStdString(tokenizer_->decode(std::span(&id, 1), false)));
        d.core = std::move(core);
        emit analysisReady(d);
    } catch (const std::exception& e) {
        emit analysisFailed(request.id, analysis_stop_.load() ? QStringLiteral("cancelled")
                                                              : QString::fromUtf8(e.what()));
    }
}

}  // namespace statescope::studio
