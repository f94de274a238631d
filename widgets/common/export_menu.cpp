#include "widgets/common/export_menu.h"

#include <qcustomplot.h>
#include <QFileDialog>
#include <QMenu>
#include <QMessageBox>

namespace statescope::widgets {

namespace {

QString action_text(const QString& suffix) {
    if (suffix == "png") return QObject::tr("PNG image…");
    if (suffix == "svg") return QObject::tr("SVG (vector)…");
    if (suffix == "pdf") return QObject::tr("PDF (vector)…");
    return QObject::tr("CSV of the plotted data…");
}

}  // namespace

void add_export_actions(QMenu* menu, QWidget* parent, const QString& name,
                        std::function<QString(const QString& file)> save,
                        std::function<void()> copy) {
    for (const QString& suffix : export_suffixes()) {
        menu->addAction(action_text(suffix), parent, [parent, name, save, suffix] {
            const QString file = QFileDialog::getSaveFileName(
                parent, QObject::tr("Export %1").arg(name), name + '.' + suffix,
                QStringLiteral("%1 (*.%2)").arg(suffix.toUpper(), suffix));
            if (file.isEmpty()) return;
            const QString error = save(file);
            if (!error.isEmpty()) QMessageBox::warning(parent, QObject::tr("Export"), error);
        });
    }
    menu->addSeparator();
    menu->addAction(QObject::tr("Copy image and data"), parent, std::move(copy));
}

void install_export_menu(QCustomPlot* plot, const QString& name, std::function<CsvRows()> rows) {
    if (!rows) rows = [plot] { return plot_rows(plot); };
    plot->setContextMenuPolicy(Qt::CustomContextMenu);
    QObject::connect(
        plot, &QWidget::customContextMenuRequested, plot, [plot, name, rows](QPoint at) {
            QMenu menu(plot);
            add_export_actions(
                &menu, plot, name,
                [plot, rows](const QString& f) { return export_plot(plot, rows(), f); },
                [plot, rows] { copy_plot(plot, rows()); });
            menu.exec(plot->mapToGlobal(at));
        });
}

}  // namespace statescope::widgets
