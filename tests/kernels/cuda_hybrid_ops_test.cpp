// CUDA scale, add_scaled, glu, rope, attention (prefill, sliding window, GQA, split-K decode),
// moe_route, expert matmuls on stacked weights and the device argmax, each against the CPU op on
// fresh random inputs at sizes that are no multiple of the kernels' tiles (16 query rows, 32 keys,
// 256-thread blocks), with strided rows as the runtime passes them. Tolerances are stated per op.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "core/model/adapters/adapter.h"
#include "core/model/config.h"
#include "core/runtime/generate.h"
#include "core/runtime/mixer.h"
#include "cuda_test_util.h"
#ifdef STATESCOPE_HAVE_CUDA
#include "kernels/cuda/ops.h"
#endif

namespace statescope::kernels::test {
namespace {

// A host int32 array copied into CUDA memory (int32 and float share 4-byte slots).
std::vector<std::int32_t> ints_of(const std::vector<float>& v) {
    std::vector<std::int32_t> out(v.size());
    std::memcpy(out.data(), v.data(), v.size() * 4);
    return out;
}

// One fp32 multiply per element on both sides: exact; the padding between rows stays as it was.
TEST(CudaHybridOps, ScaleIsExact) {
    STATESCOPE_REQUIRE_CUDA();
    Rng rng(21);
    for (std::int64_t T : {1, 7})
        for (std::int64_t n : {1, 1000, 4099}) {
            const std::int64_t stride = n + 5;
            std::vector<float> x = strided(rng.vec(std::size_t(T * n), -3.0f, 3.0f), T, n, stride);
            Dev dx(x);
            cpu().scale(x.data(), stride, T, n, 0.3779645f);
            cuda().scale(dx.get(), stride, T, n, 0.3779645f);
            expect_near_cpu(dx.host(), x, 0.0, 0.0, "scale T=" + sz(T) + " n=" + sz(n));
        }
}

// y + s*x: the CPU build may fuse the multiply-add (-march=native), the CUDA kernel rounds the
// product first: 1 ulp of the terms. 1e-6 relative, floored at 0.1 of the largest output where
// y and s*x cancel.
TEST(CudaHybridOps, AddScaledMatchesCpu) {
    STATESCOPE_REQUIRE_CUDA();
    Rng rng(22);
    for (std::int64_t n : {1, 1000, 100003}) {
        std::vector<float> y = rng.vec(std::size_t(n)), x = rng.vec(std::size_t(n));
        Dev dy(y), dx(x);
        cpu().add_scaled(y.data(), x.data(), -0.7f, n);
        cuda().add_scaled(dy.get(), dx.get(), -0.7f, n);
        expect_near_cpu(dy.host(), y, 1e-6, 0.1, "add_scaled n=" + sz(n));
    }
}

// act(gate) * up with expf / erfcf (CUDA) against std::exp / std::erfc (CPU): a few ulp; 1e-5
// relative, floored at 1e-4 of the largest output (silu and gelu near their zero). The gate and up
// halves come from one fused [T, 2F] row as the MLP mixer passes them; the in-place case writes
// over a contiguous gate.
TEST(CudaHybridOps, GluMatchesCpu) {
    STATESCOPE_REQUIRE_CUDA();
    Rng rng(23);
    const Activation acts[] = {Activation::Silu, Activation::Gelu, Activation::Relu2};
    const char* names[] = {"silu", "gelu", "relu2"};
    for (int a = 0; a < 3; ++a)
        for (std::int64_t T : {1, 13})
            for (std::int64_t F : {1, 300, 2049})
                for (int mode = 0; mode < 3; ++mode) {  // 0 fused gate|up, 1 no up, 2 in place
                    const std::int64_t stride = mode == 2 ? F : 2 * F + 1;
                    std::vector<float> gu = rng.vec(std::size_t(T * stride), -6.0f, 6.0f);
                    const bool with_up = mode != 1;
                    std::vector<float> up = rng.vec(std::size_t(T * F), -2.0f, 2.0f);
                    std::vector<float> want(std::size_t(T * F), -7.0f);
                    Dev dgu(gu), dup(up), dout(want);
                    if (mode == 2) {
                        cpu().glu(gu.data(), F, up.data(), F, T, F, acts[a], gu.data());
                        cuda().glu(dgu.get(), F, dup.get(), F, T, F, acts[a], dgu.get());
                        expect_near_cpu(dgu.host(), gu, 1e-5, 1e-4,
                                        std::string("glu ") + names[a] + " in place T=" + sz(T) +
                                            " F=" + sz(F));
                        continue;
                    }
                    cpu().glu(gu.data(), stride, with_up ? gu.data() + F : nullptr, stride, T, F,
                              acts[a], want.data());
                    cuda().glu(dgu.get(), stride, with_up ? dgu.get() + F : nullptr, stride, T, F,
                               acts[a], dout.get());
                    expect_near_cpu(dout.host(), want, 1e-5, 1e-4,
                                    std::string("glu ") + names[a] + (with_up ? "" : " no up") +
                                        " T=" + sz(T) + " F=" + sz(F));
                }
}

// The inv_freq of a config's rope, as the adapters compute it (default, linear, llama3 scaling).
std::vector<float> inv_freq_for(const std::string& rope_json, std::int64_t head_dim,
                                double partial) {
    const Config cfg = Config::parse(rope_json, "test config");
    return adapters::read_rope(cfg, head_dim, partial).inv_freq;
}

// Both backends round the same fp32 angle's cos/sin (from double) and rotate the pair; the rotation
// itself may fuse differently (half an ulp of the larger product, up to 1.2e-7 at |x| < 2, plus the
// last rounding): 5e-6 relative, floored at 0.05 of the largest value where the two products
// cancel (1.1e-6 at worst there). Positions up to 200000 check the fp32 angle product.
TEST(CudaHybridOps, RopeMatchesCpu) {
    STATESCOPE_REQUIRE_CUDA();
    Rng rng(24);
    struct Case {
        const char* name;
        std::string json;
        std::int64_t head_dim;
        double partial;
    };
    const Case cases[] = {
        {"default", R"({"rope_theta": 10000})", 64, 1.0},
        {"default hd=16", R"({"rope_theta": 10000})", 16, 1.0},
        {"partial 0.5", R"({"rope_theta": 10000, "partial_rotary_factor": 0.5})", 80, 0.5},
        {"linear x4", R"({"rope_theta": 10000, "rope_scaling": {"type": "linear", "factor": 4}})",
         128, 1.0},
        {"llama3",
         R"({"rope_theta": 500000, "rope_scaling": {"rope_type": "llama3", "factor": 8,
             "low_freq_factor": 1, "high_freq_factor": 4,
             "original_max_position_embeddings": 8192}})",
         128, 1.0},
    };
    for (const Case& c : cases) {
        const std::vector<float> inv = inv_freq_for(c.json, c.head_dim, c.partial);
        const auto rotary = std::int64_t(inv.size()) * 2;
        for (std::int64_t n_heads : {1, 7})
            for (std::int64_t T : {1, 33})
                for (std::int64_t pos0 : {0, 1000, 200000}) {
                    const std::int64_t width = n_heads * c.head_dim, stride = width + 3;
                    std::vector<float> x =
                        strided(rng.vec(std::size_t(T * width), -2.0f, 2.0f), T, width, stride);
                    Dev dx(x), dinv(inv);
                    cpu().rope(x.data(), stride, T, n_heads, c.head_dim, rotary, pos0, inv.data());
                    cuda().rope(dx.get(), stride, T, n_heads, c.head_dim, rotary, pos0, dinv.get());
                    expect_near_cpu(dx.host(), x, 5e-6, 0.05,
                                    std::string("rope ") + c.name + " heads=" + sz(n_heads) +
                                        " T=" + sz(T) + " pos0=" + sz(pos0));
                }
    }
}

struct AttnCase {
    std::int64_t n_heads, n_kv_heads, head_dim;
};

// Attention of T queries at pos0.. over a random cache of pos0 + T positions, CPU vs CUDA.
// Both accumulate sum_j p_j v_j in fp32 one key at a time, in different orders (the CUDA kernel
// rescales its running sum per tile of 32 keys): each add rounds by eps/2 of the running sum, a
// random walk of ~sqrt(n) eps over n keys, 2e-6 of the output's typical size at 4099 keys; and
// the two sides' expf differ by an ulp or two. 5e-5 relative, floored at 0.2 of the largest output
// (an average of random values can cancel to near zero). A missed or extra key (a mask off by one)
// moves an output by ~p_j |v_j|, above 1e-2 of that floor at these lengths.
void check_attention(const AttnCase& c, std::int64_t T, std::int64_t pos0, std::int64_t window,
                     Rng& rng, const std::string& tag) {
    const std::int64_t qw = c.n_heads * c.head_dim, kvw = c.n_kv_heads * c.head_dim;
    const std::int64_t q_stride = qw + 3, kv_stride = kvw + 2, out_stride = qw + 5;
    const std::int64_t L = pos0 + T;
    // q up to 3 in size: scores of a few units, so the softmax has clear peaks as in real models.
    std::vector<float> q = strided(rng.vec(std::size_t(T * qw), -3.0f, 3.0f), T, qw, q_stride);
    std::vector<float> k = strided(rng.vec(std::size_t(L * kvw)), L, kvw, kv_stride);
    std::vector<float> v = strided(rng.vec(std::size_t(L * kvw)), L, kvw, kv_stride);
    std::vector<float> want(std::size_t(T * out_stride), -7.0f);
    const float scale = 1.0f / std::sqrt(float(c.head_dim));
    cpu().attention(q.data(), q_stride, k.data(), v.data(), kv_stride, T, pos0, c.n_heads,
                    c.n_kv_heads, c.head_dim, scale, window, want.data(), out_stride);
    Dev dq(q), dk(k), dv(v), dout(std::vector<float>(want.size(), -7.0f));
    cuda().attention(dq.get(), q_stride, dk.get(), dv.get(), kv_stride, T, pos0, c.n_heads,
                     c.n_kv_heads, c.head_dim, scale, window, dout.get(), out_stride);
    expect_near_cpu(dout.host(), want, 5e-5, 0.2,
                    tag + " heads=" + sz(c.n_heads) + "/" + sz(c.n_kv_heads) +
                        " hd=" + sz(c.head_dim) + " T=" + sz(T) + " pos0=" + sz(pos0) +
                        " window=" + sz(window));
}

// Prefill: causal, GQA (1, 2, 3 and 4 query heads per kv head), sliding windows shorter and
// longer than a tile, head_dim 16..256 (one to eight values per lane), T not a multiple of the 16
// query rows of a block, and chunks continuing a cache (pos0 > 0).
TEST(CudaHybridOps, AttentionPrefillMatchesCpu) {
    STATESCOPE_REQUIRE_CUDA();
    Rng rng(25);
    const AttnCase cases[] = {{4, 2, 16},  {8, 8, 64},  {12, 4, 80},
                              {8, 2, 128}, {4, 1, 256}, {6, 2, 32}};
    for (const AttnCase& c : cases)
        for (std::int64_t T : {1, 17, 100})
            for (std::int64_t pos0 : {0, 37})
                for (std::int64_t window : {0, 5, 48})
                    check_attention(c, T, pos0, window, rng, "attention");
    // A longer prompt: 333 rows (21 tiles of 16, the last one partial), two head shapes.
    check_attention({8, 2, 128}, 333, 0, 0, rng, "attention long");
    check_attention({4, 4, 64}, 333, 11, 100, rng, "attention long");
}

// Decode and short chunks after a long cache take the split-K path (the keys divided among blocks,
// then merged); the result matches the CPU and the prefill of the same rows.
TEST(CudaHybridOps, AttentionDecodeMatchesCpuAndPrefill) {
    STATESCOPE_REQUIRE_CUDA();
    Rng rng(26);
    const AttnCase cases[] = {{8, 2, 128}, {32, 8, 128}, {4, 4, 64}, {16, 1, 256}, {4, 2, 16}};
    for (const AttnCase& c : cases)
        for (std::int64_t pos0 : {700, 4099})
            for (std::int64_t T : {1, 3})
                for (std::int64_t window : {0, 1024}) {
#ifdef STATESCOPE_HAVE_CUDA
                    EXPECT_GT(cuda::attention_splits(T, pos0, c.n_heads, c.n_kv_heads, window, 132),
                              1)
                        << "the decode case should take the split-K path";
#endif
                    check_attention(c, T, pos0, window, rng, "attention decode");
                }

    // One cache, prefilled in one call, then each of the last rows again as a decode step: the
    // same numbers within the tolerance above.
    const AttnCase c{8, 2, 128};
    const std::int64_t L = 2500, qw = c.n_heads * c.head_dim, kvw = c.n_kv_heads * c.head_dim;
    std::vector<float> q = rng.vec(std::size_t(L * qw), -3.0f, 3.0f);
    std::vector<float> k = rng.vec(std::size_t(L * kvw)), v = rng.vec(std::size_t(L * kvw));
    Dev dq(q), dk(k), dv(v), all(std::vector<float>(std::size_t(L * qw)));
    const float scale = 1.0f / std::sqrt(float(c.head_dim));
    cuda().attention(dq.get(), qw, dk.get(), dv.get(), kvw, L, 0, c.n_heads, c.n_kv_heads,
                     c.head_dim, scale, 0, all.get(), qw);
    const std::vector<float> prefill = all.host();
    for (std::int64_t p :
         {std::int64_t(1), std::int64_t(31), std::int64_t(32), std::int64_t(1000), L - 1}) {
        Dev one{std::vector<float>(static_cast<std::size_t>(qw))};
        cuda().attention(dq.get() + p * qw, qw, dk.get(), dv.get(), kvw, 1, p, c.n_heads,
                         c.n_kv_heads, c.head_dim, scale, 0, one.get(), qw);
        std::vector<float> want(prefill.begin() + p * qw, prefill.begin() + (p + 1) * qw);
        expect_near_cpu(one.host(), want, 5e-5, 0.2,
                        "attention decode vs prefill at position " + sz(p));
    }
}

// The three router scorings at the shapes of jamba (softmax top-2 of 16), granite (top-8 of 40,
// softmax over the chosen), nemotron-h / deepseek (sigmoid with correction bias, 8 groups keep 4).
// Both compute in double: the experts must be the same and in the same order, the weights within
// 1e-6 relative (exp in double rounds alike to within an ulp of double).
TEST(CudaHybridOps, MoeRouteMatchesCpu) {
    STATESCOPE_REQUIRE_CUDA();
    Rng rng(27);
    struct Case {
        const char* name;
        RouterScoring scoring;
        std::int64_t E, k, n_group, topk_group;
        bool bias, normalize;
        float route_scale;
    };
    const Case cases[] = {
        {"softmax-topk E=16 k=2", RouterScoring::SoftmaxTopK, 16, 2, 1, 1, false, false, 1.0f},
        {"softmax-topk E=4 k=2 normalized", RouterScoring::SoftmaxTopK, 4, 2, 1, 1, false, true,
         1.0f},
        {"topk-softmax E=40 k=8", RouterScoring::TopKSoftmax, 40, 8, 1, 1, false, false, 1.0f},
        {"sigmoid E=128 k=6 groups 8/4", RouterScoring::Sigmoid, 128, 6, 8, 4, true, true, 2.5f},
        {"sigmoid E=256 k=8 groups 8/4", RouterScoring::Sigmoid, 256, 8, 8, 4, true, true, 2.5f},
        {"sigmoid E=64 k=8 no groups", RouterScoring::Sigmoid, 64, 8, 1, 1, true, true, 1.0f},
        {"sigmoid E=4 k=2 no bias", RouterScoring::Sigmoid, 4, 2, 1, 1, false, false, 1.0f},
    };
    for (const Case& c : cases)
        for (std::int64_t T : {1, 33}) {
            std::vector<float> logits = rng.vec(std::size_t(T * c.E), -4.0f, 4.0f);
            std::vector<float> bias = rng.vec(std::size_t(c.E), -0.5f, 0.5f);
            std::vector<std::int32_t> experts(std::size_t(T * c.k));
            std::vector<float> weights(std::size_t(T * c.k));
            cpu().moe_route(logits.data(), T, c.E, c.k, c.scoring, c.bias ? bias.data() : nullptr,
                            c.n_group, c.topk_group, c.normalize, c.route_scale, experts.data(),
                            weights.data());
            Dev dl(logits), db(bias), de(std::vector<float>(experts.size())),
                dw(std::vector<float>(weights.size()));
            cuda().moe_route(dl.get(), T, c.E, c.k, c.scoring, c.bias ? db.get() : nullptr,
                             c.n_group, c.topk_group, c.normalize, c.route_scale,
                             reinterpret_cast<std::int32_t*>(de.get()), dw.get());
            const std::string what = std::string("moe_route ") + c.name + " T=" + sz(T);
            EXPECT_EQ(ints_of(de.host()), experts) << what;
            expect_near_cpu(dw.host(), weights, 1e-6, 0.0, what + " weights");
        }
}

// The MoE mixer runs each expert as matmuls on rows of one stacked [E * 2F, D] gate_up tensor
// (and [E * D, F] down), bound once: views at an offset into the device copy. Each expert's view
// against the CPU on the same view, GEMV (T <= 8) and cuBLASLt (T > 8) paths. Tolerance relative
// to sum |x w| as in cuda_matmul_test: 2e-5 in fp32, 4e-3 with bf16 tensor-core inputs.
TEST(CudaHybridOps, ExpertMatmulsOnStackedWeightsMatchCpu) {
    STATESCOPE_REQUIRE_CUDA();
    Rng rng(28);
    const std::int64_t E = 5, F = 72, D = 96;
    for (DType dt : {DType::F32, DType::BF16})
        for (std::int64_t T : {1, 5, 40}) {
            TestWeight stacked = make_weight(dt, E * 2 * F, D, rng);
            DevWeight dev(stacked);
            for (std::int64_t e = 0; e < E; ++e) {
                const Weight host_view = weight_rows(stacked.view(), e * 2 * F, 2 * F, D);
                const Weight dev_view = weight_rows(dev.w, e * 2 * F, 2 * F, D);
                std::vector<float> x = rng.vec(std::size_t(T * D));
                std::vector<float> want(std::size_t(T * 2 * F));
                cpu().matmul(x.data(), D, T, host_view, nullptr, want.data(), 2 * F);
                Dev dx(x), dy(std::vector<float>(want.size()));
                cuda().matmul(dx.get(), D, T, dev_view, nullptr, dy.get(), 2 * F);
                const std::vector<float> got = dy.host();
                const double tol = (T <= 8 || dt == DType::F32) ? 2e-5 : 4e-3;
                double worst = 0;
                for (std::int64_t t = 0; t < T; ++t)
                    for (std::int64_t o = 0; o < 2 * F; ++o) {
                        double s = 1e-30;
                        for (std::int64_t i = 0; i < D; ++i)
                            s += std::abs(double(x[t * D + i]) *
                                          stacked.values[(e * 2 * F + o) * D + i]);
                        const std::size_t at = std::size_t(t * 2 * F + o);
                        worst = std::max(worst, std::abs(double(got[at]) - want[at]) / s);
                    }
                EXPECT_LE(worst, tol) << "expert " << e << " " << dtype_name(dt) << " T=" << T;
                if (std::getenv("STATESCOPE_TEST_VERBOSE") != nullptr && e == E - 1)
                    std::printf("[cuda-vs-cpu] expert matmul %s T=%lld worst %.3g (tol %.3g)\n",
                                std::string(dtype_name(dt)).c_str(), (long long)T, worst, tol);
            }
        }
}

// The device argmax equals the host one (statescope::argmax, the greedy sampler's) on random rows,
// with planted ties: the lowest index of the maximum wins; a constant row gives 0.
TEST(CudaHybridOps, ArgmaxMatchesCpuIncludingTies) {
    STATESCOPE_REQUIRE_CUDA();
    Rng rng(29);
    for (std::int64_t V : {1, 7, 1000, 1025, 50257, 151936})
        for (int ties : {0, 1, 3}) {
            const std::int64_t T = 4, stride = V + 3;
            std::vector<float> x =
                strided(rng.vec(std::size_t(T * V), -20.0f, 20.0f), T, V, stride);
            for (std::int64_t t = 0; t < T; ++t) {
                float* row = x.data() + t * stride;
                if (t == 3 && ties > 0) {
                    for (std::int64_t i = 0; i < V; ++i) row[i] = 1.5f;  // all equal: index 0
                    continue;
                }
                for (int j = 0; j < ties; ++j) row[rng.integer(0, V - 1)] = 25.0f;
                if (t == 2 && ties == 0) row[V - 1] = 30.0f;  // the maximum in the last slot
            }
            std::vector<std::int32_t> want(static_cast<std::size_t>(T)),
                cpu_out(static_cast<std::size_t>(T));
            for (std::int64_t t = 0; t < T; ++t)
                want[t] = statescope::argmax(std::span<const float>(x.data() + t * stride, V));
            cpu().argmax(x.data(), stride, T, V, cpu_out.data());
            EXPECT_EQ(cpu_out, want) << "cpu argmax V=" << V;
            Dev dx(x), dout{std::vector<float>(static_cast<std::size_t>(T))};
            cuda().argmax(dx.get(), stride, T, V, reinterpret_cast<std::int32_t*>(dout.get()));
            EXPECT_EQ(ints_of(dout.host()), want) << "cuda argmax V=" << V << " ties=" << ties;
        }
}

}  // namespace
}  // namespace statescope::kernels::test
