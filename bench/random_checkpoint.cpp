#include "bench/random_checkpoint.h"

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/model/safetensors_writer.h"

namespace statescope::bench {

namespace {

// splitmix64: fast enough to fill 130M weights in about a second.
struct Rng {
    std::uint64_t s;
    float uniform(float lo, float hi) {
        std::uint64_t z = (s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        return lo + (hi - lo) * float(z >> 40) / float(1ull << 24);
    }
};

}  // namespace

CheckpointShape shape_by_name(const std::string& name) {
    CheckpointShape s;
    s.name = name;
    // Public configs: state-spaces/mamba-*-hf and AntonV/mamba2-*-hf (converted from
    // state-spaces/mamba2-*).
    if (name == "mamba-130m") {
        s.model_type = "mamba";
    } else if (name == "mamba-370m") {
        s.model_type = "mamba", s.d_model = 1024, s.n_layers = 48, s.dt_rank = 64;
    } else if (name == "mamba2-130m") {
        s.model_type = "mamba2", s.d_state = 128, s.vocab_size = 50288;
    } else if (name == "mamba2-370m") {
        s.model_type = "mamba2", s.d_model = 1024, s.n_layers = 48, s.d_state = 128,
        s.vocab_size = 50288, s.n_heads = 32;
    } else if (name == "mamba-1.4b") {
        s.model_type = "mamba", s.d_model = 2048, s.n_layers = 48, s.dt_rank = 128;
    } else if (name == "mamba-2.8b") {
        s.model_type = "mamba", s.d_model = 2560, s.n_layers = 64, s.dt_rank = 160;
    } else if (name == "mamba2-1.3b") {
        s.model_type = "mamba2", s.d_model = 2048, s.n_layers = 48, s.d_state = 128,
        s.vocab_size = 50288, s.n_heads = 64;
    } else if (name == "mamba2-2.7b") {
        s.model_type = "mamba2", s.d_model = 2560, s.n_layers = 64, s.d_state = 128,
        s.vocab_size = 50288, s.n_heads = 80;
    } else if (name == "llama-130m") {
        // GPT-2-small-like Llama: 12 layers of width 768, 12 heads of 64, SwiGLU 2304, tied
        // embeddings of the NeoX vocabulary: 130M parameters, the size of mamba-130m.
        s.model_type = "llama", s.n_layers = 12, s.n_heads = 12, s.n_kv_heads = 12, s.head_dim = 64;
    } else {
        throw Error("unknown benchmark shape \"" + name +
                    "\" (known: mamba-130m, mamba-370m, mamba-1.4b, mamba-2.8b, mamba2-130m, "
                    "mamba2-370m, mamba2-1.3b, mamba2-2.7b, llama-130m)");
    }
    return s;
}

namespace {

template <class Add>
std::int64_t write_random_llama(const std::filesystem::path& dir, const CheckpointShape& s, StDType,
                                Rng&, std::vector<TensorToWrite>& tensors, Add& add) {
    const std::int64_t D = s.d_model, F = s.d_ff, q = s.n_heads * s.head_dim,
                       kv = s.n_kv_heads * s.head_dim;
    const float in_scale = 1.0f / std::sqrt(float(D)), ff_scale = 1.0f / std::sqrt(float(F));
    add("model.embed_tokens.weight", {s.vocab_size, D}, -0.1f, 0.1f, false);
    for (std::int64_t l = 0; l < s.n_layers; ++l) {
        const std::string p = "model.layers." + std::to_string(l) + ".";
        add(p + "input_layernorm.weight", {D}, 0.9f, 1.1f, false);
        add(p + "self_attn.q_proj.weight", {q, D}, -in_scale, in_scale, false);
        add(p + "self_attn.k_proj.weight", {kv, D}, -in_scale, in_scale, false);
        add(p + "self_attn.v_proj.weight", {kv, D}, -in_scale, in_scale, false);
        add(p + "self_attn.o_proj.weight", {D, q}, -in_scale, in_scale, false);
        add(p + "post_attention_layernorm.weight", {D}, 0.9f, 1.1f, false);
        add(p + "mlp.gate_proj.weight", {F, D}, -in_scale, in_scale, false);
        add(p + "mlp.up_proj.weight", {F, D}, -in_scale, in_scale, false);
        add(p + "mlp.down_proj.weight", {D, F}, -ff_scale, ff_scale, false);
    }
    add("model.norm.weight", {D}, 0.9f, 1.1f, false);
    write_safetensors(dir / "model.safetensors", tensors, {{"format", "pt"}});
    std::int64_t params = 0;
    for (const auto& t : tensors) {
        std::int64_t n = 1;
        for (auto d : t.shape) n *= d;
        params += n;
    }
    nlohmann::json cfg = {{"model_type", "llama"},
                          {"architectures", {"LlamaForCausalLM"}},
                          {"hidden_size", D},
                          {"num_hidden_layers", s.n_layers},
                          {"num_attention_heads", s.n_heads},
                          {"num_key_value_heads", s.n_kv_heads},
                          {"head_dim", s.head_dim},
                          {"intermediate_size", F},
                          {"vocab_size", s.vocab_size},
                          {"rms_norm_eps", 1e-5},
                          {"rope_parameters", {{"rope_type", "default"}, {"rope_theta", 10000.0}}},
                          {"hidden_act", "silu"},
                          {"tie_word_embeddings", true},
                          {"eos_token_id", 0}};
    std::ofstream(dir / "config.json") << cfg.dump(2);
    return params;
}

}  // namespace

std::int64_t write_random_checkpoint(const std::filesystem::path& dir, const CheckpointShape& s,
                                     StDType dtype, std::uint64_t seed) {
    std::filesystem::create_directories(dir);
    Rng rng{seed};
    std::vector<TensorToWrite> tensors;
    std::int64_t params = 0;
    auto add = [&](const std::string& name, std::vector<std::int64_t> shape, float lo, float hi,
                   bool keep_f32) {
        std::int64_t n = 1;
        for (auto d : shape) n *= d;
        std::vector<float> v(static_cast<std::size_t>(n));
        for (auto& x : v) x = rng.uniform(lo, hi);
        const StDType t = keep_f32 ? StDType::F32 : dtype;
        tensors.push_back({name, t, shape, encode_f32(v, t)});
        params += n;
    };
    const std::int64_t D = s.d_model, I = s.expand * s.d_model, N = s.d_state, K = s.d_conv;
    // Matrices at ~1/sqrt(fan_in) scale keep activations in range through 24+ layers.
    const float in_scale = 1.0f / std::sqrt(float(D)), inner_scale = 1.0f / std::sqrt(float(I));
    if (s.model_type == "llama") return write_random_llama(dir, s, dtype, rng, tensors, add);
    add("backbone.embeddings.weight", {s.vocab_size, D}, -0.1f, 0.1f, false);
    for (std::int64_t l = 0; l < s.n_layers; ++l) {
        const std::string p = "backbone.layers." + std::to_string(l) + ".";
        add(p + "norm.weight", {D}, 0.9f, 1.1f, false);
        if (s.model_type == "mamba") {
            const std::int64_t R = s.dt_rank;
            add(p + "mixer.in_proj.weight", {2 * I, D}, -in_scale, in_scale, false);
            add(p + "mixer.conv1d.weight", {I, 1, K}, -0.5f, 0.5f, false);
            add(p + "mixer.conv1d.bias", {I}, -0.1f, 0.1f, false);
            add(p + "mixer.x_proj.weight", {R + 2 * N, I}, -inner_scale, inner_scale, false);
            add(p + "mixer.dt_proj.weight", {I, R}, -0.1f, 0.1f, false);
            add(p + "mixer.dt_proj.bias", {I}, -4.0f, -2.0f, false);
            add(p + "mixer.A_log", {I, N}, 0.0f, 2.7f, true);
            add(p + "mixer.D", {I}, 0.5f, 1.5f, true);
            add(p + "mixer.out_proj.weight", {D, I}, -inner_scale, inner_scale, false);
        } else {
            const std::int64_t H = s.n_heads, G = s.n_groups, conv_dim = I + 2 * G * N;
            add(p + "mixer.in_proj.weight", {I + conv_dim + H, D}, -in_scale, in_scale, false);
            add(p + "mixer.conv1d.weight", {conv_dim, 1, K}, -0.5f, 0.5f, false);
            add(p + "mixer.conv1d.bias", {conv_dim}, -0.1f, 0.1f, false);
            add(p + "mixer.dt_bias", {H}, -4.0f, -2.0f, true);
            add(p + "mixer.A_log", {H}, 0.0f, 2.7f, true);
            add(p + "mixer.D", {H}, 0.5f, 1.5f, true);
            add(p + "mixer.norm.weight", {I}, 0.9f, 1.1f, false);
            add(p + "mixer.out_proj.weight", {D, I}, -inner_scale, inner_scale, false);
        }
    }
    add("backbone.norm_f.weight", {D}, 0.9f, 1.1f, false);
    write_safetensors(dir / "model.safetensors", tensors, {{"format", "pt"}});

    nlohmann::json cfg = {{"model_type", s.model_type},
                          {"hidden_size", D},
                          {"num_hidden_layers", s.n_layers},
                          {"vocab_size", s.vocab_size},
                          {"state_size", N},
                          {"expand", s.expand},
                          {"conv_kernel", K},
                          {"layer_norm_epsilon", 1e-5},
                          {"use_bias", false},
                          {"use_conv_bias", true},
                          {"residual_in_fp32", true},
                          {"tie_word_embeddings", true},
                          {"eos_token_id", 0}};
    if (s.model_type == "mamba") {
        cfg["architectures"] = {"MambaForCausalLM"};
        cfg["time_step_rank"] = s.dt_rank;
    } else {
        cfg["architectures"] = {"Mamba2ForCausalLM"};
        cfg["num_heads"] = s.n_heads;
        cfg["head_dim"] = s.head_dim;
        cfg["n_groups"] = s.n_groups;
        cfg["chunk_size"] = 256;
    }
    std::ofstream(dir / "config.json") << cfg.dump(2);
    return params;
}

StDType dtype_by_name(const std::string& name) {
    return name == "fp32" ? StDType::F32 : name == "fp16" ? StDType::F16 : StDType::BF16;
}

std::filesystem::path temp_checkpoint_dir(const std::string& tag, const std::string& shape_name,
                                          const std::string& dtype_name) {
    return std::filesystem::temp_directory_path() /
           ("statescope-bench-" + (tag.empty() ? "" : tag + "-") + shape_name + "-" + dtype_name);
}

std::int64_t write_random_checkpoint(const std::filesystem::path& dir,
                                     const std::string& shape_name, const std::string& dtype_name,
                                     std::uint64_t seed) {
    return write_random_checkpoint(dir, shape_by_name(shape_name), dtype_by_name(dtype_name), seed);
}

}  // namespace statescope::bench
