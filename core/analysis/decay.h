// Decay, retention, half-life and finite-time Lyapunov exponents of Mamba layers from captured
// delta (docs/ANALYSES.md §0, §2.2, §3.1). Plain data; the CLI writes it as JSON
// (docs/ANALYSIS-JSON.md).
//
// Units: a Mamba-1 layer has d_inner channels d with d_state exponents A[d, n] each; a Mamba-2
// layer has n_heads heads h with one scalar A[h]. "unit" below is a channel or a head.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/analysis/capture.h"

namespace statescope {

// Finite-time Lyapunov exponents over the T tokens of one prompt (ANALYSES.md §2.2, [derived]
// there: the state Jacobian of the recurrence is diagonal, so these are exact for the linear
// recurrence):
//   Mamba-2: lambda[h] = A[h] * mean_t delta[t, h]
//   Mamba-1: lambda[d] = (max_n A[d, n]) * mean_t delta[t, d]    (the least negative of the d_state
//   rows) max = max over units ("zeta" of the layer; the model's is the max over layers)
struct LyapunovLayer {
    std::int64_t index = 0;
    MixerKind kind = MixerKind::Mamba1;
    std::vector<double> mean_delta;  // [units]
    std::vector<double> exponents;   // [units], <= 0
    double max = 0;
    std::int64_t argmax = 0;
};
LyapunovLayer lyapunov_exponents(const LayerCapture& layer, std::int64_t tokens);

// Half-life in tokens of a unit with exponent lambda: ln 2 / |lambda| ([derived], ANALYSES.md
// §2.2); +inf when lambda == 0.
double half_life(double lambda);

// Decay of one layer (Stuffed Mamba get_dA.py; LongMamba task_deci.py for the Mamba-1 reduction):
//   Mamba-2: decay[t, h] = exp(delta[t, h] * A[h])
//   Mamba-1: decay[t, d] = mean_n exp(delta[t, d] * A[d, n])      ("tA", mean over d_state)
//   decay_mean[u] = mean_t decay[t, u];  half_life[u] from the Lyapunov exponent of the unit.
// Retention between two token positions s < t (the weight a state entry written at s still has at
// t):
//   log10 R(t <- s) = A * sum_{r = s+1 .. t} delta[r] / ln 10    ([H] or [I, N] values)
struct DecayLayer {
    std::int64_t index = 0;
    MixerKind kind = MixerKind::Mamba1;
    std::vector<float> decay;             // [T, units]
    std::vector<double> decay_mean;       // [units]
    std::vector<double> half_life;        // [units], tokens
    std::vector<double> log10_retention;  // [H] or [I, N] when a retention window was asked for
    // Distribution of half_life over the units: min, 10th, 50th, 90th percentile, max (nearest
    // rank).
    std::vector<double> half_life_quantiles;
};
struct RetentionWindow {
    std::int64_t from = 0;  // s
    std::int64_t to = 0;    // t, s < t < T
};
// layer.delta must have been kept (CaptureOptions::keep_delta).
DecayLayer decay_layer(const LayerCapture& layer, std::int64_t tokens,
                       const std::optional<RetentionWindow>& window);

// Measured growth of a perturbation of one layer's SSM state against the Lyapunov bound
// ([derived], ANALYSES.md §2.2 "Perturbation"). The prompt is run twice with chunk ends every
// `stride` tokens; in the second run, after `t0` tokens (a multiple of stride), the layer's state
// gets eps * rms(state) * xi (xi ~ N(0, 1), fixed seed) added, or with perturb_embedding the
// embedding row of token t0 gets eps * rms(row) * xi. At every later checkpoint t:
//   measured[t] = ||h'_t - h_t|| / ||h'_{t1} - h_{t1}||   (t1 = first checkpoint compared)
//   bound[t]    = exp((t - t1) * zeta(t1, t))   zeta = max over units of A * mean delta over (t1,
//   t]
// For a state perturbation the inputs of the layer are unchanged, so measured <= bound up to
// rounding. An embedding perturbation also moves delta, B, C (through the conv and lower layers):
// the bound is then the linear-recurrence reference the measurement is plotted against, not a
// guarantee.
// With bf16_state (the fp32 vs bf16 comparison, [derived] from A §2.2 "Precision divergence"), the
// second run rounds every watched layer's state to bf16 (nearest even) at every checkpoint, as a
// model-dtype state cache would; nothing else is perturbed and `bound` is again the reference
// curve.
struct PerturbationLayer {
    std::int64_t index = 0;
    std::vector<std::int64_t> positions;
    std::vector<double> divergence;  // ||h'_t - h_t|| (absolute)
    std::vector<double> measured;    // divergence / divergence at positions[0]
    std::vector<double> relative;    // divergence / ||h_t|| of the reference run
    std::vector<double> bound;
};
struct PerturbationOptions {
    std::vector<std::int64_t> layers;  // empty: every Mamba layer (state mode: each one in turn)
    std::int64_t t0 = 0;
    std::int64_t stride = 16;
    double epsilon = 1e-3;
    bool perturb_embedding = false;
    bool bf16_state = false;
    std::uint64_t seed = 1;
};
std::vector<PerturbationLayer> measure_perturbation(Model& model, std::span<const std::int32_t> ids,
                                                    const PerturbationOptions& options,
                                                    const ProgressFn& progress = {});

}  // namespace statescope
