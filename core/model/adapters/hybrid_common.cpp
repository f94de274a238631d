// What the hybrid adapters share: the Mamba-2 mixer read from its tensor shapes (MODELS.md §15) and
// time_step_limit.
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/model/adapters/adapter.h"

namespace statescope::adapters {

// time_step_limit: [lo, hi] with hi possibly Infinity in any of its JSON spellings (MODELS.md
// §1.7).
void read_time_step_limit(const Config& cfg, double& lo, double& hi) {
    lo = 0.0;
    hi = std::numeric_limits<double>::infinity();
    if (!cfg.has("time_step_limit")) return;
    const auto& v = cfg.json()["time_step_limit"];
    if (!v.is_array() || v.size() != 2)
        throw Error(cfg.field("time_step_limit") + "must be a list of two numbers (got " +
                    v.dump() + ")");
    auto a = Config::to_float(v[0]);
    auto b = Config::to_float(v[1]);
    if (!a || !b)
        throw Error(cfg.field("time_step_limit") + "must be a list of two numbers (got " +
                    v.dump() + ")");
    if (std::isnan(*a) || std::isnan(*b) || *a > *b)
        throw Error(cfg.field("time_step_limit") + "is not an interval [lo, hi] (got " + v.dump() +
                    ")");
    lo = *a;
    hi = *b;
}

// Shapes, not config fields, give the dimensions (MODELS.md §15): n_heads = A_log[0]; conv1d.weight
// [conv_dim, 1, d_conv]; d_inner = out_proj.weight[1]; d_state = (conv_dim - d_inner) / (2
// n_groups); head_dim = d_inner / n_heads. n_groups must come from the config.
Mamba2Spec read_mamba2(const WeightStore& w, const std::string& prefix, std::int64_t d_model,
                       const Mamba2Options& o) {
    Mamba2Spec m;
    m.prefix = prefix;
    const TensorInfo& a_log = expect_rank(w, prefix + "A_log", 1);
    const TensorInfo& conv = expect_rank(w, prefix + "conv1d.weight", 3);
    const TensorInfo& out = expect_rank(w, prefix + "out_proj.weight", 2);
    m.n_heads = a_log.shape[0];
    const std::int64_t conv_dim = conv.shape[0];
    m.d_conv = conv.shape[2];
    m.d_inner = out.shape[1];
    m.n_groups = o.n_groups;
    const std::string groups = o.groups_field + "=" + std::to_string(o.n_groups);
    if (o.n_groups <= 0 || m.n_heads % o.n_groups != 0)
        throw Error("cannot load model: tensor \"" + prefix + "A_log\" gives " +
                    std::to_string(m.n_heads) + " heads, not a multiple of " + groups);
    const std::int64_t bc = conv_dim - m.d_inner;
    if (conv.shape[1] != 1 || bc <= 0 || bc % (2 * o.n_groups) != 0 || m.d_inner % m.n_heads != 0)
        throw Error("cannot load model: tensor \"" + prefix + "conv1d.weight\" has shape " +
                    conv.shape_string() +
                    ", which does not fit d_inner=" + std::to_string(m.d_inner) + " (out_proj), " +
                    std::to_string(m.n_heads) + " heads (A_log) and " + groups);
    m.d_state = bc / (2 * o.n_groups);
    m.head_dim = m.d_inner / m.n_heads;
    m.chunk_size = o.chunk_size;
    m.proj_bias = w.find(prefix + "in_proj.bias") != nullptr;
    m.out_proj_bias = w.find(prefix + "out_proj.bias") != nullptr;
    m.conv_bias = w.find(prefix + "conv1d.bias") != nullptr;
    m.dt_min = o.dt_min;
    m.dt_max = o.dt_max;
    m.gated_norm = o.gated_norm;
    m.norm_group_size = o.grouped_norm ? m.d_inner / o.n_groups : m.d_inner;
    m.norm_before_gate = o.norm_before_gate;
    m.norm_eps = o.norm_eps;
    for (int k = 0; k < 5; ++k) m.segment_multipliers[k] = o.segment_multipliers[k];
    const std::string dims = "d_inner=" + std::to_string(m.d_inner) +
                             ", heads=" + std::to_string(m.n_heads) + ", " + groups +
                             ", d_state=" + std::to_string(m.d_state);
    const TensorInfo& in = expect_rank(w, prefix + "in_proj.weight", 2);
    const std::int64_t rows = m.d_inner + conv_dim + m.n_heads;
    const std::int64_t extra = in.shape[0] - rows;
    if (extra < 0 || extra % 2 != 0 || in.shape[1] != d_model)
        throw Error("cannot load model: tensor \"" + prefix + "in_proj.weight\" has shape " +
                    in.shape_string() + ", expected [" + std::to_string(rows) + ", " +
                    std::to_string(d_model) + "] (" + dims + ")");
    m.d_mlp = extra / 2;
    expect_shape(w, prefix + "out_proj.weight", {d_model, m.d_inner}, "hidden_size");
    expect_shape(w, prefix + "dt_bias", {m.n_heads}, dims);
    expect_shape(w, prefix + "D", {m.n_heads}, dims);
    if (m.conv_bias) expect_shape(w, prefix + "conv1d.bias", {conv_dim}, dims);
    if (m.proj_bias) expect_shape(w, prefix + "in_proj.bias", {in.shape[0]}, dims);
    if (m.out_proj_bias) expect_shape(w, prefix + "out_proj.bias", {d_model}, "hidden_size");
    if (m.gated_norm) expect_shape(w, prefix + "norm.weight", {m.d_inner}, dims);
    return m;
}

void expect_silu(const Config& cfg, const std::string& key, const std::string& fallback) {
    const std::string act = cfg.get_string(key, fallback);
    if (act != "silu" && act != "swish")
        throw Error(cfg.field(key) + "is \"" + act + "\"; the Mamba conv activation must be silu");
}

PartSpec norm_part(MixerKind kind, const std::string& norm, double eps, const WeightStore& w,
                   std::int64_t d_model) {
    PartSpec p;
    p.kind = kind;
    p.norm_weight = norm;
    p.norm_eps = eps;
    expect_shape(w, norm, {d_model}, "hidden_size");
    return p;
}

// Layer kinds from strings: mamba / linear_attention -> 'M', attention / full_attention -> '*',
// mlp -> '-', moe -> 'E', hybrid -> 'H' (MODELS.md §1.7).
std::string layer_letters(const Config& cfg, const std::string& key) {
    const auto& v = cfg.json()[key];
    if (!v.is_array()) throw Error(cfg.field(key) + "must be a list of layer types");
    std::string out;
    for (const auto& t : v) {
        const std::string s = t.is_string() ? t.get<std::string>() : t.dump();
        if (s == "mamba" || s == "linear_attention" || s == "conv")
            out += 'M';
        else if (s == "attention" || s == "full_attention")
            out += '*';
        else if (s == "mlp")
            out += '-';
        else if (s == "moe")
            out += 'E';
        else if (s == "hybrid")
            out += 'H';
        else
            throw Error(cfg.field(key) + "has layer type \"" + s +
                        "\" (supported: mamba, linear_attention, attention, full_attention, mlp, "
                        "moe, hybrid)");
    }
    return out;
}

ModelSpec hybrid_spec_start(const Config& cfg, std::int64_t& n_layers) {
    ModelSpec spec;
    spec.model_type = cfg.get_string("model_type");
    spec.d_model = cfg.get_int("hidden_size");
    spec.residual_in_fp32 = false;
    n_layers = cfg.get_int("num_hidden_layers");
    if (spec.d_model <= 0 || n_layers <= 0)
        throw Error(cfg.source() + ": hidden_size and num_hidden_layers must be positive");
    return spec;
}

}  // namespace statescope::adapters
