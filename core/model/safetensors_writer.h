// Writes safetensors files (benchmarks' random checkpoints, test fixtures, saved captures).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/model/safetensors.h"

namespace statescope {

struct TensorToWrite {
    std::string name;
    StDType dtype = StDType::F32;
    std::vector<std::int64_t> shape;
    std::vector<std::uint8_t> bytes;  // numel * dtype size, little-endian
};

// Tensors are laid out in the given order, 8-byte aligned header as the reference writer does; the
// file is written to a temporary name and renamed, so readers never see half a file.
void write_safetensors(const std::filesystem::path& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// Encodes fp32 values as `dtype` (F32, BF16 round-to-nearest-even, F16).
std::vector<std::uint8_t> encode_f32(const std::vector<float>& values, StDType dtype);

}  // namespace statescope
