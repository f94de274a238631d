// The studio's side of "From sessions…" in the compare view: the probe runs kept in the session
// store (core/analysis/probes/probe_store.h, analysis runs of kind "probe.*") read into the
// ProbeGrids the compare view draws, through the same reader as a probe file
// (widgets::probe_grid_from_json), so a stored run and a loaded file are one representation.
#pragma once

#include <QStringList>
#include <QVector>

#include "widgets/compare/stored_probe_dialog.h"

namespace statescope {
class SessionStore;
}

namespace statescope::studio {

struct StoredProbeRuns {
    QVector<widgets::StoredProbeRun> runs;  // passkey, needle and phonebook runs, store order
    QStringList problems;                   // runs whose document does not read, one line each
};

// Flushes what the studio has queued, then reads every model's probe runs; perplexity runs are
// left out (they have no grid). Throws the store's error when the database cannot be read.
StoredProbeRuns read_stored_probe_runs(SessionStore& store);

}  // namespace statescope::studio
