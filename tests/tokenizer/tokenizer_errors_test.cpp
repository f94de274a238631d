// Bad tokenizer.json files and bad calls: each fails with statescope::Error and a message that
// says what is wrong and where.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "core/error.h"
#include "tests/tokenizer/tokenizer_test_util.h"

namespace statescope::test {
namespace {

// The message of the statescope::Error that `fn` throws ("" when it throws none).
template <class Fn>
std::string error_of(Fn&& fn) {
    try {
        fn();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

const std::string kModel =
    R"("model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":[["a","b"]]})";

std::string file_with(const std::string& fields) {
    return "{\"version\":\"1.0\"," + fields + (fields.empty() ? "" : ",") + kModel + "}";
}

using ::testing::HasSubstr;

TEST(TokenizerErrors, UnknownPreTokenizerType) {
    const std::string message = error_of([] {
        Tokenizer::from_json(file_with(R"("pre_tokenizer":{"type":"Foo"})"), "tokenizer.json");
    });
    EXPECT_THAT(message, HasSubstr("tokenizer.json: unknown pre_tokenizer type \"Foo\""));
    EXPECT_THAT(message, HasSubstr("supported: ByteLevel, Split, Metaspace"));
}

TEST(TokenizerErrors, UnknownTypeInsideSequence) {
    const std::string message = error_of([] {
        Tokenizer::from_json(
            file_with(
                R"("normalizer":{"type":"Sequence","normalizers":[{"type":"NFC"},{"type":"Bar"}]})"),
            "tokenizer.json");
    });
    EXPECT_THAT(message, HasSubstr("unknown normalizer type \"Bar\" at normalizer.normalizers[1]"));
}

TEST(TokenizerErrors, UnknownDecoderPostProcessorAndModel) {
    EXPECT_THAT(
        error_of([] { Tokenizer::from_json(file_with(R"("decoder":{"type":"Baz"})"), "t.json"); }),
        HasSubstr("unknown decoder type \"Baz\""));
    EXPECT_THAT(error_of([] {
                    Tokenizer::from_json(file_with(R"("post_processor":{"type":"Qux"})"), "t.json");
                }),
                HasSubstr("unknown post_processor type \"Qux\""));
    EXPECT_THAT(error_of([] {
                    Tokenizer::from_json(R"({"model":{"type":"Unigram","vocab":[]}})", "t.json");
                }),
                HasSubstr("unknown model type \"Unigram\" at model (supported: BPE)"));
}

TEST(TokenizerErrors, MalformedJson) {
    const std::string message =
        error_of([] { Tokenizer::from_json(R"({"model": {"type": "BPE",)", "broken.json"); });
    EXPECT_THAT(message, HasSubstr("broken.json: not valid JSON"));
}

TEST(TokenizerErrors, MergeEntryOfWrongType) {
    const auto load = [](const std::string& merges) {
        return error_of([&] {
            Tokenizer::from_json(
                R"({"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":)" + merges + "}}",
                "tokenizer.json");
        });
    };
    EXPECT_EQ(load(R"(["a b", 12])"),
              "tokenizer.json: model.merges[1] is not \"a b\" or [\"a\",\"b\"]");
    EXPECT_EQ(load(R"(["a b c"])"),
              "tokenizer.json: model.merges[0] is not \"a b\" or [\"a\",\"b\"]");
    EXPECT_EQ(load(R"([["a"]])"),
              "tokenizer.json: model.merges[0] is not \"a b\" or [\"a\",\"b\"]");
    EXPECT_THAT(load(R"([["a","c"]])"),
                HasSubstr("model.merges[0] uses \"c\", which is not in the vocabulary"));
}

TEST(TokenizerErrors, BadFields) {
    EXPECT_THAT(
        error_of([] {
            Tokenizer::from_json(
                file_with(
                    R"("pre_tokenizer":{"type":"Split","pattern":{"String":"-"},"behavior":"Sideways","invert":false})"),
                "t.json");
        }),
        HasSubstr("pre_tokenizer.behavior is \"Sideways\""));
    EXPECT_THAT(
        error_of([] {
            Tokenizer::from_json(
                file_with(
                    R"("pre_tokenizer":{"type":"Split","pattern":{"Regex":"(a"},"behavior":"Isolated","invert":false})"),
                "t.json");
        }),
        HasSubstr("pre_tokenizer.pattern: invalid regex \"(a\""));
    EXPECT_THAT(error_of([] { Tokenizer::from_json(R"({"version":"1.0"})", "t.json"); }),
                HasSubstr("t.json: model is missing"));
}

TEST(TokenizerErrors, MissingFileNamesTheFile) {
    EXPECT_THAT(error_of([] { Tokenizer::from_file("/nonexistent/tokenizer.json"); }),
                HasSubstr("/nonexistent/tokenizer.json: cannot open"));
}

TEST(TokenizerErrors, InvalidUtf8Text) {
    const Tokenizer t = Tokenizer::from_json(file_with(""), "t.json");
    // Byte 3 (0xFF) can never appear in UTF-8.
    EXPECT_EQ(error_of([&] { t.encode("ab\x61\xFF"); }), "text is not valid UTF-8 at byte 3");
    // A truncated sequence and a UTF-16 surrogate encoded in UTF-8 are rejected too.
    EXPECT_EQ(error_of([&] { t.encode("a\xE2\x82"); }), "text is not valid UTF-8 at byte 1");
    EXPECT_EQ(error_of([&] { t.encode("\xED\xA0\x80"); }), "text is not valid UTF-8 at byte 0");
}

TEST(TokenizerErrors, DecodeIdOutOfRange) {
    const Tokenizer t = Tokenizer::from_json(file_with(""), "t.json");
    EXPECT_EQ(t.decode(std::vector<std::int32_t>{0, 1}), "a b");
    EXPECT_EQ(error_of([&] {
                  t.decode(std::vector<std::int32_t>{0, 3});
              }),
              "t.json: token id 3 is out of range (vocabulary size 3)");
    EXPECT_THAT(error_of([&] { t.decode(std::vector<std::int32_t>{-1}); }),
                HasSubstr("token id -1 is out of range"));
}

}  // namespace
}  // namespace statescope::test
