// zamba2 (MODELS.md §8): Mamba-2 layers (input_layernorm -> mamba) and hybrid layers whose shared
// transformer block (attention over [h, h0] + gelu GLU) feeds the layer's Mamba-2 input. Hybrid
// layer with ordinal k uses shared block k % num_mem_blocks, whose weights live under the first
// hybrid layer with that block (later ones are tied and absent from the file), and adapter index k.
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/model/adapters/adapter.h"

namespace statescope::adapters {

ModelSpec build_zamba2(const Config& cfg, const WeightStore& w) {
    ModelSpec spec;
    spec.model_type = cfg.get_string("model_type");
    spec.d_model = cfg.get_int("hidden_size");
    spec.residual_in_fp32 = false;
    const std::int64_t D = spec.d_model;
    if (D <= 0) throw Error(cfg.field("hidden_size") + "must be positive");
    if (!cfg.has("layers_block_type") || cfg.json()["layers_block_type"].is_null())
        throw Error(cfg.field("layers_block_type") +
                    "is missing (the default 54-layer pattern is not built in)");
    const std::string letters = layer_letters(cfg, "layers_block_type");
    for (char c : letters)
        if (c != 'M' && c != 'H')
            throw Error(cfg.field("layers_block_type") + "may only hold mamba / hybrid layers");
    const std::int64_t n_layers = cfg.get_int("num_hidden_layers", std::int64_t(letters.size()));
    if (n_layers != std::int64_t(letters.size()))
        throw Error(cfg.field("num_hidden_layers") + "is " + std::to_string(n_layers) +
                    " but layers_block_type has " + std::to_string(letters.size()) + " entries");
    const double eps = cfg.get_float("rms_norm_eps", 1e-5);
    const std::int64_t n_mem_blocks = cfg.get_int("num_mem_blocks", 1);
    if (n_mem_blocks <= 0) throw Error(cfg.field("num_mem_blocks") + "must be positive");
    const bool adapters = cfg.get_bool("use_shared_attention_adapter", false);
    const bool mem_rope = cfg.get_bool("use_mem_rope", false);
    const auto act = read_activation(cfg, "hidden_act", "gelu");
    Mamba2Options o;
    o.n_groups = cfg.get_int("mamba_ngroups", 1);
    o.groups_field = "mamba_ngroups";
    o.chunk_size = cfg.get_int("chunk_size", 256);
    o.dt_min =
        cfg.get_float("time_step_min", 0.001);  // hard-coded time_step_limit = (time_step_min, inf)
    o.dt_max = std::numeric_limits<double>::infinity();
    o.grouped_norm = true;
    o.norm_eps = 1e-5;  // Zamba2RMSNormGated's eps is hard-coded

    read_embedding(spec, cfg, w, "model.embed_tokens.weight");
    spec.final_norm = "model.final_layernorm.weight";
    spec.final_norm_eps = eps;
    expect_shape(w, spec.final_norm, {D}, "hidden_size");
    std::vector<std::int64_t> owner;  // owner[b]: the layer holding shared block b
    std::int64_t k = 0;               // hybrid ordinal
    for (std::int64_t i = 0; i < n_layers; ++i) {
        const std::string layer = "model.layers." + std::to_string(i) + ".";
        BlockSpec block;
        if (letters[i] == 'M') {
            PartSpec p = norm_part(MixerKind::Mamba2, layer + "input_layernorm.weight", eps, w, D);
            p.mixer = read_mamba2(w, layer + "mamba.", D, o);
            block.parts.push_back(std::move(p));
            spec.blocks.push_back(std::move(block));
            continue;
        }
        const std::int64_t b = k % n_mem_blocks;
        if (std::int64_t(owner.size()) <= b) owner.push_back(i);
        // A later hybrid layer's shared_transformer keys are absent (tied); if present they win.
        std::string st = layer + "shared_transformer.";
        if (!w.find(st + "input_layernorm.weight"))
            st = "model.layers." + std::to_string(owner[b]) + ".shared_transformer.";
        Zamba2HybridSpec z;
        z.eps = eps;
        z.attention_norm = st + "input_layernorm.weight";
        expect_shape(w, z.attention_norm, {2 * D}, "2 * hidden_size");
        z.attention = attention_from_shapes(cfg, w, st + "self_attn.", 2 * D, D);
        z.attention.scale = 1.0 / std::sqrt(double(z.attention.head_dim) / 2.0);
        if (mem_rope) z.attention.rope = read_rope(cfg, z.attention.head_dim, 1.0);
        const std::string idx = std::to_string(k);
        if (adapters) {
            const std::string sa = st + "self_attn.linear_";
            z.attention.q_lora_a = sa + "q_adapter_list." + idx + ".0.weight";
            z.attention.q_lora_b = sa + "q_adapter_list." + idx + ".1.weight";
            z.attention.k_lora_a = sa + "k_adapter_list." + idx + ".0.weight";
            z.attention.k_lora_b = sa + "k_adapter_list." + idx + ".1.weight";
            z.attention.v_lora_a = sa + "v_adapter_list." + idx + ".0.weight";
            z.attention.v_lora_b = sa + "v_adapter_list." + idx + ".1.weight";
            const std::int64_t qw = z.attention.n_heads * z.attention.head_dim;
            const std::int64_t kvw = z.attention.n_kv_heads * z.attention.head_dim;
            for (auto [a, bb, n] : {std::tuple{&z.attention.q_lora_a, &z.attention.q_lora_b, qw},
                                    {&z.attention.k_lora_a, &z.attention.k_lora_b, kvw},
                                    {&z.attention.v_lora_a, &z.attention.v_lora_b, kvw}}) {
                const std::int64_t rank = expect_rank(w, *a, 2).shape[0];
                expect_shape(w, *a, {rank, 2 * D}, "adapter_rank x 2 * hidden_size");
                expect_shape(w, *bb, {n, rank}, "attention width x adapter_rank");
            }
        }
        z.mlp_norm = st + "pre_ff_layernorm.weight";
        expect_shape(w, z.mlp_norm, {D}, "hidden_size");
        z.mlp.gate_up = st + "feed_forward.gate_up_proj.weight";
        z.mlp.down = st + "feed_forward.down_proj.weight";
        z.mlp.d_ff = expect_rank(w, z.mlp.gate_up, 2).shape[0] / 2;
        z.mlp.act = act;
        expect_shape(w, z.mlp.gate_up, {2 * z.mlp.d_ff, D}, "2 * intermediate_size x hidden_size");
        expect_shape(w, z.mlp.down, {D, z.mlp.d_ff}, "hidden_size x intermediate_size");
        // add_bias_linear: biases on gate_up_proj and down_proj
        if (w.find(st + "feed_forward.gate_up_proj.bias")) {
            z.mlp.up_bias = st + "feed_forward.gate_up_proj.bias";
            expect_shape(w, z.mlp.up_bias, {2 * z.mlp.d_ff}, "2 * intermediate_size");
        }
        if (w.find(st + "feed_forward.down_proj.bias")) {
            z.mlp.down_bias = st + "feed_forward.down_proj.bias";
            expect_shape(w, z.mlp.down_bias, {D}, "hidden_size");
        }
        const std::string gua = st + "feed_forward.gate_up_proj_adapter_list." + idx + ".0.weight";
        if (w.find(gua)) {
            z.mlp.gate_up_lora_a = gua;
            z.mlp.gate_up_lora_b =
                st + "feed_forward.gate_up_proj_adapter_list." + idx + ".1.weight";
            const std::int64_t rank = expect_rank(w, gua, 2).shape[0];
            expect_shape(w, gua, {rank, D}, "adapter_rank x hidden_size");
            expect_shape(w, z.mlp.gate_up_lora_b, {2 * z.mlp.d_ff, rank},
                         "2 * intermediate_size x adapter_rank");
        }
        z.linear = layer + "linear.weight";
        expect_shape(w, z.linear, {D, D}, "hidden_size x hidden_size");
        z.mamba_norm = layer + "mamba_decoder.input_layernorm.weight";
        expect_shape(w, z.mamba_norm, {D}, "hidden_size");
        z.mamba = read_mamba2(w, layer + "mamba_decoder.mamba.", D, o);
        PartSpec p;
        p.kind = MixerKind::Zamba2Hybrid;
        p.mixer = std::move(z);
        block.parts.push_back(std::move(p));
        spec.blocks.push_back(std::move(block));
        ++k;
    }
    fill_common(spec, cfg, w);
    resolve_lm_head(spec, cfg, w, /*tie_default=*/true, "lm_head.weight");
    return spec;
}

}  // namespace statescope::adapters
