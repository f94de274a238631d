// The safetensors reader: good files of every weight dtype, shards, and each kind of damage refused
// with a message naming the file and the tensor.
#include <gtest/gtest.h>

#include <cstring>

#include "core/error.h"
#include "core/model/safetensors.h"
#include "tests/model/st_writer.h"

namespace statescope {
namespace {

using testing::st_bytes;
using testing::TempDir;
using testing::write_file;

// Expects `fn` to throw statescope::Error whose message contains every piece of `parts`.
template <typename Fn>
void expect_error(Fn fn, std::initializer_list<std::string> parts) {
    try {
        fn();
        ADD_FAILURE() << "no error thrown; expected one containing \"" << *parts.begin() << "\"";
    } catch (const Error& e) {
        for (const auto& p : parts)
            EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
    }
}

SafetensorsFile from_string(const std::string& bytes, const std::string& name = "t.safetensors") {
    auto owner = std::make_shared<std::string>(bytes);
    return SafetensorsFile::from_memory(reinterpret_cast<const std::byte*>(owner->data()),
                                        owner->size(), name, owner);
}

TEST(Safetensors, ReadsEveryWeightDtype) {
    float f[3] = {1.5f, -2.0f, 0.25f};
    std::string f32(reinterpret_cast<const char*>(f), 12);
    // bf16 of 1.5, -2.0, 0.25 is the top half of each float; f16: 0x3E00, 0xC000, 0x3400.
    std::string bf16, f16;
    for (float v : f) {
        std::uint32_t bits;
        std::memcpy(&bits, &v, 4);
        bf16 += char((bits >> 16) & 0xff);
        bf16 += char(bits >> 24);
    }
    for (std::uint16_t h : {0x3E00, 0xC000, 0x3400}) {
        f16 += char(h & 0xff);
        f16 += char(h >> 8);
    }
    const std::string header = R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},)"
                               R"("b":{"dtype":"BF16","shape":[1,3],"data_offsets":[12,18]},)"
                               R"("c":{"dtype":"F16","shape":[3],"data_offsets":[18,24]},)"
                               R"("__metadata__":{"format":"pt"}})";
    auto file = from_string(st_bytes(header, f32 + bf16 + f16));
    ASSERT_EQ(file.tensors().size(), 3u);
    EXPECT_EQ(file.metadata().at("format"), "pt");
    for (const char* name : {"a", "b", "c"}) {
        auto v = file.find(name)->to_f32();
        ASSERT_EQ(v.size(), 3u) << name;
        for (int i = 0; i < 3; ++i) EXPECT_EQ(v[i], f[i]) << name << "[" << i << "]";
    }
    EXPECT_EQ(file.find("b")->shape_string(), "[1, 3]");
    EXPECT_EQ(file.find("b")->weight_dtype(), kernels::DType::BF16);
}

TEST(Safetensors, UnalignedDataIsWidenedCorrectly) {
    // A header of odd length puts the data at an odd address; the format does not forbid it.
    std::string header = R"({"h":{"dtype":"F16","shape":[2],"data_offsets":[1,5]}} )";
    if (header.size() % 2 == 0) header += " ";
    std::string data = std::string(1, '\0') + std::string("\x00\x3c\x00\xc0", 4);  // pad, 1.0, -2.0
    auto file = from_string(st_bytes(header, data));
    EXPECT_EQ(file.find("h")->to_f32(), (std::vector<float>{1.0f, -2.0f}));
}

TEST(Safetensors, RefusesNonFloatWeightsByName) {
    auto file = from_string(st_bytes(R"({"ids":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}})",
                                     std::string(16, '\0')));
    expect_error([&] { file.find("ids")->weight_dtype(); }, {"\"ids\"", "I64", "F32, BF16 or F16"});
    EXPECT_EQ(file.find("ids")->to_i64(), (std::vector<std::int64_t>{0, 0}));
}

TEST(Safetensors, TruncatedFile) {
    expect_error([] { from_string(std::string("\x10\x00\x00", 3)); },
                 {"t.safetensors", "truncated"});
}

TEST(Safetensors, HeaderLengthPastTheEnd) {
    expect_error([] { from_string(st_bytes("{}", "", 4096)); },
                 {"t.safetensors", "header length 4096", "past the end"});
}

TEST(Safetensors, HeaderLengthOverLimit) {
    expect_error([] { from_string(st_bytes("{}", "", std::int64_t(1) << 40)); },
                 {"exceeds the 100 MB limit"});
}

TEST(Safetensors, HeaderNotJson) {
    expect_error([] { from_string(st_bytes("{\"a\":", "")); }, {"t.safetensors", "not valid JSON"});
}

TEST(Safetensors, OffsetsOutsideTheFile) {
    expect_error(
        [] {
            from_string(st_bytes(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})",
                                 std::string(8, '\0')));
        },
        {"tensor \"w\" in t.safetensors", "outside the file's data"});
}

TEST(Safetensors, ReversedOffsets) {
    expect_error(
        [] {
            from_string(st_bytes(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}})",
                                 std::string(8, '\0')));
        },
        {"\"w\"", "reversed"});
}

TEST(Safetensors, OverlappingTensors) {
    const std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                               R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
    expect_error([&] { from_string(st_bytes(header, std::string(12, '\0'))); },
                 {"\"a\" and \"b\" overlap"});
}

TEST(Safetensors, DtypeShapeBytesMismatch) {
    expect_error(
        [] {
            from_string(st_bytes(R"({"w":{"dtype":"BF16","shape":[3,2],"data_offsets":[0,8]}})",
                                 std::string(8, '\0')));
        },
        {"\"w\"", "BF16 x shape [3, 2] = 12 bytes", "span 8"});
}

TEST(Safetensors, UnknownDtype) {
    expect_error(
        [] {
            from_string(st_bytes(R"({"w":{"dtype":"F17","shape":[1],"data_offsets":[0,4]}})",
                                 std::string(4, '\0')));
        },
        {"\"w\"", "unknown dtype \"F17\""});
}

TEST(Safetensors, NegativeOrHugeShape) {
    expect_error(
        [] {
            from_string(st_bytes(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})",
                                 std::string(4, '\0')));
        },
        {"\"w\"", "negative"});
    expect_error(
        [] {
            from_string(st_bytes(
                R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})",
                std::string(4, '\0')));
        },
        {"\"w\"", "too large"});
}

TEST(Safetensors, MissingFields) {
    expect_error(
        [] {
            from_string(
                st_bytes(R"({"w":{"shape":[1],"data_offsets":[0,4]}})", std::string(4, '\0')));
        },
        {"\"w\"", "dtype is missing"});
    expect_error(
        [] {
            from_string(
                st_bytes(R"({"w":{"dtype":"F32","data_offsets":[0,4]}})", std::string(4, '\0')));
        },
        {"\"w\"", "shape is missing"});
    expect_error(
        [] { from_string(st_bytes(R"({"w":{"dtype":"F32","shape":[1]}})", std::string(4, '\0'))); },
        {"\"w\"", "data_offsets"});
}

TEST(Safetensors, MissingFileNamesThePath) {
    expect_error([] { SafetensorsFile::open("/nonexistent/dir/model.safetensors"); },
                 {"/nonexistent/dir/model.safetensors"});
}

TEST(WeightStore, ShardedIndex) {
    TempDir dir;
    float a = 1.0f, b = 2.0f;
    write_file(dir.path() / "s1.safetensors",
               st_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                        std::string(reinterpret_cast<char*>(&a), 4)));
    write_file(dir.path() / "s2.safetensors",
               st_bytes(R"({"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                        std::string(reinterpret_cast<char*>(&b), 4)));
    write_file(dir.path() / "model.safetensors.index.json",
               R"({"metadata":{},"weight_map":{"a":"s1.safetensors","b":"s2.safetensors"}})");
    auto store = WeightStore::open_dir(dir.path());
    EXPECT_EQ(store.get("a").to_f32()[0], 1.0f);
    EXPECT_EQ(store.get("b").to_f32()[0], 2.0f);
    EXPECT_EQ(store.names().size(), 2u);
    expect_error([&] { store.get("c"); }, {"tensor \"c\" is missing from", dir.path().string()});
}

TEST(WeightStore, IndexNamingATensorTheShardLacks) {
    TempDir dir;
    write_file(dir.path() / "s1.safetensors",
               st_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                        std::string(4, '\0')));
    write_file(dir.path() / "model.safetensors.index.json",
               R"({"weight_map":{"a":"s1.safetensors","z":"s1.safetensors"}})");
    expect_error([&] { WeightStore::open_dir(dir.path()); },
                 {"\"z\"", "s1.safetensors", "does not contain it"});
}

TEST(WeightStore, IndexEscapingTheFolder) {
    TempDir dir;
    write_file(dir.path() / "model.safetensors.index.json",
               R"({"weight_map":{"a":"../x.safetensors"}})");
    expect_error([&] { WeightStore::open_dir(dir.path()); }, {"not a file in the same folder"});
}

TEST(WeightStore, FolderWithoutWeights) {
    TempDir dir;
    expect_error([&] { WeightStore::open_dir(dir.path()); }, {"neither model.safetensors nor"});
}

}  // namespace
}  // namespace statescope
