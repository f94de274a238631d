// Receptive fields and LongMamba (docs/ANALYSES.md §1): the cumulative decay product tA_prod per
// head (Mamba-2) or channel (Mamba-1) with the top-k clamp, the local/global split at a threshold
// c, the per-target-length calibration of delta thresholds ("align target"), and the token filter
// that zeroes delta of global heads for tokens below the threshold (prefill only).
//
// Mamba-2 follows GATECH-EIC/LongMamba@5da3e17 (load_align_target.py::debug,
// mamba2.py::Mamba2.forward). Mamba-1 [derived]: the same per-channel rules on delta[t, d]; tA_prod
// follows task_deci.py (product over t of mean_n exp(delta A)), with the top-k clamp of the Mamba-2
// code applied to delta first (LongMamba's Mamba-1 code has no clamp; clamp_top = 0 reproduces it).
// No Mamba-1 filter was released, so the Mamba-1 filter here is our extension.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "core/analysis/capture.h"

namespace statescope {

// Per unit u over a window of T tokens (delta [T, U] of one layer):
//   k = max(1, int(T * clamp_top)); q_u = k-th largest delta[., u]; dc = min(delta, q_u) (clamp_top
//   > 0) decay[u]  = sum_t dc[t, u] Mamba-2: log_tA_prod[h] = A[h] * decay[h] Mamba-1:
//   log_tA_prod[d] = sum_t log(mean_n exp(dc[t, d] * A[d, n])) global[u] = tA_prod[u] > c   <=>
//   log_tA_prod[u] > ln c
struct ReceptiveField {
    std::int64_t index = 0;
    MixerKind kind = MixerKind::Mamba1;
    std::int64_t tokens = 0;
    std::vector<double> decay;        // [U]
    std::vector<double> log_tA_prod;  // [U] natural log (tA_prod itself underflows)
    std::vector<std::vector<float>>
        sorted_clamped;  // [U][T] dc sorted descending (for calibration)
};
ReceptiveField receptive_field(const LayerCapture& layer, std::int64_t tokens, double clamp_top,
                               bool keep_sorted = false);

// torch.nn.functional.interpolate(mode='linear', align_corners=False) of `v` to `size` points.
std::vector<double> interpolate_linear(std::span<const float> v, std::int64_t size);

// The LongMamba target lengths (load_align_target.py selected_len).
std::vector<std::int64_t> longmamba_lengths();

// For one unit: stretch its sorted clamped delta to S tokens (m), k = first index with
// cumsum(m) > decay, + 1; alpha = min(k / S, 1); threshold = m[k] (0-based; the last value when k
// == S). S <= the window (the training length; {1k, 2k} in the code for T = 2000): alpha = 1,
// threshold = 0.
void align_target(std::span<const float> sorted_desc, double decay, std::int64_t S, double& alpha,
                  double& threshold);

struct CalibrationLayer {
    std::int64_t index = 0;
    MixerKind kind = MixerKind::Mamba1;
    std::vector<double> decay, log_tA_prod;             // [U], aggregated over windows
    std::vector<std::vector<double>> alpha, threshold;  // [lengths][U]
};
struct Calibration {
    std::string model_type;
    std::int64_t n_layers = 0;
    std::int64_t window = 2000;
    std::int64_t windows = 0;
    double clamp_top = 0.1;
    std::string aggregate = "max";  // "max" | "mean"
    std::vector<std::int64_t> lengths;
    std::vector<CalibrationLayer> layers;
};
struct CalibrationOptions {
    std::vector<std::int64_t> layers;  // empty: every Mamba layer
    std::int64_t window = 2000;
    std::int64_t samples =
        100;  // windows start at int(P / samples * i + 10) (load_align_target.py)
    double clamp_top = 0.1;
    std::string aggregate = "max";
    std::vector<std::int64_t> lengths;  // empty: longmamba_lengths()
    std::int64_t chunk = 512;
};
Calibration calibrate_longmamba(Model& model, std::span<const std::int32_t> ids,
                                const CalibrationOptions& options, const ProgressFn& progress = {});

nlohmann::json calibration_json(const Calibration& c);
// Error naming the field at fault.
Calibration calibration_from_json(const nlohmann::json& j);

// The LongMamba token filter as an observer on layer.{i}.ssm.delta (register it after any collector
// that must see delta before filtering). Active only for prefill calls (T > 1 or position 0) of a
// prompt of at least `min_tokens` tokens (LongMamba: int(seqlen/1e3) > 2, i.e. 3000). For each
// global unit (log tA_prod > ln c): keep[t] = delta[t, u] > b * threshold[S*][u] with S* the
// calibrated length nearest the prompt length; delta[t, u] = 0 where not kept. Local units are
// untouched. kept() holds the mask per layer: [T, U] (1 kept, 0 zeroed; local units all 1).
class LongMambaFilter : public Observer {
  public:
    struct Settings {
        double c = 5e-2;  // my_evaluation.py --c
        double b = 1.0;   // --b
        std::int64_t min_tokens = 3000;
        bool record_mask = true;
    };
    LongMambaFilter(Calibration calibration, Settings settings);

    // The prompt length the thresholds are chosen for; call before the prefill.
    void begin_prompt(std::int64_t prompt_tokens);
    bool wants(std::string_view point) const override;
    void on_capture(const Capture& capture, kernels::Backend& backend) override;

    bool active() const { return active_; }
    std::int64_t target_length() const { return target_; }
    const Calibration& calibration() const { return cal_; }
    const Settings& settings() const { return settings_; }
    struct LayerMask {
        std::int64_t index = 0;
        std::int64_t units = 0;
        std::vector<std::uint8_t> kept;  // [T, U]
        std::vector<bool> global;        // [U]
    };
    const std::vector<LayerMask>& masks() const { return masks_; }
    // Checks the calibration against the model (layers, kinds, unit counts); Error otherwise.
    void check(const ModelSpec& spec) const;

  private:
    Calibration cal_;
    Settings settings_;
    bool active_ = false;
    std::int64_t target_ = 0;
    std::size_t length_slot_ = 0;
    std::vector<LayerMask> masks_;
    std::vector<int> slot_;  // model layer -> calibration layer
    std::vector<float> scratch_;
};

nlohmann::json filter_masks_json(const LongMambaFilter& filter);

}  // namespace statescope
