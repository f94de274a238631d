#include "widgets/compare/probe_grid_panel.h"

#include <qcustomplot.h>
#include <QHBoxLayout>
#include <QLabel>

#include "widgets/common/export_menu.h"

namespace statescope::widgets {

ProbeGridPanel::ProbeGridPanel(QWidget* parent) : QWidget(parent) {
    row_ = new QHBoxLayout(this);
    empty_ = new QLabel(tr("No probe results yet. Pick runs that statescope-cli probe passkey, "
                           "needle or phonebook saved (--save) with “From sessions…”, or load the "
                           "JSON it wrote (--out) for each model with “Load probe results…”."),
                        this);
    empty_->setWordWrap(true);
    empty_->setAlignment(Qt::AlignCenter);
    row_->addWidget(empty_);
}

void ProbeGridPanel::setGrids(const QVector<ProbeGrid>& grids) {
    grids_ = grids;
    for (QCustomPlot* p : plots_) p->deleteLater();
    plots_.clear();
    empty_->setVisible(grids.isEmpty());
    for (const ProbeGrid& g : grids) {
        // The title names the probe too: the same model reads very differently on passkey and
        // phone book, and a saved comparison or a screenshot is read without the dialog that
        // picked the runs.
        const QString title = tr("%1 · %2").arg(g.model, g.probe);
        auto* plot = new QCustomPlot(this);
        plot->setMinimumSize(220, 180);
        plot->setAccessibleName(tr("Probe accuracy: %1").arg(title));
        plot->plotLayout()->insertRow(0);
        plot->plotLayout()->addElement(0, 0, new QCPTextElement(plot, title));
        // Cells at integer positions; tick labels name the lengths and depths.
        auto* map = new QCPColorMap(plot->xAxis, plot->yAxis);
        map->setName(g.model);
        const int nl = int(g.lengths.size()), nd = int(g.depths.size());
        map->data()->setSize(nl, nd);
        map->data()->setRange(QCPRange(0, std::max(0, nl - 1)), QCPRange(0, std::max(0, nd - 1)));
        for (int d = 0; d < nd; ++d)
            for (int l = 0; l < nl; ++l) map->data()->setCell(l, d, g.accuracy[l][d]);
        // Red (0) -> yellow -> green (1): no end of the scale is white, so a perfect cell never
        // looks like an empty one.
        QCPColorGradient gradient;
        gradient.setColorStopAt(0.0, QColor(178, 24, 43));
        gradient.setColorStopAt(0.5, QColor(254, 224, 139));
        gradient.setColorStopAt(1.0, QColor(26, 152, 80));
        gradient.setNanHandling(QCPColorGradient::nhTransparent);  // no sample ran there
        map->setGradient(gradient);
        map->setDataRange(QCPRange(0, 1));
        map->setInterpolate(false);
        QSharedPointer<QCPAxisTickerText> xt(new QCPAxisTickerText), yt(new QCPAxisTickerText);
        for (int l = 0; l < nl; ++l) xt->addTick(l, QString::number(g.lengths[l]));
        for (int d = 0; d < nd; ++d) yt->addTick(d, QStringLiteral("%1%").arg(g.depths[d] * 100));
        plot->xAxis->setTicker(xt);
        plot->yAxis->setTicker(yt);
        plot->xAxis->setLabel(tr("context length (tokens)"));
        plot->yAxis->setLabel(tr("needle depth"));
        plot->xAxis->setRange(-0.5, nl - 0.5);
        plot->yAxis->setRange(-0.5, nd - 0.5);
        auto* scale = new QCPColorScale(plot);
        plot->plotLayout()->addElement(1, 1, scale);
        scale->setGradient(gradient);
        scale->setDataRange(QCPRange(0, 1));
        scale->axis()->setLabel(tr("accuracy"));
        map->setColorScale(scale);
        install_export_menu(plot, QStringLiteral("probe-%1-%2").arg(g.model, g.probe),
                            [g] { return probe_grid_rows(g); });
        plot->replot();
        row_->addWidget(plot, 1);
        plots_ << plot;
    }
}

}  // namespace statescope::widgets
