// A fixture with the golden mamba-neox checkpoint (random weights, the real GPT-NeoX tokenizer)
// loaded on the CPU: the tests that generate or chat with text.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "core/runtime/backends.h"
#include "core/runtime/model.h"
#include "core/tokenizer/tokenizer.h"
#include "tests/test_data.h"

namespace statescope::test {

class NeoxModelTest : public ::testing::Test {
  protected:
    static std::filesystem::path neox_dir() { return test_data_dir() / "golden" / "mamba-neox"; }
    void SetUp() override {
        backend_ = make_backend("cpu");
        model_ = Model::load(neox_dir(), *backend_);
        tok_ = std::make_unique<Tokenizer>(Tokenizer::from_file(neox_dir() / "tokenizer.json"));
    }
    std::unique_ptr<kernels::Backend> backend_;
    std::unique_ptr<Model> model_;
    std::unique_ptr<Tokenizer> tok_;
};

}  // namespace statescope::test
