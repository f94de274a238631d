// Every supported model_type against the transformers references in tests/data/golden (float64
// reference, fp32 engine), on every backend of the build (cuda skips with its reason where there is
// no GPU): one-pass logits, incremental decode from several prefill lengths, the
// residual stream at every layer through the observer hooks, and greedy continuations.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <tuple>

#include "core/error.h"
#include "core/model/safetensors.h"
#include "core/runtime/backends.h"
#include "core/runtime/generate.h"
#include "core/runtime/model.h"
#include "core/runtime/sequence.h"
#include "tests/runtime/golden_fixture.h"
#include "tests/test_data.h"

namespace statescope {
namespace {

const std::filesystem::path& kGolden = test::golden_dir();

using test::row_rel_error;

struct Golden {
    std::vector<std::int32_t> input_ids;
    std::vector<float> logits;  // [rows, V]: all T rows, or the last 4 (mamba-neox)
    std::int64_t logit_rows = 0;
    std::vector<std::int64_t> argmax;  // every row (tokenizer cases)
    std::vector<float> hidden;         // [L+1, T, D]
    std::vector<std::int64_t> hidden_shape;
    std::vector<std::int32_t> greedy;
    nlohmann::json meta;
};

Golden load_golden(const std::string& name) {
    Golden g;
    auto file = SafetensorsFile::open(kGolden / name / "golden.safetensors");
    for (auto id : file.find("input_ids")->to_i64())
        g.input_ids.push_back(static_cast<std::int32_t>(id));
    const TensorInfo* logits = file.find("logits");
    g.logits = logits->to_f32();
    g.logit_rows = logits->shape[0];
    if (const TensorInfo* am = file.find("logits_argmax")) g.argmax = am->to_i64();
    const TensorInfo* hidden = file.find("hidden_states");
    g.hidden = hidden->to_f32();
    g.hidden_shape = hidden->shape;
    for (auto id : file.find("greedy_ids")->to_i64())
        g.greedy.push_back(static_cast<std::int32_t>(id));
    std::ifstream in(kGolden / name / "golden.json");
    g.meta = nlohmann::json::parse(in);
    return g;
}

// Records the residual stream entering each layer and after the final norm.
class ResidualRecorder : public Observer {
  public:
    bool wants(std::string_view point) const override {
        return point.ends_with(".resid_post") || point.ends_with(".resid_pre") ||
               point == "final_norm";
    }
    void on_capture(const Capture& c, kernels::Backend& backend) override {
        std::vector<float> host(std::size_t(c.shape[0] * c.shape[1]));
        backend.copy_to_host(c.data, host.data(), host.size() * sizeof(float));
        captures[std::string(c.point)] = std::move(host);
    }
    std::map<std::string, std::vector<float>> captures;
};

using GoldenParam = test::ModelBackendParam;

class GoldenModel : public test::ModelOnBackend {
  protected:
    void SetUp() override {
        test::ModelOnBackend::SetUp();
        if (IsSkipped()) return;
        golden_ = load_golden(std::get<0>(GetParam()));
    }
    // Compares logits rows for positions [first, T) against the reference rows that exist.
    void expect_rows_match(const std::vector<float>& logits, std::int64_t first,
                           const std::string& what) {
        const std::int64_t V = model_->spec().vocab_size,
                           T = std::int64_t(golden_.input_ids.size());
        const std::int64_t ref_first = T - golden_.logit_rows;
        for (std::int64_t t = std::max(first, ref_first); t < T; ++t) {
            const float* got = logits.data() + (t - first) * V;
            const float* want = golden_.logits.data() + (t - ref_first) * V;
            // 1e-4: the golden README's bound for an fp32 engine against the float64 reference.
            EXPECT_LE(row_rel_error(got, want, V), 1e-4) << what << ", position " << t;
        }
        for (std::int64_t t = first; t < std::int64_t(golden_.argmax.size()); ++t) {
            std::span<const float> row(logits.data() + (t - first) * V, std::size_t(V));
            EXPECT_EQ(argmax(row), golden_.argmax[t]) << what << ", argmax at position " << t;
        }
    }
    Golden golden_;
};

TEST_P(GoldenModel, OnePassLogitsMatch) {
    Sequence seq(*model_);
    std::vector<float> logits;
    model_->forward(seq, golden_.input_ids, LogitRows::All, &logits);
    ASSERT_EQ(logits.size(), golden_.input_ids.size() * std::size_t(model_->spec().vocab_size));
    expect_rows_match(logits, 0, "one pass");
    // The worst row for the record (the report quotes it).
    const std::int64_t V = model_->spec().vocab_size, T = std::int64_t(golden_.input_ids.size());
    double worst = 0;
    for (std::int64_t t = T - golden_.logit_rows; t < T; ++t)
        worst = std::max(
            worst, row_rel_error(logits.data() + t * V,
                                 golden_.logits.data() + (t - (T - golden_.logit_rows)) * V, V));
    std::printf("[golden] %s on %s: one-pass worst row relative error %.3g\n",
                std::get<0>(GetParam()).c_str(), std::get<1>(GetParam()).c_str(), worst);
    EXPECT_EQ(seq.position(), std::int64_t(golden_.input_ids.size()));
}

TEST_P(GoldenModel, IncrementalDecodeMatchesOnePass) {
    const std::int64_t T = std::int64_t(golden_.input_ids.size());
    std::set<std::int64_t> prefixes = {1, 2, 3, T / 3, T / 2, T - 5, T - 1};
    for (std::int64_t P : prefixes) {
        if (P < 1 || P >= T) continue;
        Sequence seq(*model_);
        std::vector<float> all, rows;
        std::span<const std::int32_t> ids(golden_.input_ids);
        model_->forward(seq, ids.first(std::size_t(P)), LogitRows::All, &all);
        for (std::int64_t t = P; t < T; ++t) {
            model_->forward(seq, ids.subspan(std::size_t(t), 1), LogitRows::Last, &rows);
            all.insert(all.end(), rows.begin(), rows.end());
        }
        expect_rows_match(all, 0, "prefill " + std::to_string(P) + " then decode");
    }
}

TEST_P(GoldenModel, ChunkedPrefillAndSnapshotsMatch) {
    const std::int64_t T = std::int64_t(golden_.input_ids.size());
    const std::int64_t V = model_->spec().vocab_size;
    Sequence seq(*model_);
    std::vector<float> last;
    std::int64_t calls = 0;
    std::int64_t reported = 0;
    ASSERT_TRUE(model_->prefill(
        seq, golden_.input_ids, 7,
        [&](std::int64_t done, std::int64_t total) {
            EXPECT_EQ(total, T);
            EXPECT_GT(done, reported);
            reported = done;
            ++calls;
            return true;
        },
        &last));
    EXPECT_EQ(calls, (T + 6) / 7);
    EXPECT_EQ(reported, T);
    ASSERT_EQ(last.size(), std::size_t(V));
    expect_rows_match(last, T - 1, "chunked prefill (7 tokens per chunk), last row");

    // Cancelling after the first chunk leaves the sequence after that chunk.
    Sequence stopped(*model_);
    EXPECT_FALSE(model_->prefill(
        stopped, golden_.input_ids, 7, [](std::int64_t, std::int64_t) { return false; }, nullptr));
    EXPECT_EQ(stopped.position(), std::min<std::int64_t>(7, T));

    // Restoring a snapshot taken after P tokens and feeding the rest equals the one-pass rows.
    const std::int64_t P = T / 2;
    Sequence a(*model_);
    std::span<const std::int32_t> ids(golden_.input_ids);
    model_->forward(a, ids.first(std::size_t(P)), LogitRows::None, nullptr);
    SequenceSnapshot snap = a.snapshot();
    model_->forward(a, ids.subspan(std::size_t(P)), LogitRows::None,
                    nullptr);  // move on, then go back
    a.restore(snap);
    EXPECT_EQ(a.position(), P);
    std::vector<float> rest;
    model_->forward(a, ids.subspan(std::size_t(P)), LogitRows::All, &rest);
    expect_rows_match(rest, P, "after restoring a snapshot at " + std::to_string(P));
}

TEST_P(GoldenModel, ResidualStreamMatchesHiddenStates) {
    ResidualRecorder rec;
    model_->add_observer(&rec);
    Sequence seq(*model_);
    model_->forward(seq, golden_.input_ids, LogitRows::All, nullptr);
    model_->remove_observer(&rec);
    const std::int64_t L = model_->spec().n_layers(), T = golden_.hidden_shape[1],
                       D = golden_.hidden_shape[2];
    ASSERT_EQ(golden_.hidden_shape[0], L + 1);
    ASSERT_EQ(T, std::int64_t(golden_.input_ids.size()));
    // transformers' Mamba models record each layer's output (not the embedding): hidden_states[i]
    // leaves layer i for i < L. The Transformer-style models (llama, qwen3 and the hybrids) record
    // the embedding first: hidden_states[i] enters layer i. In both the last entry is the final
    // norm's output.
    const std::string type = model_->spec().model_type;
    const bool mamba_style = type == "mamba" || type == "falcon_mamba" || type == "mamba2";
    for (std::int64_t i = 0; i <= L; ++i) {
        const std::string point = i == L        ? "final_norm"
                                  : mamba_style ? "layer." + std::to_string(i) + ".resid_post"
                                                : "layer." + std::to_string(i) + ".resid_pre";
        ASSERT_TRUE(rec.captures.count(point)) << point;
        const auto& got = rec.captures[point];
        for (std::int64_t t = 0; t < T; ++t) {
            const float* want = golden_.hidden.data() + (i * T + t) * D;
            EXPECT_LE(row_rel_error(got.data() + t * D, want, D), 1e-4)
                << point << " position " << t;
        }
    }
}

TEST_P(GoldenModel, GreedyIdsMatch) {
    Sequence seq(*model_);
    GenerateOptions opts;
    opts.max_new_tokens = std::int64_t(golden_.greedy.size());
    opts.stop_ids = model_->spec().eos_token_ids;
    std::vector<std::int32_t> out;
    generate_greedy(*model_, seq, golden_.input_ids, opts, nullptr, &out);
    EXPECT_EQ(out, golden_.greedy);
}

// The backend's argmax of a step (what greedy decoding on a device copies back) equals the host
// argmax of the same step's logits, through prefill and decode steps (recorded ones included).
TEST_P(GoldenModel, ForwardArgmaxMatchesHostArgmax) {
    const std::int64_t T = std::int64_t(golden_.input_ids.size());
    std::span<const std::int32_t> ids(golden_.input_ids);
    Sequence a(*model_), b(*model_);
    std::vector<float> logits;
    const std::int64_t P = T / 2;
    model_->forward(a, ids.first(std::size_t(P)), LogitRows::Last, &logits);
    EXPECT_EQ(model_->forward_argmax(b, ids.first(std::size_t(P))), argmax(logits));
    for (std::int64_t t = P; t < T; ++t) {
        model_->forward(a, ids.subspan(std::size_t(t), 1), LogitRows::Last, &logits);
        EXPECT_EQ(model_->forward_argmax(b, ids.subspan(std::size_t(t), 1)), argmax(logits))
            << "position " << t;
    }
    EXPECT_EQ(b.position(), T);
}

const auto golden_param_name = test::model_backend_name;

// Weights rounded to bf16 at load (--dtype bf16) against the same fp32-weight reference: the
// rounding of every weight (2^-9 relative) and, on CUDA, of the matmul inputs for the tensor cores
// (T > 8) move the logits by about 1e-2 of their scale. Bounds:
// - every reference row within 2e-2 (row_rel_error); zamba2 within 8e-2: its shared transformer
//   block runs at every hybrid layer, so its rounding compounds (3.9e-2 on the CPU backend, 6.1e-2
//   on CUDA on the H200 at b32443c, where fp32 weights give 4.5e-6: the gap is bf16 rounding, not a
//   wrong op);
// - the argmax of at least 95% of the rows unchanged. 99% would allow no flip at all in 64 rows,
//   and the CPU backend itself flips 1 or 2 near-tie rows of 64 on six of these tiny random
//   models (697 of 704 rows agree over all eleven), so a per-model 99% would fail on the
//   reference backend too.
class GoldenBf16 : public ::testing::TestWithParam<GoldenParam> {};

TEST_P(GoldenBf16, LogitsWithinBf16Bounds) {
    const auto& [name, backend_name] = GetParam();
    std::unique_ptr<kernels::Backend> backend;
    try {
        backend = make_backend(backend_name);
    } catch (const Error& e) {
        GTEST_SKIP() << e.what();
    }
    LoadOptions bf16;
    bf16.weight_dtype = kernels::DType::BF16;
    auto model = Model::load(kGolden / name, *backend, bf16);
    const Golden golden = load_golden(name);
    Sequence seq(*model);
    std::vector<float> logits;
    model->forward(seq, golden.input_ids, LogitRows::All, &logits);
    const std::int64_t V = model->spec().vocab_size, T = std::int64_t(golden.input_ids.size());
    const std::int64_t first = T - golden.logit_rows;
    const double bound = name == "zamba2-tiny" ? 8e-2 : 2e-2;
    double worst = 0;
    std::int64_t agree = 0;
    for (std::int64_t t = first; t < T; ++t) {
        const float* got = logits.data() + t * V;
        const float* want = golden.logits.data() + (t - first) * V;
        const double err = row_rel_error(got, want, V);
        worst = std::max(worst, err);
        EXPECT_LE(err, bound) << name << " bf16 on " << backend_name << ", position " << t;
        agree += argmax(std::span<const float>(got, std::size_t(V))) ==
                 argmax(std::span<const float>(want, std::size_t(V)));
    }
    const double share = double(agree) / double(golden.logit_rows);
    EXPECT_GE(share, 0.95) << name << " bf16 on " << backend_name << ": argmax of " << agree
                           << " of " << golden.logit_rows << " rows unchanged";
    std::printf(
        "[golden-bf16] %s on %s: worst row relative error %.3g (bound %.0e), argmax "
        "agreement %lld/%lld\n",
        name.c_str(), backend_name.c_str(), worst, bound, (long long)agree,
        (long long)golden.logit_rows);
}

// Every model_type on both backends (cuda skips with its reason where there is no GPU).
INSTANTIATE_TEST_SUITE_P(Golden, GoldenModel,
                         ::testing::Combine(::testing::Values("mamba-tiny", "falcon_mamba-tiny",
                                                              "mamba2-tiny", "mamba-neox"),
                                            ::testing::Values("cpu", "cuda")),
                         golden_param_name);
INSTANTIATE_TEST_SUITE_P(
    GoldenHybrid, GoldenModel,
    ::testing::Combine(::testing::Values("llama-tiny", "qwen3-tiny", "bamba-tiny", "zamba2-tiny",
                                         "nemotron_h-tiny", "granitemoehybrid-tiny", "jamba-tiny",
                                         "falcon_h1-tiny"),
                       ::testing::Values("cpu", "cuda")),
    golden_param_name);
INSTANTIATE_TEST_SUITE_P(
    Golden, GoldenBf16,
    ::testing::Combine(::testing::Values("mamba-tiny", "falcon_mamba-tiny", "mamba2-tiny",
                                         "llama-tiny", "qwen3-tiny", "bamba-tiny", "zamba2-tiny",
                                         "nemotron_h-tiny", "granitemoehybrid-tiny", "jamba-tiny",
                                         "falcon_h1-tiny"),
                       ::testing::Values("cpu", "cuda")),
    golden_param_name);

}  // namespace
}  // namespace statescope
