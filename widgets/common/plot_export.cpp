#include "widgets/common/plot_export.h"

#include <qcustomplot.h>
#include <QApplication>
#include <QClipboard>
#include <QFile>
#include <QFileInfo>
#include <QMimeData>
#include <QSaveFile>
#include <QSvgGenerator>
#include <algorithm>

namespace statescope::widgets {

namespace {

QString csv_field(const QString& s) {
    if (!s.contains(',') && !s.contains('"') && !s.contains('\n') && !s.contains('\r')) return s;
    QString q = s;
    q.replace('"', "\"\"");
    return '"' + q + '"';
}

// Ten significant digits: enough to read a plotted value back, short enough to read.
QString num(double v) {
    return QString::number(v, 'g', 10);
}

// QCustomPlot's own savePdf/savePng draw through a QCPPainter at a given size; SVG needs the same
// done by hand with QSvgGenerator as the device.
bool save_svg(QCustomPlot* plot, const QString& file, int w, int h) {
    QSvgGenerator svg;
    svg.setFileName(file);
    svg.setSize(QSize(w, h));
    svg.setViewBox(QRect(0, 0, w, h));
    svg.setTitle(plot->accessibleName());
    svg.setDescription(QStringLiteral("Statescope"));
    QCPPainter painter;
    if (!painter.begin(&svg)) return false;
    plot->toPainter(&painter, w, h);
    return painter.end();
}

}  // namespace

QString csv_text(const CsvRows& rows) {
    QString out;
    for (const QStringList& r : rows) {
        QStringList f;
        for (const QString& s : r) f << csv_field(s);
        out += f.join(',') + '\n';
    }
    return out;
}

CsvRows plot_rows(QCustomPlot* plot) {
    bool maps = false;
    for (int i = 0; i < plot->plottableCount(); ++i)
        if (qobject_cast<QCPColorMap*>(plot->plottable(i))) maps = true;
    CsvRows rows;
    rows << (maps ? QStringList{"series", "x", "y", "value"} : QStringList{"series", "x", "y"});
    for (int i = 0; i < plot->plottableCount(); ++i) {
        QCPAbstractPlottable* p = plot->plottable(i);
        if (auto* g = qobject_cast<QCPGraph*>(p)) {
            for (auto it = g->data()->constBegin(); it != g->data()->constEnd(); ++it) {
                QStringList r{g->name(), num(it->key), num(it->value)};
                if (maps) r << QString();
                rows << r;
            }
        } else if (auto* m = qobject_cast<QCPColorMap*>(p)) {
            QCPColorMapData* d = m->data();
            for (int y = 0; y < d->valueSize(); ++y)
                for (int x = 0; x < d->keySize(); ++x) {
                    double kx = 0, vy = 0;
                    d->cellToCoord(x, y, &kx, &vy);
                    rows << QStringList{m->name(), num(kx), num(vy), num(d->cell(x, y))};
                }
        }
    }
    return rows;
}

QStringList export_suffixes() {
    return {"png", "svg", "pdf", "csv"};
}

QString export_plot(QCustomPlot* plot, const CsvRows& rows, const QString& file) {
    const QString suffix = QFileInfo(file).suffix().toLower();
    if (suffix == "csv") {
        // Written next to the file and renamed over it: a failed export leaves no half a table.
        QSaveFile f(file);
        if (!f.open(QIODevice::WriteOnly | QIODevice::Text))
            return QObject::tr("cannot write %1: %2").arg(file, f.errorString());
        f.write(csv_text(rows).toUtf8());
        if (!f.commit()) return QObject::tr("cannot write %1: %2").arg(file, f.errorString());
        return {};
    }
    if (!export_suffixes().contains(suffix))
        return QObject::tr("%1: choose .png, .svg, .pdf or .csv").arg(file);
    if (!plot) return QObject::tr("%1: this view has no picture; export it as .csv").arg(file);
    const int w = std::max(plot->width(), 640), h = std::max(plot->height(), 400);
    bool ok = false;
    if (suffix == "png")
        ok = plot->savePng(file, w, h, 2.0);
    else if (suffix == "svg")
        ok = save_svg(plot, file, w, h);
    else
        ok = plot->savePdf(file, w, h);
    return ok ? QString() : QObject::tr("cannot write %1").arg(file);
}

void copy_plot(QCustomPlot* plot, const CsvRows& rows) {
    auto* mime = new QMimeData;
    if (plot) mime->setImageData(plot->toPixmap().toImage());
    mime->setText(csv_text(rows));
    QApplication::clipboard()->setMimeData(mime);
}

}  // namespace statescope::widgets
