#include "widgets/inspector/logit_lens_table.h"

#include <qcustomplot.h>
#include <QLabel>
#include <QTableWidget>
#include <cmath>

namespace statescope::widgets {

LogitLensTable::LogitLensTable(QWidget* parent) : PlotPanel(tr("Logit lens"), parent) {
    QCustomPlot* p = plot();
    map_ = new QCPColorMap(p->xAxis, p->yAxis);
    map_->setGradient(QCPColorGradient::gpThermal);
    map_->setInterpolate(false);
    p->xAxis->setLabel(tr("token"));
    p->yAxis->setLabel(tr("layer"));
    setTokenAxis(p->xAxis);
    setTableMode(true);
    connect(table(), &QTableWidget::cellClicked, this, [this](int row, int) {
        if (auto* it = table()->item(row, 1)) emit tokenClicked(it->text().toInt());
    });
}

void LogitLensTable::rebuild() {
    const Inspection& in = *data_.core;
    if (in.lens.empty()) {
        showMessage(tr("No logit lens."));
        return;
    }
    const std::int64_t T = in.tokens, L = std::int64_t(in.lens.size());
    map_->data()->setSize(int(T), int(L));
    map_->data()->setRange(QCPRange(0, double(T - 1)), QCPRange(0, double(L - 1)));
    for (std::int64_t li = 0; li < L; ++li)
        for (std::int64_t t = 0; t < T; ++t) {
            const float v = in.lens[std::size_t(li)].next_prob[std::size_t(t)];
            map_->data()->setCell(int(t), int(li), std::isfinite(v) ? double(v) : std::nan(""));
        }
    map_->setDataRange(QCPRange(0, 1));
    plot()->xAxis->setRange(-0.5, double(T) - 0.5);
    plot()->yAxis->setRange(-0.5, double(L) - 0.5);
    caption()->setText(tr("Final norm + lm_head applied after each of the %1 layers: per token the "
                          "top prediction (probability), and in the heatmap the probability of the "
                          "text's next token")
                           .arg(L));
    replot();
}

void LogitLensTable::currentTokenChanged(int token) {
    PlotPanel::currentTokenChanged(token);
    if (token >= 0 && tableMode()) {
        // the table lists one row per (layer, token): go to the current token's first row
        for (int r = 0; r < table()->rowCount(); ++r)
            if (table()->item(r, 1) && table()->item(r, 1)->text().toInt() == token) {
                table()->selectRow(r);
                table()->scrollToItem(table()->item(r, 1));
                break;
            }
    }
}

CsvRows LogitLensTable::csvRows() const {
    CsvRows rows;
    rows << QStringList{"layer", "token", "input", "top1", "top1_prob", "next_prob", "next_rank"};
    if (!data_.core) return rows;
    const Inspection& in = *data_.core;
    const std::int64_t k = in.lens_k;
    for (const auto& l : in.lens)
        for (std::int64_t t = 0; t < in.tokens; ++t) {
            if (full(rows)) return rows;
            const int id = l.top_ids[std::size_t(t * k)];
            rows << QStringList{QString::number(l.index),
                                QString::number(t),
                                data_.tokenLabel(int(t)),
                                data_.vocab.value(id, QString("#%1").arg(id)).replace('\n', "⏎"),
                                QString::number(l.top_probs[std::size_t(t * k)], 'f', 4),
                                std::isfinite(l.next_prob[std::size_t(t)])
                                    ? QString::number(l.next_prob[std::size_t(t)], 'f', 4)
                                    : QString(),
                                QString::number(l.next_rank[std::size_t(t)])};
        }
    return rows;
}

}  // namespace statescope::widgets
