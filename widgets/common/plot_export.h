// Export of any plot in the studio (the inspector views, the compare plots, the probe grids): the
// picture as PNG, SVG or PDF, the plotted data as CSV, and both at once to the clipboard. The
// caller says what the data is (CsvRows); plot_rows() reads it off the plot for plots that are just
// their graphs and colour maps.
#pragma once

#include <QList>
#include <QString>
#include <QStringList>

class QCustomPlot;

namespace statescope::widgets {

using CsvRows = QList<QStringList>;  // header row first

// One line per row; a field is quoted when it holds a comma, quote or line break (RFC 4180).
QString csv_text(const CsvRows& rows);

// What the plot draws, one row per point:
//   series,x,y            for graphs (series = the graph's legend name)
//   series,x,y,value      with colour maps (x, y = the cell's key and value coordinates; a graph's
//                         row then leaves value empty)
CsvRows plot_rows(QCustomPlot* plot);

// The suffixes export_plot() writes, pictures first: png, svg, pdf, csv.
QStringList export_suffixes();

// Writes `file` by its suffix: .png (twice the plot's size in pixels), .svg and .pdf (vector, at
// the plot's size), .csv (`rows`). A plot never laid out on screen (a dock behind another tab) is
// drawn at 640 x 400 at least. `plot` may be null for a view without a picture (CSV only). Returns
// an empty string on success, else what went wrong, naming the file.
QString export_plot(QCustomPlot* plot, const CsvRows& rows, const QString& file);

// The picture (when there is a plot) and the CSV text, as one clipboard entry.
void copy_plot(QCustomPlot* plot, const CsvRows& rows);

}  // namespace statescope::widgets
