// A line plot of a few named series on one pair of axes (one graph per model), optionally with a
// low..high range per point drawn as error bars; log axes on request. Draws what it is handed.
#pragma once

#include <qcustomplot.h>
#include <QColor>
#include <QString>
#include <QVector>

namespace statescope::widgets {

struct PlotSeries {
    QString name;
    QVector<double> x, y;
    QVector<double> low, high;  // empty, or one per point: the range drawn around y
};

// The colour of the i-th model everywhere in the compare view.
QColor series_color(int i);

class SeriesPlot : public QCustomPlot {
    Q_OBJECT
  public:
    explicit SeriesPlot(QWidget* parent = nullptr);

    void setLabels(const QString& title, const QString& x_label, const QString& y_label);
    void setLogScale(bool log_x, bool log_y);
    // Integer ticks on x (layer indices).
    void setIntegerX(bool on);
    // Series with no points still get a legend entry (e.g. "llama-tiny: no Mamba layers").
    void setSeries(const QVector<PlotSeries>& series);
    const QVector<PlotSeries>& series() const { return series_; }

  private:
    QCPTextElement* title_ = nullptr;
    QVector<PlotSeries> series_;
    bool log_x_ = false, log_y_ = false;
};

}  // namespace statescope::widgets
