// Probe results (passkey / needle / phonebook retrieval accuracy by context length and needle
// depth, widgets/compare/probe_grid.h) as one heatmap per model, titled "model · probe", side by
// side on the same colour scale (0..1); a cell where no sample ran is left blank. Whoever hands it
// the grids keeps them to one probe (mixed_probes_error). Each plot exports its grid as CSV
// (probe_grid_rows) and its picture from the context menu.
#pragma once

#include <QVector>
#include <QWidget>

#include "widgets/compare/probe_grid.h"

class QCustomPlot;
class QHBoxLayout;
class QLabel;

namespace statescope::widgets {

class ProbeGridPanel : public QWidget {
    Q_OBJECT
  public:
    explicit ProbeGridPanel(QWidget* parent = nullptr);
    void setGrids(const QVector<ProbeGrid>& grids);
    const QVector<ProbeGrid>& grids() const { return grids_; }
    QVector<QCustomPlot*> plots() const { return plots_; }

  private:
    QVector<ProbeGrid> grids_;
    QVector<QCustomPlot*> plots_;
    QHBoxLayout* row_ = nullptr;
    QLabel* empty_ = nullptr;
};

}  // namespace statescope::widgets
