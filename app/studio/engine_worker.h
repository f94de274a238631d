// The engine on its own thread (docs/STYLE.md §3): the UI sends commands by queued signals to the
// slots below and gets text in batches (every kBatchInterval), progress and stats back. Stop is an
// atomic flag the generation callback reads between any two tokens, so request_stop() may be
// called from any thread and takes effect at the next token.
#pragma once

#include <QObject>
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <vector>

#include "app/studio/engine_types.h"
#include "core/runtime/sequence.h"
#include "widgets/inspector/inspector_data.h"

namespace statescope {
class Model;
class Tokenizer;
namespace kernels {
class Backend;
}
}  // namespace statescope

namespace statescope::studio {

class EngineWorker : public QObject {
    Q_OBJECT
  public:
    static constexpr std::chrono::milliseconds kBatchInterval{40};

    explicit EngineWorker(QObject* parent = nullptr);
    ~EngineWorker() override;

    // Thread-safe: the running generation (or prefill) stops before its next token.
    void request_stop() { stop_.store(true); }
    // Thread-safe: the running analysis stops at its next stage (a chat message is waiting).
    void request_analysis_stop() { analysis_stop_.store(true); }

  public slots:
    void loadModel(const QString& dir, const QString& backend);
    void generate(const statescope::studio::GenerationRequest& request);
    // Emits templateRendered with the exact prompt text the next generate() would feed.
    void renderTemplate(const statescope::studio::GenerationRequest& request);
    // Runs the inspector's analyses (core/analysis/inspection.h) over the rendered conversation.
    void analyse(const statescope::studio::AnalysisRequest& request);

  signals:
    void modelLoaded(const statescope::studio::LoadedModel& model);
    void modelFailed(const QString& dir, const QString& message);
    void textReady(quint64 id, const QString& text);  // appended to the reply
    void prefillProgress(quint64 id, qint64 done, qint64 total);
    void generationFinished(quint64 id, const statescope::studio::ReplyStats& stats);
    void generationFailed(quint64 id, const QString& message);
    void templateRendered(const QString& text, qint64 tokens);
    void analysisProgress(quint64 id, qint64 done, qint64 total);
    void analysisReady(const statescope::widgets::InspectorData& data);
    void analysisFailed(quint64 id, const QString& message);

  private:
    std::string render_prompt(const GenerationRequest& request,
                              bool add_generation_prompt = true) const;
    std::vector<std::int32_t> encode_prompt(const std::string& text) const;

    std::unique_ptr<kernels::Backend> backend_;
    std::unique_ptr<Model> model_;
    std::unique_ptr<Tokenizer> tokenizer_;
    std::unique_ptr<Sequence> sequence_;
    std::optional<std::string> chat_template_;
    std::string bos_token_, eos_token_;
    std::vector<std::int64_t> stop_ids_;
    // Snapshot at the end of the last prompt but its final token: a regenerate (same prompt) or a
    // next turn (a longer prompt with this one as prefix) restores it instead of re-reading.
    std::vector<std::int32_t> cached_ids_;
    std::optional<SequenceSnapshot> cached_state_;
    std::atomic<bool> stop_{false};
    std::atomic<bool> analysis_stop_{false};
};

}  // namespace statescope::studio
