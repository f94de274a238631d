// statescope-cli probe as scripts call it, on the random-weight mamba-neox (the GPT-NeoX
// tokenizer): the documented JSON (docs/PROBES-JSON.md) for each probe, prompt lengths in the
// model's tokens, the shipped default corpus, --save into the store, and one-line errors.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/store/session_store.h"
#include "tests/cli/run_cli.h"

namespace statescope {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kModel = fs::path(STATESCOPE_TEST_DATA) / "golden" / "mamba-neox";

using test::slurp;

class ProbeCli : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("statescope_probe_cli_" + std::to_string(::getpid()));
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    // The exit code; stderr in err_, stdout in dir_/out.
    int cli(const std::string& args) {
        const test::CliRun r = test::run_cli_shell(args, dir_);
        err_ = r.err;
        return r.code;
    }
    json probe(const std::string& kind, const std::string& extra) {
        const fs::path out = dir_ / (kind + ".json");
        EXPECT_EQ(cli("probe " + kind + " --model " + kModel.string() + " " + extra + " --out " +
                      out.string()),
                  0)
            << err_;
        EXPECT_NE(err_.find("probe " + kind), std::string::npos) << "progress line on stderr";
        return json::parse(slurp(out));
    }
    fs::path dir_;
    std::string err_;
};

TEST_F(ProbeCli, PasskeyGridInTheModelsTokens) {
    const json j =
        probe("passkey", "--lengths 200,400 --depths 0,1 --samples 2 --seed 9 --max-new 4");
    EXPECT_EQ(j["format"], "statescope-probe");
    EXPECT_EQ(j["version"], 1);
    EXPECT_EQ(j["probe"], "passkey");
    EXPECT_EQ(j["backend"], "cpu");
    EXPECT_EQ(j["model"]["model_type"], "mamba");
    EXPECT_EQ(j["model"]["content_hash"].get<std::string>().size(), 64u);
    EXPECT_TRUE(j["longmamba"].is_null());
    EXPECT_EQ(j["options"]["seed"], 9);
    EXPECT_EQ(j["options"]["jrt"], false);
    ASSERT_EQ(j["samples"].size(), 8u);
    for (const auto& s : j["samples"]) {
        const auto len = s["length"].get<std::int64_t>();
        const auto n = s["prompt_tokens"].get<std::int64_t>();
        // Built to the target from below, within one filler block (~21 NeoX tokens).
        EXPECT_LE(n, len);
        EXPECT_GT(n, len - 30);
        EXPECT_EQ(s["expected"].get<std::string>().size(), 5u);
        EXPECT_LE(s["generated_tokens"].get<std::int64_t>(), 4);
    }
    EXPECT_EQ(j["summary"]["count"], json({{2, 2}, {2, 2}}));
    // Same seed, same file (timings aside).
    json again =
        probe("passkey", "--lengths 200,400 --depths 0,1 --samples 2 --seed 9 --max-new 4");
    for (std::size_t i = 0; i < 8; ++i) {
        EXPECT_EQ(again["samples"][i]["expected"], j["samples"][i]["expected"]);
        EXPECT_EQ(again["samples"][i]["got"], j["samples"][i]["got"]);
    }
    // --jrt: one more context per prompt.
    json jrt =
        probe("passkey", "--lengths 200,400 --depths 0,1 --samples 2 --seed 9 --max-new 4 --jrt");
    EXPECT_EQ(jrt["options"]["jrt"], true);
    for (std::size_t i = 0; i < 8; ++i)
        EXPECT_NEAR(jrt["samples"][i]["prompt_tokens"].get<double>(),
                    j["samples"][i]["prompt_tokens"].get<double>() +
                        j["samples"][i]["context_tokens"].get<double>(),
                    1.0);  // a merge across the seam may save a token
}

TEST_F(ProbeCli, NeedleReadsTheShippedCorpusOrTextFile) {
    json j = probe("needle", "--lengths 300 --depths 0.5 --max-new 3");
    EXPECT_EQ(fs::path(j["corpus"]["file"].get<std::string>()).filename(), "alice.txt");
    EXPECT_GT(j["corpus"]["sentences"].get<int>(), 500);
    ASSERT_EQ(j["samples"].size(), 1u);
    EXPECT_LE(j["samples"][0]["prompt_tokens"].get<int>(), 300);
    const fs::path text = dir_ / "hay.txt";
    std::ofstream(text) << "The quick brown fox jumps over the lazy dog again and again. "
                           "A second sentence that is long enough to be kept as hay here.";
    j = probe("needle", "--lengths 300 --depths 0.5 --max-new 3 --text-file " + text.string());
    EXPECT_EQ(j["corpus"]["file"], text.string());
    EXPECT_EQ(j["corpus"]["sentences"], 2);
}

TEST_F(ProbeCli, PhonebookAndPerplexity) {
    json j = probe("phonebook", "--lengths 300 --depths 0,0.5,1 --max-new 3 --keep-prompts");
    ASSERT_EQ(j["samples"].size(), 3u);
    for (const auto& s : j["samples"]) {
        const std::string expected = s["expected"], prompt = s["prompt"];
        EXPECT_EQ(expected.size(), 10u);
        // The queried name ends the prompt; its entry is in the book.
        const std::string name = prompt.substr(prompt.rfind('\n') + 1);
        ASSERT_EQ(name.back(), ':');
        EXPECT_NE(prompt.find(name + " " + expected + "\n"), std::string::npos) << prompt;
    }
    const fs::path text = dir_ / "text.txt";
    std::ofstream(text) << "Alice was beginning to get very tired of sitting by her sister on the "
                           "bank, and of having nothing to do.";
    j = probe("perplexity", "--text-file " + text.string() + " --chunk 5");
    EXPECT_EQ(j["probe"], "perplexity");
    const auto T = j["tokens"].get<std::size_t>();
    EXPECT_GT(T, 15u);
    EXPECT_EQ(j["ids"].size(), T);
    EXPECT_EQ(j["pieces"].size(), T);
    EXPECT_EQ(j["nll"].size(), T - 1);
    double sum = 0;
    for (const auto& v : j["nll"]) sum += v.get<double>();
    EXPECT_NEAR(j["mean_nll"].get<double>(), sum / double(T - 1), 1e-9);
    EXPECT_NEAR(j["perplexity"].get<double>(), std::exp(sum / double(T - 1)), 1e-6);
    j = probe("perplexity", "--text-file " + text.string() + " --max-tokens 8");
    EXPECT_EQ(j["tokens"], 8);
    EXPECT_EQ(j["nll"].size(), 7u);
    j = probe("perplexity", "--text-file " + text.string() + " --windows 12,1k --pred-len 4");
    EXPECT_EQ(j["mode"], "windows");
    ASSERT_EQ(j["windows"].size(), 1u);  // 1k is longer than the text
    EXPECT_EQ(j["windows"][0]["window"], 12);
    EXPECT_EQ(j["windows"][0]["starts"][0], 0);
    EXPECT_GT(j["average_perplexity"].get<double>(), 1.0);
}

TEST_F(ProbeCli, SaveKeepsTheResultWithTheModel) {
    const fs::path db = dir_ / "s.db";
    const json j =
        probe("passkey", "--lengths 200 --depths 0.5 --max-new 2 --save --db " + db.string());
    const std::int64_t run_id = j["store"]["analysis_run"];
    SessionStore store(db);
    SessionReader r = store.reader();
    const auto models = r.models();
    ASSERT_EQ(models.size(), 1u);
    EXPECT_EQ(models[0].info.content_hash, j["model"]["content_hash"]);
    const auto runs = r.analysis_runs_of_model(models[0].id, "probe.");
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(runs[0].id, run_id);
    EXPECT_EQ(runs[0].kind, "probe.passkey");
    EXPECT_EQ(runs[0].result["samples"], j["samples"]);
    EXPECT_EQ(runs[0].result["summary"], j["summary"]);
    EXPECT_EQ(runs[0].params["lengths"], json({200}));
}

TEST_F(ProbeCli, LongMambaFiltersProbesAndPerplexity) {
    const fs::path cal = dir_ / "cal.json";
    ASSERT_EQ(cli("analyze longmamba-calibrate --model " + kModel.string() + " --text-file " +
                  (fs::path(STATESCOPE_TEST_DATA).parent_path().parent_path() / "resources" /
                   "corpus" / "alice.txt")
                      .string() +
                  " --window 200 --samples 4 --lengths 300,1000 --quiet --out " + cal.string()),
              0)
        << err_;
    const std::string lm = " --longmamba " + cal.string() + " --longmamba-min-tokens 500";
    json j = probe("passkey", "--lengths 400,1k --depths 0.5 --max-new 2" + lm);
    EXPECT_EQ(j["longmamba"]["min_tokens"], 500);
    ASSERT_EQ(j["samples"].size(), 2u);
    EXPECT_EQ(j["samples"][0]["longmamba_active"], false);  // about 380 tokens
    EXPECT_EQ(j["samples"][1]["longmamba_active"], true);   // about 1000
    // The filter zeroes delta of some global channels: the loss changes.
    const std::string ppl = "--max-tokens 1200 --windows 1k --pred-len 100";
    const double filtered = probe("perplexity", ppl + lm)["average_perplexity"];
    const double plain = probe("perplexity", ppl)["average_perplexity"];
    EXPECT_NE(filtered, plain);
}

TEST_F(ProbeCli, GenerateReadsTheContextTwiceWithJrt) {
    const fs::path ctx = dir_ / "doc.txt";
    std::ofstream(ctx) << "Bob's phone number is 6123456789.\n";
    const std::string gen = "generate --model " + kModel.string() + " --max-new 1 --json ";
    ASSERT_EQ(cli(gen + "--context-file " + ctx.string() + " --prompt 'Q: Bob?' --jrt"), 0) << err_;
    const json twice = json::parse(slurp(dir_ / "out"));
    ASSERT_EQ(cli(gen + "--prompt \"Bob's phone number is 6123456789.\n"
                        "Bob's phone number is 6123456789.\nQ: Bob?\""),
              0)
        << err_;
    EXPECT_EQ(twice["prompt_ids"], json::parse(slurp(dir_ / "out"))["prompt_ids"]);
    ASSERT_EQ(cli(gen + "--context-file " + ctx.string() + " --prompt 'Q: Bob?'"), 0) << err_;
    const json once = json::parse(slurp(dir_ / "out"));
    EXPECT_GT(twice["prompt_ids"].size(), once["prompt_ids"].size());
    EXPECT_EQ(cli(gen + "--prompt Q --jrt"), 1);
    EXPECT_NE(err_.find("--jrt needs --context-file"), std::string::npos) << err_;
}

TEST_F(ProbeCli, BadInputsAreOneLineErrors) {
    const std::string m = " --model " + kModel.string() + " --out " + (dir_ / "x.json").string();
    EXPECT_EQ(cli("probe passkey --lengths 1x" + m), 1);
    EXPECT_NE(err_.find("--lengths: \"1x\""), std::string::npos) << err_;
    EXPECT_EQ(cli("probe passkey --depths 0.5,2" + m), 1);
    EXPECT_NE(err_.find("--depths: \"2\""), std::string::npos) << err_;
    EXPECT_EQ(cli("probe passkey --text-file /nonexistent" + m), 1);
    EXPECT_NE(err_.find("--text-file is for needle and perplexity"), std::string::npos) << err_;
    EXPECT_EQ(cli("probe needle --text-file /nonexistent/hay.txt" + m), 1);
    EXPECT_NE(err_.find("/nonexistent/hay.txt"), std::string::npos) << err_;
    EXPECT_EQ(cli("probe mqar" + m), 2);
    EXPECT_EQ(cli("probe passkey --model " +
                  (fs::path(STATESCOPE_TEST_DATA) / "golden" / "mamba-tiny").string() + " --out " +
                  (dir_ / "x.json").string()),
              1);
    EXPECT_NE(err_.find("tokenizer.json"), std::string::npos) << err_;
    EXPECT_FALSE(fs::exists(dir_ / "x.json"));
}

}  // namespace
}  // namespace statescope
