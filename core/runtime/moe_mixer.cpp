// Mixture-of-experts mixer (jamba, granitemoehybrid, nemotron_h 'E'):
//   logits = router(u) [T, E] ; (expert, weight) x k per token = moe_route(logits)  (backend.h)
//   out[t] = sum_j weight[t, j] * expert_{e[t, j]}(u[t]) + shared(u[t])
// Tokens are grouped by expert so that each expert runs one batched FFN over its tokens; that
// reads the routing on the host (a wait in the step). The recordable decode step
// (MixerCall::capture_safe) instead runs moe_experts, which reads the experts on the device
// through arrays of per-expert weight pointers built here at load.
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
        bind_expert_pointers();
    }

    std::vector<std::size_t> state_sizes() const override { return {}; }
    bool capture_safe() const override {
        return ffns_.n_experts > 0 && (!shared_ || shared_->capture_safe());
    }

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
        if (call.capture_safe && capture_safe()) {
            // out = shared(u) + sum_j w_j expert_{e_j}(u), the experts read on the device
            if (shared_) shared_->forward(call, ws, sink);
            float* hidden = ws.get("moe.hidden", std::size_t(T * k * spec_.d_ff));
            be.moe_experts(call.u, D, T, k, idx, wts, ffns_, hidden, shared_ != nullptr, call.out);
            return;
        }
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
    // ffns_ for moe_experts: each expert's gate, up and down as pointer arrays in backend memory.
    // Left empty (not capture-safe) when the experts are not alike: mixed dtypes, or biases and
    // multipliers that moe_experts does not apply.
    void bind_expert_pointers() {
        const auto E = static_cast<std::int64_t>(experts_.size());
        const std::int64_t F = spec_.d_ff;
        std::vector<const void*> gate, up, down;
        const kernels::DType dtype =
            experts_.empty()
                ? kernels::DType::F32
                : (experts_[0].gate_up.data ? experts_[0].gate_up.dtype : experts_[0].up.dtype);
        for (const FfnWeights& f : experts_) {
            if (f.gate_bias || f.up_bias || f.down_bias || f.gate_multiplier != 1.0f ||
                f.down_multiplier != 1.0f || f.lora_a.data != nullptr)
                return;
            if (f.gate_up.data != nullptr) {
                // [gate | up] rows of one matrix: gate = rows [0, F), up = rows [F, 2F)
                if (f.gate_up.dtype != dtype) return;
                const auto* base = static_cast<const unsigned char*>(f.gate_up.data);
                gate.push_back(base);
                up.push_back(base + std::size_t(F * f.gate_up.cols) * kernels::dtype_size(dtype));
            } else {
                if (f.up.dtype != dtype || (f.gate.data && f.gate.dtype != dtype)) return;
                if ((f.gate.data != nullptr) != (experts_[0].gate.data != nullptr)) return;
                up.push_back(f.up.data);
                if (f.gate.data != nullptr) gate.push_back(f.gate.data);
            }
            if (f.down.dtype != dtype) return;
            down.push_back(f.down.data);
        }
        auto upload = [&](const std::vector<const void*>& host) -> const void* const* {
            if (host.empty()) return nullptr;
            pointer_arrays_.push_back(backend_.alloc(host.size() * sizeof(void*)));
            backend_.copy_from_host(host.data(), pointer_arrays_.back()->data(),
                                    host.size() * sizeof(void*));
            return static_cast<const void* const*>(pointer_arrays_.back()->data());
        };
        ffns_.gate = upload(gate);
        ffns_.up = upload(up);
        ffns_.down = upload(down);
        ffns_.dtype = dtype;
        ffns_.d_model = d_model_;
        ffns_.d_ff = F;
        ffns_.act = spec_.act;
        ffns_.n_experts = E;
    }

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
    kernels::ExpertFfns ffns_;  // n_experts 0: moe_experts unavailable
    std::vector<std::unique_ptr<kernels::Buffer>> pointer_arrays_;
};

}  // namespace

std::unique_ptr<Mixer> make_moe_mixer(const MoeSpec& spec, std::int64_t d_model,
                                      const WeightStore& w, kernels::Backend& backend) {
    return std::make_unique<MoeMixer>(spec, d_model, w, backend);
}

}  // namespace statescope
