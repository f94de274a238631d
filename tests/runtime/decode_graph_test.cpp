// The recordable decode step (Model's DecodePath) against the op-by-op step, for every model_type
// in tests/data/golden on every backend of the build (cuda skips with its reason where there is no
// GPU): the same prompt on two loads of the model, then decode steps fed the same tokens, across
// the point where the KV caches grow (a prompt of 58 tokens holds 64 rows; the step at position 64
// grows them to 128, which moves them and must record the step again).
// - CaptureSafe: the ops a recording holds (positions from backend memory, MoE experts chosen on
//   the device), run op by op: on the CPU this is where rope_at / write_rows_at / attention_at /
//   moe_experts run inside a model.
// - Recorded: on CUDA the step is recorded and replayed (the replay counter must show it, after the
//   caches grew too); on the CPU, which cannot record, it is the op-by-op step.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "core/runtime/generate.h"
#include "core/runtime/model.h"
#include "core/runtime/sequence.h"
#include "tests/runtime/golden_fixture.h"

namespace statescope {
namespace {

using test::row_rel_error;

// The recorded step runs other kernels than the op-by-op one where positions and experts are read
// on the device: attention's split-K is sized by the cache capacity instead of the position (other
// partial sums, merged in another order), and the MoE experts are summed per token in selection
// order by the indexed GEMV rather than per expert through the grouped matmuls. Both are a few ulp
// of a row per layer; 1e-5 of the row's max |logit| (the bound of the batched step, measured
// differences of that kind are 1e-7..1e-6 on these tiny models) and still fails on any wrong
// position, cache row or expert (1e-2 of the scale or more).
constexpr double kTol = 1e-5;
constexpr std::int64_t kPrompt = 58, kSteps = 12;

std::vector<std::string> golden_models() {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(test::golden_dir(), ec))
        if (e.is_directory() && std::filesystem::exists(e.path() / "config.json"))
            names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

class DecodeGraph : public test::ModelOnBackend {
  protected:
    struct Run {
        double worst = 0;
        std::int64_t replays = 0;                  // replays during the decode steps
        std::int64_t replays_after_growth = 0;     // ... at positions past the KV growth
        std::int64_t kv_before = 0, kv_after = 0;  // the test sequence's largest KV capacity
    };

    static std::int64_t kv_capacity(Sequence& s, std::size_t layers) {
        std::int64_t cap = 0;
        for (std::size_t i = 0; i < layers; ++i) cap = std::max(cap, s.layer(i).kv_capacity);
        return cap;
    }

    // model_ op by op (the reference) and a second load on `path`, fed the reference's greedy ids.
    Run compare(DecodePath path) {
        const auto& [name, backend_name] = GetParam();
        auto tested = Model::load(test::golden_dir() / name, *backend_);
        model_->set_decode_path(DecodePath::OpByOp);
        tested->set_decode_path(path);
        const std::int64_t V = model_->spec().vocab_size;
        const std::size_t layers = model_->kv_layout().size();
        std::mt19937 rng(5);
        std::uniform_int_distribution<std::int32_t> id(0, std::int32_t(V - 1));
        std::vector<std::int32_t> prompt(kPrompt);
        for (auto& t : prompt) t = id(rng);
        Sequence ref(*model_), seq(*tested);
        std::vector<float> want, got;
        model_->forward(ref, prompt, LogitRows::Last, &want);
        tested->forward(seq, prompt, LogitRows::Last, &got);
        Run run;
        run.kv_before = kv_capacity(seq, layers);
        const std::int64_t replays0 = tested->decode_replays();
        std::int32_t next = argmax(want);
        for (std::int64_t step = 0; step < kSteps; ++step) {
            const std::int64_t pos = seq.position();
            const std::int64_t before = tested->decode_replays();
            model_->forward(ref, std::span<const std::int32_t>(&next, 1), LogitRows::Last, &want);
            tested->forward(seq, std::span<const std::int32_t>(&next, 1), LogitRows::Last, &got);
            EXPECT_EQ(got.size(), std::size_t(V));
            EXPECT_EQ(want.size(), std::size_t(V));
            if (got.size() != want.size() || want.empty()) break;
            const double err = row_rel_error(got.data(), want.data(), V);
            run.worst = std::max(run.worst, err);
            EXPECT_LE(err, kTol) << name << " step " << step << " (position " << pos << ")";
            if (pos > run.kv_before && tested->decode_replays() > before)
                ++run.replays_after_growth;
            next = argmax(want);
        }
        run.replays = tested->decode_replays() - replays0;
        run.kv_after = kv_capacity(seq, layers);
        EXPECT_EQ(seq.position(), kPrompt + kSteps);
        std::printf(
            "[decode-graph] %s on %s, path %d: worst row relative error %.3g (tol %.0e), "
            "%lld replays (%lld past the KV growth), KV capacity %lld -> %lld\n",
            name.c_str(), backend_name.c_str(), int(path), run.worst, kTol, (long long)run.replays,
            (long long)run.replays_after_growth, (long long)run.kv_before, (long long)run.kv_after);
        return run;
    }

    bool has_kv() const {
        for (std::int64_t w : model_->kv_layout())
            if (w > 0) return true;
        return false;
    }
};

// Every golden model_type (pure SSMs, hybrids with attention and MoE, the transformers) is
// recordable: every mixer capture-safe.
TEST_P(DecodeGraph, EveryMixerIsCaptureSafe) {
    EXPECT_TRUE(model_->decode_recordable()) << std::get<0>(GetParam());
}

TEST_P(DecodeGraph, CaptureSafeStepMatchesOpByOp) {
    const Run run = compare(DecodePath::CaptureSafe);
    EXPECT_EQ(run.replays, 0);  // run op by op, never replayed
    if (has_kv()) {
        EXPECT_GT(run.kv_after, run.kv_before) << "the decode should cross a KV-cache growth";
        EXPECT_LT(run.kv_before, kPrompt + kSteps);
    }
}

TEST_P(DecodeGraph, RecordedStepMatchesOpByOp) {
    const Run run = compare(DecodePath::Recorded);
    if (!backend_->can_record()) {
        EXPECT_EQ(run.replays, 0) << "a backend that cannot record runs op by op";
        return;
    }
    // The first step after the prompt runs op by op (its key is new), the second records and
    // replays, the rest replay; the step that grows the caches and the one after (which records
    // again) are the only other ones not replayed.
    EXPECT_GE(run.replays, kSteps - 4) << "the recorded step was not used";
    if (has_kv()) {
        EXPECT_GT(run.kv_after, run.kv_before) << "the decode should cross a KV-cache growth";
        EXPECT_GT(run.replays_after_growth, 0)
            << "no replay after the KV caches grew: the step was not recorded again";
    }
}

// STATESCOPE_DECODE_GRAPH=0 at load selects the op-by-op step.
TEST_P(DecodeGraph, EnvironmentTurnsRecordingOff) {
    ::setenv("STATESCOPE_DECODE_GRAPH", "0", 1);
    auto off = Model::load(test::golden_dir() / std::get<0>(GetParam()), *backend_);
    ::unsetenv("STATESCOPE_DECODE_GRAPH");
    EXPECT_EQ(off->decode_path(), DecodePath::OpByOp);
}

INSTANTIATE_TEST_SUITE_P(Golden, DecodeGraph,
                         ::testing::Combine(::testing::ValuesIn(golden_models()),
                                            ::testing::Values("cpu", "cuda")),
                         test::model_backend_name);

}  // namespace
}  // namespace statescope
