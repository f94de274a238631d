// Attention mixer with a KV cache (MODELS.md §1.6; llama/qwen3 as transformers computes them):
//   q = q_proj(u) ; k = k_proj(u) * key_multiplier ; v = v_proj(u)       (k, v written into the
//   cache) q, k = RMSNorm per head (qwen3)  ;  q, k = RoPE(q, k, positions)      (before caching,
//   as HF) a = softmax(scale * q k^T + causal mask) v   (GQA)  ;  out = o_proj(a)
#include <vector>

#include "core/error.h"
#include "core/runtime/mixer.h"

namespace statescope {

namespace {

class AttentionMixer final : public Mixer {
  public:
    AttentionMixer(const AttentionSpec& spec, const WeightStore& w, kernels::Backend& backend)
        : spec_(spec), backend_(backend) {
        const std::string& p = spec.prefix;
        q_ = bind_matrix(w, p + "q_proj.weight", backend);
        k_ = bind_matrix(w, p + "k_proj.weight", backend);
        v_ = bind_matrix(w, p + "v_proj.weight", backend);
        o_ = bind_matrix(w, p + "o_proj.weight", backend);
        if (spec.qkv_bias) {
            q_b_ = bind_f32(w, p + "q_proj.bias", backend);
            k_b_ = bind_f32(w, p + "k_proj.bias", backend);
            v_b_ = bind_f32(w, p + "v_proj.bias", backend);
        }
        if (spec.o_bias) o_b_ = bind_f32(w, p + "o_proj.bias", backend);
        if (spec.qk_norm) {
            q_norm_ = bind_f32(w, p + "q_norm.weight", backend);
            k_norm_ = bind_f32(w, p + "k_norm.weight", backend);
        }
        if (spec.rope.rotary_dim > 0) inv_freq_ = upload_f32(backend, spec.rope.inv_freq);
        const std::string* lora[3][2] = {{&spec.q_lora_a, &spec.q_lora_b},
                                         {&spec.k_lora_a, &spec.k_lora_b},
                                         {&spec.v_lora_a, &spec.v_lora_b}};
        for (int i = 0; i < 3; ++i) {
            if (lora[i][0]->empty()) continue;
            lora_[i][0] = bind_matrix(w, *lora[i][0], backend);
            lora_[i][1] = bind_matrix(w, *lora[i][1], backend);
        }
    }

    std::vector<std::size_t> state_sizes() const override { return {}; }
    std::int64_t kv_width() const override { return spec_.n_kv_heads * spec_.head_dim; }
    // With step_positions the position reaches RoPE, the cache append and attention through
    // backend memory (the *_at ops); the cache itself must already hold the step (Model reserves
    // it before the step, so the recorded pointers stay valid until it grows again).
    bool capture_safe() const override { return true; }

    // One sequence: k, v are written straight into its cache rows [pos, pos + T). The batched step
    // (row r: one token of sequence r) keeps the projections and norms on all rows at once and goes
    // row by row only where the sequences differ: RoPE at each row's position, the append to each
    // row's cache, attention over each row's cache (few layers of the hybrids are attention).
    void forward(const MixerCall& call, Workspace& ws, const CaptureSink& sink) override {
        const std::int64_t T = call.T, hd = spec_.head_dim;
        const std::int64_t nh = spec_.n_heads, nkv = spec_.n_kv_heads;
        const std::int64_t qw = nh * hd, kvw = nkv * hd;
        const bool batched = call.batched();
        // The recordable step: k, v go to scratch and are appended at the device position.
        const std::int64_t* dev_pos = batched || !call.capture_safe ? nullptr : call.step_positions;
        if (call.capture_safe && !batched && dev_pos == nullptr)
            throw Error("attention: the recordable decode step came without its device position");
        auto& be = backend_;
        // Segments of rows that share a sequence: {first row, rows, state, position}.
        struct Segment {
            std::int64_t row, n;
            LayerState* state;
            std::int64_t pos;
        };
        std::vector<Segment> segs;
        if (batched) {
            for (std::int64_t r = 0; r < T; ++r)
                segs.push_back({r, 1, call.states[r], call.positions[r]});
        } else {
            segs.push_back({0, T, &call.state(), call.position()});
        }
        for (const Segment& sg : segs) reserve_kv(*sg.state, sg.pos + sg.n, sg.pos, be);
        float* q = ws.get("attn.q", std::size_t(T * qw));
        const bool staged = batched || dev_pos != nullptr;
        float* k = staged ? ws.get("attn.k", std::size_t(T * kvw))
                          : call.state().keys->f32() + call.position() * kvw;
        float* v = staged ? ws.get("attn.v", std::size_t(T * kvw))
                          : call.state().values->f32() + call.position() * kvw;
        be.matmul(call.u, spec_.d_in, T, q_.w, q_b_ ? q_b_->f32() : nullptr, q, qw);
        be.matmul(call.u, spec_.d_in, T, k_.w, k_b_ ? k_b_->f32() : nullptr, k, kvw);
        be.matmul(call.u, spec_.d_in, T, v_.w, v_b_ ? v_b_->f32() : nullptr, v, kvw);
        // zamba2 LoRA: y += B (A u)
        float* targets[3] = {q, k, v};
        for (int i = 0; i < 3; ++i) {
            if (lora_[i][0].w.data == nullptr) continue;
            const std::int64_t r = lora_[i][0].w.rows, n = lora_[i][1].w.rows;
            float* mid = ws.get("attn.lora_mid", std::size_t(T * r));
            float* add = ws.get("attn.lora_out", std::size_t(T * n));
            be.matmul(call.u, spec_.d_in, T, lora_[i][0].w, nullptr, mid, r);
            be.matmul(mid, r, T, lora_[i][1].w, nullptr, add, n);
            be.add(targets[i], add, T * n);
        }
        if (spec_.key_multiplier != 1.0)
            be.scale(k, kvw, T, kvw, static_cast<float>(spec_.key_multiplier));
        if (spec_.qk_norm) {
            // each head's hd values are one row: [T * heads, hd]
            const auto eps = static_cast<float>(spec_.qk_norm_eps);
            be.rmsnorm(q, hd, T * nh, hd, q_norm_->f32(), eps, q, hd);
            be.rmsnorm(k, hd, T * nkv, hd, k_norm_->f32(), eps, k, hd);
        }
        if (spec_.rope.rotary_dim > 0 && dev_pos != nullptr) {
            be.rope_at(q, qw, T, nh, hd, spec_.rope.rotary_dim, dev_pos, inv_freq_->f32());
            be.rope_at(k, kvw, T, nkv, hd, spec_.rope.rotary_dim, dev_pos, inv_freq_->f32());
        } else if (spec_.rope.rotary_dim > 0) {
            for (const Segment& sg : segs) {
                be.rope(q + sg.row * qw, qw, sg.n, nh, hd, spec_.rope.rotary_dim, sg.pos,
                        inv_freq_->f32());
                be.rope(k + sg.row * kvw, kvw, sg.n, nkv, hd, spec_.rope.rotary_dim, sg.pos,
                        inv_freq_->f32());
            }
        }
        if (dev_pos != nullptr) {
            LayerState& st = call.state();
            be.write_rows_at(k, kvw, T, kvw, st.keys->f32(), kvw, dev_pos);
            be.write_rows_at(v, kvw, T, kvw, st.values->f32(), kvw, dev_pos);
        } else if (batched) {
            // append each row's k, v (after RoPE, as HF caches them) at its position
            const std::size_t row_bytes = std::size_t(kvw) * sizeof(float);
            for (const Segment& sg : segs) {
                be.copy(k + sg.row * kvw, sg.state->keys->f32() + sg.pos * kvw, row_bytes);
                be.copy(v + sg.row * kvw, sg.state->values->f32() + sg.pos * kvw, row_bytes);
            }
        }
        if (sink.active()) {
            sink.capture("attn.q", q, {T, qw});
            sink.capture("attn.k", k, {T, kvw});
            sink.capture("attn.v", v, {T, kvw});
        }
        float* a = ws.get("attn.a", std::size_t(T * qw));
        if (dev_pos != nullptr) {
            LayerState& st = call.state();
            be.attention_at(q, qw, st.keys->f32(), st.values->f32(), kvw, T, dev_pos,
                            st.kv_capacity, nh, nkv, hd, static_cast<float>(spec_.scale),
                            spec_.window, a, qw);
        } else {
            for (const Segment& sg : segs)
                be.attention(q + sg.row * qw, qw, sg.state->keys->f32(), sg.state->values->f32(),
                             kvw, sg.n, sg.pos, nh, nkv, hd, static_cast<float>(spec_.scale),
                             spec_.window, a + sg.row * qw, qw);
        }
        if (sink.active()) sink.capture("attn.out", a, {T, qw});
        be.matmul(a, qw, T, o_.w, o_b_ ? o_b_->f32() : nullptr, call.out, o_.w.rows);
    }

  private:
    AttentionSpec spec_;
    kernels::Backend& backend_;
    BoundWeight q_, k_, v_, o_;
    BoundWeight lora_[3][2];  // q, k, v: A, B
    std::unique_ptr<kernels::Buffer> q_b_, k_b_, v_b_, o_b_, q_norm_, k_norm_, inv_freq_;
};

}  // namespace

std::unique_ptr<Mixer> make_attention_mixer(const AttentionSpec& spec, std::int64_t,
                                            const WeightStore& w, kernels::Backend& backend) {
    return std::make_unique<AttentionMixer>(spec, w, backend);
}

}  // namespace statescope
