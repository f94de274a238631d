// Token sampling from one row of logits: penalties, then temperature, top-k, top-p, min-p, then a
// draw from a seeded generator (same seed and settings, same tokens). temperature <= 0 means
// greedy. The order of the filters follows llama.cpp's default chain and transformers' logits
// processors: penalties on raw logits, temperature, then the truncations on the softmax of the
// scaled logits.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <unordered_map>
#include <vector>

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

    // Picks the next token from logits given the tokens so far (prompt and generated) for the
    // penalties.
    std::int32_t sample(std::span<const float> logits, std::span<const std::int32_t> history);

    // The probabilities the draw would use (after penalties, temperature and truncation), for tests
    // and the inspector; zero for excluded tokens.
    std::vector<float> distribution(std::span<const float> logits,
                                    std::span<const std::int32_t> history) const;

  private:
    std::vector<float> penalized(std::span<const float> logits,
                                 std::span<const std::int32_t> history) const;
    SamplerSettings settings_;
    std::mt19937_64 rng_;
};

}  // namespace statescope
