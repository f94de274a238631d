#include "core/analysis/probes/probe_rng.h"

#include <cmath>

namespace statescope {

std::int64_t ProbeRng::uniform_int(std::int64_t lo, std::int64_t hi) {
    const std::uint64_t n = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo) + 1;
    if (n == 0) return static_cast<std::int64_t>(engine_());  // the whole 64-bit range
    // 2^64 mod n, computed as (2^64 - n) mod n in unsigned arithmetic.
    const std::uint64_t waste = (0 - n) % n;
    std::uint64_t x = engine_();
    while (x > ~std::uint64_t{0} - waste) x = engine_();
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(lo) + x % n);
}

double ProbeRng::uniform01() {
    return static_cast<double>(engine_() >> 11) * 0x1.0p-53;
}

std::uint64_t splitmix64(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

std::uint64_t sample_seed(std::uint64_t seed, std::int64_t length, double depth,
                          std::int64_t sample) {
    const auto micro = static_cast<std::int64_t>(std::llround(depth * 1e6));
    std::uint64_t h = splitmix64(seed);
    h = splitmix64(h ^ static_cast<std::uint64_t>(length));
    h = splitmix64(h ^ static_cast<std::uint64_t>(micro));
    return splitmix64(h ^ static_cast<std::uint64_t>(sample));
}

}  // namespace statescope
