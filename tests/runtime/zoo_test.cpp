// The demo zoo (resources/models/zoo-*, made by tools/train/run_zoo.sh): each model loads, its
// tokenizer reproduces the training script's ids for the reference prompt, the CPU engine's logits
// match the reference transformers computed from the same bf16 files in fp32
// (tests/data/zoo/zoo-NAME.safetensors, relative error per row <= 1e-3), greedy decoding gives the
// same ids, and the four share one tokenizer file byte for byte.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/model/safetensors.h"
#include "core/runtime/backends.h"
#include "core/runtime/generate.h"
#include "core/runtime/model.h"
#include "core/runtime/sequence.h"
#include "core/tokenizer/tokenizer.h"
#include "tests/test_data.h"

namespace statescope {
namespace {

const std::filesystem::path kModels = test::bundled_models_dir();
const char* const kZoo[] = {"zoo-mamba", "zoo-mamba2", "zoo-llama", "zoo-hybrid"};

std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::int32_t> ids_of(const TensorInfo* t) {
    std::vector<std::int32_t> out;
    for (auto v : t->to_i64()) out.push_back(static_cast<std::int32_t>(v));
    return out;
}

class Zoo : public ::testing::TestWithParam<const char*> {
  protected:
    void SetUp() override {
        // the zoo ships in resources/models: a missing model is a broken tree, not a skip
        ASSERT_TRUE(std::filesystem::exists(kModels / GetParam()))
            << (kModels / GetParam()).string() << " is missing; tools/train/run_zoo.sh makes it";
    }
};

TEST_P(Zoo, MatchesTheTrainingScriptsReference) {
    const auto dir = kModels / GetParam();
    auto backend = make_backend("cpu");
    auto model = Model::load(dir, *backend);
    auto ref = SafetensorsFile::open(test::test_data_dir() / "zoo" /
                                     (std::string(GetParam()) + ".safetensors"));
    const auto input_ids = ids_of(ref.find("input_ids"));
    const auto greedy = ids_of(ref.find("greedy_ids"));
    const TensorInfo* logits_info = ref.find("logits");
    const auto want = logits_info->to_f32();
    const std::int64_t V = logits_info->shape[1];

    std::ifstream in(dir / "training.json");
    const auto training = nlohmann::json::parse(in);
    Tokenizer tok = Tokenizer::from_file(dir / "tokenizer.json");
    EXPECT_EQ(tok.encode(training["reference_prompt"].get<std::string>()), input_ids);

    Sequence seq(*model);
    std::vector<float> got;
    model->forward(seq, input_ids, LogitRows::All, &got);
    ASSERT_EQ(got.size(), want.size());
    double worst = 0;
    for (std::size_t row = 0; row < input_ids.size(); ++row) {
        double diff = 0, scale = 0;
        for (std::int64_t v = 0; v < V; ++v) {
            const std::size_t i = row * std::size_t(V) + std::size_t(v);
            diff = std::max(diff, std::fabs(double(got[i]) - double(want[i])));
            scale = std::max(scale, std::fabs(double(want[i])));
        }
        worst = std::max(worst, diff / scale);
    }
    // bf16 weights read into fp32 on both sides; what differs is the order of fp32 sums
    EXPECT_LE(worst, 1e-3) << GetParam();
    RecordProperty("worst_row_relative_error", std::to_string(worst));
    std::printf("%s: worst logits row, max |diff| / max |ref|: %.2e\n", GetParam(), worst);

    Sequence fresh(*model);
    GenerateOptions opts;
    opts.max_new_tokens = std::int64_t(greedy.size());
    opts.stop_ids = model->spec().eos_token_ids;
    std::vector<std::int32_t> out;
    generate_greedy(*model, fresh, input_ids, opts, nullptr, &out);
    EXPECT_EQ(out, greedy) << tok.decode(out);
}

INSTANTIATE_TEST_SUITE_P(Models, Zoo, ::testing::ValuesIn(kZoo), [](const auto& param_info) {
    return std::string(param_info.param).substr(4);
});

TEST(ZooTokenizer, OneFileForAllFour) {
    ASSERT_TRUE(std::filesystem::exists(kModels / kZoo[0])) << "the demo zoo is missing";
    const std::string first = slurp(kModels / kZoo[0] / "tokenizer.json");
    ASSERT_FALSE(first.empty());
    for (const char* name : kZoo) {
        EXPECT_EQ(slurp(kModels / name / "tokenizer.json"), first) << name;
        EXPECT_EQ(slurp(kModels / name / "tokenizer_config.json"),
                  slurp(kModels / kZoo[0] / "tokenizer_config.json"))
            << name;
    }
}

}  // namespace
}  // namespace statescope
