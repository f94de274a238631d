// Captures for the analyses (docs/ANALYSES.md §0), taken through the runtime's observer points
// while a prompt is prefilled. Memory stays bounded on long prompts (32k+ tokens): everything is
// reduced as it arrives (running sums of delta per channel/head, B/C norms per token, state
// statistics at a stride); the full delta [T, C] is kept only when an analysis prints it
// (keep_delta), and full states only at the positions asked for.
//
// Which delta: the runtime's own, after softplus and (Mamba-2) the time_step_limit clamp of the
// multi-token path, before any filtering (a LongMamba filter registered after the collector sees
// the same buffer later and cannot change what was recorded).
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/model/model_spec.h"
#include "core/runtime/model.h"
#include "core/runtime/observer.h"

namespace statescope {

class Sequence;

struct CaptureOptions {
    std::vector<std::int64_t> layers;  // empty: every Mamba layer
    bool keep_delta = false;           // full delta [T, C] per layer on the host
    bool bc_norms = false;             // ||B_t||, ||C_t|| per token (per group for Mamba-2)
    bool keep_bc = false;              // B and C rows [W, G*N] of the kept window
    // The window [keep_from, keep_to) of tokens whose delta / B / C rows are kept (keep_to < 0: to
    // the end).
    std::int64_t keep_from = 0, keep_to = -1;
    // State statistics every `state_stride` tokens (0: off). Prefill chunks end at every multiple.
    std::int64_t state_stride = 0;
    // Full states kept after these many tokens (each a chunk boundary too).
    std::vector<std::int64_t> state_positions;
    std::int64_t chunk = 512;  // prefill chunk when nothing else asks for a boundary
};

// Statistics of one layer's state after `position` tokens, per unit (Mamba-1: channel d over its
// d_state values; Mamba-2: head h over its head_dim x d_state values), as Stuffed Mamba's
// analyze_states.py::get_tensor_stats: mean, variance (population), RMS = sqrt(mean(S^2)); and the
// cosine between this state and the previous checkpoint's (NaN at the first checkpoint or when
// either is all zero).
struct StateStats {
    std::int64_t position = 0;
    std::vector<float> mean, var, rms, cos_prev;  // [units]
};

struct StateAt {
    std::int64_t position = 0;
    std::vector<float> state;  // [I, N] or [H, P, N]
};

struct LayerCapture {
    std::int64_t index = 0;
    MixerKind kind = MixerKind::Mamba1;
    std::int64_t channels = 0;  // delta columns: d_inner (Mamba-1) or n_heads (Mamba-2)
    std::int64_t d_state = 0;
    std::int64_t head_dim = 1;  // Mamba-2
    std::int64_t n_groups = 1;  // B/C groups (1 for Mamba-1)
    std::vector<float> A;       // -exp(A_log) as the runtime computes it: [I, N] or [H]
    std::vector<float>
        delta;  // [W, C] when keep_delta (W = the kept window, all T tokens by default)
    std::vector<float> B, C;            // [W, G*N] when keep_bc
    std::vector<double> delta_sum;      // [C] sum over all T tokens (fp64)
    std::vector<float> b_norm, c_norm;  // [T, G] when bc_norms
    std::vector<StateStats> state_stats;
    std::vector<StateAt> states;
    std::int64_t last_call_tokens_ = 0;  // T of the call in flight (the state capture has no T)
    std::vector<float> prev_state_;      // previous checkpoint's state, for cos_prev
};

struct Captures {
    std::int64_t tokens = 0;
    std::vector<LayerCapture> layers;
    LayerCapture* find(std::int64_t layer);
};

// The observer that fills Captures. Register it before any intervening observer.
class CaptureCollector : public Observer {
  public:
    CaptureCollector(const Model& model, CaptureOptions options);

    bool wants(std::string_view point) const override;
    void on_capture(const Capture& capture, kernels::Backend& backend) override;

    Captures& captures() { return captures_; }
    const CaptureOptions& options() const { return options_; }

  private:
    std::pair<std::int64_t, std::int64_t> kept_rows(std::int64_t position, std::int64_t T) const;
    CaptureOptions options_;
    Captures captures_;
    std::vector<int> slot_;  // model layer -> index in captures_.layers, -1 when not captured
    std::vector<float> scratch_;
};

// The chunk ends of a prefill of T tokens: multiples of `chunk` and of `stride`, the given
// positions, and T. A chunk of one token after position 0 would take the decode path (no Mamba-2 dt
// clamp), so such a boundary is dropped and the chunk before it grows by one.
std::vector<std::int64_t> chunk_ends(std::int64_t T, std::int64_t chunk, std::int64_t stride,
                                     const std::vector<std::int64_t>& positions);

// Prefills ids into seq (fresh or continuing) with the given chunk ends, reporting progress.
// Returns false when progress asked to stop. Last-token logits go to last_logits when not null.
bool prefill_with_ends(Model& model, Sequence& seq, std::span<const std::int32_t> ids,
                       const std::vector<std::int64_t>& ends, const ProgressFn& progress,
                       std::vector<float>* last_logits = nullptr);

// Runs one prefill of ids on a fresh sequence with a CaptureCollector registered.
Captures capture_prefill(Model& model, std::span<const std::int32_t> ids,
                         const CaptureOptions& options, const ProgressFn& progress = {});

// A = -exp(A_log) of a Mamba layer, computed in fp32 exactly as the mixers do at load.
std::vector<float> layer_A(const Model& model, std::int64_t layer);

// The Mamba layers of the model (all of them today; the hybrids add others).
std::vector<std::int64_t> ssm_layers(const ModelSpec& spec);

}  // namespace statescope
