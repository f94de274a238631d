// bamba (MODELS.md §6): layer i = [input_layernorm -> mamba (Mamba-2, full-width gated norm) or
// self_attn (GQA, RoPE on the first half of each head)] then [pre_ff_layernorm -> SwiGLU MLP].
#include <algorithm>

#include "core/error.h"
#include "core/model/adapters/adapter.h"

namespace statescope::adapters {

ModelSpec build_bamba(const Config& cfg, const WeightStore& w) {
    std::int64_t n_layers = 0;
    ModelSpec spec = hybrid_spec_start(cfg, n_layers);
    const double eps = cfg.get_float("rms_norm_eps", 1e-5);
    std::vector<std::int64_t> attn_layers;
    if (cfg.has("attn_layer_indices") && !cfg.json()["attn_layer_indices"].is_null()) {
        if (!cfg.json()["attn_layer_indices"].is_array())
            throw Error(cfg.field("attn_layer_indices") + "must be a list of layer indices");
        for (const auto& v : cfg.json()["attn_layer_indices"]) {
            if (!v.is_number_integer() || v.get<std::int64_t>() < 0 ||
                v.get<std::int64_t>() >= n_layers)
                throw Error(cfg.field("attn_layer_indices") + "has " + v.dump() +
                            ", not a layer index below " +
                            "num_hidden_layers=" + std::to_string(n_layers));
            attn_layers.push_back(v.get<std::int64_t>());
        }
    }
    expect_silu(cfg, "hidden_act", "silu");
    Mamba2Options o;
    o.n_groups = cfg.get_int("mamba_n_groups", 1);
    o.groups_field = "mamba_n_groups";
    o.chunk_size = cfg.get_int("mamba_chunk_size", 256);
    read_time_step_limit(cfg, o.dt_min, o.dt_max);
    o.norm_eps = eps;  // BambaRMSNormGated: full width, gate then norm
    const std::int64_t d_ff = cfg.get_int("intermediate_size");
    const auto act = read_activation(cfg, "hidden_act", "silu");

    read_embedding(spec, cfg, w, "model.embed_tokens.weight");
    spec.final_norm = "model.final_layernorm.weight";
    spec.final_norm_eps = eps;
    expect_shape(w, spec.final_norm, {spec.d_model}, "hidden_size");
    for (std::int64_t i = 0; i < n_layers; ++i) {
        const std::string layer = "model.layers." + std::to_string(i) + ".";
        const bool attn = std::find(attn_layers.begin(), attn_layers.end(), i) != attn_layers.end();
        BlockSpec block;
        PartSpec mixer = norm_part(attn ? MixerKind::Attention : MixerKind::Mamba2,
                                   layer + "input_layernorm.weight", eps, w, spec.d_model);
        if (attn) {
            AttentionSpec a =
                attention_from_shapes(cfg, w, layer + "self_attn.", spec.d_model, spec.d_model);
            // BambaConfig.__post_init__ hard-codes partial_rotary_factor = 0.5.
            a.rope = read_rope_with_partial(cfg, a.head_dim, 0.5);
            mixer.mixer = std::move(a);
        } else {
            mixer.mixer = read_mamba2(w, layer + "mamba.", spec.d_model, o);
        }
        block.parts.push_back(std::move(mixer));
        PartSpec ffn =
            norm_part(MixerKind::Mlp, layer + "pre_ff_layernorm.weight", eps, w, spec.d_model);
        ffn.mixer = gated_mlp(w, layer + "feed_forward.", spec.d_model, d_ff, act);
        block.parts.push_back(std::move(ffn));
        spec.blocks.push_back(std::move(block));
    }
    fill_common(spec, cfg, w);
    resolve_lm_head(spec, cfg, w, /*tie_default=*/false, "lm_head.weight");
    return spec;
}

}  // namespace statescope::adapters
