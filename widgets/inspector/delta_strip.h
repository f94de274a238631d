// The Δ strip under the chat text: one row per Mamba layer (mean Δ over its heads or channels) or,
// for one chosen layer, one row per head/channel, against the tokens of the conversation (their
// text on the axis). With the LongMamba toggle on, a top row shows for each token the share of the
// layer's global units that keep it (1: kept by all; local units never drop a token).
#pragma once

#include "widgets/inspector/decay_heatmap.h"

class QCheckBox;

namespace statescope::widgets {

class DeltaStrip : public DecayHeatmap {
    Q_OBJECT
  public:
    explicit DeltaStrip(QWidget* parent = nullptr);
    void setLongMamba(bool on);
    bool longMamba() const { return longmamba_; }
    // The values behind the strip: [T, rows] (rows = layers or units, + the kept row on top when
    // on), as the table and CSV list them; the picture scales each row to its own max.
    const std::vector<float>& matrix() const { return own_; }
    QStringList rowNames() const { return rows_; }
    CsvRows csvRows() const override;  // token, text, then one column per row of the strip

  signals:
    void longMambaToggled(bool on);

  protected:
    QVector<int> layerChoices() const override;
    void rebuild() override;

  private:
    bool longmamba_ = false;
    QCheckBox* filter_ = nullptr;
    QStringList rows_;
    std::vector<float> drawn_;  // own_ with each row scaled to its max over the tokens
};

}  // namespace statescope::widgets
