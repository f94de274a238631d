#include "widgets/compare/plot_export.h"

#include <qcustomplot.h>
#include <QApplication>
#include <QClipboard>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QMenu>
#include <QMessageBox>
#include <QMimeData>
#include <QTextStream>

namespace statescope::widgets {

namespace {

QString field(const QString& s) {
    if (!s.contains(',') && !s.contains('"') && !s.contains('\n')) return s;
    QString q = s;
    q.replace('"', "\"\"");
    return '"' + q + '"';
}

QString num(double v) {
    return QString::number(v, 'g', 10);
}

}  // namespace

QString plot_csv(QCustomPlot* plot) {
    QString out;
    QTextStream s(&out);
    bool maps = false;
    for (int i = 0; i < plot->plottableCount(); ++i)
        if (qobject_cast<QCPColorMap*>(plot->plottable(i))) maps = true;
    s << (maps ? "series,x,y,value\n" : "series,x,y\n");
    for (int i = 0; i < plot->plottableCount(); ++i) {
        QCPAbstractPlottable* p = plot->plottable(i);
        if (auto* g = qobject_cast<QCPGraph*>(p)) {
            for (auto it = g->data()->constBegin(); it != g->data()->constEnd(); ++it)
                s << field(g->name()) << ',' << num(it->key) << ',' << num(it->value)
                  << (maps ? ",\n" : "\n");
        } else if (auto* m = qobject_cast<QCPColorMap*>(p)) {
            QCPColorMapData* d = m->data();
            for (int y = 0; y < d->valueSize(); ++y)
                for (int x = 0; x < d->keySize(); ++x) {
                    double kx = 0, vy = 0;
                    d->cellToCoord(x, y, &kx, &vy);
                    s << field(m->name()) << ',' << num(kx) << ',' << num(vy) << ','
                      << num(d->cell(x, y)) << '\n';
                }
        }
    }
    return out;
}

bool export_plot(QCustomPlot* plot, const QString& file, QString* error) {
    const QString suffix = QFileInfo(file).suffix().toLower();
    bool ok = false;
    if (suffix == "png") {
        ok = plot->savePng(file, 0, 0, 2.0);
    } else if (suffix == "pdf") {
        ok = plot->savePdf(file);
    } else if (suffix == "csv") {
        QFile f(file);
        if (f.open(QIODevice::WriteOnly | QIODevice::Truncate)) {
            ok = f.write(plot_csv(plot).toUtf8()) >= 0;
            ok = f.flush() && ok;
        }
    } else {
        if (error) *error = QObject::tr("%1: use .png, .pdf or .csv").arg(file);
        return false;
    }
    if (!ok && error) *error = QObject::tr("cannot write %1").arg(file);
    return ok;
}

void copy_plot_image(QCustomPlot* plot) {
    QApplication::clipboard()->setImage(plot->toPixmap().toImage());
}

void copy_plot_csv(QCustomPlot* plot) {
    QApplication::clipboard()->setText(plot_csv(plot));
}

void install_export_menu(QCustomPlot* plot, const QString& name) {
    plot->setContextMenuPolicy(Qt::CustomContextMenu);
    QObject::connect(plot, &QWidget::customContextMenuRequested, plot, [plot, name](QPoint at) {
        QMenu menu(plot);
        for (const char* fmt : {"png", "pdf", "csv"}) {
            const QString f = QString::fromLatin1(fmt);
            menu.addAction(QObject::tr("Save as %1…").arg(f.toUpper()), plot, [plot, name, f] {
                const QString file =
                    QFileDialog::getSaveFileName(plot, QObject::tr("Export plot"), name + '.' + f,
                                                 QStringLiteral("%1 (*.%2)").arg(f.toUpper(), f));
                if (file.isEmpty()) return;
                QString error;
                if (!export_plot(plot, file, &error))
                    QMessageBox::warning(plot, QObject::tr("Export plot"), error);
            });
        }
        menu.addSeparator();
        menu.addAction(QObject::tr("Copy image"), plot, [plot] { copy_plot_image(plot); });
        menu.addAction(QObject::tr("Copy data as CSV"), plot, [plot] { copy_plot_csv(plot); });
        menu.exec(plot->mapToGlobal(at));
    });
}

}  // namespace statescope::widgets
