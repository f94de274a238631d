#include "widgets/inspector/attention_map.h"

#include <qcustomplot.h>
#include <QComboBox>
#include <QLabel>
#include <cmath>

namespace statescope::widgets {

AttentionMap::AttentionMap(QWidget* parent) : PlotPanel(tr("Implicit attention"), parent) {
    attn_layer_ = new QComboBox(this);
    attn_layer_->setAccessibleName(tr("Attention layer"));
    head_ = new QComboBox(this);
    head_->setAccessibleName(tr("Attention head"));
    addControl(new QLabel(tr("beside"), this));
    addControl(attn_layer_);
    addControl(head_);
    QCustomPlot* p = plot();
    implicit_ = new QCPColorMap(p->xAxis, p->yAxis);
    implicit_->setGradient(QCPColorGradient::gpThermal);
    implicit_->setInterpolate(false);
    real_rect_ = new QCPAxisRect(p);
    p->plotLayout()->addElement(0, 1, real_rect_);
    real_ = new QCPColorMap(real_rect_->axis(QCPAxis::atBottom), real_rect_->axis(QCPAxis::atLeft));
    real_->setGradient(QCPColorGradient::gpThermal);
    real_->setInterpolate(false);
    // a colour scale under each map
    for (QCPColorMap* m : {implicit_, real_}) {
        auto* scale = new QCPColorScale(p);
        scale->setType(QCPAxis::atBottom);
        p->plotLayout()->addElement(1, m == implicit_ ? 0 : 1, scale);
        m->setColorScale(scale);
        scale->axis()->setLabel(m == implicit_ ? tr("log10 |M| / max") : tr("probability"));
        scale->setBarWidth(8);
    }
    // cells above the diagonal (a query cannot see later keys) are NaN and drawn transparent
    QCPColorGradient gradient(QCPColorGradient::gpThermal);
    gradient.setNanHandling(QCPColorGradient::nhTransparent);
    implicit_->setGradient(gradient);
    real_->setGradient(gradient);
    for (QCPAxisRect* r : {p->axisRect(), real_rect_}) {
        r->axis(QCPAxis::atLeft)->setRangeReversed(true);  // query 0 at the top, like a matrix
        r->axis(QCPAxis::atBottom)->setLabel(tr("key token"));
        r->axis(QCPAxis::atLeft)->setLabel(tr("query token"));
    }
    auto refill = [this] {
        if (!data_.empty()) {
            rebuild();
            refreshTable();
        }
    };
    connect(attn_layer_, &QComboBox::activated, this, [this, refill] {
        fill_attention_combos();
        refill();
    });
    connect(head_, &QComboBox::activated, this, refill);
    setTokenAxis(p->xAxis);
}

QVector<int> AttentionMap::unitChoices(int layer) const {
    QVector<int> out;
    if (data_.core)
        for (const auto& m : data_.core->implicit)
            if (m.layer == layer) out << int(m.unit);
    return out;
}

void AttentionMap::fill_attention_combos() {
    const Inspection& in = *data_.core;
    const int keep_layer =
        attn_layer_->currentData().isValid() ? attn_layer_->currentData().toInt() : -1;
    if (attn_layer_->count() != int(in.attention.size())) {
        attn_layer_->clear();
        for (const auto& a : in.attention)
            attn_layer_->addItem(tr("attention layer %1").arg(a.index), int(a.index));
        const int i = attn_layer_->findData(keep_layer);
        attn_layer_->setCurrentIndex(i >= 0 ? i : 0);
    }
    const int layer =
        attn_layer_->currentData().isValid() ? attn_layer_->currentData().toInt() : -1;
    const int keep_head = std::max(0, head_->currentIndex());
    head_->clear();
    for (const auto& a : in.attention)
        if (a.index == layer)
            for (int h = 0; h < int(a.n_heads); ++h) head_->addItem(tr("head %1").arg(h), h);
    head_->setCurrentIndex(std::min(keep_head, head_->count() - 1));
    attn_layer_->setVisible(attn_layer_->count() > 0);
    head_->setVisible(head_->count() > 0);
}

void AttentionMap::rebuild() {
    const Inspection& in = *data_.core;
    fill_attention_combos();
    const std::int64_t W = in.tokens - in.window_from, w0 = in.window_from;
    QString left, right;
    implicit_values_.clear();
    real_values_.clear();
    const ImplicitAttention* im = nullptr;
    for (const auto& m : in.implicit)
        if (m.layer == currentLayer() && m.unit == currentUnit()) im = &m;
    auto place = [&](QCPColorMap* map) {
        map->data()->setSize(int(W), int(W));
        map->data()->setRange(QCPRange(double(w0), double(w0 + W - 1)),
                              QCPRange(double(w0), double(w0 + W - 1)));
        map->keyAxis()->setRange(double(w0) - 0.5, double(w0 + W) - 0.5);
        map->valueAxis()->setRange(double(w0) - 0.5, double(w0 + W) - 0.5);
    };
    if (im) {
        // log10(|M| / max|M|), clipped at -3 (DeciMamba's picture); above the diagonal: NaN
        double mx = 0;
        for (float v : im->map) mx = std::max(mx, double(std::fabs(v)));
        implicit_values_ = im->map;
        place(implicit_);
        for (std::int64_t t = 0; t < W; ++t)
            for (std::int64_t s = 0; s < W; ++s) {
                const double v = std::fabs(im->map[std::size_t(t * W + s)]);
                implicit_->data()->setCell(
                    int(s), int(t),
                    s > t ? std::nan("")
                          : std::max(-3.0, std::log10(std::max(v / std::max(mx, 1e-300), 1e-300))));
            }
        implicit_->setDataRange(QCPRange(-3, 0));
        const InspectionLayer* l = in.find(im->layer);
        left = tr("left: implicit attention of layer %1 %2 %3, log10 |M|/max (≥ −3)")
                   .arg(im->layer)
                   .arg(l ? InspectorData::unitName(l->kind) : tr("unit"))
                   .arg(im->unit);
    } else {
        implicit_->data()->clear();
        left = tr("left: no Mamba layer");
    }
    const int al = attn_layer_->currentData().isValid() ? attn_layer_->currentData().toInt() : -1;
    const AttentionProbsLayer* a = nullptr;
    for (const auto& x : in.attention)
        if (x.index == al) a = &x;
    const int h = std::max(0, head_->currentIndex());
    if (a && h < a->n_heads) {
        place(real_);
        real_values_.assign(std::size_t(W * W), 0.0f);
        for (std::int64_t qi = 0; qi < W; ++qi)
            for (std::int64_t j = 0; j < W; ++j) {
                const float v = a->at(qi, h, w0 + j);
                real_values_[std::size_t(qi * W + j)] = v;
                real_->data()->setCell(int(j), int(qi), j > qi ? std::nan("") : double(v));
            }
        real_->rescaleDataRange(true);
        right = tr("right: softmax attention of layer %1 head %2 (probabilities; the rest of "
                   "each row's mass lies before the window)")
                    .arg(a->index)
                    .arg(h);
        real_rect_->setVisible(true);
        real_->colorScale()->setVisible(true);
    } else {
        // a pure SSM: no second picture, rather than empty axes
        real_->data()->clear();
        real_rect_->setVisible(false);
        real_->colorScale()->setVisible(false);
        right = tr("right: this model has no attention layer (load a hybrid to compare)");
    }
    caption()->setText(
        tr("Tokens %1–%2 (the last %3): %4; %5").arg(w0).arg(w0 + W - 1).arg(W).arg(left, right));
    replot();
}

CsvRows AttentionMap::csvRows() const {
    CsvRows rows;
    rows << QStringList{"query", "key", "implicit_M", "attention_prob"};
    if (!data_.core) return rows;
    const std::int64_t W = data_.core->tokens - data_.core->window_from,
                       w0 = data_.core->window_from;
    for (std::int64_t t = 0; t < W; ++t)
        for (std::int64_t s = 0; s <= t; ++s) {
            if (full(rows)) return rows;
            const std::size_t k = std::size_t(t * W + s);
            rows << QStringList{
                QString::number(w0 + t), QString::number(w0 + s),
                implicit_values_.empty() ? QString() : QString::number(implicit_values_[k], 'g', 7),
                real_values_.empty() ? QString() : QString::number(real_values_[k], 'g', 7)};
        }
    return rows;
}

}  // namespace statescope::widgets
