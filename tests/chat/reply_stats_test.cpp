// generation_stats: a chat reply's statistics as the session store keeps them, the one conversion
// behind `chat --save` and the studio's chat.
#include <gtest/gtest.h>

#include "core/chat/reply_stats.h"

namespace statescope {
namespace {

// 40 prompt tokens, 30 of them restored from a snapshot: 10 prefilled in 0.5 s; 9 tokens decoded
// after the first in 0.25 s.
Conversation::Reply sample_reply() {
    Conversation::Reply r;
    r.stats.prompt_tokens = 40;
    r.stats.generated_tokens = 10;
    r.stats.prefill_seconds = 0.5;
    r.stats.decode_seconds = 0.25;
    r.stats.time_to_first_token = 0.625;
    r.stats.stop = StopReason::Eos;
    r.stats.text = "a reply";
    r.reused_tokens = 30;
    return r;
}

TEST(ReplyStats, CarriesTheCountsTimesAndStopReason) {
    const GenerationStats s = generation_stats(sample_reply());
    EXPECT_EQ(s.prompt_tokens, 40);
    EXPECT_EQ(s.generated_tokens, 10);
    EXPECT_EQ(s.ttft_s, 0.625);
    EXPECT_EQ(s.prefill_s, 0.5);
    EXPECT_EQ(s.decode_s, 0.25);
    EXPECT_EQ(s.decode_tok_s, 9 / 0.25);  // GenerateStats::decode_tokens_per_s
    EXPECT_EQ(s.stop_reason, "eos");
    // Not known from the reply: the caller measures them or leaves them absent.
    EXPECT_FALSE(s.peak_memory_bytes);
    EXPECT_FALSE(s.state_bytes);
}

TEST(ReplyStats, PrefillRateCountsOnlyThePrefilledTokens) {
    const GenerationStats s = generation_stats(sample_reply());
    ASSERT_TRUE(s.prefill_tok_s);
    EXPECT_DOUBLE_EQ(*s.prefill_tok_s, 10 / 0.5);  // not 40 / 0.5: 30 came from the snapshot
}

TEST(ReplyStats, NoPrefillTimeMeansNoPrefillRate) {
    Conversation::Reply r = sample_reply();
    r.stats.prefill_seconds = 0;
    const GenerationStats s = generation_stats(r);
    EXPECT_EQ(s.prefill_s, 0.0);
    EXPECT_FALSE(s.prefill_tok_s) << "a rate from a zero duration";
}

TEST(ReplyStats, StopReasonsUseTheEngineNames) {
    Conversation::Reply r = sample_reply();
    for (auto [stop, name] : {std::pair{StopReason::MaxTokens, "max_tokens"},
                              std::pair{StopReason::StopString, "stop_string"},
                              std::pair{StopReason::Cancelled, "cancelled"}}) {
        r.stats.stop = stop;
        EXPECT_EQ(generation_stats(r).stop_reason, name);
    }
}

TEST(ReplyStats, NothingGeneratedIsZeroNotAbsent) {
    Conversation::Reply r;  // a reply cancelled before its first token
    r.stats.stop = StopReason::Cancelled;
    const GenerationStats s = generation_stats(r);
    EXPECT_EQ(s.prompt_tokens, 0);
    EXPECT_EQ(s.generated_tokens, 0);
    EXPECT_EQ(s.decode_tok_s, 0.0);
    EXPECT_FALSE(s.prefill_tok_s);
    EXPECT_EQ(s.stop_reason, "cancelled");
}

}  // namespace
}  // namespace statescope
