// The studio's one window (docs/DESIGN.md §5): sessions and models on the left, the chat in the
// middle (Inspector and Compare views beside it), sampling and the system prompt in a dock. The
// engine runs in EngineWorker on its own thread; this class only sends it queued commands.
// One file per job: main_window.cpp (the engine thread, the store, the layout), _menus, _sidebar,
// _chat_page (widgets), _chat (send, stream, branches), _sessions, _models, _template.
#pragma once

#include <QMainWindow>
#include <QPointer>
#include <QThread>
#include <memory>
#include <optional>

#include "app/studio/chat_tree.h"
#include "app/studio/engine_types.h"
#include "core/store/session_reader.h"

class QComboBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QStackedWidget;
class QTabWidget;
class QTimer;
class QWidget;

namespace statescope {
class SessionStore;
}
namespace statescope::widgets {
class ChatView;
class LayerStrip;
}  // namespace statescope::widgets

namespace statescope::studio {

class CompareView;
class EngineWorker;
class InspectorController;
class SamplingPanel;

struct StudioOptions {
    QString db_path;  // empty: SessionStore::default_path()
    QString model;    // load at start; empty: the last one used, else the demo model
};

class MainWindow : public QMainWindow {
    Q_OBJECT
  public:
    explicit MainWindow(const StudioOptions& options, QWidget* parent = nullptr);
    ~MainWindow() override;

    // What menus, shortcuts and tests drive.
    void loadModel(const QString& dir);
    void sendMessage(const QString& text);
    void stopGeneration();
    void regenerate(int node = -1);  // -1: the last reply on screen
    void switchBranch(int node, int delta);
    void beginEdit(int node);
    void newSession();
    void openSession(std::int64_t id);
    void renameSession(std::int64_t id, const QString& title);
    void deleteSession(std::int64_t id);
    void undoDelete();
    bool exportSession(std::int64_t id, const QString& file, const QString& format);
    std::optional<std::int64_t> importSession(const QString& file);
    void setSearchText(const QString& text);
    void setView(const QString& view);  // "chat", "inspector", "compare"
    void setDarkTheme(bool dark);
    void showTemplate();
    void setSampling(const SamplerSettings& s, std::int64_t max_new_tokens);

    bool isGenerating() const { return generating_; }
    bool hasModel() const { return model_ready_; }
    std::optional<std::int64_t> currentSessionId() const;
    widgets::ChatView* chatView() const { return chat_view_; }
    InspectorController* inspector() const { return inspector_; }
    CompareView* compareView() const { return compare_view_; }
    QListWidget* sessionList() const { return session_list_; }
    QListWidget* modelList() const { return model_list_; }
    QLabel* backendBanner() const { return banner_; }
    QPlainTextEdit* composer() const { return composer_; }
    const ChatTree& tree() const { return tree_; }
    SessionStore& store() { return *store_; }

  signals:
    void modelReady(const QString& name);
    void modelLoadFailed(const QString& message);
    void replyFinished(const QString& stop_reason);
    // To the worker (queued).
    void requestLoad(const QString& dir, const QString& backend);
    void requestGenerate(const statescope::studio::GenerationRequest& request);
    void requestTemplate(const statescope::studio::GenerationRequest& request);

  protected:
    void closeEvent(QCloseEvent* event) override;

  private:
    void build_menus();
    QWidget* build_sidebar();
    QWidget* build_chat();
    void build_sampling_dock();
    void refresh_models();
    void show_card(const QString& dir);
    void refresh_sessions();
    void rebuild_chat();
    void start_reply(int parent_node);
    void ensure_session(const QString& first_text);
    GenerationRequest request_for(int parent_node) const;
    void update_banner();
    void update_actions();
    void on_text(quint64 id, const QString& text);
    void on_finished(quint64 id, const ReplyStats& stats);
    void on_failed(quint64 id, const QString& message);
    void on_model_loaded(const LoadedModel& model);
    void on_model_failed(const QString& dir, const QString& message);
    void add_models_folder();
    void export_current(const QString& format);
    void import_dialog();
    void save_settings();

    StudioOptions options_;
    QThread engine_thread_;
    EngineWorker* worker_ = nullptr;
    std::unique_ptr<SessionStore> store_;
    std::optional<SessionReader> reader_;
    QString store_error_;

    ChatTree tree_;
    RowRef session_row_;
    RowRef model_row_;
    std::optional<SessionDocument> deleted_;  // for undo
    bool generating_ = false;
    bool model_ready_ = false;
    quint64 next_request_ = 1, current_request_ = 0;
    quint64 conversation_key_ = 1;  // changes with the chat on screen (GenerationRequest)
    int reply_node_ = -1;
    std::string stored_text_;  // of the reply in progress, what the store has
    bool store_streaming_ = true;
    int edit_node_ = -1;
    LoadedModel model_;
    QString cuda_reason_;
    QString loading_dir_;

    // Widgets.
    QTabWidget* side_tabs_ = nullptr;
    QLineEdit* search_ = nullptr;
    QListWidget* session_list_ = nullptr;
    QWidget* undo_bar_ = nullptr;
    QLabel* undo_label_ = nullptr;
    QListWidget* model_list_ = nullptr;
    QLabel* card_ = nullptr;
    widgets::LayerStrip* strip_ = nullptr;
    QLabel* card_error_ = nullptr;
    QPushButton* load_button_ = nullptr;
    QStackedWidget* views_ = nullptr;
    QComboBox* view_combo_ = nullptr;
    QLabel* model_label_ = nullptr;
    QComboBox* backend_combo_ = nullptr;
    QLabel* banner_ = nullptr;
    widgets::ChatView* chat_view_ = nullptr;
    CompareView* compare_view_ = nullptr;
    QLabel* edit_label_ = nullptr;
    QPlainTextEdit* composer_ = nullptr;
    QPushButton* send_button_ = nullptr;
    QPushButton* stop_button_ = nullptr;
    QProgressBar* progress_ = nullptr;
    SamplingPanel* sampling_ = nullptr;
    QTimer* sessions_timer_ = nullptr;
    QPointer<QWidget> template_dialog_;
    QPlainTextEdit* template_text_ = nullptr;
    QLabel* template_count_ = nullptr;
    bool dark_ = false;
    InspectorController* inspector_ = nullptr;
};

}  // namespace statescope::studio
