// ModelSpec: the single description of a model the runtime builds from (docs/DESIGN.md §3). One
// adapter per model_type fills it from config.json and the tensor names and checks every shape
// against the tensors, so the runtime never sees a config quirk.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <variant>
#include <vector>

#include "kernels/backend.h"

namespace statescope {

// Mamba-1 mixer (mamba, falcon_mamba; jamba later). Tensor names are `prefix` + "in_proj.weight"
// etc.
struct Mamba1Spec {
    std::string prefix;  // "backbone.layers.3.mixer."
    std::int64_t d_inner = 0;
    std::int64_t d_state = 0;
    std::int64_t d_conv = 0;
    std::int64_t dt_rank = 0;
    bool proj_bias = false;  // in_proj / out_proj bias
    bool conv_bias = true;
    // falcon_mamba: weightless RMS norms over dt (dt_rank wide), B and C (d_state wide) after
    // x_proj.
    bool dt_bc_rmsnorm = false;
    double dt_bc_rmsnorm_eps = 1e-6;
    // jamba: the same norms with learned weights `prefix` + {dt,b,c}_layernorm.weight.
    bool dt_bc_norm_weights = false;
};

// Mamba-2 mixer (mamba2; the hybrids later).
struct Mamba2Spec {
    std::string prefix;
    std::int64_t d_inner = 0;  // n_heads * head_dim
    std::int64_t d_state = 0;
    std::int64_t d_conv = 0;
    std::int64_t n_heads = 0;
    std::int64_t head_dim = 0;
    std::int64_t n_groups = 1;
    std::int64_t chunk_size = 256;  // HF's prefill chunk; the CPU recurrence does not need it
    std::int64_t d_mlp = 0;  // leading in_proj rows of old checkpoints, discarded (MODELS.md §1.5)
    bool proj_bias = false;  // in_proj bias
    bool out_proj_bias = false;  // out_proj bias (falcon_h1's projectors_bias; use_bias elsewhere)
    bool conv_bias = true;
    // time_step_limit: clamp of delta. transformers applies it in its multi-token path only, so its
    // own cached decode drifts from its one-pass logits wherever delta leaves the limit
    // (nemotron_h, zamba2: delta >= time_step_min). The engine clamps in decode too
    // (dt_limit_in_decode), so that incremental rows equal the one-pass rows; false reproduces HF's
    // decode path.
    double dt_min = 0.0;
    double dt_max = 0.0;  // +inf when unlimited
    bool dt_limit_in_decode = true;
    // falcon_h1's µP multipliers of the in_proj output segments z | x | B | C | dt (all 1
    // elsewhere).
    double segment_multipliers[5] = {1, 1, 1, 1, 1};
    // Gated RMSNorm after the scan: group_size = d_inner for the full-width variant (mamba2).
    // Without it (falcon_h1 mamba_rms_norm=false) the output is y * silu(z).
    bool gated_norm = true;
    std::int64_t norm_group_size = 0;
    bool norm_before_gate = false;
    double norm_eps = 1e-5;

    std::int64_t conv_dim() const { return d_inner + 2 * n_groups * d_state; }
};

// Rotary position embedding of an attention mixer (MODELS.md §1.6). rotary_dim = 0: no positional
// encoding (jamba, nemotron_h, granite "nope").
struct RopeSpec {
    std::int64_t rotary_dim = 0;  // head_dim * partial_rotary_factor
    std::vector<float> inv_freq;  // [rotary_dim / 2], after rope scaling (llama3, linear)
};

// Multi-head / grouped-query attention with a KV cache. Tensor names are `prefix` +
// "q_proj.weight"...
struct AttentionSpec {
    std::string prefix;     // "model.layers.3.self_attn."
    std::int64_t d_in = 0;  // input width (hidden_size; 2*hidden_size for zamba2's shared blocks)
    std::int64_t n_heads = 0;
    std::int64_t n_kv_heads = 0;
    std::int64_t head_dim = 0;
    bool qkv_bias = false;  // q/k/v_proj bias (qwen2, attention_bias)
    bool o_bias = false;
    double scale =
        0.0;  // softmax scale: head_dim^-1/2, Granite's attention_multiplier, zamba2's (hd/2)^-1/2
    RopeSpec rope;
    std::int64_t window = 0;  // sliding window (tokens), 0 = full causal
    // qwen3: RMSNorm over each head of q and k (before RoPE), weights [head_dim].
    bool qk_norm = false;
    double qk_norm_eps = 1e-6;
    double key_multiplier = 1.0;  // falcon_h1: k = k_proj(x) * key_multiplier (before RoPE)
    // zamba2's per-layer LoRA adapters: q += B(A x) etc., A [rank, d_in], B [out, rank]; empty:
    // none.
    std::string q_lora_a, q_lora_b, k_lora_a, k_lora_b, v_lora_a, v_lora_b;
};

// A dense feed-forward: down(act(gate(x)) * up(x)), or down(act(up(x))) when not gated.
struct MlpSpec {
    std::string gate, up, down;  // weight tensor names; gate empty: not gated
    // A fused [gate | up] matrix [2F, d_model] (granite's shared_mlp.input_linear, zamba2's
    // gate_up_proj) instead of separate gate/up tensors.
    std::string gate_up;
    std::string gate_bias, up_bias, down_bias;  // mlp_bias (llama), empty when absent; with a fused
                                                // gate_up, up_bias is its [2F] bias
    std::int64_t d_ff = 0;
    kernels::Activation act = kernels::Activation::Silu;
    double gate_multiplier = 1.0;  // falcon_h1 mlp_multipliers[0]: act(gate(x) * m)
    double down_multiplier = 1.0;  // falcon_h1 mlp_multipliers[1]
    // zamba2: LoRA on the fused gate_up projection, gate_up += B(A x); empty: none.
    std::string gate_up_lora_a, gate_up_lora_b;
};

// Mixture of experts: a router picking k of n_experts per token, expert MLPs, optional shared MLP.
struct MoeSpec {
    std::string router;           // [n_experts, d_model] weight
    std::string correction_bias;  // nemotron_h e_score_correction_bias [n_experts], or empty
    std::int64_t n_experts = 0;
    std::int64_t top_k = 0;
    kernels::RouterScoring scoring = kernels::RouterScoring::SoftmaxTopK;
    std::int64_t n_group = 1, topk_group = 1;
    bool normalize = false;
    double route_scale = 1.0;
    // Expert e: either per-expert tensors (expert_gate/up/down with "{e}" replaced by the index) or
    // stacked tensors [E, 2F, H] (gate | up rows) and [E, H, F] (granite).
    std::string expert_gate, expert_up, expert_down;  // templates with "{e}"; gate empty: not gated
    std::string stacked_gate_up, stacked_down;
    std::int64_t d_ff = 0;
    kernels::Activation act = kernels::Activation::Silu;
    bool has_shared = false;
    MlpSpec shared;  // shared expert(s), added to the routed sum
};

// zamba2's hybrid layer (MODELS.md §8), one mixer reading the raw residual h and the embeddings h0:
//   t = attn(RMSNorm_2H([h, h0])) ; t = mlp(RMSNorm(t)) ; t = linear(t)
//   out = mamba(RMSNorm(h + t))                                   (h += out by the runtime)
// The attention / MLP weights are the shared block's (tied copies resolved to the owning layer)
// with this layer's LoRA adapters.
struct Zamba2HybridSpec {
    AttentionSpec attention;     // d_in = 2 * hidden_size
    std::string attention_norm;  // [2 * hidden_size]
    std::string mlp_norm;        // [hidden_size]
    MlpSpec mlp;
    std::string linear;      // [hidden_size, hidden_size]
    std::string mamba_norm;  // [hidden_size]
    double eps = 1e-5;
    Mamba2Spec mamba;
};

enum class MixerKind { Mamba1, Mamba2, Attention, Mlp, Moe, Zamba2Hybrid };

// One residual branch: h = h + out_multiplier * mixer(in_multiplier * RMSNorm(h)); without a
// norm_weight the mixer reads h itself (zamba2's hybrid layer normalizes inside). A part with
// `parallel` reuses the previous part's normed input (falcon_h1's attention beside its Mamba-2), so
// both read the same h and both outputs are added.
struct PartSpec {
    MixerKind kind = MixerKind::Mamba1;
    std::string norm_weight;  // pre-norm RMSNorm weight tensor (unused when parallel)
    double norm_eps = 1e-5;
    bool parallel = false;
    double in_multiplier = 1.0;
    double out_multiplier = 1.0;
    std::variant<Mamba1Spec, Mamba2Spec, AttentionSpec, MlpSpec, MoeSpec, Zamba2HybridSpec> mixer;

    const char* kind_name() const;  // "mamba1", "mamba2", "attention", "mlp", "moe"
};

// One decoder layer as transformers counts them (hidden_states[i] leaves layer i): one or more
// parts.
struct BlockSpec {
    std::vector<PartSpec> parts;

    // The layer's Mamba part when it has one (what the analyses read), else its first part.
    const PartSpec& main() const;
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
    double embedding_multiplier = 1.0;  // granite, falcon_h1: h0 = embed[ids] * m
    double logits_multiplier = 1.0;     // granite 1/logits_scaling, falcon_h1 lm_head_multiplier
    std::vector<BlockSpec> blocks;
    std::vector<std::int64_t> eos_token_ids;
    std::int64_t bos_token_id = -1;
    std::int64_t pad_token_id = -1;
    std::string weight_dtype;  // "F32", "BF16", "F16" or "mixed"
    std::int64_t n_params = 0;

    std::int64_t n_layers() const { return static_cast<std::int64_t>(blocks.size()); }
    // One letter per layer part in Nemotron-H's own letters (its hybrid_override_pattern): M Mamba
    // (1 or 2), * attention, - MLP, E MoE; a parallel part follows its partner after '+'. A Llama
    // layer is "*-", a Jamba MoE attention layer "*E", a Falcon-H1 layer "M+*-"; Nemotron-H reads
    // as its own pattern, e.g. "M*-ME".
    std::string layer_pattern() const;
};

class WeightStore;
class Config;

// Reads DIR/config.json, picks the adapter for its model_type and checks the weights in DIR against
// it. Errors name the folder, field or tensor; an unknown model_type lists the supported ones.
ModelSpec load_model_spec(const std::filesystem::path& dir, const WeightStore& weights);
ModelSpec build_model_spec(const Config& config, const WeightStore& weights,
                           const std::filesystem::path& dir);
std::vector<std::string> supported_model_types();

}  // namespace statescope
