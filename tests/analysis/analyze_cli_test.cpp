// statescope-cli analyze as outside scripts call it: every KIND's JSON fields and shapes
// (docs/ANALYSIS-JSON.md), the delta and exponents it prints against a float64 recomputation from
// the weights, generate --longmamba, and one-line errors.
#include <gtest/gtest.h>

#include <unistd.h>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/analysis/reference.h"
#include "tests/cli/run_cli.h"

namespace statescope {
namespace {

using namespace testing_ref;
using nlohmann::json;

using test::CliRun;
using test::slurp;

CliRun cli(const std::string& args) {
    const fs::path tmp =
        fs::temp_directory_path() / ("statescope_analyze_cli_" + std::to_string(::getpid()));
    fs::create_directories(tmp);
    return test::run_cli_shell(args, tmp);
}

// sample_ids(n) as the CLI's --ids value.
std::string ids_arg(int n) {
    std::string s;
    for (const std::int32_t id : sample_ids(n)) {
        if (!s.empty()) s += ',';
        s += std::to_string(id);
    }
    return s;
}

class AnalyzeCli : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("statescope_analyze_" + std::to_string(::getpid()));
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    json analyze(const std::string& kind, const std::string& model, const std::string& extra) {
        const fs::path out = dir_ / (kind + ".json");
        CliRun r = cli("analyze " + kind + " --model " + (kGolden / model).string() + " " + extra +
                       " --out " + out.string());
        EXPECT_EQ(r.code, 0) << r.err;
        EXPECT_NE(r.err.find("analyze " + kind), std::string::npos) << "progress line on stderr";
        return json::parse(slurp(out));
    }
    fs::path dir_;
};

TEST_F(AnalyzeCli, DecayPrintsAAndDeltaAndHalfLifePerLayer) {
    for (const char* model : {"mamba-tiny", "mamba2-tiny"}) {
        const json j = analyze("decay", model, "--ids " + ids_arg(12) + " --from 2 --to 9");
        EXPECT_EQ(j["kind"], "decay");
        EXPECT_EQ(j["tokens"], 12);
        ASSERT_EQ(j["layers"].size(), 3u);
        const Checkpoint ck(kGolden / model);
        const auto ref = reference_delta(ck, 0, layer0_input(ck, sample_ids(12)), 12);
        for (const auto& l : j["layers"]) {
            const bool m2 = std::string(model) == "mamba2-tiny";
            EXPECT_EQ(l["mixer"], m2 ? "mamba2" : "mamba1");
            const std::size_t U = m2 ? 8 : 128;
            ASSERT_EQ(l["delta"].size(), 12u);
            ASSERT_EQ(l["delta"][0].size(), U);
            ASSERT_EQ(l["decay"].size(), 12u);
            ASSERT_EQ(l["half_life"].size(), U);
            if (m2) {
                ASSERT_EQ(l["A"].size(), 8u);
                EXPECT_TRUE(l["A"][0].is_number());
                EXPECT_EQ(l["retention"]["log10"].size(), 8u);
            } else {
                ASSERT_EQ(l["A"].size(), 128u);
                ASSERT_EQ(l["A"][0].size(), 16u);
                EXPECT_EQ(l["retention"]["log10"][0].size(), 16u);
            }
            for (const char* q : {"min", "p10", "p50", "p90", "max"})
                EXPECT_TRUE(l["half_life_quantiles"].contains(q));
            if (l["index"] == 0) {
                for (std::size_t t = 0; t < 12; ++t)
                    for (std::size_t u = 0; u < U; ++u)
                        EXPECT_NEAR(l["delta"][t][u].get<double>(), ref[t * U + u],
                                    2e-4 * ref[t * U + u] + 1e-7);
            }
        }
    }
}

TEST_F(AnalyzeCli, LyapunovExponentsMatchTheWeightsAndTheMaxIsTheMax) {
    for (const char* model : {"falcon_mamba-tiny", "mamba2-tiny"}) {
        const json j = analyze("lyapunov", model, "--ids " + ids_arg(16) + " --layers 0");
        ASSERT_EQ(j["layers"].size(), 1u);
        const json& l = j["layers"][0];
        const Checkpoint ck(kGolden / model);
        const auto delta = reference_delta(ck, 0, layer0_input(ck, sample_ids(16)), 16);
        const Tensor a_log = ck.get("backbone.layers.0.mixer.A_log");
        const std::size_t U = l["exponents"].size();
        const std::size_t N = a_log.v.size() / U;
        double mx = -INFINITY;
        for (std::size_t u = 0; u < U; ++u) {
            double mean = 0, a = -INFINITY;
            for (std::size_t t = 0; t < 16; ++t) mean += delta[t * U + u] / 16;
            for (std::size_t n = 0; n < N; ++n) a = std::max(a, -std::exp(a_log.v[u * N + n]));
            EXPECT_NEAR(l["exponents"][u].get<double>(), a * mean, 2e-4 * std::fabs(a * mean));
            mx = std::max(mx, a * mean);
        }
        EXPECT_NEAR(l["max"].get<double>(), mx, 2e-4 * std::fabs(mx));
        EXPECT_EQ(j["max"], l["max"]);
        EXPECT_EQ(j["argmax_layer"], 0);
    }
    const json p = analyze("lyapunov", "mamba2-tiny",
                           "--ids " + ids_arg(40) + " --perturb state --t0 8 --stride 4");
    ASSERT_EQ(p["perturbation"]["layers"].size(), 3u);
    for (const auto& l : p["perturbation"]["layers"])
        for (std::size_t i = 0; i < l["measured"].size(); ++i)
            EXPECT_LE(l["measured"][i].get<double>(), l["bound"][i].get<double>() * 1.001 + 1e-5);
}

TEST_F(AnalyzeCli, EveryOtherKindWritesItsFields) {
    const std::string ids = "--ids " + ids_arg(64);
    json j = analyze("state-stats", "mamba2-tiny", ids + " --stride 16");
    EXPECT_EQ(j["layers"][0]["positions"], json({16, 32, 48, 64}));
    EXPECT_EQ(j["layers"][0]["rms"][0].size(), 8u);
    EXPECT_EQ(j["layers"][0]["b_norm"].size(), 64u);
    EXPECT_EQ(j["layers"][0]["b_norm"][0].size(), 2u);  // groups
    EXPECT_TRUE(j["layers"][0]["cos_prev"][0][0].is_null());
    j = analyze("state-stats", "mamba-tiny", ids + " --stride 16 --state-at 20,64 --layers 1");
    ASSERT_EQ(j["layers"][0]["states"].size(), 2u);
    EXPECT_EQ(j["layers"][0]["states"][0]["position"], 20);
    EXPECT_EQ(j["layers"][0]["states"][0]["shape"], json({128, 16}));
    EXPECT_EQ(j["layers"][0]["states"][1]["values"].size(), 128u * 16u);
    j = analyze("receptive-field", "mamba-tiny", ids + " --c 1e-3");
    EXPECT_EQ(j["layers"][0]["log_tA_prod"].size(), 128u);
    EXPECT_EQ(j["layers"][0]["global"].size(), 128u);
    EXPECT_TRUE(j["layers"][0]["global_ratio"].is_number());
    EXPECT_NEAR(j["lambda_threshold"].get<double>(), std::log(1e-3) / 64, 1e-12);
    j = analyze("implicit-attention", "mamba2-tiny",
                ids + " --from 10 --to 30 --units 1,3 --layers 2");
    ASSERT_EQ(j["layers"].size(), 1u);
    EXPECT_EQ(j["layers"][0]["unit_ids"], json({1, 3}));
    EXPECT_EQ(j["layers"][0]["matrices"].size(), 2u);
    EXPECT_EQ(j["layers"][0]["matrices"][0].size(), 20u);
    EXPECT_EQ(j["layers"][0]["matrices"][0][0][1], 0.0);  // causal
    EXPECT_EQ(j["layers"][0]["mean"].size(), 20u);
    // the real attention of a hybrid's attention layer over a window starting at 0: rows sum to 1
    j = analyze("attention", "nemotron_h-tiny", ids + " --from 0 --to 20");
    ASSERT_EQ(j["layers"].size(), 1u);
    EXPECT_EQ(j["layers"][0]["index"], 1);
    ASSERT_EQ(j["layers"][0]["probs"].size(), 4u);  // heads
    ASSERT_EQ(j["layers"][0]["probs"][2].size(), 20u);
    for (const auto& row : j["layers"][0]["probs"][2]) {
        double s = 0;
        for (const auto& p : row) s += p.get<double>();
        EXPECT_NEAR(s, 1.0, 1e-5);
    }
    EXPECT_EQ(j["layers"][0]["probs"][2][3][4], 0.0);  // causal
    j = analyze("logit-lens", "mamba-neox", "--text 'The capital of France is' --top-k 4");
    ASSERT_EQ(j["layers"].size(), 2u);
    const std::size_t T = j["tokens"].get<std::size_t>();
    EXPECT_EQ(j["layers"][1]["top_ids"].size(), T);
    EXPECT_EQ(j["layers"][1]["top_ids"][0].size(), 4u);
    EXPECT_EQ(j["layers"][1]["top_text"][0].size(), 4u);
    EXPECT_TRUE(j["layers"][1]["next_prob"][T - 1].is_null());
    j = analyze("longmamba-calibrate", "mamba2-tiny",
                "--ids " + ids_arg(240) + " --window 50 --samples 4 --lengths 50,100,400");
    EXPECT_EQ(j["windows"], 4);
    EXPECT_EQ(j["lengths"], json({50, 100, 400}));
    EXPECT_EQ(j["layers"][0]["dt_threshold"].size(), 3u);
    EXPECT_EQ(j["layers"][0]["dt_threshold"][0][0], 0.0);  // S <= window: no filtering
    EXPECT_EQ(j["layers"][0]["alpha"][1][0], j["layers"][0]["alpha"][1][0]);
    std::ofstream(dir_ / "cal.json") << j.dump();
    CliRun g = cli("generate --model " + (kGolden / "mamba2-tiny").string() + " --ids " +
                   ids_arg(120) + " --max-new 3 --json --longmamba " +
                   (dir_ / "cal.json").string() + " --longmamba-min-tokens 100");
    ASSERT_EQ(g.code, 0) << g.err;
    const json gj = json::parse(g.out);
    EXPECT_EQ(gj["longmamba"]["active"], true);
    EXPECT_EQ(gj["longmamba"]["target_length"], 100);
    EXPECT_EQ(gj["longmamba"]["layers"][0]["kept"].size(), 120u);
    EXPECT_EQ(gj["longmamba"]["layers"][0]["kept"][0].get<std::string>().size(), 8u);
}

TEST_F(AnalyzeCli, ErrorsAreOneLineAndNonZero) {
    const std::string m =
        " --model " + (kGolden / "mamba-tiny").string() + " --out " + (dir_ / "x.json").string();
    for (const std::string& args :
         {"analyze decay" + m, "analyze decay" + m + " --ids 1,2 --layers 7",
          "analyze wobble" + m + " --ids 1", "analyze decay" + m + " --ids 1,2 --from 1 --to 5",
          "analyze decay" + m + " --ids 1,x"}) {
        CliRun r = cli(args);
        EXPECT_NE(r.code, 0) << args;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << ": " << r.err;
        EXPECT_FALSE(fs::exists(dir_ / "x.json")) << args;
    }
}

}  // namespace
}  // namespace statescope
