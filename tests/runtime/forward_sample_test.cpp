// Model::forward_sample (the backend draws the token) against forward() + Sampler::sample (the host
// draws from the copied logits row), for every golden model_type on every backend of the build
// (cuda skips with its reason where there is no GPU): the same prompt and seed in two sequences,
// then decode steps where both paths must pick the same token, with penalties, temperature and
// every truncation on, and greedy with a repetition penalty.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "core/runtime/model.h"
#include "core/runtime/sampler.h"
#include "core/runtime/sequence.h"
#include "tests/runtime/golden_fixture.h"

namespace statescope {
namespace {

using ForwardSample = test::ModelOnBackend;

void expect_same_tokens(Model& model, const SamplerSettings& settings, int steps) {
    const std::int64_t V = model.spec().vocab_size;
    std::mt19937 rng(11);
    std::uniform_int_distribution<std::int32_t> pick(0, std::int32_t(V - 1));
    std::vector<std::int32_t> prompt(9);
    for (auto& t : prompt) t = pick(rng);
    Sequence host_seq(model), dev_seq(model);
    std::vector<float> logits;
    model.forward(host_seq, prompt, LogitRows::Last, &logits);
    model.forward(dev_seq, prompt, LogitRows::None, nullptr);
    Sampler host(settings), dev(settings);
    std::vector<std::int32_t> history = prompt;
    std::int32_t next = host.sample(logits, history);
    dev.next(history, V);  // the draw the host made for the prompt's token: keep the streams level
    for (int k = 0; k < steps; ++k) {
        history.push_back(next);
        const std::int32_t ids[1] = {next};
        const Sampler::Step step = dev.next(history, V);
        const std::int32_t on_backend =
            model.forward_sample(dev_seq, ids, dev.params(), step.penalties(), step.u);
        model.forward(host_seq, ids, LogitRows::Last, &logits);
        const std::int32_t on_host = host.sample(logits, history);
        ASSERT_EQ(on_backend, on_host) << "step " << k << " u " << step.u;
        next = on_host;
    }
}

TEST_P(ForwardSample, SameTokensAsTheHostSampler) {
    SamplerSettings s;
    s.temperature = 0.9f;
    s.top_k = 40;
    s.top_p = 0.9f;
    s.min_p = 0.02f;
    s.repetition_penalty = 1.2f;
    s.presence_penalty = 0.1f;
    s.frequency_penalty = 0.05f;
    s.penalty_last_n = 16;
    s.seed = 5;
    expect_same_tokens(*model_, s, 12);
    s.top_k = 0;  // the whole vocabulary ranked
    s.min_p = 0.0f;
    expect_same_tokens(*model_, s, 6);
}

TEST_P(ForwardSample, GreedyWithARepetitionPenalty) {
    SamplerSettings s;
    s.repetition_penalty = 1.5f;
    s.penalty_last_n = -1;
    expect_same_tokens(*model_, s, 8);
}

INSTANTIATE_TEST_SUITE_P(Golden, ForwardSample,
                         ::testing::Combine(::testing::ValuesIn(test::golden_models()),
                                            ::testing::Values("cpu", "cuda")),
                         test::model_backend_name);

}  // namespace
}  // namespace statescope
