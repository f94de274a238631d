// Dense MLP mixer (llama/qwen SwiGLU, jamba/bamba/falcon_h1 feed_forward, nemotron_h '-' relu2,
// granite's shared MLP, zamba2's gelu GLU) and the FFN helper the MoE mixer reuses (ffn.h).
#include "core/error.h"
#include "core/runtime/ffn.h"
#include "core/runtime/mixer.h"

namespace statescope {

void run_ffn(kernels::Backend& be, Workspace& ws, const std::string& slot, const FfnWeights& f,
             const float* x, std::int64_t x_stride, std::int64_t T, float* y) {
    const std::int64_t F = f.d_ff;
    const float* gate = nullptr;
    const float* up = nullptr;
    std::int64_t stride = F;
    if (f.gate_up.data != nullptr) {
        // gu: [T, 2F] = x gate_up^T; gate = gu[:, :F], up = gu[:, F:]
        float* gu = ws.get(slot + ".gu", std::size_t(T * 2 * F));
        be.matmul(x, x_stride, T, f.gate_up, f.up_bias, gu, 2 * F);  // up_bias: [2F] fused bias
        if (f.lora_a.data != nullptr) {
            const std::int64_t r = f.lora_a.rows;
            float* mid = ws.get(slot + ".lora_mid", std::size_t(T * r));
            float* add = ws.get(slot + ".lora_out", std::size_t(T * 2 * F));
            be.matmul(x, x_stride, T, f.lora_a, nullptr, mid, r);
            be.matmul(mid, r, T, f.lora_b, nullptr, add, 2 * F);
            be.add(gu, add, T * 2 * F);
        }
        gate = gu;
        up = gu + F;
        stride = 2 * F;
    } else {
        float* u = ws.get(slot + ".up", std::size_t(T * F));
        be.matmul(x, x_stride, T, f.up, f.up_bias, u, F);
        up = u;
        if (f.gate.data != nullptr) {
            float* g = ws.get(slot + ".gate", std::size_t(T * F));
            be.matmul(x, x_stride, T, f.gate, f.gate_bias, g, F);
            gate = g;
        }
    }
    if (gate != nullptr && f.gate_multiplier != 1.0f)
        be.scale(const_cast<float*>(gate), stride, T, F, f.gate_multiplier);
    // act: [T, F] = act(gate) * up, or act(up) without a gate
    float* act = ws.get(slot + ".act", std::size_t(T * F));
    if (gate != nullptr)
        be.glu(gate, stride, up, stride, T, F, f.act, act);
    else
        be.glu(up, stride, nullptr, 0, T, F, f.act, act);
    be.matmul(act, F, T, f.down, f.down_bias, y, f.down.rows);
    if (f.down_multiplier != 1.0f) be.scale(y, f.down.rows, T, f.down.rows, f.down_multiplier);
}

namespace {

class MlpMixer final : public Mixer {
  public:
    MlpMixer(const MlpSpec& spec, std::int64_t d_model, const WeightStore& w,
             kernels::Backend& backend)
        : d_model_(d_model), backend_(backend) {
        if (!spec.gate_up.empty()) {
            gate_up_ = bind_matrix(w, spec.gate_up, backend);
            f_.gate_up = gate_up_.w;
            if (!spec.gate_up_lora_a.empty()) {
                lora_a_ = bind_matrix(w, spec.gate_up_lora_a, backend);
                lora_b_ = bind_matrix(w, spec.gate_up_lora_b, backend);
                f_.lora_a = lora_a_.w;
                f_.lora_b = lora_b_.w;
            }
        } else {
            up_ = bind_matrix(w, spec.up, backend);
            f_.up = up_.w;
            if (!spec.gate.empty()) {
                gate_ = bind_matrix(w, spec.gate, backend);
                f_.gate = gate_.w;
            }
        }
        down_ = bind_matrix(w, spec.down, backend);
        f_.down = down_.w;
        if (!spec.gate_bias.empty()) gate_b_ = bind_f32(w, spec.gate_bias, backend);
        if (!spec.up_bias.empty()) up_b_ = bind_f32(w, spec.up_bias, backend);
        if (!spec.down_bias.empty()) down_b_ = bind_f32(w, spec.down_bias, backend);
        f_.gate_bias = gate_b_ ? gate_b_->f32() : nullptr;
        f_.up_bias = up_b_ ? up_b_->f32() : nullptr;
        f_.down_bias = down_b_ ? down_b_->f32() : nullptr;
        f_.d_ff = spec.d_ff;
        f_.act = spec.act;
        f_.gate_multiplier = static_cast<float>(spec.gate_multiplier);
        f_.down_multiplier = static_cast<float>(spec.down_multiplier);
    }

    std::vector<std::size_t> state_sizes() const override { return {}; }
    bool capture_safe() const override { return true; }  // row-wise ops only

    void forward(const MixerCall& call, Workspace& ws, const CaptureSink&) override {
        run_ffn(backend_, ws, "mlp", f_, call.u, d_model_, call.T, call.out);
    }

  private:
    std::int64_t d_model_;
    kernels::Backend& backend_;
    BoundWeight gate_, up_, down_, gate_up_, lora_a_, lora_b_;
    std::unique_ptr<kernels::Buffer> gate_b_, up_b_, down_b_;
    FfnWeights f_;
};

}  // namespace

std::unique_ptr<Mixer> make_mlp_mixer(const MlpSpec& spec, std::int64_t d_model,
                                      const WeightStore& w, kernels::Backend& backend) {
    return std::make_unique<MlpMixer>(spec, d_model, w, backend);
}

}  // namespace statescope
