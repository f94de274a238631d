#include "app/studio/main_window.h"

#include <QApplication>
#include <QCloseEvent>
#include <QComboBox>
#include <QDockWidget>
#include <QFileInfo>
#include <QLabel>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QSettings>
#include <QSplitter>
#include <QStackedWidget>
#include <QStatusBar>
#include <QTimer>

#include "app/studio/compare_view.h"
#include "app/studio/engine_worker.h"
#include "app/studio/inspector_controller.h"
#include "app/studio/model_library.h"
#include "app/studio/sampling_panel.h"
#include "app/studio/theme.h"
#include "core/runtime/backends.h"
#include "core/store/session_store.h"
#include "widgets/chat_view.h"

namespace statescope::studio {

MainWindow::MainWindow(const StudioOptions& options, QWidget* parent)
    : QMainWindow(parent), options_(options) {
    setWindowTitle(tr("Statescope"));
    setWindowIcon(QIcon(QStringLiteral(":/statescope/icons/statescope.svg")));

    // The engine: one worker on its own thread, spoken to only through queued signals.
    worker_ = new EngineWorker;
    worker_->moveToThread(&engine_thread_);
    connect(&engine_thread_, &QThread::finished, worker_, &QObject::deleteLater);
    connect(this, &MainWindow::requestLoad, worker_, &EngineWorker::loadModel,
            Qt::QueuedConnection);
    connect(this, &MainWindow::requestGenerate, worker_, &EngineWorker::generate,
            Qt::QueuedConnection);
    connect(this, &MainWindow::requestTemplate, worker_, &EngineWorker::renderTemplate,
            Qt::QueuedConnection);
    connect(worker_, &EngineWorker::modelLoaded, this, &MainWindow::on_model_loaded);
    connect(worker_, &EngineWorker::modelFailed, this, &MainWindow::on_model_failed);
    connect(worker_, &EngineWorker::textReady, this, &MainWindow::on_text);
    connect(worker_, &EngineWorker::generationFinished, this, &MainWindow::on_finished);
    connect(worker_, &EngineWorker::generationFailed, this, &MainWindow::on_failed);
    connect(worker_, &EngineWorker::prefillProgress, this,
            [this](quint64 id, qint64 done, qint64 total) {
                if (id != current_request_) return;
                progress_->setRange(0, int(total));
                progress_->setValue(int(done));
                progress_->setFormat(tr("reading the prompt: %v / %m tokens"));
                progress_->setVisible(done < total);
            });
    connect(worker_, &EngineWorker::templateRendered, this,
            [this](const QString& text, qint64 tokens) {
                if (!template_text_) return;
                template_text_->setPlainText(text);
                template_count_->setText(tr("%n token(s)", "", int(tokens)));
            });
    engine_thread_.setObjectName("statescope-engine");
    engine_thread_.start();

    // The store: writes are queued to its own thread; commits tell us to refresh the list.
    try {
        StoreOptions so;
        QPointer<MainWindow> self(this);
        so.on_commit = [self](const CommitInfo&) {
            if (self)
                QMetaObject::invokeMethod(
                    self,
                    [self] {
                        if (self && self->sessions_timer_) self->sessions_timer_->start();
                    },
                    Qt::QueuedConnection);
        };
        const std::filesystem::path db =
            options_.db_path.isEmpty() ? SessionStore::default_path()
                                       : std::filesystem::path(options_.db_path.toStdString());
        std::filesystem::create_directories(db.parent_path());
        store_ = std::make_unique<SessionStore>(db, so);
        reader_.emplace(store_->reader());
    } catch (const std::exception& e) {
        store_error_ = tr("Sessions are not saved: %1").arg(e.what());
    }

    try {
        make_backend("cuda");
    } catch (const std::exception& e) {
        cuda_reason_ = QString::fromUtf8(e.what());
    }

    sessions_timer_ = new QTimer(this);
    sessions_timer_->setSingleShot(true);
    sessions_timer_->setInterval(100);
    connect(sessions_timer_, &QTimer::timeout, this, &MainWindow::refresh_sessions);

    auto* splitter = new QSplitter(this);
    splitter->setObjectName("mainSplitter");
    splitter->addWidget(build_sidebar());
    views_ = new QStackedWidget(splitter);
    views_->addWidget(build_chat());
    for (const QString& name : {tr("Inspector")}) {
        auto* placeholder = new QLabel(
            tr("<h3>%1</h3><p>Not built yet: this view comes with the analyses (issue 8, next "
               "slices).</p>")
                .arg(name),
            views_);
        placeholder->setAlignment(Qt::AlignCenter);
        placeholder->setAccessibleName(name);
        views_->addWidget(placeholder);
    }
    compare_view_ = new CompareView(store_.get(), views_);
    views_->addWidget(compare_view_);
    splitter->addWidget(views_);
    splitter->setStretchFactor(1, 1);
    splitter->setSizes({280, 720});
    setCentralWidget(splitter);
    build_sampling_dock();
    inspector_ = new InspectorController(this, worker_, chat_view_);
    build_menus();

    QSettings settings;
    restoreGeometry(settings.value("window/geometry").toByteArray());
    setDarkTheme(settings.value("ui/dark", false).toBool());
    if (!store_error_.isEmpty())
        statusBar()->showMessage(store_error_);
    else if (store_->interrupted_at_open() > 0)
        statusBar()->showMessage(
            tr("%n reply(s) were cut off when Statescope last stopped; they are "
               "marked interrupted.",
               "", store_->interrupted_at_open()));

    refresh_models();
    refresh_sessions();
    update_banner();
    update_actions();

    QString start = options_.model;
    if (start.isEmpty()) start = settings.value("models/last").toString();
    if (start.isEmpty() || !QFileInfo(start).isDir()) {
        start.clear();
        for (const QString& d : demo_model_dirs()) {
            const auto found = scan_folder(d, "demo");
            if (!found.isEmpty()) {
                start = found.first().path;
                break;
            }
        }
    }
    if (!start.isEmpty()) loadModel(start);
}

MainWindow::~MainWindow() {
    worker_->request_stop();
    engine_thread_.quit();
    engine_thread_.wait();
    // A reply cut by closing the window is kept as far as it got, marked cancelled (its last
    // batch and stats were queued to this thread, which no longer runs its event loop).
    if (reply_node_ >= 0 && store_) {
        ChatNode& n = tree_.node(reply_node_);
        if (!n.row.is_null()) {
            GenerationStats stats;
            stats.stop_reason = "cancelled";
            store_->finish_message(n.row, stats, MessageStatus::Cancelled);
        }
    }
    compare_view_->waitForStoredRead();  // a "From sessions…" read still running uses the store
    reader_.reset();
    store_.reset();  // flushes what is queued
}

void MainWindow::closeEvent(QCloseEvent* event) {
    save_settings();
    QMainWindow::closeEvent(event);
}

void MainWindow::save_settings() {
    QSettings s;
    s.setValue("window/geometry", saveGeometry());
    s.setValue("ui/dark", dark_);
    sampling_->saveSettings();
}

void MainWindow::build_sampling_dock() {
    auto* dock = new QDockWidget(tr("Prompt and sampling"), this);
    dock->setObjectName("samplingDock");
    sampling_ = new SamplingPanel(dock);
    dock->setWidget(sampling_);
    addDockWidget(Qt::RightDockWidgetArea, dock);
}

void MainWindow::setSampling(const SamplerSettings& s, std::int64_t max_new_tokens) {
    sampling_->setSampling(s, max_new_tokens);
}

void MainWindow::setView(const QString& view) {
    const int i = view == "inspector" ? 1 : view == "compare" ? 2 : 0;
    view_combo_->setCurrentIndex(i);
    views_->setCurrentIndex(i == 1 ? 0 : i);  // the inspector's docks sit beside the chat
    if (inspector_) inspector_->setActive(i == 1);
}

void MainWindow::setDarkTheme(bool dark) {
    dark_ = dark;
    apply_theme(dark);
}

}  // namespace statescope::studio
