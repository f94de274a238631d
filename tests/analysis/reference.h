// Test helpers: the golden checkpoints read straight from their safetensors, delta recomputed in
// double from the weights (docs/ANALYSES.md §0, MODELS.md §1.4-1.5), and edited copies of a
// checkpoint for closed-form cases.
#pragma once

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/model/safetensors.h"
#include "core/model/safetensors_writer.h"
#include "tests/test_data.h"

namespace statescope::testing_ref {

namespace fs = std::filesystem;
inline const fs::path kGolden = statescope::test::test_data_dir() / "golden";

// A fixed prompt of n ids, all below 500 (inside every golden vocabulary).
inline std::vector<std::int32_t> sample_ids(int n) {
    std::vector<std::int32_t> ids;
    for (int i = 0; i < n; ++i) ids.push_back((i * 37 + 11) % 500);
    return ids;
}

struct Tensor {
    std::vector<double> v;
    std::vector<std::int64_t> shape;
};

class Checkpoint {
  public:
    explicit Checkpoint(const fs::path& dir)
        : file_(SafetensorsFile::open(dir / "model.safetensors")) {
        std::ifstream in(dir / "config.json");
        config = nlohmann::json::parse(in);
    }
    Tensor get(const std::string& name) const {
        const TensorInfo* t = file_.find(name);
        if (!t) throw std::runtime_error("missing tensor " + name);
        Tensor out;
        for (float x : t->to_f32()) out.v.push_back(x);
        out.shape = t->shape;
        return out;
    }
    bool has(const std::string& name) const { return file_.find(name) != nullptr; }
    nlohmann::json config;

  private:
    SafetensorsFile file_;
};

inline double softplus(double v) {
    return v > 20 ? v : std::log1p(std::exp(v));
}

// y[t, o] = sum_i W[o, i] x[t, i]  (W: [O, I] row-major; x: [T, I])
inline std::vector<double> linear(const std::vector<double>& x, std::int64_t T, const Tensor& W) {
    const std::int64_t O = W.shape[0], I = W.shape[1];
    std::vector<double> y(std::size_t(T * O), 0.0);
    for (std::int64_t t = 0; t < T; ++t)
        for (std::int64_t o = 0; o < O; ++o) {
            double s = 0;
            for (std::int64_t i = 0; i < I; ++i)
                s += W.v[std::size_t(o * I + i)] * x[std::size_t(t * I + i)];
            y[std::size_t(t * O + o)] = s;
        }
    return y;
}

// Layer 0's normed input from the embedding (independent of the engine): rmsnorm(embed[ids]) * w.
inline std::vector<double> layer0_input(const Checkpoint& ck,
                                        const std::vector<std::int32_t>& ids) {
    const Tensor emb = ck.get(ck.has("backbone.embeddings.weight") ? "backbone.embeddings.weight"
                                                                   : "backbone.embedding.weight");
    const Tensor w = ck.get("backbone.layers.0.norm.weight");
    const double eps = ck.config.value("layer_norm_epsilon", 1e-5);
    const std::int64_t D = emb.shape[1], T = static_cast<std::int64_t>(ids.size());
    std::vector<double> u(std::size_t(T * D));
    for (std::int64_t t = 0; t < T; ++t) {
        double sq = 0;
        for (std::int64_t d = 0; d < D; ++d)
            sq += emb.v[std::size_t(ids[t] * D + d)] * emb.v[std::size_t(ids[t] * D + d)];
        const double r = 1.0 / std::sqrt(sq / double(D) + eps);
        for (std::int64_t d = 0; d < D; ++d)
            u[std::size_t(t * D + d)] =
                emb.v[std::size_t(ids[t] * D + d)] * r * w.v[std::size_t(d)];
    }
    return u;
}

// delta [T, C] of layer `layer` from its normed input u [T, d_model], in double.
//   Mamba-1: softplus(dt_proj(rmsnorm?(x_proj(silu(conv(in_proj(u)[:, :I])))[:, :R])) +
//   dt_proj.bias) Mamba-2: clamp(softplus(in_proj(u)[:, -H:] + dt_bias), time_step_limit)   (the dt
//   slice skips the conv)
inline std::vector<double> reference_delta(const Checkpoint& ck, std::int64_t layer,
                                           const std::vector<double>& u, std::int64_t T,
                                           double lo = 0, double hi = INFINITY) {
    const std::string p = "backbone.layers." + std::to_string(layer) + ".mixer.";
    const Tensor in_proj = ck.get(p + "in_proj.weight");
    const std::vector<double> zx = linear(u, T, in_proj);
    const std::int64_t width = in_proj.shape[0];
    if (ck.config["model_type"] == "mamba2") {
        const Tensor bias = ck.get(p + "dt_bias");
        const std::int64_t H = bias.shape[0];
        std::vector<double> delta(std::size_t(T * H));
        for (std::int64_t t = 0; t < T; ++t)
            for (std::int64_t h = 0; h < H; ++h) {
                double d =
                    softplus(zx[std::size_t(t * width + width - H + h)] + bias.v[std::size_t(h)]);
                delta[std::size_t(t * H + h)] = std::min(std::max(d, lo), hi);
            }
        return delta;
    }
    const std::int64_t I = width / 2;
    const Tensor conv_w = ck.get(p + "conv1d.weight");  // [I, 1, K]
    const Tensor conv_b = ck.get(p + "conv1d.bias");
    const std::int64_t K = conv_w.shape[2];
    std::vector<double> x(std::size_t(T * I));
    for (std::int64_t t = 0; t < T; ++t)
        for (std::int64_t c = 0; c < I; ++c) {
            double s = conv_b.v[std::size_t(c)];
            for (std::int64_t k = 0; k < K; ++k) {
                const std::int64_t src = t - (K - 1) + k;
                if (src >= 0)
                    s += conv_w.v[std::size_t(c * K + k)] * zx[std::size_t(src * width + c)];
            }
            x[std::size_t(t * I + c)] = s / (1.0 + std::exp(-s));  // silu
        }
    const Tensor x_proj = ck.get(p + "x_proj.weight");    // [R + 2N, I]
    const Tensor dt_proj = ck.get(p + "dt_proj.weight");  // [I, R]
    const Tensor dt_bias = ck.get(p + "dt_proj.bias");
    const std::int64_t R = dt_proj.shape[1], dbl = x_proj.shape[0];
    std::vector<double> xd = linear(x, T, x_proj);
    std::vector<double> r(std::size_t(T * R));
    const bool falcon = ck.config["model_type"] == "falcon_mamba";
    const double eps = ck.config.value("mixer_rms_eps", 1e-6);
    for (std::int64_t t = 0; t < T; ++t) {
        double sq = 0;
        for (std::int64_t k = 0; k < R; ++k)
            sq += xd[std::size_t(t * dbl + k)] * xd[std::size_t(t * dbl + k)];
        const double scale = falcon ? 1.0 / std::sqrt(sq / double(R) + eps) : 1.0;
        for (std::int64_t k = 0; k < R; ++k)
            r[std::size_t(t * R + k)] = xd[std::size_t(t * dbl + k)] * scale;
    }
    std::vector<double> delta = linear(r, T, dt_proj);
    for (std::int64_t t = 0; t < T; ++t)
        for (std::int64_t c = 0; c < I; ++c)
            delta[std::size_t(t * I + c)] =
                softplus(delta[std::size_t(t * I + c)] + dt_bias.v[std::size_t(c)]);
    return delta;
}

// Copies checkpoint `src` to `dst` (config edited by `edit_config`, each fp32 tensor passed through
// `edit_tensor`).
inline void copy_checkpoint(
    const fs::path& src, const fs::path& dst,
    const std::function<void(nlohmann::json&)>& edit_config,
    const std::function<void(const std::string&, std::vector<float>&)>& edit_tensor) {
    fs::create_directories(dst);
    std::ifstream in(src / "config.json");
    nlohmann::json cfg = nlohmann::json::parse(in);
    if (edit_config) edit_config(cfg);
    std::ofstream(dst / "config.json") << cfg.dump(2);
    SafetensorsFile f = SafetensorsFile::open(src / "model.safetensors");
    std::vector<TensorToWrite> out;
    for (const auto& [name, t] : f.tensors()) {
        std::vector<float> v = t.to_f32();
        if (edit_tensor) edit_tensor(name, v);
        out.push_back({name, StDType::F32, t.shape, encode_f32(v, StDType::F32)});
    }
    write_safetensors(dst / "model.safetensors", out);
}

}  // namespace statescope::testing_ref
