// The engine on its own thread (docs/STYLE.md §3): the UI sends commands by queued signals to the
// slots below and gets text in batches (every kBatchInterval), progress and stats back. Stop is an
// atomic flag the generation callback reads between any two tokens, so request_stop() may be
// called from any thread and takes effect at the next token.
//
// Chats run through core/chat's Conversation, as statescope-cli chat does: one message tree with a
// state snapshot at message boundaries, so a regenerate, an edit or a branch switch prefills only
// the tokens after the longest snapshot that is a prefix of the new prompt. The window's ChatTree
// (what it shows and stores) maps node for node onto it; each request carries its branch.
#pragma once

#include <QObject>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <vector>

#include "app/studio/engine_types.h"
#include "widgets/inspector/inspector_data.h"

namespace statescope {
class Conversation;
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
    // The request's branch as the Conversation's active path: messages it lacks (new ones, or a
    // whole chat opened from the store) are added under their parents, in order.
    void select_branch(const GenerationRequest& request);
    std::string render(const QVector<ChatTurn>& turns, bool add_generation_prompt) const;

    std::unique_ptr<kernels::Backend> backend_;
    std::unique_ptr<Model> model_;
    std::unique_ptr<Tokenizer> tokenizer_;
    std::unique_ptr<Conversation> conversation_;
    bool has_chat_template_ = false;
    std::vector<std::int64_t> stop_ids_;
    quint64 conversation_key_ = 0;
    std::map<int, int> conversation_node_;  // ChatTree node -> Conversation node
    std::atomic<bool> stop_{false};
    std::atomic<bool> analysis_stop_{false};
};

}  // namespace statescope::studio
