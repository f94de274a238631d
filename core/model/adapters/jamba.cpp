// jamba (MODELS.md §5): layer i = [input_layernorm -> mamba (Mamba-1 with learned dt/B/C RMSNorms)
// or self_attn (GQA, no positional encoding)] then [pre_ff_layernorm -> SwiGLU MLP or MoE (softmax,
// top-k, not renormalised)]. Attention iff i % attn_layer_period == attn_layer_offset; MoE where
// the layer has a router (i % expert_layer_period == expert_layer_offset with num_experts > 1).
#include "core/error.h"
#include "core/model/adapters/adapter.h"

namespace statescope::adapters {

namespace {

// Dimensions from the tensors (MODELS.md §15): A_log [I, N], dt_proj [I, R], conv1d [I, 1, K].
Mamba1Spec read_jamba_mamba(const Config& cfg, const WeightStore& w, const std::string& p,
                            std::int64_t d_model, double eps) {
    Mamba1Spec m;
    m.prefix = p;
    const TensorInfo& a = expect_rank(w, p + "A_log", 2);
    m.d_inner = a.shape[0];
    m.d_state = a.shape[1];
    m.dt_rank = expect_rank(w, p + "dt_proj.weight", 2).shape[1];
    m.d_conv = expect_rank(w, p + "conv1d.weight", 3).shape[2];
    const std::string dims = "d_inner=" + std::to_string(m.d_inner) +
                             ", mamba_d_state=" + std::to_string(m.d_state) +
                             ", mamba_dt_rank=" + std::to_string(m.dt_rank);
    m.proj_bias = w.find(p + "in_proj.bias") != nullptr;
    m.conv_bias = w.find(p + "conv1d.bias") != nullptr;
    expect_shape(w, p + "in_proj.weight", {2 * m.d_inner, d_model}, dims);
    expect_shape(w, p + "conv1d.weight", {m.d_inner, 1, m.d_conv}, dims);
    if (m.conv_bias) expect_shape(w, p + "conv1d.bias", {m.d_inner}, dims);
    expect_shape(w, p + "x_proj.weight", {m.dt_rank + 2 * m.d_state, m.d_inner}, dims);
    expect_shape(w, p + "dt_proj.weight", {m.d_inner, m.dt_rank}, dims);
    expect_shape(w, p + "dt_proj.bias", {m.d_inner}, dims);
    expect_shape(w, p + "D", {m.d_inner}, dims);
    expect_shape(w, p + "out_proj.weight", {d_model, m.d_inner}, dims);
    if (m.proj_bias) {
        expect_shape(w, p + "in_proj.bias", {2 * m.d_inner}, dims);
        expect_shape(w, p + "out_proj.bias", {d_model}, dims);
    }
    expect_shape(w, p + "dt_layernorm.weight", {m.dt_rank}, dims);
    expect_shape(w, p + "b_layernorm.weight", {m.d_state}, dims);
    expect_shape(w, p + "c_layernorm.weight", {m.d_state}, dims);
    m.dt_bc_rmsnorm = true;
    m.dt_bc_norm_weights = true;
    m.dt_bc_rmsnorm_eps = eps;
    (void)cfg;
    return m;
}

}  // namespace

ModelSpec build_jamba(const Config& cfg, const WeightStore& w) {
    std::int64_t n_layers = 0;
    ModelSpec spec = hybrid_spec_start(cfg, n_layers);
    const std::int64_t attn_period = cfg.get_int("attn_layer_period", 8);
    const std::int64_t attn_offset = cfg.get_int("attn_layer_offset", 4);
    if (attn_period <= 0) throw Error(cfg.field("attn_layer_period") + "must be positive");
    const double eps = cfg.get_float("rms_norm_eps", 1e-6);
    expect_silu(cfg, "hidden_act", "silu");
    const auto act = read_activation(cfg, "hidden_act", "silu");
    const std::int64_t d_ff = cfg.get_int("intermediate_size");

    read_embedding(spec, cfg, w, "model.embed_tokens.weight");
    spec.final_norm = "model.final_layernorm.weight";
    spec.final_norm_eps = eps;
    expect_shape(w, spec.final_norm, {spec.d_model}, "hidden_size");
    for (std::int64_t i = 0; i < n_layers; ++i) {
        const std::string layer = "model.layers." + std::to_string(i) + ".";
        const bool attn = i % attn_period == attn_offset;
        BlockSpec block;
        PartSpec mixer = norm_part(attn ? MixerKind::Attention : MixerKind::Mamba1,
                                   layer + "input_layernorm.weight", eps, w, spec.d_model);
        if (attn)
            mixer.mixer =
                attention_from_shapes(cfg, w, layer + "self_attn.", spec.d_model, spec.d_model);
        else
            mixer.mixer = read_jamba_mamba(cfg, w, layer + "mamba.", spec.d_model, eps);
        block.parts.push_back(std::move(mixer));

        const std::string ff = layer + "feed_forward.";
        const bool moe = w.find(ff + "router.weight") != nullptr;
        PartSpec ffn = norm_part(moe ? MixerKind::Moe : MixerKind::Mlp,
                                 layer + "pre_ff_layernorm.weight", eps, w, spec.d_model);
        if (moe) {
            MoeSpec e;
            e.router = ff + "router.weight";
            e.n_experts = expect_rank(w, e.router, 2).shape[0];
            expect_shape(w, e.router, {e.n_experts, spec.d_model}, "num_experts x hidden_size");
            e.top_k = cfg.get_int("num_experts_per_tok", 2);
            if (e.top_k <= 0 || e.top_k > e.n_experts)
                throw Error(cfg.field("num_experts_per_tok") + "must be in [1, num_experts]");
            e.scoring = kernels::RouterScoring::SoftmaxTopK;
            e.expert_gate = ff + "experts.{e}.gate_proj.weight";
            e.expert_up = ff + "experts.{e}.up_proj.weight";
            e.expert_down = ff + "experts.{e}.down_proj.weight";
            e.d_ff = d_ff;
            e.act = act;
            for (std::int64_t x = 0; x < e.n_experts; ++x)
                gated_mlp(w, ff + "experts." + std::to_string(x) + ".", spec.d_model, d_ff,
                          act);  // shape checks
            ffn.mixer = e;
        } else {
            ffn.mixer = gated_mlp(w, ff, spec.d_model, d_ff, act);
        }
        block.parts.push_back(std::move(ffn));
        spec.blocks.push_back(std::move(block));
    }
    fill_common(spec, cfg, w);
    resolve_lm_head(spec, cfg, w, /*tie_default=*/false, "lm_head.weight");
    return spec;
}

}  // namespace statescope::adapters
