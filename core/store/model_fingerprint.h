// How the store recognises a model folder again: model_type from config.json and a SHA-256 over
// config.json, the weight index and the safetensors headers (names, dtypes, shapes, offsets), plus
// the first and last 64 KiB of each weight file's data — enough to tell a fine-tune from its base
// (same layout, different values) without reading gigabytes on every start.
#pragma once

#include <filesystem>

#include "core/store/records.h"

namespace statescope {

// Throws Error naming the file when config.json or a weight file cannot be read.
ModelInfo model_info_for(const std::filesystem::path& model_dir);

}  // namespace statescope
