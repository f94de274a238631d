#include "widgets/inspector/receptive_field_view.h"

#include <qcustomplot.h>
#include <QCheckBox>
#include <QLabel>
#include <cmath>

namespace statescope::widgets {

ReceptiveFieldView::ReceptiveFieldView(QWidget* parent)
    : PlotPanel(tr("Receptive fields"), parent) {
    filter_ = new QCheckBox(tr("LongMamba filter"), this);
    filter_->setObjectName("longMambaToggle");
    filter_->setToolTip(tr("Highlight the tokens LongMamba keeps in the text"));
    addControl(filter_);
    connect(filter_, &QCheckBox::toggled, this, &ReceptiveFieldView::longMambaToggled);
    map_toggle_ = new QCheckBox(tr("all layers (map)"), this);
    map_toggle_->setObjectName("receptiveMapToggle");
    addControl(map_toggle_);
    connect(map_toggle_, &QCheckBox::toggled, this, [this](bool on) { setMapMode(on); });
    plot()->xAxis->setLabel(tr("head / channel"));
    plot()->yAxis->setLabel(tr("log10 tA_prod"));
    plot()->legend->setVisible(true);
}

void ReceptiveFieldView::setLongMamba(bool on) {
    filter_->setChecked(on);
}

void ReceptiveFieldView::setMapMode(bool on) {
    map_mode_ = on;
    if (map_toggle_->isChecked() != on) map_toggle_->setChecked(on);
    if (!data_.empty() && !pending()) {
        rebuild();
        refreshTable();
    }
}

// Every Mamba layer's units at once: log10 tA_prod as colour, the layer's global units (above
// log10 c) marked with a dot.
void ReceptiveFieldView::rebuild_map() {
    const Inspection& in = *data_.core;
    QCustomPlot* p = plot();
    p->clearPlottables();
    p->clearItems();
    std::int64_t U = 0;
    for (const auto& l : in.layers) U = std::max(U, l.units);
    const auto L = static_cast<int>(in.layers.size());
    auto* map = new QCPColorMap(p->xAxis, p->yAxis);
    map->setInterpolate(false);
    QCPColorGradient g(QCPColorGradient::gpThermal);
    g.setNanHandling(QCPColorGradient::nhTransparent);
    map->setGradient(g);
    map->data()->setSize(int(U), L);
    map->data()->setRange(QCPRange(0, double(U - 1)), QCPRange(0, double(L - 1)));
    QVector<double> gx, gy;
    for (int li = 0; li < L; ++li) {
        const auto& l = in.layers[std::size_t(li)];
        for (std::int64_t u = 0; u < U; ++u) {
            const double v =
                u < l.units ? l.log_tA_prod[std::size_t(u)] / std::log(10.0) : std::nan("");
            map->data()->setCell(int(u), li, v);
            if (u < l.units && l.global[std::size_t(u)]) {
                gx << double(u);
                gy << double(li);
            }
        }
    }
    map->rescaleDataRange(true);
    auto* dots = p->addGraph();
    dots->setData(gx, gy);
    dots->setLineStyle(QCPGraph::lsNone);
    dots->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, QColor(0, 160, 255), 4));
    dots->setName(tr("global (%1)").arg(gx.size()));
    map->setName(tr("log10 tA_prod (colour)"));
    auto yt = QSharedPointer<QCPAxisTickerText>::create();
    for (int li = 0; li < L; ++li)
        yt->addTick(li, QString::number(in.layers[std::size_t(li)].index));
    p->yAxis->setTicker(yt);
    p->yAxis->setLabel(tr("Mamba layer"));
    p->xAxis->setRange(-0.5, double(U) - 0.5);
    p->yAxis->setRange(-0.5, double(L) - 0.5);
    const double c = in.longmamba_c > 0 ? in.longmamba_c : 5e-2;
    caption()->setText(tr("Every Mamba layer: log10 tA_prod per head/channel (colour, from %1 to "
                          "%2); a dot marks a global unit (tA_prod > c = %3): %4 of %5")
                           .arg(map->dataRange().lower, 0, 'g', 3)
                           .arg(map->dataRange().upper, 0, 'g', 3)
                           .arg(c)
                           .arg(gx.size())
                           .arg([&] {
                               std::int64_t n = 0;
                               for (const auto& l : in.layers) n += l.units;
                               return n;
                           }()));
    replot();
}

void ReceptiveFieldView::rebuild() {
    layerCombo()->setEnabled(!map_mode_);
    if (map_mode_) {
        rebuild_map();
        return;
    }
    plot()->yAxis->setTicker(QSharedPointer<QCPAxisTicker>::create());
    plot()->yAxis->setLabel(tr("log10 tA_prod"));
    const Inspection& in = *data_.core;
    const InspectionLayer* l = in.find(currentLayer());
    if (!l) {
        showMessage(tr("This model has no Mamba layer."));
        return;
    }
    QCustomPlot* p = plot();
    p->clearPlottables();
    p->clearItems();
    QVector<double> gx, gy, lx, ly;
    int n_global = 0;
    for (std::int64_t u = 0; u < l->units; ++u) {
        const double v = l->log_tA_prod[std::size_t(u)] / std::log(10.0);
        if (l->global[std::size_t(u)]) {
            gx << double(u);
            gy << v;
            ++n_global;
        } else {
            lx << double(u);
            ly << v;
        }
    }
    auto bars = [&](const QVector<double>& x, const QVector<double>& y, const QColor& c,
                    const QString& name) {
        auto* b = new QCPBars(p->xAxis, p->yAxis);
        b->setData(x, y, true);
        b->setBrush(c);
        b->setPen(Qt::NoPen);
        b->setWidth(0.8);
        b->setName(name);
    };
    bars(gx, gy, QColor(214, 39, 40), tr("global (%1)").arg(gx.size()));
    bars(lx, ly, QColor(31, 119, 180), tr("local (%1)").arg(lx.size()));
    const double c = in.longmamba_c > 0 ? in.longmamba_c : 5e-2;
    auto* line = new QCPItemStraightLine(p);
    line->point1->setCoords(0, std::log10(c));
    line->point2->setCoords(1, std::log10(c));
    line->setPen(QPen(Qt::black, 1.5, Qt::DashLine));
    p->rescaleAxes();
    p->xAxis->setRange(-0.5, double(l->units) - 0.5);
    p->yAxis->setRangeUpper(std::max(0.0, p->yAxis->range().upper));
    p->yAxis->setRangeLower(std::min(p->yAxis->range().lower, std::log10(c) - 0.5));
    const QString src =
        in.longmamba_window > 0
            ? tr("tA_prod over a %1-token calibration window of this text (max of 4 windows)")
                  .arg(in.longmamba_window)
            : tr("tA_prod over the whole text");
    caption()->setText(tr("Layer %1: %2 of its %3 %4s are global (tA_prod > c = %5, dashed); %6; "
                          "Δ clamped at the top %7%")
                           .arg(l->index)
                           .arg(n_global)
                           .arg(l->units)
                           .arg(InspectorData::unitName(l->kind))
                           .arg(c)
                           .arg(src)
                           .arg(10));
    replot();
}

CsvRows ReceptiveFieldView::csvRows() const {
    CsvRows rows;
    if (map_mode_ && data_.core) {
        rows << QStringList{"layer", "unit", "log10_tA_prod", "class"};
        for (const auto& l : data_.core->layers)
            for (std::int64_t u = 0; u < l.units; ++u)
                rows << QStringList{
                    QString::number(l.index), QString::number(u),
                    QString::number(l.log_tA_prod[std::size_t(u)] / std::log(10.0), 'g', 7),
                    l.global[std::size_t(u)] ? "global" : "local"};
        return rows;
    }
    rows << QStringList{"unit", "log10_tA_prod", "class", "kept_fraction"};
    const InspectionLayer* l = data_.core ? data_.core->find(currentLayer()) : nullptr;
    if (!l) return rows;
    const std::int64_t T = data_.core->tokens;
    for (std::int64_t u = 0; u < l->units; ++u) {
        QString kept;
        if (!l->kept.empty()) {
            std::int64_t k = 0;
            for (std::int64_t t = 0; t < T; ++t) k += l->kept[std::size_t(t * l->units + u)];
            kept = QString::number(double(k) / double(T), 'g', 4);
        }
        rows << QStringList{
            QString::number(u),
            QString::number(l->log_tA_prod[std::size_t(u)] / std::log(10.0), 'g', 7),
            l->global[std::size_t(u)] ? "global" : "local", kept};
    }
    return rows;
}

}  // namespace statescope::widgets
