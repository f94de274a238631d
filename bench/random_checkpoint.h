// Random checkpoints at the public shapes (mamba-130m, mamba2-130m, nemotron-h-8b, ...), written as
// a Hugging Face folder so the benchmark loads them through the same path as a real one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "core/model/safetensors.h"

namespace statescope::bench {

struct CheckpointShape {
    std::string name;        // "mamba-130m"
    std::string model_type;  // "mamba", "mamba2", "llama" or "nemotron_h"
    std::int64_t d_model = 768, n_layers = 24, vocab_size = 50280, d_state = 16, expand = 2,
                 d_conv = 4;
    std::int64_t dt_rank = 48;  // mamba
    std::int64_t n_heads = 24, head_dim = 64,
                 n_groups = 1;  // mamba2 and nemotron_h's M layers (n_heads, head_dim: llama too)
    std::int64_t n_kv_heads = 12, d_ff = 2304;  // llama (nemotron_h: its * and - layers too)
    // nemotron_h: hybrid_override_pattern, one letter a layer (M Mamba-2, * attention, - relu2
    // MLP; n_layers is its length), and the attention layers' heads (n_kv_heads beside them).
    std::string pattern;
    std::int64_t n_attn_heads = 32, attn_head_dim = 128;
    bool tie_embeddings = true;  // false: a separate lm_head.weight (nemotron_h)
};

// mamba-130m/370m/1.4b/2.8b, mamba2-130m/370m/1.3b/2.7b, llama-130m, nemotron-h-8b (the public
// configs' shapes) and nemotron-h-tiny-bench (a small hybrid of the same layer kinds, for tests).
CheckpointShape shape_by_name(const std::string& name);

// The parameter count write_random_checkpoint returns for `shape`, without writing anything (the
// same tensor list, only counted).
std::int64_t count_parameters(const CheckpointShape& shape);

// Writes config.json + model.safetensors into dir (weights in `dtype`), seeded; returns the
// parameter count.
std::int64_t write_random_checkpoint(const std::filesystem::path& dir, const CheckpointShape& shape,
                                     StDType dtype, std::uint64_t seed);

// The benches' --dtype: "fp32" and "fp16" by name, anything else bf16 (their default).
StDType dtype_by_name(const std::string& name);

// Where a bench writes its checkpoint when not told: <temp>/statescope-bench-TAG-SHAPE-DTYPE
// (statescope-bench-SHAPE-DTYPE for an empty tag).
std::filesystem::path temp_checkpoint_dir(const std::string& tag, const std::string& shape_name,
                                          const std::string& dtype_name);

// write_random_checkpoint by the benches' flags: --shape (shape_by_name) and --dtype
// (dtype_by_name).
std::int64_t write_random_checkpoint(const std::filesystem::path& dir,
                                     const std::string& shape_name, const std::string& dtype_name,
                                     std::uint64_t seed = 1234);

}  // namespace statescope::bench
