// The export actions every plot offers, in one place so the inspector's Export button and the
// compare plots' context menu list the same formats: "PNG image…", "SVG (vector)…", "PDF
// (vector)…", "CSV of the plotted data…", "Copy image and data".
#pragma once

#include <QString>
#include <functional>

#include "widgets/common/plot_export.h"

class QCustomPlot;
class QMenu;
class QWidget;

namespace statescope::widgets {

// Adds the actions to `menu`. Each Save action asks for a file (default `name`.suffix) and calls
// `save`, which returns an error (empty on success) shown in a message box over `parent`.
void add_export_actions(QMenu* menu, QWidget* parent, const QString& name,
                        std::function<QString(const QString& file)> save,
                        std::function<void()> copy);

// A right-click menu with those actions on `plot`; its CSV is `rows()` when given, else
// plot_rows(plot).
void install_export_menu(QCustomPlot* plot, const QString& name,
                         std::function<CsvRows()> rows = {});

}  // namespace statescope::widgets
