// Export of any QCustomPlot: PNG or PDF of what is drawn, CSV of the data behind it, and both to
// the clipboard; install_export_menu() puts them on the plot's context menu. (QtSvg is not a
// dependency, so there is no SVG: PDF is the vector format.)
#pragma once

#include <QString>

class QCustomPlot;

namespace statescope::widgets {

// The plotted data as CSV, one row per point:
//   series,x,y            for graphs (series = the graph's legend name)
//   series,x,y,value      appended for colour maps (x, y = the cell's key and value coordinates)
// Header first; text fields are quoted when they hold a comma, quote or newline.
QString plot_csv(QCustomPlot* plot);

// Writes `file` by its suffix: .png (at twice the on-screen size), .pdf or .csv. False with a
// reason in *error when it cannot.
bool export_plot(QCustomPlot* plot, const QString& file, QString* error = nullptr);

void copy_plot_image(QCustomPlot* plot);
void copy_plot_csv(QCustomPlot* plot);

// Right-click menu: Save as PNG / PDF / CSV…, Copy image, Copy data as CSV. `name` is the default
// file name (without suffix).
void install_export_menu(QCustomPlot* plot, const QString& name);

}  // namespace statescope::widgets
