#include "core/analysis/decay.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <random>

#include "core/error.h"
#include "core/runtime/sequence.h"

namespace statescope {

namespace {

// Per unit, the A whose exponent is the unit's: A[h] (Mamba-2) or max_n A[d, n] (Mamba-1).
std::vector<double> unit_A(const LayerCapture& layer) {
    std::vector<double> a(std::size_t(layer.channels));
    for (std::int64_t u = 0; u < layer.channels; ++u) {
        if (layer.kind == MixerKind::Mamba2) {
            a[std::size_t(u)] = layer.A[std::size_t(u)];
        } else {
            float m = -std::numeric_limits<float>::infinity();
            for (std::int64_t n = 0; n < layer.d_state; ++n)
                m = std::max(m, layer.A[std::size_t(u * layer.d_state + n)]);
            a[std::size_t(u)] = m;
        }
    }
    return a;
}

std::vector<double> quantiles(std::vector<double> v) {
    if (v.empty()) return {};
    std::sort(v.begin(), v.end());
    std::vector<double> out;
    for (double q : {0.0, 0.1, 0.5, 0.9, 1.0}) {
        // nearest rank: the ceil(q * n)-th smallest (the smallest for q = 0)
        auto k = static_cast<std::size_t>(std::ceil(q * double(v.size())));
        out.push_back(v[k == 0 ? 0 : k - 1]);
    }
    return out;
}

}  // namespace

double half_life(double lambda) {
    if (lambda == 0) return std::numeric_limits<double>::infinity();
    return std::log(2.0) / std::fabs(lambda);
}

LyapunovLayer lyapunov_exponents(const LayerCapture& layer, std::int64_t tokens) {
    if (tokens <= 0) throw Error("lyapunov: no tokens");
    LyapunovLayer out;
    out.index = layer.index;
    out.kind = layer.kind;
    const std::vector<double> a = unit_A(layer);
    out.max = -std::numeric_limits<double>::infinity();
    for (std::int64_t u = 0; u < layer.channels; ++u) {
        const double mean = layer.delta_sum[std::size_t(u)] / double(tokens);
        const double lambda = a[std::size_t(u)] * mean;  // lambda = A * mean_t delta
        out.mean_delta.push_back(mean);
        out.exponents.push_back(lambda);
        if (lambda > out.max) {
            out.max = lambda;
            out.argmax = u;
        }
    }
    return out;
}

DecayLayer decay_layer(const LayerCapture& layer, std::int64_t tokens,
                       const std::optional<RetentionWindow>& window) {
    const std::int64_t T = tokens, U = layer.channels, N = layer.d_state;
    if (static_cast<std::int64_t>(layer.delta.size()) != T * U)
        throw Error("decay: delta of layer " + std::to_string(layer.index) + " was not kept");
    DecayLayer out;
    out.index = layer.index;
    out.kind = layer.kind;
    out.decay.resize(std::size_t(T * U));
    out.decay_mean.assign(std::size_t(U), 0.0);
    for (std::int64_t t = 0; t < T; ++t)
        for (std::int64_t u = 0; u < U; ++u) {
            const float d = layer.delta[std::size_t(t * U + u)];
            double v;
            if (layer.kind == MixerKind::Mamba2) {
                v = std::exp(double(d) * layer.A[std::size_t(u)]);  // exp(delta[t,h] * A[h])
            } else {
                double s = 0;  // mean_n exp(delta[t,d] * A[d,n])
                for (std::int64_t n = 0; n < N; ++n)
                    s += std::exp(double(d) * layer.A[std::size_t(u * N + n)]);
                v = s / double(N);
            }
            out.decay[std::size_t(t * U + u)] = static_cast<float>(v);
            out.decay_mean[std::size_t(u)] += v / double(T);
        }
    const LyapunovLayer ly = lyapunov_exponents(layer, tokens);
    for (double l : ly.exponents) out.half_life.push_back(half_life(l));
    out.half_life_quantiles = quantiles(out.half_life);
    if (window) {
        const std::int64_t s = window->from, e = window->to;
        if (s < 0 || e <= s || e >= T)
            throw Error("retention window " + std::to_string(s) + " -> " + std::to_string(e) +
                        " must satisfy 0 <= from < to < " + std::to_string(T) +
                        " (the number of tokens)");
        std::vector<double> sum(std::size_t(U), 0.0);  // sum_{r = s+1 .. t} delta[r, u]
        for (std::int64_t r = s + 1; r <= e; ++r)
            for (std::int64_t u = 0; u < U; ++u)
                sum[std::size_t(u)] += layer.delta[std::size_t(r * U + u)];
        const double ln10 = std::log(10.0);
        for (std::int64_t u = 0; u < U; ++u) {
            if (layer.kind == MixerKind::Mamba2) {
                out.log10_retention.push_back(layer.A[std::size_t(u)] * sum[std::size_t(u)] / ln10);
            } else {
                for (std::int64_t n = 0; n < N; ++n)
                    out.log10_retention.push_back(layer.A[std::size_t(u * N + n)] *
                                                  sum[std::size_t(u)] / ln10);
            }
        }
    }
    return out;
}

namespace {

// Records, for the lockstep perturbation runs, the last state of each watched layer and the running
// delta sums; perturbs a state or an embedding row when armed.
class PerturbTap : public Observer {
  public:
    std::set<std::int64_t> layers;
    std::map<std::int64_t, std::vector<float>> state;       // layer -> state after the last call
    std::map<std::int64_t, std::vector<double>> delta_sum;  // layer -> sum over tokens so far
    std::map<std::int64_t, std::int64_t> call_tokens;
    // intervention (perturbed run only)
    bool armed = false;
    bool embedding = false;
    bool bf16 = false;
    std::int64_t target_layer = -1, t0 = 0;
    double epsilon = 0;
    std::mt19937_64 rng{1};
    bool record_delta = false;

    bool wants(std::string_view p) const override {
        if (armed && embedding && p == "layer.0.resid_pre") return true;
        for (auto l : layers) {
            const std::string pre = "layer." + std::to_string(l) + ".";
            if (p == pre + "ssm.state" || p == pre + "ssm.delta") return true;
        }
        return false;
    }
    void on_capture(const Capture& c, kernels::Backend& be) override {
        std::size_t n = 1;
        for (auto s : c.shape) n *= std::size_t(s);
        if (c.point.ends_with("resid_pre")) {
            const std::int64_t T = c.shape[0], D = c.shape[1];
            if (t0 < c.position || t0 >= c.position + T) return;
            float* row = c.data + (t0 - c.position) * c.stride;
            std::vector<float> h(static_cast<std::size_t>(D));
            be.copy_to_host(row, h.data(), h.size() * sizeof(float));
            add_noise(h);
            be.copy_from_host(h.data(), row, h.size() * sizeof(float));
            return;
        }
        if (c.point.ends_with("ssm.delta")) {
            call_tokens[c.layer] = c.shape[0];
            if (!record_delta) return;
            std::vector<float> d(n);
            be.copy_to_host(c.data, d.data(), n * sizeof(float));
            auto& s = delta_sum[c.layer];
            s.resize(std::size_t(c.shape[1]), 0.0);
            for (std::size_t i = 0; i < n; ++i) s[i % s.size()] += d[i];
            return;
        }
        auto& st = state[c.layer];
        st.resize(n);
        be.copy_to_host(c.data, st.data(), n * sizeof(float));
        if (armed && bf16) {
            for (auto& x : st) {
                // round to bf16, nearest even (finite states only)
                std::uint32_t bits;
                std::memcpy(&bits, &x, 4);
                bits = (bits + 0x7FFFu + ((bits >> 16) & 1u)) & 0xFFFF0000u;
                std::memcpy(&x, &bits, 4);
            }
            be.copy_from_host(st.data(), c.data, n * sizeof(float));
            return;
        }
        if (armed && !embedding && c.layer == target_layer &&
            c.position + call_tokens[c.layer] == t0) {
            add_noise(st);
            be.copy_from_host(st.data(), c.data, n * sizeof(float));
        }
    }

  private:
    void add_noise(std::vector<float>& v) {
        double sq = 0;
        for (float x : v) sq += double(x) * x;
        const double rms = std::sqrt(sq / double(v.size()));
        std::normal_distribution<double> normal(0.0, 1.0);
        for (auto& x : v) x = static_cast<float>(x + epsilon * (rms > 0 ? rms : 1.0) * normal(rng));
    }
};

}  // namespace

std::vector<PerturbationLayer> measure_perturbation(Model& model, std::span<const std::int32_t> ids,
                                                    const PerturbationOptions& o,
                                                    const ProgressFn& progress) {
    const auto T = static_cast<std::int64_t>(ids.size());
    if (o.stride < 2) throw Error("perturbation: the stride must be at least 2 tokens");
    if (o.t0 < 0 || o.t0 >= T)
        throw Error("perturbation: t0 must lie in 0.." + std::to_string(T - 1));
    if (!o.perturb_embedding && !o.bf16_state && o.t0 % o.stride != 0)
        throw Error(
            "perturbation: a state perturbation happens at a checkpoint, so t0 must be a multiple "
            "of the stride");
    std::vector<std::int64_t> layers = o.layers.empty() ? ssm_layers(model.spec()) : o.layers;
    std::vector<PerturbationLayer> out;
    const std::vector<std::int64_t> ends = chunk_ends(T, o.stride, o.stride, {});
    // One reference run and one perturbed run per group: all layers at once for an embedding
    // perturbation, each layer alone for a state perturbation (so its inputs stay unchanged).
    std::vector<std::vector<std::int64_t>> groups;
    if (o.perturb_embedding || o.bf16_state)
        groups.push_back(layers);
    else
        for (auto l : layers) groups.push_back({l});
    std::int64_t step = 0;
    const std::int64_t steps = static_cast<std::int64_t>(groups.size() * ends.size());
    for (const auto& group : groups) {
        PerturbTap ref, pert;
        ref.layers = pert.layers = std::set<std::int64_t>(group.begin(), group.end());
        ref.record_delta = true;
        pert.armed = true;
        pert.embedding = o.perturb_embedding;
        pert.bf16 = o.bf16_state;
        pert.target_layer = group.front();
        pert.t0 = o.t0;
        pert.epsilon = o.epsilon;
        pert.rng.seed(o.seed);
        Sequence seq_ref(model), seq_pert(model);
        std::map<std::int64_t, PerturbationLayer> res;
        std::map<std::int64_t, std::vector<double>> sum_at_t1;
        std::map<std::int64_t, std::vector<double>> a_unit;
        for (auto l : group) {
            res[l].index = l;
            LayerCapture lc;
            lc.index = l;
            lc.kind = model.spec().blocks[std::size_t(l)].main().kind;
            lc.A = layer_A(model, l);
            const BlockSpec& b = model.spec().blocks[std::size_t(l)];
            if (lc.kind == MixerKind::Mamba1) {
                lc.channels = std::get<Mamba1Spec>(b.main().mixer).d_inner;
                lc.d_state = std::get<Mamba1Spec>(b.main().mixer).d_state;
            } else {
                lc.channels = std::get<Mamba2Spec>(b.main().mixer).n_heads;
                lc.d_state = std::get<Mamba2Spec>(b.main().mixer).d_state;
            }
            a_unit[l] = unit_A(lc);
        }
        std::int64_t done = 0;
        for (std::int64_t e : ends) {
            const auto chunk = ids.subspan(std::size_t(done), std::size_t(e - done));
            model.add_observer(&ref);
            try {
                model.forward(seq_ref, chunk, LogitRows::None, nullptr);
            } catch (...) {
                model.remove_observer(&ref);
                throw;
            }
            model.remove_observer(&ref);
            model.add_observer(&pert);
            try {
                model.forward(seq_pert, chunk, LogitRows::None, nullptr);
            } catch (...) {
                model.remove_observer(&pert);
                throw;
            }
            model.remove_observer(&pert);
            done = e;
            for (auto l : group) {
                const auto& a = ref.state[l];
                const auto& b = pert.state[l];
                double d2 = 0, n2 = 0;
                for (std::size_t i = 0; i < a.size(); ++i) {
                    d2 += (double(b[i]) - a[i]) * (double(b[i]) - a[i]);
                    n2 += double(a[i]) * a[i];
                }
                const double div = std::sqrt(d2);
                PerturbationLayer& r = res[l];
                if (r.positions.empty()) {
                    if (div == 0 || (e < o.t0 && !o.bf16_state)) continue;  // not perturbed yet
                    sum_at_t1[l] = ref.delta_sum[l];
                }
                // bound = exp(max_u A_u * sum_{r in (t1, t]} delta[r, u])
                double worst = -std::numeric_limits<double>::infinity();
                const auto& s1 = sum_at_t1[l];
                const auto& s = ref.delta_sum[l];
                for (std::size_t u = 0; u < s.size(); ++u)
                    worst = std::max(worst, a_unit[l][u] * (s[u] - s1[u]));
                r.positions.push_back(e);
                r.divergence.push_back(div);
                r.measured.push_back(div / r.divergence.front());
                r.relative.push_back(n2 > 0 ? div / std::sqrt(n2) : 0.0);
                r.bound.push_back(std::exp(worst));
            }
            ++step;
            if (progress && !progress(step, steps)) break;
        }
        for (auto l : group) out.push_back(std::move(res[l]));
    }
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a.index < b.index; });
    return out;
}

}  // namespace statescope
