// Token sampling from one row of logits: penalties, then temperature, top-k, min-p, top-p, then a
// draw from a seeded generator (same seed and settings, same tokens, on every backend).
// temperature <= 0 means greedy. The order of the filters follows llama.cpp's default chain and
// transformers' logits processors: penalties on raw logits, temperature, then the truncations on
// the softmax of the scaled logits. The rule itself is kernels/sampling.h, one definition for the
// CPU op used here and the device op (Model::forward_sample).
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "kernels/sampling.h"

namespace statescope {

struct SamplerSettings {
    float temperature = 0.0f;  // <= 0: greedy (argmax after penalties)
    std::int64_t top_k = 0;    // 0: off
    float top_p = 1.0f;        // 1: off
    float min_p = 0.0f;        // 0: off; keeps tokens with p >= min_p * p_max
    // transformers' RepetitionPenaltyLogitsProcessor: logit / penalty if > 0 else logit * penalty,
    // for every token already in the context window below. 1: off.
    float repetition_penalty = 1.0f;
    // OpenAI-style: logit -= presence * [count > 0] + frequency * count. 0: off.
    float presence_penalty = 0.0f;
    float frequency_penalty = 0.0f;
    std::int64_t penalty_last_n = 64;  // how many recent tokens the penalties look at (-1: all)
    std::uint64_t seed = 0;
};

class Sampler {
  public:
    explicit Sampler(const SamplerSettings& settings);
    const SamplerSettings& settings() const { return settings_; }
    // The settings as the backend op takes them (kernels/sampling.h states the rule).
    kernels::SampleParams params() const;

    // What one draw needs besides the logits: the penalty counts of the window of `history` (ids in
    // [0, V), ascending, each once) and u in [0, 1), which takes one number from the seeded
    // generator when temperature > 0 (greedy takes none).
    struct Step {
        std::vector<std::int32_t> ids, counts;
        std::int64_t offsets[2] = {0, 0};
        double u = 0.0;
        kernels::SamplePenalties penalties() const { return {offsets, ids.data(), counts.data()}; }
    };
    Step next(std::span<const std::int32_t> history, std::int64_t V);

    // Picks the next token from logits given the tokens so far (prompt and generated) for the
    // penalties: next(), then the CPU op of kernels/sampling.h. A device backend given the same
    // Step picks the same token (Model::forward_sample).
    std::int32_t sample(std::span<const float> logits, std::span<const std::int32_t> history);

    // The probabilities the draw would use (after penalties, temperature and truncation), for tests
    // and the inspector; zero for excluded tokens.
    std::vector<float> distribution(std::span<const float> logits,
                                    std::span<const std::int32_t> history) const;

  private:
    void count_penalties(std::span<const std::int32_t> history, std::int64_t V, Step& step) const;
    SamplerSettings settings_;
    std::mt19937_64 rng_;
};

}  // namespace statescope
