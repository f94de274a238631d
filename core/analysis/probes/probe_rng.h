// The probes' random numbers, specified down to the bit so that a seed gives the same prompts on
// every platform: std::mt19937_64's output is fixed by the standard, but
// std::uniform_int_distribution and friends are not (libstdc++ and libc++ draw differently). The
// distributions here are ours.
#pragma once

#include <cstdint>
#include <random>

namespace statescope {

class ProbeRng {
  public:
    explicit ProbeRng(std::uint64_t seed) : engine_(seed) {}

    // Uniform integer in [lo, hi] (inclusive; lo <= hi): one 64-bit draw x, rejected while x falls
    // in the incomplete last block (x >= 2^64 - 2^64 mod n), then lo + x mod n, with n = hi-lo+1.
    std::int64_t uniform_int(std::int64_t lo, std::int64_t hi);
    // Uniform double in [0, 1): the top 53 bits of one draw times 2^-53.
    double uniform01();
    std::uint64_t next() { return engine_(); }

  private:
    std::mt19937_64 engine_;
};

// SplitMix64's finaliser (Steele, Lea, Flood 2014): mixes `x` so that nearby inputs give unrelated
// outputs.
std::uint64_t splitmix64(std::uint64_t x);

// The seed of one probe sample: splitmix64 folded over (seed, length, depth in millionths, sample
// index), so that a cell's prompt does not depend on which other cells the grid has.
std::uint64_t sample_seed(std::uint64_t seed, std::int64_t length, double depth,
                          std::int64_t sample);

}  // namespace statescope
