// What the attention-bearing adapters share: RoPE parameters (5.x rope_parameters or 4.x rope_theta
// / rope_scaling), the attention block's shapes, and hidden_act names.
#include <cmath>

#include "core/error.h"
#include "core/model/adapters/adapter.h"

namespace statescope::adapters {

namespace {

// The rope dict of 5.x configs, or a synthesized one from 4.x top-level fields.
nlohmann::json rope_params(const Config& cfg, std::string& where) {
    const auto& j = cfg.json();
    if (j.contains("rope_parameters") && j["rope_parameters"].is_object()) {
        where = "rope_parameters";
        return j["rope_parameters"];
    }
    nlohmann::json r = nlohmann::json::object();
    if (j.contains("rope_scaling") && j["rope_scaling"].is_object()) r = j["rope_scaling"];
    where = "rope_scaling";
    if (j.contains("rope_theta")) r["rope_theta"] = j["rope_theta"];
    if (j.contains("partial_rotary_factor") && !r.contains("partial_rotary_factor"))
        r["partial_rotary_factor"] = j["partial_rotary_factor"];
    return r;
}

double number(const nlohmann::json& r, const char* key, double fallback, const Config& cfg,
              const std::string& where) {
    if (!r.contains(key) || r[key].is_null()) return fallback;
    auto v = Config::to_float(r[key]);
    if (!v)
        throw Error(cfg.field(where) + "entry \"" + key + "\" is not a number (got " +
                    r[key].dump() + ")");
    return *v;
}

}  // namespace

RopeSpec read_rope(const Config& cfg, std::int64_t head_dim, double partial_default) {
    return read_rope_impl(cfg, head_dim, partial_default, false);
}

RopeSpec read_rope_with_partial(const Config& cfg, std::int64_t head_dim, double partial) {
    return read_rope_impl(cfg, head_dim, partial, true);
}

RopeSpec read_rope_impl(const Config& cfg, std::int64_t head_dim, double partial_default,
                        bool force) {
    std::string where;
    const nlohmann::json r = rope_params(cfg, where);
    const double theta = number(r, "rope_theta", 10000.0, cfg, where);
    const double partial =
        force ? partial_default : number(r, "partial_rotary_factor", partial_default, cfg, where);
    RopeSpec rope;
    rope.rotary_dim = static_cast<std::int64_t>(double(head_dim) * partial);
    if (rope.rotary_dim <= 0 || rope.rotary_dim > head_dim || rope.rotary_dim % 2 != 0)
        throw Error(cfg.field(where) + "gives a rotary dimension of " +
                    std::to_string(rope.rotary_dim) + " for head_dim " + std::to_string(head_dim) +
                    " (partial_rotary_factor " + std::to_string(partial) + ")");
    const std::int64_t d = rope.rotary_dim;
    // inv_freq[j] = 1 / theta^(2j / d)   (transformers' default rope)
    std::vector<double> inv(static_cast<std::size_t>(d / 2));
    for (std::int64_t j = 0; j < d / 2; ++j)
        inv[j] = 1.0 / std::pow(theta, double(2 * j) / double(d));
    std::string type = "default";
    if (r.contains("rope_type") && r["rope_type"].is_string())
        type = r["rope_type"].get<std::string>();
    else if (r.contains("type") && r["type"].is_string())
        type = r["type"].get<std::string>();
    if (type == "linear") {
        // positions / factor  ==  inv_freq / factor
        const double factor = number(r, "factor", 1.0, cfg, where);
        for (auto& f : inv) f /= factor;
    } else if (type == "llama3") {
        // transformers' _compute_llama3_parameters: long wavelengths divided by factor, short kept,
        // the band between interpolated.
        const double factor = number(r, "factor", 8.0, cfg, where);
        const double low = number(r, "low_freq_factor", 1.0, cfg, where);
        const double high = number(r, "high_freq_factor", 4.0, cfg, where);
        const double old_len = number(r, "original_max_position_embeddings", 8192.0, cfg, where);
        const double low_wavelen = old_len / low, high_wavelen = old_len / high;
        for (auto& f : inv) {
            const double wavelen = 2.0 * M_PI / f;
            if (wavelen > low_wavelen) {
                f /= factor;
            } else if (wavelen >= high_wavelen) {
                const double smooth = (old_len / wavelen - low) / (high - low);
                f = (1.0 - smooth) * f / factor + smooth * f;
            }
        }
    } else if (type != "default") {
        throw Error(cfg.field(where) + "has rope_type \"" + type +
                    "\", which is not supported (supported: default, linear, llama3)");
    }
    for (double f : inv) rope.inv_freq.push_back(static_cast<float>(f));
    return rope;
}

kernels::Activation read_activation(const Config& cfg, const std::string& key,
                                    const std::string& fallback) {
    const std::string act = cfg.get_string(key, fallback);
    if (act == "silu" || act == "swish") return kernels::Activation::Silu;
    if (act == "gelu") return kernels::Activation::Gelu;
    if (act == "relu2") return kernels::Activation::Relu2;
    throw Error(cfg.field(key) + "is \"" + act +
                "\", which is not supported (supported: silu, gelu, relu2)");
}

void check_attention(const WeightStore& w, AttentionSpec& a, std::int64_t d_model) {
    const std::string dims = "num_attention_heads=" + std::to_string(a.n_heads) +
                             ", num_key_value_heads=" + std::to_string(a.n_kv_heads) +
                             ", head_dim=" + std::to_string(a.head_dim);
    if (a.n_heads <= 0 || a.n_kv_heads <= 0 || a.head_dim <= 0 || a.n_heads % a.n_kv_heads != 0)
        throw Error("cannot load model: attention at \"" + a.prefix + "\" has " + dims +
                    " (heads must be a positive multiple of the kv heads)");
    expect_shape(w, a.prefix + "q_proj.weight", {a.n_heads * a.head_dim, a.d_in}, dims);
    expect_shape(w, a.prefix + "k_proj.weight", {a.n_kv_heads * a.head_dim, a.d_in}, dims);
    expect_shape(w, a.prefix + "v_proj.weight", {a.n_kv_heads * a.head_dim, a.d_in}, dims);
    expect_shape(w, a.prefix + "o_proj.weight", {d_model, a.n_heads * a.head_dim}, dims);
    a.qkv_bias = w.find(a.prefix + "q_proj.bias") != nullptr;
    if (a.qkv_bias) {
        expect_shape(w, a.prefix + "q_proj.bias", {a.n_heads * a.head_dim}, dims);
        expect_shape(w, a.prefix + "k_proj.bias", {a.n_kv_heads * a.head_dim}, dims);
        expect_shape(w, a.prefix + "v_proj.bias", {a.n_kv_heads * a.head_dim}, dims);
    }
    a.o_bias = w.find(a.prefix + "o_proj.bias") != nullptr;
    if (a.o_bias) expect_shape(w, a.prefix + "o_proj.bias", {d_model}, "hidden_size");
    if (a.qk_norm) {
        expect_shape(w, a.prefix + "q_norm.weight", {a.head_dim}, "head_dim");
        expect_shape(w, a.prefix + "k_norm.weight", {a.head_dim}, "head_dim");
    }
}

MlpSpec gated_mlp(const WeightStore& w, const std::string& prefix, std::int64_t d_model,
                  std::int64_t d_ff, kernels::Activation act) {
    MlpSpec m;
    m.gate = prefix + "gate_proj.weight";
    m.up = prefix + "up_proj.weight";
    m.down = prefix + "down_proj.weight";
    m.d_ff = d_ff;
    m.act = act;
    const std::string why = "intermediate_size=" + std::to_string(d_ff);
    expect_shape(w, m.gate, {d_ff, d_model}, why);
    expect_shape(w, m.up, {d_ff, d_model}, why);
    expect_shape(w, m.down, {d_model, d_ff}, why);
    for (auto [bias, n] :
         {std::pair{&m.gate_bias, d_ff}, {&m.up_bias, d_ff}, {&m.down_bias, d_model}}) {
        const std::string name = (bias == &m.gate_bias ? m.gate
                                  : bias == &m.up_bias ? m.up
                                                       : m.down);
        const std::string b = name.substr(0, name.size() - 6) + "bias";  // "...weight" -> "...bias"
        if (w.find(b) != nullptr) {
            expect_shape(w, b, {n}, why);
            *bias = b;
        }
    }
    return m;
}

void read_embedding(ModelSpec& spec, const Config& cfg, const WeightStore& w,
                    const std::string& name) {
    spec.embedding = name;
    const TensorInfo& emb = expect_rank(w, name, 2);
    spec.vocab_size = emb.shape[0];
    expect_shape(w, name, {spec.vocab_size, spec.d_model},
                 "hidden_size=" + std::to_string(spec.d_model));
    const std::int64_t cfg_vocab = cfg.get_int("vocab_size", spec.vocab_size);
    if (cfg_vocab != spec.vocab_size)
        throw Error("cannot load model: tensor \"" + name + "\" has " +
                    std::to_string(spec.vocab_size) +
                    " rows, config says vocab_size=" + std::to_string(cfg_vocab));
}

}  // namespace statescope::adapters

namespace statescope::adapters {

AttentionSpec attention_from_shapes(const Config& cfg, const WeightStore& w,
                                    const std::string& prefix, std::int64_t d_in,
                                    std::int64_t d_model) {
    AttentionSpec a;
    a.prefix = prefix;
    a.d_in = d_in;
    a.n_heads = cfg.get_int("num_attention_heads");
    const TensorInfo& q = expect_rank(w, prefix + "q_proj.weight", 2);
    const TensorInfo& k = expect_rank(w, prefix + "k_proj.weight", 2);
    if (a.n_heads <= 0 || q.shape[0] % a.n_heads != 0)
        throw Error("cannot load model: tensor \"" + prefix + "q_proj.weight\" has " +
                    std::to_string(q.shape[0]) +
                    " rows, not a multiple of num_attention_heads=" + std::to_string(a.n_heads));
    a.head_dim = q.shape[0] / a.n_heads;
    if (cfg.has("head_dim") && cfg.json()["head_dim"].is_number_integer() &&
        cfg.get_int("head_dim") != a.head_dim)
        throw Error("cannot load model: tensor \"" + prefix + "q_proj.weight\" gives head_dim " +
                    std::to_string(a.head_dim) +
                    ", config says head_dim=" + std::to_string(cfg.get_int("head_dim")));
    if (k.shape[0] % a.head_dim != 0)
        throw Error("cannot load model: tensor \"" + prefix + "k_proj.weight\" has " +
                    std::to_string(k.shape[0]) + " rows, not a multiple of head_dim " +
                    std::to_string(a.head_dim));
    a.n_kv_heads = k.shape[0] / a.head_dim;
    const std::int64_t cfg_kv = cfg.get_int("num_key_value_heads", a.n_kv_heads);
    if (cfg_kv != a.n_kv_heads)
        throw Error("cannot load model: tensor \"" + prefix + "k_proj.weight\" gives " +
                    std::to_string(a.n_kv_heads) +
                    " kv heads, config says num_key_value_heads=" + std::to_string(cfg_kv));
    a.scale = 1.0 / std::sqrt(double(a.head_dim));
    check_attention(w, a, d_model);
    return a;
}

}  // namespace statescope::adapters
