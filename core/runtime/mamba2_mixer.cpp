// Mamba-2 mixer (mamba2; the SSM half of the hybrids), as transformers' Mamba2Mixer.torch_forward
// computes it (MODELS.md §1.5, §4):
//   zxbcdt = in_proj(u); [d_mlp x2 (discarded)] | z [I] | xBC [I + 2GN] | dt [H]
//   xBC = silu(causal_conv1d(xBC)); x, B, C = split(xBC, [I, GN, GN])
//   delta = clamp(softplus(dt + dt_bias), time_step_limit)   (MODELS.md: HF clamps in the
//   multi-token path only;
//                                                             see Mamba2Spec::dt_limit_in_decode)
//   y = ssd(x, delta, A = -exp(A_log), B, C, D)               (sequential fp32 recurrence; HF's
//   chunked
//                                                             form is the same sum, ~1e-6 apart)
//   y = gated_rmsnorm(y, z)                                   (group size per model, MODELS.md
//   §1.2) out = out_proj(y)
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/runtime/mixer.h"

namespace statescope {

namespace {

class Mamba2Mixer final : public Mixer {
  public:
    Mamba2Mixer(const Mamba2Spec& spec, std::int64_t d_model, const WeightStore& w,
                kernels::Backend& backend)
        : spec_(spec), d_model_(d_model), backend_(backend) {
        const std::string& p = spec.prefix;
        in_proj_ = bind_matrix(w, p + "in_proj.weight", backend);
        out_proj_ = bind_matrix(w, p + "out_proj.weight", backend);
        conv_w_ = bind_f32(w, p + "conv1d.weight", backend);
        if (spec.conv_bias) conv_b_ = bind_f32(w, p + "conv1d.bias", backend);
        if (spec.proj_bias) in_bias_ = bind_f32(w, p + "in_proj.bias", backend);
        if (spec.out_proj_bias) out_bias_ = bind_f32(w, p + "out_proj.bias", backend);
        dt_bias_ = bind_f32(w, p + "dt_bias", backend);
        std::vector<float> a = w.get(p + "A_log").to_f32();
        for (auto& v : a) v = -std::exp(v);
        A_ = upload_f32(backend, a);
        D_ = bind_f32(w, p + "D", backend);
        if (spec.gated_norm) norm_w_ = bind_f32(w, p + "norm.weight", backend);
    }

    std::vector<std::size_t> state_sizes() const override {
        return {
            static_cast<std::size_t>((spec_.d_conv - 1) * spec_.conv_dim()),  // [K-1, conv_dim]
            static_cast<std::size_t>(spec_.n_heads * spec_.head_dim * spec_.d_state)};  // [H, P, N]
    }
    // No positions, no host reads: the recurrent step records as it is.
    bool capture_safe() const override { return true; }

    void forward(const MixerCall& call, Workspace& ws, const CaptureSink& sink) override {
        const std::int64_t T = call.T, I = spec_.d_inner, H = spec_.n_heads, P = spec_.head_dim;
        const std::int64_t G = spec_.n_groups, N = spec_.d_state, conv_dim = spec_.conv_dim();
        const std::int64_t width = in_proj_.w.rows;  // 2*d_mlp + I + conv_dim + H
        const std::int64_t z_off = 2 * spec_.d_mlp, xbc_off = z_off + I,
                           dt_off = xbc_off + conv_dim;
        auto& be = backend_;
        const bool batched = call.batched();  // row r: one token of sequence r, its own state
        // One token of one sequence: in_proj and the conv step as one op (backend.h), the same
        // floats as the matmul and conv below; not where falcon_h1's multipliers scale xBC between
        // the two.
        const auto& mult = spec_.segment_multipliers;
        const bool step = !batched && T == 1 && mult[1] == 1.0 && mult[2] == 1.0 && mult[3] == 1.0;

        float* zxbcdt = ws.get("m2.zxbcdt", std::size_t(T * width));
        // xbc: [T, conv_dim] = silu(conv(xBC))
        float* xbc = ws.get("m2.xbc", std::size_t(T * conv_dim));
        const float* in_bias = in_bias_ ? in_bias_->f32() : nullptr;
        const float* conv_b = conv_b_ ? conv_b_->f32() : nullptr;
        if (step)
            be.matmul_conv1d_step(call.u, in_proj_.w, in_bias, zxbcdt, xbc_off, conv_dim,
                                  spec_.d_conv, conv_w_->f32(), conv_b, /*silu=*/true,
                                  call.state().buffers[0]->f32(), xbc);
        else
            be.matmul(call.u, d_model_, T, in_proj_.w, in_bias, zxbcdt, width);
        // falcon_h1's mup vector: z | x | B | C | dt segments of in_proj's output scaled by
        // constants (the xBC ones only off the fused step, above).
        const std::int64_t seg_off[5] = {z_off, xbc_off, xbc_off + I, xbc_off + I + G * N, dt_off};
        const std::int64_t seg_len[5] = {I, I, G * N, G * N, H};
        for (int k = 0; k < 5; ++k)
            if (mult[k] != 1.0)
                be.scale(zxbcdt + seg_off[k], width, T, seg_len[k], static_cast<float>(mult[k]));
        if (batched)
            be.causal_conv1d_rows(zxbcdt + xbc_off, width, T, conv_dim, spec_.d_conv,
                                  conv_w_->f32(), conv_b, /*silu=*/true, call.row_buffers(0).data(),
                                  xbc);
        else if (!step)  // (the step's conv ran in matmul_conv1d_step)
            be.causal_conv1d(zxbcdt + xbc_off, width, T, conv_dim, spec_.d_conv, conv_w_->f32(),
                             conv_b, /*silu=*/true, call.state().buffers[0]->f32(), xbc);
        // delta: [T, H]
        const float inf = std::numeric_limits<float>::infinity();
        const bool unclamped = call.decode_step && !spec_.dt_limit_in_decode;
        const float lo = unclamped ? -inf : static_cast<float>(spec_.dt_min);
        const float hi = unclamped ? inf : static_cast<float>(spec_.dt_max);
        float* delta = ws.get("m2.delta", std::size_t(T * H));
        float* x = xbc;
        float* B = xbc + I;
        float* C = xbc + I + G * N;
        float* y = ws.get("m2.y", std::size_t(T * I));
        // ssm_state: the one sequence's (the batched step offers no captures: Model refuses it
        // while observers are registered)
        float* ssm_state = batched ? nullptr : call.state().buffers[1]->f32();
        // One token with nobody capturing: the softplus and the state update as one op (the
        // captures below read delta before the scan runs).
        const bool fused_scan = !batched && T == 1 && !sink.active();
        if (fused_scan)
            be.softplus_ssd_step(zxbcdt + dt_off, dt_bias_->f32(), lo, hi, x, conv_dim, A_->f32(),
                                 B, C, conv_dim, D_->f32(), H, P, G, N, ssm_state, delta, y);
        else
            be.softplus(zxbcdt + dt_off, width, T, H, dt_bias_->f32(), lo, hi, delta);
        if (sink.active()) {
            sink.capture("ssm.x", x, {T, I}, conv_dim);
            sink.capture("ssm.delta", delta, {T, H});
            sink.capture("ssm.B", B, {T, G * N}, conv_dim);
            sink.capture("ssm.C", C, {T, G * N}, conv_dim);
        }
        if (batched)
            be.ssd_scan_rows(x, conv_dim, delta, A_->f32(), B, C, conv_dim, D_->f32(), T, H, P, G,
                             N, call.row_buffers(1).data(), y);
        else if (!fused_scan)
            be.ssd_scan(x, conv_dim, delta, A_->f32(), B, C, conv_dim, D_->f32(), T, H, P, G, N,
                        ssm_state, y);
        if (sink.active()) {
            sink.capture("ssm.y", y, {T, I});
            if (ssm_state != nullptr) sink.capture("ssm.state", ssm_state, {H, P, N});
        }
        if (spec_.gated_norm) {
            be.gated_rmsnorm(y, zxbcdt + z_off, width, T, I, spec_.norm_group_size, norm_w_->f32(),
                             static_cast<float>(spec_.norm_eps), spec_.norm_before_gate, y);
        } else {
            // y = y * silu(z)
            be.glu(zxbcdt + z_off, width, y, I, T, I, kernels::Activation::Silu, y);
        }
        be.matmul(y, I, T, out_proj_.w, out_bias_ ? out_bias_->f32() : nullptr, call.out, d_model_);
    }

  private:
    Mamba2Spec spec_;
    std::int64_t d_model_;
    kernels::Backend& backend_;
    BoundWeight in_proj_, out_proj_;
    std::unique_ptr<kernels::Buffer> conv_w_, conv_b_, in_bias_, out_bias_, dt_bias_, A_, D_,
        norm_w_;
};

}  // namespace

std::unique_ptr<Mixer> make_mamba2_mixer(const Mamba2Spec& spec, std::int64_t d_model,
                                         const WeightStore& w, kernels::Backend& backend) {
    return std::make_unique<Mamba2Mixer>(spec, d_model, w, backend);
}

}  // namespace statescope
