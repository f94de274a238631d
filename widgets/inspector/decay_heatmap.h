// Decay exp(Δ·A) (or Δ itself) of one layer as a heads/channels × tokens heatmap (QCPColorMap), or
// the mean decay of every layer as layers × units. Long inputs are drawn in min/max bins of about
// one pixel (minmax_bins.h), recomputed for the visible token range when the view pans or zooms,
// so the extremes survive at any zoom and 8k × 1.5k stays interactive.
#pragma once

#include <QTimer>

#include "widgets/inspector/minmax_bins.h"
#include "widgets/inspector/plot_panel.h"

class QCPColorMap;
class QCPColorScale;

namespace statescope::widgets {

class DecayHeatmap : public PlotPanel {
    Q_OBJECT
  public:
    enum class Mode { Decay, Delta, LayerMeans };
    explicit DecayHeatmap(QWidget* parent = nullptr, const QString& name = {});
    QComboBox* modeCombo() const { return mode_combo_; }
    void setMode(Mode mode);
    Mode mode() const { return mode_; }
    // Draws an arbitrary [X tokens, Y units] matrix (the bench and the views use this); `values`
    // must stay alive while shown.
    void setMatrix(const float* values, std::int64_t X, std::int64_t Y, const QString& what);
    // What is drawn now: the bins and their picked values.
    const MinMaxBins& bins() const { return bins_; }
    const std::vector<float>& shown() const { return shown_; }
    QCPColorMap* colorMap() const { return map_; }
    CsvRows csvRows() const override;
    // Bins the visible range again (also run by a 30 ms timer after pans and zooms).
    void rebin();

  protected:
    QVector<int> layerChoices() const override { return matrixLayers(); }
    void rebuild() override;
    void resizeEvent(QResizeEvent* e) override;

  protected:
    std::vector<float> own_;  // a matrix this view arranged itself

  private:
    Mode mode_ = Mode::Decay;
    QComboBox* mode_combo_ = nullptr;
    QCPColorMap* map_ = nullptr;
    QCPColorScale* scale_ = nullptr;
    QTimer rebin_timer_;
    const float* values_ = nullptr;
    std::int64_t X_ = 0, Y_ = 0;
    QString what_;
    MinMaxBins bins_;
    std::vector<float> shown_;
    std::int64_t x0_ = 0, x1_ = 0;
};

}  // namespace statescope::widgets
