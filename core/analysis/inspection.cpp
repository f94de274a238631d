#include "core/analysis/inspection.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/runtime/sequence.h"

namespace statescope {

const InspectionLayer* Inspection::find(std::int64_t layer) const {
    for (const auto& l : layers)
        if (l.index == layer) return &l;
    return nullptr;
}

namespace {

// Units with a map: the longest and shortest memory (Lyapunov), then evenly spaced others.
std::vector<std::int64_t> pick_units(const LyapunovLayer& ly, std::int64_t n) {
    std::vector<std::int64_t> out;
    const auto U = static_cast<std::int64_t>(ly.exponents.size());
    if (U == 0) return out;
    out.push_back(ly.argmax);
    const auto mn = std::min_element(ly.exponents.begin(), ly.exponents.end());
    out.push_back(static_cast<std::int64_t>(mn - ly.exponents.begin()));
    for (std::int64_t i = 0; static_cast<std::int64_t>(out.size()) < std::min(n, U) && i < U; ++i) {
        const std::int64_t u = (i * U) / std::max<std::int64_t>(1, n - 2) % U;
        if (std::find(out.begin(), out.end(), u) == out.end()) out.push_back(u);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

}  // namespace

Inspection inspect(Model& model, std::span<const std::int32_t> ids, const InspectOptions& o,
                   const ProgressFn& progress) {
    const auto T = static_cast<std::int64_t>(ids.size());
    if (T < 2) throw Error("inspect: needs at least 2 tokens");
    Inspection out;
    out.ids.assign(ids.begin(), ids.end());
    out.tokens = T;
    out.n_layers = model.spec().n_layers();
    const auto mamba = ssm_layers(model.spec());
    const auto attn = attention_layers(model.spec());
    const std::int64_t W = std::min(o.window, T);
    out.window_from = T - W;

    // Progress: five stages, each reported in thousandths as its own passes report chunks, so a
    // cancel takes effect at the next prefill chunk, not only between stages.
    const std::int64_t stages = 5;
    std::int64_t stage = 0;
    bool stopped = false;
    auto within = [&](std::int64_t done, std::int64_t total) {
        const std::int64_t at = stage * 1000 + (total > 0 ? 1000 * done / total : 0);
        if (progress && !progress(at, stages * 1000)) stopped = true;
        return !stopped;
    };
    auto step = [&] {
        ++stage;
        if (stopped || (progress && !progress(stage * 1000, stages * 1000)))
            throw Error("cancelled");
    };
    // 1. captures: delta of every token, B/C, state statistics every `stride`. Memory is bounded
    // by options.matrix_budget: the layers are captured in groups whose delta fits in it (one
    // prefill per group), and only evenly spaced layers keep their [T, U] delta and decay.
    if (!mamba.empty()) {
        std::vector<std::int64_t> units;
        {
            CaptureOptions probe;
            CaptureCollector c(model, probe);
            for (const auto& l : c.captures().layers) units.push_back(l.channels);
        }
        const std::int64_t umax = *std::max_element(units.begin(), units.end());
        const std::int64_t per_layer = 2 * T * umax;  // delta + decay floats of one layer
        const auto L = static_cast<std::int64_t>(mamba.size());
        const std::int64_t keep_n = std::clamp<std::int64_t>(o.matrix_budget / per_layer, 1, L);
        std::vector<std::vector<std::int64_t>> groups(1);
        std::int64_t in_group = 0;
        for (std::size_t i = 0; i < mamba.size(); ++i) {
            if (!groups.back().empty() && (in_group + 1) * T * umax > o.matrix_budget) {
                groups.emplace_back();
                in_group = 0;
            }
            groups.back().push_back(mamba[i]);
            ++in_group;
        }
        std::int64_t done_layers = 0;
        for (const auto& group : groups) {
            CaptureOptions copt;
            copt.layers = group;
            copt.keep_delta = true;
            copt.keep_bc = true;
            copt.state_stride =
                std::max<std::int64_t>(2, T / std::max<std::int64_t>(1, o.state_points));
            const std::int64_t g0 = done_layers;
            Captures cap = capture_prefill(model, ids, copt, [&](std::int64_t d, std::int64_t t) {
                return within(g0 * t + d * std::int64_t(group.size()), t * L);
            });
            if (stopped) throw Error("cancelled");
            for (LayerCapture& lc : cap.layers) {
                InspectionLayer il;
                il.index = lc.index;
                il.kind = lc.kind;
                il.units = lc.channels;
                il.decay = decay_layer(lc, T, std::nullopt);
                il.lyapunov = lyapunov_exponents(lc, T);
                il.state_stats = lc.state_stats;
                const ReceptiveField rf = receptive_field(lc, T, o.clamp_top);
                il.log_tA_prod = rf.log_tA_prod;
                for (double v : rf.log_tA_prod) il.global.push_back(v > std::log(o.longmamba_c));
                il.delta_mean.resize(std::size_t(T));
                for (std::int64_t t = 0; t < T; ++t) {
                    double sum = 0;  // mean over the layer's units of delta[t, u]
                    for (std::int64_t u = 0; u < lc.channels; ++u)
                        sum += lc.delta[std::size_t(t * lc.channels + u)];
                    il.delta_mean[std::size_t(t)] = float(sum / double(lc.channels));
                }
                // implicit attention: the window's own delta/B/C, from a zero state at its first
                // token
                LayerCapture win;
                win.index = lc.index;
                win.kind = lc.kind;
                win.channels = lc.channels;
                win.d_state = lc.d_state;
                win.head_dim = lc.head_dim;
                win.n_groups = lc.n_groups;
                win.A = lc.A;
                win.delta.assign(lc.delta.begin() + out.window_from * lc.channels, lc.delta.end());
                const std::int64_t GN = lc.n_groups * lc.d_state;
                win.B.assign(lc.B.end() - W * GN, lc.B.end());
                win.C.assign(lc.C.end() - W * GN, lc.C.end());
                for (std::int64_t u : pick_units(il.lyapunov, o.implicit_units))
                    out.implicit.push_back({lc.index, u, implicit_attention(win, u)});
                const std::int64_t i = done_layers++;
                const bool keep = (i * keep_n) % L < keep_n;  // keep_n of L, evenly spaced
                if (keep) {
                    il.delta = std::move(lc.delta);
                } else {
                    il.decay.decay.clear();
                    il.decay.decay.shrink_to_fit();
                }
                out.layers.push_back(std::move(il));
            }
        }
    }
    step();

    // 2. logit lens over every layer
    out.lens_k = o.lens_k;
    out.lens = logit_lens(model, ids, {}, o.lens_k, 512, within);
    if (stopped) throw Error("cancelled");
    step();

    // 3. real attention of the attention layers for the queries of the window
    if (!attn.empty()) {
        AttentionProbsOptions aopt;
        for (std::int64_t t = out.window_from; t < T; ++t) aopt.queries.push_back(t);
        aopt.key_from = out.window_from;
        aopt.key_to = T;
        out.attention = capture_attention_probs(model, ids, aopt, within);
        if (stopped) throw Error("cancelled");
    }
    step();

    // 4. LongMamba: calibrate on windows of a quarter of this prompt, target length = the prompt,
    // then run the filter on the whole prompt to get the kept-token mask.
    const std::int64_t cw = (T - 10) / 4;
    if (!mamba.empty() && cw >= 4) {
        CalibrationOptions copt;
        copt.window = cw;
        copt.samples = 4;
        copt.clamp_top = o.clamp_top;
        copt.lengths = {T};
        Calibration cal = calibrate_longmamba(model, ids, copt, within);
        if (stopped) throw Error("cancelled");
        LongMambaFilter::Settings s;
        s.c = o.longmamba_c;
        s.b = o.longmamba_b;
        s.min_tokens = 0;
        LongMambaFilter filter(std::move(cal), s);
        filter.begin_prompt(T);
        Sequence seq(model);
        model.add_observer(&filter);
        try {
            model.prefill(seq, ids, 512, within, nullptr);
        } catch (...) {
            model.remove_observer(&filter);
            throw;
        }
        model.remove_observer(&filter);
        if (stopped) throw Error("cancelled");
        out.longmamba_window = cw;
        out.longmamba_c = o.longmamba_c;
        for (const auto& m : filter.masks())
            for (auto& il : out.layers)
                if (il.index == m.index) {
                    il.global = m.global;
                    // share of the global units that keep token t
                    il.kept_share.assign(std::size_t(T), 1.0f);
                    std::int64_t g = 0;
                    for (bool x : m.global) g += x;
                    for (std::int64_t t = 0; g > 0 && t < T; ++t) {
                        std::int64_t k = 0;
                        for (std::int64_t u = 0; u < m.units; ++u)
                            if (m.global[std::size_t(u)]) k += m.kept[std::size_t(t * m.units + u)];
                        il.kept_share[std::size_t(t)] = float(k) / float(g);
                    }
                    if (il.has_matrices()) il.kept = m.kept;
                }
        for (const auto& cl : filter.calibration().layers)
            for (auto& il : out.layers)
                if (il.index == cl.index) il.log_tA_prod = cl.log_tA_prod;
    }
    step();

    // 5. measured perturbation growth of the state against the Lyapunov bound
    const std::int64_t stride = std::max<std::int64_t>(2, T / 16);
    if (!mamba.empty() && T >= 3 * stride) {
        PerturbationOptions popt;
        const auto n = std::min<std::int64_t>(o.perturb_layers, std::int64_t(mamba.size()));
        for (std::int64_t i = 0; i < n; ++i)
            popt.layers.push_back(mamba[std::size_t(i * std::int64_t(mamba.size()) / n)]);
        popt.stride = stride;
        popt.t0 = stride;
        out.perturbation = measure_perturbation(model, ids, popt, within);
        if (stopped) throw Error("cancelled");
        out.perturbation_options = popt;
    }
    step();
    return out;
}

}  // namespace statescope
