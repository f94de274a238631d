// safetensors files (https://github.com/huggingface/safetensors): an 8-byte little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}},
// then the data. Every header field is validated before any tensor is handed out, so a damaged or
// hostile file is an error naming the file and the tensor, never a read outside the mapping.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/model/mapped_file.h"
#include "kernels/dtype.h"

namespace statescope {

// Element types a safetensors header may name. The engine computes with F32/BF16/F16 weights; the
// others are read (golden files hold I64 ids) but refused as weights, by name.
enum class StDType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL, F8_E4M3, F8_E5M2 };

std::size_t st_dtype_size(StDType t);
const char* st_dtype_name(StDType t);
std::optional<StDType> st_dtype_from_name(const std::string& name);

struct TensorInfo {
    std::string name;
    StDType dtype = StDType::F32;
    std::vector<std::int64_t> shape;
    const std::byte* data = nullptr;  // inside the file's mapping
    std::size_t bytes = 0;
    std::filesystem::path file;

    std::int64_t numel() const;
    std::string shape_string() const;  // "[1536, 16]"
    // The weight dtype, or Error: `tensor "x" in f.safetensors has dtype I64; weights must be F32,
    // BF16 or F16`.
    kernels::DType weight_dtype() const;
    // A copy widened to fp32 (F64/F32/F16/BF16 only), or Error naming the tensor.
    std::vector<float> to_f32() const;
    // A copy of an integer tensor (I64/I32), or Error naming the tensor.
    std::vector<std::int64_t> to_i64() const;
};

// One .safetensors file, mapped and validated.
class SafetensorsFile {
  public:
    // Headers larger than this are refused before parsing (HF's own reader uses the same 100 MB
    // bound).
    static constexpr std::uint64_t kMaxHeaderBytes = 100u << 20;

    static SafetensorsFile open(const std::filesystem::path& path);
    // Parses bytes already in memory (tests, the fuzz target); `name` appears in messages and
    // `owner` keeps the bytes alive as long as the tensors are used.
    static SafetensorsFile from_memory(const std::byte* data, std::size_t size,
                                       const std::filesystem::path& name,
                                       std::shared_ptr<const void> owner);

    const std::map<std::string, TensorInfo>& tensors() const { return tensors_; }
    const std::map<std::string, std::string>& metadata() const { return metadata_; }
    const TensorInfo* find(const std::string& name) const;
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
    std::shared_ptr<const void> owner_;
    std::map<std::string, TensorInfo> tensors_;
    std::map<std::string, std::string> metadata_;
};

// The weights of a checkpoint folder: model.safetensors, or the shards listed by
// model.safetensors.index.json ({"weight_map": {tensor: shard file}}).
class WeightStore {
  public:
    static WeightStore open_dir(const std::filesystem::path& dir);
    static WeightStore open_file(const std::filesystem::path& file);

    const TensorInfo* find(const std::string& name) const;
    // Error: `cannot load model: tensor "backbone.norm_f.weight" is missing from DIR`.
    const TensorInfo& get(const std::string& name) const;
    std::vector<std::string> names() const;
    const std::filesystem::path& dir() const { return dir_; }
    std::size_t total_bytes() const;
    // The dtype weight matrices are converted to when bound to a backend (Model::load's
    // LoadOptions::weight_dtype); unset: each keeps its checkpoint dtype.
    void set_matrix_dtype(std::optional<kernels::DType> t) { matrix_dtype_ = t; }
    std::optional<kernels::DType> matrix_dtype() const { return matrix_dtype_; }

  private:
    std::filesystem::path dir_;
    std::optional<kernels::DType> matrix_dtype_;
    std::vector<SafetensorsFile> files_;
    std::map<std::string, const TensorInfo*> index_;
};

}  // namespace statescope
