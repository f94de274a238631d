#include "core/runtime/sampler.h"

#include <algorithm>
#include <map>

#include "core/error.h"
#include "kernels/cpu/ops.h"

namespace statescope {

Sampler::Sampler(const SamplerSettings& s) : settings_(s), rng_(s.seed) {
    if (s.top_p <= 0.0f || s.top_p > 1.0f)
        throw Error("top_p must be in (0, 1], got " + std::to_string(s.top_p));
    if (s.min_p < 0.0f || s.min_p > 1.0f)
        throw Error("min_p must be in [0, 1], got " + std::to_string(s.min_p));
    if (s.top_k < 0) throw Error("top_k must be >= 0, got " + std::to_string(s.top_k));
    if (s.repetition_penalty <= 0.0f)
        throw Error("repetition_penalty must be > 0, got " + std::to_string(s.repetition_penalty));
}

kernels::SampleParams Sampler::params() const {
    const auto& s = settings_;
    kernels::SampleParams p;
    p.temperature = s.temperature;
    p.top_k = s.top_k;
    p.top_p = s.top_p;
    p.min_p = s.min_p;
    p.repetition_penalty = s.repetition_penalty;
    p.presence_penalty = s.presence_penalty;
    p.frequency_penalty = s.frequency_penalty;
    return p;
}

void Sampler::count_penalties(std::span<const std::int32_t> history, std::int64_t V,
                              Step& step) const {
    step.ids.clear();
    step.counts.clear();
    if (params().has_penalties()) {
        std::size_t first = 0;
        const auto& s = settings_;
        if (s.penalty_last_n >= 0 && history.size() > std::size_t(s.penalty_last_n))
            first = history.size() - std::size_t(s.penalty_last_n);
        std::map<std::int32_t, std::int32_t> counts;  // ascending ids: the same list every time
        for (std::size_t i = first; i < history.size(); ++i)
            if (history[i] >= 0 && history[i] < V) ++counts[history[i]];
        for (const auto& [id, n] : counts) {
            step.ids.push_back(id);
            step.counts.push_back(n);
        }
    }
    step.offsets[0] = 0;
    step.offsets[1] = static_cast<std::int64_t>(step.ids.size());
}

Sampler::Step Sampler::next(std::span<const std::int32_t> history, std::int64_t V) {
    Step step;
    count_penalties(history, V, step);
    // a uniform double from the top 53 bits of the seeded generator (portable across platforms,
    // unlike std::uniform_real_distribution)
    if (settings_.temperature > 0.0f) step.u = double(rng_() >> 11) * (1.0 / 9007199254740992.0);
    return step;
}

std::int32_t Sampler::sample(std::span<const float> logits, std::span<const std::int32_t> history) {
    if (logits.empty()) throw Error("cannot sample: the logits row is empty");
    const auto V = static_cast<std::int64_t>(logits.size());
    const Step step = next(history, V);
    std::int32_t out = 0;
    kernels::cpu::sample(logits.data(), V, 1, V, params(), step.penalties(), &step.u, &out);
    return out;
}

std::vector<float> Sampler::distribution(std::span<const float> logits,
                                         std::span<const std::int32_t> history) const {
    std::vector<float> p(logits.size(), 0.0f);
    if (logits.empty()) return p;
    const auto V = static_cast<std::int64_t>(logits.size());
    Step step;
    count_penalties(history, V, step);
    const kernels::cpu::Ranked r =
        kernels::cpu::rank_row(logits.data(), V, params(), step.ids, step.counts);
    const double mass = r.cum.back();
    for (std::size_t i = 0; i < r.ids.size(); ++i) p[std::size_t(r.ids[i])] = float(r.e[i] / mass);
    return p;
}

}  // namespace statescope
