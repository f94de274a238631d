// Retention curves and the half-life histogram of one Mamba layer. Curves: log10 of the weight a
// state entry written at token 0 still has at token t, log10 R(t <- 0) = sum_{r=1..t} log10
// decay[r] (Mamba-2: A·Σ Δ / ln 10 exactly; Mamba-1: LongMamba's mean over d_state per step), for
// the units with the longest, median and shortest half-life and the chosen one. Histogram: the
// layer's half-lives ln 2 / |λ| (tokens) in log-spaced bins.
#pragma once

#include "widgets/inspector/plot_panel.h"

class QCPAxisRect;
class QCPBars;

namespace statescope::widgets {

class RetentionPlot : public PlotPanel {
    Q_OBJECT
  public:
    explicit RetentionPlot(QWidget* parent = nullptr);
    CsvRows csvRows() const override;
    // The units drawn (in graph order) and the histogram (bin lower edges, counts).
    const QVector<int>& curveUnits() const { return units_; }
    const QVector<double>& histEdges() const { return edges_; }
    const QVector<double>& histCounts() const { return counts_; }

  protected:
    QVector<int> layerChoices() const override { return matrixLayers(); }
    QVector<int> unitChoices(int layer) const override;
    void rebuild() override;

  private:
    QCPAxisRect* hist_rect_ = nullptr;
    QCPBars* bars_ = nullptr;
    QVector<int> units_;
    QVector<QVector<double>> curves_;
    QVector<double> edges_, counts_;
};

}  // namespace statescope::widgets
