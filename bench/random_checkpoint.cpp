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

// Elements of a tensor of this shape.
std::int64_t numel(const std::vector<std::int64_t>& shape) {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
}

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
    } else if (name == "nemotron-h-8b") {
        // nvidia/Nemotron-H-8B-Base-8K: 24 Mamba-2 (128 heads of 64, d_state 128, 8 groups), 4
        // attention (32 heads of 128, 8 kv heads, no positional encoding) and 24 relu2 MLP layers
        // (21504) of width 4096, untied 131072-token vocabulary: 8,100,852,736 parameters.
        s.model_type = "nemotron_h", s.d_model = 4096, s.vocab_size = 131072, s.d_state = 128,
        s.n_heads = 128, s.head_dim = 64, s.n_groups = 8, s.n_attn_heads = 32,
        s.attn_head_dim = 128, s.n_kv_heads = 8, s.d_ff = 21504, s.tie_embeddings = false;
        s.pattern = "M-M-M-M*-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M-";
    } else if (name == "nemotron-h-tiny-bench") {
        // The same layer kinds at width 256 (Mamba-2: 8 heads of 64 = 2 x 256, d_state 64, 2
        // groups; attention: 4 heads of 64, 2 kv heads; MLP 1024), the NeoX vocabulary so the
        // benches' token ids (< 50000) fit: about 29M parameters.
        s.model_type = "nemotron_h", s.d_model = 256, s.vocab_size = 50288, s.d_state = 64,
        s.n_heads = 8, s.head_dim = 64, s.n_groups = 2, s.n_attn_heads = 4, s.attn_head_dim = 64,
        s.n_kv_heads = 2, s.d_ff = 1024, s.tie_embeddings = false;
        s.pattern = "M-M*M-M-";
    } else {
        throw Error("unknown benchmark shape \"" + name +
                    "\" (known: mamba-130m, mamba-370m, mamba-1.4b, mamba-2.8b, mamba2-130m, "
                    "mamba2-370m, mamba2-1.3b, mamba2-2.7b, llama-130m, nemotron-h-8b, "
                    "nemotron-h-tiny-bench)");
    }
    if (s.model_type == "nemotron_h") s.n_layers = std::int64_t(s.pattern.size());
    return s;
}

namespace {

// Every tensor of the checkpoint in file order: add(name, shape, lo, hi, keep_f32) with the range
// of its uniform random values. Writing and counting both walk this list, so they agree.
template <class Add>
void add_tensors(const CheckpointShape& s, Add& add) {
    const std::int64_t D = s.d_model;
    // Matrices at ~1/sqrt(fan_in) scale keep activations in range through 24+ layers.
    const float in_scale = 1.0f / std::sqrt(float(D));
    if (s.model_type == "llama") {
        const std::int64_t F = s.d_ff, q = s.n_heads * s.head_dim, kv = s.n_kv_heads * s.head_dim;
        const float ff_scale = 1.0f / std::sqrt(float(F));
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
        return;
    }
    // nemotron_h's Mamba-2 width is heads x head_dim (MODELS.md §9), mamba2's expand x d_model.
    const bool nemotron = s.model_type == "nemotron_h";
    const std::int64_t I = nemotron ? s.n_heads * s.head_dim : s.expand * s.d_model, N = s.d_state,
                       K = s.d_conv;
    const float inner_scale = 1.0f / std::sqrt(float(I));
    auto mamba2 = [&](const std::string& p) {
        const std::int64_t H = s.n_heads, G = s.n_groups, conv_dim = I + 2 * G * N;
        add(p + "mixer.in_proj.weight", {I + conv_dim + H, D}, -in_scale, in_scale, false);
        add(p + "mixer.conv1d.weight", {conv_dim, 1, K}, -0.5f, 0.5f, false);
        add(p + "mixer.conv1d.bias", {conv_dim}, -0.1f, 0.1f, false);
        add(p + "mixer.dt_bias", {H}, -4.0f, -2.0f, true);
        add(p + "mixer.A_log", {H}, 0.0f, 2.7f, true);
        add(p + "mixer.D", {H}, 0.5f, 1.5f, true);
        add(p + "mixer.norm.weight", {I}, 0.9f, 1.1f, false);
        add(p + "mixer.out_proj.weight", {D, I}, -inner_scale, inner_scale, false);
    };
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
        } else if (!nemotron || s.pattern[std::size_t(l)] == 'M') {
            mamba2(p);
        } else if (s.pattern[std::size_t(l)] == '*') {
            const std::int64_t q = s.n_attn_heads * s.attn_head_dim,
                               kv = s.n_kv_heads * s.attn_head_dim;
            const float o_scale = 1.0f / std::sqrt(float(q));
            add(p + "mixer.q_proj.weight", {q, D}, -in_scale, in_scale, false);
            add(p + "mixer.k_proj.weight", {kv, D}, -in_scale, in_scale, false);
            add(p + "mixer.v_proj.weight", {kv, D}, -in_scale, in_scale, false);
            add(p + "mixer.o_proj.weight", {D, q}, -o_scale, o_scale, false);
        } else if (s.pattern[std::size_t(l)] == '-') {
            const float ff_scale = 1.0f / std::sqrt(float(s.d_ff));
            add(p + "mixer.up_proj.weight", {s.d_ff, D}, -in_scale, in_scale, false);
            add(p + "mixer.down_proj.weight", {D, s.d_ff}, -ff_scale, ff_scale, false);
        } else {
            throw Error("benchmark shape \"" + s.name + "\": layer kind '" +
                        std::string(1, s.pattern[std::size_t(l)]) +
                        "' is not written (M, * and - are)");
        }
    }
    add("backbone.norm_f.weight", {D}, 0.9f, 1.1f, false);
    if (!s.tie_embeddings) add("lm_head.weight", {s.vocab_size, D}, -in_scale, in_scale, false);
}

nlohmann::json config_of(const CheckpointShape& s) {
    if (s.model_type == "llama")
        return {{"model_type", "llama"},
                {"architectures", {"LlamaForCausalLM"}},
                {"hidden_size", s.d_model},
                {"num_hidden_layers", s.n_layers},
                {"num_attention_heads", s.n_heads},
                {"num_key_value_heads", s.n_kv_heads},
                {"head_dim", s.head_dim},
                {"intermediate_size", s.d_ff},
                {"vocab_size", s.vocab_size},
                {"rms_norm_eps", 1e-5},
                {"rope_parameters", {{"rope_type", "default"}, {"rope_theta", 10000.0}}},
                {"hidden_act", "silu"},
                {"tie_word_embeddings", true},
                {"eos_token_id", 0}};
    if (s.model_type == "nemotron_h")
        // The Hub config's fields (nvidia/Nemotron-H-8B-Base-8K); layers from the pattern.
        return {{"model_type", "nemotron_h"},
                {"architectures", {"NemotronHForCausalLM"}},
                {"hidden_size", s.d_model},
                {"num_hidden_layers", s.n_layers},
                {"hybrid_override_pattern", s.pattern},
                {"vocab_size", s.vocab_size},
                {"tie_word_embeddings", s.tie_embeddings},
                {"layer_norm_epsilon", 1e-5},
                {"residual_in_fp32", false},
                {"mamba_num_heads", s.n_heads},
                {"mamba_head_dim", s.head_dim},
                {"ssm_state_size", s.d_state},
                {"n_groups", s.n_groups},
                {"conv_kernel", s.d_conv},
                {"expand", s.expand},
                {"chunk_size", 128},
                {"mamba_hidden_act", "silu"},
                {"use_conv_bias", true},
                {"use_bias", false},
                {"mamba_proj_bias", false},
                {"time_step_min", 0.001},
                {"time_step_max", 0.1},
                {"time_step_floor", 1e-4},
                {"num_attention_heads", s.n_attn_heads},
                {"num_key_value_heads", s.n_kv_heads},
                {"head_dim", s.attn_head_dim},
                {"attention_bias", false},
                {"intermediate_size", s.d_ff},
                {"mlp_hidden_act", "relu2"},
                {"mlp_bias", false},
                {"max_position_embeddings", 8192},
                {"pad_token_id", 0},
                {"bos_token_id", 1},
                {"eos_token_id", 2}};
    nlohmann::json cfg = {{"model_type", s.model_type},
                          {"hidden_size", s.d_model},
                          {"num_hidden_layers", s.n_layers},
                          {"vocab_size", s.vocab_size},
                          {"state_size", s.d_state},
                          {"expand", s.expand},
                          {"conv_kernel", s.d_conv},
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
    return cfg;
}

}  // namespace

std::int64_t count_parameters(const CheckpointShape& s) {
    std::int64_t params = 0;
    auto add = [&](const std::string&, std::vector<std::int64_t> shape, float, float, bool) {
        params += numel(shape);
    };
    add_tensors(s, add);
    return params;
}

std::int64_t write_random_checkpoint(const std::filesystem::path& dir, const CheckpointShape& s,
                                     StDType dtype, std::uint64_t seed) {
    std::filesystem::create_directories(dir);
    Rng rng{seed};
    std::vector<TensorToWrite> tensors;
    std::int64_t params = 0;
    auto add = [&](const std::string& name, std::vector<std::int64_t> shape, float lo, float hi,
                   bool keep_f32) {
        const std::int64_t n = numel(shape);
        std::vector<float> v(static_cast<std::size_t>(n));
        for (auto& x : v) x = rng.uniform(lo, hi);
        const StDType t = keep_f32 ? StDType::F32 : dtype;
        tensors.push_back({name, t, shape, encode_f32(v, t)});
        params += n;
    };
    add_tensors(s, add);
    write_safetensors(dir / "model.safetensors", tensors, {{"format", "pt"}});
    std::ofstream(dir / "config.json") << config_of(s).dump(2);
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
