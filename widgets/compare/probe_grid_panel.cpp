#include "widgets/compare/probe_grid_panel.h"

#include <qcustomplot.h>
#include <QFile>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>

#include "widgets/compare/plot_export.h"

namespace statescope::widgets {

std::optional<ProbeGrid> load_probe_grid(const QString& file, QString* error) {
    auto fail = [&](const QString& why) -> std::optional<ProbeGrid> {
        if (error) *error = QObject::tr("%1: %2").arg(file, why);
        return std::nullopt;
    };
    QFile f(file);
    if (!f.open(QIODevice::ReadOnly)) return fail(QObject::tr("cannot open it"));
    QJsonParseError pe;
    const QJsonDocument doc = QJsonDocument::fromJson(f.readAll(), &pe);
    if (doc.isNull()) return fail(pe.errorString());
    const QJsonObject root = doc.object();
    const QJsonObject s = root.value("summary").toObject();
    if (s.isEmpty()) return fail(QObject::tr("no \"summary\" object"));
    ProbeGrid g;
    g.model = root.value("model").toString(QFileInfo(file).completeBaseName());
    for (const auto& v : s.value("lengths").toArray()) g.lengths << qint64(v.toDouble());
    for (const auto& v : s.value("depths").toArray()) g.depths << v.toDouble();
    for (const auto& row : s.value("accuracy").toArray()) {
        QVector<double> r;
        for (const auto& v : row.toArray()) r << v.toDouble();
        if (r.size() != g.lengths.size())
            return fail(QObject::tr("summary.accuracy row %1 has %2 values for %3 lengths")
                            .arg(g.accuracy.size())
                            .arg(r.size())
                            .arg(g.lengths.size()));
        g.accuracy << r;
    }
    if (g.lengths.isEmpty() || g.depths.isEmpty())
        return fail(QObject::tr("summary.lengths and summary.depths must not be empty"));
    if (g.accuracy.size() != g.depths.size())
        return fail(QObject::tr("summary.accuracy has %1 rows for %2 depths")
                        .arg(g.accuracy.size())
                        .arg(g.depths.size()));
    return g;
}

ProbeGridPanel::ProbeGridPanel(QWidget* parent) : QWidget(parent) {
    row_ = new QHBoxLayout(this);
    empty_ = new QLabel(tr("No probe results yet. Load a probe results file (JSON with a "
                           "\"summary\" grid) for each model with “Load probe results…”."),
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
        auto* plot = new QCustomPlot(this);
        plot->setMinimumSize(220, 180);
        plot->setAccessibleName(tr("Probe accuracy: %1").arg(g.model));
        plot->plotLayout()->insertRow(0);
        plot->plotLayout()->addElement(0, 0, new QCPTextElement(plot, g.model));
        // Cells at integer positions; tick labels name the lengths and depths.
        auto* map = new QCPColorMap(plot->xAxis, plot->yAxis);
        map->setName(g.model);
        const int nl = int(g.lengths.size()), nd = int(g.depths.size());
        map->data()->setSize(nl, nd);
        map->data()->setRange(QCPRange(0, std::max(0, nl - 1)), QCPRange(0, std::max(0, nd - 1)));
        for (int d = 0; d < nd; ++d)
            for (int l = 0; l < nl; ++l) map->data()->setCell(l, d, g.accuracy[d][l]);
        // Red (0) -> yellow -> green (1): no end of the scale is white, so a perfect cell never
        // looks like an empty one.
        QCPColorGradient gradient;
        gradient.setColorStopAt(0.0, QColor(178, 24, 43));
        gradient.setColorStopAt(0.5, QColor(254, 224, 139));
        gradient.setColorStopAt(1.0, QColor(26, 152, 80));
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
        install_export_menu(plot, QStringLiteral("probe-%1").arg(g.model));
        plot->replot();
        row_->addWidget(plot, 1);
        plots_ << plot;
    }
}

}  // namespace statescope::widgets
