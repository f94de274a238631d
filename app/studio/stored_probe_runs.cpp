#include "app/studio/stored_probe_runs.h"

#include <QObject>

#include "core/analysis/probes/probe_store.h"
#include "core/store/session_store.h"

namespace statescope::studio {

StoredProbeRuns read_stored_probe_runs(SessionStore& store) {
    store.flush();  // a run saved a moment ago by this process is listed too
    SessionReader reader = store.reader();
    StoredProbeRuns out;
    for (StoredProbe& p : stored_probes(reader)) {
        if (p.probe == "perplexity") continue;
        // The CLI writes the model object into the document; the model row stands in for it in a
        // document written without one, so the grid is named after the model, not "stored run 7".
        nlohmann::json& doc = p.result;
        if (doc.is_object() && !doc.contains("model"))
            doc["model"] = {{"path", p.model.info.path}, {"model_type", p.model.info.model_type}};
        const QString source = QObject::tr("stored run %1").arg(p.run_id);
        QString error;
        auto grid = widgets::probe_grid_from_json(doc, source, &error);
        if (!grid) {
            out.problems << error;
            continue;
        }
        widgets::StoredProbeRun r;
        r.run_id = p.run_id;
        r.created = QDateTime::fromMSecsSinceEpoch(p.created_at_ms);
        r.model_path = QString::fromStdString(p.model.info.path);
        r.jrt = doc.contains("options") && doc["options"].is_object() &&
                doc["options"].value("jrt", false);
        r.grid = std::move(*grid);
        out.runs << r;
    }
    return out;
}

}  // namespace statescope::studio
