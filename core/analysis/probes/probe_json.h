// Probe results as JSON (docs/PROBES-JSON.md): the per-sample records, the summary grid
// (lengths x depths -> accuracy) and the per-token loss document.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/analysis/probes/perplexity.h"
#include "core/analysis/probes/probe_runner.h"

namespace statescope {

constexpr int kProbeJsonVersion = 1;

// {"lengths", "depths", "accuracy": [length][depth] (null where no sample ran), "correct",
// "count" (same shape), "accuracy_by_length", "overall"}.
nlohmann::json probe_summary_json(const ProbeRun& run);

// The whole document: format, version, probe, options, samples, summary. The caller adds what
// only it knows (model, backend, corpus, longmamba).
nlohmann::json probe_run_json(const ProbeRun& run);

// format, version, probe = "perplexity", tokens, ids, pieces (each id decoded alone: the text to
// colour), nll, mean_nll, perplexity, cancelled.
nlohmann::json token_loss_json(const TokenLoss& loss, const std::vector<std::int32_t>& ids,
                               const std::vector<std::string>& pieces, std::int64_t chunk);

// format, version, probe = "perplexity", mode = "windows", pred_len, max_windows, windows[]
// ({window, starts, mean_nll per window, nll, perplexity}), average_perplexity, cancelled.
nlohmann::json windowed_loss_json(const WindowedLoss& loss, const WindowedOptions& options);

}  // namespace statescope
