#include "widgets/compare/series_plot.h"

#include <cmath>

namespace statescope::widgets {

QColor series_color(int i) {
    // Okabe-Ito: distinguishable with the common colour-vision deficiencies.
    static const QColor colors[] = {QColor(0, 114, 178), QColor(213, 94, 0),
                                    QColor(0, 158, 115), QColor(204, 121, 167),
                                    QColor(230, 159, 0), QColor(86, 180, 233)};
    return colors[i % 6];
}

SeriesPlot::SeriesPlot(QWidget* parent) : QCustomPlot(parent) {
    plotLayout()->insertRow(0);
    title_ = new QCPTextElement(this, QString(),
                                QFont(font().family(), font().pointSize() + 1, QFont::Bold));
    plotLayout()->addElement(0, 0, title_);
    // The legend in a row of its own under the axes: it never hides a point.
    legend->setVisible(true);
    legend->setFont(font());
    legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
    legend->setBorderPen(Qt::NoPen);
    axisRect()->insetLayout()->take(legend);
    plotLayout()->addElement(2, 0, legend);
    plotLayout()->setRowStretchFactor(2, 0.001);
    setMinimumSize(240, 180);
}

void SeriesPlot::setLabels(const QString& title, const QString& x_label, const QString& y_label) {
    title_->setText(title);
    xAxis->setLabel(x_label);
    yAxis->setLabel(y_label);
    setAccessibleName(title);
}

void SeriesPlot::setLogScale(bool log_x, bool log_y) {
    log_x_ = log_x;
    log_y_ = log_y;
    xAxis->setScaleType(log_x ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
    yAxis->setScaleType(log_y ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
    if (log_x) xAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    if (log_y) yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
}

void SeriesPlot::setIntegerX(bool on) {
    if (!on) return;
    QSharedPointer<QCPAxisTickerFixed> t(new QCPAxisTickerFixed);
    t->setTickStep(1.0);
    t->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
    xAxis->setTicker(t);
}

void SeriesPlot::setSeries(const QVector<PlotSeries>& series) {
    series_ = series;
    clearPlottables();
    bool any = false;
    for (int i = 0; i < series.size(); ++i) {
        const PlotSeries& s = series[i];
        QCPGraph* g = addGraph();
        g->setName(s.name);
        const QColor c = series_color(i);
        g->setPen(QPen(c, 2));
        g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, c, c, 5));
        QVector<double> x, y, lo, hi;
        for (int k = 0; k < s.x.size() && k < s.y.size(); ++k) {
            // A log axis cannot show 0 or an infinite half-life: such points are left out.
            if (!std::isfinite(s.x[k]) || !std::isfinite(s.y[k])) continue;
            if ((log_x_ && s.x[k] <= 0) || (log_y_ && s.y[k] <= 0)) continue;
            x << s.x[k];
            y << s.y[k];
            if (s.low.size() == s.x.size() && s.high.size() == s.x.size()) {
                lo << std::max(0.0, s.y[k] - s.low[k]);
                hi << std::max(0.0, s.high[k] - s.y[k]);
            }
        }
        g->setData(x, y);
        any = any || !x.isEmpty();
        if (!lo.isEmpty()) {
            auto* bars = new QCPErrorBars(xAxis, yAxis);
            bars->removeFromLegend();
            bars->setName(s.name + QStringLiteral(" range"));
            bars->setDataPlottable(g);
            bars->setData(lo, hi);
            bars->setPen(QPen(c, 1));
        }
    }
    if (any) {
        rescaleAxes();
        // Error bars are not part of rescaleAxes(): widen y to hold the ranges too.
        for (const PlotSeries& s : series)
            for (int k = 0; k < s.low.size() && k < s.high.size(); ++k) {
                QCPRange r = yAxis->range();
                if (std::isfinite(s.low[k]) && (!log_y_ || s.low[k] > 0))
                    r.lower = std::min(r.lower, s.low[k]);
                if (std::isfinite(s.high[k])) r.upper = std::max(r.upper, s.high[k]);
                yAxis->setRange(r);
            }
        // Some room around the points; a log axis grows by a factor.
        for (QCPAxis* a : {xAxis, yAxis}) {
            QCPRange r = a->range();
            if (a->scaleType() == QCPAxis::stLogarithmic) {
                a->setRange(r.lower / 1.5, r.upper * 1.5);
            } else {
                const double pad = r.size() > 0 ? r.size() * 0.08 : std::max(1.0, r.upper * 0.1);
                a->setRange(r.lower - pad, r.upper + pad);
            }
        }
    }
    replot();
}

}  // namespace statescope::widgets
