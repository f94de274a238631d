// Where the test data lives: $STATESCOPE_TEST_DATA when set (test binaries copied to another
// machine, e.g. a GPU box), else the source tree's tests/data compiled in.
#pragma once

#include <cstdlib>
#include <filesystem>

namespace statescope::test {

inline std::filesystem::path test_data_dir() {
    if (const char* dir = std::getenv("STATESCOPE_TEST_DATA"); dir != nullptr && *dir != '\0')
        return dir;
    return STATESCOPE_TEST_DATA;
}

}  // namespace statescope::test
