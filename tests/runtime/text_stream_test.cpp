// The incremental detokenizer gives the same text as decoding the whole reply, one whole UTF-8
// character at a time, while decoding only a few ids per token; the stop-string matcher cuts before
// a stop string that spans pieces and holds back only what may still become one.
#include <gtest/gtest.h>

#include "core/runtime/text_stream.h"
#include "core/tokenizer/tokenizer.h"
#include "tests/test_data.h"

namespace statescope {
namespace {

const std::filesystem::path kGolden = test::test_data_dir() / "golden";

bool valid_utf8(const std::string& s) {
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        const std::size_t n = c < 0x80         ? 1
                              : (c >> 5) == 6  ? 2
                              : (c >> 4) == 14 ? 3
                              : (c >> 3) == 30 ? 4
                                               : 0;
        if (n == 0 || i + n > s.size()) return false;
        for (std::size_t k = 1; k < n; ++k)
            if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
        i += n;
    }
    return true;
}

class TextStream : public ::testing::Test {
  protected:
    void SetUp() override {
        tok_ = std::make_unique<Tokenizer>(
            Tokenizer::from_file(kGolden / "mamba-neox" / "tokenizer.json"));
    }
    // Decoder that counts how many ids it was asked to decode in all.
    DetokenizeFn counting_decoder() {
        return [this](std::span<const std::int32_t> ids) {
            decoded_ids_ += ids.size();
            return tok_->decode(ids);
        };
    }
    std::unique_ptr<Tokenizer> tok_;
    std::size_t decoded_ids_ = 0;
};

TEST_F(TextStream, SplitMultiByteCharactersComeOutWhole) {
    // Byte-level BPE splits these characters over several tokens each.
    const std::string text = "naïve 日本語のテキスト 🙂🚀 Ωmega — ok 𝄞 end";
    const auto ids = tok_->encode(text, false);
    ASSERT_GT(ids.size(), 10u);
    // At least one token must end mid-character (its prefix decodes to U+FFFD, as HF's decode
    // does for incomplete bytes), or this test proves nothing.
    const std::string kReplacement = "\xEF\xBF\xBD";
    bool split = false;
    for (std::size_t i = 1; i < ids.size(); ++i)
        split =
            split || tok_->decode(std::span(ids).first(i)).find(kReplacement) != std::string::npos;
    ASSERT_TRUE(split);

    IncrementalDetokenizer detok(counting_decoder());
    std::string streamed;
    for (auto id : ids) {
        const std::string piece = detok.push(id);
        EXPECT_TRUE(valid_utf8(piece)) << "piece: " << piece;
        EXPECT_EQ(piece.find(kReplacement), std::string::npos) << "piece: " << piece;
        streamed += piece;
    }
    streamed += detok.flush();
    EXPECT_EQ(streamed, tok_->decode(ids));
    EXPECT_EQ(streamed, text);
    // O(new text): each push decodes a window of a few ids, not the whole reply.
    EXPECT_LE(decoded_ids_, 8 * ids.size());
}

TEST_F(TextStream, LongReplyDecodesLinearly) {
    std::string text;
    for (int i = 0; i < 300; ++i) text += "word" + std::to_string(i) + " ";
    const auto ids = tok_->encode(text, false);
    IncrementalDetokenizer detok(counting_decoder());
    std::string streamed;
    for (auto id : ids) streamed += detok.push(id);
    streamed += detok.flush();
    EXPECT_EQ(streamed, text);
    // A whole decode per token would be ids^2/2 (hundreds of thousands) ids.
    EXPECT_LE(decoded_ids_, 6 * ids.size());
}

TEST_F(TextStream, IncompleteCharacterAtTheEndIsFlushedAsReplacement) {
    const auto ids = tok_->encode("ab🙂", false);
    // Drop the last token so the emoji's bytes are cut.
    const std::span<const std::int32_t> cut = std::span(ids).first(ids.size() - 1);
    IncrementalDetokenizer detok([this](auto s) { return tok_->decode(s); });
    std::string streamed;
    for (auto id : cut) streamed += detok.push(id);
    EXPECT_EQ(streamed, "ab");
    streamed += detok.flush();
    EXPECT_EQ(streamed, tok_->decode(cut));
}

TEST(StopStringMatcher, CutsBeforeAStopSpanningPieces) {
    StopStringMatcher m({"</s>", "STOP"});
    std::string out;
    out += m.push("Hello <");
    EXPECT_EQ(out, "Hello ");  // "<" may begin "</s>"
    out += m.push("/");
    EXPECT_EQ(out, "Hello ");
    out += m.push("s> and more");
    EXPECT_TRUE(m.matched());
    EXPECT_EQ(out, "Hello ");
    EXPECT_EQ(m.push("late"), "");
}

TEST(StopStringMatcher, ReleasesAFalseStart) {
    StopStringMatcher m({"STOP"});
    std::string out = m.push("ST");
    EXPECT_EQ(out, "");
    out += m.push("OMP is not it");
    EXPECT_FALSE(m.matched());
    EXPECT_EQ(out, "STOMP is not it");
    out += m.push(" S");
    out += m.flush();
    EXPECT_EQ(out, "STOMP is not it S");
}

TEST(StopStringMatcher, EarliestOfSeveralStopsWins) {
    StopStringMatcher m({"cd", "bcde"});
    std::string out = m.push("ab");
    out += m.push("cdef");
    EXPECT_TRUE(m.matched());
    EXPECT_EQ(out, "a");  // "bcde" starts before "cd"
}

TEST(StopStringMatcher, MultiByteStopString) {
    StopStringMatcher m({"。終"});
    std::string out = m.push("これ");
    out += m.push("。");
    EXPECT_EQ(out, "これ");
    out += m.push("終わり");
    EXPECT_TRUE(m.matched());
    EXPECT_EQ(out, "これ");
}

}  // namespace
}  // namespace statescope
