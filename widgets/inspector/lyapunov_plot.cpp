#include "widgets/inspector/lyapunov_plot.h"

#include <qcustomplot.h>
#include <QLabel>

namespace statescope::widgets {

LyapunovPlot::LyapunovPlot(QWidget* parent) : PlotPanel(tr("Lyapunov"), parent) {
    QCustomPlot* p = plot();
    growth_ = new QCPAxisRect(p);
    p->plotLayout()->addElement(1, 0, growth_);
    p->xAxis->setLabel(tr("layer"));
    p->yAxis->setLabel(tr("λ = A·mean Δ"));
    QCPAxis* gy = growth_->axis(QCPAxis::atLeft);
    gy->setScaleType(QCPAxis::stLogarithmic);
    gy->setTicker(QSharedPointer<QCPAxisTickerLog>::create());
    gy->setLabel(tr("growth"));
    growth_->axis(QCPAxis::atBottom)->setLabel(tr("token t"));
    p->legend->setVisible(true);
    // the legend gets its own row under both panels, in two columns, covering no data
    p->axisRect()->insetLayout()->take(p->legend);
    p->axisRect()->insetLayout()->simplify();
    p->plotLayout()->addElement(2, 0, p->legend);
    p->legend->setFillOrder(QCPLegend::foColumnsFirst);
    p->legend->setWrap(2);
    p->plotLayout()->setRowStretchFactor(2, 0.001);
    QFont f = p->legend->font();
    f.setPointSizeF(f.pointSizeF() * 0.85);
    p->legend->setFont(f);
}

void LyapunovPlot::rebuild() {
    const Inspection& in = *data_.core;
    if (in.layers.empty()) {
        showMessage(tr("This model has no Mamba layer."));
        return;
    }
    QCustomPlot* p = plot();
    p->clearGraphs();
    QVector<double> lx, ly, zx, zy;
    for (const auto& l : in.layers) {
        for (double v : l.lyapunov.exponents) {
            lx << double(l.index);
            ly << v;
        }
        zx << double(l.index);
        zy << l.lyapunov.max;
    }
    QCPGraph* dots = p->addGraph();
    dots->setData(lx, ly);
    dots->setLineStyle(QCPGraph::lsNone);
    dots->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QColor(31, 119, 180, 120), 4));
    dots->setName(tr("λ of each head/channel"));
    QCPGraph* zeta = p->addGraph();
    zeta->setData(zx, zy);
    zeta->setPen(QPen(QColor(214, 39, 40), 2));
    zeta->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, 7));
    zeta->setName(tr("ζ = max λ of the layer"));
    p->xAxis->setTicker(QSharedPointer<QCPAxisTickerFixed>::create());
    p->xAxis->ticker().dynamicCast<QCPAxisTickerFixed>()->setTickStep(1.0);
    p->rescaleAxes();
    p->xAxis->setRange(p->xAxis->range().lower - 0.5, p->xAxis->range().upper + 0.5);
    p->yAxis->scaleRange(1.1);

    const int layer = currentLayer();
    const PerturbationLayer* pl = nullptr;
    for (const auto& x : in.perturbation)
        if (x.index == layer) pl = &x;
    QString growth;
    if (pl && !pl->positions.empty()) {
        QVector<double> t, m, b;
        for (std::size_t i = 0; i < pl->positions.size(); ++i) {
            t << double(pl->positions[i]);
            m << std::max(pl->measured[i], 1e-300);
            b << std::max(pl->bound[i], 1e-300);
        }
        auto* gm = p->addGraph(growth_->axis(QCPAxis::atBottom), growth_->axis(QCPAxis::atLeft));
        gm->setData(t, m);
        gm->setPen(QPen(QColor(44, 160, 44), 2));
        gm->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 5));
        gm->setName(tr("measured growth, layer %1").arg(layer));
        auto* gb = p->addGraph(growth_->axis(QCPAxis::atBottom), growth_->axis(QCPAxis::atLeft));
        gb->setData(t, b);
        gb->setPen(QPen(QColor(0, 0, 0), 1.5, Qt::DashLine));
        gb->setName(tr("bound exp((t−t1)·ζ)"));
        gm->rescaleAxes();
        gb->rescaleAxes(true);
        growth_->axis(QCPAxis::atLeft)->scaleRange(1.3);
        growth = tr("bottom: state of layer %1 perturbed by ε = %2·rms after token %3, its growth "
                    "measured every %4 tokens against the bound")
                     .arg(layer)
                     .arg(in.perturbation_options.epsilon)
                     .arg(in.perturbation_options.t0)
                     .arg(in.perturbation_options.stride);
    } else {
        growth = tr("bottom: no perturbation run for layer %1 (the text is too short or the layer "
                    "was not among the sampled ones)")
                     .arg(layer);
    }
    double zmax = -1e300;
    std::int64_t zl = 0;
    for (const auto& l : in.layers)
        if (l.lyapunov.max > zmax) {
            zmax = l.lyapunov.max;
            zl = l.index;
        }
    caption()->setText(tr("Finite-time Lyapunov exponents over %1 tokens, every Mamba layer (top; "
                          "model ζ = %2 at layer %3, half-life %4 tokens); %5")
                           .arg(in.tokens)
                           .arg(zmax, 0, 'g', 3)
                           .arg(zl)
                           .arg(std::log(2.0) / std::max(1e-300, std::fabs(zmax)), 0, 'g', 3)
                           .arg(growth));
    replot();
}

CsvRows LyapunovPlot::csvRows() const {
    CsvRows rows;
    rows << QStringList{"layer", "unit", "mean_delta", "lambda"};
    if (!data_.core) return rows;
    for (const auto& l : data_.core->layers)
        for (std::size_t u = 0; u < l.lyapunov.exponents.size(); ++u)
            rows << QStringList{QString::number(l.index), QString::number(u),
                                QString::number(l.lyapunov.mean_delta[u], 'g', 8),
                                QString::number(l.lyapunov.exponents[u], 'g', 8)};
    return rows;
}

}  // namespace statescope::widgets
