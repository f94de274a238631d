// granitemoehybrid, Granite 4.0-H (MODELS.md §10): layer = [input_layernorm -> mamba (Mamba-2,
// full-width gated norm) or self_attn (scale attention_multiplier, RoPE only for
// position_embedding_type "rope")] then [post_attention_layernorm -> MoE (top-k logits, softmax
// over them) + shared GLU MLP]; both residual branches scaled by residual_multiplier; embeddings
// times embedding_multiplier, logits divided by logits_scaling.
#include "core/error.h"
#include "core/model/adapters/adapter.h"

namespace statescope::adapters {

ModelSpec build_granitemoehybrid(const Config& cfg, const WeightStore& w) {
    std::int64_t n_layers = 0;
    ModelSpec spec = hybrid_spec_start(cfg, n_layers);
    std::string letters(std::size_t(n_layers), 'M');  // layer_types absent: all mamba
    if (cfg.has("layer_types") && !cfg.json()["layer_types"].is_null()) {
        letters = layer_letters(cfg, "layer_types");
        if (std::int64_t(letters.size()) != n_layers)
            throw Error(cfg.field("layer_types") + "has " + std::to_string(letters.size()) +
                        " entries, num_hidden_layers is " + std::to_string(n_layers));
        for (char c : letters)
            if (c != 'M' && c != '*')
                throw Error(cfg.field("layer_types") + "may only hold mamba / attention layers");
    }
    const double eps = cfg.get_float("rms_norm_eps", 1e-6);
    const double residual_multiplier = cfg.get_float("residual_multiplier", 1.0);
    spec.embedding_multiplier = cfg.get_float("embedding_multiplier", 1.0);
    const double logits_scaling = cfg.get_float("logits_scaling", 1.0);
    if (logits_scaling == 0.0) throw Error(cfg.field("logits_scaling") + "must not be 0");
    spec.logits_multiplier = 1.0 / logits_scaling;
    const bool rope = cfg.get_string("position_embedding_type", "nope") == "rope";
    const double attention_multiplier = cfg.get_float("attention_multiplier", 1.0);
    expect_silu(cfg, "hidden_act", "silu");
    const auto act = read_activation(cfg, "hidden_act", "silu");
    Mamba2Options o;
    o.n_groups = cfg.get_int("mamba_n_groups", 1);
    o.groups_field = "mamba_n_groups";
    o.chunk_size = cfg.get_int("mamba_chunk_size", 256);
    read_time_step_limit(cfg, o.dt_min, o.dt_max);
    o.norm_eps = eps;
    const std::int64_t n_experts = cfg.get_int("num_local_experts", 8);

    read_embedding(spec, cfg, w, "model.embed_tokens.weight");
    spec.final_norm = "model.norm.weight";
    spec.final_norm_eps = eps;
    expect_shape(w, spec.final_norm, {spec.d_model}, "hidden_size");
    for (std::int64_t i = 0; i < n_layers; ++i) {
        const std::string layer = "model.layers." + std::to_string(i) + ".";
        const bool attn = letters[i] == '*';
        BlockSpec block;
        PartSpec mixer = norm_part(attn ? MixerKind::Attention : MixerKind::Mamba2,
                                   layer + "input_layernorm.weight", eps, w, spec.d_model);
        mixer.out_multiplier = residual_multiplier;
        if (attn) {
            AttentionSpec a =
                attention_from_shapes(cfg, w, layer + "self_attn.", spec.d_model, spec.d_model);
            a.scale = attention_multiplier;
            if (rope) a.rope = read_rope(cfg, a.head_dim, 1.0);
            mixer.mixer = std::move(a);
        } else {
            mixer.mixer = read_mamba2(w, layer + "mamba.", spec.d_model, o);
        }
        block.parts.push_back(std::move(mixer));

        // shared_mlp.input_linear [2Fs, H] (gate | up), output_linear [H, Fs]
        MlpSpec shared;
        shared.gate_up = layer + "shared_mlp.input_linear.weight";
        shared.down = layer + "shared_mlp.output_linear.weight";
        const TensorInfo& gu = expect_rank(w, shared.gate_up, 2);
        shared.d_ff = gu.shape[0] / 2;
        shared.act = act;
        expect_shape(w, shared.gate_up, {2 * shared.d_ff, spec.d_model},
                     "2 * shared_intermediate_size");
        expect_shape(w, shared.down, {spec.d_model, shared.d_ff}, "shared_intermediate_size");
        PartSpec ffn = norm_part(n_experts > 0 ? MixerKind::Moe : MixerKind::Mlp,
                                 layer + "post_attention_layernorm.weight", eps, w, spec.d_model);
        ffn.out_multiplier = residual_multiplier;
        if (n_experts > 0) {
            MoeSpec e;
            const std::string m = layer + "block_sparse_moe.";
            e.router = m + "router.layer.weight";
            e.n_experts = n_experts;
            expect_shape(w, e.router, {n_experts, spec.d_model}, "num_local_experts x hidden_size");
            e.top_k = cfg.get_int("num_experts_per_tok", 2);
            if (e.top_k <= 0 || e.top_k > n_experts)
                throw Error(cfg.field("num_experts_per_tok") + "must be in [1, num_local_experts]");
            e.scoring = kernels::RouterScoring::TopKSoftmax;
            e.stacked_gate_up = m + "input_linear.weight";
            e.stacked_down = m + "output_linear.weight";
            const TensorInfo& in = expect_rank(w, e.stacked_gate_up, 3);
            e.d_ff = in.shape[1] / 2;
            expect_shape(w, e.stacked_gate_up, {n_experts, 2 * e.d_ff, spec.d_model},
                         "num_local_experts, 2 * intermediate_size, hidden_size");
            expect_shape(w, e.stacked_down, {n_experts, spec.d_model, e.d_ff},
                         "num_local_experts, hidden_size, intermediate_size");
            e.act = act;
            e.has_shared = true;
            e.shared = shared;
            ffn.mixer = e;
        } else {
            ffn.mixer = shared;
        }
        block.parts.push_back(std::move(ffn));
        spec.blocks.push_back(std::move(block));
    }
    fill_common(spec, cfg, w);
    resolve_lm_head(spec, cfg, w, /*tie_default=*/false, "lm_head.weight");
    return spec;
}

}  // namespace statescope::adapters
