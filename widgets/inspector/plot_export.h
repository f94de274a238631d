// Export of any inspector plot: the picture as PNG or PDF (this Qt has no QtSvg module, so vector
// output is PDF), the plotted data as CSV, and both to the clipboard (image + CSV text).
#pragma once

#include <QList>
#include <QString>
#include <QStringList>

class QCustomPlot;

namespace statescope::widgets {

using CsvRows = QList<QStringList>;  // header row first

QString csv_text(const CsvRows& rows);
// By suffix: .png, .pdf (also .svg: written as PDF next to it is not done; .svg is refused with a
// message), .csv. Returns an empty string on success, else what went wrong.
QString export_plot(QCustomPlot* plot, const CsvRows& rows, const QString& file);
void copy_plot(QCustomPlot* plot, const CsvRows& rows);

}  // namespace statescope::widgets
