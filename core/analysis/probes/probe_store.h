// Probe results in the session store (docs/PROBES-JSON.md, "In the store"): written as analysis
// runs of the model (kind "probe.<probe>", no session), read back per model for the compare view,
// which puts models side by side on the same probe (accuracy per length, newest run of each).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/store/records.h"
#include "core/store/row_ref.h"

namespace statescope {

class SessionStore;
class SessionReader;

// Queues the run (touching the model row first); the RowRef resolves when it is committed.
RowRef save_probe_run(SessionStore& store, const ModelInfo& model, std::string_view probe,
                      nlohmann::json params, nlohmann::json result);

struct StoredProbe {
    ModelRecord model;
    std::int64_t run_id = 0;
    std::string probe;  // "passkey", "needle", "phonebook", "perplexity"
    std::int64_t created_at_ms = 0;
    nlohmann::json params;
    nlohmann::json result;  // the document as written
};

// The probe runs of these models (every model when `model_ids` is empty), oldest first per model.
std::vector<StoredProbe> stored_probes(SessionReader& reader,
                                       const std::vector<std::int64_t>& model_ids = {});

// One probe across models, for the compare view: {"probe", "lengths" (every length any run has,
// ascending), "rows": [{"model": {id, path, model_type, content_hash}, "run_id", "created_at",
// "jrt", "accuracy_by_length": [per length, null where that run has no such length], "overall"}]},
// one row per model: its newest run of that probe. Perplexity rows carry "perplexity" and
// "mean_nll" instead of accuracies.
nlohmann::json probe_comparison_json(const std::vector<StoredProbe>& runs, std::string_view probe);

}  // namespace statescope
