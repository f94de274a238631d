// NumPy .npy (format 1.0) for float32 C-order arrays: the CLI's tensor output.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

namespace statescope::cli {

// Writes atomically (temp file + rename) so a failed run never leaves half a file.
void write_npy_f32(const std::filesystem::path& path, std::span<const float> data,
                   const std::vector<std::int64_t>& shape);

}  // namespace statescope::cli
