// The layer pattern of a model as a strip of coloured cells, one per block (M: Mamba-1,
// 2: Mamba-2, A: attention, *: MLP/MoE), so a hybrid's shape reads at a glance.
#pragma once

#include <QWidget>

namespace statescope::widgets {

class LayerStrip : public QWidget {
    Q_OBJECT
  public:
    explicit LayerStrip(QWidget* parent = nullptr);
    void setPattern(const QString& pattern);
    QString pattern() const { return pattern_; }
    QSize sizeHint() const override;
    static QColor colorFor(QChar kind);

  protected:
    void paintEvent(QPaintEvent* event) override;

  private:
    QString pattern_;
};

}  // namespace statescope::widgets
