// The inspector (issue 10): its docks beside the chat, the analyses requested from the engine
// worker (queued, with progress and cancel; a chat message cancels a running analysis so the
// chat never waits), and the token link between the chat text and every view: click a token in the
// text or a plot and every view jumps to it; hover a cell and the token lights up in the text.
#pragma once

#include <QObject>
#include <QPointer>
#include <QVector>

#include "app/studio/engine_types.h"
#include "widgets/inspector/inspector_data.h"

class QDockWidget;
class QLabel;
class QProgressBar;
class QToolButton;

namespace statescope::widgets {
class AttentionMap;
class ChatView;
class DecayHeatmap;
class DeltaStrip;
class LogitLensTable;
class LyapunovPlot;
class PlotPanel;
class ReceptiveFieldView;
class RetentionPlot;
class StateNormPlot;
class TokenLink;
}  // namespace statescope::widgets

namespace statescope::studio {

class EngineWorker;
class MainWindow;

class InspectorController : public QObject {
    Q_OBJECT
  public:
    InspectorController(MainWindow* window, EngineWorker* worker, widgets::ChatView* chat);

    void setActive(bool on);  // shows the docks; analyses the conversation when it changed
    bool active() const { return active_; }
    void analyseNow();
    bool busy() const { return pending_ != 0; }
    const widgets::InspectorData& data() const { return data_; }
    widgets::TokenLink* tokenLink() const { return link_; }
    QList<QDockWidget*> docks() const { return docks_; }
    QList<widgets::PlotPanel*> panels() const { return panels_; }
    widgets::DeltaStrip* deltaStrip() const { return strip_; }
    widgets::DecayHeatmap* heatmap() const { return heatmap_; }
    widgets::RetentionPlot* retention() const { return retention_; }
    widgets::ReceptiveFieldView* receptiveField() const { return receptive_; }
    widgets::LyapunovPlot* lyapunov() const { return lyapunov_; }
    widgets::StateNormPlot* stateNorms() const { return states_; }
    widgets::AttentionMap* attention() const { return attention_; }
    widgets::LogitLensTable* lens() const { return lens_; }
    void setLongMamba(bool on);
    // Raises the dock holding `panel` (the docks are tabbed).
    void showPanel(widgets::PlotPanel* panel);
    // By name: delta, decay, retention, receptive, lyapunov, state-norms, attention, lens.
    bool showPanel(const QString& name);
    static QStringList panelNames();
    // The token under a click in chat bubble `bubble` at document position `pos` (-1: none).
    int tokenAt(int bubble, int pos) const;

  signals:
    void analysisReady();
    void analysisFailed(const QString& message);
    void requestAnalyse(const statescope::studio::AnalysisRequest& request);

  private:
    QVector<ChatTurn> turns() const;
    void on_ready(const widgets::InspectorData& d);
    void map_bubbles();
    bool bubble_matches(int i) const;
    void highlight();

    MainWindow* window_;
    EngineWorker* worker_;
    widgets::ChatView* chat_;
    widgets::TokenLink* link_;
    QList<QDockWidget*> docks_;
    QList<widgets::PlotPanel*> panels_;
    QVector<bool> on_screen_;  // per dock, from visibilityChanged (tab in front and shown)
    widgets::DeltaStrip* strip_ = nullptr;
    widgets::DecayHeatmap* heatmap_ = nullptr;
    widgets::RetentionPlot* retention_ = nullptr;
    widgets::ReceptiveFieldView* receptive_ = nullptr;
    widgets::LyapunovPlot* lyapunov_ = nullptr;
    widgets::StateNormPlot* states_ = nullptr;
    widgets::AttentionMap* attention_ = nullptr;
    widgets::LogitLensTable* lens_ = nullptr;
    QProgressBar* progress_ = nullptr;
    QToolButton* cancel_ = nullptr;
    QLabel* status_ = nullptr;
    widgets::InspectorData data_;
    QVector<ChatTurn> analysed_;
    QVector<int> bubble_base_;  // per chat bubble: offset of its text in data_.text, -1 if absent
    bool active_ = false;
    bool longmamba_ = false;
    bool sampling_visible_ = true;
    quint64 next_id_ = 1, pending_ = 0;
};

}  // namespace statescope::studio
