// Receptive fields (LongMamba): log10 tA_prod = log10 exp(A·Σ Δ̃) per head/channel of the chosen
// layer, global (above log10 c) or local, with the threshold line; the LongMamba filter toggle
// (kept tokens are then highlighted in the text and in the Δ strip).
#pragma once

#include "widgets/inspector/plot_panel.h"

class QCheckBox;

namespace statescope::widgets {

class ReceptiveFieldView : public PlotPanel {
    Q_OBJECT
  public:
    explicit ReceptiveFieldView(QWidget* parent = nullptr);
    CsvRows csvRows() const override;
    void setLongMamba(bool on);
    QCheckBox* filterToggle() const { return filter_; }

  signals:
    void longMambaToggled(bool on);

  protected:
    void rebuild() override;

  private:
    QCheckBox* filter_ = nullptr;
};

}  // namespace statescope::widgets
