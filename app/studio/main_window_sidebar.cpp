// MainWindow's left side: the Chats tab (search, list, rename/delete, undo) and the Models tab
// (the library list and the architecture card), wired to the window's session and model slots.
#include "app/studio/main_window.h"

#include <QFrame>
#include <QHBoxLayout>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QTabWidget>
#include <QTimer>
#include <QVBoxLayout>

#include "widgets/layer_strip.h"

namespace statescope::studio {

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

}  // namespace statescope::studio
