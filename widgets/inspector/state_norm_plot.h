// State collapse over position (Stuffed Mamba's analyze_states.py): the RMS of each head's or
// channel's state after t tokens, for the chosen layer: mean and max over its units and the
// chosen unit, with the cosine between consecutive checkpoints in the table.
#pragma once

#include "widgets/inspector/plot_panel.h"

namespace statescope::widgets {

class StateNormPlot : public PlotPanel {
    Q_OBJECT
  public:
    explicit StateNormPlot(QWidget* parent = nullptr);
    CsvRows csvRows() const override;

  protected:
    QVector<int> unitChoices(int layer) const override;
    void rebuild() override;
};

}  // namespace statescope::widgets
