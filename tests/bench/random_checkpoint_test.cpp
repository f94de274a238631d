// bench/random_checkpoint.h: the nemotron_h shapes. nemotron-h-tiny-bench is written, loaded as the
// benchmark loads it and run on the CPU (prefill + greedy decode, finite logits, one layer kind per
// pattern letter); nemotron-h-8b is only counted (8.1B parameters, 16 GB in bf16: never written
// here), and the count function is checked against what the writer writes.
#include <gtest/gtest.h>

#include <unistd.h>
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "bench/random_checkpoint.h"
#include "core/runtime/backends.h"
#include "core/runtime/generate.h"
#include "core/runtime/model.h"
#include "core/runtime/sequence.h"

namespace statescope {
namespace {

MixerKind kind_of(char letter) {
    return letter == 'M'   ? MixerKind::Mamba2
           : letter == '*' ? MixerKind::Attention
                           : MixerKind::Mlp;
}

bool all_finite(const std::vector<float>& v) {
    return std::all_of(v.begin(), v.end(), [](float x) { return std::isfinite(x); });
}

class TempDir {
  public:
    explicit TempDir(const std::string& tag)
        : path_(std::filesystem::temp_directory_path() /
                ("statescope-test-" + tag + "-" + std::to_string(::getpid()))) {
        std::filesystem::remove_all(path_);
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

TEST(RandomCheckpoint, NemotronHTinyBenchLoadsPrefillsAndDecodes) {
    const auto shape = bench::shape_by_name("nemotron-h-tiny-bench");
    ASSERT_EQ(shape.model_type, "nemotron_h");
    ASSERT_EQ(shape.n_layers, std::int64_t(shape.pattern.size()));
    TempDir dir("nemotron-h-tiny-bench");
    const std::int64_t written =
        bench::write_random_checkpoint(dir.path(), "nemotron-h-tiny-bench", "bf16");
    EXPECT_EQ(written, bench::count_parameters(shape));

    auto backend = make_backend("cpu");
    auto model = Model::load(dir.path(), *backend);
    const ModelSpec& spec = model->spec();
    EXPECT_EQ(spec.model_type, "nemotron_h");
    EXPECT_EQ(spec.d_model, shape.d_model);
    EXPECT_EQ(spec.vocab_size, shape.vocab_size);
    EXPECT_EQ(spec.n_params, written);  // what the loader counts on disk
    EXPECT_FALSE(spec.tied_embeddings);
    EXPECT_EQ(spec.lm_head, "lm_head.weight");
    ASSERT_EQ(spec.blocks.size(), shape.pattern.size());
    for (std::size_t i = 0; i < shape.pattern.size(); ++i) {
        ASSERT_EQ(spec.blocks[i].parts.size(), 1u) << "layer " << i;
        EXPECT_EQ(spec.blocks[i].parts[0].kind, kind_of(shape.pattern[i]))
            << "layer " << i << " '" << shape.pattern[i] << "'";
        if (shape.pattern[i] == 'M') {
            const auto& m = std::get<Mamba2Spec>(spec.blocks[i].parts[0].mixer);
            EXPECT_EQ(m.n_heads, shape.n_heads);
            EXPECT_EQ(m.head_dim, shape.head_dim);
            EXPECT_EQ(m.d_state, shape.d_state);
            EXPECT_EQ(m.n_groups, shape.n_groups);
            EXPECT_EQ(m.d_conv, shape.d_conv);
        } else if (shape.pattern[i] == '*') {
            const auto& a = std::get<AttentionSpec>(spec.blocks[i].parts[0].mixer);
            EXPECT_EQ(a.n_heads, shape.n_attn_heads);
            EXPECT_EQ(a.n_kv_heads, shape.n_kv_heads);
            EXPECT_EQ(a.head_dim, shape.attn_head_dim);
        } else {
            EXPECT_EQ(std::get<MlpSpec>(spec.blocks[i].parts[0].mixer).d_ff, shape.d_ff);
        }
    }
    // A_log, D and dt_bias stay fp32; matrices take the asked dtype.
    EXPECT_EQ(model->weights().get("backbone.layers.0.mixer.A_log").dtype, StDType::F32);
    EXPECT_EQ(model->weights().get("backbone.layers.0.mixer.dt_bias").dtype, StDType::F32);
    EXPECT_EQ(model->weights().get("backbone.layers.0.mixer.in_proj.weight").dtype, StDType::BF16);
    EXPECT_EQ(model->weights().get("lm_head.weight").dtype, StDType::BF16);

    // The benchmark's prompt ids, prefilled in one call, then greedy steps with the full logits.
    std::vector<std::int32_t> ids(48);
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = std::int32_t((i * 7919 + 13) % 50000);
    Sequence seq(*model);
    std::vector<float> logits;
    ASSERT_TRUE(model->prefill(seq, ids, 0, {}, &logits));
    ASSERT_EQ(logits.size(), std::size_t(shape.vocab_size));
    EXPECT_TRUE(all_finite(logits));
    const auto [lo, hi] = std::minmax_element(logits.begin(), logits.end());
    EXPECT_LT(*lo, *hi);  // not a constant row
    std::int32_t next = argmax(logits);
    for (int k = 0; k < 4; ++k) {
        const std::int32_t one[1] = {next};
        model->forward(seq, one, LogitRows::Last, &logits);
        ASSERT_EQ(logits.size(), std::size_t(shape.vocab_size));
        EXPECT_TRUE(all_finite(logits)) << "decode step " << k;
        next = argmax(logits);
        EXPECT_GE(next, 0);
        EXPECT_LT(next, shape.vocab_size);
    }
    EXPECT_EQ(seq.position(), std::int64_t(ids.size()) + 4);
    // the backend's argmax (what the benchmark's decode uses) on the next step
    const std::int32_t one[1] = {next};
    const std::int32_t via_backend = model->forward_argmax(seq, one);
    EXPECT_GE(via_backend, 0);
    EXPECT_LT(via_backend, shape.vocab_size);
}

TEST(RandomCheckpoint, NemotronH8bCountIsTheModelsSize) {
    const auto shape = bench::shape_by_name("nemotron-h-8b");
    ASSERT_EQ(shape.pattern, "M-M-M-M*-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M-");
    EXPECT_EQ(shape.n_layers, 52);
    EXPECT_EQ(std::count(shape.pattern.begin(), shape.pattern.end(), 'M'), 24);
    EXPECT_EQ(std::count(shape.pattern.begin(), shape.pattern.end(), '*'), 4);
    EXPECT_EQ(std::count(shape.pattern.begin(), shape.pattern.end(), '-'), 24);
    const std::int64_t params = bench::count_parameters(shape);
    EXPECT_GE(params, 7'500'000'000);
    EXPECT_LE(params, 8'500'000'000);
    // By hand from the shapes: 2 x 131072 x 4096 (embeddings + lm_head) + 4096 (norm_f) + 52 x
    // 4096 (layer norms) + 24 Mamba-2 layers of 18560 x 4096 (in_proj) + 10240 x 5 (conv1d +
    // bias) + 3 x 128 + 8192 + 4096 x 8192 + 4 attention layers of 2 x 4096 x 4096 + 2 x 1024 x
    // 4096 + 24 MLP layers of 2 x 21504 x 4096.
    EXPECT_EQ(params, 8'100'852'736);
}

TEST(RandomCheckpoint, CountAgreesWithTheWriterForEveryNemotronLayerKind) {
    // A 3-layer variant of the tiny shape, one layer of each kind, written in fp32.
    auto shape = bench::shape_by_name("nemotron-h-tiny-bench");
    shape.pattern = "*-M";
    shape.n_layers = 3;
    shape.vocab_size = 512;
    TempDir dir("nemotron-h-3");
    const std::int64_t written = bench::write_random_checkpoint(dir.path(), shape, StDType::F32, 7);
    EXPECT_EQ(written, bench::count_parameters(shape));
    auto backend = make_backend("cpu");
    auto model = Model::load(dir.path(), *backend);
    EXPECT_EQ(model->spec().n_params, written);
    ASSERT_EQ(model->spec().blocks.size(), 3u);
    EXPECT_EQ(model->spec().blocks[0].parts[0].kind, MixerKind::Attention);
    EXPECT_EQ(model->spec().blocks[1].parts[0].kind, MixerKind::Mlp);
    EXPECT_EQ(model->spec().blocks[2].parts[0].kind, MixerKind::Mamba2);
}

}  // namespace
}  // namespace statescope
