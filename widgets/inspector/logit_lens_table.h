// Logit lens: what the final norm and lm_head read from the residual stream leaving each layer,
// per token: the top prediction and its probability, and the probability of the text's actual next
// token. Shown as a table (layers × tokens, the default) or a heatmap of the next token's
// probability; the current token's column is selected.
#pragma once

#include "widgets/inspector/plot_panel.h"

class QCPColorMap;

namespace statescope::widgets {

class LogitLensTable : public PlotPanel {
    Q_OBJECT
  public:
    explicit LogitLensTable(QWidget* parent = nullptr);
    CsvRows csvRows() const override;
    QCPColorMap* colorMap() const { return map_; }

  protected:
    QVector<int> layerChoices() const override { return {}; }
    void rebuild() override;
    void currentTokenChanged(int token) override;

  private:
    QCPColorMap* map_ = nullptr;
};

}  // namespace statescope::widgets
