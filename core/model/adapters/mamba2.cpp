// mamba2 (MODELS.md §4): Mamba-2 blocks under `backbone.`, full-width gated norm, untied by
// default.
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/model/adapters/adapter.h"

namespace statescope::adapters {

ModelSpec build_mamba2(const Config& cfg, const WeightStore& w) {
    ModelSpec spec;
    spec.model_type = cfg.get_string("model_type");
    spec.d_model = cfg.get_int("hidden_size");
    const std::int64_t n_layers = cfg.get_int("num_hidden_layers");
    const double eps = cfg.get_float("layer_norm_epsilon", 1e-5);
    const std::int64_t n_heads = cfg.get_int("num_heads");
    const std::int64_t head_dim = cfg.get_int("head_dim");
    const std::int64_t d_state = cfg.get_int("state_size");
    const std::int64_t n_groups = cfg.get_int("n_groups", 1);
    const std::int64_t d_conv = cfg.get_int("conv_kernel", 4);
    const std::int64_t expand = cfg.get_int("expand", 2);
    const std::int64_t chunk_size = cfg.get_int("chunk_size", 256);
    if (spec.d_model <= 0 || n_layers <= 0 || n_heads <= 0 || head_dim <= 0 || d_state <= 0 ||
        n_groups <= 0 || d_conv <= 0 || chunk_size <= 0)
        throw Error(cfg.source() +
                    ": hidden_size, num_hidden_layers, num_heads, head_dim, state_size, n_groups, "
                    "conv_kernel and chunk_size must be positive");
    const std::int64_t d_inner = n_heads * head_dim;
    // transformers validates hidden_size * expand == num_heads * head_dim; so do we.
    if (expand * spec.d_model != d_inner)
        throw Error(cfg.source() +
                    ": hidden_size * expand = " + std::to_string(expand * spec.d_model) +
                    " but num_heads * head_dim = " + std::to_string(d_inner));
    if (n_heads % n_groups != 0)
        throw Error(cfg.source() + ": num_heads=" + std::to_string(n_heads) +
                    " is not a multiple of n_groups=" + std::to_string(n_groups));
    spec.residual_in_fp32 = cfg.get_bool("residual_in_fp32", true);
    double dt_min = 0, dt_max = 0;
    read_time_step_limit(cfg, dt_min, dt_max);
    const bool proj_bias = cfg.get_bool("use_bias", false);
    const bool conv_bias = cfg.get_bool("use_conv_bias", true);

    spec.embedding = "backbone.embeddings.weight";
    if (!w.find(spec.embedding) && w.find("backbone.embedding.weight"))
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

    const std::int64_t conv_dim = d_inner + 2 * n_groups * d_state;
    const std::int64_t proj_rows = d_inner + conv_dim + n_heads;
    const std::string dims =
        "hidden_size=" + std::to_string(spec.d_model) + ", num_heads=" + std::to_string(n_heads) +
        ", head_dim=" + std::to_string(head_dim) + ", n_groups=" + std::to_string(n_groups) +
        ", state_size=" + std::to_string(d_state) + ", conv_kernel=" + std::to_string(d_conv);
    for (std::int64_t i = 0; i < n_layers; ++i) {
        const std::string layer = "backbone.layers." + std::to_string(i) + ".";
        BlockSpec block;
        PartSpec part;
        part.kind = MixerKind::Mamba2;
        part.norm_weight = layer + "norm.weight";
        part.norm_eps = eps;
        Mamba2Spec m;
        m.prefix = layer + "mixer.";
        m.d_inner = d_inner;
        m.d_state = d_state;
        m.d_conv = d_conv;
        m.n_heads = n_heads;
        m.head_dim = head_dim;
        m.n_groups = n_groups;
        m.chunk_size = chunk_size;
        m.proj_bias = proj_bias;
        m.out_proj_bias = proj_bias;
        m.conv_bias = conv_bias;
        m.dt_min = dt_min;
        m.dt_max = dt_max;
        m.gated_norm = true;
        m.norm_group_size =
            d_inner;  // HF's MambaRMSNormGated normalizes the full width, ignoring n_groups
        m.norm_before_gate = false;
        m.norm_eps = eps;
        expect_shape(w, part.norm_weight, {spec.d_model}, "hidden_size");
        // Older conversions carry 2*d_mlp extra leading rows, which transformers slices off
        // (MODELS.md §1.5).
        const TensorInfo& in_proj = expect_rank(w, m.prefix + "in_proj.weight", 2);
        const std::int64_t extra = in_proj.shape[0] - proj_rows;
        if (extra < 0 || extra % 2 != 0 || in_proj.shape[1] != spec.d_model)
            throw Error("cannot load model: tensor \"" + m.prefix + "in_proj.weight\" has shape " +
                        in_proj.shape_string() + ", expected [" + std::to_string(proj_rows) + ", " +
                        std::to_string(spec.d_model) + "] (" + dims + ")");
        m.d_mlp = extra / 2;
        expect_shape(w, m.prefix + "conv1d.weight", {conv_dim, 1, d_conv}, dims);
        if (conv_bias)
            expect_shape(w, m.prefix + "conv1d.bias", {conv_dim}, "use_conv_bias=true, " + dims);
        expect_shape(w, m.prefix + "dt_bias", {n_heads}, dims);
        expect_shape(w, m.prefix + "A_log", {n_heads}, dims);
        expect_shape(w, m.prefix + "D", {n_heads}, dims);
        expect_shape(w, m.prefix + "norm.weight", {d_inner}, dims);
        expect_shape(w, m.prefix + "out_proj.weight", {spec.d_model, d_inner}, dims);
        if (proj_bias) {
            expect_shape(w, m.prefix + "in_proj.bias", {in_proj.shape[0]},
                         "use_bias=true, " + dims);
            expect_shape(w, m.prefix + "out_proj.bias", {spec.d_model}, "use_bias=true, " + dims);
        }
        part.mixer = m;
        block.parts.push_back(std::move(part));
        spec.blocks.push_back(std::move(block));
    }
    fill_common(spec, cfg, w);
    resolve_lm_head(spec, cfg, w, /*tie_default=*/false, "lm_head.weight");
    return spec;
}

}  // namespace statescope::adapters
