// What the golden-checkpoint tests share: the folder of the golden cases, the row error criterion,
// and a fixture parameterised by (model folder, backend name) that loads the model on that backend
// or skips with the reason the backend cannot be made (no GPU).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "core/error.h"
#include "core/runtime/backends.h"
#include "core/runtime/model.h"
#include "tests/test_data.h"

namespace statescope::test {

inline const std::filesystem::path& golden_dir() {
    static const std::filesystem::path dir = test_data_dir() / "golden";
    return dir;
}

// Every golden checkpoint folder (one per model_type), sorted: a new golden case is covered by the
// tests that iterate this without an edit to them.
inline std::vector<std::string> golden_models() {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(golden_dir(), ec))
        if (e.is_directory() && std::filesystem::exists(e.path() / "config.json"))
            names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

// The golden README's criterion: max |a - b| / max |b| over a row.
inline double row_rel_error(const float* a, const float* b, std::int64_t n) {
    double diff = 0, scale = 0;
    for (std::int64_t i = 0; i < n; ++i) {
        diff = std::max(diff, std::fabs(double(a[i]) - double(b[i])));
        scale = std::max(scale, std::fabs(double(b[i])));
    }
    return diff / std::max(scale, 1e-30);
}

// (model folder, backend name)
using ModelBackendParam = std::tuple<std::string, std::string>;

class ModelOnBackend : public ::testing::TestWithParam<ModelBackendParam> {
  protected:
    void SetUp() override {
        const auto& [name, backend] = GetParam();
        try {
            backend_ = make_backend(backend);
        } catch (const Error& e) {
            GTEST_SKIP() << e.what();
        }
        model_ = Model::load(golden_dir() / name, *backend_);
    }
    std::unique_ptr<kernels::Backend> backend_;
    std::unique_ptr<Model> model_;
};

// "mamba-tiny", "cuda" -> mamba_tiny_cuda
inline std::string model_backend_name(const ::testing::TestParamInfo<ModelBackendParam>& p) {
    std::string s = std::get<0>(p.param) + "_" + std::get<1>(p.param);
    std::replace(s.begin(), s.end(), '-', '_');
    return s;
}

}  // namespace statescope::test
