// Config -> ModelSpec for mamba, falcon_mamba and mamba2: the quirks of MODELS.md, and shape checks
// that name the tensor and the config fields.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "core/model/config.h"
#include "core/model/model_spec.h"
#include "core/model/safetensors.h"
#include "tests/model/st_writer.h"
#include "tests/test_data.h"

namespace statescope {
namespace {

namespace fs = std::filesystem;
const fs::path kGolden = test::test_data_dir() / "golden";

nlohmann::json read_json(const fs::path& p) {
    std::ifstream in(p);
    return nlohmann::json::parse(in);
}

std::string read_bytes(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

ModelSpec spec_with_config(const std::string& model, const nlohmann::json& cfg) {
    auto store = WeightStore::open_dir(kGolden / model);
    return build_model_spec(Config::parse(cfg.dump(), "config.json"), store, kGolden / model);
}

std::string error_of(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

TEST(ModelSpec, MambaTiny) {
    auto store = WeightStore::open_dir(kGolden / "mamba-tiny");
    auto spec = load_model_spec(kGolden / "mamba-tiny", store);
    auto cfg = read_json(kGolden / "mamba-tiny" / "config.json");
    EXPECT_EQ(spec.model_type, "mamba");
    EXPECT_EQ(spec.d_model, cfg["hidden_size"].get<std::int64_t>());
    EXPECT_EQ(spec.n_layers(), cfg["num_hidden_layers"].get<std::int64_t>());
    EXPECT_TRUE(spec.tied_embeddings);  // mamba ties by default and save_pretrained drops lm_head
    EXPECT_EQ(spec.lm_head, spec.embedding);
    const auto& m = std::get<Mamba1Spec>(spec.blocks[0].parts[0].mixer);
    EXPECT_EQ(m.d_state, cfg["state_size"].get<std::int64_t>());
    EXPECT_FALSE(m.dt_bc_rmsnorm);
}

TEST(ModelSpec, TimeStepRankAuto) {
    auto cfg = read_json(kGolden / "mamba-tiny" / "config.json");
    const std::int64_t hidden = cfg["hidden_size"];
    const std::int64_t rank = cfg["time_step_rank"];
    // "auto" means ceil(hidden / 16); the tiny model's real rank decides whether "auto" fits its
    // tensors.
    cfg["time_step_rank"] = "auto";
    if ((hidden + 15) / 16 == rank) {
        EXPECT_EQ(std::get<Mamba1Spec>(spec_with_config("mamba-tiny", cfg).blocks[0].parts[0].mixer)
                      .dt_rank,
                  rank);
    } else {
        EXPECT_NE(error_of([&] {
                      spec_with_config("mamba-tiny", cfg);
                  }).find("time_step_rank=" + std::to_string((hidden + 15) / 16)),
                  std::string::npos);
    }
    cfg["time_step_rank"] = "big";
    EXPECT_NE(error_of([&] { spec_with_config("mamba-tiny", cfg); }).find("\"time_step_rank\""),
              std::string::npos);
}

TEST(ModelSpec, FalconMambaHasWeightlessNorms) {
    auto store = WeightStore::open_dir(kGolden / "falcon_mamba-tiny");
    auto spec = load_model_spec(kGolden / "falcon_mamba-tiny", store);
    EXPECT_TRUE(std::get<Mamba1Spec>(spec.blocks[0].parts[0].mixer).dt_bc_rmsnorm);
}

TEST(ModelSpec, Mamba2TimeStepLimitAndGroups) {
    auto store = WeightStore::open_dir(kGolden / "mamba2-tiny");
    auto spec = load_model_spec(kGolden / "mamba2-tiny", store);
    auto cfg = read_json(kGolden / "mamba2-tiny" / "config.json");
    const auto& m = std::get<Mamba2Spec>(spec.blocks[0].parts[0].mixer);
    EXPECT_EQ(m.n_groups, cfg["n_groups"].get<std::int64_t>());
    EXPECT_EQ(m.dt_min, 0.0);
    EXPECT_TRUE(std::isinf(m.dt_max));        // {"__float__": "Infinity"}
    EXPECT_EQ(m.norm_group_size, m.d_inner);  // HF's full-width gated norm
    EXPECT_FALSE(spec.tied_embeddings);
    cfg["time_step_limit"] = {0.001, 0.1};
    const auto& m2 =
        std::get<Mamba2Spec>(spec_with_config("mamba2-tiny", cfg).blocks[0].parts[0].mixer);
    EXPECT_DOUBLE_EQ(m2.dt_min, 0.001);
    EXPECT_DOUBLE_EQ(m2.dt_max, 0.1);
    cfg["time_step_limit"] = "fast";
    EXPECT_NE(error_of([&] { spec_with_config("mamba2-tiny", cfg); }).find("\"time_step_limit\""),
              std::string::npos);
}

TEST(ModelSpec, TiedFlagUsesTheEmbedding) {
    auto cfg = read_json(kGolden / "mamba2-tiny" / "config.json");
    cfg["tie_word_embeddings"] = true;
    auto spec = spec_with_config("mamba2-tiny", cfg);
    EXPECT_TRUE(spec.tied_embeddings);
    EXPECT_EQ(spec.lm_head, spec.embedding);
}

TEST(ModelSpec, UnknownModelTypeListsSupported) {
    auto cfg = read_json(kGolden / "mamba-tiny" / "config.json");
    cfg["model_type"] = "rwkv";
    const std::string msg = error_of([&] { spec_with_config("mamba-tiny", cfg); });
    EXPECT_NE(msg.find("\"rwkv\" is not supported"), std::string::npos) << msg;
    EXPECT_NE(msg.find("mamba, falcon_mamba, mamba2"), std::string::npos) << msg;
}

TEST(ModelSpec, WrongShapeAgainstConfig) {
    auto cfg = read_json(kGolden / "mamba-tiny" / "config.json");
    cfg["state_size"] = cfg["state_size"].get<int>() * 2;
    const std::string msg = error_of([&] { spec_with_config("mamba-tiny", cfg); });
    EXPECT_NE(msg.find("tensor \"backbone.layers.0.mixer."), std::string::npos) << msg;
    EXPECT_NE(msg.find("has shape"), std::string::npos) << msg;
    EXPECT_NE(msg.find("state_size=" + std::to_string(cfg["state_size"].get<int>())),
              std::string::npos)
        << msg;
}

TEST(ModelSpec, Mamba2HeadsTimesHeadDim) {
    auto cfg = read_json(kGolden / "mamba2-tiny" / "config.json");
    cfg["num_heads"] = cfg["num_heads"].get<int>() + 1;
    EXPECT_NE(error_of([&] { spec_with_config("mamba2-tiny", cfg); }).find("num_heads * head_dim"),
              std::string::npos);
}

TEST(ModelSpec, MissingOrNonNumericField) {
    auto cfg = read_json(kGolden / "mamba-tiny" / "config.json");
    cfg.erase("hidden_size");
    EXPECT_EQ(error_of([&] { spec_with_config("mamba-tiny", cfg); }),
              "config.json: field \"hidden_size\" is missing");
    cfg = read_json(kGolden / "mamba-tiny" / "config.json");
    cfg["num_hidden_layers"] = "two";
    EXPECT_EQ(error_of([&] { spec_with_config("mamba-tiny", cfg); }),
              "config.json: field \"num_hidden_layers\" is not an integer (got \"two\")");
    cfg = read_json(kGolden / "mamba-tiny" / "config.json");
    cfg["layer_norm_epsilon"] = "tiny";
    EXPECT_NE(error_of([&] {
                  spec_with_config("mamba-tiny", cfg);
              }).find("\"layer_norm_epsilon\" is not a number"),
              std::string::npos);
}

TEST(ModelSpec, MissingTensorIsNamed) {
    // Rewrite the header without one tensor; its bytes stay in the data section unreferenced.
    testing::TempDir dir;
    const std::string bytes = read_bytes(kGolden / "mamba-tiny" / "model.safetensors");
    std::uint64_t len = 0;
    for (int i = 7; i >= 0; --i) len = (len << 8) | std::uint8_t(bytes[i]);
    auto header = nlohmann::json::parse(bytes.substr(8, len));
    header.erase("backbone.layers.1.mixer.D");
    testing::write_file(dir.path() / "model.safetensors",
                        testing::st_bytes(header.dump(), bytes.substr(8 + len)));
    fs::copy_file(kGolden / "mamba-tiny" / "config.json", dir.path() / "config.json");
    auto store = WeightStore::open_dir(dir.path());
    const std::string msg = error_of([&] { load_model_spec(dir.path(), store); });
    EXPECT_NE(
        msg.find("tensor \"backbone.layers.1.mixer.D\" is missing from " + dir.path().string()),
        std::string::npos)
        << msg;
}

TEST(ModelSpec, MissingConfig) {
    testing::TempDir dir;
    fs::copy_file(kGolden / "mamba-tiny" / "model.safetensors", dir.path() / "model.safetensors");
    auto store = WeightStore::open_dir(dir.path());
    EXPECT_NE(error_of([&] { load_model_spec(dir.path(), store); }).find("has no config.json"),
              std::string::npos);
}

}  // namespace
}  // namespace statescope
