// One tokenizer.json component at a time, on small hand-built files. Each expectation is derived
// from HF tokenizers' semantics (reasoning in the comments); the same files were cross-checked
// against the tokenizers library itself while writing them.
#include <gtest/gtest.h>

#include "tests/tokenizer/tokenizer_test_util.h"

namespace statescope::test {
namespace {

const std::string kMeta = "\xE2\x96\x81";  // ▁

int next_id(const Json& model) {
    return static_cast<int>(model["vocab"].size());
}

Json split(const Json& pattern, const std::string& behavior, bool invert = false) {
    return {{"type", "Split"}, {"pattern", pattern}, {"behavior", behavior}, {"invert", invert}};
}

// ---- pre-tokenizers -------------------------------------------------------------------------

TEST(TokenizerPreTokenizer, SplitBehaviors) {
    // "a--b" split on "-": find_matches gives a | - | - | b with the dashes as matches.
    const Json model = word_model({"a-", "-b", "--"});
    const auto pieces = [&](const std::string& behavior, bool invert = false) {
        return tokens_of(
            build({.model = model, .pre_tokenizer = split({{"String", "-"}}, behavior, invert)}),
            "a--b");
    };
    // Removed drops the delimiters.
    EXPECT_EQ(pieces("Removed"), (Strings{"a", "b"}));
    // Isolated keeps every span as its own piece.
    EXPECT_EQ(pieces("Isolated"), (Strings{"a", "-", "-", "b"}));
    // MergedWithPrevious glues a delimiter onto the piece before it, unless that piece was a
    // delimiter itself: "a-", "-", "b".
    EXPECT_EQ(pieces("MergedWithPrevious"), (Strings{"a-", "-", "b"}));
    // MergedWithNext is the mirror image: "a", "-", "-b".
    EXPECT_EQ(pieces("MergedWithNext"), (Strings{"a", "-", "-b"}));
    // Contiguous fuses neighbouring spans of the same kind: "a", "--", "b".
    EXPECT_EQ(pieces("Contiguous"), (Strings{"a", "--", "b"}));
    // invert flips which spans count as matches: with Removed only the dashes survive.
    EXPECT_EQ(pieces("Removed", true), (Strings{"-", "-"}));
}

TEST(TokenizerPreTokenizer, SplitRegex) {
    // \d+ matches "12" and "3" in "ab12cd3"; MergedWithPrevious appends each to the text before.
    const Tokenizer t = build({.model = word_model({"ab12", "cd3"}),
                               .pre_tokenizer = split({{"Regex", "\\d+"}}, "MergedWithPrevious")});
    EXPECT_EQ(tokens_of(t, "ab12cd3"), (Strings{"ab12", "cd3"}));
    // Oniguruma's `$` is a line anchor (Ruby syntax): "a$" matches before the newline too, so
    // Removed deletes both a's, leaving "b" and "\nb".
    const Tokenizer lines =
        build({.model = word_model({"\nb"}), .pre_tokenizer = split({{"Regex", "a$"}}, "Removed")});
    EXPECT_EQ(tokens_of(lines, "ba\nba"), (Strings{"b", "\nb"}));
}

TEST(TokenizerPreTokenizer, MetaspacePrependSchemes) {
    const Json model =
        word_model({kMeta + "hi", kMeta + "there", "hi", kMeta + "hi" + kMeta + "there"});
    const Json special = Json::array({added(next_id(model), "<s>", true)});
    const auto pieces = [&](const std::string& scheme, bool split_words, const std::string& text) {
        const Json pre = {{"type", "Metaspace"},
                          {"replacement", kMeta},
                          {"prepend_scheme", scheme},
                          {"split", split_words}};
        return tokens_of(build({.model = model, .pre_tokenizer = pre, .added_tokens = special}),
                         text);
    };
    // Spaces become ▁, a ▁ is prepended, and split cuts before every ▁ (MergedWithNext).
    EXPECT_EQ(pieces("always", true, "hi there"), (Strings{kMeta + "hi", kMeta + "there"}));
    // "always" prepends to text after an added token too.
    EXPECT_EQ(pieces("always", true, "<s>hi there"),
              (Strings{"<s>", kMeta + "hi", kMeta + "there"}));
    // "first" prepends only to the piece that starts at original offset 0: after "<s>" the
    // piece "hi there" starts at byte 3, so "hi" gets no ▁ (Llama/Mistral behaviour).
    EXPECT_EQ(pieces("first", true, "hi there"), (Strings{kMeta + "hi", kMeta + "there"}));
    EXPECT_EQ(pieces("first", true, "<s>hi there"), (Strings{"<s>", "hi", kMeta + "there"}));
    // "never" only replaces spaces.
    EXPECT_EQ(pieces("never", true, "hi there"), (Strings{"hi", kMeta + "there"}));
    // Text that already starts with a space gets no second ▁.
    EXPECT_EQ(pieces("always", true, " hi"), (Strings{kMeta + "hi"}));
    // Without split the whole text is one word.
    EXPECT_EQ(pieces("always", false, "hi there"), (Strings{kMeta + "hi" + kMeta + "there"}));
}

TEST(TokenizerPreTokenizer, MetaspaceFirstAfterStrip) {
    // HF quirk: the normalizer runs before the piece is re-sliced, so after Strip removes the two
    // leading spaces the piece's first character comes from byte 2, not 0, and "first" adds no ▁.
    const Json pre = {{"type", "Metaspace"}, {"replacement", kMeta}, {"prepend_scheme", "first"}};
    const Tokenizer stripped =
        build({.model = word_model({kMeta + "there", "hi"}),
               .normalizer = {{"type", "Strip"}, {"strip_left", true}, {"strip_right", false}},
               .pre_tokenizer = pre});
    EXPECT_EQ(tokens_of(stripped, "  hi there"), (Strings{"hi", kMeta + "there"}));
}

TEST(TokenizerPreTokenizer, Digits) {
    const Json model = word_model({"123", "45"});
    const auto pieces = [&](bool individual) {
        return tokens_of(
            build({.model = model,
                   .pre_tokenizer = {{"type", "Digits"}, {"individual_digits", individual}}}),
            "a123b45");
    };
    // individual_digits isolates every digit; otherwise runs of digits stay together.
    EXPECT_EQ(pieces(true), (Strings{"a", "1", "2", "3", "b", "4", "5"}));
    EXPECT_EQ(pieces(false), (Strings{"a", "123", "b", "45"}));
}

TEST(TokenizerPreTokenizer, WhitespaceAndPunctuation) {
    const Json model = word_model({"hi", "there", " there", "hi,", "there!"});
    const auto pieces = [&](const std::string& type) {
        return tokens_of(build({.model = model, .pre_tokenizer = {{"type", type}}}), "hi, there!");
    };
    // Whitespace keeps runs of \w and runs of other non-space characters.
    EXPECT_EQ(pieces("Whitespace"), (Strings{"hi", ",", "there", "!"}));
    // WhitespaceSplit only cuts at (and drops) whitespace.
    EXPECT_EQ(pieces("WhitespaceSplit"), (Strings{"hi,", "there!"}));
    // Punctuation isolates each punctuation character and keeps the spaces.
    EXPECT_EQ(pieces("Punctuation"), (Strings{"hi", ",", " there", "!"}));
}

TEST(TokenizerPreTokenizer, ByteLevel) {
    const Json model = word_model({"\xC4\xA0hi", "\xC4\xA0there", "\xC4\xA0hi\xC4\xA0there", "I",
                                   "'m", "\xC4\xA0", "\xC4\xA0ok"});
    const auto pieces = [&](bool prefix, bool regex, const std::string& text) {
        return tokens_of(build({.model = model,
                                .pre_tokenizer = {{"type", "ByteLevel"},
                                                  {"add_prefix_space", prefix},
                                                  {"trim_offsets", true},
                                                  {"use_regex", regex}}}),
                         text);
    };
    // add_prefix_space makes "hi there" " hi there"; the GPT-2 regex cuts " hi", " there"; the
    // bytes map to the GPT-2 table (space -> Ġ, U+0120).
    EXPECT_EQ(pieces(true, true, "hi there"), (Strings{"Ġhi", "Ġthere"}));
    // use_regex false: one piece.
    EXPECT_EQ(pieces(true, false, "hi there"), (Strings{"ĠhiĠthere"}));
    // \s+(?!\S) leaves the last space of a run to the word after it: "I", "'m", " ", " ok".
    EXPECT_EQ(pieces(false, true, "I'm  ok"), (Strings{"I", "'m", "Ġ", "Ġok"}));
}

TEST(TokenizerPreTokenizer, Sequence) {
    // WhitespaceSplit first, then Metaspace("first") on each word: only "hi" starts at offset 0.
    const Json pre = {{"type", "Sequence"},
                      {"pretokenizers", Json::array({{{"type", "WhitespaceSplit"}},
                                                     {{"type", "Metaspace"},
                                                      {"replacement", kMeta},
                                                      {"prepend_scheme", "first"},
                                                      {"split", true}}})}};
    const Tokenizer t = build({.model = word_model({kMeta + "hi", "there"}), .pre_tokenizer = pre});
    EXPECT_EQ(tokens_of(t, "hi there"), (Strings{kMeta + "hi", "there"}));
}

// ---- normalizers ----------------------------------------------------------------------------

TEST(TokenizerNormalizer, UnicodeForms) {
    const std::string e_acute = "\xC3\xA9";       // é, U+00E9
    const std::string e_combining = "e\xCC\x81";  // e + U+0301
    const Json model = word_model({e_acute, e_combining, "fi1"});
    const auto norm = [&](const std::string& type, const std::string& text) {
        return tokens_of(build({.model = model, .normalizer = {{"type", type}}}), text);
    };
    EXPECT_EQ(norm("NFD", e_acute), (Strings{e_combining}));
    EXPECT_EQ(norm("NFC", e_combining), (Strings{e_acute}));
    // Compatibility forms also fold the ligature "ﬁ" and the circled "①".
    EXPECT_EQ(norm("NFKC", "\xEF\xAC\x81\xE2\x91\xA0"), (Strings{"fi1"}));
    EXPECT_EQ(norm("NFKD", e_acute), (Strings{e_combining}));
    // NFC leaves the ligature alone, and "ﬁ" is not in the vocabulary: with no unk_token and no
    // byte fallback the character is dropped.
    EXPECT_TRUE(norm("NFC", "\xEF\xAC\x81").empty());
}

TEST(TokenizerNormalizer, LowercaseReplaceStripPrepend) {
    const Json model = word_model({"hello", "a" + kMeta + "b", kMeta + "ab",
                                   kMeta + "a" + kMeta + "b", "ab  ", "  ab", "a b"});
    const auto norm = [&](const Json& normalizer, const std::string& text) {
        return tokens_of(build({.model = model, .normalizer = normalizer}), text);
    };
    EXPECT_EQ(norm({{"type", "Lowercase"}}, "HeLLo"), (Strings{"hello"}));
    // Replace with a String pattern matches literally; with a Regex pattern as Oniguruma would.
    EXPECT_EQ(
        norm({{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", kMeta}}, "a b"),
        (Strings{"a" + kMeta + "b"}));
    EXPECT_EQ(
        norm({{"type", "Replace"}, {"pattern", {{"Regex", "\\s+"}}}, {"content", " "}}, "a \t\n b"),
        (Strings{"a b"}));
    // Strip removes whitespace on the chosen sides only.
    EXPECT_EQ(norm({{"type", "Strip"}, {"strip_left", true}, {"strip_right", false}}, "  ab  "),
              (Strings{"ab  "}));
    EXPECT_EQ(norm({{"type", "Strip"}, {"strip_left", false}, {"strip_right", true}}, "  ab  "),
              (Strings{"  ab"}));
    // Prepend adds its text in front of non-empty text only.
    EXPECT_EQ(norm({{"type", "Prepend"}, {"prepend", kMeta}}, "ab"), (Strings{kMeta + "ab"}));
    EXPECT_TRUE(norm({{"type", "Prepend"}, {"prepend", kMeta}}, "").empty());
    // A Sequence applies its steps in order: "a b" -> "a▁b" -> "▁a▁b".
    const Json sequence = {
        {"type", "Sequence"},
        {"normalizers",
         Json::array({{{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", kMeta}},
                      {{"type", "Prepend"}, {"prepend", kMeta}}})}};
    EXPECT_EQ(norm(sequence, "a b"), (Strings{kMeta + "a" + kMeta + "b"}));
}

// ---- added tokens ---------------------------------------------------------------------------

TEST(TokenizerAddedTokens, LeftmostLongest) {
    const Json model = word_model({});
    const int id = next_id(model);
    const Tokenizer t =
        build({.model = model,
               .added_tokens = Json::array({added(id, "ab", false), added(id + 1, "abc", false)})});
    // At "abc" both tokens start; the longer one wins, then matching resumes after it.
    EXPECT_EQ(tokens_of(t, "xabcab"), (Strings{"x", "abc", "ab"}));
}

TEST(TokenizerAddedTokens, LstripRstripSingleWord) {
    const Json model = word_model({});
    const int id = next_id(model);
    const auto with = [&](const Json& token, const std::string& text) {
        return tokens_of(build({.model = model, .added_tokens = Json::array({token})}), text);
    };
    // lstrip: the token takes the whitespace before it, so no " " piece is left.
    EXPECT_EQ(with(added(id, "[M]", true, false, true, false), "a [M]b"),
              (Strings{"a", "[M]", "b"}));
    EXPECT_EQ(with(added(id, "[M]", true), "a [M]b"), (Strings{"a", " ", "[M]", "b"}));
    // rstrip: the whitespace after it.
    EXPECT_EQ(with(added(id, "[M]", true, false, false, true), "a[M]  b"),
              (Strings{"a", "[M]", "b"}));
    // single_word: only between non-word characters; "x<w>" is inside a word and stays text.
    EXPECT_EQ(with(added(id, "<w>", false, false, false, false, true), "x<w> <w>"),
              (Strings{"x", "<", "w", ">", " ", "<w>"}));
}

TEST(TokenizerAddedTokens, NormalizedTokensMatchNormalizedText) {
    const Json model = word_model({});
    const int id = next_id(model);
    const Tokenizer t = build({.model = model,
                               .normalizer = {{"type", "Lowercase"}},
                               .added_tokens = Json::array({added(id, "hello", false, true),
                                                            added(id + 1, "BYE", false, false)})});
    // "BYE" (normalized=false) is cut from the raw text first; the rest is lowercased and then
    // "hello" (normalized=true) is found in "hello ". The final " bye" is plain text.
    EXPECT_EQ(tokens_of(t, "HELLO BYE bye"), (Strings{"hello", " ", "BYE", " ", "b", "y", "e"}));

    // A normalized token decodes to its normalized form (HF's normalized cache).
    const Tokenizer cased = build({.model = model,
                                   .normalizer = {{"type", "Lowercase"}},
                                   .added_tokens = Json::array({added(id, "HeLLo", false, true)})});
    EXPECT_EQ(cased.token_to_id("HeLLo"), id);
    EXPECT_EQ(cased.id_to_token(id), "hello");
    EXPECT_EQ(cased.encode("HELLO", false), (std::vector<std::int32_t>{id}));
}

TEST(TokenizerAddedTokens, SpecialTokensAndDecode) {
    const Json model = word_model({});
    const int id = next_id(model);
    const Tokenizer t =
        build({.model = model, .added_tokens = Json::array({added(id, "<s>", true)})});
    const auto ids = t.encode("a<s>b");
    EXPECT_EQ(tokens_of(t, "a<s>b"), (Strings{"a", "<s>", "b"}));
    EXPECT_TRUE(t.is_special(id));
    EXPECT_EQ(t.vocab_size(), id + 1);
    // No decoder: tokens are joined with spaces; skip_special_tokens drops "<s>".
    EXPECT_EQ(t.decode(ids), "a <s> b");
    EXPECT_EQ(t.decode(ids, true), "a b");
}

// ---- BPE model ------------------------------------------------------------------------------

TEST(TokenizerBpe, MergeFormsAndRanks) {
    // The same merges written as pairs, as "a b" strings, and with a merges.txt "#version" line
    // (skipped, taking no rank): "abcab" -> a b c a b -> ab c ab -> abc ab.
    const std::string vocab = R"({"a":0,"b":1,"c":2,"ab":3,"abc":4})";
    for (const std::string merges :
         {R"([["a","b"],["ab","c"]])", R"(["a b","ab c"])", R"(["#version: 0.2","a b","ab c"])"}) {
        const Tokenizer t =
            Tokenizer::from_json(R"({"version":"1.0","model":{"type":"BPE","vocab":)" + vocab +
                                     R"(,"merges":)" + merges + "}}",
                                 "merges.json");
        EXPECT_EQ(t.encode("abcab"), (std::vector<std::int32_t>{4, 3})) << merges;
    }
    // Rank is the order: with "b c" first, "abc" becomes a + bc.
    const auto ranked = [](const std::vector<std::pair<std::string, std::string>>& merges) {
        return tokens_of(build({.model = bpe_model({"a", "b", "c", "ab", "bc"}, merges)}), "abc");
    };
    EXPECT_EQ(ranked({{"b", "c"}, {"a", "b"}}), (Strings{"a", "bc"}));
    EXPECT_EQ(ranked({{"a", "b"}, {"b", "c"}}), (Strings{"ab", "c"}));
}

TEST(TokenizerBpe, ByteFallbackAndUnknown) {
    std::vector<std::string> tokens = {"<unk>", "a", "b"};
    for (int byte = 0; byte < 256; ++byte) {
        char name[8];
        std::snprintf(name, sizeof(name), "<0x%02X>", byte);
        tokens.emplace_back(name);
    }
    const Json decoder = {
        {"type", "Sequence"},
        {"decoders", Json::array({{{"type", "ByteFallback"}}, {{"type", "Fuse"}}})}};
    // "€" is not in the vocabulary: its UTF-8 bytes E2 82 AC become byte tokens.
    const Tokenizer bytes =
        build({.model = bpe_model(tokens, {}, {{"byte_fallback", true}}), .decoder = decoder});
    EXPECT_EQ(tokens_of(bytes, "a\xE2\x82\xAC"), (Strings{"a", "<0xE2>", "<0x82>", "<0xAC>"}));
    EXPECT_EQ(bytes.decode(bytes.encode("a\xE2\x82\xAC")), "a\xE2\x82\xAC");
    // ByteFallback turns a run of bytes that is not UTF-8 into one U+FFFD per byte.
    const auto id = [&](const char* token) { return *bytes.token_to_id(token); };
    EXPECT_EQ(bytes.decode(std::vector<std::int32_t>{id("<0xE2>"), id("<0x82>"), id("a")}),
              "\xEF\xBF\xBD\xEF\xBF\xBD"
              "a");

    // Without byte fallback: unk_token per unknown character, fused into one with fuse_unk.
    const Json unk_model = bpe_model({"<unk>", "a", "b"}, {}, {{"unk_token", "<unk>"}});
    EXPECT_EQ(tokens_of(build({.model = unk_model}), "axyb"),
              (Strings{"a", "<unk>", "<unk>", "b"}));
    Json fused = unk_model;
    fused["fuse_unk"] = true;
    EXPECT_EQ(tokens_of(build({.model = fused}), "axyb"), (Strings{"a", "<unk>", "b"}));
    // With neither, unknown characters are dropped.
    EXPECT_EQ(tokens_of(build({.model = bpe_model({"a", "b"})}), "axb"), (Strings{"a", "b"}));
}

TEST(TokenizerBpe, SubwordPrefixAndSuffix) {
    // continuing_subword_prefix: non-initial characters are looked up as "##x"; a merge's right
    // side sheds the prefix when glued: a + ##b -> "ab", ab + ##c -> "abc".
    const Json prefixed =
        bpe_model({"a", "c", "##a", "##b", "##c", "ab", "abc"}, {{"a", "##b"}, {"ab", "##c"}},
                  {{"continuing_subword_prefix", "##"}});
    EXPECT_EQ(tokens_of(build({.model = prefixed}), "abc"), (Strings{"abc"}));
    EXPECT_EQ(tokens_of(build({.model = prefixed}), "cab"), (Strings{"c", "##a", "##b"}));
    // end_of_word_suffix: the last character carries "</w>"; BPEDecoder turns it into a space
    // except at the very end.
    const Json suffixed = bpe_model({"a", "b", "a</w>", "b</w>", "ab</w>"}, {{"a", "b</w>"}},
                                    {{"end_of_word_suffix", "</w>"}});
    const Tokenizer t = build({.model = suffixed,
                               .pre_tokenizer = {{"type", "WhitespaceSplit"}},
                               .decoder = {{"type", "BPEDecoder"}, {"suffix", "</w>"}}});
    EXPECT_EQ(tokens_of(t, "ab ba"), (Strings{"ab</w>", "b", "a</w>"}));
    EXPECT_EQ(t.decode(t.encode("ab ba")), "ab ba");
}

TEST(TokenizerBpe, IgnoreMerges) {
    // Merges h+e and l+l exist but none builds "hello"; with ignore_merges the whole word, being
    // in the vocabulary, wins before any merge.
    const std::vector<std::string> vocab = {"h", "e", "l", "o", "he", "ll", "hello"};
    Json model = bpe_model(vocab, {{"h", "e"}, {"l", "l"}});
    EXPECT_EQ(tokens_of(build({.model = model}), "hello"), (Strings{"he", "ll", "o"}));
    model["ignore_merges"] = true;
    EXPECT_EQ(tokens_of(build({.model = model}), "hello"), (Strings{"hello"}));
}

// ---- post-processors ------------------------------------------------------------------------

TEST(TokenizerPostProcessor, TemplateProcessing) {
    const Json post = Json::parse(R"({
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                   {"Sequence": {"id": "A", "type_id": 0}},
                   {"SpecialToken": {"id": "</s>", "type_id": 0}}],
        "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
        "special_tokens": {"<s>": {"id": "<s>", "ids": [0], "tokens": ["<s>"]},
                           "</s>": {"id": "</s>", "ids": [1, 0], "tokens": ["</s>", "<s>"]}}})");
    const Tokenizer t =
        build({.model = bpe_model({"<s>", "</s>", "a", "b"}), .post_processor = post});
    // A special token may stand for several ids ("</s>" -> 1, 0 here).
    EXPECT_EQ(t.encode("ab"), (std::vector<std::int32_t>{0, 2, 3, 1, 0}));
    EXPECT_EQ(t.encode("ab", false), (std::vector<std::int32_t>{2, 3}));
    EXPECT_EQ(t.encode(""), (std::vector<std::int32_t>{0, 1, 0}));
}

TEST(TokenizerPostProcessor, RobertaBertSequence) {
    const Json model = bpe_model({"<s>", "</s>", "a"});
    const Json roberta = {{"type", "RobertaProcessing"},
                          {"sep", Json::array({"</s>", 1})},
                          {"cls", Json::array({"<s>", 0})},
                          {"trim_offsets", true},
                          {"add_prefix_space", false}};
    EXPECT_EQ(build({.model = model, .post_processor = roberta}).encode("a"),
              (std::vector<std::int32_t>{0, 2, 1}));
    // ByteLevel adds nothing; the Bert step after it adds cls/sep.
    const Json sequence = {{"type", "Sequence"},
                           {"processors", Json::array({{{"type", "ByteLevel"},
                                                        {"add_prefix_space", false},
                                                        {"trim_offsets", true},
                                                        {"use_regex", true}},
                                                       {{"type", "BertProcessing"},
                                                        {"sep", Json::array({"</s>", 1})},
                                                        {"cls", Json::array({"<s>", 0})}}})}};
    EXPECT_EQ(build({.model = model, .post_processor = sequence}).encode("aa"),
              (std::vector<std::int32_t>{0, 2, 2, 1}));
}

// ---- decoders -------------------------------------------------------------------------------

std::string decode_tokens(const Json& decoder, const Strings& tokens) {
    const Tokenizer t = build({.model = bpe_model(tokens), .decoder = decoder});
    std::vector<std::int32_t> ids;
    for (std::size_t i = 0; i < tokens.size(); ++i) ids.push_back(static_cast<std::int32_t>(i));
    return t.decode(ids);
}

TEST(TokenizerDecoder, ByteLevel) {
    const Json byte_level = {{"type", "ByteLevel"}};
    // "€" is E2 82 AC; in the GPT-2 table E2 -> "â", 82 -> "Ĥ" (U+0124), AC -> "¬". Bytes from
    // separate tokens join before UTF-8 decoding.
    EXPECT_EQ(decode_tokens(byte_level, {"âĤ", "¬", "Ġx"}), "€ x");
    // An incomplete sequence (E2 82) is one maximal invalid subpart: one U+FFFD, as Rust's
    // from_utf8_lossy.
    EXPECT_EQ(decode_tokens(byte_level, {"âĤ", "x"}), "\xEF\xBF\xBDx");
    // A token with a character outside the table is copied as it is.
    EXPECT_EQ(decode_tokens(byte_level, {"日本", "Ġ"}), "日本 ");
}

TEST(TokenizerDecoder, MetaspaceStripReplaceWordPiece) {
    // Metaspace turns ▁ into spaces, except the first token's (the prefix it added).
    EXPECT_EQ(
        decode_tokens({{"type", "Metaspace"}, {"replacement", kMeta}, {"prepend_scheme", "always"}},
                      {kMeta + "hi", kMeta + "there"}),
        "hi there");
    EXPECT_EQ(
        decode_tokens({{"type", "Metaspace"}, {"replacement", kMeta}, {"prepend_scheme", "never"}},
                      {kMeta + "hi", kMeta + "there"}),
        " hi there");
    // Strip works per token: at most `start` leading and `stop` trailing "x" characters.
    EXPECT_EQ(decode_tokens({{"type", "Strip"}, {"content", "x"}, {"start", 2}, {"stop", 1}},
                            {"xxxaxx", "ax"}),
              "xaxa");
    // Replace (String pattern) with Fuse, as Llama-style files chain them.
    const Json chain = {
        {"type", "Sequence"},
        {"decoders",
         Json::array({{{"type", "Replace"}, {"pattern", {{"String", kMeta}}}, {"content", " "}},
                      {{"type", "Fuse"}},
                      {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}})}};
    EXPECT_EQ(decode_tokens(chain, {kMeta + "hi", kMeta + "there"}), "hi there");
    // WordPiece: "##" continues a word, other tokens get a space; cleanup removes " !".
    EXPECT_EQ(decode_tokens({{"type", "WordPiece"}, {"prefix", "##"}, {"cleanup", true}},
                            {"hi", "##there", "!"}),
              "hithere!");
}

}  // namespace
}  // namespace statescope::test
