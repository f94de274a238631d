// Where the test data lives: $STATESCOPE_TEST_DATA when set (test binaries copied to another
// machine, e.g. a GPU box), else the source tree's tests/data compiled in; the bundled models
// relative to it.
#pragma once

#include <cstdlib>
#include <filesystem>

namespace statescope::test {

inline std::filesystem::path test_data_dir() {
    if (const char* dir = std::getenv("STATESCOPE_TEST_DATA"); dir != nullptr && *dir != '\0')
        return dir;
    return STATESCOPE_TEST_DATA;
}

// The bundled demo models (resources/models): beside the test data in the same tree, so binaries
// copied to another machine find them through $STATESCOPE_TEST_DATA (<tree>/tests/data) too.
inline std::filesystem::path bundled_models_dir() {
    std::filesystem::path data = test_data_dir().lexically_normal();
    if (!data.has_filename()) data = data.parent_path();  // a trailing slash
    return data.parent_path().parent_path() / "resources" / "models";
}

}  // namespace statescope::test
