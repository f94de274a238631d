// MainWindow's chat page: the model/backend/view bar, the CPU banner, the chat view, the prompt
// progress and the composer with Send and Stop.
#include "app/studio/main_window.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QStandardItemModel>
#include <QVBoxLayout>
#include <algorithm>

#include "core/runtime/backends.h"
#include "widgets/chat_view.h"

namespace statescope::studio {

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

}  // namespace statescope::studio
