// The line protocol between store_crash_writer and crash_test: the writer prints a fact only once
// it is committed (after flush()), so every printed fact must survive a SIGKILL.
//   M <message id> <session id> <text bytes> <fnv1a64 of text>   a message, complete
//   B <message id> <blob hash>                                    a blob attached to it
//   I <session id> <message count>                                an imported session
//   d <session id>                                                about to delete (before it is)
#pragma once

#include <cstdint>
#include <string_view>

namespace statescope::test {

inline std::uint64_t fnv1a64(std::string_view s) {
    std::uint64_t h = 1469598103934665603ull;
    for (unsigned char c : s) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return h;
}

}  // namespace statescope::test
