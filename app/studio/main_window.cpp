#include "app/studio/main_window.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QComboBox>
#include <QDateTime>
#include <QDialog>
#include <QDockWidget>
#include <QDoubleSpinBox>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QFontDatabase>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QInputDialog>
#include <QKeySequence>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMenuBar>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QRandomGenerator>
#include <QSettings>
#include <QShortcut>
#include <QSpinBox>
#include <QSplitter>
#include <QStackedWidget>
#include <QStandardItemModel>
#include <QStatusBar>
#include <QTabWidget>
#include <QTimer>
#include <QVBoxLayout>
#include <fstream>
#include <map>
#include <sstream>

#include "app/studio/compare_view.h"
#include "app/studio/engine_worker.h"
#include "app/studio/inspector_controller.h"
#include "app/studio/model_library.h"
#include "app/studio/theme.h"
#include "core/error.h"
#include "core/runtime/backends.h"
#include "core/store/model_fingerprint.h"
#include "core/store/session_json.h"
#include "core/store/session_markdown.h"
#include "core/store/session_store.h"
#include "widgets/chat_view.h"
#include "widgets/layer_strip.h"

namespace statescope::studio {

namespace {

QString q(const std::string& s) {
    return QString::fromStdString(s);
}

QString role_name(Role r) {
    return q(std::string(to_string(r)));
}

QString stats_line(const Generation& g) {
    const auto& s = g.stats;
    QStringList parts;
    if (s.prompt_tokens) parts << QObject::tr("%1 prompt tok").arg(*s.prompt_tokens);
    if (s.generated_tokens) parts << QObject::tr("%1 generated").arg(*s.generated_tokens);
    if (s.ttft_s) parts << QObject::tr("TTFT %1 ms").arg(*s.ttft_s * 1e3, 0, 'f', 0);
    if (s.prefill_tok_s && *s.prefill_tok_s > 0)
        parts << QObject::tr("prefill %1 tok/s").arg(*s.prefill_tok_s, 0, 'f', 0);
    if (s.decode_tok_s && *s.decode_tok_s > 0)
        parts << QObject::tr("decode %1 tok/s").arg(*s.decode_tok_s, 0, 'f', 1);
    if (s.state_bytes) parts << QObject::tr("state %1").arg(format_bytes(*s.state_bytes));
    if (!g.params.backend.empty()) parts << q(g.params.backend);
    if (!s.stop_reason.empty()) parts << QObject::tr("stop: %1").arg(q(s.stop_reason));
    return parts.join(QStringLiteral(" · "));
}

GenerationStats to_store_stats(const ReplyStats& r) {
    GenerationStats s;
    s.prompt_tokens = r.prompt_tokens;
    s.generated_tokens = r.generated_tokens;
    s.ttft_s = r.ttft_s;
    s.prefill_s = r.prefill_s;
    s.decode_s = r.decode_s;
    s.prefill_tok_s = r.prefill_tok_s;
    s.decode_tok_s = r.decode_tok_s;
    s.state_bytes = r.state_bytes;
    s.stop_reason = r.stop_reason.toStdString();
    return s;
}

}  // namespace

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
    s.setValue("sampling/temperature", temperature_->value());
    s.setValue("sampling/top_k", top_k_->value());
    s.setValue("sampling/top_p", top_p_->value());
    s.setValue("sampling/min_p", min_p_->value());
    s.setValue("sampling/repetition_penalty", repeat_penalty_->value());
    s.setValue("sampling/max_new_tokens", max_new_->value());
    s.setValue("sampling/seed", seed_->value());
    s.setValue("chat/system_prompt", system_prompt_->toPlainText());
}

// ---- layout -------------------------------------------------------------------------------

void MainWindow::build_menus() {
    auto add = [this](QMenu* menu, const QString& text, const QKeySequence& key, auto fn) {
        QAction* a = menu->addAction(text);
        if (!key.isEmpty()) a->setShortcut(key);
        connect(a, &QAction::triggered, this, fn);
        addAction(a);  // shortcuts work when the menu bar is hidden too
        return a;
    };
    QMenu* file = menuBar()->addMenu(tr("&File"));
    add(file, tr("&New chat"), QKeySequence::New, [this] { newSession(); });
    add(file, tr("&Add models folder…"), QKeySequence::Open, [this] { add_models_folder(); });
    file->addSeparator();
    add(file, tr("Export chat as &Markdown…"), QKeySequence(tr("Ctrl+E")),
        [this] { export_current("md"); });
    add(file, tr("Export chat as &JSON…"), QKeySequence(tr("Ctrl+Shift+E")),
        [this] { export_current("json"); });
    add(file, tr("&Import chat…"), QKeySequence(tr("Ctrl+I")), [this] { import_dialog(); });
    file->addSeparator();
    add(file, tr("&Quit"), QKeySequence::Quit, [this] { close(); });

    QMenu* chat = menuBar()->addMenu(tr("&Chat"));
    add(chat, tr("&Send"), QKeySequence(tr("Ctrl+Return")),
        [this] { sendMessage(composer_->toPlainText()); });
    add(chat, tr("S&top"), QKeySequence(Qt::Key_Escape), [this] { stopGeneration(); });
    add(chat, tr("&Regenerate"), QKeySequence(tr("Ctrl+R")), [this] { regenerate(); });
    add(chat, tr("Show rendered &template"), QKeySequence(tr("Ctrl+T")),
        [this] { showTemplate(); });
    add(chat, tr("&Find in chats"), QKeySequence::Find, [this] {
        side_tabs_->setCurrentIndex(0);
        search_->setFocus();
        search_->selectAll();
    });

    QMenu* view = menuBar()->addMenu(tr("&View"));
    add(view, tr("&Chat"), QKeySequence(tr("Ctrl+1")), [this] { setView("chat"); });
    add(view, tr("&Inspector"), QKeySequence(tr("Ctrl+2")), [this] { setView("inspector"); });
    add(view, tr("C&ompare"), QKeySequence(tr("Ctrl+3")), [this] { setView("compare"); });
    view->addSeparator();
    add(view, tr("&Dark theme"), QKeySequence(tr("Ctrl+Shift+D")),
        [this] { setDarkTheme(!dark_); });
}

QWidget* MainWindow::build_sidebar() {
    side_tabs_ = new QTabWidget(this);
    side_tabs_->setAccessibleName(tr("Sessions and models"));

    // Sessions.
    auto* sessions = new QWidget(side_tabs_);
    auto* sv = new QVBoxLayout(sessions);
    sv->setContentsMargins(4, 4, 4, 4);
    search_ = new QLineEdit(sessions);
    search_->setObjectName("sessionSearch");
    search_->setPlaceholderText(tr("Search all chats…"));
    search_->setAccessibleName(tr("Search chats"));
    search_->setClearButtonEnabled(true);
    connect(search_, &QLineEdit::textChanged, this, [this] { sessions_timer_->start(); });
    sv->addWidget(search_);
    session_list_ = new QListWidget(sessions);
    session_list_->setObjectName("sessionList");
    session_list_->setAccessibleName(tr("Chats"));
    session_list_->setWordWrap(true);
    connect(session_list_, &QListWidget::itemActivated, this,
            [this](QListWidgetItem* it) { openSession(it->data(Qt::UserRole).toLongLong()); });
    connect(session_list_, &QListWidget::itemClicked, this,
            [this](QListWidgetItem* it) { openSession(it->data(Qt::UserRole).toLongLong()); });
    sv->addWidget(session_list_, 1);
    auto* row = new QHBoxLayout;
    auto button = [&](const QString& text, const QString& tip, auto fn) {
        auto* b = new QPushButton(text, sessions);
        b->setToolTip(tip);
        b->setAccessibleName(tip);
        connect(b, &QPushButton::clicked, this, fn);
        row->addWidget(b);
        return b;
    };
    auto selected_id = [this]() -> std::optional<std::int64_t> {
        auto* it = session_list_->currentItem();
        if (!it) return std::nullopt;
        return it->data(Qt::UserRole).toLongLong();
    };
    button(tr("New"), tr("New chat (Ctrl+N)"), [this] { newSession(); });
    button(tr("Rename"), tr("Rename the selected chat"), [this, selected_id] {
        auto id = selected_id();
        if (!id) return;
        bool ok = false;
        const QString title =
            QInputDialog::getText(this, tr("Rename chat"), tr("Title:"), QLineEdit::Normal,
                                  session_list_->currentItem()->text().section('\n', 0, 0), &ok);
        if (ok && !title.trimmed().isEmpty()) renameSession(*id, title.trimmed());
    });
    button(tr("Delete"), tr("Delete the selected chat (it can be undone)"), [this, selected_id] {
        if (auto id = selected_id()) deleteSession(*id);
    });
    sv->addLayout(row);
    undo_bar_ = new QWidget(sessions);
    auto* ub = new QHBoxLayout(undo_bar_);
    ub->setContentsMargins(0, 0, 0, 0);
    undo_label_ = new QLabel(undo_bar_);
    undo_label_->setWordWrap(true);
    auto* undo = new QPushButton(tr("Undo"), undo_bar_);
    undo->setObjectName("undoDelete");
    undo->setAccessibleName(tr("Undo delete"));
    connect(undo, &QPushButton::clicked, this, [this] { undoDelete(); });
    ub->addWidget(undo_label_, 1);
    ub->addWidget(undo);
    undo_bar_->hide();
    sv->addWidget(undo_bar_);
    side_tabs_->addTab(sessions, tr("Chats"));

    // Models.
    auto* models = new QWidget(side_tabs_);
    auto* mv = new QVBoxLayout(models);
    mv->setContentsMargins(4, 4, 4, 4);
    model_list_ = new QListWidget(models);
    model_list_->setObjectName("modelList");
    model_list_->setAccessibleName(tr("Models"));
    connect(model_list_, &QListWidget::currentItemChanged, this, [this](QListWidgetItem* it) {
        if (it) show_card(it->data(Qt::UserRole).toString());
    });
    connect(model_list_, &QListWidget::itemActivated, this,
            [this](QListWidgetItem* it) { loadModel(it->data(Qt::UserRole).toString()); });
    mv->addWidget(model_list_, 1);
    auto* add_folder = new QPushButton(tr("Add models folder…"), models);
    connect(add_folder, &QPushButton::clicked, this, [this] { add_models_folder(); });
    mv->addWidget(add_folder);
    auto* card_box = new QFrame(models);
    card_box->setFrameShape(QFrame::StyledPanel);
    card_box->setAccessibleName(tr("Architecture card"));
    auto* cv = new QVBoxLayout(card_box);
    card_ = new QLabel(card_box);
    card_->setObjectName("architectureCard");
    card_->setWordWrap(true);
    card_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    strip_ = new widgets::LayerStrip(card_box);
    card_error_ = new QLabel(card_box);
    card_error_->setObjectName("cardError");
    card_error_->setWordWrap(true);
    card_error_->setStyleSheet("color: #c0392b;");
    card_error_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    load_button_ = new QPushButton(tr("Load this model"), card_box);
    connect(load_button_, &QPushButton::clicked, this, [this] {
        if (auto* it = model_list_->currentItem()) loadModel(it->data(Qt::UserRole).toString());
    });
    cv->addWidget(card_);
    cv->addWidget(strip_);
    cv->addWidget(card_error_);
    cv->addWidget(load_button_);
    mv->addWidget(card_box);
    side_tabs_->addTab(models, tr("Models"));
    return side_tabs_;
}

QWidget* MainWindow::build_chat() {
    auto* page = new QWidget(this);
    auto* v = new QVBoxLayout(page);
    v->setContentsMargins(6, 6, 6, 6);

    auto* bar = new QHBoxLayout;
    model_label_ = new QLabel(tr("No model"), page);
    model_label_->setObjectName("modelLabel");
    bar->addWidget(model_label_, 1);
    bar->addWidget(new QLabel(tr("Backend:"), page));
    backend_combo_ = new QComboBox(page);
    backend_combo_->setAccessibleName(tr("Backend"));
    const auto have = available_backends();
    for (const char* name : {"cpu", "cuda"}) {
        backend_combo_->addItem(name);
        const bool ok = std::find(have.begin(), have.end(), name) != have.end();
        if (!ok) {
            auto* m = qobject_cast<QStandardItemModel*>(backend_combo_->model());
            if (m) m->item(backend_combo_->count() - 1)->setEnabled(false);
            backend_combo_->setItemData(backend_combo_->count() - 1, cuda_reason_, Qt::ToolTipRole);
        }
    }
    connect(backend_combo_, &QComboBox::activated, this, [this] {
        if (!model_.dir.isEmpty()) loadModel(model_.dir);
    });
    bar->addWidget(backend_combo_);
    auto* tmpl = new QPushButton(tr("Template…"), page);
    tmpl->setToolTip(tr("Show the rendered prompt and its token count (Ctrl+T)"));
    connect(tmpl, &QPushButton::clicked, this, [this] { showTemplate(); });
    bar->addWidget(tmpl);
    view_combo_ = new QComboBox(page);
    view_combo_->setAccessibleName(tr("View"));
    view_combo_->addItems({tr("Chat"), tr("Inspector"), tr("Compare")});
    connect(view_combo_, &QComboBox::currentIndexChanged, this, [this](int i) {
        setView(i == 1 ? "inspector" : i == 2 ? "compare" : "chat");
    });
    bar->addWidget(view_combo_);
    v->addLayout(bar);

    banner_ = new QLabel(page);
    banner_->setObjectName("backendBanner");
    banner_->setWordWrap(true);
    banner_->setAccessibleName(tr("Backend warning"));
    banner_->setStyleSheet(
        "QLabel { background: #f5a623; color: #1a1a1a; padding: 6px; "
        "border-radius: 4px; font-weight: bold; }");
    banner_->hide();
    v->addWidget(banner_);

    chat_view_ = new widgets::ChatView(page);
    chat_view_->setObjectName("chatView");
    connect(chat_view_, &widgets::ChatView::regenerateRequested, this,
            [this](int n) { regenerate(n); });
    connect(chat_view_, &widgets::ChatView::editRequested, this, [this](int n) { beginEdit(n); });
    connect(chat_view_, &widgets::ChatView::branchRequested, this,
            [this](int n, int d) { switchBranch(n, d); });
    v->addWidget(chat_view_, 1);

    progress_ = new QProgressBar(page);
    progress_->setObjectName("progress");
    progress_->setTextVisible(true);
    progress_->hide();
    v->addWidget(progress_);

    edit_label_ =
        new QLabel(tr("Editing a message: sending makes a new branch. Esc cancels."), page);
    edit_label_->setObjectName("editLabel");
    edit_label_->hide();
    v->addWidget(edit_label_);

    auto* input = new QHBoxLayout;
    composer_ = new QPlainTextEdit(page);
    composer_->setObjectName("composer");
    composer_->setAccessibleName(tr("Message"));
    composer_->setPlaceholderText(tr("Message… (Ctrl+Enter sends)"));
    composer_->setMaximumHeight(90);
    input->addWidget(composer_, 1);
    auto* buttons = new QVBoxLayout;
    send_button_ = new QPushButton(tr("Send"), page);
    send_button_->setObjectName("sendButton");
    send_button_->setAccessibleName(tr("Send message"));
    connect(send_button_, &QPushButton::clicked, this,
            [this] { sendMessage(composer_->toPlainText()); });
    stop_button_ = new QPushButton(tr("Stop"), page);
    stop_button_->setObjectName("stopButton");
    stop_button_->setAccessibleName(tr("Stop the reply (Esc)"));
    connect(stop_button_, &QPushButton::clicked, this, [this] { stopGeneration(); });
    buttons->addWidget(send_button_);
    buttons->addWidget(stop_button_);
    input->addLayout(buttons);
    v->addLayout(input);
    return page;
}

void MainWindow::build_sampling_dock() {
    QSettings s;
    auto* dock = new QDockWidget(tr("Prompt and sampling"), this);
    dock->setObjectName("samplingDock");
    auto* w = new QWidget(dock);
    auto* form = new QFormLayout(w);
    system_prompt_ = new QPlainTextEdit(w);
    system_prompt_->setObjectName("systemPrompt");
    system_prompt_->setAccessibleName(tr("System prompt"));
    system_prompt_->setPlaceholderText(tr("System prompt for new chats (optional)"));
    system_prompt_->setMaximumHeight(80);
    system_prompt_->setPlainText(s.value("chat/system_prompt").toString());
    form->addRow(tr("System"), system_prompt_);
    auto dspin = [&](const QString& label, double lo, double hi, double step, double def,
                     const char* key) {
        auto* b = new QDoubleSpinBox(w);
        b->setRange(lo, hi);
        b->setSingleStep(step);
        b->setDecimals(2);
        b->setValue(s.value(key, def).toDouble());
        b->setAccessibleName(label);
        form->addRow(label, b);
        return b;
    };
    auto ispin = [&](const QString& label, int lo, int hi, int def, const char* key) {
        auto* b = new QSpinBox(w);
        b->setRange(lo, hi);
        b->setValue(s.value(key, def).toInt());
        b->setAccessibleName(label);
        form->addRow(label, b);
        return b;
    };
    // Defaults as llama.cpp's: a little randomness, so regenerate gives another reply.
    temperature_ = dspin(tr("Temperature"), 0, 2, 0.05, 0.8, "sampling/temperature");
    top_k_ = ispin(tr("Top-k"), 0, 1000, 40, "sampling/top_k");
    top_p_ = dspin(tr("Top-p"), 0, 1, 0.01, 0.95, "sampling/top_p");
    min_p_ = dspin(tr("Min-p"), 0, 1, 0.01, 0.05, "sampling/min_p");
    repeat_penalty_ = dspin(tr("Repeat penalty"), 0.5, 2, 0.05, 1.1, "sampling/repetition_penalty");
    max_new_ = ispin(tr("Max new tokens"), 1, 1'000'000, 256, "sampling/max_new_tokens");
    seed_ = ispin(tr("Seed (0: random)"), 0, 2'000'000'000, 0, "sampling/seed");
    auto* outer = new QWidget(dock);
    auto* ov = new QVBoxLayout(outer);
    ov->addWidget(w);
    ov->addStretch(1);
    outer->setMaximumWidth(300);
    dock->setWidget(outer);
    addDockWidget(Qt::RightDockWidgetArea, dock);
}

// ---- models -------------------------------------------------------------------------------

void MainWindow::refresh_models() {
    QSettings s;
    const QStringList folders = s.value("models/folders").toStringList();
    model_list_->clear();
    for (const ModelEntry& m : scan_models(folders)) {
        auto* it = new QListWidgetItem(QString("%1\n%2").arg(m.name, m.source), model_list_);
        it->setData(Qt::UserRole, m.path);
        it->setToolTip(m.path);
    }
    if (model_list_->count() > 0) model_list_->setCurrentRow(0);
}

void MainWindow::show_card(const QString& dir) {
    const ModelCard c = describe_model(dir);
    if (c.model_type.isEmpty()) {
        card_->setText(tr("<b>%1</b>").arg(QFileInfo(dir).fileName().toHtmlEscaped()));
    } else {
        card_->setText(
            tr("<b>%1</b><br>%2 · %3<br>%4 layers · d_model %5 · vocab %6<br>%7 parameters · %8<br>"
               "memory: weights %9 (mapped) + state %10 per chat<br>tokenizer: %11 · chat "
               "template: %12")
                .arg(QFileInfo(dir).fileName().toHtmlEscaped(), c.model_type, c.architecture)
                .arg(c.n_layers)
                .arg(c.d_model)
                .arg(c.vocab_size)
                .arg(format_count(c.n_params), c.weight_dtype, format_bytes(c.weight_bytes),
                     format_bytes(c.state_bytes), c.has_tokenizer ? tr("yes") : tr("missing"),
                     c.has_chat_template ? tr("yes") : tr("none (plain transcript)")));
    }
    strip_->setPattern(c.layer_pattern);
    strip_->setVisible(!c.layer_pattern.isEmpty());
    card_error_->setText(c.error);
    card_error_->setVisible(!c.error.isEmpty());
    load_button_->setEnabled(c.error.isEmpty());
}

void MainWindow::add_models_folder() {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Add a folder of models"));
    if (dir.isEmpty()) return;
    QSettings s;
    QStringList folders = s.value("models/folders").toStringList();
    if (!folders.contains(dir)) folders << dir;
    s.setValue("models/folders", folders);
    refresh_models();
}

void MainWindow::loadModel(const QString& dir) {
    if (generating_) stopGeneration();
    model_ready_ = false;
    loading_dir_ = dir;
    model_label_->setText(tr("Loading %1…").arg(QFileInfo(dir).fileName()));
    progress_->setRange(0, 0);  // the engine reports no progress while mapping weights
    progress_->setFormat(tr("loading the model"));
    progress_->show();
    update_actions();
    emit requestLoad(dir, backend_combo_->currentText());
}

void MainWindow::on_model_loaded(const LoadedModel& model) {
    model_ = model;
    model_ready_ = true;
    progress_->hide();
    model_label_->setText(
        tr("<b>%1</b> · %2 · %3").arg(model.name, model.model_type, model.backend));
    QSettings().setValue("models/last", model.dir);
    if (store_) {
        try {
            model_row_ = store_->touch_model(model_info_for(model.dir.toStdString()));
        } catch (const std::exception& e) {
            statusBar()->showMessage(
                tr("The model is not recorded in the session store: %1").arg(e.what()));
        }
    }
    update_banner();
    update_actions();
    emit modelReady(model.name);
}

void MainWindow::on_model_failed(const QString& dir, const QString& message) {
    progress_->hide();
    model_label_->setText(tr("No model"));
    statusBar()->showMessage(tr("Cannot load %1: %2").arg(QFileInfo(dir).fileName(), message));
    update_actions();
    emit modelLoadFailed(message);
}

void MainWindow::update_banner() {
    const QString backend = model_ready_ ? model_.backend : backend_combo_->currentText();
    if (backend == "cuda") {
        banner_->hide();
        return;
    }
    banner_->setText(
        tr("⚠ Running on the CPU, not CUDA: %1. Replies are slower than on a GPU.")
            .arg(cuda_reason_.isEmpty() ? tr("the CPU backend was chosen") : cuda_reason_));
    banner_->show();
}

void MainWindow::update_actions() {
    send_button_->setEnabled(model_ready_ && !generating_);
    stop_button_->setEnabled(generating_);
}

// ---- chat ---------------------------------------------------------------------------------

void MainWindow::ensure_session(const QString& first_text) {
    if (!session_row_.is_null() || !store_) return;
    QString title = first_text.section('\n', 0, 0).trimmed();
    if (title.size() > 60) title = title.left(57) + "…";
    session_row_ = store_->create_session(title.toStdString(), model_row_);
    const QString system = system_prompt_->toPlainText().trimmed();
    if (!system.isEmpty() && tree_.empty()) {
        ChatNode n;
        n.role = Role::System;
        n.text = system.toStdString();
        n.row = store_->add_message(session_row_, {}, Role::System, n.text);
        tree_.add(-1, std::move(n));
    }
}

void MainWindow::sendMessage(const QString& raw) {
    const QString text = raw.trimmed();
    if (text.isEmpty() || generating_ || !model_ready_) return;
    if (tree_.empty()) {
        // A new chat: the system prompt goes first, even without a store.
        ensure_session(text);
        if (!store_ && !system_prompt_->toPlainText().trimmed().isEmpty()) {
            ChatNode n;
            n.role = Role::System;
            n.text = system_prompt_->toPlainText().trimmed().toStdString();
            tree_.add(-1, std::move(n));
        }
    }
    int parent = tree_.head();
    if (edit_node_ >= 0) {
        parent = tree_.node(edit_node_).parent;
        edit_node_ = -1;
        edit_label_->hide();
    }
    ChatNode user;
    user.role = Role::User;
    user.text = text.toStdString();
    if (store_) {
        const RowRef parent_row = parent >= 0 ? tree_.node(parent).row : RowRef();
        user.row = store_->add_message(session_row_, parent_row, Role::User, user.text);
    }
    const int node = tree_.add(parent, std::move(user));
    composer_->clear();
    start_reply(node);
}

GenerationRequest MainWindow::request_for(int parent_node) const {
    GenerationRequest r;
    std::vector<int> path;
    for (int n = parent_node; n >= 0; n = tree_.node(n).parent) path.push_back(n);
    for (auto it = path.rbegin(); it != path.rend(); ++it) {
        const ChatNode& n = tree_.node(*it);
        r.turns.push_back({role_name(n.role), q(n.text)});
    }
    r.sampler.temperature = float(temperature_->value());
    r.sampler.top_k = top_k_->value();
    r.sampler.top_p = float(top_p_->value());
    r.sampler.min_p = float(min_p_->value());
    r.sampler.repetition_penalty = float(repeat_penalty_->value());
    r.sampler.seed = seed_->value() != 0 ? std::uint64_t(seed_->value())
                                         : QRandomGenerator::global()->generate64();
    r.max_new_tokens = max_new_->value();
    return r;
}

void MainWindow::start_reply(int parent_node) {
    GenerationRequest request = request_for(parent_node);
    request.id = current_request_ = next_request_++;
    ChatNode reply;
    reply.role = Role::Assistant;
    reply.status = MessageStatus::Generating;
    Generation g;
    g.params.backend = model_.backend.toStdString();
    g.params.seed = std::int64_t(request.sampler.seed & 0x7fffffffffffffffULL);
    g.params.sampler = {{"temperature", request.sampler.temperature},
                        {"top_k", request.sampler.top_k},
                        {"top_p", request.sampler.top_p},
                        {"min_p", request.sampler.min_p},
                        {"repetition_penalty", request.sampler.repetition_penalty},
                        {"max_new_tokens", request.max_new_tokens}};
    reply.generation = g;
    if (store_) {
        StreamStart start;
        start.model = model_row_;
        start.params = g.params;
        reply.row = store_->begin_message(session_row_, tree_.node(parent_node).row, start);
    }
    reply_node_ = tree_.add(parent_node, std::move(reply));
    stored_text_.clear();
    store_streaming_ = true;
    generating_ = true;
    update_actions();
    rebuild_chat();
    emit requestGenerate(request);
}

void MainWindow::on_text(quint64 id, const QString& text) {
    if (id != current_request_ || reply_node_ < 0) return;
    const std::string piece = text.toStdString();
    tree_.node(reply_node_).text += piece;
    // Into the store as it streams, up to the first replacement character: text before one is
    // final, while bytes that are not (yet) UTF-8 may decode differently once more arrive. The
    // rest goes in at the end, from the final text.
    if (piece.find("\xEF\xBF\xBD") != std::string::npos) store_streaming_ = false;
    if (store_streaming_ && store_ && !tree_.node(reply_node_).row.is_null()) {
        store_->append_text(tree_.node(reply_node_).row, piece);
        stored_text_ += piece;
    }
    progress_->hide();
    chat_view_->appendToLast(text);
}

void MainWindow::on_finished(quint64 id, const ReplyStats& stats) {
    if (id != current_request_ || reply_node_ < 0) return;
    ChatNode& n = tree_.node(reply_node_);
    // The final text is authoritative: it is cut before a stop string the batches may have held.
    std::string final_text = stats.text.toStdString();
    if (final_text.empty() && stats.stop_reason == "cancelled") final_text = n.text;
    if (final_text.compare(0, stored_text_.size(), stored_text_) != 0) final_text = n.text;
    if (store_ && !n.row.is_null() && final_text.size() > stored_text_.size())
        store_->append_text(n.row, final_text.substr(stored_text_.size()));
    n.text = final_text;
    const bool cancelled = stats.stop_reason == "cancelled";
    n.status = cancelled ? MessageStatus::Cancelled : MessageStatus::Complete;
    n.generation->stats = to_store_stats(stats);
    if (store_ && !n.row.is_null()) store_->finish_message(n.row, n.generation->stats, n.status);
    generating_ = false;
    reply_node_ = -1;
    progress_->hide();
    update_actions();
    rebuild_chat();
    emit replyFinished(stats.stop_reason);
}

void MainWindow::on_failed(quint64 id, const QString& message) {
    if (id != current_request_ || reply_node_ < 0) return;
    ChatNode& n = tree_.node(reply_node_);
    n.status = MessageStatus::Failed;
    n.generation->stats.stop_reason = "failed";
    if (store_ && !n.row.is_null()) store_->finish_message(n.row, n.generation->stats, n.status);
    generating_ = false;
    reply_node_ = -1;
    progress_->hide();
    statusBar()->showMessage(tr("The reply failed: %1").arg(message));
    update_actions();
    rebuild_chat();
    emit replyFinished("failed");
}

void MainWindow::stopGeneration() {
    if (edit_node_ >= 0 && !generating_) {
        edit_node_ = -1;
        edit_label_->hide();
        composer_->clear();
        return;
    }
    if (generating_) worker_->request_stop();
}

void MainWindow::regenerate(int node) {
    if (generating_ || !model_ready_) return;
    if (node < 0) {
        for (int n : tree_.path())
            if (tree_.node(n).role == Role::Assistant) node = n;
    }
    if (node < 0 || tree_.node(node).parent < 0) return;
    start_reply(tree_.node(node).parent);
}

void MainWindow::switchBranch(int node, int delta) {
    if (generating_) return;
    const auto sibs = tree_.siblings(node);
    const auto it = std::find(sibs.begin(), sibs.end(), node);
    const int i = int(it - sibs.begin()) + delta;
    if (i < 0 || i >= int(sibs.size())) return;
    tree_.switch_to(sibs[std::size_t(i)]);
    if (store_ && !session_row_.is_null())
        store_->set_head(session_row_, tree_.node(tree_.head()).row);
    rebuild_chat();
}

void MainWindow::beginEdit(int node) {
    if (generating_) return;
    edit_node_ = node;
    composer_->setPlainText(q(tree_.node(node).text));
    edit_label_->show();
    composer_->setFocus();
}

void MainWindow::rebuild_chat() {
    QVector<widgets::ChatMessageItem> items;
    for (int n : tree_.path()) {
        const ChatNode& c = tree_.node(n);
        widgets::ChatMessageItem it;
        it.node = n;
        it.role = role_name(c.role);
        it.text = q(c.text);
        it.streaming = n == reply_node_;
        if (c.generation && !it.streaming) {
            it.stats = stats_line(*c.generation);
            if (c.status == MessageStatus::Interrupted) it.stats += tr(" · interrupted");
        }
        const auto sibs = tree_.siblings(n);
        it.branch_count = int(sibs.size());
        it.branch_index = int(std::find(sibs.begin(), sibs.end(), n) - sibs.begin());
        items.push_back(it);
    }
    chat_view_->setMessages(items);
}

// ---- sessions -----------------------------------------------------------------------------

std::optional<std::int64_t> MainWindow::currentSessionId() const {
    if (session_row_.is_null()) return std::nullopt;
    return session_row_.try_id();
}

void MainWindow::newSession() {
    if (generating_) stopGeneration();
    tree_.clear();
    session_row_ = RowRef();
    edit_node_ = -1;
    edit_label_->hide();
    session_list_->setCurrentItem(nullptr);
    rebuild_chat();
    composer_->setFocus();
}

void MainWindow::openSession(std::int64_t id) {
    if (generating_ || !reader_) return;
    if (auto cur = currentSessionId(); cur && *cur == id) return;
    try {
        auto s = reader_->session(id);
        if (!s) return;
        if (CompareView::isCompareSession(*s)) {
            if (compare_view_->openSaved(id)) setView("compare");
            return;
        }
        tree_ = ChatTree::from_session(*s);
        session_row_ = RowRef(id);
        edit_node_ = -1;
        edit_label_->hide();
        setView("chat");
        rebuild_chat();
    } catch (const std::exception& e) {
        statusBar()->showMessage(tr("Cannot open the chat: %1").arg(e.what()));
    }
}

void MainWindow::refresh_sessions() {
    if (!reader_) return;
    session_list_->clear();
    try {
        const QString query = search_->text().trimmed();
        if (query.isEmpty()) {
            for (const SessionSummary& s : reader_->list_sessions(500)) {
                const QString when =
                    QDateTime::fromMSecsSinceEpoch(s.updated_at_ms).toString("yyyy-MM-dd hh:mm");
                auto* it = new QListWidgetItem(
                    tr("%1\n%2 · %n message(s)", "", int(s.message_count)).arg(q(s.title), when),
                    session_list_);
                it->setData(Qt::UserRole, qlonglong(s.id));
            }
        } else {
            std::map<std::int64_t, bool> seen;
            for (const SearchHit& h : reader_->search(query.toStdString(), 200)) {
                if (seen[h.session_id]) continue;
                seen[h.session_id] = true;
                auto* it = new QListWidgetItem(
                    QString("%1\n…%2…").arg(q(h.session_title), q(h.snippet)), session_list_);
                it->setData(Qt::UserRole, qlonglong(h.session_id));
            }
        }
    } catch (const std::exception& e) {
        statusBar()->showMessage(tr("Cannot read the chats: %1").arg(e.what()));
    }
    const auto cur = currentSessionId();
    for (int i = 0; i < session_list_->count(); ++i) {
        const qlonglong id = session_list_->item(i)->data(Qt::UserRole).toLongLong();
        if (cur && id == *cur) session_list_->setCurrentRow(i);
    }
}

void MainWindow::setSearchText(const QString& text) {
    search_->setText(text);
    refresh_sessions();
}

void MainWindow::renameSession(std::int64_t id, const QString& title) {
    if (!store_) return;
    store_->rename_session(RowRef(id), title.toStdString());
}

void MainWindow::deleteSession(std::int64_t id) {
    if (!store_ || !reader_) return;
    try {
        store_->flush();
        deleted_ = reader_->export_document(id);
        store_->delete_session(id);
        if (auto cur = currentSessionId(); cur && *cur == id) newSession();
        undo_label_->setText(tr("Deleted “%1”.").arg(q(deleted_->session.title)));
        undo_bar_->show();
        QTimer::singleShot(15000, undo_bar_, [this] { undo_bar_->hide(); });
        refresh_sessions();
    } catch (const std::exception& e) {
        statusBar()->showMessage(tr("Cannot delete the chat: %1").arg(e.what()));
    }
}

void MainWindow::undoDelete() {
    if (!deleted_ || !store_) return;
    try {
        const std::int64_t id = store_->import_document(*deleted_);
        deleted_.reset();
        undo_bar_->hide();
        refresh_sessions();
        openSession(id);
    } catch (const std::exception& e) {
        statusBar()->showMessage(tr("Cannot restore the chat: %1").arg(e.what()));
    }
}

bool MainWindow::exportSession(std::int64_t id, const QString& file, const QString& format) {
    if (!store_ || !reader_) return false;
    try {
        store_->flush();
        std::string text;
        if (format == "json") {
            text = to_json(reader_->export_document(id)).dump(2) + "\n";
        } else {
            auto s = reader_->session(id);
            if (!s) return false;
            std::map<std::int64_t, ModelInfo> models;
            for (const auto& m : reader_->models()) models[m.id] = m.info;
            text = to_markdown(*s, models);
        }
        std::ofstream out(file.toStdString(), std::ios::binary);
        out << text;
        if (!out) throw Error("cannot write " + file.toStdString());
        statusBar()->showMessage(tr("Exported to %1").arg(file));
        return true;
    } catch (const std::exception& e) {
        statusBar()->showMessage(tr("Cannot export: %1").arg(e.what()));
        return false;
    }
}

std::optional<std::int64_t> MainWindow::importSession(const QString& file) {
    if (!store_) return std::nullopt;
    try {
        std::ifstream in(file.toStdString(), std::ios::binary);
        if (!in) throw Error("cannot open " + file.toStdString());
        std::stringstream buf;
        buf << in.rdbuf();
        const std::int64_t id =
            store_->import_document(document_from_text(buf.str(), file.toStdString()));
        refresh_sessions();
        return id;
    } catch (const std::exception& e) {
        statusBar()->showMessage(tr("Cannot import %1: %2").arg(file, e.what()));
        return std::nullopt;
    }
}

void MainWindow::export_current(const QString& format) {
    auto id = currentSessionId();
    if (!id) return;
    const QString file = QFileDialog::getSaveFileName(
        this, tr("Export chat"), QString(),
        format == "json" ? tr("JSON (*.json)") : tr("Markdown (*.md)"));
    if (!file.isEmpty()) exportSession(*id, file, format);
}

void MainWindow::import_dialog() {
    const QString file =
        QFileDialog::getOpenFileName(this, tr("Import chat"), QString(), tr("JSON (*.json)"));
    if (file.isEmpty()) return;
    if (auto id = importSession(file)) openSession(*id);
}

// ---- views, theme, template ---------------------------------------------------------------

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

void MainWindow::setSampling(const SamplerSettings& s, std::int64_t max_new_tokens) {
    temperature_->setValue(s.temperature);
    top_k_->setValue(int(s.top_k));
    top_p_->setValue(s.top_p);
    min_p_->setValue(s.min_p);
    repeat_penalty_->setValue(s.repetition_penalty);
    max_new_->setValue(int(max_new_tokens));
    seed_->setValue(int(s.seed));
}

void MainWindow::showTemplate() {
    if (!template_dialog_) {
        auto* d = new QDialog(this);
        d->setWindowTitle(tr("Rendered prompt"));
        d->setAttribute(Qt::WA_DeleteOnClose);
        auto* v = new QVBoxLayout(d);
        template_count_ = new QLabel(d);
        template_text_ = new QPlainTextEdit(d);
        template_text_->setReadOnly(true);
        template_text_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
        v->addWidget(template_count_);
        v->addWidget(template_text_);
        d->resize(640, 420);
        connect(d, &QObject::destroyed, this, [this] {
            template_text_ = nullptr;
            template_count_ = nullptr;
        });
        template_dialog_ = d;
    }
    // What the next send would feed: the branch on screen plus the text being typed.
    GenerationRequest r = request_for(tree_.head());
    if (tree_.empty() && !system_prompt_->toPlainText().trimmed().isEmpty())
        r.turns.push_back({"system", system_prompt_->toPlainText().trimmed()});
    if (!composer_->toPlainText().trimmed().isEmpty())
        r.turns.push_back({"user", composer_->toPlainText().trimmed()});
    template_text_->setPlainText(tr("rendering…"));
    emit requestTemplate(r);
    template_dialog_->show();  // not modal: the chat stays usable
    template_dialog_->raise();
}

}  // namespace statescope::studio
