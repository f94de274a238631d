// The frame every inspector view shares: a caption saying what is shown (layer, head or channel),
// the selectors, a data-table alternative of the plot, export (PNG, SVG, PDF, CSV, clipboard) and
// the token link (click a token in a plot: it becomes current; hover: it lights up in the text; the
// current token is drawn as a line). Subclasses draw in rebuild() and list the plotted values in
// csvRows(); they never compute analyses, only arrange what InspectorData holds.
#pragma once

#include <QWidget>

#include "widgets/common/plot_export.h"
#include "widgets/inspector/inspector_data.h"

class QComboBox;
class QCPAxis;
class QCPItemStraightLine;
class QCustomPlot;
class QHBoxLayout;
class QLabel;
class QStackedWidget;
class QTableWidget;
class QToolButton;

namespace statescope::widgets {

class TokenLink;

class PlotPanel : public QWidget {
    Q_OBJECT
  public:
    PlotPanel(const QString& name, QWidget* parent = nullptr);

    // Stores the data; a hidden view (a dock behind another tab) draws it when it is next shown,
    // so an analysis arriving costs the UI thread only the views on screen.
    // draw_now: whether the view is on screen (a dock's tab state is not isVisible(): the
    // controller knows it from QDockWidget::visibilityChanged); default isVisible().
    void setData(const InspectorData& data, int draw_now = -1);
    bool pending() const { return pending_; }
    void applyPending();
    void setTokenLink(TokenLink* link);
    const InspectorData& data() const { return data_; }

    QCustomPlot* plot() const { return plot_; }
    QTableWidget* table() const { return table_; }
    QLabel* caption() const { return caption_; }
    QComboBox* layerCombo() const { return layer_; }
    QComboBox* unitCombo() const { return unit_; }
    void setTableMode(bool on);
    bool tableMode() const;
    // The plotted data, header row first.
    virtual CsvRows csvRows() const = 0;
    // Empty string on success.
    QString exportTo(const QString& file);
    void copyToClipboard();
    // The layer the selectors point at (a model layer index), -1 when none.
    int currentLayer() const;
    int currentUnit() const;

  signals:
    void tokenHovered(int token);
    void tokenClicked(int token);

  protected:
    // Layers offered in the layer selector: Mamba layers by default.
    QVector<int> matrixLayers() const;  // Mamba layers that kept their [T, U] matrices
    virtual QVector<int> layerChoices() const;
    // Units offered for a layer (empty: no unit selector).
    virtual QVector<int> unitChoices(int layer) const;
    virtual QString unitLabel(int layer, int unit) const;
    virtual void rebuild() = 0;
    virtual void currentTokenChanged(int token);
    void showEvent(QShowEvent* e) override;
    void changeEvent(QEvent* e) override;  // palette changes recolour the plot (dark theme)
    // Mouse on `axis` (a token axis) reports tokens; the current token is a line on it.
    void setTokenAxis(QCPAxis* axis);
    // Off while the axis shows something else (e.g. units): no token line, no token hover.
    void setTokenAxisActive(bool on);
    void addControl(QWidget* w);
    void refreshTable();
    void showMessage(const QString& text);  // in place of the plot when there is nothing to draw
    void replot();

    InspectorData data_;
    TokenLink* link_ = nullptr;
    // While the data table is filled: the most rows csvRows() needs to list (-1: all, for export).
    // Views whose rows grow with tokens x units stop there; the table says the rest is in the CSV.
    static constexpr int kTableRows = 5000;
    mutable int row_limit_ = -1;
    bool full(const CsvRows& rows) const { return row_limit_ >= 0 && rows.size() > row_limit_; }

  private:
    void fill_units();
    void apply_palette();
    void on_mouse(QMouseEvent* e, bool click);

    QString name_;
    QLabel* caption_ = nullptr;
    QLabel* message_ = nullptr;
    QComboBox* layer_ = nullptr;
    QComboBox* unit_ = nullptr;
    QHBoxLayout* controls_ = nullptr;
    QToolButton* table_button_ = nullptr;
    QStackedWidget* stack_ = nullptr;
    QCustomPlot* plot_ = nullptr;
    QTableWidget* table_ = nullptr;
    QCPAxis* token_axis_ = nullptr;
    QCPItemStraightLine* token_line_ = nullptr;
    bool filling_ = false;
    bool pending_ = false;
    bool token_axis_active_ = true;
};

}  // namespace statescope::widgets
