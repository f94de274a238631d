// Decay, half-life and Lyapunov exponents: closed forms on synthetic captures and checkpoints, the
// captured delta of every golden model against a float64 recomputation from its weights, the
// Mamba-2 time_step_limit clamp, and measured perturbation growth against the bound.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "core/analysis/capture.h"
#include "core/analysis/decay.h"
#include "core/error.h"
#include "core/runtime/backends.h"
#include "core/runtime/model.h"
#include "core/runtime/sequence.h"
#include "tests/analysis/reference.h"

namespace statescope {
namespace {

using namespace testing_ref;

const std::vector<std::int32_t> kIds = {1, 5, 9,   200, 33, 17, 4,  99, 250, 3,  7,
                                        7, 7, 123, 45,  67, 89, 10, 11, 12,  300};

LayerCapture constant_layer(MixerKind kind, std::int64_t units, std::int64_t N,
                            std::vector<float> A, float delta, std::int64_t T) {
    LayerCapture l;
    l.kind = kind;
    l.channels = units;
    l.d_state = N;
    l.A = std::move(A);
    l.delta.assign(std::size_t(T * units), delta);
    l.delta_sum.assign(std::size_t(units), double(delta) * double(T));
    return l;
}

TEST(Decay, ConstantDeltaMamba2HasTheExactHalfLifeAndExponent) {
    const std::int64_t T = 100;
    LayerCapture l = constant_layer(MixerKind::Mamba2, 3, 16, {-0.5f, -2.0f, -8.0f}, 0.01f, T);
    const LyapunovLayer ly = lyapunov_exponents(l, T);
    const DecayLayer d = decay_layer(l, T, RetentionWindow{10, 60});
    const double A[3] = {-0.5, -2.0, -8.0};
    for (int h = 0; h < 3; ++h) {
        const double lambda = A[h] * double(0.01f);
        EXPECT_NEAR(ly.exponents[h], lambda, 1e-12);
        EXPECT_NEAR(d.half_life[h], std::log(2.0) / -lambda, 1e-9 * d.half_life[h]);
        // decay over one half-life is 1/2: exp(lambda * t_half) = 0.5
        EXPECT_NEAR(std::exp(lambda * d.half_life[h]), 0.5, 1e-12);
        EXPECT_NEAR(d.decay[std::size_t(7 * 3 + h)], std::exp(lambda), 1e-7);
        EXPECT_NEAR(d.decay_mean[h], std::exp(lambda), 1e-9);
        EXPECT_NEAR(d.log10_retention[h], 50 * lambda / std::log(10.0),
                    1e-9);  // 50 steps from 10 to 60
    }
    EXPECT_NEAR(ly.max, -0.5 * double(0.01f), 1e-12);
    EXPECT_EQ(ly.argmax, 0);
    EXPECT_DOUBLE_EQ(d.half_life_quantiles.front(), d.half_life[2]);
    EXPECT_DOUBLE_EQ(d.half_life_quantiles.back(), d.half_life[0]);
}

TEST(Decay, ConstantDeltaMamba1UsesTheLeastNegativeStateRow) {
    const std::int64_t T = 40, N = 4;
    // channel 0: A = -(n+1); channel 1: A = -(n+1)/4
    std::vector<float> A;
    for (int c = 0; c < 2; ++c)
        for (int n = 0; n < N; ++n) A.push_back(c == 0 ? -(n + 1.0f) : -(n + 1.0f) / 4);
    LayerCapture l = constant_layer(MixerKind::Mamba1, 2, N, A, 0.1f, T);
    const LyapunovLayer ly = lyapunov_exponents(l, T);
    EXPECT_NEAR(ly.exponents[0], -1.0 * double(0.1f), 1e-12);
    EXPECT_NEAR(ly.exponents[1], -0.25 * double(0.1f), 1e-12);
    EXPECT_EQ(ly.argmax, 1);
    const DecayLayer d = decay_layer(l, T, RetentionWindow{0, 1});
    double mean = 0;
    for (int n = 0; n < N; ++n) mean += std::exp(double(0.1f) * -(n + 1.0)) / N;
    EXPECT_NEAR(d.decay[0], mean, 1e-7);  // LongMamba's tA: mean over d_state
    EXPECT_NEAR(d.half_life[1], std::log(2.0) / (0.25 * double(0.1f)), 1e-6);
    ASSERT_EQ(d.log10_retention.size(), std::size_t(2 * N));
    EXPECT_NEAR(d.log10_retention[std::size_t(N + 3)], -1.0 * double(0.1f) / std::log(10.0), 1e-9);
}

TEST(Decay, RetentionWindowOutsideThePromptIsAnError) {
    LayerCapture l = constant_layer(MixerKind::Mamba2, 1, 1, {-1.0f}, 0.1f, 5);
    EXPECT_THROW(decay_layer(l, 5, RetentionWindow{3, 5}), Error);
    EXPECT_THROW(decay_layer(l, 5, RetentionWindow{3, 3}), Error);
}

TEST(Capture, ChunkEndsNeverLeaveAOneTokenChunkAfterTheStart) {
    for (std::int64_t T = 1; T < 40; ++T)
        for (std::int64_t chunk : {1, 2, 3, 5, 16})
            for (std::int64_t stride : {0, 2, 3, 7}) {
                const auto ends = chunk_ends(T, chunk, stride, {1, 6, 11});
                ASSERT_EQ(ends.back(), T);
                std::int64_t prev = 0;
                for (auto e : ends) {
                    ASSERT_GT(e, prev);
                    if (prev > 0) ASSERT_GE(e - prev, 2) << "T=" << T << " chunk=" << chunk;
                    prev = e;
                }
            }
}

class GoldenDelta : public ::testing::TestWithParam<std::string> {};

// Records each layer's normed input (mixer_in) so that every layer's delta can be recomputed from
// it.
class MixerInRecorder : public Observer {
  public:
    bool wants(std::string_view p) const override { return p.ends_with(".mixer_in"); }
    void on_capture(const Capture& c, kernels::Backend& be) override {
        std::vector<float> h(std::size_t(c.shape[0] * c.shape[1]));
        be.copy_to_host(c.data, h.data(), h.size() * sizeof(float));
        auto& dst = rows[c.layer];
        for (float v : h) dst.push_back(v);
    }
    std::map<std::int64_t, std::vector<double>> rows;
};

TEST_P(GoldenDelta, CapturedDeltaEqualsARecomputationFromTheWeights) {
    const fs::path dir = kGolden / GetParam();
    const Checkpoint ck(dir);
    auto backend = make_backend("cpu");
    auto model = Model::load(dir, *backend);
    const auto T = static_cast<std::int64_t>(kIds.size());
    MixerInRecorder rec;
    model->add_observer(&rec);
    CaptureOptions opt;
    opt.keep_delta = true;
    opt.chunk = 7;  // several chunks: delta must not depend on them
    Captures cap = capture_prefill(*model, kIds, opt);
    model->remove_observer(&rec);
    ASSERT_EQ(cap.layers.size(), std::size_t(model->spec().n_layers()));
    for (const auto& l : cap.layers) {
        // layer 0 from the embedding alone; later layers from the engine's own layer input
        const std::vector<double> u = l.index == 0 ? layer0_input(ck, kIds) : rec.rows[l.index];
        const std::vector<double> ref = reference_delta(ck, l.index, u, T);
        ASSERT_EQ(ref.size(), l.delta.size());
        double worst = 0;
        for (std::size_t i = 0; i < ref.size(); ++i)
            worst =
                std::max(worst, std::fabs(l.delta[i] - ref[i]) / std::max(std::fabs(ref[i]), 1e-3));
        EXPECT_LT(worst, 2e-4) << "layer " << l.index;
        // the running sums are the sums of the kept delta
        for (std::int64_t c = 0; c < l.channels; ++c) {
            double s = 0;
            for (std::int64_t t = 0; t < T; ++t) s += l.delta[std::size_t(t * l.channels + c)];
            EXPECT_NEAR(l.delta_sum[std::size_t(c)], s, 1e-9 * std::max(1.0, s));
        }
        // A = -exp(A_log)
        const std::string p = "backbone.layers." + std::to_string(l.index) + ".mixer.";
        const Tensor a_log = ck.get(p + "A_log");
        for (std::size_t i = 0; i < a_log.v.size(); ++i)
            EXPECT_NEAR(l.A[i], -std::exp(a_log.v[i]), 1e-6 * std::exp(a_log.v[i]));
    }
}

INSTANTIATE_TEST_SUITE_P(Models, GoldenDelta,
                         ::testing::Values("mamba-tiny", "falcon_mamba-tiny", "mamba2-tiny",
                                           "mamba-neox"));

TEST(GoldenDelta, Mamba2TimeStepLimitClampIsInTheCapturedDelta) {
    const fs::path dir = fs::temp_directory_path() / "statescope_analysis_clamp";
    fs::remove_all(dir);
    copy_checkpoint(
        kGolden / "mamba2-tiny", dir,
        [](nlohmann::json& c) {
            c["time_step_limit"] = {0.02, 0.08};
        },
        nullptr);
    const Checkpoint ck(dir);
    auto backend = make_backend("cpu");
    auto model = Model::load(dir, *backend);
    CaptureOptions opt;
    opt.keep_delta = true;
    opt.layers = {0};
    opt.chunk = 4;  // 21 tokens: a one-token tail would be a decode step without the clamp
    Captures cap = capture_prefill(*model, kIds, opt);
    const auto T = static_cast<std::int64_t>(kIds.size());
    const std::vector<double> ref = reference_delta(ck, 0, layer0_input(ck, kIds), T, 0.02, 0.08);
    const auto& d = cap.layers[0].delta;
    ASSERT_EQ(d.size(), ref.size());
    int clamped = 0;
    for (std::size_t i = 0; i < ref.size(); ++i) {
        EXPECT_NEAR(d[i], ref[i], 2e-4 * ref[i]);
        EXPECT_GE(d[i], 0.02f);
        EXPECT_LE(d[i], 0.08f);
        clamped += ref[i] == 0.02 || ref[i] == 0.08;
    }
    EXPECT_GT(clamped, 0) << "the limit should bite on this model";
    fs::remove_all(dir);
}

// A checkpoint whose delta is a constant per unit: dt projection zeroed, so delta = softplus(bias)
// and the Lyapunov exponent is exactly A * softplus(bias).
TEST_P(GoldenDelta, SyntheticConstantDeltaLayerHasTheKnownExponent) {
    const fs::path dir = fs::temp_directory_path() / ("statescope_analysis_const_" + GetParam());
    fs::remove_all(dir);
    const fs::path src = kGolden / GetParam();
    const bool m2 = GetParam() == "mamba2-tiny";
    std::int64_t H = 0;
    copy_checkpoint(src, dir, nullptr, [&](const std::string& name, std::vector<float>& v) {
        if (!m2 && name.ends_with("dt_proj.weight")) std::fill(v.begin(), v.end(), 0.0f);
        if (m2 && name.ends_with("dt_bias")) H = static_cast<std::int64_t>(v.size());
    });
    if (m2) {
        // zero the dt rows (the last H) of every in_proj
        copy_checkpoint(src, dir, nullptr, [&](const std::string& name, std::vector<float>& v) {
            if (!name.ends_with("in_proj.weight")) return;
            const std::size_t D = 64;  // hidden_size of mamba2-tiny
            std::fill(v.end() - static_cast<std::ptrdiff_t>(std::size_t(H) * D), v.end(), 0.0f);
        });
    }
    const Checkpoint ck(dir);
    auto backend = make_backend("cpu");
    auto model = Model::load(dir, *backend);
    CaptureOptions opt;
    Captures cap = capture_prefill(*model, kIds, opt);
    const auto T = static_cast<std::int64_t>(kIds.size());
    for (const auto& l : cap.layers) {
        const std::string p = "backbone.layers." + std::to_string(l.index) + ".mixer.";
        const Tensor bias = ck.get(p + (m2 ? "dt_bias" : "dt_proj.bias"));
        const Tensor a_log = ck.get(p + "A_log");
        const LyapunovLayer ly = lyapunov_exponents(l, T);
        double want_max = -INFINITY;
        for (std::int64_t u = 0; u < l.channels; ++u) {
            double a = -INFINITY;
            const std::int64_t N = m2 ? 1 : l.d_state;
            for (std::int64_t n = 0; n < N; ++n)
                a = std::max(a, -std::exp(a_log.v[std::size_t(u * N + n)]));
            const double want = a * softplus(bias.v[std::size_t(u)]);
            EXPECT_NEAR(ly.exponents[std::size_t(u)], want, 1e-5 * std::fabs(want))
                << "layer " << l.index << " unit " << u;
            want_max = std::max(want_max, want);
        }
        EXPECT_NEAR(ly.max, want_max, 1e-5 * std::fabs(want_max));
    }
    fs::remove_all(dir);
}

TEST_P(GoldenDelta, StatePerturbationNeverGrowsAboveTheBound) {
    auto backend = make_backend("cpu");
    auto model = Model::load(kGolden / GetParam(), *backend);
    const std::vector<std::int32_t> ids = sample_ids(36);
    PerturbationOptions po;
    po.t0 = 8;
    po.stride = 4;
    po.epsilon = 1e-2;
    const auto layers = measure_perturbation(*model, ids, po);
    ASSERT_EQ(layers.size(), std::size_t(model->spec().n_layers()));
    for (const auto& l : layers) {
        ASSERT_GE(l.positions.size(), 7u);
        EXPECT_EQ(l.positions.front(), 8);
        EXPECT_DOUBLE_EQ(l.measured.front(), 1.0);
        for (std::size_t i = 0; i < l.positions.size(); ++i) {
            EXPECT_LE(l.measured[i], l.bound[i] * (1 + 1e-3) + 1e-5)
                << "layer " << l.index << " t=" << l.positions[i];
            EXPECT_LE(l.bound[i], 1.0 + 1e-12);  // stable: A < 0, delta > 0
        }
    }
    // an embedding perturbation runs too (no guarantee there; it moves delta as well)
    po.perturb_embedding = true;
    po.t0 = 5;
    const auto emb = measure_perturbation(*model, ids, po);
    ASSERT_FALSE(emb.empty());
    EXPECT_FALSE(emb.front().positions.empty());
    // fp32 vs a bf16 state: a relative error of the order of bf16's 2^-8, not growing without bound
    po.perturb_embedding = false;
    po.bf16_state = true;
    const auto bf = measure_perturbation(*model, ids, po);
    ASSERT_EQ(bf.size(), layers.size());
    for (const auto& l : bf) {
        ASSERT_FALSE(l.relative.empty());
        EXPECT_EQ(l.positions.front(), 4);
        for (double r : l.relative) {
            EXPECT_GT(r, 0.0);
            EXPECT_LT(r, 2e-2);
        }
    }
}

}  // namespace
}  // namespace statescope
