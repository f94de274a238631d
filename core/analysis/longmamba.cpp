#include "core/analysis/longmamba.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "core/error.h"

namespace statescope {

using nlohmann::json;

ReceptiveField receptive_field(const LayerCapture& layer, std::int64_t T, double clamp_top,
                               bool keep_sorted) {
    const std::int64_t U = layer.channels, N = layer.d_state;
    if (static_cast<std::int64_t>(layer.delta.size()) != T * U)
        throw Error("receptive field: delta of layer " + std::to_string(layer.index) +
                    " was not kept");
    ReceptiveField rf;
    rf.index = layer.index;
    rf.kind = layer.kind;
    rf.tokens = T;
    std::vector<float> col(static_cast<std::size_t>(T));
    for (std::int64_t u = 0; u < U; ++u) {
        for (std::int64_t t = 0; t < T; ++t)
            col[std::size_t(t)] = layer.delta[std::size_t(t * U + u)];
        std::vector<float> sorted = col;
        std::sort(sorted.begin(), sorted.end(), std::greater<>());
        if (clamp_top > 0) {
            // "clampTop{sc}": q = the k-th largest, k = max(1, int(T * sc)); delta = min(delta, q)
            const auto k =
                std::max<std::int64_t>(1, static_cast<std::int64_t>(double(T) * clamp_top));
            const float q = sorted[std::size_t(std::min(k, T) - 1)];
            for (auto& v : col) v = std::min(v, q);
            for (auto& v : sorted) v = std::min(v, q);
        }
        double sum = 0;
        for (float v : col) sum += v;
        rf.decay.push_back(sum);
        if (layer.kind == MixerKind::Mamba2) {
            rf.log_tA_prod.push_back(double(layer.A[std::size_t(u)]) * sum);  // log exp(A * sum dc)
        } else {
            double lp = 0;  // sum_t log(mean_n exp(dc[t] * A[d, n]))
            for (float v : col) {
                double m = 0;
                for (std::int64_t n = 0; n < N; ++n)
                    m += std::exp(double(v) * layer.A[std::size_t(u * N + n)]);
                lp += std::log(m / double(N));
            }
            rf.log_tA_prod.push_back(lp);
        }
        if (keep_sorted) rf.sorted_clamped.push_back(std::move(sorted));
    }
    return rf;
}

std::vector<double> interpolate_linear(std::span<const float> v, std::int64_t size) {
    const auto in = static_cast<std::int64_t>(v.size());
    std::vector<double> out(static_cast<std::size_t>(size));
    const double scale = double(in) / double(size);
    for (std::int64_t i = 0; i < size; ++i) {
        // area_pixel_compute_source_index(align_corners=false): src = scale * (i + 0.5) - 0.5, >= 0
        const double src = std::max(0.0, scale * (double(i) + 0.5) - 0.5);
        const auto i0 = static_cast<std::int64_t>(src);
        const std::int64_t i1 = i0 < in - 1 ? i0 + 1 : i0;
        const double l1 = src - double(i0);
        out[std::size_t(i)] = (1.0 - l1) * v[std::size_t(i0)] + l1 * v[std::size_t(i1)];
    }
    return out;
}

std::vector<std::int64_t> longmamba_lengths() {
    std::vector<std::int64_t> k = {1,  2,  3,  4,  5,  6,  7,  8,  10,  12,  14,  16, 20,
                                   24, 30, 36, 44, 54, 64, 80, 96, 120, 144, 168, 192};
    for (auto& v : k) v *= 1000;
    return k;
}

void align_target(std::span<const float> sorted_desc, double decay, std::int64_t S, double& alpha,
                  double& threshold) {
    if (S <= static_cast<std::int64_t>(sorted_desc.size())) {
        alpha = 1;
        threshold = 0;
        return;
    }
    const std::vector<double> m = interpolate_linear(sorted_desc, S);
    double cum = 0;
    std::int64_t k = 0;  // argmax(cum > decay): the first index past the total, 0 when none is
    for (std::int64_t i = 0; i < S; ++i) {
        cum += m[std::size_t(i)];
        if (cum > decay) {
            k = i;
            break;
        }
    }
    k += 1;
    alpha = std::min(double(k) / double(S), 1.0);
    threshold = m[std::size_t(std::min(k, S - 1))];
}

Calibration calibrate_longmamba(Model& model, std::span<const std::int32_t> ids,
                                const CalibrationOptions& o, const ProgressFn& progress) {
    const auto P = static_cast<std::int64_t>(ids.size());
    if (o.window < 2) throw Error("longmamba-calibrate: the window must be at least 2 tokens");
    if (P < o.window + 10)
        throw Error("longmamba-calibrate: the calibration text has " + std::to_string(P) +
                    " tokens; a window of " + std::to_string(o.window) + " needs at least " +
                    std::to_string(o.window + 10));
    if (o.aggregate != "max" && o.aggregate != "mean")
        throw Error("longmamba-calibrate: aggregate must be max or mean (got " + o.aggregate + ")");
    Calibration cal;
    cal.model_type = model.spec().model_type;
    cal.n_layers = model.spec().n_layers();
    cal.window = o.window;
    cal.clamp_top = o.clamp_top;
    cal.aggregate = o.aggregate;
    cal.lengths = o.lengths.empty() ? longmamba_lengths() : o.lengths;
    // Window i starts at int(P / samples * i + 10) (load_align_target.py); those that would run
    // past the text are skipped.
    std::vector<std::int64_t> starts;
    for (std::int64_t i = 0; i < std::max<std::int64_t>(1, o.samples); ++i) {
        const auto s = static_cast<std::int64_t>(double(P) / double(o.samples) * double(i) + 10);
        if (s + o.window <= P) starts.push_back(s);
    }
    CaptureOptions copt;
    copt.layers = o.layers;
    copt.keep_delta = true;
    copt.chunk = o.chunk;
    const std::size_t L = cal.lengths.size();
    std::int64_t done = 0;
    for (std::int64_t s : starts) {
        Captures cap =
            capture_prefill(model, ids.subspan(std::size_t(s), std::size_t(o.window)), copt);
        if (cal.layers.empty())
            for (const auto& l : cap.layers) {
                CalibrationLayer cl;
                cl.index = l.index;
                cl.kind = l.kind;
                const std::size_t U = std::size_t(l.channels);
                const double init =
                    o.aggregate == "max" ? -std::numeric_limits<double>::infinity() : 0.0;
                cl.decay.assign(U, init);
                cl.log_tA_prod.assign(U, init);
                cl.alpha.assign(L, std::vector<double>(U, init));
                cl.threshold.assign(L, std::vector<double>(U, init));
                cal.layers.push_back(std::move(cl));
            }
        for (std::size_t li = 0; li < cap.layers.size(); ++li) {
            const LayerCapture& l = cap.layers[li];
            CalibrationLayer& cl = cal.layers[li];
            const ReceptiveField rf = receptive_field(l, o.window, o.clamp_top, true);
            auto fold = [&](double& acc, double v) {
                acc = o.aggregate == "max" ? std::max(acc, v) : acc + v / double(starts.size());
            };
            for (std::int64_t u = 0; u < l.channels; ++u) {
                fold(cl.decay[std::size_t(u)], rf.decay[std::size_t(u)]);
                fold(cl.log_tA_prod[std::size_t(u)], rf.log_tA_prod[std::size_t(u)]);
                for (std::size_t k = 0; k < L; ++k) {
                    double alpha = 0, thr = 0;
                    align_target(rf.sorted_clamped[std::size_t(u)], rf.decay[std::size_t(u)],
                                 cal.lengths[k], alpha, thr);
                    fold(cl.alpha[k][std::size_t(u)], alpha);
                    fold(cl.threshold[k][std::size_t(u)], thr);
                }
            }
        }
        ++done;
        if (progress && !progress(done, static_cast<std::int64_t>(starts.size()))) break;
    }
    cal.windows = done;
    return cal;
}

json calibration_json(const Calibration& c) {
    json layers = json::array();
    for (const auto& l : c.layers)
        layers.push_back({{"index", l.index},
                          {"mixer", l.kind == MixerKind::Mamba1 ? "mamba1" : "mamba2"},
                          {"units", l.kind == MixerKind::Mamba2 ? "head" : "channel"},
                          {"decay", l.decay},
                          {"log_tA_prod", l.log_tA_prod},
                          {"alpha", l.alpha},
                          {"dt_threshold", l.threshold}});
    return {{"kind", "longmamba-calibrate"},
            {"model_type", c.model_type},
            {"n_layers", c.n_layers},
            {"window", c.window},
            {"windows", c.windows},
            {"clamp_top", c.clamp_top},
            {"aggregate", c.aggregate},
            {"lengths", c.lengths},
            {"layers", layers}};
}

Calibration calibration_from_json(const json& j) {
    Calibration c;
    try {
        if (j.value("kind", "") != "longmamba-calibrate")
            throw Error("not a LongMamba calibration (\"kind\" is not \"longmamba-calibrate\")");
        c.model_type = j.at("model_type").get<std::string>();
        c.n_layers = j.at("n_layers").get<std::int64_t>();
        c.window = j.at("window").get<std::int64_t>();
        c.windows = j.value("windows", std::int64_t(0));
        c.clamp_top = j.value("clamp_top", 0.0);
        c.aggregate = j.value("aggregate", "max");
        c.lengths = j.at("lengths").get<std::vector<std::int64_t>>();
        if (c.lengths.empty()) throw Error("\"lengths\" is empty");
        for (const auto& lj : j.at("layers")) {
            CalibrationLayer l;
            l.index = lj.at("index").get<std::int64_t>();
            const std::string mixer = lj.at("mixer").get<std::string>();
            if (mixer != "mamba1" && mixer != "mamba2")
                throw Error("layer mixer \"" + mixer + "\" is not a Mamba mixer");
            l.kind = mixer == "mamba1" ? MixerKind::Mamba1 : MixerKind::Mamba2;
            l.decay = lj.at("decay").get<std::vector<double>>();
            l.log_tA_prod = lj.at("log_tA_prod").get<std::vector<double>>();
            l.alpha = lj.at("alpha").get<std::vector<std::vector<double>>>();
            l.threshold = lj.at("dt_threshold").get<std::vector<std::vector<double>>>();
            if (l.threshold.size() != c.lengths.size() || l.log_tA_prod.size() != l.decay.size())
                throw Error("layer " + std::to_string(l.index) +
                            " does not have one threshold row per length");
            for (const auto& row : l.threshold)
                if (row.size() != l.decay.size())
                    throw Error("layer " + std::to_string(l.index) +
                                " has threshold rows of the wrong width");
            c.layers.push_back(std::move(l));
        }
    } catch (const json::exception& e) {
        throw Error(std::string("LongMamba calibration: ") + e.what());
    }
    return c;
}

LongMambaFilter::LongMambaFilter(Calibration calibration, Settings settings)
    : cal_(std::move(calibration)), settings_(settings) {
    for (std::size_t i = 0; i < cal_.layers.size(); ++i) {
        const auto idx = cal_.layers[i].index;
        if (idx < 0) throw Error("LongMamba calibration: negative layer index");
        if (std::size_t(idx) >= slot_.size()) slot_.resize(std::size_t(idx) + 1, -1);
        slot_[std::size_t(idx)] = static_cast<int>(i);
    }
}

void LongMambaFilter::check(const ModelSpec& spec) const {
    if (cal_.model_type != spec.model_type || cal_.n_layers != spec.n_layers())
        throw Error("LongMamba calibration was made for a " + cal_.model_type + " model of " +
                    std::to_string(cal_.n_layers) + " layers; this is a " + spec.model_type +
                    " model of " + std::to_string(spec.n_layers()));
    for (const auto& l : cal_.layers) {
        if (l.index >= spec.n_layers())
            throw Error("LongMamba calibration names layer " + std::to_string(l.index));
        const BlockSpec& b = spec.blocks[std::size_t(l.index)];
        const std::int64_t units = b.main().kind == MixerKind::Mamba1
                                       ? std::get<Mamba1Spec>(b.main().mixer).d_inner
                                       : std::get<Mamba2Spec>(b.main().mixer).n_heads;
        if (b.main().kind != l.kind || static_cast<std::int64_t>(l.decay.size()) != units)
            throw Error("LongMamba calibration layer " + std::to_string(l.index) +
                        " does not match the model (" + std::to_string(l.decay.size()) +
                        " units, the model has " + std::to_string(units) + ")");
    }
}

void LongMambaFilter::begin_prompt(std::int64_t prompt_tokens) {
    active_ = prompt_tokens >= settings_.min_tokens;
    // key = the calibrated length nearest the prompt length (min over |seqlen - S|, first on ties)
    std::size_t best = 0;
    for (std::size_t i = 1; i < cal_.lengths.size(); ++i)
        if (std::llabs(cal_.lengths[i] - prompt_tokens) <
            std::llabs(cal_.lengths[best] - prompt_tokens))
            best = i;
    length_slot_ = best;
    target_ = cal_.lengths[best];
    masks_.clear();
    for (const auto& l : cal_.layers) {
        LayerMask m;
        m.index = l.index;
        m.units = static_cast<std::int64_t>(l.decay.size());
        const double log_c = std::log(settings_.c);
        for (double v : l.log_tA_prod) m.global.push_back(v > log_c);  // tA_prod > c
        masks_.push_back(std::move(m));
    }
}

bool LongMambaFilter::wants(std::string_view point) const {
    if (!active_ || !point.starts_with("layer.") || !point.ends_with(".ssm.delta")) return false;
    std::int64_t layer = 0;
    for (std::size_t i = 6; i < point.size() && point[i] != '.'; ++i)
        layer = layer * 10 + (point[i] - '0');
    return layer < static_cast<std::int64_t>(slot_.size()) && slot_[std::size_t(layer)] >= 0;
}

void LongMambaFilter::on_capture(const Capture& c, kernels::Backend& be) {
    const std::int64_t T = c.shape[0], U = c.shape[1];
    if (T == 1 && c.position > 0) return;  // decode step: LongMamba's Mamba2.step is vanilla
    const int slot = slot_[std::size_t(c.layer)];
    const CalibrationLayer& cl = cal_.layers[std::size_t(slot)];
    LayerMask& mask = masks_[std::size_t(slot)];
    scratch_.resize(std::size_t(T * U));
    be.copy_to_host(c.data, scratch_.data(), scratch_.size() * sizeof(float));
    const auto& thr = cl.threshold[length_slot_];
    for (std::int64_t t = 0; t < T; ++t)
        for (std::int64_t u = 0; u < U; ++u) {
            float& d = scratch_[std::size_t(t * U + u)];
            bool keep = true;
            // get_channelwise_dt_threshold: keep delta > b * dt_thre (strict); the rest *
            // slow_factor 0
            if (mask.global[std::size_t(u)]) keep = double(d) > settings_.b * thr[std::size_t(u)];
            if (!keep) d = 0.0f;
            if (settings_.record_mask) mask.kept.push_back(keep ? 1 : 0);
        }
    be.copy_from_host(scratch_.data(), c.data, scratch_.size() * sizeof(float));
}

json filter_masks_json(const LongMambaFilter& f) {
    json layers = json::array();
    for (const auto& m : f.masks()) {
        const std::int64_t T = m.units ? static_cast<std::int64_t>(m.kept.size()) / m.units : 0;
        json kept = json::array(), fraction = json::array();
        for (std::int64_t t = 0; t < T; ++t) {
            std::string row;
            for (std::int64_t u = 0; u < m.units; ++u)
                row += m.kept[std::size_t(t * m.units + u)] ? '1' : '0';
            kept.push_back(row);
        }
        for (std::int64_t u = 0; u < m.units; ++u) {
            std::int64_t k = 0;
            for (std::int64_t t = 0; t < T; ++t) k += m.kept[std::size_t(t * m.units + u)];
            fraction.push_back(T ? double(k) / double(T) : 1.0);
        }
        json global = json::array();
        for (bool g : m.global) global.push_back(g);
        layers.push_back(
            {{"index", m.index}, {"global", global}, {"kept_fraction", fraction}, {"kept", kept}});
    }
    return {{"active", f.active()}, {"target_length", f.target_length()},    {"c", f.settings().c},
            {"b", f.settings().b},  {"min_tokens", f.settings().min_tokens}, {"layers", layers}};
}

}  // namespace statescope
