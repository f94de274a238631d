#include "widgets/inspector/delta_strip.h"

#include <qcustomplot.h>
#include <QCheckBox>
#include <QComboBox>
#include <QLabel>

namespace statescope::widgets {

DeltaStrip::DeltaStrip(QWidget* parent) : DecayHeatmap(parent, tr("Delta strip")) {
    modeCombo()->hide();
    filter_ = new QCheckBox(tr("LongMamba filter: kept tokens"), this);
    filter_->setObjectName("longMambaToggle");
    filter_->setToolTip(
        tr("Highlight the tokens LongMamba's filter keeps in global heads/channels"));
    addControl(filter_);
    connect(filter_, &QCheckBox::toggled, this, [this](bool on) { setLongMamba(on); });
    plot()->xAxis->setTickLabelRotation(60);
}

void DeltaStrip::setLongMamba(bool on) {
    if (filter_->isChecked() != on) {
        filter_->setChecked(on);
        return;
    }
    if (on == longmamba_) return;
    longmamba_ = on;
    if (!data_.empty() && !pending()) {
        rebuild();
        refreshTable();
    }
    emit longMambaToggled(on);
}

QVector<int> DeltaStrip::layerChoices() const {
    QVector<int> out{-1};
    out += matrixLayers();
    return out;
}

void DeltaStrip::rebuild() {
    if (layerCombo()->count() > 0 && layerCombo()->itemText(0) != tr("all layers"))
        layerCombo()->setItemText(0, tr("all layers"));
    const Inspection& in = *data_.core;
    const std::int64_t T = in.tokens;
    if (in.layers.empty()) {
        showMessage(tr("This model has no Mamba layer: no Δ to show."));
        return;
    }
    const int layer = currentLayer();
    std::vector<const InspectionLayer*> src;
    rows_.clear();
    const InspectionLayer* one = layer >= 0 ? in.find(layer) : nullptr;
    if (one) {
        for (std::int64_t u = 0; u < one->units; ++u)
            rows_ << QStringLiteral("%1 %2").arg(InspectorData::unitName(one->kind)).arg(u);
    } else {
        for (const auto& l : in.layers) {
            src.push_back(&l);
            rows_ << tr("layer %1").arg(l.index);
        }
    }
    const InspectionLayer* kept_layer = one ? one : &in.layers.front();
    const bool kept = longmamba_ && !kept_layer->kept_share.empty();
    if (kept) rows_ << tr("kept (layer %1)").arg(kept_layer->index);
    const auto R = static_cast<std::int64_t>(rows_.size());
    own_.assign(std::size_t(T * R), 0.0f);
    for (std::int64_t t = 0; t < T; ++t) {
        float* row = own_.data() + t * R;
        if (one) {
            for (std::int64_t u = 0; u < one->units; ++u)
                row[u] = one->delta[std::size_t(t * one->units + u)];
        } else {
            for (std::size_t i = 0; i < src.size(); ++i)
                row[i] = src[i]->delta_mean[std::size_t(t)];  // mean over units (core)
        }
        if (kept) row[R - 1] = kept_layer->kept_share[std::size_t(t)];
    }
    QString what =
        one ? tr("Δ per %1 of layer %2 (rows) under each token")
                  .arg(InspectorData::unitName(one->kind))
                  .arg(one->index)
            : tr("mean Δ over the heads/channels of each Mamba layer (rows) under each token");
    if (kept)
        what += tr("; top row: share of layer %1's global units that keep the token (LongMamba, "
                   "c = %2, calibrated on %3-token windows of this text)")
                    .arg(kept_layer->index)
                    .arg(in.longmamba_c)
                    .arg(in.longmamba_window);
    else if (longmamba_)
        what += tr("; LongMamba needs a longer text (about 30 tokens) to calibrate");
    // token text on the axis, thinned to what fits
    auto ticker = QSharedPointer<QCPAxisTickerText>::create();
    const int every = std::max<int>(1, int(T) / std::max(1, plot()->axisRect()->width() / 14));
    for (int t = 0; t < int(T); t += every) ticker->addTick(t, data_.tokenLabel(t));
    plot()->xAxis->setTicker(ticker);
    auto yt = QSharedPointer<QCPAxisTickerText>::create();
    for (int r = 0; r < int(R); ++r) yt->addTick(r, rows_[r]);
    plot()->yAxis->setTicker(yt);
    plot()->xAxis->setLabel(QString());
    plot()->yAxis->setLabel(QString());
    // Each row scaled to its max, so layers with small Δ and the kept share (0..1) all show.
    drawn_ = own_;
    for (std::int64_t r = 0; r < R; ++r) {
        float mx = 0;
        for (std::int64_t t = 0; t < T; ++t) mx = std::max(mx, own_[std::size_t(t * R + r)]);
        if (mx > 0)
            for (std::int64_t t = 0; t < T; ++t) drawn_[std::size_t(t * R + r)] /= mx;
    }
    what += tr(" (each row scaled to its max; the table has the values)");
    setMatrix(drawn_.data(), T, R, what);
}

CsvRows DeltaStrip::csvRows() const {
    CsvRows rows;
    rows << (QStringList{"token", "text"} + rows_);
    const auto R = static_cast<std::int64_t>(rows_.size());
    if (R == 0 || !data_.core) return rows;
    for (std::int64_t t = 0; t < data_.core->tokens; ++t) {
        if (full(rows)) return rows;
        QStringList r{QString::number(t), data_.tokenLabel(int(t))};
        for (std::int64_t i = 0; i < R; ++i)
            r << QString::number(own_[std::size_t(t * R + i)], 'g', 7);
        rows << r;
    }
    return rows;
}

}  // namespace statescope::widgets
