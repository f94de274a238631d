// The shared "current token" of the inspector: a click on a token (in the chat or in any plot)
// sets it and every view jumps to it; hovering a cell sets the hovered token, which the text
// highlights. -1: none.
#pragma once

#include <QObject>

namespace statescope::widgets {

class TokenLink : public QObject {
    Q_OBJECT
  public:
    using QObject::QObject;
    int current() const { return current_; }
    int hovered() const { return hovered_; }

  public slots:
    void setCurrent(int token) {
        if (token == current_) return;
        current_ = token;
        emit currentChanged(token);
    }
    void setHovered(int token) {
        if (token == hovered_) return;
        hovered_ = token;
        emit hoveredChanged(token);
    }

  signals:
    void currentChanged(int token);
    void hoveredChanged(int token);

  private:
    int current_ = -1, hovered_ = -1;
};

}  // namespace statescope::widgets
