// Receptive fields and LongMamba: closed forms of tA_prod and the clamp, torch's linear
// interpolation, the align-target rule, calibration round trip, and the token filter against a
// float64 reference scan run with the filtered delta.
#include <gtest/gtest.h>

#include <cmath>

#include "core/analysis/capture.h"
#include "core/analysis/longmamba.h"
#include "core/error.h"
#include "core/runtime/backends.h"
#include "core/runtime/model.h"
#include "core/runtime/sequence.h"
#include "tests/analysis/reference.h"

namespace statescope {
namespace {

using namespace testing_ref;

LayerCapture layer_with(MixerKind kind, std::int64_t U, std::int64_t N, std::vector<float> A,
                        std::vector<float> delta) {
    LayerCapture l;
    l.kind = kind;
    l.channels = U;
    l.d_state = N;
    l.A = std::move(A);
    l.delta = std::move(delta);
    return l;
}

TEST(ReceptiveField, ConstantDeltaGivesTheClosedFormProduct) {
    const std::int64_t T = 50;
    LayerCapture m2 = layer_with(MixerKind::Mamba2, 1, 8, {-3.0f}, std::vector<float>(T, 0.25f));
    ReceptiveField rf = receptive_field(m2, T, 0.1);
    EXPECT_DOUBLE_EQ(rf.decay[0], 12.5);
    EXPECT_DOUBLE_EQ(rf.log_tA_prod[0], -3.0 * 12.5);  // tA_prod = exp(A * T * delta)
    LayerCapture m1 =
        layer_with(MixerKind::Mamba1, 1, 2, {-1.0f, -2.0f}, std::vector<float>(T, 0.25f));
    rf = receptive_field(m1, T, 0.0);
    EXPECT_NEAR(rf.log_tA_prod[0], T * std::log((std::exp(-0.25) + std::exp(-0.5)) / 2), 1e-12);
}

TEST(ReceptiveField, TopKClampCutsTheLargestDeltas) {
    // delta = 0.1 .. 1.0; clamp_top 0.2 -> k = 2, q = 0.9: sum = 5.5 - 1.0 + 0.9
    std::vector<float> d;
    for (int i = 1; i <= 10; ++i) d.push_back(float(i) / 10);
    LayerCapture l = layer_with(MixerKind::Mamba2, 1, 1, {-1.0f}, d);
    ReceptiveField rf = receptive_field(l, 10, 0.2, true);
    double want = 0;
    for (float v : d) want += std::min(v, 0.9f);
    EXPECT_DOUBLE_EQ(rf.decay[0], want);
    EXPECT_FLOAT_EQ(rf.sorted_clamped[0][0], 0.9f);
    EXPECT_FLOAT_EQ(rf.sorted_clamped[0][9], 0.1f);
    // k = max(1, int(T * sc)): sc so small that int() is 0 still clamps at the largest
    rf = receptive_field(l, 10, 0.01);
    double all = 0;
    for (float v : d) all += v;
    EXPECT_DOUBLE_EQ(rf.decay[0], all);
}

TEST(LongMamba, InterpolateMatchesTorchLinearAlignCornersFalse) {
    // torch.nn.functional.interpolate(tensor([[[0., 1., 2., 3.]]]), size=8, mode='linear')
    const std::vector<float> v = {0, 1, 2, 3};
    const std::vector<double> want = {0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3.0};
    const auto got = interpolate_linear(v, 8);
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) EXPECT_DOUBLE_EQ(got[i], want[i]);
}

TEST(LongMamba, AlignTargetOfAConstantProfile) {
    // sorted delta all 0.5 over T = 100; at S = 200 the stretched profile is all 0.5 and the cumsum
    // first exceeds the 100-token total (50) at index 100: k = 101, alpha = 101/200, threshold =
    // 0.5
    const std::vector<float> s(100, 0.5f);
    double alpha = 0, thr = 0;
    align_target(s, 50.0, 200, alpha, thr);
    EXPECT_DOUBLE_EQ(alpha, 101.0 / 200.0);
    EXPECT_DOUBLE_EQ(thr, 0.5);
    align_target(s, 50.0, 100, alpha, thr);  // at or below the window: no filtering
    EXPECT_DOUBLE_EQ(alpha, 1.0);
    EXPECT_DOUBLE_EQ(thr, 0.0);
}

Calibration all_global(const Model& model, std::int64_t layer, double threshold) {
    Calibration c;
    c.model_type = model.spec().model_type;
    c.n_layers = model.spec().n_layers();
    c.lengths = {4000};
    CalibrationLayer l;
    l.index = layer;
    l.kind = model.spec().blocks[std::size_t(layer)].main().kind;
    const BlockSpec& b = model.spec().blocks[std::size_t(layer)];
    const std::int64_t U = l.kind == MixerKind::Mamba2
                               ? std::get<Mamba2Spec>(b.main().mixer).n_heads
                               : std::get<Mamba1Spec>(b.main().mixer).d_inner;
    l.decay.assign(std::size_t(U), 1.0);
    l.log_tA_prod.assign(std::size_t(U), 0.0);  // tA_prod = 1 > c: every unit global
    l.log_tA_prod[0] = -100;                    // ... but unit 0 local
    l.alpha.assign(1, std::vector<double>(std::size_t(U), 0.5));
    l.threshold.assign(1, std::vector<double>(std::size_t(U), threshold));
    c.layers.push_back(l);
    return c;
}

TEST(LongMamba, CalibrationJsonRoundTripsAndIsCheckedAgainstTheModel) {
    auto backend = make_backend("cpu");
    auto model = Model::load(kGolden / "mamba2-tiny", *backend);
    const Calibration c = all_global(*model, 1, 0.02);
    const Calibration back = calibration_from_json(calibration_json(c));
    EXPECT_EQ(back.lengths, c.lengths);
    ASSERT_EQ(back.layers.size(), 1u);
    EXPECT_EQ(back.layers[0].threshold, c.layers[0].threshold);
    LongMambaFilter f(back, {});
    EXPECT_NO_THROW(f.check(model->spec()));
    auto other = Model::load(kGolden / "mamba-tiny", *backend);
    EXPECT_THROW(f.check(other->spec()), Error);
    nlohmann::json bad = calibration_json(c);
    bad["layers"][0]["dt_threshold"][0].erase(0);
    EXPECT_THROW(calibration_from_json(bad), Error);
    EXPECT_THROW(calibration_from_json(nlohmann::json::object()), Error);
}

// Records delta, x, B, C, y of one layer as the scan saw them (register after the filter).
class ScanRecorder : public Observer {
  public:
    explicit ScanRecorder(std::int64_t layer) : pre_("layer." + std::to_string(layer) + ".") {}
    bool wants(std::string_view p) const override {
        return p.starts_with(pre_) && p.find(".ssm.") != std::string_view::npos;
    }
    void on_capture(const Capture& c, kernels::Backend& be) override {
        const std::string name(c.point.substr(pre_.size()));
        if (name == "ssm.state") return;
        const std::int64_t T = c.shape[0], W = c.shape[1];
        std::vector<float> all(std::size_t((T - 1) * c.stride + W));
        be.copy_to_host(c.data, all.data(), all.size() * sizeof(float));
        auto& dst = rows[name];
        for (std::int64_t t = 0; t < T; ++t)
            dst.insert(dst.end(), all.begin() + t * c.stride, all.begin() + t * c.stride + W);
    }
    std::map<std::string, std::vector<float>> rows;

  private:
    std::string pre_;
};

TEST(LongMamba, FilteredPrefillEqualsTheReferenceScanWithThoseDeltasZeroed) {
    auto backend = make_backend("cpu");
    const fs::path dir = kGolden / "mamba2-tiny";
    auto model = Model::load(dir, *backend);
    const Checkpoint ck(dir);
    std::vector<std::int32_t> ids;
    for (int i = 0; i < 40; ++i) ids.push_back((i * 53 + 7) % 500);
    const std::int64_t layer = 1, T = 40;
    CaptureOptions opt;
    opt.layers = {layer};
    opt.keep_delta = true;
    CaptureCollector before(*model, opt);  // sees delta before the filter
    LongMambaFilter::Settings st;
    st.min_tokens = 1;
    LongMambaFilter filter(all_global(*model, layer, 0.03), st);
    filter.check(model->spec());
    ScanRecorder after(layer);
    model->add_observer(&before);
    model->add_observer(&filter);
    model->add_observer(&after);
    filter.begin_prompt(T);
    Sequence seq(*model);
    prefill_with_ends(*model, seq, ids, chunk_ends(T, 16, 0, {}), {});
    // a decode step is not filtered (LongMamba's Mamba2.step is vanilla)
    model->forward(seq, std::vector<std::int32_t>{5}, LogitRows::None, nullptr);
    model->remove_observer(&after);
    model->remove_observer(&filter);
    model->remove_observer(&before);
    const auto& raw = before.captures().layers[0].delta;
    const auto& filtered = after.rows["ssm.delta"];
    const std::int64_t H = 8, P = 16, N = 16, G = 2;
    ASSERT_EQ(raw.size(), std::size_t((T + 1) * H));
    ASSERT_EQ(filtered.size(), raw.size());
    const auto& mask = filter.masks()[0];
    ASSERT_EQ(mask.kept.size(), std::size_t(T * H));
    int zeroed = 0;
    for (std::int64_t t = 0; t < T + 1; ++t)
        for (std::int64_t h = 0; h < H; ++h) {
            const std::size_t i = std::size_t(t * H + h);
            const bool keep = t == T || h == 0 || raw[i] > 0.03f;
            if (t < T) EXPECT_EQ(mask.kept[i], keep ? 1 : 0);
            EXPECT_EQ(filtered[i], keep ? raw[i] : 0.0f);
            zeroed += !keep;
        }
    EXPECT_GT(zeroed, 20);
    EXPECT_LT(zeroed, int(T * (H - 1)));
    // reference scan in double over the prompt with the filtered delta:
    //   S = exp(delta*A) S + delta x B ; y = S.C + D x
    const Tensor a_log = ck.get("backbone.layers.1.mixer.A_log"),
                 D = ck.get("backbone.layers.1.mixer.D");
    const auto& x = after.rows["ssm.x"];
    const auto& B = after.rows["ssm.B"];
    const auto& C = after.rows["ssm.C"];
    const auto& y = after.rows["ssm.y"];
    std::vector<double> S(std::size_t(H * P * N), 0.0);
    double worst = 0, scale = 0;
    for (std::int64_t t = 0; t < T; ++t)
        for (std::int64_t h = 0; h < H; ++h) {
            const std::int64_t g = h / (H / G);
            const double d = filtered[std::size_t(t * H + h)],
                         dA = std::exp(d * -std::exp(a_log.v[std::size_t(h)]));
            for (std::int64_t p = 0; p < P; ++p) {
                const double xv = x[std::size_t(t * H * P + h * P + p)];
                double acc = 0;
                for (std::int64_t n = 0; n < N; ++n) {
                    double& s = S[std::size_t((h * P + p) * N + n)];
                    s = dA * s + d * xv * B[std::size_t(t * G * N + g * N + n)];
                    acc += s * C[std::size_t(t * G * N + g * N + n)];
                }
                const double want = acc + D.v[std::size_t(h)] * xv;
                worst = std::max(worst, std::fabs(want - y[std::size_t(t * H * P + h * P + p)]));
                scale = std::max(scale, std::fabs(want));
            }
        }
    EXPECT_LT(worst / scale, 1e-5);
}

TEST(LongMamba, ShortPromptsAndMamba1FilterPerChannel) {
    auto backend = make_backend("cpu");
    auto model = Model::load(kGolden / "mamba-tiny", *backend);
    std::vector<std::int32_t> ids;
    for (int i = 0; i < 12; ++i) ids.push_back((i * 31 + 3) % 500);
    LongMambaFilter::Settings st;  // min_tokens 3000: inactive on 12 tokens
    LongMambaFilter off(all_global(*model, 0, 1.0), st);
    off.begin_prompt(12);
    EXPECT_FALSE(off.active());
    EXPECT_FALSE(off.wants("layer.0.ssm.delta"));
    st.min_tokens = 1;
    LongMambaFilter on(all_global(*model, 0, 1e9), st);  // a threshold nothing passes
    ScanRecorder after(0);
    model->add_observer(&on);
    model->add_observer(&after);
    on.begin_prompt(12);
    Sequence seq(*model);
    model->forward(seq, ids, LogitRows::None, nullptr);
    model->remove_observer(&after);
    model->remove_observer(&on);
    const auto& d = after.rows["ssm.delta"];
    ASSERT_EQ(d.size(), std::size_t(12 * 128));
    for (std::int64_t t = 0; t < 12; ++t) {
        EXPECT_GT(d[std::size_t(t * 128)], 0.0f);  // channel 0 local: untouched
        for (std::int64_t c = 1; c < 128; ++c) EXPECT_EQ(d[std::size_t(t * 128 + c)], 0.0f);
    }
}

}  // namespace
}  // namespace statescope
