#include "widgets/inspector/retention_plot.h"

#include <qcustomplot.h>
#include <QLabel>
#include <algorithm>
#include <cmath>
#include <numeric>

namespace statescope::widgets {

namespace {
const QColor kColors[] = {QColor(31, 119, 180), QColor(255, 127, 14), QColor(44, 160, 44),
                          QColor(214, 39, 40)};
}

RetentionPlot::RetentionPlot(QWidget* parent) : PlotPanel(tr("Retention"), parent) {
    QCustomPlot* p = plot();
    p->legend->setVisible(true);
    QFont f = p->legend->font();
    f.setPointSizeF(f.pointSizeF() * 0.85);
    p->legend->setFont(f);
    p->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignBottom | Qt::AlignLeft);
    hist_rect_ = new QCPAxisRect(p);
    p->plotLayout()->addElement(1, 0, hist_rect_);
    bars_ = new QCPBars(hist_rect_->axis(QCPAxis::atBottom), hist_rect_->axis(QCPAxis::atLeft));
    bars_->setPen(Qt::NoPen);
    bars_->setBrush(QColor(31, 119, 180, 170));
    bars_->setWidthType(QCPBars::wtPlotCoords);
    bars_->removeFromLegend();
    p->xAxis->setLabel(tr("token t"));
    p->yAxis->setLabel(tr("log10 R(t ← 0)"));
    hist_rect_->axis(QCPAxis::atBottom)->setLabel(tr("log10 half-life (tokens)"));
    hist_rect_->axis(QCPAxis::atLeft)->setLabel(tr("units"));
    setTokenAxis(p->xAxis);
}

QVector<int> RetentionPlot::unitChoices(int layer) const {
    QVector<int> out;
    if (const InspectionLayer* l = data_.core ? data_.core->find(layer) : nullptr)
        for (int u = 0; u < int(l->units); ++u) out << u;
    return out;
}

void RetentionPlot::rebuild() {
    const InspectionLayer* l = data_.core->find(currentLayer());
    if (!l) {
        showMessage(tr("This model has no Mamba layer."));
        return;
    }
    QCustomPlot* p = plot();
    p->clearGraphs();
    const std::int64_t T = data_.core->tokens, U = l->units;
    // units by half-life: longest, median, shortest, then the chosen one
    std::vector<int> order(static_cast<std::size_t>(U), 0);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int a, int b) {
        return l->decay.half_life[std::size_t(a)] > l->decay.half_life[std::size_t(b)];
    });
    units_ = {order.front(), order[order.size() / 2], order.back()};
    const QStringList roles = {tr("longest half-life"), tr("median"), tr("shortest")};
    if (currentUnit() >= 0 && !units_.contains(currentUnit())) units_ << currentUnit();
    curves_.clear();
    const QString unit = InspectorData::unitName(l->kind);
    for (int i = 0; i < units_.size(); ++i) {
        const int u = units_[i];
        QVector<double> x(static_cast<int>(T), 0.0), y(static_cast<int>(T), 0.0);
        double acc = 0;
        for (std::int64_t t = 0; t < T; ++t) {
            if (t > 0) acc += std::log10(double(l->decay.decay[std::size_t(t * U + u)]));
            x[int(t)] = double(t);
            y[int(t)] = acc;
        }
        curves_ << y;
        QCPGraph* g = p->addGraph();
        g->setData(x, y, true);
        g->setPen(QPen(kColors[i % 4], 2));
        g->setName(QStringLiteral("%1 %2 (%3, τ½ = %4)")
                       .arg(unit)
                       .arg(u)
                       .arg(i < 3 ? roles[i] : tr("chosen"))
                       .arg(l->decay.half_life[std::size_t(u)], 0, 'g', 3));
    }
    p->rescaleAxes();
    p->xAxis->setRange(-0.5, double(T) - 0.5);
    // histogram of log10 half-life, 20 bins between the extremes
    std::vector<double> hl;
    for (double h : l->decay.half_life)
        if (std::isfinite(h) && h > 0) hl.push_back(std::log10(h));
    edges_.clear();
    counts_.clear();
    if (!hl.empty()) {
        const auto [mn, mx] = std::minmax_element(hl.begin(), hl.end());
        const int nb = 20;
        const double lo = *mn, w = std::max(1e-9, (*mx - *mn) / nb);
        counts_.fill(0.0, nb);
        for (int b = 0; b < nb; ++b) edges_ << lo + b * w;
        for (double v : hl) counts_[std::clamp(int((v - lo) / w), 0, nb - 1)] += 1;
        QVector<double> centres;
        for (double e : edges_) centres << e + 0.5 * w;
        bars_->setWidth(w * 0.9);
        bars_->setData(centres, counts_, true);
        bars_->rescaleAxes();
        hist_rect_->axis(QCPAxis::atLeft)->setRangeLower(0);
        hist_rect_->axis(QCPAxis::atBottom)->setRange(lo - w, lo + (nb + 1) * w);
    }
    caption()->setText(
        tr("Layer %1: retention of the state written at token 0 for %2s %3 (top); "
           "half-life ln2/|λ| of its %4 %2s (bottom; median %5 tokens)")
            .arg(l->index)
            .arg(unit)
            .arg([&] {
                QStringList s;
                for (int u : units_) s << QString::number(u);
                return s.join(", ");
            }())
            .arg(U)
            .arg(l->decay.half_life_quantiles.size() > 2 ? l->decay.half_life_quantiles[2] : 0.0, 0,
                 'g', 3));
    replot();
}

CsvRows RetentionPlot::csvRows() const {
    CsvRows rows;
    QStringList h{"token"};
    for (int u : units_) h << QStringLiteral("log10_retention_unit_%1").arg(u);
    rows << h;
    const int T = curves_.isEmpty() ? 0 : int(curves_[0].size());
    for (int t = 0; t < T; ++t) {
        QStringList r{QString::number(t)};
        for (const auto& c : curves_) r << QString::number(c[t], 'g', 8);
        rows << r;
    }
    return rows;
}

}  // namespace statescope::widgets
