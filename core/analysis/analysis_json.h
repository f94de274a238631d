// JSON forms of the analyses (docs/ANALYSIS-JSON.md is the contract). Non-finite numbers (an
// infinite half-life, an undefined cosine) are written as null.
#pragma once

#include <nlohmann/json.hpp>

#include "core/analysis/decay.h"

namespace statescope {

const char* mixer_name(MixerKind kind);

// A of a layer: [H] for Mamba-2, [I][N] for Mamba-1.
nlohmann::json A_json(const LayerCapture& layer);
// delta [T][units] from a capture that kept it.
nlohmann::json delta_json(const LayerCapture& layer, std::int64_t tokens);

nlohmann::json decay_json(const LayerCapture& layer, const DecayLayer& decay, std::int64_t tokens,
                          const std::optional<RetentionWindow>& window);
nlohmann::json lyapunov_json(const LyapunovLayer& layer);
nlohmann::json perturbation_json(const std::vector<PerturbationLayer>& layers,
                                 const PerturbationOptions& options);
nlohmann::json state_stats_json(const LayerCapture& layer);

}  // namespace statescope
