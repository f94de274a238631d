// The scored text once per model, each token on a background by its loss (-log p in nats): white
// for a token the model expected, through yellow, to red at the top of the shared scale (the 95th
// percentile over all models, so the rows compare). A legend bar shows the scale; hovering a token
// shows its loss.
#pragma once

#include <QColor>
#include <QString>
#include <QStringList>
#include <QVector>
#include <QWidget>

class QLabel;
class QTextBrowser;

namespace statescope::widgets {

struct LossRow {
    QString name;
    QStringList pieces;   // one per token
    QVector<double> nll;  // one per token, NaN where there is none (the first token)
};

class LossTextView : public QWidget {
    Q_OBJECT
  public:
    explicit LossTextView(QWidget* parent = nullptr);

    void setRows(const QVector<LossRow>& rows);
    const QVector<LossRow>& rows() const { return rows_; }
    double scaleMax() const { return scale_max_; }
    // The background of a token with this loss on a scale topping at `max` (transparent for NaN).
    static QColor colorFor(double nll, double max);
    QTextBrowser* browser() const { return text_; }

  private:
    QVector<LossRow> rows_;
    double scale_max_ = 1;
    QTextBrowser* text_ = nullptr;
    QLabel* legend_ = nullptr;
};

}  // namespace statescope::widgets
