// A finished passkey grid as core's probe runner leaves it, without running a model: 3 lengths x
// 2 depths (not square, so rows and columns cannot be mixed up unnoticed), 2 samples per cell, and
// the last cell never ran (the run was cancelled there). What `statescope-cli probe` writes is
// probe_run_json() of this plus the model object the CLI adds.
#pragma once

#include <string>

#include "core/analysis/probes/probe_json.h"
#include "core/analysis/probes/probe_runner.h"

namespace statescope::gui_test {

// correct samples per (length i, depth j): {2,1}, {1,0}, {2,-} out of 2.
inline ProbeRun tiny_probe_run() {
    ProbeRun run;
    run.options.kind = ProbeKind::Passkey;
    run.options.lengths = {256, 1024, 4096};
    run.options.depths = {0.0, 1.0};
    run.options.samples = 2;
    run.planned = 12;
    run.cancelled = true;
    const int correct[3][2] = {{2, 1}, {1, 0}, {2, -1}};
    for (std::size_t i = 0; i < 3; ++i)
        for (std::size_t j = 0; j < 2; ++j)
            for (int k = 0; k < 2 && correct[i][j] >= 0; ++k) {
                ProbeSample s;
                s.length = run.options.lengths[i];
                s.depth = run.options.depths[j];
                s.sample = k;
                s.expected = "12345";
                s.correct = k < correct[i][j];
                s.got = s.correct ? "12345" : "54321";
                run.samples.push_back(s);
            }
    return run;
}

// The document as the CLI writes it for a model folder `model_dir`.
inline nlohmann::json tiny_probe_document(const std::string& model_dir) {
    nlohmann::json doc = probe_run_json(tiny_probe_run());
    doc["model"] = {{"path", model_dir}, {"model_type", "mamba"}, {"content_hash", "0"}};
    doc["backend"] = "cpu";
    doc["longmamba"] = nullptr;
    return doc;
}

}  // namespace statescope::gui_test
