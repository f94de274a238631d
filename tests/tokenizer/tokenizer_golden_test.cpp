// Real tokenizer.json files against what HF tokenizers produced for them.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "core/tokenizer/tokenizer.h"

namespace statescope {
namespace {

const std::string kData = std::string(STATESCOPE_TEST_DATA) + "/tokenizer/";
// The GPT-NeoX-20B tokenizer: the golden mamba-neox checkpoint's (one copy in the tree).
const std::string kNeoxTokenizer =
    std::string(STATESCOPE_TEST_DATA) + "/golden/mamba-neox/tokenizer.json";

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    EXPECT_TRUE(in) << "cannot open " << path;
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// Loading once per suite: the files are a few MB each.
const Tokenizer& neox() {
    static const Tokenizer t = Tokenizer::from_file(kNeoxTokenizer);
    return t;
}

const Tokenizer& mistral() {
    static const Tokenizer t = Tokenizer::from_file(kData + "mistral-v0.1.tokenizer.json");
    return t;
}

// Every case of a golden file [{text, ids, decoded}]: ids with the default add_special_tokens,
// and decode(ids) with special tokens kept.
void check_golden(const Tokenizer& tokenizer, const std::string& file) {
    const auto cases = nlohmann::json::parse(read_file(kData + file));
    ASSERT_FALSE(cases.empty());
    for (const auto& c : cases) {
        const std::string text = c["text"].get<std::string>();
        const auto expected = c["ids"].get<std::vector<std::int32_t>>();
        const auto ids = tokenizer.encode(text);
        EXPECT_EQ(ids, expected) << "text: " << nlohmann::json(text).dump();
        EXPECT_EQ(tokenizer.decode(expected), c["decoded"].get<std::string>())
            << "text: " << nlohmann::json(text).dump();
    }
}

TEST(TokenizerGolden, NeoxDevCases) {
    check_golden(neox(), "neox-tokenize-dev.json");
}

TEST(TokenizerGolden, MistralDevCases) {
    check_golden(mistral(), "mistral-tokenize-dev.json");
}

// llama.cpp's vocabulary test format: every string is followed by "\n__ggml_vocab_test__\n";
// the .out file has one line of space-separated ids per string (an empty line for "").
TEST(TokenizerGolden, NeoxVocabTest) {
    const std::string inp = read_file(kData + "neox-vocab-test.inp");
    const std::string separator = "\n__ggml_vocab_test__\n";
    std::vector<std::string> texts;
    std::size_t pos = 0;
    while (pos < inp.size()) {
        const std::size_t end = inp.find(separator, pos);
        ASSERT_NE(end, std::string::npos) << "the .inp does not end with a separator";
        texts.push_back(inp.substr(pos, end - pos));
        pos = end + separator.size();
    }
    std::istringstream out(read_file(kData + "neox-vocab-test.out"));
    std::vector<std::vector<std::int32_t>> expected;
    for (std::string line; std::getline(out, line);) {
        std::istringstream ids(line);
        std::vector<std::int32_t> row;
        for (std::int32_t id; ids >> id;) row.push_back(id);
        expected.push_back(row);
    }
    ASSERT_EQ(texts.size(), expected.size());
    ASSERT_EQ(texts.size(), 46u);
    for (std::size_t i = 0; i < texts.size(); ++i) {
        EXPECT_EQ(neox().encode(texts[i], false), expected[i])
            << "case " << i << ": " << nlohmann::json(texts[i]).dump();
        EXPECT_EQ(neox().decode(expected[i]), texts[i]) << "case " << i;
    }
}

TEST(TokenizerGolden, NeoxVocabularyQueries) {
    const Tokenizer& t = neox();
    EXPECT_EQ(t.vocab_size(), 50277);
    EXPECT_EQ(t.token_to_id("<|endoftext|>"), 0);
    EXPECT_EQ(t.token_to_id("Ġthe"), 253);
    EXPECT_EQ(t.token_to_id("  "), 50276);
    EXPECT_EQ(t.id_to_token(253), "Ġthe");
    EXPECT_EQ(t.id_to_token(50276), "  ");
    EXPECT_FALSE(t.id_to_token(50277).has_value());
    EXPECT_FALSE(t.token_to_id("no such token").has_value());
    EXPECT_TRUE(t.is_special(0));
    EXPECT_TRUE(t.is_special(1));
    EXPECT_FALSE(t.is_special(50276));  // whitespace-run tokens are added but not special
    EXPECT_FALSE(t.is_special(253));
    EXPECT_EQ(t.decode(std::vector<std::int32_t>{1156, 0, 3062, 2505}, true), "textmore text");
}

TEST(TokenizerGolden, MistralVocabularyQueries) {
    const Tokenizer& t = mistral();
    EXPECT_EQ(t.vocab_size(), 32000);
    EXPECT_EQ(t.token_to_id("<s>"), 1);
    EXPECT_EQ(t.token_to_id("<0x0A>"), 13);
    EXPECT_TRUE(t.is_special(2));
    // Without the post-processor no <s> is added.
    EXPECT_EQ(t.encode("Hello world", false), (std::vector<std::int32_t>{22557, 1526}));
    // Strip drops the one space Metaspace put in front of the text.
    EXPECT_EQ(t.decode(std::vector<std::int32_t>{1, 22557, 1526}, true), "Hello world");
    // "<s>" written in the text is the special token. The text after it does not start the
    // input, so prepend_scheme "first" gives it no "▁": "Hello" (16230), not "▁Hello" (22557).
    EXPECT_EQ(t.encode("<s>Hello", false), (std::vector<std::int32_t>{1, 16230}));
    EXPECT_EQ(t.encode("Hello", false), (std::vector<std::int32_t>{22557}));
}

}  // namespace
}  // namespace statescope
