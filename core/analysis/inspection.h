// Everything the studio's inspector draws for one prompt, computed in one call (on the engine's
// thread) from the analyses in this folder: captures with delta and a B/C window, decay and
// retention, Lyapunov exponents and measured perturbation growth, state statistics over position,
// LongMamba receptive fields with the kept-token mask, implicit attention of Mamba units beside the
// real attention of attention layers, and the logit lens. Plain data; widgets only draw it.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/analysis/attention_probs.h"
#include "core/analysis/capture.h"
#include "core/analysis/decay.h"
#include "core/analysis/lens.h"
#include "core/analysis/longmamba.h"

namespace statescope {

struct InspectOptions {
    std::int64_t window = 48;  // tokens of the implicit / real attention maps (the last ones)
    std::int64_t implicit_units = 6;  // Mamba units per layer with an implicit-attention map
    std::int64_t lens_k = 3;
    std::int64_t state_points = 32;  // state statistics at about this many positions
    std::int64_t perturb_layers =
        4;  // at most this many layers get a perturbation run (2 passes each)
    double longmamba_c = 5e-2;
    double longmamba_b = 1.0;
    double clamp_top = 0.1;
    // Floats of [T, U] matrices (delta + decay) kept in all: 64M = 256 MB. Longer texts capture
    // the layers in groups (one prefill each) and keep the matrices of evenly spaced layers only.
    std::int64_t matrix_budget = std::int64_t(64) << 20;
};

struct ImplicitAttention {
    std::int64_t layer = 0, unit = 0;
    std::vector<float> map;  // [W, W], rows = query t, columns = key s (window coordinates)
};

struct InspectionLayer {
    std::int64_t index = 0;
    MixerKind kind = MixerKind::Mamba1;
    std::int64_t units = 0;
    std::vector<float> delta;       // [T, U], empty when the matrix budget left this layer out
    std::vector<float> delta_mean;  // [T] mean over units of delta[t, u] (every layer)
    DecayLayer decay;               // decay.decay [T, U] empty when delta is
    LyapunovLayer lyapunov;
    std::vector<StateStats> state_stats;
    // log tA_prod per unit (natural log) and the local/global split (tA_prod > c): from the
    // LongMamba calibration window when there is one, else over the whole prompt.
    std::vector<double> log_tA_prod;
    std::vector<bool> global;
    std::vector<std::uint8_t> kept;  // [T, U] LongMamba filter mask (1 kept); empty: no filter run
                                     // (or no matrices for this layer)
    std::vector<float> kept_share;   // [T] share of the global units keeping token t (every layer)
    bool has_matrices() const { return !delta.empty(); }
};

struct Inspection {
    std::vector<std::int32_t> ids;
    std::int64_t tokens = 0;
    std::vector<InspectionLayer> layers;  // the Mamba layers
    std::vector<LensLayer> lens;          // every layer
    std::int64_t lens_k = 0;
    std::int64_t window_from = 0;                // attention maps cover [window_from, tokens)
    std::vector<ImplicitAttention> implicit;     // per Mamba layer, a few units
    std::vector<AttentionProbsLayer> attention;  // attention layers (hybrids), queries = the window
    std::vector<PerturbationLayer> perturbation;
    PerturbationOptions perturbation_options;
    std::int64_t longmamba_window = 0;  // calibration window (tokens); 0: no filter was run
    double longmamba_c = 0;
    std::int64_t n_layers = 0;
    const InspectionLayer* find(std::int64_t layer) const;
};

// Several passes over ids (fresh sequences; a chat's own state is not touched). progress reports
// (done, total) in thousandths of the five stages, between prefill chunks, and returns false to
// stop: then Error("cancelled") is thrown.
Inspection inspect(Model& model, std::span<const std::int32_t> ids, const InspectOptions& options,
                   const ProgressFn& progress = {});

}  // namespace statescope
