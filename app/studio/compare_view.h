// The Compare view (docs/DESIGN.md §5, issue 10): two to four models on one prompt and one text.
// Aligned replies, a stats table (TTFT, tok/s, memory, backend), memory against context length
// measured from each model's Sequence, per-token loss coloured on the text, decay profiles on one
// axis and probe grids side by side. The work runs in CompareWorker on its own thread; this widget
// only sends it a request and draws what comes back. A comparison saves as a session (metadata
// kind "compare", the results in an analysis run of kind "compare") and reopens here.
#pragma once

#include <QPointer>
#include <QStringList>
#include <QThread>
#include <QWidget>
#include <optional>

#include "app/studio/compare_types.h"
#include "widgets/compare/probe_grid_panel.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QListWidget;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTableWidget;
class QTabWidget;

namespace statescope {
class SessionStore;
struct Session;
}  // namespace statescope
namespace statescope::widgets {
class AlignedOutputs;
class LossTextView;
class SeriesPlot;
class StoredProbeDialog;
}  // namespace statescope::widgets

namespace statescope::studio {

class CompareWorker;
struct StoredProbeRuns;

class CompareView : public QWidget {
    Q_OBJECT
  public:
    static constexpr int kMaxModels = 4;
    // Stats table columns.
    enum Column {
        ColModel,
        ColType,
        ColBackend,
        ColPromptTokens,
        ColTtft,
        ColPrefill,
        ColDecode,
        ColWeights,
        ColState,
        ColKvPerToken,
        ColMeanNll,
        ColTokenizer,
        ColCount
    };

    // `store` may be null (then Save is disabled); it must outlive the view.
    explicit CompareView(SessionStore* store, QWidget* parent = nullptr);
    ~CompareView() override;

    void setModels(const QStringList& dirs);
    QStringList models() const;
    void setPrompt(const QString& prompt);
    void setText(const QString& text);
    void setMaxNewTokens(int n);
    void setBackend(const QString& backend);
    // Greedy when seed < 0; else temperature-1 sampling with this seed.
    void setSeed(int seed);
    void setContextLengths(const std::vector<std::int64_t>& lengths);

    void run();
    void stop();
    bool isRunning() const { return running_; }
    const CompareResult& result() const { return result_; }

    // Saves the comparison on screen as a session; returns its id (nullopt with a status message
    // when there is nothing to save or no store).
    std::optional<std::int64_t> save();
    // Shows a saved comparison; false when the session is not one.
    bool openSaved(std::int64_t session_id);
    static bool isCompareSession(const Session& session);

    // Shows the grids in the Probes tab; false (the panel unchanged, the status naming the grids)
    // when they are of more than one probe. compare_view_probes.cpp.
    bool setProbeGrids(const QVector<widgets::ProbeGrid>& grids);
    // "From sessions…": reads the probe runs in the session store on a thread of its own (the
    // button disabled and the status saying so meanwhile), then opens the dialog listing them;
    // the runs picked there go to the grid panel as loaded files do. Without a store, or when
    // the store cannot be read, the status says why and no dialog opens.
    void pickStoredProbes();
    // Blocks until a store read started by pickStoredProbes has ended (the owner of the store
    // calls it before closing the store; the destructor calls it too).
    void waitForStoredRead();
    // Shows one of the lower tabs: "memory", "loss", "decay", "probes".
    void showTab(const QString& name);

    QTableWidget* statsTable() const { return stats_; }
    widgets::SeriesPlot* memoryPlot() const { return memory_plot_; }
    widgets::SeriesPlot* decayPlot() const { return decay_plot_; }
    widgets::LossTextView* lossView() const { return loss_view_; }
    widgets::AlignedOutputs* outputs() const { return outputs_; }
    widgets::ProbeGridPanel* probePanel() const { return probes_; }
    QLabel* statusLabel() const { return status_; }

  signals:
    void finished();
    void saved(qint64 session_id);
    void requestRun(const statescope::studio::CompareRequest& request);  // to the worker (queued)

  protected:
    void showEvent(QShowEvent* event) override;

  private:
    CompareRequest make_request() const;
    void show_result(const CompareResult& result);
    void on_progress(int index, const QString& stage, qint64 done, qint64 total);
    void on_model_finished(int index, const ModelResult& result);
    void on_finished(const CompareResult& result, bool together);
    void fill_library();
    void add_model(const QString& dir);
    void load_probe_files();
    void show_probe_grids(const QVector<widgets::ProbeGrid>& grids, const QStringList& errors);
    void restore_probe_grids(const nlohmann::json& result);  // from a saved comparison
    void open_stored_probe_dialog(const StoredProbeRuns& stored, const QString& error);
    void update_buttons();

    SessionStore* store_ = nullptr;
    QThread thread_;
    CompareWorker* worker_ = nullptr;
    QPointer<QThread> stored_read_;  // the store read behind "From sessions…", while it runs
    QPushButton* stored_button_ = nullptr;
    bool running_ = false;
    CompareResult result_;
    bool together_ran_ = false;
    std::vector<std::int64_t> context_lengths_;

    QListWidget* model_list_ = nullptr;
    QComboBox* library_ = nullptr;
    QPushButton* add_button_ = nullptr;
    QPushButton* remove_button_ = nullptr;
    QPlainTextEdit* prompt_ = nullptr;
    QPlainTextEdit* text_ = nullptr;
    QSpinBox* max_new_ = nullptr;
    QSpinBox* seed_ = nullptr;
    QCheckBox* greedy_ = nullptr;
    QCheckBox* together_ = nullptr;
    QComboBox* backend_ = nullptr;
    QPushButton* run_button_ = nullptr;
    QPushButton* stop_button_ = nullptr;
    QPushButton* save_button_ = nullptr;
    QProgressBar* progress_ = nullptr;
    QLabel* status_ = nullptr;
    QTableWidget* stats_ = nullptr;
    widgets::AlignedOutputs* outputs_ = nullptr;
    QTabWidget* tabs_ = nullptr;
    widgets::SeriesPlot* memory_plot_ = nullptr;
    widgets::SeriesPlot* decay_plot_ = nullptr;
    widgets::LossTextView* loss_view_ = nullptr;
    widgets::ProbeGridPanel* probes_ = nullptr;
};

}  // namespace statescope::studio
