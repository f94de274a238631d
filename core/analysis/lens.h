// Logit lens and implicit attention (docs/ANALYSES.md §3.2).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/analysis/capture.h"

namespace statescope {

// Logit lens: the model's final norm and lm_head applied to the residual stream leaving each layer
// (layer.{i}.resid_post), top-k per position by probability (softmax over the vocabulary, fp64).
// Computed on the backend chunk by chunk as the prompt is prefilled (memory: one chunk of logits).
struct LensLayer {
    std::int64_t index = 0;
    std::vector<std::int32_t> top_ids;  // [T, k]
    std::vector<float> top_probs;       // [T, k]
    std::vector<float> next_prob;  // [T]: probability of the prompt's next token (NaN at the last)
    std::vector<std::int32_t> next_rank;  // [T]: its rank (0 = top), -1 at the last position
};
std::vector<LensLayer> logit_lens(Model& model, std::span<const std::int32_t> ids,
                                  std::vector<std::int64_t> layers, std::int64_t k,
                                  std::int64_t chunk, const ProgressFn& progress = {});

// Implicit attention (memory kernel) of a Mamba layer over a window of W tokens starting from a
// zero state at its first token (so that y_t - D x_t = sum_s M[t, s] x_s inside the window):
//   Mamba-2, head h (group g):  M_h[t, s] = (C_t,g . B_s,g) * exp(A_h * sum_{r=s+1..t} delta_r,h) *
//   delta_s,h Mamba-1, channel d:         M_d[t, s] = sum_n C_t,n * exp(A_d,n * sum_{r=s+1..t}
//   delta_r,d) * delta_s,d * B_s,n
// (ssd_minimal_discrete's L = exp(segsum(A dt)); DeciMamba's hidden attention for Mamba-1), s <= t,
// 0 above the diagonal. layer must hold delta and B/C rows of the window (keep_delta, keep_bc).
std::vector<float> implicit_attention(const LayerCapture& layer, std::int64_t unit);  // [W, W]

}  // namespace statescope
