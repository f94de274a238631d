// Picks probe runs kept in the session store (statescope-cli probe ... --save) for the compare
// view's probe grids: one row per run (model, probe, lengths, date, overall accuracy, JRT), several
// at once with Ctrl/Shift. The widget only shows what it is handed; reading the store is the
// studio's (app/studio/stored_probe_runs.h), and each run arrives already read into the ProbeGrid
// that a loaded file becomes, so the grid panel cannot tell the two apart.
#pragma once

#include <QDateTime>
#include <QDialog>
#include <QStringList>
#include <QVector>

#include "widgets/compare/probe_grid.h"

class QDialogButtonBox;
class QLabel;
class QTableWidget;

namespace statescope::widgets {

struct StoredProbeRun {
    qint64 run_id = 0;  // analysis_runs.id
    QDateTime created;
    QString model_path;
    bool jrt = false;  // the context was read twice (options.jrt)
    ProbeGrid grid;    // grid.source names the run
};

class StoredProbeDialog : public QDialog {
    Q_OBJECT
  public:
    enum Column { ColModel, ColProbe, ColLengths, ColDate, ColOverall, ColJrt, ColCount };

    // `problems`: stored runs that could not be read (shown under the table, one a line).
    StoredProbeDialog(const QVector<StoredProbeRun>& runs, const QStringList& problems,
                      QWidget* parent = nullptr);

    QTableWidget* table() const { return table_; }
    QDialogButtonBox* buttons() const { return buttons_; }
    // The selected runs in table order.
    QVector<StoredProbeRun> selectedRuns() const;

  signals:
    void runsPicked(const QVector<statescope::widgets::StoredProbeRun>& runs);

  public slots:
    void accept() override;

  private:
    QVector<StoredProbeRun> runs_;
    QTableWidget* table_ = nullptr;
    QDialogButtonBox* buttons_ = nullptr;
};

}  // namespace statescope::widgets
