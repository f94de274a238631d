// What every model_type adapter shares: the signature, and shape checks that name the tensor and
// the config fields it was checked against.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>

#include "core/model/config.h"
#include "core/model/model_spec.h"
#include "core/model/safetensors.h"

namespace statescope::adapters {

using BuildFn = ModelSpec (*)(const Config&, const WeightStore&);

// Error `cannot load model: tensor "X" has shape [a, b], expected [c, d] (why)` unless the shape
// matches.
void expect_shape(const WeightStore& w, const std::string& name,
                  std::initializer_list<std::int64_t> shape, const std::string& why);
// The shape of a tensor that must exist, with `rank` dimensions.
const TensorInfo& expect_rank(const WeightStore& w, const std::string& name, std::size_t rank);

// Fills the parts common to every causal LM: architecture, token ids, dtype summary, parameter
// count.
void fill_common(ModelSpec& spec, const Config& cfg, const WeightStore& w);
// Resolves lm_head (tied or not) per MODELS.md §1.8 and checks its shape.
void resolve_lm_head(ModelSpec& spec, const Config& cfg, const WeightStore& w, bool tie_default,
                     const std::string& lm_head_name);

// Shared by the attention-bearing adapters (attention.cpp).
// RoPE from rope_parameters (5.x) or rope_theta / rope_scaling / partial_rotary_factor (4.x).
RopeSpec read_rope(const Config& cfg, std::int64_t head_dim, double partial_default);
// The same with partial_rotary_factor fixed by the model code (bamba's 0.5), whatever the config
// says.
RopeSpec read_rope_with_partial(const Config& cfg, std::int64_t head_dim, double partial);
RopeSpec read_rope_impl(const Config& cfg, std::int64_t head_dim, double partial_default,
                        bool force);
kernels::Activation read_activation(const Config& cfg, const std::string& key,
                                    const std::string& fallback);
// Checks q/k/v/o (and q/k norm) shapes of `a` and sets its bias flags from the tensors present.
void check_attention(const WeightStore& w, AttentionSpec& a, std::int64_t d_model);
// num_attention_heads from the config, head_dim and kv heads from the q/k_proj shapes (checked
// against head_dim / num_key_value_heads when the config has them); scale head_dim^-1/2; no RoPE.
AttentionSpec attention_from_shapes(const Config& cfg, const WeightStore& w,
                                    const std::string& prefix, std::int64_t d_in,
                                    std::int64_t d_model);
// gate_proj / up_proj / down_proj under `prefix`, biases when present.
MlpSpec gated_mlp(const WeightStore& w, const std::string& prefix, std::int64_t d_model,
                  std::int64_t d_ff, kernels::Activation act);
// Sets spec.embedding / vocab_size from a [V, hidden_size] tensor and checks config vocab_size.
void read_embedding(ModelSpec& spec, const Config& cfg, const WeightStore& w,
                    const std::string& name);

// hybrid_common.cpp
void read_time_step_limit(const Config& cfg, double& lo, double& hi);
struct Mamba2Options {
    std::int64_t n_groups = 1;
    std::string groups_field = "n_groups";  // the config field n_groups came from, for messages
    std::int64_t chunk_size = 256;
    double dt_min = 0.0, dt_max = 0.0;
    bool gated_norm = true;
    bool grouped_norm = false;  // per group of d_inner / n_groups (zamba2, nemotron_h, falcon_h1)
    bool norm_before_gate = false;
    double norm_eps = 1e-5;
    double segment_multipliers[5] = {1, 1, 1, 1, 1};
};
Mamba2Spec read_mamba2(const WeightStore& w, const std::string& prefix, std::int64_t d_model,
                       const Mamba2Options& o);
void expect_silu(const Config& cfg, const std::string& key, const std::string& fallback);
// A part with its pre-norm weight checked.
PartSpec norm_part(MixerKind kind, const std::string& norm, double eps, const WeightStore& w,
                   std::int64_t d_model);
// A layer-type list as letters M * - E H.
std::string layer_letters(const Config& cfg, const std::string& key);
// The fields every hybrid adapter starts from: model_type, hidden_size (d_model) and
// num_hidden_layers (returned in n_layers, both checked positive); residuals in the activations'
// dtype.
ModelSpec hybrid_spec_start(const Config& cfg, std::int64_t& n_layers);

ModelSpec build_bamba(const Config& cfg, const WeightStore& w);
ModelSpec build_nemotron_h(const Config& cfg, const WeightStore& w);
ModelSpec build_granitemoehybrid(const Config& cfg, const WeightStore& w);
ModelSpec build_jamba(const Config& cfg, const WeightStore& w);
ModelSpec build_falcon_h1(const Config& cfg, const WeightStore& w);
ModelSpec build_zamba2(const Config& cfg, const WeightStore& w);
ModelSpec build_llama(const Config& cfg, const WeightStore& w);   // llama, mistral, qwen2, qwen3
ModelSpec build_mamba(const Config& cfg, const WeightStore& w);   // mamba, falcon_mamba
ModelSpec build_mamba2(const Config& cfg, const WeightStore& w);  // mamba2

}  // namespace statescope::adapters
