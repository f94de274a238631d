// The Transformer baseline: llama, mistral, qwen2, qwen3. Layer i = [input_layernorm -> self_attn]
// then [post_attention_layernorm -> mlp (SwiGLU)], under `model.`. qwen3 adds per-head q/k
// RMSNorms; qwen2 has q/k/v biases (read from the tensors); mistral and qwen sliding windows come
// from sliding_window / layer_types.
#include <cmath>

#include "core/error.h"
#include "core/model/adapters/adapter.h"

namespace statescope::adapters {

ModelSpec build_llama(const Config& cfg, const WeightStore& w) {
    ModelSpec spec;
    spec.model_type = cfg.get_string("model_type");
    spec.d_model = cfg.get_int("hidden_size");
    spec.residual_in_fp32 = false;
    const std::int64_t n_layers = cfg.get_int("num_hidden_layers");
    const std::int64_t n_heads = cfg.get_int("num_attention_heads");
    const std::int64_t n_kv = cfg.get_int("num_key_value_heads", n_heads);
    if (spec.d_model <= 0 || n_layers <= 0 || n_heads <= 0)
        throw Error(cfg.source() +
                    ": hidden_size, num_hidden_layers and num_attention_heads must be positive");
    const std::int64_t head_dim = cfg.get_int("head_dim", spec.d_model / n_heads);
    const std::int64_t d_ff = cfg.get_int("intermediate_size");
    const double eps = cfg.get_float("rms_norm_eps", 1e-6);
    const bool qwen3 = spec.model_type == "qwen3";
    const RopeSpec rope = read_rope(cfg, head_dim, 1.0);
    const auto act = read_activation(cfg, "hidden_act", "silu");

    // Sliding windows: mistral applies sliding_window to every layer; qwen2/qwen3 to the layers
    // layer_types marks "sliding_attention" (only with use_sliding_window).
    const std::int64_t window = cfg.get_int("sliding_window", 0);
    std::vector<bool> sliding(std::size_t(n_layers), false);
    if (spec.model_type == "mistral") {
        sliding.assign(std::size_t(n_layers), window > 0);
    } else if (cfg.has("layer_types") && cfg.json()["layer_types"].is_array()) {
        const auto& types = cfg.json()["layer_types"];
        if (std::int64_t(types.size()) != n_layers)
            throw Error(cfg.field("layer_types") + "has " + std::to_string(types.size()) +
                        " entries, num_hidden_layers is " + std::to_string(n_layers));
        for (std::int64_t i = 0; i < n_layers; ++i)
            sliding[i] = types[i].is_string() &&
                         types[i].get<std::string>() == "sliding_attention" &&
                         cfg.get_bool("use_sliding_window", true) && window > 0;
    }

    read_embedding(spec, cfg, w, "model.embed_tokens.weight");
    spec.final_norm = "model.norm.weight";
    spec.final_norm_eps = eps;
    expect_shape(w, spec.final_norm, {spec.d_model}, "hidden_size");
    for (std::int64_t i = 0; i < n_layers; ++i) {
        const std::string layer = "model.layers." + std::to_string(i) + ".";
        BlockSpec block;
        PartSpec attn;
        attn.kind = MixerKind::Attention;
        attn.norm_weight = layer + "input_layernorm.weight";
        attn.norm_eps = eps;
        expect_shape(w, attn.norm_weight, {spec.d_model}, "hidden_size");
        AttentionSpec a;
        a.prefix = layer + "self_attn.";
        a.d_in = spec.d_model;
        a.n_heads = n_heads;
        a.n_kv_heads = n_kv;
        a.head_dim = head_dim;
        a.scale = 1.0 / std::sqrt(double(head_dim));
        a.rope = rope;
        a.window = sliding[i] ? window : 0;
        a.qk_norm = qwen3;
        a.qk_norm_eps = eps;
        check_attention(w, a, spec.d_model);
        attn.mixer = std::move(a);
        block.parts.push_back(std::move(attn));

        PartSpec mlp;
        mlp.kind = MixerKind::Mlp;
        mlp.norm_weight = layer + "post_attention_layernorm.weight";
        mlp.norm_eps = eps;
        expect_shape(w, mlp.norm_weight, {spec.d_model}, "hidden_size");
        mlp.mixer = gated_mlp(w, layer + "mlp.", spec.d_model, d_ff, act);
        block.parts.push_back(std::move(mlp));
        spec.blocks.push_back(std::move(block));
    }
    fill_common(spec, cfg, w);
    resolve_lm_head(spec, cfg, w, /*tie_default=*/false, "lm_head.weight");
    return spec;
}

}  // namespace statescope::adapters
