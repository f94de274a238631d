#include "widgets/inspector/decay_heatmap.h"

#include <qcustomplot.h>
#include <QComboBox>
#include <QLabel>
#include <cmath>

namespace statescope::widgets {

DecayHeatmap::DecayHeatmap(QWidget* parent, const QString& name)
    : PlotPanel(name.isEmpty() ? tr("Decay heatmap") : name, parent) {
    mode_combo_ = new QComboBox(this);
    mode_combo_->setAccessibleName(tr("Quantity"));
    mode_combo_->addItem(tr("decay exp(Δ·A)"), int(Mode::Decay));
    mode_combo_->addItem(tr("Δ (after softplus)"), int(Mode::Delta));
    mode_combo_->addItem(tr("mean decay, layers × units"), int(Mode::LayerMeans));
    addControl(mode_combo_);
    connect(mode_combo_, &QComboBox::currentIndexChanged, this,
            [this](int i) { setMode(Mode(mode_combo_->itemData(i).toInt())); });

    QCustomPlot* p = plot();
    map_ = new QCPColorMap(p->xAxis, p->yAxis);
    map_->setInterpolate(false);
    map_->setTightBoundary(false);  // cells reach half a cell past the first/last centre
    scale_ = new QCPColorScale(p);
    p->plotLayout()->addElement(0, 1, scale_);
    scale_->setType(QCPAxis::atRight);
    map_->setColorScale(scale_);
    map_->setGradient(QCPColorGradient::gpThermal);
    auto* group = new QCPMarginGroup(p);
    p->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, group);
    scale_->setMarginGroup(QCP::msBottom | QCP::msTop, group);
    p->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    p->axisRect()->setRangeDrag(Qt::Horizontal);
    p->axisRect()->setRangeZoom(Qt::Horizontal);
    setTokenAxis(p->xAxis);
    rebin_timer_.setSingleShot(true);
    rebin_timer_.setInterval(30);
    connect(&rebin_timer_, &QTimer::timeout, this, [this] {
        rebin();
        plot()->replot(QCustomPlot::rpQueuedReplot);
    });
    connect(p->xAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this,
            [this](const QCPRange&) {
                if (values_) rebin_timer_.start();
            });
}

void DecayHeatmap::setMode(Mode mode) {
    mode_ = mode;
    const int i = mode_combo_->findData(int(mode));
    if (i != mode_combo_->currentIndex()) mode_combo_->setCurrentIndex(i);
    if (!data_.empty() && !pending()) {
        rebuild();
        refreshTable();
    }
}

void DecayHeatmap::rebuild() {
    layerCombo()->setEnabled(mode_ != Mode::LayerMeans);
    setTokenAxisActive(mode_ != Mode::LayerMeans);
    const InspectionLayer* l = data_.core->find(currentLayer());
    if (mode_ == Mode::LayerMeans) {
        // [units, layers] as X = units, Y = layers: every Mamba layer's mean decay per unit
        const auto& layers = data_.core->layers;
        std::int64_t U = 0;
        for (const auto& x : layers) U = std::max(U, x.units);
        own_.assign(std::size_t(U * std::int64_t(layers.size())),
                    std::numeric_limits<float>::quiet_NaN());
        for (std::size_t li = 0; li < layers.size(); ++li)
            for (std::int64_t u = 0; u < layers[li].units; ++u)
                own_[std::size_t(u) * layers.size() + li] =
                    float(layers[li].decay.decay_mean[std::size_t(u)]);
        setMatrix(own_.data(), U, std::int64_t(layers.size()),
                  tr("mean over the %1 tokens of exp(Δ·A) per unit (x) and Mamba layer (y: %2)")
                      .arg(data_.core->tokens)
                      .arg([&] {
                          QStringList s;
                          for (const auto& x : layers) s << QString::number(x.index);
                          return s.join(", ");
                      }()));
        plot()->xAxis->setLabel(tr("head / channel"));
        plot()->yAxis->setLabel(tr("Mamba layer"));
        auto yt = QSharedPointer<QCPAxisTickerText>::create();
        for (std::size_t li = 0; li < layers.size(); ++li)
            yt->addTick(double(li), QString::number(layers[li].index));
        plot()->yAxis->setTicker(yt);
        return;
    }
    if (!l) {
        showMessage(tr("This model has no Mamba layer."));
        return;
    }
    const QString unit = InspectorData::unitName(l->kind);
    const bool delta = mode_ == Mode::Delta;
    setMatrix(delta ? l->delta.data() : l->decay.decay.data(), data_.core->tokens, l->units,
              tr("Layer %1 (%2): %3 per %4 (y, %5 of them) and token (x, %6)")
                  .arg(l->index)
                  .arg(l->kind == MixerKind::Mamba2 ? "Mamba-2" : "Mamba-1")
                  .arg(delta                          ? tr("Δ after softplus")
                       : l->kind == MixerKind::Mamba2 ? tr("decay exp(Δ·A)")
                                                      : tr("decay mean_n exp(Δ·A)"))
                  .arg(unit)
                  .arg(l->units)
                  .arg(data_.core->tokens));
    plot()->xAxis->setLabel(tr("token"));
    plot()->yAxis->setLabel(unit);
    plot()->yAxis->setTicker(QSharedPointer<QCPAxisTicker>::create());
}

void DecayHeatmap::setMatrix(const float* values, std::int64_t X, std::int64_t Y,
                             const QString& what) {
    values_ = values;
    X_ = X;
    Y_ = Y;
    what_ = what;
    QCustomPlot* p = plot();
    p->xAxis->blockSignals(true);
    p->xAxis->setRange(-0.5, double(X) - 0.5);
    p->xAxis->blockSignals(false);
    p->yAxis->setRange(-0.5, double(Y) - 0.5);
    rebin();
    replot();
}

void DecayHeatmap::rebin() {
    if (!values_) return;
    QCustomPlot* p = plot();
    const QCPRange r = p->xAxis->range();
    x0_ = std::clamp<std::int64_t>(std::int64_t(std::floor(r.lower + 0.5)), 0, X_);
    x1_ = std::clamp<std::int64_t>(std::int64_t(std::ceil(r.upper + 0.5)), x0_, X_);
    if (x1_ <= x0_) x1_ = std::min(X_, x0_ + 1);
    const int w = std::max(64, p->axisRect()->width()), h = std::max(32, p->axisRect()->height());
    bins_ = minmax_bins(values_, X_, Y_, x0_, x1_, w, h);
    shown_ = pick_extremes(bins_, 0.5f * (bins_.min + bins_.max));
    QCPColorMapData* d = map_->data();
    d->setSize(int(bins_.nx), int(bins_.ny));
    const double n = double(x1_ - x0_), bw = n / double(bins_.nx),
                 bh = double(Y_) / double(bins_.ny);
    d->setRange(
        QCPRange(double(x0_) + 0.5 * bw - 0.5, double(x0_) + (double(bins_.nx) - 0.5) * bw - 0.5),
        QCPRange(0.5 * bh - 0.5, (double(bins_.ny) - 0.5) * bh - 0.5));
    for (std::int64_t j = 0; j < bins_.ny; ++j)
        for (std::int64_t i = 0; i < bins_.nx; ++i)
            d->setCell(int(i), int(j), shown_[std::size_t(j * bins_.nx + i)]);
    map_->setDataRange(QCPRange(bins_.min, bins_.max > bins_.min ? bins_.max : bins_.min + 1e-6));
    const bool binned = bins_.nx < x1_ - x0_ || bins_.ny < Y_;
    caption()->setText(what_ + (binned ? tr(" — drawn as %1 × %2 min/max bins (extremes kept); "
                                            "zoom with the wheel for single tokens")
                                             .arg(bins_.nx)
                                             .arg(bins_.ny)
                                       : QString()));
}

void DecayHeatmap::resizeEvent(QResizeEvent* e) {
    PlotPanel::resizeEvent(e);
    if (values_) rebin_timer_.start();
}

CsvRows DecayHeatmap::csvRows() const {
    CsvRows rows;
    const bool means = mode_ == Mode::LayerMeans;
    rows << QStringList{means ? "unit_from" : "token_from",
                        means ? "unit_to" : "token_to",
                        means ? "layer_row_from" : "unit_from",
                        means ? "layer_row_to" : "unit_to",
                        "min",
                        "max",
                        "shown"};
    const double n = double(x1_ - x0_);
    for (std::int64_t j = 0; j < bins_.ny; ++j)
        for (std::int64_t i = 0; i < bins_.nx; ++i) {
            if (full(rows)) return rows;
            const std::size_t k = std::size_t(j * bins_.nx + i);
            rows << QStringList{
                QString::number(x0_ + std::int64_t(double(i) * n / double(bins_.nx))),
                QString::number(x0_ + std::int64_t(double(i + 1) * n / double(bins_.nx)) - 1),
                QString::number(j * Y_ / bins_.ny),
                QString::number((j + 1) * Y_ / bins_.ny - 1),
                QString::number(bins_.lo[k], 'g', 7),
                QString::number(bins_.hi[k], 'g', 7),
                QString::number(shown_[k], 'g', 7)};
        }
    return rows;
}

}  // namespace statescope::widgets
