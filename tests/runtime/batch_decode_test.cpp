// Model::forward_batch (the batched decode step) against one forward() per sequence, for every
// model_type in tests/data/golden (every folder there, so a new golden case is covered without an
// edit here), on every backend of the build (cuda skips with its reason where there is no GPU):
// three sequences prefilled separately with prompts of different lengths, then decode steps of all
// three in one call; B = 1 against forward(); and every argument error.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "core/error.h"
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

// Batched rows against one-sequence rows: the same fp32 ops on the same state, except that the
// matmuls see B rows instead of 1. Where a backend computes each row the same way at any row count
// the two agree bit for bit (measured: 0 on the CPU backend at B = 3 for every model here, its
// streaming matmul serving T < 32 alike); where the row count picks another kernel (CPU sgemm from
// 32 rows, CUDA cuBLASLt from 9, the MoE's expert matmuls over other gatherings of rows) the sum
// order of each dot product changes: a few ulp (~1e-7) of a row's scale per matmul, compounded
// over the layers of these tiny models. 1e-5 of the row's max |logit| leaves two orders of
// magnitude for that and still fails on any wrong state, position or row (those move logits by
// 1e-2 of their scale or more).
constexpr double kBatchTol = 1e-5;

std::vector<std::int32_t> random_prompt(std::mt19937& rng, std::int64_t n, std::int64_t V) {
    std::uniform_int_distribution<std::int32_t> id(0, std::int32_t(V - 1));
    std::vector<std::int32_t> out(static_cast<std::size_t>(n));
    for (auto& t : out) t = id(rng);
    return out;
}

using BatchDecode = test::ModelOnBackend;

TEST_P(BatchDecode, MatchesForwardPerSequence) {
    const std::int64_t V = model_->spec().vocab_size;
    constexpr int kB = 3, kSteps = 4;
    const std::int64_t lengths[kB] = {5, 9, 2};
    std::mt19937 rng(7);
    // batched: the batched step; single: forward() per sequence; greedy: forward_batch_argmax.
    std::vector<std::unique_ptr<Sequence>> batched, single, greedy;
    std::vector<std::int32_t> next(kB);
    for (int r = 0; r < kB; ++r) {
        const auto prompt = random_prompt(rng, lengths[r], V);
        std::vector<float> last;
        for (auto* set : {&batched, &single, &greedy}) {
            set->push_back(std::make_unique<Sequence>(*model_));
            model_->forward(*set->back(), prompt, LogitRows::Last, &last);
        }
        next[std::size_t(r)] = argmax(last);
    }
    auto ptrs = [](std::vector<std::unique_ptr<Sequence>>& set) {
        std::vector<Sequence*> p;
        for (auto& s : set) p.push_back(s.get());
        return p;
    };
    const std::vector<Sequence*> b_seqs = ptrs(batched), g_seqs = ptrs(greedy);
    double worst = 0;
    for (int step = 0; step < kSteps; ++step) {
        std::vector<float> rows;
        model_->forward_batch(b_seqs, next, &rows);
        ASSERT_EQ(rows.size(), std::size_t(kB * V));
        std::vector<std::int32_t> ids(kB, -1);
        model_->forward_batch_argmax(g_seqs, next, ids);
        for (int r = 0; r < kB; ++r) {
            std::vector<float> want;
            model_->forward(*single[std::size_t(r)],
                            std::span<const std::int32_t>(&next[std::size_t(r)], 1),
                            LogitRows::Last, &want);
            const float* got = rows.data() + r * V;
            const double err = row_rel_error(got, want.data(), V);
            worst = std::max(worst, err);
            EXPECT_LE(err, kBatchTol) << "step " << step << ", sequence " << r;
            // The same batched step on the same states: the backend's argmax of those very logits.
            EXPECT_EQ(ids[std::size_t(r)], argmax(std::span<const float>(got, std::size_t(V))))
                << "step " << step << ", sequence " << r;
        }
        // Follow the one-sequence greedy choice so that every set sees the same tokens.
        for (int r = 0; r < kB; ++r)
            next[std::size_t(r)] =
                argmax(std::span<const float>(rows.data() + r * V, std::size_t(V)));
    }
    std::printf("[batch-decode] %s on %s: worst row relative error %.3g (tol %.0e)\n",
                std::get<0>(GetParam()).c_str(), std::get<1>(GetParam()).c_str(), worst, kBatchTol);
    for (int r = 0; r < kB; ++r) {
        EXPECT_EQ(batched[std::size_t(r)]->position(), lengths[r] + kSteps);
        EXPECT_EQ(greedy[std::size_t(r)]->position(), lengths[r] + kSteps);
    }
}

// B = 1 is forward() of that one token: the same ops on the same rows, so the same bits. Op by op:
// the recordable step reads positions and experts on the device, other kernels with other sum
// orders (decode_graph_test.cpp compares it).
TEST_P(BatchDecode, OneSequenceEqualsForward) {
    const std::int64_t V = model_->spec().vocab_size;
    model_->set_decode_path(DecodePath::OpByOp);
    std::mt19937 rng(11);
    const auto prompt = random_prompt(rng, 6, V);
    Sequence a(*model_), b(*model_);
    std::vector<float> last;
    model_->forward(a, prompt, LogitRows::Last, &last);
    model_->forward(b, prompt, LogitRows::Last, nullptr);
    std::int32_t id = argmax(last);
    for (int step = 0; step < 3; ++step) {
        Sequence* const one[] = {&a};
        std::vector<float> got, want;
        model_->forward_batch(one, std::span<const std::int32_t>(&id, 1), &got);
        model_->forward(b, std::span<const std::int32_t>(&id, 1), LogitRows::Last, &want);
        ASSERT_EQ(got.size(), want.size());
        EXPECT_EQ(row_rel_error(got.data(), want.data(), V), 0.0) << "step " << step;
        id = argmax(want);
    }
    EXPECT_EQ(a.position(), b.position());
}

INSTANTIATE_TEST_SUITE_P(Golden, BatchDecode,
                         ::testing::Combine(::testing::ValuesIn(test::golden_models()),
                                            ::testing::Values("cpu", "cuda")),
                         test::model_backend_name);

// Expects `f` to throw an Error whose message contains `words`.
void expect_error(const std::function<void()>& f, const std::string& words) {
    try {
        f();
        ADD_FAILURE() << "no error; expected one mentioning \"" << words << "\"";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
}

class NullObserver : public Observer {
  public:
    bool wants(std::string_view) const override { return false; }
    void on_capture(const Capture&, kernels::Backend&) override {}
};

TEST(BatchDecodeErrors, EachBadCallThrowsAndLeavesTheSequencesAsTheyWere) {
    auto backend = make_backend("cpu");
    auto model = Model::load(kGolden / "mamba-tiny", *backend);
    auto other = Model::load(kGolden / "mamba-tiny", *backend);
    const std::int32_t V = std::int32_t(model->spec().vocab_size);
    const std::vector<std::int32_t> prompt = {1, 2, 3};
    Sequence a(*model), b(*model), fresh(*model), foreign(*other);
    model->forward(a, prompt, LogitRows::None, nullptr);
    model->forward(b, prompt, LogitRows::None, nullptr);
    other->forward(foreign, prompt, LogitRows::None, nullptr);
    std::vector<float> logits;
    std::vector<std::int32_t> out(2);
    const std::vector<std::int32_t> two = {4, 5}, one = {4};

    expect_error([&] { model->forward_batch({}, {}, &logits); }, "no sequences");
    {
        std::vector<Sequence*> s = {&a, &b};
        expect_error([&] { model->forward_batch(s, one, &logits); }, "1 token ids for 2");
        std::vector<std::int32_t> three(3);
        expect_error([&] { model->forward_batch_argmax(s, two, three); }, "room for 3 ids");
        expect_error(
            [&] {
                model->forward_batch(s, std::vector<std::int32_t>{4, V}, &logits);
            },
            "outside the model's vocabulary");
        expect_error(
            [&] {
                model->forward_batch(s, std::vector<std::int32_t>{-1, 4}, &logits);
            },
            "outside the model's vocabulary");
    }
    {
        std::vector<Sequence*> s = {&a, &a};
        expect_error([&] { model->forward_batch(s, two, &logits); }, "same sequence");
    }
    {
        std::vector<Sequence*> s = {&a, &foreign};
        expect_error([&] { model->forward_batch(s, two, &logits); }, "another model");
    }
    {
        std::vector<Sequence*> s = {&a, &fresh};
        expect_error([&] { model->forward_batch_argmax(s, two, out); }, "prefill it");
    }
    {
        std::vector<Sequence*> s = {&a, nullptr};
        expect_error([&] { model->forward_batch(s, two, &logits); }, "null");
    }
    {
        NullObserver obs;
        model->add_observer(&obs);
        std::vector<Sequence*> s = {&a, &b};
        expect_error([&] { model->forward_batch(s, two, &logits); }, "observers");
        model->remove_observer(&obs);
    }
    EXPECT_EQ(a.position(), 3);
    EXPECT_EQ(b.position(), 3);
    EXPECT_EQ(fresh.position(), 0);
    // and a good call still runs after them
    std::vector<Sequence*> s = {&a, &b};
    model->forward_batch_argmax(s, two, out);
    EXPECT_EQ(a.position(), 4);
    EXPECT_EQ(b.position(), 4);
}

}  // namespace
}  // namespace statescope
