#include "widgets/inspector/plot_panel.h"

#include <qcustomplot.h>
#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QMenu>
#include <QStackedWidget>
#include <QTableWidget>
#include <QToolButton>
#include <QVBoxLayout>
#include <cmath>

#include "widgets/common/export_menu.h"
#include "widgets/inspector/token_link.h"

namespace statescope::widgets {

PlotPanel::PlotPanel(const QString& name, QWidget* parent) : QWidget(parent), name_(name) {
    setAccessibleName(name);
    auto* v = new QVBoxLayout(this);
    v->setContentsMargins(4, 4, 4, 4);
    v->setSpacing(3);
    auto* bar = new QHBoxLayout;
    bar->setSpacing(4);
    layer_ = new QComboBox(this);
    layer_->setAccessibleName(tr("Layer"));
    layer_->setObjectName("layerCombo");
    unit_ = new QComboBox(this);
    unit_->setAccessibleName(tr("Head or channel"));
    unit_->setObjectName("unitCombo");
    layer_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    unit_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    bar->addWidget(layer_);
    bar->addWidget(unit_);
    controls_ = new QHBoxLayout;
    bar->addLayout(controls_);
    bar->addStretch(1);
    table_button_ = new QToolButton(this);
    table_button_->setText(tr("Table"));
    table_button_->setCheckable(true);
    table_button_->setToolTip(tr("Show the plotted data as a table"));
    table_button_->setAccessibleName(tr("Data table"));
    table_button_->setObjectName("tableButton");
    bar->addWidget(table_button_);
    auto* exp = new QToolButton(this);
    exp->setText(tr("Export"));
    exp->setPopupMode(QToolButton::InstantPopup);
    exp->setAccessibleName(tr("Export this plot"));
    exp->setObjectName("exportButton");
    auto* menu = new QMenu(exp);
    add_export_actions(
        menu, this, name_.toLower().replace(' ', '-'),
        [this](const QString& file) { return exportTo(file); }, [this] { copyToClipboard(); });
    exp->setMenu(menu);
    bar->addWidget(exp);
    v->addLayout(bar);

    caption_ = new QLabel(this);
    caption_->setObjectName("caption");
    caption_->setWordWrap(true);
    caption_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    v->addWidget(caption_);

    stack_ = new QStackedWidget(this);
    plot_ = new QCustomPlot(stack_);
    plot_->setAccessibleName(name);
    plot_->setMinimumSize(160, 120);
    table_ = new QTableWidget(stack_);
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->setAccessibleName(tr("%1 (table)").arg(name));
    message_ = new QLabel(stack_);
    message_->setAlignment(Qt::AlignCenter);
    message_->setWordWrap(true);
    stack_->addWidget(plot_);
    stack_->addWidget(table_);
    stack_->addWidget(message_);
    v->addWidget(stack_, 1);

    connect(table_button_, &QToolButton::toggled, this, [this](bool on) { setTableMode(on); });
    connect(layer_, &QComboBox::currentIndexChanged, this, [this] {
        if (filling_) return;
        fill_units();
        rebuild();
        refreshTable();
    });
    connect(unit_, &QComboBox::currentIndexChanged, this, [this] {
        if (filling_) return;
        rebuild();
        refreshTable();
    });
    connect(plot_, &QCustomPlot::mouseMove, this, [this](QMouseEvent* e) { on_mouse(e, false); });
    connect(plot_, &QCustomPlot::mousePress, this, [this](QMouseEvent* e) { on_mouse(e, true); });
}

void PlotPanel::setTokenLink(TokenLink* link) {
    link_ = link;
    connect(this, &PlotPanel::tokenHovered, link, &TokenLink::setHovered);
    connect(this, &PlotPanel::tokenClicked, link, &TokenLink::setCurrent);
    connect(link, &TokenLink::currentChanged, this, [this](int t) { currentTokenChanged(t); });
}

QVector<int> PlotPanel::layerChoices() const {
    QVector<int> out;
    if (data_.core)
        for (const auto& l : data_.core->layers) out.push_back(int(l.index));
    return out;
}

QVector<int> PlotPanel::matrixLayers() const {
    QVector<int> out;
    if (data_.core)
        for (const auto& l : data_.core->layers)
            if (l.has_matrices()) out.push_back(int(l.index));
    return out;
}

QVector<int> PlotPanel::unitChoices(int) const {
    return {};
}

QString PlotPanel::unitLabel(int layer, int unit) const {
    const InspectionLayer* l = data_.core ? data_.core->find(layer) : nullptr;
    return QStringLiteral("%1 %2").arg(l ? InspectorData::unitName(l->kind) : tr("unit")).arg(unit);
}

void PlotPanel::setData(const InspectorData& data, int draw_now) {
    data_ = data;
    pending_ = true;
    if (draw_now < 0 ? isVisible() : draw_now > 0) applyPending();
}

void PlotPanel::changeEvent(QEvent* e) {
    QWidget::changeEvent(e);
    if (e->type() == QEvent::PaletteChange) apply_palette();
}

// The plot in the window's colours: background, axes, tick labels, grid and legend.
void PlotPanel::apply_palette() {
    const QPalette pal = palette();
    const QColor text = pal.color(QPalette::Text), base = pal.color(QPalette::Base);
    QColor grid = text;
    grid.setAlpha(45);
    plot_->setBackground(base);
    QList<QCPAxis*> axes;
    for (QCPAxisRect* r : plot_->axisRects()) axes += r->axes();
    for (int i = 0; i < plot_->plotLayout()->elementCount(); ++i)
        if (auto* scale = qobject_cast<QCPColorScale*>(plot_->plotLayout()->elementAt(i)))
            axes << scale->axis();
    for (QCPAxis* a : axes) {
        a->setBasePen(QPen(text));
        a->setTickPen(QPen(text));
        a->setSubTickPen(QPen(text));
        a->setLabelColor(text);
        a->setTickLabelColor(text);
        a->grid()->setPen(QPen(grid, 1, Qt::DotLine));
    }
    plot_->legend->setBrush(base);
    plot_->legend->setTextColor(text);
    plot_->legend->setBorderPen(QPen(grid));
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

void PlotPanel::showEvent(QShowEvent* e) {
    QWidget::showEvent(e);
    if (pending_) applyPending();
    apply_palette();
}

void PlotPanel::applyPending() {
    pending_ = false;
    filling_ = true;
    const int keep = layer_->currentData().isValid() ? layer_->currentData().toInt() : -1;
    layer_->clear();
    for (int l : layerChoices()) layer_->addItem(tr("layer %1").arg(l), l);
    const int i = layer_->findData(keep);
    layer_->setCurrentIndex(i >= 0 ? i : 0);
    layer_->setVisible(layer_->count() > 0);
    filling_ = false;
    fill_units();
    if (data_.empty()) {
        showMessage(
            tr("Send a message: the inspector analyses the conversation when the reply "
               "ends."));
        return;
    }
    stack_->setCurrentIndex(tableMode() ? 1 : 0);
    rebuild();
    refreshTable();
    if (link_) currentTokenChanged(link_->current());
}

void PlotPanel::fill_units() {
    filling_ = true;
    const int keep = unit_->currentData().isValid() ? unit_->currentData().toInt() : -1;
    unit_->clear();
    const int layer = currentLayer();
    for (int u : unitChoices(layer)) unit_->addItem(unitLabel(layer, u), u);
    const int i = unit_->findData(keep);
    unit_->setCurrentIndex(i >= 0 ? i : 0);
    unit_->setVisible(unit_->count() > 0);
    filling_ = false;
}

int PlotPanel::currentLayer() const {
    return layer_->currentData().isValid() ? layer_->currentData().toInt() : -1;
}
int PlotPanel::currentUnit() const {
    return unit_->currentData().isValid() ? unit_->currentData().toInt() : -1;
}

void PlotPanel::setTableMode(bool on) {
    table_button_->blockSignals(true);
    table_button_->setChecked(on);
    table_button_->blockSignals(false);
    if (stack_->currentIndex() == 2 && data_.empty()) return;
    stack_->setCurrentIndex(on ? 1 : 0);
    if (on) refreshTable();
}

bool PlotPanel::tableMode() const {
    return table_button_->isChecked();
}

void PlotPanel::refreshTable() {
    if (!tableMode() || data_.empty()) return;
    row_limit_ = kTableRows;
    const CsvRows rows = csvRows();
    row_limit_ = -1;
    table_->clear();
    if (rows.isEmpty()) return;
    table_->setColumnCount(int(rows[0].size()));
    table_->setHorizontalHeaderLabels(rows[0]);
    table_->setRowCount(int(rows.size()) - 1);
    for (int r = 1; r < rows.size(); ++r)
        for (int c = 0; c < rows[r].size(); ++c)
            table_->setItem(r - 1, c, new QTableWidgetItem(rows[r][c]));
    table_->resizeColumnsToContents();
    table_->setToolTip(rows.size() > kTableRows
                           ? tr("The first %1 rows; export CSV for all of them").arg(kTableRows)
                           : QString());
}

void PlotPanel::showMessage(const QString& text) {
    message_->setText(text);
    stack_->setCurrentIndex(2);
}

void PlotPanel::replot() {
    stack_->setCurrentIndex(tableMode() ? 1 : 0);
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

void PlotPanel::addControl(QWidget* w) {
    controls_->addWidget(w);
}

void PlotPanel::setTokenAxis(QCPAxis* axis) {
    token_axis_ = axis;
    token_line_ = new QCPItemStraightLine(plot_);
    token_line_->setClipAxisRect(axis->axisRect());
    token_line_->point1->setAxes(axis, axis->axisRect()->axis(QCPAxis::atLeft));
    token_line_->point2->setAxes(axis, axis->axisRect()->axis(QCPAxis::atLeft));
    token_line_->setPen(QPen(QColor(0, 160, 255), 2));
    token_line_->setVisible(false);
}

void PlotPanel::setTokenAxisActive(bool on) {
    token_axis_active_ = on;
    currentTokenChanged(link_ ? link_->current() : -1);
}

void PlotPanel::currentTokenChanged(int token) {
    if (!token_line_) return;
    token_line_->setVisible(token >= 0 && token_axis_active_);
    token_line_->point1->setCoords(token, 0);
    token_line_->point2->setCoords(token, 1);
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

void PlotPanel::on_mouse(QMouseEvent* e, bool click) {
    if (!token_axis_ || !token_axis_active_ || data_.empty()) return;
    if (!token_axis_->axisRect()->rect().contains(e->pos())) {
        if (!click) emit tokenHovered(-1);
        return;
    }
    const int t = int(std::lround(token_axis_->pixelToCoord(e->pos().x())));
    if (t < 0 || t >= data_.core->tokens) return;
    if (click)
        emit tokenClicked(t);
    else
        emit tokenHovered(t);
}

QString PlotPanel::exportTo(const QString& file) {
    if (pending_) applyPending();
    return export_plot(plot_, csvRows(), file);
}

void PlotPanel::copyToClipboard() {
    if (pending_) applyPending();
    copy_plot(plot_, csvRows());
}

}  // namespace statescope::widgets
