// nemotron_h (MODELS.md §9): one mixer per layer under `backbone.layers.n.mixer.` with pre-norm
// `norm.weight`: M Mamba-2 (per-group gated norm, prefill dt >= time_step_min), * attention without
// positional encoding, - squared-ReLU MLP, E sigmoid-router MoE with shared experts. The layer list
// comes from hybrid_override_pattern (Hub configs) or layers_block_type (5.x).
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/model/adapters/adapter.h"

namespace statescope::adapters {

namespace {

std::int64_t int_alias(const Config& cfg, const char* key, const char* legacy,
                       std::int64_t fallback) {
    return cfg.has(key) ? cfg.get_int(key, fallback) : cfg.get_int(legacy, fallback);
}

}  // namespace

ModelSpec build_nemotron_h(const Config& cfg, const WeightStore& w) {
    ModelSpec spec;
    spec.model_type = cfg.get_string("model_type");
    spec.d_model = cfg.get_int("hidden_size");
    spec.residual_in_fp32 = false;
    if (spec.d_model <= 0) throw Error(cfg.field("hidden_size") + "must be positive");
    std::string pattern;
    if (cfg.has("hybrid_override_pattern") && cfg.json()["hybrid_override_pattern"].is_string()) {
        pattern = cfg.get_string("hybrid_override_pattern");
        for (char c : pattern)
            if (c != 'M' && c != '*' && c != '-' && c != 'E')
                throw Error(cfg.field("hybrid_override_pattern") + "has '" + std::string(1, c) +
                            "' (letters: M mamba, * attention, - mlp, E moe)");
    } else if (cfg.has("layers_block_type") && !cfg.json()["layers_block_type"].is_null()) {
        pattern = layer_letters(cfg, "layers_block_type");
        if (pattern.find('H') != std::string::npos)
            throw Error(cfg.field("layers_block_type") +
                        "has a \"hybrid\" layer, which nemotron_h does not have");
    } else {
        throw Error(cfg.source() +
                    ": neither hybrid_override_pattern nor layers_block_type is given");
    }
    const double eps = cfg.get_float("layer_norm_epsilon", 1e-5);
    expect_silu(cfg, "mamba_hidden_act", "silu");
    Mamba2Options o;
    o.n_groups = int_alias(cfg, "n_groups", "mamba_n_groups", 8);
    o.groups_field = cfg.has("n_groups") ? "n_groups" : "mamba_n_groups";
    o.chunk_size = int_alias(cfg, "chunk_size", "mamba_chunk_size", 128);
    // The mixer hard-codes time_step_limit = (time_step_min, inf), in prefill only.
    o.dt_min = cfg.has("time_step_min") ? cfg.get_float("time_step_min")
                                        : cfg.get_float("mamba_dt_min", 0.001);
    o.dt_max = std::numeric_limits<double>::infinity();
    o.grouped_norm = true;
    o.norm_eps = eps;
    const auto mlp_act = read_activation(cfg, "mlp_hidden_act", "relu2");
    if (cfg.has("moe_latent_size") && !cfg.json()["moe_latent_size"].is_null())
        throw Error(cfg.field("moe_latent_size") +
                    "is set; latent MoE projections are not supported yet");

    spec.embedding = "backbone.embeddings.weight";
    if (!w.find(spec.embedding) && w.find("model.embeddings.weight"))
        spec.embedding = "model.embeddings.weight";
    const std::string root =
        spec.embedding.substr(0, spec.embedding.find('.') + 1);  // "backbone." or "model."
    read_embedding(spec, cfg, w, spec.embedding);
    spec.final_norm = root + "norm_f.weight";
    spec.final_norm_eps = eps;
    expect_shape(w, spec.final_norm, {spec.d_model}, "hidden_size");
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        const std::string layer = root + "layers." + std::to_string(i) + ".";
        const std::string mx = layer + "mixer.";
        BlockSpec block;
        const char c = pattern[i];
        const MixerKind kind = c == 'M'   ? MixerKind::Mamba2
                               : c == '*' ? MixerKind::Attention
                               : c == '-' ? MixerKind::Mlp
                                          : MixerKind::Moe;
        PartSpec part = norm_part(kind, layer + "norm.weight", eps, w, spec.d_model);
        if (c == 'M') {
            part.mixer = read_mamba2(w, mx, spec.d_model, o);
        } else if (c == '*') {
            part.mixer = attention_from_shapes(cfg, w, mx, spec.d_model, spec.d_model);  // no RoPE
        } else if (c == '-') {
            MlpSpec m;
            m.up = mx + "up_proj.weight";
            m.down = mx + "down_proj.weight";
            m.d_ff = expect_rank(w, m.up, 2).shape[0];
            m.act = mlp_act;
            expect_shape(w, m.up, {m.d_ff, spec.d_model}, "intermediate_size");
            expect_shape(w, m.down, {spec.d_model, m.d_ff}, "intermediate_size");
            if (w.find(mx + "up_proj.bias")) {  // mlp_bias
                m.up_bias = mx + "up_proj.bias";
                m.down_bias = mx + "down_proj.bias";
                expect_shape(w, m.up_bias, {m.d_ff}, "mlp_bias=true, intermediate_size");
                expect_shape(w, m.down_bias, {spec.d_model}, "mlp_bias=true, hidden_size");
            }
            part.mixer = m;
        } else {
            MoeSpec e;
            e.router = mx + "gate.weight";
            e.n_experts = expect_rank(w, e.router, 2).shape[0];
            expect_shape(w, e.router, {e.n_experts, spec.d_model},
                         "n_routed_experts x hidden_size");
            if (w.find(mx + "gate.e_score_correction_bias")) {
                e.correction_bias = mx + "gate.e_score_correction_bias";
                expect_shape(w, e.correction_bias, {e.n_experts}, "n_routed_experts");
            }
            e.top_k = cfg.get_int("num_experts_per_tok", 2);
            if (e.top_k <= 0 || e.top_k > e.n_experts)
                throw Error(cfg.field("num_experts_per_tok") + "must be in [1, " +
                            std::to_string(e.n_experts) + "]");
            e.scoring = kernels::RouterScoring::Sigmoid;
            e.n_group = cfg.get_int("n_group", 1);
            e.topk_group = cfg.get_int("topk_group", 1);
            if (e.n_group <= 0 || e.n_experts % e.n_group != 0 || e.topk_group <= 0 ||
                e.topk_group > e.n_group)
                throw Error(cfg.field("n_group") + "/ topk_group do not divide the " +
                            std::to_string(e.n_experts) + " experts");
            e.normalize = cfg.get_bool("norm_topk_prob", true);
            e.route_scale = cfg.get_float("routed_scaling_factor", 1.0);
            e.expert_up = mx + "experts.{e}.up_proj.weight";
            e.expert_down = mx + "experts.{e}.down_proj.weight";
            const std::string up0 = mx + "experts.0.up_proj.weight";
            e.d_ff = expect_rank(w, up0, 2).shape[0];
            for (std::int64_t x = 0; x < e.n_experts; ++x) {
                const std::string p = mx + "experts." + std::to_string(x) + ".";
                expect_shape(w, p + "up_proj.weight", {e.d_ff, spec.d_model},
                             "moe_intermediate_size");
                expect_shape(w, p + "down_proj.weight", {spec.d_model, e.d_ff},
                             "moe_intermediate_size");
            }
            e.act = mlp_act;
            if (w.find(mx + "shared_experts.up_proj.weight")) {
                e.has_shared = true;
                e.shared.up = mx + "shared_experts.up_proj.weight";
                e.shared.down = mx + "shared_experts.down_proj.weight";
                e.shared.d_ff = expect_rank(w, e.shared.up, 2).shape[0];
                e.shared.act = mlp_act;
                expect_shape(w, e.shared.up, {e.shared.d_ff, spec.d_model},
                             "moe_shared_expert_intermediate_size");
                expect_shape(w, e.shared.down, {spec.d_model, e.shared.d_ff},
                             "moe_shared_expert_intermediate_size");
            }
            part.mixer = e;
        }
        block.parts.push_back(std::move(part));
        spec.blocks.push_back(std::move(block));
    }
    fill_common(spec, cfg, w);
    // NemotronHForCausalLM is never tied (_tied_weights_keys = {}): lm_head.weight when present.
    if (w.find("lm_head.weight")) {
        spec.lm_head = "lm_head.weight";
        expect_shape(w, spec.lm_head, {spec.vocab_size, spec.d_model}, "vocab_size x hidden_size");
    } else {
        spec.lm_head = spec.embedding;
        spec.tied_embeddings = true;
    }
    return spec;
}

}  // namespace statescope::adapters
