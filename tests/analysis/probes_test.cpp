// Probes (docs/ANALYSES.md §5, docs/PROBES-JSON.md): the specified random numbers, prompts pinned
// for a seed (golden strings, with a one-byte-per-token codec so lengths are byte counts), the
// scoring rules on hand-made replies, JRT's exact doubling, a whole grid on the random-weight
// mamba-tiny (schema, determinism, progress and cancel: not accuracy), and the per-token loss
// against one unchunked forward pass.
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <cmath>
#include <random>
#include <set>
#include <sstream>

#include "core/analysis/longmamba.h"
#include "core/analysis/probes/perplexity.h"
#include "core/analysis/probes/probe_json.h"
#include "core/analysis/probes/probe_rng.h"
#include "core/analysis/probes/probe_runner.h"
#include "core/analysis/probes/probe_store.h"
#include "core/analysis/probes/prompts.h"
#include "core/analysis/probes/scoring.h"
#include "core/error.h"
#include "core/runtime/backends.h"
#include "core/runtime/model.h"
#include "core/runtime/sequence.h"
#include "core/store/session_store.h"
#include "tests/analysis/byte_codec.h"
#include "tests/analysis/reference.h"

namespace statescope {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;
using testing_ref::byte_codec;
using testing_ref::kGolden;
using testing_ref::sample_ids;

const std::string kPrefix =
    "There is an important info hidden inside a lot of irrelevant text. Find it and memorize "
    "it.\n\n";
const std::string kBlock =
    "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.\n";
const std::string kSuffix = "\nWhat is the pass key? The passkey is";

TEST(probes, RngIsTheStandardEngineWithOurOwnDistributions) {
    // The standard fixes mt19937_64's 10000th output for the default seed 5489.
    ProbeRng r(5489);
    std::uint64_t v = 0;
    for (int i = 0; i < 10000; ++i) v = r.next();
    EXPECT_EQ(v, 9981545732273789042ULL);
    // uniform_int(lo, hi) is lo + x mod n for the engine's next x (rejection is 2^-47-rare for
    // n = 10^5), whatever the standard library's distributions do.
    std::mt19937_64 raw(42);
    ProbeRng a(42);
    for (int i = 0; i < 1000; ++i) ASSERT_EQ(a.uniform_int(0, 99999), std::int64_t(raw() % 100000));
    ProbeRng b(7);
    for (int i = 0; i < 1000; ++i) {
        const auto x = b.uniform_int(-3, 3);
        ASSERT_GE(x, -3);
        ASSERT_LE(x, 3);
        const double u = b.uniform01();
        ASSERT_GE(u, 0.0);
        ASSERT_LT(u, 1.0);
    }
    // A cell's seed depends on its own coordinates only.
    EXPECT_EQ(sample_seed(123, 1024, 0.5, 0), sample_seed(123, 1024, 0.5, 0));
    EXPECT_NE(sample_seed(123, 1024, 0.5, 0), sample_seed(123, 1024, 0.5, 1));
    EXPECT_NE(sample_seed(123, 1024, 0.5, 0), sample_seed(123, 2048, 0.5, 0));
    EXPECT_NE(sample_seed(123, 1024, 0.5, 0), sample_seed(123, 1024, 0.25, 0));
    EXPECT_NE(sample_seed(123, 1024, 0.5, 0), sample_seed(124, 1024, 0.5, 0));
}

TEST(probes, PasskeyPromptIsPinnedForASeed) {
    const TextCodec codec = byte_codec();
    // (400 - 92 - 37) / 89 = 3 blocks; the needle replaces block int(0.5 * 2) = 1.
    ProbePrompt p = build_probe_prompt(ProbeKind::Passkey, codec, nullptr, 400, 0.5,
                                       sample_seed(123, 400, 0.5, 0));
    EXPECT_EQ(p.expected, "47351");
    const std::string needle =
        "The passkey is " + p.expected + ". Remember it. " + p.expected + " is the passkey.\n";
    EXPECT_EQ(p.context, kPrefix + kBlock + needle + kBlock);
    EXPECT_EQ(p.question, kSuffix);
    EXPECT_EQ(p.needle_offset, kPrefix.size() + kBlock.size());
    EXPECT_EQ(p.units, 3);
    EXPECT_EQ(p.needle_unit, 1);
    EXPECT_LE(codec.count(p.text(false)), 400);
    // The same seed, the same prompt; depth 0 and 1 put the needle in the first and last block.
    EXPECT_EQ(build_probe_prompt(ProbeKind::Passkey, codec, nullptr, 400, 0.5,
                                 sample_seed(123, 400, 0.5, 0))
                  .text(false),
              p.text(false));
    ProbeRng r0(1), r1(1);
    EXPECT_EQ(passkey_prompt(codec, 2000, 0.0, r0).needle_unit, 0);
    const ProbePrompt last = passkey_prompt(codec, 2000, 1.0, r1);
    EXPECT_EQ(last.needle_unit, last.units - 1);
    EXPECT_EQ(last.units, (2000 - 92 - 37) / 89);
    // Keys are five digits, zero-padded.
    ProbeRng r(3);
    for (int i = 0; i < 50; ++i) {
        const std::string k = passkey_prompt(codec, 300, 0.5, r).expected;
        ASSERT_EQ(k.size(), 5u) << k;
        ASSERT_EQ(k.find_first_not_of("0123456789"), std::string::npos) << k;
    }
}

TEST(probes, SentencesSplitAfterStopsAndClosingQuotes) {
    const auto s = split_sentences(
        "  Alice was   tired.\nShe said \xE2\x80\x98Why?\xE2\x80\x99 Then (a pause.) "
        "\"Go!\" she cried. e.g.x stays. End");
    ASSERT_EQ(s.size(), 7u);
    EXPECT_EQ(s[0], "Alice was tired.");
    EXPECT_EQ(s[1], "She said \xE2\x80\x98Why?\xE2\x80\x99");
    EXPECT_EQ(s[2], "Then (a pause.)");
    EXPECT_EQ(s[3], "\"Go!\"");  // a quoted exclamation ends a sentence too
    EXPECT_EQ(s[4], "she cried.");
    EXPECT_EQ(s[5], "e.g.x stays.");
    EXPECT_EQ(s[6], "End");
}

const char* kSmallCorpus =
    "Alice was beginning to get very tired of sitting by her sister on the bank. "
    "Once or twice she had peeped into the book her sister was reading. "
    "It had no pictures or conversations in it. Ok. "
    "So she was considering in her own mind what a hot day it made her feel. "
    "Suddenly a White Rabbit with pink eyes ran close by her.";

TEST(probes, NeedlePromptIsPinnedForASeed) {
    const TextCodec codec = byte_codec();
    const Haystack h = Haystack::from_text(kSmallCorpus, codec);
    ASSERT_EQ(h.sentences.size(), 5u);                                // "Ok." is under 10 tokens
    EXPECT_EQ(h.tokens[2], std::int64_t(h.sentences[2].size() + 1));  // " " + sentence
    const ProbePrompt p =
        build_probe_prompt(ProbeKind::Needle, codec, &h, 400, 0.5, sample_seed(123, 400, 0.5, 0));
    EXPECT_EQ(p.expected, "47351");
    // From sentence 4 on (cyclic), as many as fit; the fact before the one at about half the
    // haystack.
    EXPECT_EQ(p.context,
              "There is an important pass key hidden inside a lot of irrelevant text. Find it and "
              "memorize it:\nSuddenly a White Rabbit with pink eyes ran close by her. Alice was "
              "beginning to get very tired of sitting by her sister on the bank. The pass key is "
              "47351. Remember it. 47351 is the pass key. Once or twice she had peeped into the "
              "book her sister was reading. It had no pictures or conversations ");
    EXPECT_EQ(p.units, 4);  // the last sentence cut at a word to fill the length
    EXPECT_EQ(p.needle_unit, 2);
    EXPECT_EQ(p.question, "\nAnswer: ");
    EXPECT_LE(codec.count(p.text(false)), 400);
    EXPECT_GT(codec.count(p.text(false)), 400 - 8);  // within the next word ("in")
    const std::string fact =
        "The pass key is " + p.expected + ". Remember it. " + p.expected + " is the pass key. ";
    EXPECT_EQ(p.context.substr(p.needle_offset, fact.size()), fact);
    EXPECT_THROW(Haystack::from_text("Short. Tiny.", codec), Error);
}

TEST(probes, PhonebookPromptIsPinnedForASeed) {
    const TextCodec codec = byte_codec();
    const ProbePrompt p = build_probe_prompt(ProbeKind::PhoneBook, codec, nullptr, 200, 1.0,
                                             sample_seed(123, 200, 1.0, 0));
    EXPECT_EQ(p.context,
              "Michael Campbell: 6843603834\nScott Perez: 6031449038\nLisa Garcia: "
              "9062596560\nRonald Campbell: 8558809785");
    EXPECT_EQ(p.question,
              "\n\nLisa Garcia: 9062596560\nScott Perez: 6031449038\n\nRonald Campbell:");
    EXPECT_EQ(p.expected, "8558809785");
    EXPECT_EQ(p.needle_unit, p.units - 1);  // depth 1: the last entry
    EXPECT_LE(codec.count(p.text(false)), 200);
    // Every entry: a name, ": ", then 6-9 and nine digits; names distinct.
    ProbeRng r(9);
    const ProbePrompt big = phonebook_prompt(codec, 3000, 0.3, r);
    std::set<std::string> names;
    std::stringstream ss(big.context);
    std::string line;
    std::int64_t n = 0;
    while (std::getline(ss, line)) {
        const auto colon = line.find(": ");
        ASSERT_NE(colon, std::string::npos) << line;
        const std::string phone = line.substr(colon + 2);
        ASSERT_EQ(phone.size(), 10u) << line;
        ASSERT_TRUE(phone[0] >= '6' && phone[0] <= '9') << line;
        ASSERT_EQ(phone.find_first_not_of("0123456789"), std::string::npos) << line;
        ASSERT_TRUE(names.insert(line.substr(0, colon)).second) << "repeated name: " << line;
        ++n;
    }
    EXPECT_EQ(n, big.units);
    EXPECT_EQ(big.needle_unit, std::int64_t(0.3 * double(big.units - 1)));
}

TEST(probes, ScoringRules) {
    // passkey: anywhere in the reply
    EXPECT_TRUE(contains_match(" 04217. Remember", "04217"));
    EXPECT_TRUE(contains_match("x04217x", "04217"));
    EXPECT_FALSE(contains_match(" 0421", "04217"));
    EXPECT_FALSE(contains_match("anything", ""));
    // needle: a whole word between spaces or newlines
    EXPECT_TRUE(whole_word_match("The pass key is 4217 indeed", "4217"));
    EXPECT_TRUE(whole_word_match("4217", "4217"));
    EXPECT_TRUE(whole_word_match("is\n4217\n", "4217"));
    EXPECT_FALSE(whole_word_match("42170", "4217"));
    EXPECT_FALSE(whole_word_match("4217.", "4217"));  // as `gt in response.split(' ')`
    EXPECT_FALSE(whole_word_match("x 14217 y", "4217"));
    // phone book: the first line, stripped, equals the answer
    EXPECT_TRUE(first_line_match(" 6123456789", "6123456789"));
    EXPECT_TRUE(first_line_match("\t6123456789  \nJohn Smith: 7000000000", "6123456789"));
    EXPECT_FALSE(first_line_match("\n6123456789", "6123456789"));  // the first line is empty
    EXPECT_FALSE(first_line_match(" 6123456789 or so", "6123456789"));
    EXPECT_FALSE(first_line_match(" 612345678", "6123456789"));
    EXPECT_EQ(first_line("  a b \r\nc"), "a b");
    // each probe's rule
    EXPECT_TRUE(probe_correct(ProbeKind::Passkey, "x12345.", "12345"));
    EXPECT_FALSE(probe_correct(ProbeKind::Needle, "x12345.", "12345"));
    EXPECT_FALSE(probe_correct(ProbeKind::PhoneBook, "12345 6", "12345"));
}

TEST(probes, JrtRepeatsTheContextExactlyOnce) {
    const TextCodec codec = byte_codec();
    const Haystack h = Haystack::from_text(kSmallCorpus, codec);
    for (auto kind : {ProbeKind::Passkey, ProbeKind::Needle, ProbeKind::PhoneBook}) {
        const ProbePrompt p = build_probe_prompt(kind, codec, &h, 600, 0.25, 77);
        ASSERT_FALSE(p.context.empty());
        EXPECT_EQ(p.text(true), p.context + p.context + p.question) << probe_kind_name(kind);
        EXPECT_EQ(p.text(false), p.context + p.question);
        EXPECT_EQ(codec.count(p.text(true)) - codec.count(p.text(false)), codec.count(p.context));
    }
    EXPECT_EQ(jrt_prompt("Doc. ", "Q?"), "Doc. Doc. Q?");
}

TEST(probes, JrtMessageReadsTheContextTwiceAndTheQuestionOnce) {
    // A chat message: the context is everything up to its last blank line.
    EXPECT_EQ(jrt_message("Para one.\n\nPara two.\n\nWhat is it?"),
              "Para one.\n\nPara two.\n\nPara one.\n\nPara two.\n\nWhat is it?");
    // One paragraph is all context: twice, joined by a blank line.
    EXPECT_EQ(jrt_message("Remember 4711."), "Remember 4711.\n\nRemember 4711.");
    EXPECT_EQ(jrt_message(""), "\n\n");
}

class ProbeRunTest : public ::testing::Test {
  protected:
    void SetUp() override {
        backend_ = make_backend("cpu");
        model_ = Model::load(kGolden / "mamba-tiny", *backend_);
    }
    ProbeOptions grid(ProbeKind kind) const {
        ProbeOptions o;
        o.kind = kind;
        o.lengths = {300, 400};
        o.depths = {0.0, 1.0};
        o.samples = 2;
        o.seed = 5;
        o.max_new_tokens = 6;
        o.prefill_chunk = 256;
        return o;
    }
    std::unique_ptr<kernels::Backend> backend_;
    std::unique_ptr<Model> model_;
};

TEST_F(ProbeRunTest, GridOnMambaTinyHasTheDocumentedSchemaAndRepeats) {
    const TextCodec codec = byte_codec();
    const Haystack h = Haystack::from_text(kSmallCorpus, codec);
    for (auto kind : {ProbeKind::Passkey, ProbeKind::Needle, ProbeKind::PhoneBook}) {
        SCOPED_TRACE(probe_kind_name(kind));
        std::vector<std::pair<std::int64_t, std::int64_t>> calls;
        ProbeHooks hooks;
        hooks.progress = [&](std::int64_t done, std::int64_t total) {
            calls.emplace_back(done, total);
            return true;
        };
        const ProbeRun run = run_probe(*model_, codec, grid(kind), &h, hooks);
        ASSERT_EQ(run.samples.size(), 8u);
        EXPECT_EQ(run.planned, 8);
        EXPECT_FALSE(run.cancelled);
        ASSERT_EQ(calls.size(), 8u);
        EXPECT_EQ(calls.back(), std::make_pair(std::int64_t(8), std::int64_t(8)));
        const json j = probe_run_json(run);
        EXPECT_EQ(j["format"], "statescope-probe");
        EXPECT_EQ(j["version"], 1);
        EXPECT_EQ(j["probe"], probe_kind_name(kind));
        EXPECT_EQ(j["options"]["lengths"], json({300, 400}));
        EXPECT_EQ(j["options"]["max_new_tokens"], 6);
        EXPECT_EQ(j["completed"], 8);
        EXPECT_EQ(j["cancelled"], false);
        std::int64_t correct = 0;
        for (std::size_t i = 0; i < 8; ++i) {
            const json& s = j["samples"][i];
            for (const char* key : {"length", "depth", "sample", "seed", "prompt_tokens",
                                    "context_tokens", "needle_token", "actual_depth", "units",
                                    "expected", "got", "correct", "generated_tokens", "seconds"})
                ASSERT_TRUE(s.contains(key)) << key;
            // length-major, then depth, then sample
            EXPECT_EQ(s["length"], i < 4 ? 300 : 400);
            EXPECT_EQ(s["depth"], (std::vector<double>{0.0, 1.0})[(i / 2) % 2]);
            EXPECT_EQ(s["sample"], i % 2);
            EXPECT_LE(s["prompt_tokens"].get<std::int64_t>(), s["length"].get<std::int64_t>());
            EXPECT_GT(s["prompt_tokens"].get<std::int64_t>(), 0);
            EXPECT_LE(s["generated_tokens"].get<std::int64_t>(), 6);
            EXPECT_EQ(s["got"].get<std::string>().find('\n'), std::string::npos);
            EXPECT_EQ(s["correct"].get<bool>(), probe_correct(kind, s["got"].get<std::string>(),
                                                              s["expected"].get<std::string>()));
            correct += s["correct"].get<bool>();
        }
        const json& sum = j["summary"];
        EXPECT_EQ(sum["lengths"], json({300, 400}));
        EXPECT_EQ(sum["depths"], json({0.0, 1.0}));
        ASSERT_EQ(sum["accuracy"].size(), 2u);
        ASSERT_EQ(sum["accuracy"][0].size(), 2u);
        EXPECT_EQ(sum["count"], json({{2, 2}, {2, 2}}));
        EXPECT_DOUBLE_EQ(sum["overall"].get<double>(), double(correct) / 8.0);
        // The same options, the same prompts and replies.
        const ProbeRun again = run_probe(*model_, codec, grid(kind), &h, {});
        for (std::size_t i = 0; i < 8; ++i) {
            EXPECT_EQ(again.samples[i].seed, run.samples[i].seed);
            EXPECT_EQ(again.samples[i].expected, run.samples[i].expected);
            EXPECT_EQ(again.samples[i].prompt_tokens, run.samples[i].prompt_tokens);
            EXPECT_EQ(again.samples[i].got, run.samples[i].got);
        }
        // JRT: each prompt longer by exactly one context.
        // The recorded seed rebuilds the prompt alone (kept here with keep_prompts).
        ProbeOptions jo = grid(kind);
        jo.jrt = true;
        jo.keep_prompts = true;
        const ProbeRun jrt = run_probe(*model_, codec, jo, &h, {});
        for (std::size_t i = 0; i < 8; ++i) {
            const ProbeSample& s = jrt.samples[i];
            EXPECT_EQ(s.prompt_tokens,
                      run.samples[i].prompt_tokens + run.samples[i].context_tokens);
            const ProbePrompt rebuilt =
                build_probe_prompt(kind, codec, &h, s.length, s.depth, s.seed);
            EXPECT_EQ(s.prompt, rebuilt.text(true));
            // units: what the prompt builder counted (phone-book entries, blocks or sentences)
            EXPECT_EQ(s.units, rebuilt.units);
            EXPECT_GT(s.units, 0);
            EXPECT_EQ(j["samples"][i]["units"], run.samples[i].units);
        }
        EXPECT_EQ(probe_run_json(jrt)["samples"][0]["prompt"], jrt.samples[0].prompt);
        EXPECT_FALSE(j["samples"][0].contains("prompt"));
    }
}

TEST_F(ProbeRunTest, ProgressCanStopAndCancelFlagStops) {
    const TextCodec codec = byte_codec();
    ProbeHooks hooks;
    hooks.progress = [](std::int64_t done, std::int64_t) { return done < 3; };
    ProbeRun run = run_probe(*model_, codec, grid(ProbeKind::Passkey), nullptr, hooks);
    EXPECT_TRUE(run.cancelled);
    EXPECT_EQ(run.samples.size(), 3u);
    const json j = probe_run_json(run);
    EXPECT_EQ(j["completed"], 3);
    EXPECT_EQ(j["summary"]["count"], json({{2, 1}, {0, 0}}));
    EXPECT_TRUE(j["summary"]["accuracy"][1][0].is_null());
    // The flag, set before the run (as a Stop button pressed at once): nothing runs.
    std::atomic<bool> stop{true};
    ProbeHooks h2;
    h2.cancel = &stop;
    run = run_probe(*model_, codec, grid(ProbeKind::Passkey), nullptr, h2);
    EXPECT_TRUE(run.cancelled);
    EXPECT_TRUE(run.samples.empty());
    // Set from the progress callback (another thread in the studio): stops after that sample.
    std::atomic<bool> later{false};
    ProbeHooks h3;
    h3.cancel = &later;
    h3.progress = [&](std::int64_t done, std::int64_t) {
        if (done == 2) later = true;
        return true;
    };
    run = run_probe(*model_, codec, grid(ProbeKind::Passkey), nullptr, h3);
    EXPECT_TRUE(run.cancelled);
    EXPECT_EQ(run.samples.size(), 2u);
    EXPECT_THROW(run_probe(*model_, codec, grid(ProbeKind::Needle), nullptr, {}), Error);
    ProbeOptions empty = grid(ProbeKind::Passkey);
    empty.depths.clear();
    EXPECT_THROW(run_probe(*model_, codec, empty, nullptr, {}), Error);
}

TEST(probes, LongMambaFiltersEveryLongEnoughPrompt) {
    auto backend = make_backend("cpu");
    auto model = Model::load(kGolden / "mamba2-tiny", *backend);
    const std::vector<std::int32_t> ids = sample_ids(240);
    CalibrationOptions co;
    co.window = 50;
    co.samples = 4;
    co.lengths = {50, 100, 400};
    LongMambaFilter filter(calibrate_longmamba(*model, ids, co), {5e-2, 1.0, 350, true});
    const TextCodec codec = byte_codec();
    ProbeOptions o;
    o.lengths = {300, 400};  // prompts of 275 and 364 tokens: only the second is filtered
    o.depths = {0.5};
    o.max_new_tokens = 3;
    ProbeHooks hooks;
    hooks.longmamba = &filter;
    const ProbeRun run = run_probe(*model, codec, o, nullptr, hooks);
    ASSERT_EQ(run.samples.size(), 2u);
    EXPECT_FALSE(run.samples[0].longmamba_active);
    EXPECT_TRUE(run.samples[1].longmamba_active);
    EXPECT_EQ(filter.target_length(), 400);
    // The mask of the last prompt covers each of its tokens and units.
    ASSERT_FALSE(filter.masks().empty());
    const auto& kept = filter.masks()[0].kept;
    EXPECT_EQ(std::int64_t(kept.size()), run.samples[1].prompt_tokens * filter.masks()[0].units);
    // The filter is unregistered after the run: a plain prefill is not filtered.
    const ProbeRun plain = run_probe(*model, codec, o, nullptr, {});
    EXPECT_FALSE(plain.samples[1].longmamba_active);
}

TEST_F(ProbeRunTest, WindowedLossScoresTheLastTokensOfEachWindow) {
    std::vector<std::int32_t> ids;
    for (int i = 0; i < 70; ++i) ids.push_back((i * 53 + 7) % 500);
    WindowedOptions wo;
    wo.windows = {40, 100};  // 100 > 70 tokens: left out
    wo.pred_len = 5;
    PerplexityOptions po;
    po.chunk = 16;
    std::int64_t calls = 0;
    const WindowedLoss got = windowed_loss(*model_, ids, wo, po, [&](std::int64_t, std::int64_t t) {
        EXPECT_EQ(t, 4);
        ++calls;
        return true;
    });
    EXPECT_EQ(calls, 4);
    ASSERT_EQ(got.windows.size(), 1u);
    const WindowLoss& w = got.windows[0];
    // stride = max((70 - 40) / 10, 10) = 10: windows at 0, 10, 20, 30.
    EXPECT_EQ(w.starts, (std::vector<std::int64_t>{0, 10, 20, 30}));
    const auto V = std::size_t(model_->spec().vocab_size);
    double all = 0;
    for (std::size_t k = 0; k < 4; ++k) {
        // Reference: the window in one forward pass, the NLL of its last 5 tokens.
        Sequence seq(*model_);
        std::vector<float> logits;
        model_->forward(seq, std::span(ids).subspan(std::size_t(w.starts[k]), 40), LogitRows::All,
                        &logits);
        double sum = 0;
        for (std::size_t t = 35; t < 40; ++t)
            sum += token_nll(std::span(logits).subspan((t - 1) * V, V),
                             ids[std::size_t(w.starts[k]) + t]);
        EXPECT_NEAR(w.mean_nll[k], sum / 5.0, 1e-4) << k;
        all += sum / 5.0;
    }
    EXPECT_NEAR(w.nll, all / 4.0, 1e-4);
    EXPECT_NEAR(w.perplexity, std::exp(w.nll), 1e-9 * w.perplexity);
    EXPECT_DOUBLE_EQ(got.average_perplexity, w.perplexity);
    const json j = windowed_loss_json(got, wo);
    EXPECT_EQ(j["mode"], "windows");
    EXPECT_EQ(j["windows"][0]["starts"].size(), 4u);
    wo.windows = {5};
    EXPECT_THROW(windowed_loss(*model_, ids, wo, po), Error);  // not longer than pred_len
}

// Every architecture runs the probes, and a sample does not depend on the ones before it (the
// sequence is reset: recurrent state and KV cache): the last cell of a grid, run alone, replies the
// same.
TEST(probes, EveryModelTypeRunsAndSamplesAreIndependent) {
    const TextCodec codec = byte_codec();
    for (const char* name : {"mamba-tiny", "mamba2-tiny", "falcon_mamba-tiny", "jamba-tiny",
                             "bamba-tiny", "falcon_h1-tiny", "zamba2-tiny", "nemotron_h-tiny",
                             "granitemoehybrid-tiny", "llama-tiny", "qwen3-tiny"}) {
        SCOPED_TRACE(name);
        auto backend = make_backend("cpu");
        auto model = Model::load(kGolden / name, *backend);
        ProbeOptions o;
        o.kind = ProbeKind::PhoneBook;
        o.lengths = {200, 300};
        o.depths = {0.0, 1.0};
        o.max_new_tokens = 4;
        o.prefill_chunk = 128;
        std::int64_t prompt_calls = 0;
        ProbeHooks hooks;
        hooks.prompt_progress = [&](std::int64_t, std::int64_t total, std::int64_t read,
                                    std::int64_t of) {
            EXPECT_EQ(total, 4);
            EXPECT_LE(read, of);
            ++prompt_calls;
        };
        const ProbeRun grid = run_probe(*model, codec, o, nullptr, hooks);
        ASSERT_EQ(grid.samples.size(), 4u);
        EXPECT_GE(prompt_calls, 4 * 2);  // 200-300 tokens in chunks of 128: 2-3 calls each
        o.lengths = {300};
        o.depths = {1.0};
        const ProbeRun alone = run_probe(*model, codec, o, nullptr, {});
        ASSERT_EQ(alone.samples.size(), 1u);
        EXPECT_EQ(alone.samples[0].prompt_tokens, grid.samples[3].prompt_tokens);
        EXPECT_EQ(alone.samples[0].got, grid.samples[3].got);
        EXPECT_EQ(alone.samples[0].generated_tokens, grid.samples[3].generated_tokens);
    }
}

TEST(probes, TokenNllIsTheNegativeLogSoftmax) {
    const std::vector<float> logits = {0.0f, std::log(3.0f), -1000.0f};
    EXPECT_NEAR(token_nll(logits, 1), -std::log(0.75), 1e-7);
    EXPECT_NEAR(token_nll(logits, 0), -std::log(0.25), 1e-7);
    EXPECT_GT(token_nll(logits, 2), 999.0);
    EXPECT_THROW(token_nll(logits, 3), Error);
}

TEST_F(ProbeRunTest, TokenLossInChunksMatchesOneForwardPass) {
    const std::vector<std::int32_t> ids = sample_ids(70);
    // Reference: one forward over all tokens, every row's logits.
    Sequence seq(*model_);
    std::vector<float> all;
    model_->forward(seq, ids, LogitRows::All, &all);
    const auto V = std::size_t(model_->spec().vocab_size);
    std::vector<double> want;
    for (std::size_t t = 1; t < ids.size(); ++t)
        want.push_back(token_nll(std::span(all).subspan((t - 1) * V, V), ids[t]));
    std::int64_t calls = 0;
    PerplexityOptions po;
    po.chunk = 16;
    const TokenLoss got = token_loss(*model_, ids, po, [&](std::int64_t done, std::int64_t total) {
        ++calls;
        EXPECT_EQ(total, 69);
        return done > 0;
    });
    EXPECT_EQ(calls, 5);  // 16, 32, 48, 64, 69
    ASSERT_EQ(got.nll.size(), want.size());
    double sum = 0;
    for (std::size_t i = 0; i < want.size(); ++i) {
        EXPECT_NEAR(got.nll[i], want[i], 1e-4 * std::max(1.0, want[i])) << i;
        sum += want[i];
    }
    EXPECT_NEAR(got.mean_nll, sum / double(want.size()), 1e-4);
    EXPECT_NEAR(got.perplexity, std::exp(got.mean_nll), 1e-9 * got.perplexity);
    EXPECT_FALSE(got.cancelled);
    // Stopping after the second chunk keeps what was read.
    const TokenLoss part =
        token_loss(*model_, ids, po, [](std::int64_t done, std::int64_t) { return done < 32; });
    EXPECT_TRUE(part.cancelled);
    EXPECT_EQ(part.nll.size(), 32u);
    const json j = token_loss_json(got, ids, {}, 16);
    EXPECT_EQ(j["probe"], "perplexity");
    EXPECT_EQ(j["nll"].size(), 69u);
    EXPECT_EQ(j["tokens"], 70);
    EXPECT_THROW(token_loss(*model_, std::vector<std::int32_t>{5}, po), Error);
}

json stored_doc(std::vector<std::int64_t> lengths, std::vector<double> by_length, bool jrt) {
    return {{"probe", "passkey"},
            {"options", {{"jrt", jrt}}},
            {"summary",
             {{"lengths", lengths}, {"accuracy_by_length", by_length}, {"overall", by_length[0]}}}};
}

TEST(probes, StoredRunsCompareModelsOnTheirNewestRun) {
    const fs::path db = fs::temp_directory_path() /
                        ("statescope_probe_store_" + std::to_string(::getpid()) + ".db");
    {
        SessionStore store(db);
        const ModelInfo a{"/m/mamba-130m", "mamba", std::string(64, 'a')};
        const ModelInfo b{"/m/zamba2-1.2b", "zamba2", std::string(64, 'b')};
        save_probe_run(store, a, "passkey", {}, stored_doc({1024, 2048}, {0.5, 0.25}, false));
        save_probe_run(store, b, "passkey", {}, stored_doc({1024, 4096}, {1.0, 0.75}, true));
        save_probe_run(store, a, "passkey", {}, stored_doc({1024, 2048}, {0.75, 0.5}, true));
        save_probe_run(store, a, "perplexity", {},
                       {{"probe", "perplexity"}, {"perplexity", 12.5}, {"mean_nll", 2.5}});
        store.flush();
        SessionReader reader = store.reader();
        const auto runs = stored_probes(reader);
        ASSERT_EQ(runs.size(), 4u);
        EXPECT_EQ(runs[0].probe, "passkey");
        EXPECT_EQ(runs[0].model.info.content_hash, a.content_hash);
        EXPECT_EQ(stored_probes(reader, {runs[0].model.id}).size(), 3u);  // model a
        const json cmp = probe_comparison_json(runs, "passkey");
        EXPECT_EQ(cmp["lengths"], json({1024, 2048, 4096}));
        ASSERT_EQ(cmp["rows"].size(), 2u);
        // Model a: its newest run (the JRT one), null where it has no such length.
        EXPECT_EQ(cmp["rows"][0]["model"]["path"], "/m/mamba-130m");
        EXPECT_EQ(cmp["rows"][0]["accuracy_by_length"], json({0.75, 0.5, nullptr}));
        EXPECT_EQ(cmp["rows"][0]["jrt"], true);
        EXPECT_EQ(cmp["rows"][1]["accuracy_by_length"], json({1.0, nullptr, 0.75}));
        const json ppl = probe_comparison_json(runs, "perplexity");
        ASSERT_EQ(ppl["rows"].size(), 1u);
        EXPECT_EQ(ppl["rows"][0]["perplexity"], 12.5);
        EXPECT_TRUE(probe_comparison_json(runs, "needle")["rows"].empty());
    }
    fs::remove(db);
    fs::remove(fs::path(db.string() + "-wal"));
    fs::remove(fs::path(db.string() + "-shm"));
    fs::remove(fs::path(db.string() + "-lock"));
    fs::remove_all(fs::path(db.string() + ".blobs"));
}

}  // namespace
}  // namespace statescope
