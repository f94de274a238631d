// model_info_for: the same folder gives the same identity; other weights (even with the same
// layout, as a fine-tune has) or another config give another.
#include "core/error.h"
#include "core/store/model_fingerprint.h"
#include "tests/store/store_test_util.h"

namespace statescope {
namespace {

using namespace statescope::test;

// A minimal safetensors file: little-endian header length, JSON header, then the data bytes.
void write_safetensors(const fs::path& p, const std::string& data) {
    const std::string header = "{\"w\":{\"dtype\":\"U8\",\"shape\":[" +
                               std::to_string(data.size()) + "],\"data_offsets\":[0," +
                               std::to_string(data.size()) + "]}}";
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
    write_file(p, bytes + header + data);
}

TEST(store_fingerprint, TellsModelsApart) {
    ScratchDir dir;
    const fs::path m = dir / "model";
    fs::create_directories(m);
    write_file(m / "config.json", R"({"model_type": "mamba2", "d_model": 768})");
    std::string weights(300000, 'x');
    write_safetensors(m / "model.safetensors", weights);

    const ModelInfo a = model_info_for(m);
    EXPECT_EQ(a.model_type, "mamba2");
    EXPECT_TRUE(fs::path(a.path).is_absolute());
    EXPECT_EQ(a.content_hash.size(), 64u);
    EXPECT_EQ(model_info_for(m).content_hash, a.content_hash) << "deterministic";

    weights[weights.size() - 10] = 'y';  // same layout, other values at the end
    write_safetensors(m / "model.safetensors", weights);
    const ModelInfo b = model_info_for(m);
    EXPECT_NE(b.content_hash, a.content_hash);

    write_file(m / "config.json", R"({"model_type": "mamba2", "d_model": 1024})");
    EXPECT_NE(model_info_for(m).content_hash, b.content_hash);

    fs::remove(m / "config.json");
    EXPECT_THROW(model_info_for(m), Error);
    write_file(m / "config.json", "{not json");
    EXPECT_THROW(model_info_for(m), Error);
}

}  // namespace
}  // namespace statescope
