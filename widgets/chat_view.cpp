#include "widgets/chat_view.h"

#include <QMouseEvent>
#include <QTextCursor>

#include <QHBoxLayout>
#include <QScrollBar>
#include <QTextDocument>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>
#include <cmath>

namespace statescope::widgets {

namespace {

QToolButton* small_button(const QString& text, const QString& accessible, QWidget* parent) {
    auto* b = new QToolButton(parent);
    b->setText(text);
    b->setAccessibleName(accessible);
    b->setToolTip(accessible);
    b->setAutoRaise(true);
    return b;
}

QString role_title(const QString& role) {
    if (role == "user") return QObject::tr("You");
    if (role == "system") return QObject::tr("System prompt");
    return QObject::tr("Assistant");
}

}  // namespace

MessageText::MessageText(QWidget* parent) : QTextBrowser(parent) {
    setReadOnly(true);
    setOpenExternalLinks(true);
    setFrameShape(QFrame::NoFrame);
    setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    setWordWrapMode(QTextOption::WrapAtWordBoundaryOrAnywhere);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    viewport()->setAutoFillBackground(false);
    setStyleSheet("QTextBrowser { background: transparent; }");
    document()->setDocumentMargin(2);
    connect(document(), &QTextDocument::contentsChanged, this, [this] { fit_height(); });
}

void MessageText::setMarkdownText(const QString& markdown) {
    setMarkdown(markdown);
}

void MessageText::setStreamingText(const QString& text) {
    setPlainText(text);
}

void MessageText::appendStreamingText(const QString& text) {
    QTextCursor c(document());
    c.movePosition(QTextCursor::End);
    c.insertText(text);
}

QSize MessageText::sizeHint() const {
    return {200, height()};
}
QSize MessageText::minimumSizeHint() const {
    return {50, height()};
}

void MessageText::resizeEvent(QResizeEvent* event) {
    QTextBrowser::resizeEvent(event);
    fit_height();
}

void MessageText::mouseReleaseEvent(QMouseEvent* event) {
    QTextBrowser::mouseReleaseEvent(event);
    if (!textCursor().hasSelection()) emit clickedAt(cursorForPosition(event->pos()).position());
}

void MessageText::fit_height() {
    document()->setTextWidth(viewport()->width());
    const int h = int(std::ceil(document()->size().height())) + frameWidth() * 2;
    if (h != height()) setFixedHeight(h);
}

MessageBubble::MessageBubble(const ChatMessageItem& item, QWidget* parent)
    : QFrame(parent), item_(item) {
    setObjectName(item.role == "user"     ? "userBubble"
                  : item.role == "system" ? "systemBubble"
                                          : "assistantBubble");
    setFrameShape(QFrame::StyledPanel);
    setAccessibleName(tr("%1 message").arg(role_title(item.role)));
    auto* v = new QVBoxLayout(this);
    v->setContentsMargins(10, 6, 10, 6);
    v->setSpacing(2);

    auto* header = new QHBoxLayout;
    auto* who = new QLabel("<b>" + role_title(item.role) + "</b>", this);
    header->addWidget(who);
    header->addStretch(1);
    if (item.branch_count > 1) {
        auto* prev = small_button("◀", tr("Previous branch"), this);
        auto* pos =
            new QLabel(QString("%1/%2").arg(item.branch_index + 1).arg(item.branch_count), this);
        pos->setObjectName("branchPosition");
        pos->setAccessibleName(
            tr("Branch %1 of %2").arg(item.branch_index + 1).arg(item.branch_count));
        auto* next = small_button("▶", tr("Next branch"), this);
        prev->setObjectName("branchPrev");
        next->setObjectName("branchNext");
        prev->setEnabled(item.branch_index > 0);
        next->setEnabled(item.branch_index + 1 < item.branch_count);
        connect(prev, &QToolButton::clicked, this,
                [this] { emit branchRequested(item_.node, -1); });
        connect(next, &QToolButton::clicked, this,
                [this] { emit branchRequested(item_.node, +1); });
        header->addWidget(prev);
        header->addWidget(pos);
        header->addWidget(next);
    }
    if (item.role == "user") {
        auto* edit = small_button(tr("Edit"), tr("Edit this message as a new branch"), this);
        edit->setObjectName("editButton");
        connect(edit, &QToolButton::clicked, this, [this] { emit editRequested(item_.node); });
        header->addWidget(edit);
    } else if (item.role == "assistant") {
        auto* regen =
            small_button(tr("Regenerate"), tr("Regenerate this reply as a new branch"), this);
        regen->setObjectName("regenerateButton");
        connect(regen, &QToolButton::clicked, this,
                [this] { emit regenerateRequested(item_.node); });
        header->addWidget(regen);
    }
    v->addLayout(header);

    body_ = new MessageText(this);
    body_->setObjectName("messageBody");
    v->addWidget(body_);

    stats_ = new QLabel(this);
    stats_->setObjectName("messageStats");
    stats_->setWordWrap(true);
    QFont f = stats_->font();
    f.setPointSizeF(f.pointSizeF() * 0.85);
    stats_->setFont(f);
    stats_->setForegroundRole(QPalette::PlaceholderText);
    v->addWidget(stats_);
    render_body();
    setStats(item.stats);
}

void MessageBubble::render_body() {
    QString shown = item_.text;
    if (item_.streaming) shown += QStringLiteral(" ▍");
    if (shown.isEmpty()) shown = tr("*(empty)*");
    body_->setMarkdownText(shown);
    body_->setAccessibleDescription(item_.text);
}

void MessageBubble::appendText(const QString& text) {
    item_.text += text;
    if (!item_.streaming) {
        render_body();
        return;
    }
    if (!streaming_plain_) {
        body_->setStreamingText(item_.text);
        streaming_plain_ = true;
    } else {
        body_->appendStreamingText(text);
    }
}

void MessageBubble::setStats(const QString& stats) {
    item_.stats = stats;
    stats_->setText(stats);
    stats_->setVisible(!stats.isEmpty());
}

void MessageBubble::setStreaming(bool streaming) {
    item_.streaming = streaming;
    streaming_plain_ = false;
    render_body();
}

ChatView::ChatView(QWidget* parent) : QScrollArea(parent) {
    setWidgetResizable(true);
    setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    setAccessibleName(tr("Conversation"));
    column_ = new QWidget(this);
    layout_ = new QVBoxLayout(column_);
    layout_->setContentsMargins(12, 12, 12, 12);
    layout_->setSpacing(10);
    empty_ = new QLabel(tr("Type a message below and press Ctrl+Enter.\n"
                           "Esc stops a reply; every reply can be regenerated as a branch."),
                        column_);
    empty_->setAlignment(Qt::AlignCenter);
    empty_->setForegroundRole(QPalette::PlaceholderText);
    layout_->addWidget(empty_);
    layout_->addStretch(1);
    setWidget(column_);
}

void ChatView::setMessages(const QVector<ChatMessageItem>& items) {
    for (auto* b : bubbles_) b->deleteLater();
    bubbles_.clear();
    empty_->setVisible(items.isEmpty());
    for (const auto& item : items) {
        auto* b = new MessageBubble(item, column_);
        connect(b, &MessageBubble::editRequested, this, &ChatView::editRequested);
        connect(b, &MessageBubble::regenerateRequested, this, &ChatView::regenerateRequested);
        connect(b, &MessageBubble::branchRequested, this, &ChatView::branchRequested);
        const int index = int(bubbles_.size());
        connect(b->body(), &MessageText::clickedAt, this,
                [this, index](int pos) { emit textClicked(index, pos); });
        layout_->insertWidget(layout_->count() - 1, b);
        bubbles_.push_back(b);
    }
    scroll_to_end();
}

void ChatView::appendToLast(const QString& text) {
    if (bubbles_.isEmpty()) return;
    const bool at_end = verticalScrollBar()->value() >= verticalScrollBar()->maximum() - 4;
    bubbles_.back()->appendText(text);
    if (at_end) scroll_to_end();  // follow the reply unless the user scrolled up to read
}

void ChatView::setLastStats(const QString& stats) {
    if (!bubbles_.isEmpty()) bubbles_.back()->setStats(stats);
}

void ChatView::setLastStreaming(bool streaming) {
    if (!bubbles_.isEmpty()) bubbles_.back()->setStreaming(streaming);
}

QString ChatView::lastText() const {
    return bubbles_.isEmpty() ? QString() : bubbles_.back()->item().text;
}

void ChatView::scroll_to_end() {
    QTimer::singleShot(0, this,
                       [this] { verticalScrollBar()->setValue(verticalScrollBar()->maximum()); });
}

}  // namespace statescope::widgets
