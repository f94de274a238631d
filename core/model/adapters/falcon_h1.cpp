// falcon_h1 (MODELS.md §7): every layer runs a Mamba-2 mixer and attention side by side on the same
// normed input, then a SwiGLU MLP; µP multipliers everywhere:
//   h0 = embed * embedding_multiplier
//   h += ssm_out * mamba(ssm_in * u) [in_proj segments z|x|B|C|dt times ssm_multipliers]
//      + attention_out * attn(attention_in * u) [k times key_multiplier before RoPE]
//   h += mlp_mult[1] * down(up(u) * silu(gate(u) * mlp_mult[0]))
//   logits = lm_head(norm(h)) * lm_head_multiplier
#include "core/error.h"
#include "core/model/adapters/adapter.h"

namespace statescope::adapters {

namespace {

std::vector<double> float_list(const Config& cfg, const std::string& key,
                               std::vector<double> fallback) {
    if (!cfg.has(key) || cfg.json()[key].is_null()) return fallback;
    const auto& v = cfg.json()[key];
    if (!v.is_array() || v.size() != fallback.size())
        throw Error(cfg.field(key) + "must be a list of " + std::to_string(fallback.size()) +
                    " numbers");
    std::vector<double> out;
    for (const auto& x : v) {
        auto f = Config::to_float(x);
        if (!f) throw Error(cfg.field(key) + "must be a list of numbers (got " + v.dump() + ")");
        out.push_back(*f);
    }
    return out;
}

}  // namespace

ModelSpec build_falcon_h1(const Config& cfg, const WeightStore& w) {
    std::int64_t n_layers = 0;
    ModelSpec spec = hybrid_spec_start(cfg, n_layers);
    const double eps = cfg.get_float("rms_norm_eps", 1e-5);
    spec.embedding_multiplier = cfg.get_float("embedding_multiplier", 1.0);
    spec.logits_multiplier = cfg.get_float("lm_head_multiplier", 1.0);
    const auto mlp_mult = float_list(cfg, "mlp_multipliers", {1, 1});
    const auto ssm_mult = float_list(cfg, "ssm_multipliers", {1, 1, 1, 1, 1});
    expect_silu(cfg, "hidden_act", "silu");
    const auto act = read_activation(cfg, "hidden_act", "silu");
    const std::int64_t d_ff = cfg.get_int("intermediate_size");
    Mamba2Options o;
    o.n_groups = cfg.get_int("mamba_n_groups", 1);
    o.groups_field = "mamba_n_groups";
    o.chunk_size = cfg.get_int("mamba_chunk_size", 256);
    read_time_step_limit(cfg, o.dt_min, o.dt_max);
    o.gated_norm = cfg.get_bool("mamba_rms_norm", false);
    o.grouped_norm = true;
    o.norm_before_gate = cfg.get_bool("mamba_norm_before_gate", true);
    o.norm_eps = eps;
    for (int k = 0; k < 5; ++k) o.segment_multipliers[k] = ssm_mult[k];

    read_embedding(spec, cfg, w, "model.embed_tokens.weight");
    spec.final_norm = "model.final_layernorm.weight";
    spec.final_norm_eps = eps;
    expect_shape(w, spec.final_norm, {spec.d_model}, "hidden_size");
    for (std::int64_t i = 0; i < n_layers; ++i) {
        const std::string layer = "model.layers." + std::to_string(i) + ".";
        BlockSpec block;
        PartSpec mamba =
            norm_part(MixerKind::Mamba2, layer + "input_layernorm.weight", eps, w, spec.d_model);
        mamba.in_multiplier = cfg.get_float("ssm_in_multiplier", 1.0);
        mamba.out_multiplier = cfg.get_float("ssm_out_multiplier", 1.0);
        mamba.mixer = read_mamba2(w, layer + "mamba.", spec.d_model, o);
        block.parts.push_back(std::move(mamba));

        PartSpec attn;
        attn.kind = MixerKind::Attention;
        attn.parallel = true;
        attn.in_multiplier = cfg.get_float("attention_in_multiplier", 1.0);
        attn.out_multiplier = cfg.get_float("attention_out_multiplier", 1.0);
        AttentionSpec a =
            attention_from_shapes(cfg, w, layer + "self_attn.", spec.d_model, spec.d_model);
        a.key_multiplier = cfg.get_float("key_multiplier", 1.0);
        a.rope = read_rope(cfg, a.head_dim, 1.0);
        attn.mixer = std::move(a);
        block.parts.push_back(std::move(attn));

        PartSpec ffn =
            norm_part(MixerKind::Mlp, layer + "pre_ff_layernorm.weight", eps, w, spec.d_model);
        MlpSpec m = gated_mlp(w, layer + "feed_forward.", spec.d_model, d_ff, act);
        m.gate_multiplier = mlp_mult[0];
        m.down_multiplier = mlp_mult[1];
        ffn.mixer = m;
        block.parts.push_back(std::move(ffn));
        spec.blocks.push_back(std::move(block));
    }
    fill_common(spec, cfg, w);
    resolve_lm_head(spec, cfg, w, /*tie_default=*/false, "lm_head.weight");
    return spec;
}

}  // namespace statescope::adapters
