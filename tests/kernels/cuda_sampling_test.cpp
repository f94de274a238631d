// The CUDA sampling op against the CPU op (kernels/sampling.h): the same token for every row, u and
// setting, at vocabulary sizes of the supported tokenizers (GPT-NeoX 50,280; Qwen 151,936; a
// 256,000 vocabulary), with penalties, planted ties, NaN and infinities, and strided rows; top_k up
// to 1,024 takes the one-block select path (sample_topk.cu), 0 and larger ones the sort path, and
// rows of many equal keys make the select break ties by id (row 6: constant; row 7: 300 keys equal
// around rank 50).
// Tolerance: none on the token. Both backends compute the same double weights up to the last-ulp
// rounding of exp and of the prefix sums (CUB's scan adds in a tree), which could move a draw only
// when u falls within ~1e-15 of a boundary; the u used here are random doubles, so a mismatch is
// a real difference, not that.
#include <gtest/gtest.h>

#include <limits>
#include <random>
#include <string>
#include <vector>

#include "cuda_test_util.h"

namespace statescope::kernels::test {
namespace {

TEST(CudaSample, SameTokenAsCpuOnEverySetting) {
    STATESCOPE_REQUIRE_CUDA();
    Rng rng(43);
    std::mt19937_64 ugen(7);
    for (std::int64_t V : {1, 3, 1000, 4097, 50280, 151936, 256000}) {
        const std::int64_t T = 8, stride = V + 5;
        std::vector<float> x = strided(rng.vec(std::size_t(T * V), -8.0f, 8.0f), T, V, stride);
        for (std::int64_t t = 0; t < T && V > 16; ++t) {
            float* row = x.data() + t * stride;
            row[rng.integer(0, V - 1)] = 9.0f;  // ties at the top in every row
            row[rng.integer(0, V - 1)] = 9.0f;
            row[rng.integer(0, V - 1)] = std::numeric_limits<float>::quiet_NaN();
            row[rng.integer(0, V - 1)] = -INFINITY;
            row[rng.integer(0, V - 1)] = -0.0f;
            if (t == 5) row[rng.integer(0, V - 1)] = INFINITY;
            if (t == 6)
                for (std::int64_t i = 0; i < V; ++i) row[i] = 0.25f;
            if (t == 7)
                for (int j = 0; j < 300; ++j) row[rng.integer(0, V - 1)] = 7.5f;
        }
        // penalties: up to 20 distinct ids per row (row 2 none)
        std::vector<std::int64_t> off = {0};
        std::vector<std::int32_t> ids, counts;
        for (std::int64_t t = 0; t < T; ++t) {
            if (t != 2)
                for (std::int64_t i = t % 3; i < V && i < 20 * (V / 20 + 1); i += V / 20 + 1) {
                    ids.push_back(std::int32_t(i));
                    counts.push_back(std::int32_t(1 + (i + t) % 4));
                }
            off.push_back(std::int64_t(ids.size()));
        }
        Dev dx(x);
        auto dout = cuda().alloc(std::size_t(T) * sizeof(std::int32_t));
        int compared = 0;
        // the CPU reference sorts whole rows for top_k = 0: fewer settings at the largest V
        const bool big = V > 100000;
        int settings = 0;
        for (float temp : {0.0f, 0.6f, 1.0f, 2.0f})
            for (std::int64_t k : {std::int64_t(0), std::int64_t(1), std::int64_t(50),
                                   std::int64_t(1000), std::int64_t(1024), std::int64_t(1025), V})
                for (float top_p : {1.0f, 0.95f, 0.5f})
                    for (float min_p : {0.0f, 0.1f})
                        for (bool pen : {false, true}) {
                            if (big && (temp != 0.6f || top_p == 0.5f || min_p > 0.0f)) continue;
                            ++settings;
                            SampleParams s;
                            s.temperature = temp;
                            s.top_k = k;
                            s.top_p = top_p;
                            s.min_p = min_p;
                            if (pen) {
                                s.repetition_penalty = 1.25f;
                                s.presence_penalty = 0.5f;
                                s.frequency_penalty = 0.3f;
                            }
                            const SamplePenalties p{pen ? off.data() : nullptr, ids.data(),
                                                    counts.data()};
                            std::vector<double> u(static_cast<std::size_t>(T));
                            for (auto& v : u) v = double(ugen() >> 11) * 0x1.0p-53;
                            std::vector<std::int32_t> want(std::size_t(T), -1),
                                got(std::size_t(T), -2);
                            cpu().sample(x.data(), stride, T, V, s, p, u.data(), want.data());
                            cuda().sample(dx.get(), stride, T, V, s, p, u.data(),
                                          static_cast<std::int32_t*>(dout->data()));
                            cuda().copy_to_host(dout->data(), got.data(),
                                                got.size() * sizeof(std::int32_t));
                            for (std::int64_t t = 0; t < T; ++t) {
                                ASSERT_EQ(got[t], want[t])
                                    << "V " << V << " row " << t << " T " << temp << " k " << k
                                    << " top_p " << top_p << " min_p " << min_p
                                    << (pen ? " penalties" : "") << " u " << u[t];
                                ++compared;
                            }
                        }
        EXPECT_EQ(compared, settings * T);
        EXPECT_EQ(settings, big ? 7 * 2 * 2 : 4 * 7 * 3 * 2 * 2);
    }
}

}  // namespace
}  // namespace statescope::kernels::test
