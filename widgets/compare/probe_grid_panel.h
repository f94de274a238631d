// Probe results (passkey / needle retrieval accuracy by context length and needle depth) as one
// heatmap per model, side by side on the same colour scale (0..1).
//
// The probes' results JSON carries a `summary` grid, which load_probe_grid() reads:
//   {"model": "mamba2-130m",                  (optional; else the file name)
//    "summary": {"lengths":  [1024, 2048, 4096],          context lengths in tokens (columns)
//                "depths":   [0.0, 0.25, 0.5, 0.75, 1.0], needle depth, fraction of the context
//                "accuracy": [[1, 1, 0.5], ...]}}         accuracy[d][l]: one row per depth,
//                                                         one column per length, each in 0..1
#pragma once

#include <QString>
#include <QVector>
#include <QWidget>
#include <optional>

class QCustomPlot;
class QHBoxLayout;
class QLabel;

namespace statescope::widgets {

struct ProbeGrid {
    QString model;
    QVector<qint64> lengths;
    QVector<double> depths;
    QVector<QVector<double>> accuracy;  // [depths][lengths]
};

// Reads the file above; nullopt with the reason in *error when the grid is missing or ragged.
std::optional<ProbeGrid> load_probe_grid(const QString& file, QString* error = nullptr);

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
