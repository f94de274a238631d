// Logit lens, implicit attention and state statistics against what the engine itself computes.
#include <gtest/gtest.h>

#include <cmath>

#include "core/analysis/capture.h"
#include "core/analysis/lens.h"
#include "core/runtime/backends.h"
#include "core/runtime/generate.h"
#include "core/runtime/model.h"
#include "core/runtime/sequence.h"
#include "tests/analysis/reference.h"

namespace statescope {
namespace {

using namespace testing_ref;

TEST(LogitLens, LastLayerEqualsTheModelsOwnLogits) {
    for (const char* name : {"mamba2-tiny", "mamba-neox"}) {
        auto backend = make_backend("cpu");
        auto model = Model::load(kGolden / name, *backend);
        const auto ids = sample_ids(20);
        const std::int64_t L = model->spec().n_layers(), V = model->spec().vocab_size;
        Sequence seq(*model);
        std::vector<float> logits;
        model->forward(seq, ids, LogitRows::All, &logits);
        const auto lens = logit_lens(*model, ids, {}, 3, 7);
        ASSERT_EQ(lens.size(), std::size_t(L));
        const LensLayer& last = lens.back();
        for (std::size_t t = 0; t < ids.size(); ++t) {
            const float* row = logits.data() + t * std::size_t(V);
            EXPECT_EQ(last.top_ids[t * 3], argmax(std::span<const float>(row, std::size_t(V))))
                << name << " t=" << t;
            double mx = -INFINITY, z = 0;
            for (std::int64_t v = 0; v < V; ++v) mx = std::max(mx, double(row[v]));
            for (std::int64_t v = 0; v < V; ++v) z += std::exp(row[v] - mx);
            EXPECT_NEAR(last.top_probs[t * 3], 1.0 / z, 1e-5);
            EXPECT_GE(last.top_probs[t * 3], last.top_probs[t * 3 + 1]);
            if (t + 1 < ids.size()) {
                const double p = std::exp(row[ids[t + 1]] - mx) / z;
                EXPECT_NEAR(last.next_prob[t], p, 1e-5 * std::max(1.0, p * 10));
                int rank = 0;
                for (std::int64_t v = 0; v < V; ++v) rank += row[v] > row[ids[t + 1]];
                EXPECT_EQ(last.next_rank[t], rank);
            } else {
                EXPECT_EQ(last.next_rank[t], -1);
            }
        }
    }
}

class Recorder : public Observer {
  public:
    explicit Recorder(std::string layer) : pre_(std::move(layer)) {}
    bool wants(std::string_view p) const override {
        return p == pre_ + "ssm.x" || p == pre_ + "ssm.y";
    }
    void on_capture(const Capture& c, kernels::Backend& be) override {
        const std::int64_t T = c.shape[0], W = c.shape[1];
        std::vector<float> all(std::size_t((T - 1) * c.stride + W));
        be.copy_to_host(c.data, all.data(), all.size() * sizeof(float));
        auto& dst = rows[std::string(c.point.substr(pre_.size()))];
        for (std::int64_t t = 0; t < T; ++t)
            dst.insert(dst.end(), all.begin() + t * c.stride, all.begin() + t * c.stride + W);
    }
    std::map<std::string, std::vector<float>> rows;

  private:
    std::string pre_;
};

TEST(ImplicitAttention, Mamba2KernelReproducesTheScanOutput) {
    // from a zero state: y[t,h,p] - D[h] x[t,h,p] = sum_{s<=t} M_h[t,s] x[s,h,p]
    auto backend = make_backend("cpu");
    const fs::path dir = kGolden / "mamba2-tiny";
    auto model = Model::load(dir, *backend);
    const Checkpoint ck(dir);
    const auto ids = sample_ids(24);
    const std::int64_t T = 24, H = 8, P = 16;
    Recorder rec("layer.2.");
    model->add_observer(&rec);
    CaptureOptions opt;
    opt.layers = {2};
    opt.keep_delta = opt.keep_bc = true;
    opt.chunk = 10;
    Captures cap = capture_prefill(*model, ids, opt);
    model->remove_observer(&rec);
    const Tensor D = ck.get("backbone.layers.2.mixer.D");
    const auto& x = rec.rows["ssm.x"];
    const auto& y = rec.rows["ssm.y"];
    double worst = 0, scale = 0;
    for (std::int64_t h = 0; h < H; ++h) {
        const auto M = implicit_attention(cap.layers[0], h);
        for (std::int64_t t = 0; t < T; ++t) {
            for (std::int64_t s = t + 1; s < T; ++s) ASSERT_EQ(M[std::size_t(t * T + s)], 0.0f);
            for (std::int64_t p = 0; p < P; ++p) {
                double acc = 0;
                for (std::int64_t s = 0; s <= t; ++s)
                    acc +=
                        double(M[std::size_t(t * T + s)]) * x[std::size_t(s * H * P + h * P + p)];
                const std::size_t i = std::size_t(t * H * P + h * P + p);
                const double want = y[i] - D.v[std::size_t(h)] * x[i];
                worst = std::max(worst, std::fabs(acc - want));
                scale = std::max(scale, std::fabs(want));
            }
        }
    }
    EXPECT_LT(worst / scale, 1e-4);
}

TEST(ImplicitAttention, WindowKeepsOnlyItsRows) {
    auto backend = make_backend("cpu");
    auto model = Model::load(kGolden / "mamba-tiny", *backend);
    CaptureOptions opt;
    opt.layers = {0};
    opt.keep_delta = opt.keep_bc = true;
    opt.keep_from = 5;
    opt.keep_to = 17;
    opt.chunk = 4;
    Captures cap = capture_prefill(*model, sample_ids(30), opt);
    const auto& l = cap.layers[0];
    EXPECT_EQ(l.delta.size(), std::size_t(12 * 128));
    EXPECT_EQ(l.B.size(), std::size_t(12 * 16));
    CaptureOptions full = opt;
    full.keep_from = 0;
    full.keep_to = -1;
    Captures all = capture_prefill(*model, sample_ids(30), full);
    for (std::size_t i = 0; i < l.delta.size(); ++i)
        ASSERT_EQ(l.delta[i], all.layers[0].delta[5 * 128 + i]);
    const auto M = implicit_attention(l, 3);
    EXPECT_EQ(M.size(), std::size_t(12 * 12));
    EXPECT_NE(M[0], 0.0f);
}

TEST(StateStats, MatchTheFullStatesAtTheSamePositions) {
    for (const char* name : {"mamba2-tiny", "falcon_mamba-tiny"}) {
        auto backend = make_backend("cpu");
        auto model = Model::load(kGolden / name, *backend);
        CaptureOptions opt;
        opt.state_stride = 8;
        opt.state_positions = {8, 16, 24, 32};
        opt.bc_norms = true;
        Captures cap = capture_prefill(*model, sample_ids(37), opt);
        for (const auto& l : cap.layers) {
            ASSERT_EQ(l.state_stats.size(), 4u) << name;  // 8, 16, 24, 32 (37 is not a multiple)
            ASSERT_EQ(l.states.size(), 4u);
            EXPECT_EQ(l.b_norm.size(), std::size_t(37 * l.n_groups));
            for (std::size_t k = 0; k < 4; ++k) {
                EXPECT_EQ(l.state_stats[k].position, std::int64_t(8 * (k + 1)));
                const auto& s = l.states[k].state;
                const std::size_t units = l.state_stats[k].rms.size(), per = s.size() / units;
                for (std::size_t u = 0; u < units; ++u) {
                    double sum = 0, sq = 0, dot = 0, pq = 0;
                    for (std::size_t i = 0; i < per; ++i) {
                        sum += s[u * per + i];
                        sq += double(s[u * per + i]) * s[u * per + i];
                        if (k > 0) {
                            dot += double(s[u * per + i]) * l.states[k - 1].state[u * per + i];
                            pq += double(l.states[k - 1].state[u * per + i]) *
                                  l.states[k - 1].state[u * per + i];
                        }
                    }
                    EXPECT_NEAR(l.state_stats[k].mean[u], sum / per, 1e-6);
                    EXPECT_NEAR(l.state_stats[k].rms[u], std::sqrt(sq / per), 1e-6);
                    EXPECT_NEAR(l.state_stats[k].var[u], sq / per - (sum / per) * (sum / per),
                                1e-6);
                    if (k == 0)
                        EXPECT_TRUE(std::isnan(l.state_stats[k].cos_prev[u]));
                    else
                        EXPECT_NEAR(l.state_stats[k].cos_prev[u], dot / std::sqrt(sq * pq), 1e-5);
                }
            }
        }
    }
}

}  // namespace
}  // namespace statescope
