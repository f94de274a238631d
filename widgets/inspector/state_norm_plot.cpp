#include "widgets/inspector/state_norm_plot.h"

#include <qcustomplot.h>
#include <QLabel>

namespace statescope::widgets {

StateNormPlot::StateNormPlot(QWidget* parent) : PlotPanel(tr("State norms"), parent) {
    plot()->xAxis->setLabel(tr("tokens read (t)"));
    plot()->yAxis->setLabel(tr("RMS of the state"));
    plot()->legend->setVisible(true);
    setTokenAxis(plot()->xAxis);
}

QVector<int> StateNormPlot::unitChoices(int layer) const {
    QVector<int> out;
    if (const InspectionLayer* l = data_.core ? data_.core->find(layer) : nullptr)
        for (int u = 0; u < int(l->units); ++u) out << u;
    return out;
}

void StateNormPlot::rebuild() {
    const InspectionLayer* l = data_.core->find(currentLayer());
    if (!l || l->state_stats.empty()) {
        showMessage(tr("No state statistics (no Mamba layer, or the text is too short)."));
        return;
    }
    QCustomPlot* p = plot();
    p->clearGraphs();
    const int unit = std::max(0, currentUnit());
    QVector<double> x, mean, mx, one;
    for (const auto& s : l->state_stats) {
        x << double(s.position);
        double m = 0, hi = 0;
        for (float r : s.rms) {
            m += r;
            hi = std::max(hi, double(r));
        }
        mean << m / double(s.rms.size());
        mx << hi;
        one << double(s.rms[std::size_t(unit)]);
    }
    const QString name = InspectorData::unitName(l->kind);
    auto add = [&](const QVector<double>& y, const QColor& c, const QString& label) {
        QCPGraph* g = p->addGraph();
        g->setData(x, y, true);
        g->setPen(QPen(c, 2));
        g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 4));
        g->setName(label);
    };
    add(mean, QColor(31, 119, 180), tr("mean over %1s").arg(name));
    add(mx, QColor(214, 39, 40), tr("max over %1s").arg(name));
    add(one, QColor(44, 160, 44), tr("%1 %2").arg(name).arg(unit));
    p->rescaleAxes();
    p->yAxis->setRangeLower(0);
    p->yAxis->scaleRange(1.1);
    p->xAxis->setRange(-0.5, double(data_.core->tokens) + 0.5);
    caption()->setText(
        tr("Layer %1: RMS of each %2's state (%3 values) after t tokens, every %4 "
           "tokens; growth past the training length is state collapse")
            .arg(l->index)
            .arg(name)
            .arg(l->kind == MixerKind::Mamba2 ? tr("head_dim × d_state") : tr("d_state"))
            .arg(l->state_stats.size() > 1 ? l->state_stats[1].position - l->state_stats[0].position
                                           : l->state_stats[0].position));
    replot();
}

CsvRows StateNormPlot::csvRows() const {
    CsvRows rows;
    rows << QStringList{"position", "unit", "mean", "var", "rms", "cos_prev"};
    const InspectionLayer* l = data_.core ? data_.core->find(currentLayer()) : nullptr;
    if (!l) return rows;
    for (const auto& s : l->state_stats)
        for (std::size_t u = 0; u < s.rms.size(); ++u) {
            if (full(rows)) return rows;
            rows << QStringList{
                QString::number(s.position),        QString::number(u),
                QString::number(s.mean[u], 'g', 7), QString::number(s.var[u], 'g', 7),
                QString::number(s.rms[u], 'g', 7),  QString::number(s.cos_prev[u], 'g', 7)};
        }
    return rows;
}

}  // namespace statescope::widgets
