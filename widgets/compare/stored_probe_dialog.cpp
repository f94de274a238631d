#include "widgets/compare/stored_probe_dialog.h"

#include <QDialogButtonBox>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>
#include <cmath>

namespace statescope::widgets {

namespace {

constexpr int kRunIndex = Qt::UserRole;  // on the model cell: the index into runs_
constexpr int kSortKey = Qt::UserRole + 1;

// A cell that shows `text` and sorts by `key` (dates and percentages do not sort as text).
class Cell : public QTableWidgetItem {
  public:
    Cell(const QString& text, const QVariant& key) : QTableWidgetItem(text) {
        setFlags(Qt::ItemIsSelectable | Qt::ItemIsEnabled);
        setData(kSortKey, key);
    }
    bool operator<(const QTableWidgetItem& other) const override {
        return QVariant::compare(data(kSortKey), other.data(kSortKey)) == QPartialOrdering::Less;
    }
};

QString lengths_text(const QVector<qint64>& lengths) {
    QStringList out;
    for (qint64 L : lengths) out << QString::number(L);
    return out.join(QStringLiteral(", "));
}

}  // namespace

StoredProbeDialog::StoredProbeDialog(const QVector<StoredProbeRun>& runs,
                                     const QStringList& problems, QWidget* parent)
    : QDialog(parent), runs_(runs) {
    setObjectName("storedProbeDialog");
    setWindowTitle(tr("Probe runs in the session store"));
    auto* v = new QVBoxLayout(this);
    auto* intro = new QLabel(
        runs.isEmpty()
            ? tr("No passkey, needle or phone book runs in this session store yet. "
                 "<tt>statescope-cli probe passkey --model DIR --save --db PATH --out F</tt> "
                 "keeps one here.")
            : tr("Runs that <tt>statescope-cli probe … --save</tt> kept. Pick one probe, one "
                 "run per model (Ctrl or Shift for several). Perplexity runs have no accuracy "
                 "grid and are not listed."),
        this);
    intro->setWordWrap(true);
    v->addWidget(intro);

    table_ = new QTableWidget(int(runs.size()), ColCount, this);
    table_->setObjectName("storedProbeRuns");
    table_->setAccessibleName(tr("Stored probe runs"));
    table_->setHorizontalHeaderLabels(
        {tr("Model"), tr("Probe"), tr("Lengths"), tr("Date"), tr("Overall"), tr("JRT")});
    table_->verticalHeader()->hide();
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::ExtendedSelection);
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    table_->horizontalHeader()->setStretchLastSection(true);
    for (int i = 0; i < int(runs.size()); ++i) {
        const StoredProbeRun& r = runs[i];
        auto* model = new Cell(r.grid.model, r.grid.model);
        model->setData(kRunIndex, i);
        model->setToolTip(r.model_path);
        table_->setItem(i, ColModel, model);
        table_->setItem(i, ColProbe, new Cell(r.grid.probe, r.grid.probe));
        table_->setItem(i, ColLengths,
                        new Cell(lengths_text(r.grid.lengths),
                                 r.grid.lengths.isEmpty() ? 0 : r.grid.lengths.back()));
        table_->setItem(i, ColDate,
                        new Cell(r.created.toString(QStringLiteral("yyyy-MM-dd HH:mm")),
                                 r.created.toMSecsSinceEpoch()));
        const double overall = probe_grid_overall(r.grid);
        auto* acc =
            new Cell(std::isnan(overall) ? tr("–") : QString::number(overall * 100, 'f', 1) + '%',
                     std::isnan(overall) ? -1.0 : overall);
        acc->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
        acc->setToolTip(tr("Correct answers over every sample of the run"));
        table_->setItem(i, ColOverall, acc);
        table_->setItem(i, ColJrt, new Cell(r.jrt ? tr("yes") : QString(), r.jrt));
        for (int c = 0; c < ColCount; ++c) table_->item(i, c)->setStatusTip(r.grid.source);
    }
    table_->setSortingEnabled(true);
    table_->sortByColumn(ColDate, Qt::DescendingOrder);  // the newest first
    connect(table_, &QTableWidget::itemDoubleClicked, this, [this] { accept(); });
    v->addWidget(table_, 1);

    if (!problems.isEmpty()) {
        auto* p = new QLabel(tr("Not listed:") + '\n' + problems.join('\n'), this);
        p->setObjectName("storedProbeProblems");
        p->setWordWrap(true);
        p->setTextInteractionFlags(Qt::TextSelectableByMouse);
        v->addWidget(p);
    }

    buttons_ = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    buttons_->button(QDialogButtonBox::Ok)->setText(tr("Show in the grid"));
    buttons_->button(QDialogButtonBox::Ok)->setEnabled(false);
    connect(buttons_, &QDialogButtonBox::accepted, this, &StoredProbeDialog::accept);
    connect(buttons_, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(table_->selectionModel(), &QItemSelectionModel::selectionChanged, this, [this] {
        buttons_->button(QDialogButtonBox::Ok)
            ->setEnabled(table_->selectionModel()->hasSelection());
    });
    v->addWidget(buttons_);
    resize(640, 360);
}

QVector<StoredProbeRun> StoredProbeDialog::selectedRuns() const {
    QVector<StoredProbeRun> out;
    for (int row = 0; row < table_->rowCount(); ++row)
        if (table_->selectionModel()->isRowSelected(row, {}))
            out << runs_[table_->item(row, ColModel)->data(kRunIndex).toInt()];
    return out;
}

void StoredProbeDialog::accept() {
    const QVector<StoredProbeRun> picked = selectedRuns();
    if (picked.isEmpty()) return;
    emit runsPicked(picked);
    QDialog::accept();
}

}  // namespace statescope::widgets
