// CUDA embedding, add, softplus, rmsnorm, gated rmsnorm and causal conv1d against the CPU ops on
// random inputs, at sizes that are no multiple of the block sizes, with strided rows and aliasing
// as the runtime uses them. Tolerances are stated per op.
#include <gtest/gtest.h>

#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "cuda_test_util.h"

namespace statescope::kernels::test {
namespace {

// Widening bf16/f16/f32 to fp32 is exact: the embedding must match bit for bit.
TEST(CudaOps, EmbeddingIsExact) {
    STATESCOPE_REQUIRE_CUDA();
    Rng rng(1);
    for (DType dt : kAllDTypes)
        for (std::int64_t D : {1, 768, 1003})
            for (std::int64_t T : {1, 37}) {
                TestWeight table = make_weight(dt, 300, D, rng);
                std::vector<std::int32_t> ids(static_cast<std::size_t>(T));
                for (auto& id : ids) id = std::int32_t(rng.integer(0, 299));
                std::vector<float> want(std::size_t(T * D));
                cpu().embedding(table.view(), ids.data(), T, want.data());
                DevWeight dw(table);
                Dev out(std::vector<float>(want.size()));
                cuda().embedding(dw.w, ids.data(), T, out.get());
                expect_near_cpu(out.host(), want, 0.0, 0.0,
                                "embedding " + std::string(dtype_name(dt)) + " D=" + sz(D));
            }
}

// One fp32 addition per element on both sides: exact.
TEST(CudaOps, AddIsExact) {
    STATESCOPE_REQUIRE_CUDA();
    Rng rng(2);
    for (std::int64_t n : {1, 1000, 100003}) {
        std::vector<float> y = rng.vec(std::size_t(n)), x = rng.vec(std::size_t(n));
        Dev dy(y), dx(x);
        cpu().add(y.data(), x.data(), n);
        cuda().add(dy.get(), dx.get(), n);
        expect_near_cpu(dy.host(), y, 0.0, 0.0, "add n=" + sz(n));
    }
}

// log1p(exp(v)) with CUDA's libdevice vs the CPU's vector exp: a few ulp; 2e-6 relative.
TEST(CudaOps, SoftplusMatchesCpu) {
    STATESCOPE_REQUIRE_CUDA();
    Rng rng(3);
    const float inf = std::numeric_limits<float>::infinity();
    for (std::int64_t T : {1, 19})
        for (std::int64_t C : {1, 24, 1537})
            for (bool clamp : {false, true})
                for (bool with_bias : {false, true}) {
                    const std::int64_t stride = C + 9;
                    std::vector<float> dt =
                        strided(rng.vec(std::size_t(T * C), -25.0f, 25.0f), T, C, stride);
                    std::vector<float> bias = rng.vec(std::size_t(C), -2.0f, 2.0f);
                    const float lo = clamp ? 0.01f : -inf, hi = clamp ? 5.0f : inf;
                    std::vector<float> want(std::size_t(T * C));
                    cpu().softplus(dt.data(), stride, T, C, with_bias ? bias.data() : nullptr, lo,
                                   hi, want.data());
                    Dev ddt(dt), db(bias), out(std::vector<float>(want.size()));
                    cuda().softplus(ddt.get(), stride, T, C, with_bias ? db.get() : nullptr, lo, hi,
                                    out.get());
                    expect_near_cpu(out.host(), want, 2e-6, 0.0,
                                    "softplus T=" + sz(T) + " C=" + sz(C) +
                                        (clamp ? " clamp" : "") + (with_bias ? " bias" : ""));
                }
}

// One fp32 scale factor computed from a block reduction vs the CPU's double sum: the factor differs
// by ~1 ulp per 1000 terms, each output by ~2 ulp more; 1e-5 relative per element.
TEST(CudaOps, RmsnormMatchesCpu) {
    STATESCOPE_REQUIRE_CUDA();
    Rng rng(4);
    // D = 768, 2560, 5120 take the registers path (16-byte rows of 4k floats); 20000 is past its
    // 16384-float limit and 1, 7, 2561 are no multiple of 4: those take the element loop.
    for (std::int64_t T : {1, 5, 130})
        for (std::int64_t D : {1, 7, 768, 2560, 2561, 5120, 20000})
            for (bool with_w : {false, true})
                for (bool alias : {false, true}) {
                    const std::int64_t stride = D + 4;
                    std::vector<float> x =
                        strided(rng.vec(std::size_t(T * D), -3.0f, 3.0f), T, D, stride);
                    std::vector<float> w = rng.vec(std::size_t(D), 0.5f, 1.5f);
                    std::vector<float> want = x;
                    if (!alias) want.assign(x.size(), -7.0f);
                    cpu().rmsnorm(x.data(), stride, T, D, with_w ? w.data() : nullptr, 1e-5f,
                                  alias ? want.data() : want.data(), stride);
                    Dev dx(x), dw(w), dy(std::vector<float>(x.size(), -7.0f));
                    float* out = alias ? dx.get() : dy.get();
                    cuda().rmsnorm(dx.get(), stride, T, D, with_w ? dw.get() : nullptr, 1e-5f, out,
                                   stride);
                    expect_near_cpu(alias ? dx.host() : dy.host(), want, 1e-5, 0.0,
                                    "rmsnorm T=" + sz(T) + " D=" + sz(D) + (with_w ? " w" : "") +
                                        (alias ? " in place" : ""));
                }
}

// The residual add fused with the next pre-norm, against the CPU's add / add_scaled then rmsnorm:
// h is one fp32 add (of an fp32 product for s != 1, rounded separately on the GPU; the CPU compiler
// may fuse it into one fma): 1e-6 relative, floored at 1e-6 of the largest |h| where h cancels;
// y as rmsnorm, 1e-5 with the same floor scaled up.
TEST(CudaOps, AddRmsnormMatchesCpu) {
    STATESCOPE_REQUIRE_CUDA();
    Rng rng(14);
    for (std::int64_t T : {1, 3, 64})
        for (std::int64_t D : {7, 768, 2560, 4096})
            for (float s : {1.0f, 0.75f}) {
                const std::size_t n = std::size_t(T * D);
                std::vector<float> h = rng.vec(n, -3.0f, 3.0f), x = rng.vec(n, -3.0f, 3.0f);
                std::vector<float> w = rng.vec(std::size_t(D), 0.5f, 1.5f);
                std::vector<float> h_cpu = h, y_cpu(n);
                cpu().add_rmsnorm(h_cpu.data(), x.data(), s, T, D, w.data(), 1e-5f, y_cpu.data());
                Dev dh(h), dx(x), dw(w), dy(std::vector<float>(n, -7.0f));
                cuda().add_rmsnorm(dh.get(), dx.get(), s, T, D, dw.get(), 1e-5f, dy.get());
                const std::string what =
                    "add_rmsnorm T=" + sz(T) + " D=" + sz(D) + " s=" + std::to_string(s);
                expect_near_cpu(dh.host(), h_cpu, 1e-6, 1e-6, what + " (h)");
                expect_near_cpu(dy.host(), y_cpu, 1e-5, 1e-5, what + " (y)");
            }
}

// As rmsnorm, plus silu(z) through expf on both sides: 1e-5 relative per element, floored at 1e-4
// of the largest output (silu near its zero).
TEST(CudaOps, GatedRmsnormMatchesCpu) {
    STATESCOPE_REQUIRE_CUDA();
    Rng rng(5);
    struct Case {
        std::int64_t I, group;
    };
    for (std::int64_t T : {1, 3, 70})
        for (Case c :
             {Case{64, 64}, Case{96, 24}, Case{1536, 1536}, Case{5120, 640}, Case{5120, 5120}})
            for (bool before : {false, true})
                for (bool with_w : {false, true})
                    for (std::int64_t z_pad : {3, 0}) {  // 0: 16-byte rows, the registers path
                        const std::int64_t z_stride = 2 * c.I + z_pad;
                        std::vector<float> y = rng.vec(std::size_t(T * c.I), -2.0f, 2.0f);
                        std::vector<float> z = rng.vec(std::size_t(T * z_stride), -4.0f, 4.0f);
                        std::vector<float> w = rng.vec(std::size_t(c.I), 0.5f, 1.5f);
                        std::vector<float> want = y;  // in place, as the Mamba-2 mixer calls it
                        cpu().gated_rmsnorm(want.data(), z.data(), z_stride, T, c.I, c.group,
                                            with_w ? w.data() : nullptr, 1e-5f, before,
                                            want.data());
                        Dev dy(y), dz(z), dw(w);
                        cuda().gated_rmsnorm(dy.get(), dz.get(), z_stride, T, c.I, c.group,
                                             with_w ? dw.get() : nullptr, 1e-5f, before, dy.get());
                        expect_near_cpu(dy.host(), want, 1e-5, 1e-4,
                                        "gated_rmsnorm T=" + sz(T) + " I=" + sz(c.I) + " group=" +
                                            sz(c.group) + (before ? " norm-before-gate" : "") +
                                            (with_w ? " w" : "") + " z_stride=" + sz(z_stride));
                    }
}

// A K-term sum plus bias (the CPU and the GPU order and fuse the adds differently), then silu
// through expf: a few ulp of the terms' magnitude, so 1e-5 relative per element, floored at 0.1 of
// the largest output for elements where the terms cancel (3.2e-4 relative was seen on an element
// of 1e-3 made of O(1) terms with a 1e-4 floor; 2 ulp of the terms). Two calls in a row check the
// state continuation, at lengths on both sides of the fused (T <= 16) and chunked paths.
TEST(CudaOps, CausalConv1dMatchesCpuAcrossCalls) {
    STATESCOPE_REQUIRE_CUDA();
    Rng rng(6);
    for (std::int64_t K : {2, 4})
        for (std::int64_t C : {1, 33, 1536})
            for (std::int64_t T : {1, 2, 16, 17, 100})
                for (bool with_bias : {false, true})
                    for (bool act : {false, true}) {
                        const std::int64_t stride = 2 * C + 1;
                        std::vector<float> w = rng.vec(std::size_t(C * K)),
                                           bias = rng.vec(std::size_t(C));
                        std::vector<float> state = rng.vec(std::size_t((K - 1) * C));
                        Dev dw(w), db(bias), ds(state);
                        for (int call = 0; call < 2; ++call) {
                            std::vector<float> x =
                                strided(rng.vec(std::size_t(T * C), -2.0f, 2.0f), T, C, stride);
                            std::vector<float> want(std::size_t(T * C));
                            cpu().causal_conv1d(x.data(), stride, T, C, K, w.data(),
                                                with_bias ? bias.data() : nullptr, act,
                                                state.data(), want.data());
                            Dev dx(x), dy(std::vector<float>(want.size()));
                            cuda().causal_conv1d(dx.get(), stride, T, C, K, dw.get(),
                                                 with_bias ? db.get() : nullptr, act, ds.get(),
                                                 dy.get());
                            const std::string what = "conv1d K=" + sz(K) + " C=" + sz(C) +
                                                     " T=" + sz(T) + (with_bias ? " bias" : "") +
                                                     (act ? " silu" : "") + " call " + sz(call);
                            expect_near_cpu(dy.host(), want, 1e-5, 0.1, what);
                            expect_near_cpu(ds.host(), state, 0.0, 0.0, what + " state");
                        }
                    }
}

}  // namespace
}  // namespace statescope::kernels::test

namespace statescope::kernels::test {
namespace {

// An allocation that cannot fit is an error naming the size and what is free, not a crash; the
// backend stays usable after it.
TEST(CudaOps, OutOfMemoryIsAnErrorThatSaysWhatDidNotFit) {
    STATESCOPE_REQUIRE_CUDA();
    try {
        cuda().alloc(std::size_t(1) << 50);  // 1 PiB
        ADD_FAILURE() << "a 1 PiB allocation succeeded";
    } catch (const std::runtime_error& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("out of GPU memory"), std::string::npos) << what;
        EXPECT_NE(what.find("did not fit"), std::string::npos) << what;
        EXPECT_NE(what.find("free of"), std::string::npos) << what;
    }
    Dev still_works(std::vector<float>(16, 1.0f));
    EXPECT_EQ(still_works.host()[15], 1.0f);
}

}  // namespace
}  // namespace statescope::kernels::test
