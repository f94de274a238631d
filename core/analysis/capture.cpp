#include "core/analysis/capture.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/runtime/sequence.h"

namespace statescope {

LayerCapture* Captures::find(std::int64_t layer) {
    for (auto& l : layers)
        if (l.index == layer) return &l;
    return nullptr;
}

std::vector<std::int64_t> ssm_layers(const ModelSpec& spec) {
    std::vector<std::int64_t> out;
    for (std::int64_t i = 0; i < spec.n_layers(); ++i) {
        const auto kind = spec.blocks[std::size_t(i)].main().kind;
        if (kind == MixerKind::Mamba1 || kind == MixerKind::Mamba2) out.push_back(i);
    }
    return out;
}

std::vector<float> layer_A(const Model& model, std::int64_t layer) {
    const BlockSpec& b = model.spec().blocks.at(std::size_t(layer));
    const std::string& prefix = b.main().kind == MixerKind::Mamba1
                                    ? std::get<Mamba1Spec>(b.main().mixer).prefix
                                    : std::get<Mamba2Spec>(b.main().mixer).prefix;
    std::vector<float> a = model.weights().get(prefix + "A_log").to_f32();
    for (auto& v : a) v = -std::exp(v);  // fp32, as Mamba1Mixer / Mamba2Mixer at load
    return a;
}

CaptureCollector::CaptureCollector(const Model& model, CaptureOptions options)
    : options_(std::move(options)) {
    const ModelSpec& spec = model.spec();
    std::vector<std::int64_t> layers = options_.layers.empty() ? ssm_layers(spec) : options_.layers;
    slot_.assign(std::size_t(spec.n_layers()), -1);
    for (std::int64_t i : layers) {
        if (i < 0 || i >= spec.n_layers())
            throw Error("layer " + std::to_string(i) + " does not exist (the model has " +
                        std::to_string(spec.n_layers()) + " layers, 0.." +
                        std::to_string(spec.n_layers() - 1) + ")");
        if (slot_[std::size_t(i)] >= 0) continue;
        const BlockSpec& b = spec.blocks[std::size_t(i)];
        LayerCapture lc;
        lc.index = i;
        lc.kind = b.main().kind;
        if (b.main().kind == MixerKind::Mamba1) {
            const auto& m = std::get<Mamba1Spec>(b.main().mixer);
            lc.channels = m.d_inner;
            lc.d_state = m.d_state;
        } else if (b.main().kind == MixerKind::Mamba2) {
            const auto& m = std::get<Mamba2Spec>(b.main().mixer);
            lc.channels = m.n_heads;
            lc.d_state = m.d_state;
            lc.head_dim = m.head_dim;
            lc.n_groups = m.n_groups;
        } else {
            throw Error(std::string("layer ") + std::to_string(i) + " is a " +
                        b.main().kind_name() + " layer; this capture needs a Mamba layer");
        }
        lc.A = layer_A(model, i);
        lc.delta_sum.assign(std::size_t(lc.channels), 0.0);
        slot_[std::size_t(i)] = static_cast<int>(captures_.layers.size());
        captures_.layers.push_back(std::move(lc));
    }
    std::sort(options_.state_positions.begin(), options_.state_positions.end());
}

namespace {

// "layer.12.ssm.delta" -> "ssm.delta" (the runtime builds the names, so the shape is known).
std::string_view local_name(std::string_view point) {
    if (!point.starts_with("layer.")) return point;
    const auto dot = point.find('.', 6);
    return dot == std::string_view::npos ? point : point.substr(dot + 1);
}

std::int64_t layer_of(std::string_view point) {
    if (!point.starts_with("layer.")) return -1;
    std::int64_t v = 0;
    std::size_t i = 6;
    if (i >= point.size() || point[i] < '0' || point[i] > '9') return -1;
    for (; i < point.size() && point[i] >= '0' && point[i] <= '9'; ++i)
        v = v * 10 + (point[i] - '0');
    return v;
}

}  // namespace

std::pair<std::int64_t, std::int64_t> CaptureCollector::kept_rows(std::int64_t position,
                                                                  std::int64_t T) const {
    // rows [a, b) of a call covering tokens [position, position + T) that fall in the kept window
    const std::int64_t to =
        options_.keep_to < 0 ? std::numeric_limits<std::int64_t>::max() : options_.keep_to;
    const std::int64_t a = std::clamp(options_.keep_from - position, std::int64_t(0), T);
    const std::int64_t b = std::clamp(to - position, std::int64_t(0), T);
    return {a, std::max(a, b)};
}

bool CaptureCollector::wants(std::string_view point) const {
    const std::int64_t layer = layer_of(point);
    if (layer < 0 || layer >= static_cast<std::int64_t>(slot_.size()) ||
        slot_[std::size_t(layer)] < 0)
        return false;
    const std::string_view name = local_name(point);
    if (name == "ssm.delta") return true;
    if (name == "ssm.B" || name == "ssm.C") return options_.bc_norms || options_.keep_bc;
    if (name == "ssm.state") return options_.state_stride > 0 || !options_.state_positions.empty();
    return false;
}

void CaptureCollector::on_capture(const Capture& c, kernels::Backend& backend) {
    LayerCapture& lc = captures_.layers[std::size_t(slot_[std::size_t(c.layer)])];
    const std::string_view name = local_name(c.point);
    if (name == "ssm.delta") {
        // delta: [T, C] contiguous
        const std::int64_t T = c.shape[0], C = c.shape[1];
        lc.last_call_tokens_ = T;
        scratch_.resize(std::size_t(T * C));
        backend.copy_to_host(c.data, scratch_.data(), scratch_.size() * sizeof(float));
        for (std::int64_t t = 0; t < T; ++t) {
            const float* row = scratch_.data() + t * C;
            for (std::int64_t j = 0; j < C; ++j) lc.delta_sum[std::size_t(j)] += row[j];
        }
        if (options_.keep_delta) {
            const auto [a, b] = kept_rows(c.position, T);
            lc.delta.insert(lc.delta.end(), scratch_.begin() + a * C, scratch_.begin() + b * C);
        }
        if (lc.index == captures_.layers.front().index) captures_.tokens = c.position + T;
        return;
    }
    if (name == "ssm.B" || name == "ssm.C") {
        // [T, G*N] rows `stride` apart: one norm per token and group
        const std::int64_t T = c.shape[0], GN = c.shape[1], G = lc.n_groups, N = GN / G;
        scratch_.resize(std::size_t((T - 1) * c.stride + GN));
        backend.copy_to_host(c.data, scratch_.data(), scratch_.size() * sizeof(float));
        if (options_.keep_bc) {
            auto& rows = name == "ssm.B" ? lc.B : lc.C;
            const auto [a, b] = kept_rows(c.position, T);
            for (std::int64_t t = a; t < b; ++t)
                rows.insert(rows.end(), scratch_.begin() + t * c.stride,
                            scratch_.begin() + t * c.stride + GN);
        }
        if (!options_.bc_norms) return;
        auto& out = name == "ssm.B" ? lc.b_norm : lc.c_norm;
        for (std::int64_t t = 0; t < T; ++t)
            for (std::int64_t g = 0; g < G; ++g) {
                double s = 0;
                const float* v = scratch_.data() + t * c.stride + g * N;
                for (std::int64_t n = 0; n < N; ++n) s += double(v[n]) * v[n];
                out.push_back(static_cast<float>(std::sqrt(s)));
            }
        return;
    }
    if (name == "ssm.state") {
        const std::int64_t pos = c.position + lc.last_call_tokens_;  // tokens seen after this call
        const bool stat = options_.state_stride > 0 && pos % options_.state_stride == 0;
        const bool keep = std::binary_search(options_.state_positions.begin(),
                                             options_.state_positions.end(), pos);
        if (!stat && !keep) return;
        std::size_t n = 1;
        for (auto s : c.shape) n *= std::size_t(s);
        std::vector<float> state(n);
        backend.copy_to_host(c.data, state.data(), n * sizeof(float));
        if (stat) {
            // units: channels [I] of N values (Mamba-1) or heads [H] of P*N values (Mamba-2)
            const std::int64_t units = c.shape[0];
            const std::int64_t per = static_cast<std::int64_t>(n) / units;
            StateStats st;
            st.position = pos;
            for (std::int64_t u = 0; u < units; ++u) {
                const float* s = state.data() + u * per;
                double sum = 0, sq = 0, dot = 0, prev_sq = 0;
                for (std::int64_t k = 0; k < per; ++k) {
                    sum += s[k];
                    sq += double(s[k]) * s[k];
                }
                const double mean = sum / double(per);
                st.mean.push_back(static_cast<float>(mean));
                st.var.push_back(static_cast<float>(std::max(0.0, sq / double(per) - mean * mean)));
                st.rms.push_back(static_cast<float>(std::sqrt(sq / double(per))));
                float cosv = std::numeric_limits<float>::quiet_NaN();
                if (lc.prev_state_.size() == n) {
                    const float* p = lc.prev_state_.data() + u * per;
                    for (std::int64_t k = 0; k < per; ++k) {
                        dot += double(s[k]) * p[k];
                        prev_sq += double(p[k]) * p[k];
                    }
                    if (sq > 0 && prev_sq > 0)
                        cosv = static_cast<float>(dot / std::sqrt(sq * prev_sq));
                }
                st.cos_prev.push_back(cosv);
            }
            lc.state_stats.push_back(std::move(st));
            lc.prev_state_ = state;
        }
        if (keep) lc.states.push_back({pos, std::move(state)});
    }
}

std::vector<std::int64_t> chunk_ends(std::int64_t T, std::int64_t chunk, std::int64_t stride,
                                     const std::vector<std::int64_t>& positions) {
    std::set<std::int64_t> ends;
    if (chunk <= 0) chunk = T;
    for (std::int64_t e = chunk; e < T; e += chunk) ends.insert(e);
    if (stride > 0)
        for (std::int64_t e = stride; e < T; e += stride) ends.insert(e);
    for (auto p : positions)
        if (p > 0 && p < T) ends.insert(p);
    ends.insert(T);
    std::vector<std::int64_t> out;
    std::int64_t prev = 0;
    for (auto e : ends) {
        if (e - prev == 1 && prev > 0) {
            out.back() = e;  // no one-token chunk after position 0 (it would be a decode step)
        } else {
            out.push_back(e);
        }
        prev = e;
    }
    return out;
}

bool prefill_with_ends(Model& model, Sequence& seq, std::span<const std::int32_t> ids,
                       const std::vector<std::int64_t>& ends, const ProgressFn& progress,
                       std::vector<float>* last_logits) {
    const auto total = static_cast<std::int64_t>(ids.size());
    std::int64_t done = 0;
    for (std::int64_t e : ends) {
        const bool last = e == total;
        model.forward(seq, ids.subspan(std::size_t(done), std::size_t(e - done)),
                      last && last_logits ? LogitRows::Last : LogitRows::None,
                      last ? last_logits : nullptr);
        done = e;
        if (progress && !progress(done, total) && !last) return false;
    }
    return true;
}

Captures capture_prefill(Model& model, std::span<const std::int32_t> ids,
                         const CaptureOptions& options, const ProgressFn& progress) {
    if (ids.empty()) throw Error("no tokens to analyze");
    CaptureCollector collector(model, options);
    Sequence seq(model);
    model.add_observer(&collector);
    try {
        const auto T = static_cast<std::int64_t>(ids.size());
        prefill_with_ends(
            model, seq, ids,
            chunk_ends(T, options.chunk, options.state_stride, options.state_positions), progress);
    } catch (...) {
        model.remove_observer(&collector);
        throw;
    }
    model.remove_observer(&collector);
    Captures out = std::move(collector.captures());
    out.tokens = static_cast<std::int64_t>(ids.size());
    return out;
}

}  // namespace statescope
