#include "core/runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.h"

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

std::vector<float> Sampler::penalized(std::span<const float> logits,
                                      std::span<const std::int32_t> history) const {
    std::vector<float> out(logits.begin(), logits.end());
    const auto& s = settings_;
    if (s.repetition_penalty == 1.0f && s.presence_penalty == 0.0f && s.frequency_penalty == 0.0f)
        return out;
    std::size_t first = 0;
    if (s.penalty_last_n >= 0 && history.size() > std::size_t(s.penalty_last_n))
        first = history.size() - std::size_t(s.penalty_last_n);
    std::unordered_map<std::int32_t, int> counts;
    for (std::size_t i = first; i < history.size(); ++i)
        if (history[i] >= 0 && std::size_t(history[i]) < out.size()) ++counts[history[i]];
    for (const auto& [id, n] : counts) {
        float& l = out[std::size_t(id)];
        if (s.repetition_penalty != 1.0f)
            l = l > 0 ? l / s.repetition_penalty : l * s.repetition_penalty;
        l -= s.presence_penalty + s.frequency_penalty * float(n);
    }
    return out;
}

std::vector<float> Sampler::distribution(std::span<const float> logits,
                                         std::span<const std::int32_t> history) const {
    std::vector<float> l = penalized(logits, history);
    const std::size_t V = l.size();
    std::vector<float> p(V, 0.0f);
    if (V == 0) return p;
    if (settings_.temperature <= 0.0f) {
        p[std::size_t(std::max_element(l.begin(), l.end()) - l.begin())] = 1.0f;
        return p;
    }
    // softmax(l / T) in double for the normalisation, then the truncations on sorted probabilities.
    const double inv_t = 1.0 / settings_.temperature;
    const float max_l = *std::max_element(l.begin(), l.end());
    std::vector<double> e(V);
    for (std::size_t i = 0; i < V; ++i) e[i] = std::exp((double(l[i]) - max_l) * inv_t);
    std::vector<std::int32_t> order(V);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::int32_t a, std::int32_t b) { return e[a] > e[b]; });
    std::size_t keep = V;
    if (settings_.top_k > 0) keep = std::min<std::size_t>(keep, std::size_t(settings_.top_k));
    if (settings_.min_p > 0.0f) {
        const double bar = settings_.min_p * e[order[0]];
        std::size_t n = 0;
        while (n < keep && e[order[n]] >= bar) ++n;
        keep = std::max<std::size_t>(n, 1);
    }
    if (settings_.top_p < 1.0f) {
        // Smallest prefix whose mass reaches top_p (of the mass left after top-k/min-p), at least
        // one token.
        double kept_mass = 0;
        for (std::size_t i = 0; i < keep; ++i) kept_mass += e[order[i]];
        double acc = 0;
        std::size_t n = 0;
        while (n < keep) {
            acc += e[order[n]];
            ++n;
            if (acc >= settings_.top_p * kept_mass) break;
        }
        keep = n;
    }
    double kept = 0;
    for (std::size_t i = 0; i < keep; ++i) kept += e[order[i]];
    for (std::size_t i = 0; i < keep; ++i) p[std::size_t(order[i])] = float(e[order[i]] / kept);
    return p;
}

std::int32_t Sampler::sample(std::span<const float> logits, std::span<const std::int32_t> history) {
    const std::vector<float> p = distribution(logits, history);
    if (settings_.temperature <= 0.0f)
        return std::int32_t(std::max_element(p.begin(), p.end()) - p.begin());
    // Inverse-CDF draw with a uniform double from the seeded generator (portable across platforms,
    // unlike std::discrete_distribution).
    const double u = double(rng_() >> 11) * (1.0 / 9007199254740992.0);
    double acc = 0;
    std::int32_t last = 0;
    for (std::size_t i = 0; i < p.size(); ++i) {
        if (p[i] <= 0.0f) continue;
        acc += p[i];
        last = std::int32_t(i);
        if (u < acc) return last;
    }
    return last;
}

}  // namespace statescope
