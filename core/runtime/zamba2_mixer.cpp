// zamba2's hybrid layer (MODELS.md §8): the shared transformer block on [h, h0] feeds the input of
// this layer's Mamba-2, whose output is the layer's residual update:
//   t = attention(RMSNorm_2H(cat(h, h0)))        (LoRA adapters, scale (hd/2)^-1/2, optional RoPE)
//   t = linear(mlp(RMSNorm_H(t)))                (gelu GLU on the fused gate_up with LoRA)
//   out = mamba2(RMSNorm_H(h + t))               (the runtime adds out to h: the residual is h)
// The attention's KV cache and the Mamba-2's conv/SSM state live in the same LayerState.
#include "core/error.h"
#include "core/runtime/mixer.h"

namespace statescope {

namespace {

class Zamba2HybridMixer final : public Mixer {
  public:
    Zamba2HybridMixer(const Zamba2HybridSpec& spec, std::int64_t d_model, const WeightStore& w,
                      kernels::Backend& backend)
        : spec_(spec), d_model_(d_model), backend_(backend) {
        attention_ = make_attention_mixer(spec.attention, d_model, w, backend);
        mlp_ = make_mlp_mixer(spec.mlp, d_model, w, backend);
        mamba_ = make_mamba2_mixer(spec.mamba, d_model, w, backend);
        attention_norm_ = bind_f32(w, spec.attention_norm, backend);
        mlp_norm_ = bind_f32(w, spec.mlp_norm, backend);
        mamba_norm_ = bind_f32(w, spec.mamba_norm, backend);
        linear_ = bind_matrix(w, spec.linear, backend);
    }

    std::vector<std::size_t> state_sizes() const override { return mamba_->state_sizes(); }
    bool capture_safe() const override {
        return attention_->capture_safe() && mlp_->capture_safe() && mamba_->capture_safe();
    }
    std::int64_t kv_width() const override { return attention_->kv_width(); }

    void forward(const MixerCall& call, Workspace& ws, const CaptureSink& sink) override {
        const std::int64_t T = call.T, D = d_model_;
        const auto eps = static_cast<float>(spec_.eps);
        auto& be = backend_;
        if (call.embeddings == nullptr)
            throw Error("zamba2 hybrid layer called without the embeddings");
        // cat: [T, 2D] = [h | h0], normalized over 2D
        float* cat = ws.get("z2.cat", std::size_t(T * 2 * D));
        for (std::int64_t t = 0; t < T; ++t) {
            be.copy(call.u + t * D, cat + t * 2 * D, std::size_t(D) * sizeof(float));
            be.copy(call.embeddings + t * D, cat + t * 2 * D + D, std::size_t(D) * sizeof(float));
        }
        be.rmsnorm(cat, 2 * D, T, 2 * D, attention_norm_->f32(), eps, cat, 2 * D);
        float* a = ws.get("z2.attn", std::size_t(T * D));
        // The three sub-mixers share this layer's rows and states (one sequence or the batch).
        MixerCall sub = call;
        sub.embeddings = nullptr;
        sub.u = cat;
        sub.out = a;
        attention_->forward(sub, ws, sink);
        be.rmsnorm(a, D, T, D, mlp_norm_->f32(), eps, a, D);
        float* m = ws.get("z2.mlp", std::size_t(T * D));
        sub.u = a;
        sub.out = m;
        mlp_->forward(sub, ws, sink);
        // x = RMSNorm(h + linear(m))
        float* x = ws.get("z2.x", std::size_t(T * D));
        be.matmul(m, D, T, linear_.w, nullptr, x, D);
        be.add(x, call.u, T * D);
        be.rmsnorm(x, D, T, D, mamba_norm_->f32(), eps, x, D);
        sub.u = x;
        sub.out = call.out;
        mamba_->forward(sub, ws, sink);
    }

  private:
    Zamba2HybridSpec spec_;
    std::int64_t d_model_;
    kernels::Backend& backend_;
    std::unique_ptr<Mixer> attention_, mlp_, mamba_;
    std::unique_ptr<kernels::Buffer> attention_norm_, mlp_norm_, mamba_norm_;
    BoundWeight linear_;
};

}  // namespace

std::unique_ptr<Mixer> make_zamba2_hybrid_mixer(const Zamba2HybridSpec& spec, std::int64_t d_model,
                                                const WeightStore& w, kernels::Backend& backend) {
    return std::make_unique<Zamba2HybridMixer>(spec, d_model, w, backend);
}

}  // namespace statescope
