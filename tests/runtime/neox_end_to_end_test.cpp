// mamba-neox end to end: prompt text -> ids (the real GPT-NeoX tokenizer) -> greedy ids -> text.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/model/safetensors.h"
#include "core/runtime/backends.h"
#include "core/runtime/generate.h"
#include "core/runtime/model.h"
#include "core/runtime/sequence.h"
#include "core/tokenizer/tokenizer.h"
#include "tests/test_data.h"

namespace statescope {
namespace {

const std::filesystem::path kGolden = test::test_data_dir() / "golden";

std::vector<std::int32_t> ids_of(const TensorInfo* t) {
    std::vector<std::int32_t> out;
    for (auto v : t->to_i64()) out.push_back(static_cast<std::int32_t>(v));
    return out;
}

TEST(GoldenNeox, PromptTextToGreedyText) {
    const auto dir = kGolden / "mamba-neox";
    auto backend = make_backend("cpu");
    auto model = Model::load(dir, *backend);
    auto golden = SafetensorsFile::open(dir / "golden.safetensors");
    std::ifstream in(dir / "golden.json");
    const auto meta = nlohmann::json::parse(in);
    const auto input_ids = ids_of(golden.find("input_ids"));
    const auto greedy = ids_of(golden.find("greedy_ids"));
    Tokenizer tok = Tokenizer::from_file(dir / "tokenizer.json");
    const auto ids = tok.encode(meta["prompt"].get<std::string>());
    EXPECT_EQ(ids, input_ids);
    Sequence seq(*model);
    GenerateOptions opts;
    opts.max_new_tokens = std::int64_t(greedy.size());
    opts.stop_ids = model->spec().eos_token_ids;
    std::vector<std::int32_t> out;
    generate_greedy(*model, seq, ids, opts, nullptr, &out);
    EXPECT_EQ(out, greedy);
    EXPECT_EQ(tok.decode(out), meta["greedy_text"].get<std::string>());
}

}  // namespace
}  // namespace statescope
