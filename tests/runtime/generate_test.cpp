// Generation stops: on an eos id, on a stop string that straddles tokens (the reply is cut before
// it), and when the token callback says so.
#include <gtest/gtest.h>

#include "core/model/safetensors.h"
#include "core/runtime/backends.h"
#include "core/runtime/generate.h"
#include "core/runtime/model.h"
#include "core/runtime/sequence.h"
#include "core/tokenizer/tokenizer.h"
#include "tests/runtime/neox_fixture.h"

namespace statescope {
namespace {

std::vector<std::int32_t> ids_of(const SafetensorsFile& f, const char* name) {
    std::vector<std::int32_t> out;
    for (auto v : f.find(name)->to_i64()) out.push_back(std::int32_t(v));
    return out;
}

class Generate : public test::NeoxModelTest {
  protected:
    void SetUp() override {
        NeoxModelTest::SetUp();
        auto g = SafetensorsFile::open(neox_dir() / "golden.safetensors");
        prompt_ = ids_of(g, "input_ids");
        greedy_ = ids_of(g, "greedy_ids");
    }
    GenerateOptions options(std::int64_t n) {
        GenerateOptions o;
        o.max_new_tokens = n;
        o.detokenize = [this](std::span<const std::int32_t> ids) { return tok_->decode(ids); };
        return o;
    }
    std::vector<std::int32_t> prompt_, greedy_;
};

TEST_F(Generate, StopsOnEosAndReturnsIt) {
    auto o = options(20);
    o.stop_ids = {7, greedy_[2]};  // a list, as generation_config.json may hold
    const auto first = std::find(greedy_.begin(), greedy_.end(), greedy_[2]) - greedy_.begin();
    Sequence seq(*model_);
    std::vector<std::int32_t> out;
    auto stats = generate(*model_, seq, prompt_, o, nullptr, &out);
    EXPECT_EQ(stats.stop, StopReason::Eos);
    EXPECT_EQ(out, std::vector<std::int32_t>(greedy_.begin(), greedy_.begin() + first + 1));
}

TEST_F(Generate, StopStringAcrossTokenBoundaries) {
    const std::string full = tok_->decode(greedy_);
    // A stop string made of the end of one token and the start of the next.
    const std::string first = tok_->decode(std::span(greedy_).first(1));
    ASSERT_GE(first.size(), 2u);
    const std::string stop = first.substr(first.size() - 2) + full.substr(first.size(), 2);
    ASSERT_NE(full.find(stop), std::string::npos);
    auto o = options(20);
    o.stop_strings = {"never appears", stop};
    Sequence seq(*model_);
    std::vector<std::int32_t> out;
    auto stats = generate(*model_, seq, prompt_, o, nullptr, &out);
    EXPECT_EQ(stats.stop, StopReason::StopString);
    EXPECT_EQ(stats.text, full.substr(0, full.find(stop)));
    // It stopped at the first token whose text completes the stop string.
    EXPECT_NE(tok_->decode(out).find(stop), std::string::npos);
    EXPECT_EQ(tok_->decode(std::span(out).first(out.size() - 1)).find(stop), std::string::npos);
}

TEST_F(Generate, StreamedTextStopsBeforeAStopStringSpanningTokens) {
    const std::string full = tok_->decode(greedy_);
    const std::string first = tok_->decode(std::span(greedy_).first(1));
    ASSERT_GE(first.size(), 2u);
    const std::string stop = first.substr(first.size() - 2) + full.substr(first.size(), 2);
    auto o = options(20);
    o.stop_strings = {stop};
    std::vector<std::string> pieces;
    o.on_text = [&](std::string_view piece) { pieces.emplace_back(piece); };
    Sequence seq(*model_);
    std::vector<std::int32_t> out;
    auto stats = generate(*model_, seq, prompt_, o, nullptr, &out);
    std::string streamed;
    for (const auto& p : pieces) streamed += p;
    EXPECT_EQ(stats.stop, StopReason::StopString);
    EXPECT_EQ(streamed, full.substr(0, full.find(stop)));
    EXPECT_EQ(streamed, stats.text);
    // Without stop strings the stream is the whole decoded reply.
    auto plain = options(std::int64_t(greedy_.size()));
    std::string all;
    plain.on_text = [&](std::string_view piece) { all += piece; };
    Sequence seq2(*model_);
    auto stats2 = generate(*model_, seq2, prompt_, plain, nullptr, nullptr);
    EXPECT_EQ(all, full);
    EXPECT_EQ(stats2.text, full);
}

TEST_F(Generate, EosEndsTheStreamWithItsText) {
    auto o = options(20);
    o.stop_ids = {greedy_[3]};
    const auto first = std::find(greedy_.begin(), greedy_.end(), greedy_[3]) - greedy_.begin();
    std::string streamed;
    o.on_text = [&](std::string_view piece) { streamed += piece; };
    Sequence seq(*model_);
    auto stats = generate(*model_, seq, prompt_, o, nullptr, nullptr);
    EXPECT_EQ(stats.stop, StopReason::Eos);
    EXPECT_EQ(streamed, tok_->decode(std::span(greedy_).first(std::size_t(first) + 1)));
}

TEST_F(Generate, CallbackStopsBetweenTokens) {
    auto o = options(20);
    int calls = 0;
    Sequence seq(*model_);
    std::vector<std::int32_t> out;
    auto stats = generate(
        *model_, seq, prompt_, o, [&](std::int32_t) { return ++calls < 3; }, &out);
    EXPECT_EQ(stats.stop, StopReason::Cancelled);
    EXPECT_EQ(out.size(), 3u);
    EXPECT_EQ(stats.generated_tokens, 3);
    EXPECT_EQ(seq.position(), std::int64_t(prompt_.size()) + 2);  // the last token is not fed
}

TEST_F(Generate, CancelledPrefillGeneratesNothing) {
    auto o = options(5);
    o.prefill_chunk = 8;
    o.prefill_progress = [](std::int64_t done, std::int64_t) { return done < 16; };
    Sequence seq(*model_);
    std::vector<std::int32_t> out;
    auto stats = generate(*model_, seq, prompt_, o, nullptr, &out);
    EXPECT_EQ(stats.stop, StopReason::Cancelled);
    EXPECT_TRUE(out.empty());
    EXPECT_EQ(seq.position(), 16);
}

TEST_F(Generate, SeededSamplingIsReproducible) {
    auto o = options(12);
    o.sampler.temperature = 1.0f;
    o.sampler.top_k = 40;
    o.sampler.seed = 1234;
    std::vector<std::int32_t> a, b;
    Sequence s1(*model_), s2(*model_);
    generate(*model_, s1, prompt_, o, nullptr, &a);
    generate(*model_, s2, prompt_, o, nullptr, &b);
    EXPECT_EQ(a, b);
}

}  // namespace
}  // namespace statescope
