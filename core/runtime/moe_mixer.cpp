// Mixture-of-experts mixer (jamba, granitemoehybrid, nemotron_h 'E'):
//   logits = router(u) [T, E] ; (expert, weight) x k per token = moe_route(logits)  (backend.h)
//   out[t] = sum_j weight[t, j] * expert_{e[t, j]}(u[t]) + shared(u[t])
// Tokens are grouped by expert so that each expert runs one batched FFN over its tokens.
#include <algorithm>

#include "core/error.h"
#include "core/runtime/ffn.h"
#include "core/runtime/mixer.h"

namespace statescope {

namespace {

std::string expert_name(const std::string& pattern, std::int64_t e) {
    std::string s = pattern;
    const auto at = s.find("{e}");
    if (at != std::string::npos) s.replace(at, 3, std::to_string(e));
    return s;
}

class MoeMixer final : public Mixer {
  public:
    MoeMixer(const MoeSpec& spec, std::int64_t d_model, const WeightStore& w,
             kernels::Backend& backend)
        : spec_(spec), d_model_(d_model), backend_(backend) {
        const std::int64_t E = spec.n_experts, F = spec.d_ff, D = d_model;
        router_ = bind_matrix(w, spec.router, backend);
        if (!spec.correction_bias.empty()) bias_ = bind_f32(w, spec.correction_bias, backend);
        experts_.resize(std::size_t(E));
        if (!spec.stacked_gate_up.empty()) {
            // [E, 2F, D] as [E * 2F, D]; [E, D, F] as [E * D, F]
            keep_.push_back(bind_matrix_cols(w, spec.stacked_gate_up, D, backend));
            const kernels::Weight gu = keep_.back().w;
            keep_.push_back(bind_matrix_cols(w, spec.stacked_down, F, backend));
            const kernels::Weight down = keep_.back().w;
            for (std::int64_t e = 0; e < E; ++e) {
                experts_[e].gate_up = weight_rows(gu, e * 2 * F, 2 * F, D);
                experts_[e].down = weight_rows(down, e * D, D, F);
            }
        } else {
            for (std::int64_t e = 0; e < E; ++e) {
                FfnWeights& f = experts_[e];
                keep_.push_back(bind_matrix(w, expert_name(spec.expert_up, e), backend));
                f.up = keep_.back().w;
                keep_.push_back(bind_matrix(w, expert_name(spec.expert_down, e), backend));
                f.down = keep_.back().w;
                if (!spec.expert_gate.empty()) {
                    keep_.push_back(bind_matrix(w, expert_name(spec.expert_gate, e), backend));
                    f.gate = keep_.back().w;
                }
            }
        }
        for (FfnWeights& f : experts_) {
            f.d_ff = F;
            f.act = spec.act;
        }
        if (spec.has_shared) shared_ = make_mlp_mixer(spec.shared, d_model, w, backend);
    }

    std::vector<std::size_t> state_sizes() const override { return {}; }

    void forward(const MixerCall& call, Workspace& ws, const CaptureSink& sink) override {
        const std::int64_t T = call.T, D = d_model_, E = spec_.n_experts, k = spec_.top_k;
        auto& be = backend_;
        float* logits = ws.get("moe.logits", std::size_t(T * E));
        be.matmul(call.u, D, T, router_.w, nullptr, logits, E);
        if (sink.active()) sink.capture("moe.router_logits", logits, {T, E});
        // int32 indices share a float slot's storage (both 4 bytes)
        auto* idx = reinterpret_cast<std::int32_t*>(ws.get("moe.idx", std::size_t(T * k)));
        float* wts = ws.get("moe.w", std::size_t(T * k));
        be.moe_route(logits, T, E, k, spec_.scoring, bias_ ? bias_->f32() : nullptr, spec_.n_group,
                     spec_.topk_group, spec_.normalize, static_cast<float>(spec_.route_scale), idx,
                     wts);
        host_idx_.resize(std::size_t(T * k));
        host_w_.resize(std::size_t(T * k));
        be.copy_to_host(idx, host_idx_.data(), host_idx_.size() * sizeof(std::int32_t));
        be.copy_to_host(wts, host_w_.data(), host_w_.size() * sizeof(float));

        // out = shared(u), or 0
        if (shared_) {
            shared_->forward(call, ws, sink);
        } else {
            zeros_.assign(std::size_t(T * D), 0.0f);
            be.copy_from_host(zeros_.data(), call.out, zeros_.size() * sizeof(float));
        }
        float* xs = ws.get("moe.x", std::size_t(T * D));
        float* ys = ws.get("moe.y", std::size_t(T * D));
        std::vector<std::int64_t> rows;
        std::vector<float> row_w;
        for (std::int64_t e = 0; e < E; ++e) {
            rows.clear();
            row_w.clear();
            for (std::int64_t t = 0; t < T; ++t)
                for (std::int64_t j = 0; j < k; ++j)
                    if (host_idx_[t * k + j] == e) {
                        rows.push_back(t);
                        row_w.push_back(host_w_[t * k + j]);
                    }
            if (rows.empty()) continue;
            const auto n = static_cast<std::int64_t>(rows.size());
            for (std::int64_t r = 0; r < n; ++r)
                be.copy(call.u + rows[r] * D, xs + r * D, std::size_t(D) * sizeof(float));
            run_ffn(be, ws, "moe.expert", experts_[e], xs, D, n, ys);
            for (std::int64_t r = 0; r < n; ++r)
                be.add_scaled(call.out + rows[r] * D, ys + r * D, row_w[r], D);
        }
    }

  private:
    MoeSpec spec_;
    std::int64_t d_model_;
    kernels::Backend& backend_;
    BoundWeight router_;
    std::unique_ptr<kernels::Buffer> bias_;
    std::vector<BoundWeight> keep_;
    std::vector<FfnWeights> experts_;
    std::unique_ptr<Mixer> shared_;
    std::vector<std::int32_t> host_idx_;
    std::vector<float> host_w_, zeros_;
};

}  // namespace

std::unique_ptr<Mixer> make_moe_mixer(const MoeSpec& spec, std::int64_t d_model,
                                      const WeightStore& w, kernels::Backend& backend) {
    return std::make_unique<MoeMixer>(spec, d_model, w, backend);
}

}  // namespace statescope
