// The Compare view's probe grids: where they come from (probe files, runs kept in the session
// store, a saved comparison) and the one rule for showing them: one probe per view.
#include <QApplication>
#include <QFileDialog>
#include <QLabel>
#include <QPointer>
#include <QPushButton>
#include <QThread>

#include "app/studio/compare_view.h"
#include "app/studio/stored_probe_runs.h"
#include "widgets/compare/stored_probe_dialog.h"

namespace statescope::studio {

bool CompareView::setProbeGrids(const QVector<widgets::ProbeGrid>& grids) {
    const QString mixed = widgets::mixed_probes_error(grids);
    if (!mixed.isEmpty()) {
        // What is on screen stays; the message says which runs were refused and why.
        status_->setText(mixed);
        return false;
    }
    probes_->setGrids(grids);
    return true;
}

void CompareView::show_probe_grids(const QVector<widgets::ProbeGrid>& grids,
                                   const QStringList& errors) {
    showTab("probes");
    if (!setProbeGrids(grids)) return;
    status_->setText(errors.isEmpty() ? tr("%n probe result(s) shown.", "", int(grids.size()))
                                      : errors.join('\n'));
}

void CompareView::load_probe_files() {
    const QStringList files = QFileDialog::getOpenFileNames(
        this, tr("Probe results (one file per model)"), QString(), tr("JSON (*.json)"));
    if (files.isEmpty()) return;
    QVector<widgets::ProbeGrid> grids;
    QStringList errors;
    for (const QString& f : files) {
        QString error;
        if (auto g = widgets::load_probe_grid(f, &error))
            grids << *g;
        else
            errors << error;
    }
    show_probe_grids(grids, errors);
}

void CompareView::pickStoredProbes() {
    if (!store_) {
        status_->setText(tr("No session store is open, so there are no stored probe runs."));
        return;
    }
    if (stored_read_) return;  // one read at a time; its dialog is on the way
    // The read (a flush of the studio's queued writes, then every probe document parsed) can
    // take a while on a large store: it runs on a thread of its own, and its result comes back
    // to this view through the event loop. The destructor waits for it (the store outlives it).
    SessionStore* store = store_;
    QPointer<CompareView> view(this);
    stored_read_ = QThread::create([store, view] {
        StoredProbeRuns stored;
        QString error;
        try {
            stored = read_stored_probe_runs(*store);
        } catch (const std::exception& e) {
            error = QString::fromUtf8(e.what());
        }
        QMetaObject::invokeMethod(
            qApp,
            [view, stored = std::move(stored), error] {
                if (view) view->open_stored_probe_dialog(stored, error);
            },
            Qt::QueuedConnection);
    });
    stored_read_->setObjectName("statescope-stored-probes");
    connect(stored_read_, &QThread::finished, stored_read_, &QObject::deleteLater);
    stored_button_->setEnabled(false);
    status_->setText(tr("Reading the probe runs of the session store…"));
    stored_read_->start();
}

void CompareView::waitForStoredRead() {
    if (stored_read_) stored_read_->wait();
}

void CompareView::open_stored_probe_dialog(const StoredProbeRuns& stored, const QString& error) {
    stored_read_ = nullptr;  // finished (it posted this call as its last act); deleteLater frees it
    stored_button_->setEnabled(true);
    if (!error.isEmpty()) {
        status_->setText(tr("Cannot read the probe runs of the session store: %1").arg(error));
        return;
    }
    status_->setText(tr("%n stored probe run(s) found.", "", int(stored.runs.size())));
    // Window-modal and not exec(): the view (and a test driving it) keeps its event loop.
    auto* dialog = new widgets::StoredProbeDialog(stored.runs, stored.problems, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &widgets::StoredProbeDialog::runsPicked, this,
            [this](const QVector<widgets::StoredProbeRun>& runs) {
                QVector<widgets::ProbeGrid> grids;
                for (const auto& r : runs) grids << r.grid;
                show_probe_grids(grids, {});
            });
    dialog->open();
}

void CompareView::restore_probe_grids(const nlohmann::json& result) {
    QVector<widgets::ProbeGrid> grids;
    QStringList errors;
    const nlohmann::json& saved = result.value("probe_results", nlohmann::json::array());
    for (std::size_t i = 0; saved.is_array() && i < saved.size(); ++i) {
        QString error;
        const QString source = tr("saved probe result %1").arg(i);
        if (auto g = widgets::probe_grid_from_json(saved[i], source, &error))
            grids << *g;
        else
            errors << error;
    }
    // "probe_grids" (accuracy[depth][length], no counts) came from builds before the grids
    // followed the probe writer's layout; say so rather than guess at the orientation.
    if (result.contains("probe_grids") && !result["probe_grids"].empty())
        errors << tr(
            "The probe grids saved with this comparison are in an older layout; load "
            "the probe result files again.");
    if (!setProbeGrids(grids)) return;
    if (!errors.isEmpty()) status_->setText(status_->text() + '\n' + errors.join('\n'));
}

}  // namespace statescope::studio
