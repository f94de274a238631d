// The conversation as a column of message bubbles: Markdown (code blocks included) rendered by Qt,
// per-message stats, and the buttons that act on a message (edit, regenerate, branch ◀ n/m ▶).
// It draws what it is given and reports clicks; it never runs a model.
#pragma once

#include <QLabel>
#include <QScrollArea>
#include <QTextBrowser>
#include <QVector>

class QVBoxLayout;
class QToolButton;

namespace statescope::widgets {

struct ChatMessageItem {
    int node = -1;  // the caller's id for the message, passed back in signals
    QString role;   // "system", "user", "assistant"
    QString text;   // Markdown
    QString stats;  // one line under the message, may be empty
    int branch_index = 0, branch_count = 1;
    bool streaming = false;
};

// Read-only Markdown that wraps anywhere (model output can be one long run) and is exactly as
// tall as its text, so the chat column scrolls, not each message.
class MessageText : public QTextBrowser {
    Q_OBJECT
  public:
    explicit MessageText(QWidget* parent = nullptr);
    void setMarkdownText(const QString& markdown);
    // While a reply streams: the text as plain text, then each batch appended at the end (cost of
    // the batch, not of the whole reply; Markdown is rendered once, when the reply ends).
    void setStreamingText(const QString& text);
    void appendStreamingText(const QString& text);
    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

  signals:
    // A click in the text, as a position in the document's plain text (the inspector maps it to
    // a token).
    void clickedAt(int position);

  protected:
    void resizeEvent(QResizeEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;

  private:
    void fit_height();
};

class MessageBubble : public QFrame {
    Q_OBJECT
  public:
    MessageBubble(const ChatMessageItem& item, QWidget* parent = nullptr);
    const ChatMessageItem& item() const { return item_; }
    void appendText(const QString& text);
    void setStats(const QString& stats);
    void setStreaming(bool streaming);
    MessageText* body() const { return body_; }

  signals:
    void editRequested(int node);
    void regenerateRequested(int node);
    void branchRequested(int node, int delta);

  private:
    void render_body();
    ChatMessageItem item_;
    bool streaming_plain_ = false;  // the body holds plain text being appended to
    MessageText* body_ = nullptr;
    QLabel* stats_ = nullptr;
};

class ChatView : public QScrollArea {
    Q_OBJECT
  public:
    explicit ChatView(QWidget* parent = nullptr);
    void setMessages(const QVector<ChatMessageItem>& items);
    // Streaming: adds text to the last message (batched by the caller) and keeps it in view.
    void appendToLast(const QString& text);
    void setLastStats(const QString& stats);
    void setLastStreaming(bool streaming);
    int count() const { return int(bubbles_.size()); }
    MessageBubble* bubble(int i) const { return bubbles_.value(i); }
    QString lastText() const;

  signals:
    void editRequested(int node);
    void regenerateRequested(int node);
    void branchRequested(int node, int delta);
    void textClicked(int bubble, int position);

  private:
    void scroll_to_end();
    QWidget* column_ = nullptr;
    QVBoxLayout* layout_ = nullptr;
    QLabel* empty_ = nullptr;
    QVector<MessageBubble*> bubbles_;
};

}  // namespace statescope::widgets
