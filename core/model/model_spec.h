// ModelSpec: the single description of a model the runtime builds from (docs/DESIGN.md §3). One adapter
// per model_type fills it from config.json and the tensor names and checks every shape against the
// tensors, so the runtime never sees a config quirk.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <variant>
#include <vector>

namespace statescope {

// Mamba-1 mixer (mamba, falcon_mamba; jamba later). Tensor names are `prefix` + "in_proj.weight" etc.
struct Mamba1Spec {
    std::string prefix;  // "backbone.layers.3.mixer."
    std::int64_t d_inner = 0;
    std::int64_t d_state = 0;
    std::int64_t d_conv = 0;
    std::int64_t dt_rank = 0;
    bool proj_bias = false;  // in_proj / out_proj bias
    bool conv_bias = true;
    // falcon_mamba: weightless RMS norms over dt (dt_rank wide), B and C (d_state wide) after x_proj.
    bool dt_bc_rmsnorm = false;
    double dt_bc_rmsnorm_eps = 1e-6;
};

// Mamba-2 mixer (mamba2; the hybrids later).
struct Mamba2Spec {
    std::string prefix;
    std::int64_t d_inner = 0;   // n_heads * head_dim
    std::int64_t d_state = 0;
    std::int64_t d_conv = 0;
    std::int64_t n_heads = 0;
    std::int64_t head_dim = 0;
    std::int64_t n_groups = 1;
    std::int64_t chunk_size = 256;  // HF's prefill chunk; the CPU recurrence does not need it
    std::int64_t d_mlp = 0;         // leading in_proj rows of old checkpoints, discarded (MODELS.md §1.5)
    bool proj_bias = false;
    bool conv_bias = true;
    // time_step_limit: clamp of delta in the prefill path only (decode is unclamped, as in HF).
    double dt_min = 0.0;
    double dt_max = 0.0;  // +inf when unlimited
    // Gated RMSNorm after the scan: group_size = d_inner for the full-width variant (mamba2).
    bool gated_norm = true;
    std::int64_t norm_group_size = 0;
    bool norm_before_gate = false;
    double norm_eps = 1e-5;

    std::int64_t conv_dim() const { return d_inner + 2 * n_groups * d_state; }
};

enum class MixerKind { Mamba1, Mamba2 };

struct BlockSpec {
    MixerKind kind = MixerKind::Mamba1;
    std::string norm_weight;  // pre-norm RMSNorm weight tensor
    double norm_eps = 1e-5;
    std::variant<Mamba1Spec, Mamba2Spec> mixer;

    const char* kind_name() const;  // "mamba1", "mamba2"
};

struct ModelSpec {
    std::filesystem::path dir;
    std::string model_type;    // config.json model_type
    std::string architecture;  // config.json architectures[0]
    std::int64_t d_model = 0;
    std::int64_t vocab_size = 0;  // rows of the embedding (may exceed the tokenizer's ids: padding)
    std::string embedding;        // tensor names
    std::string final_norm;
    double final_norm_eps = 1e-5;
    std::string lm_head;  // == embedding when tied
    bool tied_embeddings = false;
    bool residual_in_fp32 = true;
    std::vector<BlockSpec> blocks;
    std::vector<std::int64_t> eos_token_ids;
    std::int64_t bos_token_id = -1;
    std::int64_t pad_token_id = -1;
    std::string weight_dtype;  // "F32", "BF16", "F16" or "mixed"
    std::int64_t n_params = 0;

    std::int64_t n_layers() const { return static_cast<std::int64_t>(blocks.size()); }
};

class WeightStore;
class Config;

// Reads DIR/config.json, picks the adapter for its model_type and checks the weights in DIR against it.
// Errors name the folder, field or tensor; an unknown model_type lists the supported ones.
ModelSpec load_model_spec(const std::filesystem::path& dir, const WeightStore& weights);
ModelSpec build_model_spec(const Config& config, const WeightStore& weights,
                           const std::filesystem::path& dir);
std::vector<std::string> supported_model_types();

}  // namespace statescope
