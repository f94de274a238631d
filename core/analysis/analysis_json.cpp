#include "core/analysis/analysis_json.h"

#include <cmath>

namespace statescope {

using nlohmann::json;

namespace {

json finite(double v) {
    return std::isfinite(v) ? json(v) : json(nullptr);
}

template <class V>
json vec(const V& v) {
    json a = json::array();
    for (auto x : v) a.push_back(finite(double(x)));
    return a;
}

// rows x cols row-major -> [[...], ...]
template <class V>
json matrix(const V& v, std::int64_t rows, std::int64_t cols) {
    json a = json::array();
    for (std::int64_t r = 0; r < rows; ++r) {
        json row = json::array();
        for (std::int64_t c = 0; c < cols; ++c)
            row.push_back(finite(double(v[std::size_t(r * cols + c)])));
        a.push_back(std::move(row));
    }
    return a;
}

}  // namespace

const char* mixer_name(MixerKind kind) {
    return kind == MixerKind::Mamba1 ? "mamba1" : "mamba2";
}

json A_json(const LayerCapture& l) {
    if (l.kind == MixerKind::Mamba2) return vec(l.A);
    return matrix(l.A, l.channels, l.d_state);
}

json delta_json(const LayerCapture& l, std::int64_t tokens) {
    return matrix(l.delta, tokens, l.channels);
}

json decay_json(const LayerCapture& l, const DecayLayer& d, std::int64_t tokens,
                const std::optional<RetentionWindow>& window) {
    json j = {
        {"index", l.index},
        {"mixer", mixer_name(l.kind)},
        {"units", l.kind == MixerKind::Mamba2 ? "head" : "channel"},
        {"n_units", l.channels},
        {"d_state", l.d_state},
        {"A", A_json(l)},
        {"delta", delta_json(l, tokens)},
        {"decay", matrix(d.decay, tokens, l.channels)},
        {"decay_reduction", l.kind == MixerKind::Mamba2 ? "exp(delta*A)" : "mean_over_state"},
        {"decay_mean", vec(d.decay_mean)},
        {"half_life", vec(d.half_life)},
    };
    const auto& q = d.half_life_quantiles;
    j["half_life_quantiles"] = {{"min", finite(q[0])},
                                {"p10", finite(q[1])},
                                {"p50", finite(q[2])},
                                {"p90", finite(q[3])},
                                {"max", finite(q[4])}};
    if (window) {
        j["retention"] = {{"from", window->from},
                          {"to", window->to},
                          {"log10", l.kind == MixerKind::Mamba2
                                        ? vec(d.log10_retention)
                                        : matrix(d.log10_retention, l.channels, l.d_state)}};
    }
    return j;
}

json lyapunov_json(const LyapunovLayer& l) {
    json hl = json::array();
    for (double e : l.exponents) hl.push_back(finite(half_life(e)));
    return {
        {"index", l.index},
        {"mixer", mixer_name(l.kind)},
        {"units", l.kind == MixerKind::Mamba2 ? "head" : "channel"},
        {"exponents", vec(l.exponents)},
        {"mean_delta", vec(l.mean_delta)},
        {"max", finite(l.max)},
        {"argmax", l.argmax},
        {"half_life", hl},
    };
}

json perturbation_json(const std::vector<PerturbationLayer>& layers, const PerturbationOptions& o) {
    json ls = json::array();
    for (const auto& l : layers)
        ls.push_back({{"index", l.index},
                      {"positions", l.positions},
                      {"divergence", vec(l.divergence)},
                      {"measured", vec(l.measured)},
                      {"relative", vec(l.relative)},
                      {"bound", vec(l.bound)}});
    return {{"mode", o.bf16_state          ? "bf16-state"
                     : o.perturb_embedding ? "embedding"
                                           : "state"},
            {"t0", o.t0},
            {"epsilon", o.epsilon},
            {"stride", o.stride},
            {"seed", o.seed},
            {"layers", ls}};
}

json state_stats_json(const LayerCapture& l) {
    json pos = json::array(), mean = json::array(), var = json::array(), rms = json::array(),
         cos = json::array();
    for (const auto& s : l.state_stats) {
        pos.push_back(s.position);
        mean.push_back(vec(s.mean));
        var.push_back(vec(s.var));
        rms.push_back(vec(s.rms));
        cos.push_back(vec(s.cos_prev));
    }
    return {{"index", l.index},
            {"mixer", mixer_name(l.kind)},
            {"units", l.kind == MixerKind::Mamba2 ? "head" : "channel"},
            {"positions", pos},
            {"mean", mean},
            {"var", var},
            {"rms", rms},
            {"cos_prev", cos}};
}

}  // namespace statescope
