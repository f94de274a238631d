// statescope-cli as outside scripts call it: the binary, its stdout/stderr and exit code, and its
// files.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/model/safetensors.h"
#include "tests/cli/run_cli.h"
#include "tests/model/st_writer.h"

namespace statescope {
namespace {

namespace fs = std::filesystem;
const fs::path kData(STATESCOPE_TEST_DATA);
const fs::path kGolden = kData / "golden";

using test::CliRun;
using test::slurp;

class Cli : public ::testing::Test {
  protected:
    CliRun run(const std::vector<std::string>& args) { return test::run_cli(args, tmp_.path()); }
    fs::path tmp(const std::string& name) const { return tmp_.path() / name; }
    testing::TempDir tmp_;
};

// Reads a float32 C-order .npy written by the CLI; returns the shape through `shape`.
std::vector<float> read_npy(const fs::path& p, std::vector<std::int64_t>& shape) {
    const std::string bytes = slurp(p);
    EXPECT_EQ(bytes.substr(0, 6), "\x93NUMPY");
    const std::size_t hlen = std::uint8_t(bytes[8]) | (std::size_t(std::uint8_t(bytes[9])) << 8);
    const std::string header = bytes.substr(10, hlen);
    EXPECT_NE(header.find("'descr': '<f4'"), std::string::npos) << header;
    EXPECT_EQ((10 + hlen) % 64, 0u);
    const auto open = header.find('('), close = header.find(')');
    std::stringstream dims(header.substr(open + 1, close - open - 1));
    std::string d;
    shape.clear();
    while (std::getline(dims, d, ','))
        if (d.find_first_not_of(' ') != std::string::npos) shape.push_back(std::stoll(d));
    std::vector<float> data((bytes.size() - 10 - hlen) / 4);
    std::memcpy(data.data(), bytes.data() + 10 + hlen, data.size() * 4);
    return data;
}

std::string golden_ids_csv(const std::string& model) {
    auto file = SafetensorsFile::open(kGolden / model / "golden.safetensors");
    std::string s;
    for (auto id : file.find("input_ids")->to_i64())
        s += (s.empty() ? "" : ",") + std::to_string(id);
    return s;
}

TEST_F(Cli, InfoDescribesTheCheckpoint) {
    CliRun r = run({"info", "--model", (kGolden / "mamba2-tiny").string()});
    ASSERT_EQ(r.code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    auto cfg = nlohmann::json::parse(slurp(kGolden / "mamba2-tiny" / "config.json"));
    EXPECT_EQ(j["model_type"], "mamba2");
    EXPECT_EQ(j["architecture"], "Mamba2ForCausalLM");
    EXPECT_EQ(j["n_layers"], cfg["num_hidden_layers"]);
    EXPECT_EQ(j["layer_kinds"].size(), cfg["num_hidden_layers"].get<std::size_t>());
    EXPECT_EQ(j["layer_kinds"][0], "mamba2");
    EXPECT_EQ(j["d_model"], cfg["hidden_size"]);
    EXPECT_EQ(j["vocab_size"], cfg["vocab_size"]);
    EXPECT_EQ(j["weight_dtype"], "F32");
    EXPECT_GT(j["n_params"].get<std::int64_t>(), 0);
    EXPECT_EQ(j["has_tokenizer"], false);
    CliRun neox = run({"info", "--model", (kGolden / "mamba-neox").string()});
    EXPECT_EQ(nlohmann::json::parse(neox.out)["has_tokenizer"], true);
}

// Memory accounting, computed from the config by hand: nemotron_h-tiny is M*-ME with hidden 64,
// 8 Mamba heads of 16, 2 groups of d_state 16, conv 4, and 2 kv heads of 16 in its attention layer.
TEST_F(Cli, InfoAccountsMemoryAndPattern) {
    const fs::path dir = kGolden / "nemotron_h-tiny";
    CliRun r = run({"info", "--model", dir.string()});
    ASSERT_EQ(r.code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    auto cfg = nlohmann::json::parse(slurp(dir / "config.json"));
    EXPECT_EQ(j["layer_pattern"], "M*-ME");
    const std::int64_t H = cfg["mamba_num_heads"], P = cfg["mamba_head_dim"],
                       N = cfg["ssm_state_size"];
    const std::int64_t G = cfg["n_groups"], K = cfg["conv_kernel"];
    const std::int64_t conv_dim = H * P + 2 * G * N;
    // two Mamba layers: conv state [K-1, conv_dim] and SSM state [H, P, N], fp32
    EXPECT_EQ(j["recurrent_state_bytes_per_sequence"], 2 * ((K - 1) * conv_dim + H * P * N) * 4);
    // one attention layer: keys and values of n_kv_heads * head_dim floats per token
    const std::int64_t kv =
        cfg["num_key_value_heads"].get<std::int64_t>() * cfg["head_dim"].get<std::int64_t>();
    EXPECT_EQ(j["kv_cache_bytes_per_token"], 2 * kv * 4);
    EXPECT_EQ(j["weight_bytes"].get<std::int64_t>(),
              j["n_params"].get<std::int64_t>() * 4);  // all F32
    CliRun llama = run({"info", "--model", (kGolden / "llama-tiny").string()});
    auto l = nlohmann::json::parse(llama.out);
    EXPECT_EQ(l["layer_pattern"], "*-*-*-");
    EXPECT_EQ(l["recurrent_state_bytes_per_sequence"], 0);
    EXPECT_EQ(l["layer_kinds"][0], "attention+mlp");
}

TEST_F(Cli, LogitsOnePassAndDecodeFromAgree) {
    const std::string ids = golden_ids_csv("mamba2-tiny");
    CliRun a = run({"logits", "--model", (kGolden / "mamba2-tiny").string(), "--ids", ids, "--out",
                    tmp("a.npy").string()});
    ASSERT_EQ(a.code, 0) << a.err;
    std::ofstream(tmp("ids.txt")) << ids << "\n";  // --ids-file with commas and a newline
    CliRun b = run({"logits", "--model", (kGolden / "mamba2-tiny").string(), "--ids-file",
                    tmp("ids.txt").string(), "--decode-from", "5", "--out", tmp("b.npy").string()});
    ASSERT_EQ(b.code, 0) << b.err;
    std::vector<std::int64_t> sa, sb;
    auto la = read_npy(tmp("a.npy"), sa);
    auto lb = read_npy(tmp("b.npy"), sb);
    const auto golden = SafetensorsFile::open(kGolden / "mamba2-tiny" / "golden.safetensors");
    const TensorInfo* ref = golden.find("logits");
    EXPECT_EQ(sa, ref->shape);
    EXPECT_EQ(sb, ref->shape);
    auto want = ref->to_f32();
    ASSERT_EQ(la.size(), want.size());
    ASSERT_EQ(lb.size(), want.size());
    double max_err = 0, max_ref = 0;
    for (std::size_t i = 0; i < want.size(); ++i) {
        max_err = std::max(
            {max_err, std::fabs(double(la[i]) - want[i]), std::fabs(double(lb[i]) - want[i])});
        max_ref = std::max(max_ref, std::fabs(double(want[i])));
    }
    EXPECT_LE(max_err / max_ref, 1e-4);  // the golden bound, over the whole array here
}

// --dtype bf16 rounds the weight matrices at load: the logits move (a check that the flag does
// something) but stay within the bf16 bound of the golden README (2e-2 of the row scale); an
// unknown name is a one-line error listing the accepted ones.
TEST_F(Cli, LogitsWithDtypeBf16StayNearTheReference) {
    const std::string ids = golden_ids_csv("llama-tiny");
    CliRun r = run({"logits", "--model", (kGolden / "llama-tiny").string(), "--ids", ids, "--dtype",
                    "bf16", "--out", tmp("bf16.npy").string()});
    ASSERT_EQ(r.code, 0) << r.err;
    std::vector<std::int64_t> shape;
    const auto got = read_npy(tmp("bf16.npy"), shape);
    const auto golden = SafetensorsFile::open(kGolden / "llama-tiny" / "golden.safetensors");
    const auto want = golden.find("logits")->to_f32();
    ASSERT_EQ(got.size(), want.size());
    double max_err = 0, max_ref = 0;
    for (std::size_t i = 0; i < want.size(); ++i) {
        max_err = std::max(max_err, std::fabs(double(got[i]) - want[i]));
        max_ref = std::max(max_ref, std::fabs(double(want[i])));
    }
    EXPECT_LE(max_err / max_ref, 2e-2);
    EXPECT_GT(max_err / max_ref, 1e-6) << "bf16 weights gave the fp32 logits: not converted?";
    CliRun bad = run({"logits", "--model", (kGolden / "llama-tiny").string(), "--ids", "1",
                      "--dtype", "int4", "--out", tmp("x.npy").string()});
    EXPECT_NE(bad.code, 0);
    EXPECT_NE(bad.err.find("--dtype int4 is not one of fp32, bf16, fp16"), std::string::npos)
        << bad.err;
}

TEST_F(Cli, TokenizeJsonlOneArrayPerLine) {
    auto cases = nlohmann::json::parse(slurp(kData / "tokenizer" / "neox-tokenize-dev.json"));
    std::ofstream in(tmp("in.jsonl"));
    for (const auto& c : cases) in << c["text"].dump() << "\n";
    in.close();
    CliRun r = run({"tokenize", "--tokenizer", (kGolden / "mamba-neox" / "tokenizer.json").string(),
                    "--jsonl", tmp("in.jsonl").string()});
    ASSERT_EQ(r.code, 0) << r.err;
    std::stringstream lines(r.out);
    std::string line;
    std::size_t i = 0;
    while (std::getline(lines, line)) {
        ASSERT_LT(i, cases.size());
        EXPECT_EQ(nlohmann::json::parse(line), cases[i]["ids"]) << cases[i]["text"];
        ++i;
    }
    EXPECT_EQ(i, cases.size());
}

TEST_F(Cli, TokenizeTextAndDetokenize) {
    CliRun t =
        run({"tokenize", "--model", (kGolden / "mamba-neox").string(), "--text", "Hello world"});
    ASSERT_EQ(t.code, 0) << t.err;
    EXPECT_EQ(t.out, "[12092,1533]\n");
    CliRun d =
        run({"detokenize", "--model", (kGolden / "mamba-neox").string(), "--ids", "12092,1533"});
    ASSERT_EQ(d.code, 0) << d.err;
    EXPECT_EQ(d.out, "Hello world");
    std::ofstream(tmp("t.txt"), std::ios::binary) << "Hello world";
    CliRun f = run({"tokenize", "--model", (kGolden / "mamba-neox").string(), "--text-file",
                    tmp("t.txt").string()});
    EXPECT_EQ(f.out, "[12092,1533]\n");
}

TEST_F(Cli, GenerateGreedyMatchesGolden) {
    CliRun r = run({"generate", "--model", (kGolden / "mamba-tiny").string(), "--ids",
                    golden_ids_csv("mamba-tiny"), "--max-new", "16", "--greedy", "--json"});
    ASSERT_EQ(r.code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    std::vector<std::int64_t> want =
        SafetensorsFile::open(kGolden / "mamba-tiny" / "golden.safetensors")
            .find("greedy_ids")
            ->to_i64();
    EXPECT_EQ(j["ids"].get<std::vector<std::int64_t>>(), want);
}

TEST_F(Cli, GeneratePromptTextStreams) {
    auto meta = nlohmann::json::parse(slurp(kGolden / "mamba-neox" / "golden.json"));
    CliRun r = run({"generate", "--model", (kGolden / "mamba-neox").string(), "--prompt",
                    meta["prompt"].get<std::string>(), "--max-new", "20"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, meta["greedy_text"].get<std::string>() + "\n");
}

// Every error: exit code != 0, exactly one line on stderr, naming what is wrong.
void expect_one_line_error(const CliRun& r, const std::string& needle) {
    EXPECT_NE(r.code, 0);
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
}

TEST_F(Cli, ErrorsAreOneLine) {
    expect_one_line_error(run({"info", "--model", "/nonexistent/model"}), "/nonexistent/model");
    expect_one_line_error(run({"logits", "--model", (kGolden / "mamba-tiny").string(), "--ids",
                               "1,x", "--out", tmp("x.npy").string()}),
                          "\"x\"");
    expect_one_line_error(run({"logits", "--model", (kGolden / "mamba-tiny").string(), "--ids",
                               "1,99999", "--out", tmp("x.npy").string()}),
                          "99999");
    expect_one_line_error(run({"logits", "--model", (kGolden / "mamba-tiny").string(), "--ids",
                               "1,2", "--decode-from", "7", "--out", tmp("x.npy").string()}),
                          "--decode-from 7");
    expect_one_line_error(run({"logits", "--model", (kGolden / "mamba-tiny").string(), "--ids", "1",
                               "--backend", "tpu", "--out", tmp("x.npy").string()}),
                          "\"tpu\"");
    expect_one_line_error(
        run({"tokenize", "--model", (kGolden / "mamba-tiny").string(), "--text", "a"}),
        "tokenizer.json");
    expect_one_line_error(run({"frobnicate"}), "frobnicate");
    expect_one_line_error(run({"tokenize", "--text", "a"}), "--model or --tokenizer");
    EXPECT_FALSE(fs::exists(tmp("x.npy")));
}

TEST_F(Cli, InvalidUtf8TextIsAnError) {
    std::ofstream(tmp("bad.txt"), std::ios::binary) << "ok \xff\xfe bad";
    expect_one_line_error(run({"tokenize", "--model", (kGolden / "mamba-neox").string(),
                               "--text-file", tmp("bad.txt").string()}),
                          "UTF-8");
}

}  // namespace
}  // namespace statescope
