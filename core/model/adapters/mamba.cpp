// mamba and falcon_mamba (MODELS.md §2, §3): Mamba-1 blocks under `backbone.`, tied embeddings by
// default.
#include <cmath>

#include "core/error.h"
#include "core/model/adapters/adapter.h"

namespace statescope::adapters {

ModelSpec build_mamba(const Config& cfg, const WeightStore& w) {
    ModelSpec spec;
    spec.model_type = cfg.get_string("model_type");
    const bool falcon = spec.model_type == "falcon_mamba";
    spec.d_model = cfg.get_int("hidden_size");
    const std::int64_t n_layers = cfg.get_int("num_hidden_layers");
    const double eps = cfg.get_float("layer_norm_epsilon", 1e-5);
    const std::int64_t d_state = cfg.get_int("state_size", 16);
    const std::int64_t d_conv = cfg.get_int("conv_kernel", 4);
    // intermediate_size in config.json overrides expand * hidden (MODELS.md §1.7).
    const std::int64_t d_inner = cfg.has("intermediate_size")
                                     ? cfg.get_int("intermediate_size")
                                     : cfg.get_int("expand", 2) * spec.d_model;
    std::int64_t dt_rank = 0;
    if (cfg.has("time_step_rank") && cfg.json()["time_step_rank"].is_string()) {
        if (cfg.get_string("time_step_rank") != "auto")
            throw Error(cfg.field("time_step_rank") + "is neither an integer nor \"auto\"");
        dt_rank = (spec.d_model + 15) / 16;  // ceil(hidden_size / 16)
    } else {
        dt_rank = cfg.get_int("time_step_rank", (spec.d_model + 15) / 16);
    }
    if (spec.d_model <= 0 || n_layers <= 0 || d_state <= 0 || d_conv <= 0 || d_inner <= 0 ||
        dt_rank <= 0)
        throw Error(cfg.source() +
                    ": hidden_size, num_hidden_layers, state_size, conv_kernel, "
                    "intermediate_size and time_step_rank must be positive");
    spec.residual_in_fp32 = cfg.get_bool("residual_in_fp32", true);
    const bool proj_bias = cfg.get_bool("use_bias", false);
    const bool conv_bias = cfg.get_bool("use_conv_bias", true);

    // Original state-spaces checkpoints name the table `embedding` (the HF load hook renames it).
    spec.embedding = "backbone.embeddings.weight";
    if (!falcon && !w.find(spec.embedding) && w.find("backbone.embedding.weight"))
        spec.embedding = "backbone.embedding.weight";
    const TensorInfo& emb = expect_rank(w, spec.embedding, 2);
    spec.vocab_size = emb.shape[0];
    expect_shape(w, spec.embedding, {spec.vocab_size, spec.d_model},
                 "hidden_size=" + std::to_string(spec.d_model));
    const std::int64_t cfg_vocab = cfg.get_int("vocab_size", spec.vocab_size);
    if (cfg_vocab != spec.vocab_size)
        throw Error("cannot load model: tensor \"" + spec.embedding + "\" has " +
                    std::to_string(spec.vocab_size) +
                    " rows, config says vocab_size=" + std::to_string(cfg_vocab));
    spec.final_norm = "backbone.norm_f.weight";
    spec.final_norm_eps = eps;
    expect_shape(w, spec.final_norm, {spec.d_model}, "hidden_size");

    const std::string dims =
        "hidden_size=" + std::to_string(spec.d_model) + ", d_inner=" + std::to_string(d_inner) +
        ", state_size=" + std::to_string(d_state) + ", conv_kernel=" + std::to_string(d_conv) +
        ", time_step_rank=" + std::to_string(dt_rank);
    for (std::int64_t i = 0; i < n_layers; ++i) {
        const std::string layer = "backbone.layers." + std::to_string(i) + ".";
        BlockSpec block;
        PartSpec part;
        part.kind = MixerKind::Mamba1;
        part.norm_weight = layer + "norm.weight";
        part.norm_eps = eps;
        Mamba1Spec m;
        m.prefix = layer + "mixer.";
        m.d_inner = d_inner;
        m.d_state = d_state;
        m.d_conv = d_conv;
        m.dt_rank = dt_rank;
        m.proj_bias = proj_bias;
        m.conv_bias = conv_bias;
        m.dt_bc_rmsnorm = falcon;
        m.dt_bc_rmsnorm_eps = cfg.get_float("mixer_rms_eps", 1e-6);
        expect_shape(w, part.norm_weight, {spec.d_model}, "hidden_size");
        expect_shape(w, m.prefix + "in_proj.weight", {2 * d_inner, spec.d_model}, dims);
        expect_shape(w, m.prefix + "conv1d.weight", {d_inner, 1, d_conv}, dims);
        expect_shape(w, m.prefix + "x_proj.weight", {dt_rank + 2 * d_state, d_inner}, dims);
        expect_shape(w, m.prefix + "dt_proj.weight", {d_inner, dt_rank}, dims);
        expect_shape(w, m.prefix + "dt_proj.bias", {d_inner}, dims);
        expect_shape(w, m.prefix + "A_log", {d_inner, d_state}, dims);
        expect_shape(w, m.prefix + "D", {d_inner}, dims);
        expect_shape(w, m.prefix + "out_proj.weight", {spec.d_model, d_inner}, dims);
        if (conv_bias)
            expect_shape(w, m.prefix + "conv1d.bias", {d_inner}, "use_conv_bias=true, " + dims);
        if (proj_bias) {
            expect_shape(w, m.prefix + "in_proj.bias", {2 * d_inner}, "use_bias=true, " + dims);
            expect_shape(w, m.prefix + "out_proj.bias", {spec.d_model}, "use_bias=true, " + dims);
        }
        part.mixer = m;
        block.parts.push_back(std::move(part));
        spec.blocks.push_back(std::move(block));
    }
    fill_common(spec, cfg, w);
    resolve_lm_head(spec, cfg, w, /*tie_default=*/true, "lm_head.weight");
    return spec;
}

}  // namespace statescope::adapters
