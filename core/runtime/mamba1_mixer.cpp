// Mamba-1 mixer (mamba, falcon_mamba), as transformers' MambaMixer.slow_forward computes it
// (MODELS.md §2):
//   xz = in_proj(u); x, z = xz[:, :I], xz[:, I:]
//   x = silu(causal_conv1d(x))
//   dt, B, C = split(x_proj(x), [R, N, N])        (falcon_mamba: weightless RMSNorm on each)
//   delta = softplus(dt_proj(dt))                 (dt_proj carries the bias)
//   y = selective_scan(x, delta, A = -exp(A_log), B, C, D) * silu(z)
//   out = out_proj(y)
#include <cmath>
#include <limits>

#include "core/runtime/mixer.h"

namespace statescope {

namespace {

class Mamba1Mixer final : public Mixer {
  public:
    Mamba1Mixer(const Mamba1Spec& spec, std::int64_t d_model, const WeightStore& w,
                kernels::Backend& backend)
        : spec_(spec), d_model_(d_model), backend_(backend) {
        const std::string& p = spec.prefix;
        in_proj_ = bind_matrix(w, p + "in_proj.weight", backend);
        x_proj_ = bind_matrix(w, p + "x_proj.weight", backend);
        dt_proj_ = bind_matrix(w, p + "dt_proj.weight", backend);
        out_proj_ = bind_matrix(w, p + "out_proj.weight", backend);
        // conv1d.weight [I, 1, K] is [I, K] row-major already.
        conv_w_ = bind_f32(w, p + "conv1d.weight", backend);
        if (spec.conv_bias) conv_b_ = bind_f32(w, p + "conv1d.bias", backend);
        dt_bias_ = bind_f32(w, p + "dt_proj.bias", backend);
        if (spec.proj_bias) {
            in_bias_ = bind_f32(w, p + "in_proj.bias", backend);
            out_bias_ = bind_f32(w, p + "out_proj.bias", backend);
        }
        // A = -exp(A_log), in fp32 as HF does, once at load.
        std::vector<float> a = w.get(p + "A_log").to_f32();
        for (auto& v : a) v = -std::exp(v);
        A_ = upload_f32(backend, a);
        D_ = bind_f32(w, p + "D", backend);
        if (spec.dt_bc_norm_weights) {
            dt_norm_ = bind_f32(w, p + "dt_layernorm.weight", backend);
            b_norm_ = bind_f32(w, p + "b_layernorm.weight", backend);
            c_norm_ = bind_f32(w, p + "c_layernorm.weight", backend);
        }
    }

    std::vector<std::size_t> state_sizes() const override {
        const auto I = static_cast<std::size_t>(spec_.d_inner);
        return {static_cast<std::size_t>(spec_.d_conv - 1) * I,  // conv_state [K-1, I]
                I * static_cast<std::size_t>(spec_.d_state)};    // ssm_state  [I, N]
    }
    // No positions, no host reads: the recurrent step records as it is.
    bool capture_safe() const override { return true; }

    void forward(const MixerCall& call, Workspace& ws, const CaptureSink& sink) override {
        const std::int64_t T = call.T, I = spec_.d_inner, N = spec_.d_state, R = spec_.dt_rank;
        const std::int64_t dbl = R + 2 * N;
        auto& be = backend_;
        const bool batched = call.batched();  // row r: one token of sequence r, its own state
        // One token of one sequence: the fused step ops (backend.h), the same floats as the
        // unfused ops below (which is what their defaults run).
        const bool step = !batched && T == 1;

        // xz: [T, 2I]
        float* xz = ws.get("m1.xz", std::size_t(T * 2 * I));
        // x: [T, I] = silu(conv(xz[:, :I]))
        float* x = ws.get("m1.x", std::size_t(T * I));
        const float* in_bias = in_bias_ ? in_bias_->f32() : nullptr;
        const float* conv_b = conv_b_ ? conv_b_->f32() : nullptr;
        if (step) {
            be.matmul_conv1d_step(call.u, in_proj_.w, in_bias, xz, /*conv_off=*/0, I, spec_.d_conv,
                                  conv_w_->f32(), conv_b, /*silu=*/true,
                                  call.state().buffers[0]->f32(), x);
        } else {
            be.matmul(call.u, d_model_, T, in_proj_.w, in_bias, xz, 2 * I);
            if (batched)
                be.causal_conv1d_rows(xz, 2 * I, T, I, spec_.d_conv, conv_w_->f32(), conv_b,
                                      /*silu=*/true, call.row_buffers(0).data(), x);
            else
                be.causal_conv1d(xz, 2 * I, T, I, spec_.d_conv, conv_w_->f32(), conv_b,
                                 /*silu=*/true, call.state().buffers[0]->f32(), x);
        }
        // x_dbl: [T, R + 2N] = x_proj(x)
        float* x_dbl = ws.get("m1.x_dbl", std::size_t(T * dbl));
        be.matmul(x, I, T, x_proj_.w, nullptr, x_dbl, dbl);
        if (spec_.dt_bc_rmsnorm) {
            // rmsnorm over the last dim of each of dt [R], B [N], C [N]: weightless (falcon_mamba)
            // or with learned weights (jamba's dt/b/c_layernorm).
            const float eps = static_cast<float>(spec_.dt_bc_rmsnorm_eps);
            const bool wt = spec_.dt_bc_norm_weights;
            be.rmsnorm(x_dbl, dbl, T, R, wt ? dt_norm_->f32() : nullptr, eps, x_dbl, dbl);
            be.rmsnorm(x_dbl + R, dbl, T, N, wt ? b_norm_->f32() : nullptr, eps, x_dbl + R, dbl);
            be.rmsnorm(x_dbl + R + N, dbl, T, N, wt ? c_norm_->f32() : nullptr, eps, x_dbl + R + N,
                       dbl);
        }
        // delta: [T, I] = softplus(dt_proj.weight @ dt + dt_proj.bias)
        float* delta = ws.get("m1.delta", std::size_t(T * I));
        const float inf = std::numeric_limits<float>::infinity();
        // y: [T, I] = scan(...) * silu(z), z = xz[:, I:]
        float* y = ws.get("m1.y", std::size_t(T * I));
        // The step's dt_proj, softplus and scan as one op, where no observer may change delta, B
        // or C between them (captures are writable: interventions).
        if (step && !sink.active()) {
            be.matmul_softplus_scan_step(x_dbl, dt_proj_.w, dt_bias_->f32(), -inf, inf, x,
                                         A_->f32(), x_dbl + R, x_dbl + R + N, D_->f32(), xz + I, N,
                                         call.state().buffers[1]->f32(), delta, y);
            be.matmul(y, I, T, out_proj_.w, out_bias_ ? out_bias_->f32() : nullptr, call.out,
                      d_model_);
            return;
        }
        be.matmul_softplus(x_dbl, dbl, T, dt_proj_.w, dt_bias_->f32(), -inf, inf, delta);
        if (sink.active()) {
            sink.capture("ssm.x", x, {T, I});
            sink.capture("ssm.delta", delta, {T, I});
            sink.capture("ssm.B", x_dbl + R, {T, N}, dbl);
            sink.capture("ssm.C", x_dbl + R + N, {T, N}, dbl);
        }
        // ssm_state: the one sequence's (the batched step offers no captures: Model refuses it
        // while observers are registered)
        float* ssm_state = batched ? nullptr : call.state().buffers[1]->f32();
        if (batched)
            be.selective_scan_rows(x, delta, A_->f32(), x_dbl + R, x_dbl + R + N, dbl, D_->f32(),
                                   xz + I, 2 * I, T, I, N, call.row_buffers(1).data(), y);
        else
            be.selective_scan(x, delta, A_->f32(), x_dbl + R, x_dbl + R + N, dbl, D_->f32(), xz + I,
                              2 * I, T, I, N, ssm_state, y);
        if (sink.active()) {
            sink.capture("ssm.y", y, {T, I});
            if (ssm_state != nullptr) sink.capture("ssm.state", ssm_state, {I, N});
        }
        be.matmul(y, I, T, out_proj_.w, out_bias_ ? out_bias_->f32() : nullptr, call.out, d_model_);
    }

  private:
    Mamba1Spec spec_;
    std::int64_t d_model_;
    kernels::Backend& backend_;
    BoundWeight in_proj_, x_proj_, dt_proj_, out_proj_;
    std::unique_ptr<kernels::Buffer> conv_w_, conv_b_, dt_bias_, in_bias_, out_bias_, A_, D_;
    std::unique_ptr<kernels::Buffer> dt_norm_, b_norm_, c_norm_;
};

}  // namespace

std::unique_ptr<Mixer> make_mamba1_mixer(const Mamba1Spec& spec, std::int64_t d_model,
                                         const WeightStore& w, kernels::Backend& backend) {
    return std::make_unique<Mamba1Mixer>(spec, d_model, w, backend);
}

}  // namespace statescope
