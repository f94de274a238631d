#include "core/analysis/probes/probe_store.h"

#include <algorithm>
#include <map>
#include <set>

#include "core/store/session_store.h"

namespace statescope {

using nlohmann::json;

namespace {

constexpr std::string_view kKindPrefix = "probe.";

}  // namespace

RowRef save_probe_run(SessionStore& store, const ModelInfo& model, std::string_view probe,
                      json params, json result) {
    NewAnalysisRun run;
    run.model = store.touch_model(model);
    run.kind = std::string(kKindPrefix) + std::string(probe);
    run.params = std::move(params);
    run.result = std::move(result);
    return store.add_analysis_run(std::move(run));
}

std::vector<StoredProbe> stored_probes(SessionReader& reader,
                                       const std::vector<std::int64_t>& model_ids) {
    std::vector<StoredProbe> out;
    for (const ModelRecord& m : reader.models()) {
        if (!model_ids.empty() &&
            std::find(model_ids.begin(), model_ids.end(), m.id) == model_ids.end())
            continue;
        for (auto& r : reader.analysis_runs_of_model(m.id, kKindPrefix)) {
            StoredProbe p;
            p.model = m;
            p.run_id = r.id;
            p.probe = r.kind.substr(kKindPrefix.size());
            p.created_at_ms = r.created_at_ms;
            p.params = std::move(r.params);
            p.result = std::move(r.result);
            out.push_back(std::move(p));
        }
    }
    return out;
}

json probe_comparison_json(const std::vector<StoredProbe>& runs, std::string_view probe) {
    // The newest run per model (the highest id: ids grow with time).
    std::map<std::int64_t, const StoredProbe*> newest;
    for (const auto& r : runs) {
        if (r.probe != probe) continue;
        auto& slot = newest[r.model.id];
        if (!slot || r.run_id > slot->run_id) slot = &r;
    }
    std::set<std::int64_t> lengths;
    for (const auto& [id, r] : newest)
        if (r->result.contains("summary"))
            for (const auto& L : r->result["summary"]["lengths"])
                lengths.insert(L.get<std::int64_t>());
    json rows = json::array();
    for (const auto& [id, r] : newest) {
        json row = {{"model",
                     {{"id", r->model.id},
                      {"path", r->model.info.path},
                      {"model_type", r->model.info.model_type},
                      {"content_hash", r->model.info.content_hash}}},
                    {"run_id", r->run_id},
                    {"created_at", r->created_at_ms}};
        const json& res = r->result;
        if (probe == "perplexity") {
            // Per-token mode has perplexity and mean_nll; windows mode the average over lengths.
            row["mode"] = res.value("mode", std::string("tokens"));
            row["perplexity"] = res.contains("perplexity")
                                    ? res["perplexity"]
                                    : res.value("average_perplexity", json(nullptr));
            row["mean_nll"] = res.value("mean_nll", json(nullptr));
            row["tokens"] = res.value("tokens", json(nullptr));
        } else {
            row["jrt"] = res.contains("options") ? res["options"].value("jrt", false) : false;
            json acc = json::array();
            const json& sum = res.contains("summary") ? res["summary"] : json::object();
            for (auto L : lengths) {
                json v = nullptr;
                if (sum.contains("lengths"))
                    for (std::size_t i = 0; i < sum["lengths"].size(); ++i)
                        if (sum["lengths"][i].get<std::int64_t>() == L)
                            v = sum["accuracy_by_length"][i];
                acc.push_back(v);
            }
            row["accuracy_by_length"] = std::move(acc);
            row["overall"] = sum.value("overall", json(nullptr));
        }
        rows.push_back(std::move(row));
    }
    return {{"probe", probe}, {"lengths", lengths}, {"rows", rows}};
}

}  // namespace statescope
