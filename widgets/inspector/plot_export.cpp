#include "widgets/inspector/plot_export.h"

#include <qcustomplot.h>
#include <QApplication>
#include <QClipboard>
#include <QFile>
#include <QFileInfo>
#include <QMimeData>
#include <QTextStream>

namespace statescope::widgets {

namespace {
QString csv_field(const QString& s) {
    if (!s.contains(',') && !s.contains('"') && !s.contains('\n') && !s.contains('\r')) return s;
    QString q = s;
    q.replace('"', "\"\"");
    return '"' + q + '"';
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

QString export_plot(QCustomPlot* plot, const CsvRows& rows, const QString& file) {
    const QString suffix = QFileInfo(file).suffix().toLower();
    if (suffix == "csv") {
        QFile f(file);
        if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate | QIODevice::Text))
            return QObject::tr("cannot write %1: %2").arg(file, f.errorString());
        f.write(csv_text(rows).toUtf8());
        return f.error() == QFile::NoError ? QString() : f.errorString();
    }
    if (!plot) return QObject::tr("this view has no picture; export it as .csv");
    const int w = std::max(plot->width(), 640), h = std::max(plot->height(), 400);
    bool ok = false;
    if (suffix == "png")
        ok = plot->savePng(file, w, h, 2.0);
    else if (suffix == "pdf")
        ok = plot->savePdf(file, w, h);
    else
        return QObject::tr(
                   "%1: choose .png, .pdf or .csv (SVG needs QtSvg, which this build lacks)")
            .arg(file);
    return ok ? QString() : QObject::tr("cannot write %1").arg(file);
}

void copy_plot(QCustomPlot* plot, const CsvRows& rows) {
    auto* mime = new QMimeData;
    if (plot) mime->setImageData(plot->toPixmap().toImage());
    mime->setText(csv_text(rows));
    QApplication::clipboard()->setMimeData(mime);
}

}  // namespace statescope::widgets
