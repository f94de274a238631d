// Lyapunov exponents λ = A · mean Δ of every unit of every Mamba layer (top: dots per unit, the
// layer's ζ = max λ as a line), and for the chosen layer the measured growth of a state
// perturbation ||h'_t − h_t|| / ||h'_t1 − h_t1|| against the bound exp((t − t1) ζ) (bottom, log).
#pragma once

#include "widgets/inspector/plot_panel.h"

class QCPAxisRect;

namespace statescope::widgets {

class LyapunovPlot : public PlotPanel {
    Q_OBJECT
  public:
    explicit LyapunovPlot(QWidget* parent = nullptr);
    CsvRows csvRows() const override;

  protected:
    void rebuild() override;

  private:
    QCPAxisRect* growth_ = nullptr;
};

}  // namespace statescope::widgets
