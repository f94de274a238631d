// Captured attention probabilities against softmax(q k^T / sqrt(head_dim) + causal mask) recomputed
// in float64 from the layer's input and its q_proj / k_proj weights (and RoPE for llama).
#include <gtest/gtest.h>

#include <cmath>

#include "core/analysis/attention_probs.h"
#include "core/error.h"
#include "core/runtime/backends.h"
#include "core/runtime/model.h"
#include "core/runtime/sequence.h"
#include "tests/analysis/reference.h"

namespace statescope {
namespace {

using namespace testing_ref;

// Records one layer's mixer input [T, D] (the attention part's normed input).
class InputRecorder : public Observer {
  public:
    explicit InputRecorder(std::int64_t layer)
        : point_("layer." + std::to_string(layer) + ".mixer_in") {}
    bool wants(std::string_view p) const override { return p == point_; }
    void on_capture(const Capture& c, kernels::Backend& be) override {
        std::vector<float> rows(std::size_t(c.shape[0] * c.shape[1]));
        be.copy_to_host(c.data, rows.data(), rows.size() * sizeof(float));
        u.insert(u.end(), rows.begin(), rows.end());
    }
    std::vector<double> u;

  private:
    std::string point_;
};

// HF rotate_half RoPE on one head vector x[P] at position t, in double.
void rope(double* x, std::int64_t P, std::int64_t t, double theta) {
    std::vector<double> out(static_cast<std::size_t>(P), 0.0);
    const std::int64_t half = P / 2;
    for (std::int64_t i = 0; i < half; ++i) {
        const double f = double(t) * std::pow(theta, -2.0 * double(i) / double(P));
        const double c = std::cos(f), s = std::sin(f);
        out[std::size_t(i)] = x[i] * c - x[i + half] * s;
        out[std::size_t(i + half)] = x[i + half] * c + x[i] * s;
    }
    std::copy(out.begin(), out.end(), x);
}

struct Case {
    const char* model;
    std::string prefix;  // of q_proj / k_proj
    std::int64_t layer;
    double rope_theta;  // 0: no RoPE
};

void check(const Case& cs) {
    SCOPED_TRACE(cs.model);
    auto backend = make_backend("cpu");
    auto model = Model::load(kGolden / cs.model, *backend);
    const Checkpoint ck(kGolden / cs.model);
    std::vector<std::int32_t> ids;
    for (int i = 0; i < 30; ++i) ids.push_back((i * 53 + 7) % 200);
    const auto T = static_cast<std::int64_t>(ids.size());

    AttentionProbsOptions opt;
    opt.queries = {0, 5, 17, 29};
    opt.key_from = 3;
    opt.key_to = 26;
    InputRecorder rec(cs.layer);
    model->add_observer(&rec);
    // chunks of 7 so that queries and keys span calls
    AttentionProbsCollector col(*model, opt);
    model->add_observer(&col);
    Sequence seq(*model);
    model->prefill(seq, ids, 7, {}, nullptr);
    model->remove_observer(&col);
    model->remove_observer(&rec);
    ASSERT_EQ(col.layers().size(), attention_layers(model->spec()).size());
    const AttentionProbsLayer* l = nullptr;
    for (const auto& x : col.layers())
        if (x.index == cs.layer) l = &x;
    ASSERT_NE(l, nullptr);
    ASSERT_EQ(l->queries, opt.queries);
    ASSERT_EQ(l->keys, 23);

    const Tensor wq = ck.get(cs.prefix + "q_proj.weight"), wk = ck.get(cs.prefix + "k_proj.weight");
    const std::int64_t H = l->n_heads, KV = l->n_kv_heads, P = l->head_dim;
    ASSERT_EQ(static_cast<std::int64_t>(rec.u.size()), T * wq.shape[1]);
    std::vector<double> q = linear(rec.u, T, wq), k = linear(rec.u, T, wk);
    if (cs.rope_theta > 0)
        for (std::int64_t t = 0; t < T; ++t) {
            for (std::int64_t h = 0; h < H; ++h)
                rope(&q[std::size_t((t * H + h) * P)], P, t, cs.rope_theta);
            for (std::int64_t g = 0; g < KV; ++g)
                rope(&k[std::size_t((t * KV + g) * P)], P, t, cs.rope_theta);
        }
    const double scale = 1.0 / std::sqrt(double(P));
    double worst = 0;
    for (std::size_t qi = 0; qi < opt.queries.size(); ++qi) {
        const std::int64_t t = opt.queries[qi];
        for (std::int64_t h = 0; h < H; ++h) {
            const std::int64_t g = h / (H / KV);
            std::vector<double> s(std::size_t(T), -INFINITY);  // + mask: -inf above the diagonal
            double mx = -INFINITY;
            for (std::int64_t j = 0; j <= t; ++j) {
                double d = 0;
                for (std::int64_t p = 0; p < P; ++p)
                    d += q[std::size_t((t * H + h) * P + p)] * k[std::size_t((j * KV + g) * P + p)];
                s[std::size_t(j)] = d * scale;
                mx = std::max(mx, s[std::size_t(j)]);
            }
            double z = 0;
            for (std::int64_t j = 0; j < T; ++j) z += std::exp(s[std::size_t(j)] - mx);
            for (std::int64_t j = opt.key_from; j < opt.key_to; ++j) {
                const double ref = std::exp(s[std::size_t(j)] - mx) / z;
                const double got = l->at(std::int64_t(qi), h, j);
                worst = std::max(worst, std::fabs(got - ref));
                EXPECT_NEAR(got, ref, 1e-5) << "q=" << t << " h=" << h << " j=" << j;
                if (j > t) {
                    EXPECT_EQ(got, 0.0f);
                }
            }
        }
    }
    std::printf("%s layer %lld: max |p - p_ref| = %.3g\n", cs.model, (long long)cs.layer, worst);
}

TEST(AttentionProbs, EqualSoftmaxOfQKRecomputedInDouble) {
    check({"nemotron_h-tiny", "backbone.layers.1.mixer.", 1, 0.0});
    check({"llama-tiny", "model.layers.1.self_attn.", 1, 10000.0});
}

TEST(AttentionProbs, RowsSumToOneOverAllKeys) {
    auto backend = make_backend("cpu");
    auto model = Model::load(kGolden / "nemotron_h-tiny", *backend);
    std::vector<std::int32_t> ids;
    for (int i = 0; i < 20; ++i) ids.push_back((i * 31 + 3) % 200);
    AttentionProbsOptions opt;
    for (int i = 0; i < 20; ++i) opt.queries.push_back(i);
    const auto layers = capture_attention_probs(*model, ids, opt);
    ASSERT_EQ(layers.size(), 1u);
    const auto& l = layers[0];
    for (std::int64_t qi = 0; qi < 20; ++qi)
        for (std::int64_t h = 0; h < l.n_heads; ++h) {
            double s = 0;
            for (std::int64_t j = 0; j < l.keys; ++j) s += l.at(qi, h, j);
            EXPECT_NEAR(s, 1.0, 1e-5);
        }
}

TEST(AttentionProbs, SaysWhatIsWrong) {
    auto backend = make_backend("cpu");
    auto model = Model::load(kGolden / "nemotron_h-tiny", *backend);
    AttentionProbsOptions opt;
    opt.queries = {3};
    opt.layers = {0};
    EXPECT_THROW(AttentionProbsCollector(*model, opt), Error);  // layer 0 is Mamba-2
    opt.layers = {};
    std::vector<std::int32_t> ids = {1, 2, 3};
    EXPECT_THROW(capture_attention_probs(*model, ids, opt), Error);  // query past the prompt
}

}  // namespace
}  // namespace statescope
