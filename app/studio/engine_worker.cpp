#include "app/studio/engine_worker.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "app/studio/model_library.h"
#include "core/analysis/inspection.h"
#include "core/chat/chat_template.h"
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

// Models without a chat template (base models, the bundled demo) get a plain transcript; the stop
// string ends the reply where the model starts writing the user's next turn.
constexpr const char* kPlainUserStop = "\nUser:";

std::string plain_transcript(const QVector<ChatTurn>& turns, bool add_generation_prompt) {
    std::string out;
    for (const auto& t : turns) {
        const std::string text = t.text.toStdString();
        if (t.role == "system") {
            out += text + "\n\n";
        } else if (t.role == "user") {
            out += "User: " + text + "\n";
        } else {
            out += "Assistant: " + text + "\n";
        }
    }
    return add_generation_prompt ? out + "Assistant:" : out;
}

}  // namespace

EngineWorker::EngineWorker(QObject* parent) : QObject(parent) {}
EngineWorker::~EngineWorker() = default;

void EngineWorker::loadModel(const QString& dir_q, const QString& backend_name) {
    const fs::path dir(dir_q.toStdString());
    try {
        // Drop the old model first: two large models need not fit at once.
        sequence_.reset();
        cached_state_.reset();
        cached_ids_.clear();
        model_.reset();
        tokenizer_.reset();
        if (!backend_ || backend_->name() != backend_name.toStdString())
            backend_ = make_backend(backend_name.toStdString());
        model_ = Model::load(dir, *backend_);
        const fs::path tok = dir / "tokenizer.json";
        if (!fs::exists(tok))
            throw Error("cannot chat with " + dir.string() + ": it has no tokenizer.json");
        tokenizer_ = std::make_unique<Tokenizer>(Tokenizer::from_file(tok));
        sequence_ = std::make_unique<Sequence>(*model_);
        chat_template_.reset();
        bos_token_.clear();
        eos_token_.clear();
        if (auto t = find_chat_template(dir)) {
            chat_template_ = t->source;
            bos_token_ = t->bos_token;
            eos_token_ = t->eos_token;
            ChatTemplate::parse(*chat_template_, t->file.string());  // fail now, not mid-chat
        }
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
        info.has_chat_template = chat_template_.has_value();
        emit modelLoaded(info);
    } catch (const std::exception& e) {
        model_.reset();
        sequence_.reset();
        emit modelFailed(dir_q, explain_load_error(dir_q, e.what()));
    }
}

std::string EngineWorker::render_prompt(const GenerationRequest& request,
                                        bool add_generation_prompt) const {
    if (!chat_template_) return plain_transcript(request.turns, add_generation_prompt);
    nlohmann::ordered_json messages = nlohmann::ordered_json::array();
    for (const auto& t : request.turns)
        messages.push_back({{"role", t.role.toStdString()}, {"content", t.text.toStdString()}});
    return ChatTemplate::parse(*chat_template_)
        .render(messages, add_generation_prompt, bos_token_, eos_token_);
}

std::vector<std::int32_t> EngineWorker::encode_prompt(const std::string& text) const {
    // apply_chat_template tokenizes the rendered text without adding special tokens (the template
    // wrote them); a plain transcript gets the post-processor's as a plain prompt would.
    return tokenizer_->encode(text, !chat_template_.has_value());
}

void EngineWorker::renderTemplate(const GenerationRequest& request) {
    if (!model_) {
        emit templateRendered(tr("(no model loaded)"), 0);
        return;
    }
    try {
        const std::string text = render_prompt(request);
        emit templateRendered(QString::fromStdString(text),
                              static_cast<qint64>(encode_prompt(text).size()));
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
        const auto t0 = Clock::now();
        const std::vector<std::int32_t> prompt = encode_prompt(render_prompt(request));
        if (prompt.empty()) throw Error("the prompt is empty");
        const auto n = static_cast<std::int64_t>(prompt.size());

        // Reuse the state of the longest cached prefix, then prefill up to the last token; that
        // state is the new snapshot, and the last token goes through generate() for its logits.
        std::int64_t reused = 0;
        if (cached_state_ && cached_ids_.size() < prompt.size() &&
            std::equal(cached_ids_.begin(), cached_ids_.end(), prompt.begin())) {
            sequence_->restore(*cached_state_);
            reused = static_cast<std::int64_t>(cached_ids_.size());
        } else {
            sequence_->reset();
        }
        const auto pre =
            std::span(prompt).subspan(std::size_t(reused), std::size_t(n - 1 - reused));
        ProgressFn progress = [&](std::int64_t done, std::int64_t total) {
            emit prefillProgress(request.id, reused + done, reused + total);
            return !stop_.load();
        };
        if (!pre.empty() && !model_->prefill(*sequence_, pre, 512, progress, nullptr)) {
            cached_state_.reset();
            ReplyStats stats;
            stats.prompt_tokens = n;
            stats.stop_reason = "cancelled";
            stats.backend = QString::fromStdString(backend_->name());
            emit generationFinished(request.id, stats);
            return;
        }
        const double own_prefill_s = std::chrono::duration<double>(Clock::now() - t0).count();
        cached_ids_.assign(prompt.begin(), prompt.end() - 1);
        cached_state_ = sequence_->snapshot();

        GenerateOptions opts;
        opts.max_new_tokens = request.max_new_tokens;
        opts.sampler = request.sampler;
        opts.stop_ids = stop_ids_;
        if (!chat_template_) opts.stop_strings = {kPlainUserStop};
        opts.detokenize = [this](std::span<const std::int32_t> ids) {
            return tokenizer_->decode(ids, true);
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
        auto on_token = [&](std::int32_t) {
            if (stop_.load()) return false;
            if (Clock::now() - last_emit >= kBatchInterval) flush(false, nullptr);
            return !stop_.load();
        };
        const auto tail = std::span(prompt).last(1);
        GenerateStats g = statescope::generate(*model_, *sequence_, tail, opts, on_token, &out_ids);
        flush(true, &g.text);

        ReplyStats stats;
        stats.prompt_tokens = n;
        stats.reused_tokens = reused;
        stats.generated_tokens = g.generated_tokens;
        stats.prefill_s = own_prefill_s + g.prefill_seconds;
        stats.ttft_s = own_prefill_s + g.time_to_first_token;
        stats.decode_s = g.decode_seconds;
        stats.prefill_tok_s = stats.prefill_s > 0 ? double(n - reused) / stats.prefill_s : 0.0;
        stats.decode_tok_s = g.decode_tokens_per_s();
        stats.state_bytes = static_cast<std::int64_t>(sequence_->state_bytes());
        stats.backend = QString::fromStdString(backend_->name());
        stats.stop_reason = stop_.load() ? QStringLiteral("cancelled")
                                         : QString::fromLatin1(stop_reason_name(g.stop));
        stats.text = QString::fromStdString(g.text);
        emit generationFinished(request.id, stats);
    } catch (const std::exception& e) {
        cached_state_.reset();
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
        GenerationRequest g;
        g.turns = request.turns;
        const std::string text = render_prompt(g, false);
        const std::vector<std::int32_t> ids = encode_prompt(text);
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
