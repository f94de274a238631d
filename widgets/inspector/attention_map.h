// The implicit attention (memory kernel) of a Mamba head or channel beside the real attention of an
// attention head of the same model (hybrids), over the same window of the last W tokens: rows =
// query token, columns = key token. Implicit: M[t, s] of the window from a zero state (lens.h),
// drawn as log10 |M| normalised by its max; real: softmax probabilities (attention_probs.h).
#pragma once

#include "widgets/inspector/plot_panel.h"

class QCPAxisRect;
class QCPColorMap;

namespace statescope::widgets {

class AttentionMap : public PlotPanel {
    Q_OBJECT
  public:
    explicit AttentionMap(QWidget* parent = nullptr);
    CsvRows csvRows() const override;
    QCPColorMap* implicitMap() const { return implicit_; }
    QCPColorMap* realMap() const { return real_; }
    QComboBox* attentionLayerCombo() const { return attn_layer_; }
    QComboBox* headCombo() const { return head_; }
    // The values drawn, [W, W] row-major (query, key); empty when not drawn.
    const std::vector<float>& implicitValues() const { return implicit_values_; }
    const std::vector<float>& realValues() const { return real_values_; }

  protected:
    QVector<int> unitChoices(int layer) const override;
    void rebuild() override;

  private:
    void fill_attention_combos();
    QCPAxisRect* real_rect_ = nullptr;
    QCPColorMap* implicit_ = nullptr;
    QCPColorMap* real_ = nullptr;
    QComboBox* attn_layer_ = nullptr;
    QComboBox* head_ = nullptr;
    std::vector<float> implicit_values_, real_values_;
};

}  // namespace statescope::widgets
