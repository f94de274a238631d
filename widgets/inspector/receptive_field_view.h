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
    // false: bars for the chosen layer; true: a map of every Mamba layer (rows) x unit (columns)
    void setMapMode(bool on);
    bool mapMode() const { return map_mode_; }

  signals:
    void longMambaToggled(bool on);

  protected:
    void rebuild() override;

  private:
    void rebuild_map();
    QCheckBox* filter_ = nullptr;
    QCheckBox* map_toggle_ = nullptr;
    bool map_mode_ = false;
};

}  // namespace statescope::widgets
