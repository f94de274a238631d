// CUDA selective scan (Mamba-1) and SSD recurrence (Mamba-2) against the CPU ops: prefill-sized
// calls and runs of one-token decode calls continuing the state, d_state on both sides of a warp
// (16, 17, 64, 128) and head/channel counts no multiple of the block.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "cuda_test_util.h"

namespace statescope::kernels::test {
namespace {

std::string sz(std::int64_t v) {
    return std::to_string(v);
}

// Tolerance of a scan output against the CPU, relative to the largest |y| (resp. |state|) of the
// call: both sides run the same fp32 recurrence, but with different exp implementations (__expf on
// the GPU, ~2 ulp; the CPU's vector exp) and different summation orders over d_state, so the two
// drift apart by a few ulp per token; 1e-5 + 2e-7 per token covers T = 100 with margin.
double scan_tol(std::int64_t T) {
    return 1e-5 + 2e-7 * double(T);
}

struct SelCase {
    std::int64_t T, I, N;
    bool gate;
};

TEST(CudaScan, SelectiveScanMatchesCpu) {
    STATESCOPE_REQUIRE_CUDA();
    Rng rng(21);
    for (SelCase c :
         {SelCase{1, 1, 1, true}, SelCase{7, 33, 16, true}, SelCase{100, 256, 16, true},
          SelCase{64, 70, 17, false}, SelCase{9, 40, 64, true}, SelCase{33, 1536, 16, true}}) {
        const std::int64_t R = 5, bc_stride = R + 2 * c.N, z_stride = 2 * c.I;
        std::vector<float> A(std::size_t(c.I * c.N));
        for (auto& a : A) a = -std::exp(rng.uniform(-1.0f, 2.5f));
        std::vector<float> D = rng.vec(std::size_t(c.I)), state = rng.vec(A.size());
        Dev dA(A), dD(D), dstate(state);
        // A prefill call of T tokens, then three one-token decode calls continuing the state.
        for (std::int64_t T : {c.T, std::int64_t(1), std::int64_t(1), std::int64_t(1)}) {
            std::vector<float> x = rng.vec(std::size_t(T * c.I), -2.0f, 2.0f);
            std::vector<float> delta = rng.vec(std::size_t(T * c.I), 0.001f, 0.5f);
            std::vector<float> bc = rng.vec(std::size_t(T * bc_stride));
            std::vector<float> z = rng.vec(std::size_t(T * z_stride), -4.0f, 4.0f);
            std::vector<float> want(std::size_t(T * c.I));
            cpu().selective_scan(x.data(), delta.data(), A.data(), bc.data() + R,
                                 bc.data() + R + c.N, bc_stride, D.data(),
                                 c.gate ? z.data() + c.I : nullptr, z_stride, T, c.I, c.N,
                                 state.data(), want.data());
            Dev dx(x), ddelta(delta), dbc(bc), dz(z), dy(std::vector<float>(want.size()));
            cuda().selective_scan(dx.get(), ddelta.get(), dA.get(), dbc.get() + R,
                                  dbc.get() + R + c.N, bc_stride, dD.get(),
                                  c.gate ? dz.get() + c.I : nullptr, z_stride, T, c.I, c.N,
                                  dstate.get(), dy.get());
            const std::string what = "selective_scan T=" + sz(T) + " I=" + sz(c.I) +
                                     " N=" + sz(c.N) + (c.gate ? " gate" : "");
            expect_near_cpu(dy.host(), want, scan_tol(c.T + 3), 1.0, what);
            expect_near_cpu(dstate.host(), state, scan_tol(c.T + 3), 1.0, what + " state");
        }
    }
}

struct SsdCase {
    std::int64_t T, H, P, G, N;
};

TEST(CudaScan, SsdScanMatchesCpu) {
    STATESCOPE_REQUIRE_CUDA();
    Rng rng(22);
    for (SsdCase c : {SsdCase{1, 1, 1, 1, 1}, SsdCase{9, 3, 5, 1, 16}, SsdCase{64, 8, 16, 2, 128},
                      SsdCase{100, 4, 64, 4, 33}, SsdCase{17, 24, 64, 1, 128}}) {
        const std::int64_t I = c.H * c.P, x_stride = I + 2 * c.G * c.N + 3;
        std::vector<float> A(std::size_t(c.H));
        for (auto& a : A) a = -std::exp(rng.uniform(-1.0f, 2.5f));
        std::vector<float> D = rng.vec(std::size_t(c.H)),
                           state = rng.vec(std::size_t(c.H * c.P * c.N));
        Dev dA(A), dD(D), dstate(state);
        for (std::int64_t T : {c.T, std::int64_t(1), std::int64_t(1), std::int64_t(1)}) {
            // x, B, C in one conv output row as the Mamba-2 mixer lays them out.
            std::vector<float> xbc = rng.vec(std::size_t(T * x_stride), -2.0f, 2.0f);
            std::vector<float> delta = rng.vec(std::size_t(T * c.H), 0.001f, 0.5f);
            std::vector<float> want(std::size_t(T * I));
            cpu().ssd_scan(xbc.data(), x_stride, delta.data(), A.data(), xbc.data() + I,
                           xbc.data() + I + c.G * c.N, x_stride, D.data(), T, c.H, c.P, c.G, c.N,
                           state.data(), want.data());
            Dev dxbc(xbc), ddelta(delta), dy(std::vector<float>(want.size()));
            cuda().ssd_scan(dxbc.get(), x_stride, ddelta.get(), dA.get(), dxbc.get() + I,
                            dxbc.get() + I + c.G * c.N, x_stride, dD.get(), T, c.H, c.P, c.G, c.N,
                            dstate.get(), dy.get());
            const std::string what = "ssd_scan T=" + sz(T) + " H=" + sz(c.H) + " P=" + sz(c.P) +
                                     " G=" + sz(c.G) + " N=" + sz(c.N);
            expect_near_cpu(dy.host(), want, scan_tol(c.T + 3), 1.0, what);
            expect_near_cpu(dstate.host(), state, scan_tol(c.T + 3), 1.0, what + " state");
        }
    }
}

}  // namespace
}  // namespace statescope::kernels::test
