#include "core/analysis/lens.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>

#include "core/error.h"
#include "core/runtime/mixer.h"
#include "core/runtime/sequence.h"

namespace statescope {

namespace {

class LensObserver : public Observer {
  public:
    LensObserver(Model& model, std::vector<std::int64_t> layers, std::int64_t k,
                 std::span<const std::int32_t> ids)
        : model_(model), k_(k), ids_(ids) {
        const ModelSpec& spec = model.spec();
        lm_head_ = bind_matrix(model.weights(), spec.lm_head, model.backend());
        norm_ = bind_f32(model.weights(), spec.final_norm, model.backend());
        for (auto l : layers) {
            if (l < 0 || l >= spec.n_layers())
                throw Error("layer " + std::to_string(l) + " does not exist (the model has " +
                            std::to_string(spec.n_layers()) + " layers)");
            out_[l].index = l;
        }
    }
    bool wants(std::string_view p) const override {
        if (!p.ends_with(".resid_post")) return false;
        std::int64_t layer = 0;
        for (std::size_t i = 6; i < p.size() && p[i] != '.'; ++i) layer = layer * 10 + (p[i] - '0');
        return out_.count(layer) != 0;
    }
    void on_capture(const Capture& c, kernels::Backend& be) override {
        const ModelSpec& spec = model_.spec();
        const std::int64_t T = c.shape[0], D = spec.d_model, V = spec.vocab_size;
        if (!u_ || u_->bytes() < std::size_t(T * D) * sizeof(float))
            u_ = be.alloc(std::size_t(T * D) * sizeof(float));
        if (!logits_ || logits_->bytes() < std::size_t(T * V) * sizeof(float))
            logits_ = be.alloc(std::size_t(T * V) * sizeof(float));
        float* u = static_cast<float*>(u_->data());
        float* lg = static_cast<float*>(logits_->data());
        // logits = lm_head(RMSNorm(h; norm_f))   as Model::forward does for its last layer
        be.rmsnorm(c.data, c.stride, T, D, static_cast<float*>(norm_->data()),
                   static_cast<float>(spec.final_norm_eps), u, D);
        be.matmul(u, D, T, lm_head_.w, nullptr, lg, V);
        host_.resize(std::size_t(T * V));
        be.copy_to_host(lg, host_.data(), host_.size() * sizeof(float));
        LensLayer& out = out_[c.layer];
        std::vector<std::int32_t> order(static_cast<std::size_t>(V));
        for (std::int64_t t = 0; t < T; ++t) {
            const float* row = host_.data() + t * V;
            const double mx = *std::max_element(row, row + V);
            double z = 0;
            for (std::int64_t v = 0; v < V; ++v) z += std::exp(double(row[v]) - mx);
            std::iota(order.begin(), order.end(), 0);
            const std::int64_t k = std::min(k_, V);
            std::partial_sort(order.begin(), order.begin() + k, order.end(),
                              [&](std::int32_t a, std::int32_t b) {
                                  return row[a] > row[b] || (row[a] == row[b] && a < b);
                              });
            for (std::int64_t i = 0; i < k; ++i) {
                out.top_ids.push_back(order[std::size_t(i)]);
                out.top_probs.push_back(
                    static_cast<float>(std::exp(double(row[order[std::size_t(i)]]) - mx) / z));
            }
            const std::int64_t pos = c.position + t;
            if (pos + 1 < static_cast<std::int64_t>(ids_.size())) {
                const std::int32_t next = ids_[std::size_t(pos + 1)];
                out.next_prob.push_back(static_cast<float>(std::exp(double(row[next]) - mx) / z));
                std::int32_t rank = 0;
                for (std::int64_t v = 0; v < V; ++v)
                    rank += row[v] > row[next] || (row[v] == row[next] && v < next);
                out.next_rank.push_back(rank);
            } else {
                out.next_prob.push_back(std::numeric_limits<float>::quiet_NaN());
                out.next_rank.push_back(-1);
            }
        }
    }
    std::map<std::int64_t, LensLayer> out_;

  private:
    Model& model_;
    std::int64_t k_;
    std::span<const std::int32_t> ids_;
    BoundWeight lm_head_;
    std::unique_ptr<kernels::Buffer> norm_, u_, logits_;
    std::vector<float> host_;
};

}  // namespace

std::vector<LensLayer> logit_lens(Model& model, std::span<const std::int32_t> ids,
                                  std::vector<std::int64_t> layers, std::int64_t k,
                                  std::int64_t chunk, const ProgressFn& progress) {
    if (ids.empty()) throw Error("logit lens: no tokens");
    if (k < 1) throw Error("logit lens: k must be at least 1");
    if (layers.empty())
        for (std::int64_t i = 0; i < model.spec().n_layers(); ++i) layers.push_back(i);
    LensObserver obs(model, layers, k, ids);
    Sequence seq(model);
    model.add_observer(&obs);
    try {
        prefill_with_ends(model, seq, ids,
                          chunk_ends(static_cast<std::int64_t>(ids.size()), chunk, 0, {}),
                          progress);
    } catch (...) {
        model.remove_observer(&obs);
        throw;
    }
    model.remove_observer(&obs);
    std::vector<LensLayer> out;
    for (auto& [i, l] : obs.out_) out.push_back(std::move(l));
    return out;
}

std::vector<float> implicit_attention(const LayerCapture& l, std::int64_t unit) {
    const std::int64_t U = l.channels, N = l.d_state, G = l.n_groups;
    const auto W = static_cast<std::int64_t>(l.delta.size()) / U;
    if (W == 0 || static_cast<std::int64_t>(l.B.size()) != W * G * N || l.C.size() != l.B.size())
        throw Error("implicit attention: layer " + std::to_string(l.index) +
                    " has no delta / B / C window");
    if (unit < 0 || unit >= U)
        throw Error("implicit attention: unit " + std::to_string(unit) + " is outside 0.." +
                    std::to_string(U - 1));
    // cs[t] = sum_{r <= t} delta[r, unit] (fp64), so sum_{r=s+1..t} = cs[t] - cs[s]
    std::vector<double> cs(static_cast<std::size_t>(W));
    double acc = 0;
    for (std::int64_t t = 0; t < W; ++t)
        cs[std::size_t(t)] = acc += l.delta[std::size_t(t * U + unit)];
    std::vector<float> M(static_cast<std::size_t>(W * W), 0.0f);
    const std::int64_t g = l.kind == MixerKind::Mamba2 ? unit / (U / G) : 0;
    for (std::int64_t t = 0; t < W; ++t) {
        const float* Ct = l.C.data() + (t * G + g) * N;
        for (std::int64_t s = 0; s <= t; ++s) {
            const float* Bs = l.B.data() + (s * G + g) * N;
            const double ds = l.delta[std::size_t(s * U + unit)],
                         seg = cs[std::size_t(t)] - cs[std::size_t(s)];
            double v = 0;
            if (l.kind == MixerKind::Mamba2) {
                double cb = 0;
                for (std::int64_t n = 0; n < N; ++n) cb += double(Ct[n]) * Bs[n];
                v = cb * std::exp(double(l.A[std::size_t(unit)]) * seg) * ds;
            } else {
                for (std::int64_t n = 0; n < N; ++n)
                    v += double(Ct[n]) * std::exp(double(l.A[std::size_t(unit * N + n)]) * seg) *
                         ds * Bs[n];
            }
            M[std::size_t(t * W + s)] = static_cast<float>(v);
        }
    }
    return M;
}

}  // namespace statescope
