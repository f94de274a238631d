// Token sampling as a backend op: the one definition both backends implement, so that a device
// draws the token the CPU would, and sampled decoding on a GPU copies one id per token instead of
// the [V] logits row.
//
// For one logits row l[0..V) with penalty counts c[id] (the tokens seen in the penalty window, each
// id once, with how often it was seen):
//   1. penalties (transformers' RepetitionPenalty, then OpenAI presence / frequency):
//        l' = l / r if l > 0 else l * r;   l' -= fma(frequency, c, presence)    (ids with c > 0)
//      NaN logits rank as -inf; -0 as +0 (one zero, so ties break by id alone).
//   2. rank: descending l', ties by lower id (a total order: torch.argmax's first maximum on top).
//   3. temperature <= 0: the first ranked token (greedy). Otherwise e[r] = exp((l'[r] - l'[0]) / T)
//      in double over the ranked order; keep = V, then top-k: keep = min(keep, k); min-p: keep the
//      ranked prefix with e >= min_p (e[0] = 1, so min_p * p_max), at least one; top-p: the
//      shortest prefix whose mass reaches top_p * (mass of the kept prefix), at least one.
//   4. the draw at u in [0, 1): the first ranked r < keep with u * cum[keep-1] < cum[r], where
//      cum[r] = e[0] + ... + e[r] (the last kept token when rounding leaves none).
// The draw walks the ranked order (not token order), so a draw reads one prefix sum of one sort.
// u comes from the caller's seeded generator, so the same seed and settings give the same tokens on
// every backend (up to the last-ulp rounding of exp and of the sums, which moves a draw only when u
// falls within ~1e-15 of a boundary).
#pragma once

#include <cmath>
#include <cstdint>

namespace statescope::kernels {

struct SampleParams {
    float temperature = 0.0f;  // <= 0: greedy
    std::int64_t top_k = 0;    // 0: off
    float top_p = 1.0f;        // 1: off
    float min_p = 0.0f;        // 0: off
    float repetition_penalty = 1.0f;
    float presence_penalty = 0.0f;
    float frequency_penalty = 0.0f;

    bool has_penalties() const {
        return repetition_penalty != 1.0f || presence_penalty != 0.0f || frequency_penalty != 0.0f;
    }
};

// The penalty counts of T rows in host memory, CSR: row t's ids are ids[offsets[t] ..
// offsets[t+1]) with counts[...] (> 0); an id appears at most once per row and lies in [0, V).
// offsets null: no penalties. (Pointers, not spans: the CUDA sources compile as C++17.)
struct SamplePenalties {
    const std::int64_t* offsets = nullptr;  // [T + 1]
    const std::int32_t* ids = nullptr;
    const std::int32_t* counts = nullptr;
};

// Step 1 for one logit (the same float operations on every backend; fma keeps a compiler from
// contracting it one way here and another there).
inline float penalized_logit(float l, std::int32_t count, const SampleParams& p) {
    if (p.repetition_penalty != 1.0f)
        l = l > 0.0f ? l / p.repetition_penalty : l * p.repetition_penalty;
    return l - std::fma(p.frequency_penalty, static_cast<float>(count), p.presence_penalty);
}

}  // namespace statescope::kernels
