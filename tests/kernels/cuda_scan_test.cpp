// CUDA selective scan (Mamba-1) and SSD recurrence (Mamba-2) against the CPU ops: prefill-sized
// calls and runs of one-token decode calls continuing the state, d_state on both sides of a warp
// (16, 17, 64, 128) and head/channel counts no multiple of the block; then the chunked prefill
// kernels (T > 1) at lengths around their chunk (64 tokens for the SSD) and far past it, from a
// zero and a random state, and a prompt split over two calls against one call.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "cuda_test_util.h"

namespace statescope::kernels::test {
namespace {

// Tolerance of a scan output against the CPU, relative to the largest |y| (resp. |state|) of the
// call: both sides run the same fp32 recurrence, but with different exp implementations (__expf on
// the GPU, ~2 ulp; the CPU's vector exp) and different summation orders over d_state, so the two
// drift apart by a few ulp per token; 1e-5 + 2e-7 per token covers T = 100 with margin.
double scan_tol(std::int64_t T) {
    return 1e-5 + 2e-7 * double(T);
}

// STATESCOPE_CUDA_SCAN=tf32 (scan.cu) runs the SSD's products in one TF32 pass: operands rounded to
// 10 mantissa bits (2^-11 = 4.9e-4 relative each), sums of 64-128 such products per output; 5e-3
// of the largest |y| bounds that with margin. Otherwise (3xTF32, ~fp32) the SSD gets the fp32 scan
// tolerance, doubled: the chunked form also computes the decay as exp(sum) instead of a product of
// exps, and the products drop the lo*lo term (2^-22 relative).
bool ssd_tf32() {
    const char* v = std::getenv("STATESCOPE_CUDA_SCAN");
    return v != nullptr && std::strcmp(v, "tf32") == 0;
}
double ssd_chunked_tol(std::int64_t T) {
    return ssd_tf32() ? 5e-3 : 2.0 * scan_tol(T);
}

std::vector<float> poisoned(std::size_t n) {
    return std::vector<float>(n, std::numeric_limits<float>::quiet_NaN());
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
            // T > 1 runs the chunked SSD (its tolerance); then the decode steps carry its state on.
            const double tol = c.T > 1 ? ssd_chunked_tol(c.T + 3) : scan_tol(c.T + 3);
            expect_near_cpu(dy.host(), want, tol, 1.0, what);
            expect_near_cpu(dstate.host(), state, tol, 1.0, what + " state");
        }
    }
}

// The one-token SSD step (the vectorised kernel wherever N % 4 == 0 and the state, B and C are
// 16-byte aligned; the sequential kernel otherwise): mamba2-2.7b's shape (80 heads x 64, N = 128,
// one group), head_dim 50 and 64, d_state 16 / 36 (9 float4 chunks on 16 lanes) / 64 / 128 / 256
// (two chunks a lane) / 33 (no float4 rows: the fallback), several groups, head counts that leave
// part-filled groups and blocks, and B/C or state misaligned by one float (the fallback). Eight
// decode steps continue the state on both sides; y starts as NaN so every element must be written.
// Tolerance: the decode scan's, scan_tol(8) (the same recurrence with __expf and another order over
// d_state than the CPU, a few ulp per token).
TEST(CudaScan, SsdDecodeStepMatchesCpu) {
    STATESCOPE_REQUIRE_CUDA();
    Rng rng(23);
    struct Case {
        std::int64_t H, P, G, N;
        std::int64_t bc_shift, state_shift;  // floats added to the B/C and state addresses
    };
    for (Case c : {Case{80, 64, 1, 128, 0, 0}, Case{7, 50, 1, 64, 0, 0}, Case{6, 64, 2, 16, 0, 0},
                   Case{10, 50, 5, 128, 0, 0}, Case{3, 5, 1, 36, 0, 0}, Case{4, 64, 2, 256, 0, 0},
                   Case{5, 50, 1, 33, 0, 0}, Case{9, 64, 3, 128, 1, 0}, Case{8, 50, 1, 64, 0, 1},
                   Case{1, 1, 1, 4, 0, 0}}) {
        const std::int64_t I = c.H * c.P, GN = c.G * c.N;
        // x | B | C in one conv output row; B starts on a 16-byte boundary unless shifted.
        const std::int64_t b_off = (I + 3) / 4 * 4 + c.bc_shift;
        const std::int64_t x_stride = b_off + 2 * GN + 1;
        std::vector<float> A(std::size_t(c.H));
        for (auto& a : A) a = -std::exp(rng.uniform(-1.0f, 2.5f));
        const std::vector<float> D = rng.vec(std::size_t(c.H));
        std::vector<float> state = rng.vec(std::size_t(c.H * c.P * c.N));
        std::vector<float> dev_state_init(state.size() + std::size_t(c.state_shift), 0.0f);
        std::copy(state.begin(), state.end(), dev_state_init.begin() + c.state_shift);
        Dev dA(A), dD(D), dstate(dev_state_init);
        constexpr int kSteps = 8;
        for (int step = 0; step < kSteps; ++step) {
            const std::vector<float> xbc = rng.vec(std::size_t(x_stride), -2.0f, 2.0f);
            const std::vector<float> delta = rng.vec(std::size_t(c.H), 0.001f, 0.5f);
            std::vector<float> want(static_cast<std::size_t>(I));
            cpu().ssd_scan(xbc.data(), x_stride, delta.data(), A.data(), xbc.data() + b_off,
                           xbc.data() + b_off + GN, x_stride, D.data(), 1, c.H, c.P, c.G, c.N,
                           state.data(), want.data());
            Dev dxbc(xbc), ddelta(delta), dy(poisoned(want.size()));
            cuda().ssd_scan(dxbc.get(), x_stride, ddelta.get(), dA.get(), dxbc.get() + b_off,
                            dxbc.get() + b_off + GN, x_stride, dD.get(), 1, c.H, c.P, c.G, c.N,
                            dstate.get() + c.state_shift, dy.get());
            const std::string what = "ssd_scan step H=" + sz(c.H) + " P=" + sz(c.P) +
                                     " G=" + sz(c.G) + " N=" + sz(c.N) + " bc+" + sz(c.bc_shift) +
                                     " state+" + sz(c.state_shift) + " step " + sz(step);
            expect_near_cpu(dy.host(), want, scan_tol(kSteps), 1.0, what);
            std::vector<float> got_state = dstate.host();
            got_state.erase(got_state.begin(), got_state.begin() + c.state_shift);
            expect_near_cpu(got_state, state, scan_tol(kSteps), 1.0, what + " state");
        }
    }
}

// The one-token step with its softplus (Backend::softplus_ssd_step): delta from a dt row (raw dt
// with positive and negative values, a bias, a clamp that bites on both sides, and an unclamped
// run) and the step, at the shapes above where the vectorised kernel fits and at N = 33 (the
// fallback: softplus then ssd_scan). Tolerances: delta 1e-6 relative (the same float formula;
// expf / log1pf of the device against the host's libm, a few ulp); y and the state scan_tol(8), as
// the plain step.
TEST(CudaScan, SoftplusSsdStepMatchesCpu) {
    STATESCOPE_REQUIRE_CUDA();
    Rng rng(29);
    struct Case {
        std::int64_t H, P, G, N;
        float lo, hi;
    };
    const float inf = std::numeric_limits<float>::infinity();
    for (Case c : {Case{80, 64, 1, 128, 0.001f, 0.1f}, Case{6, 50, 3, 24, -inf, inf},
                   Case{4, 64, 2, 36, 0.01f, inf}, Case{5, 50, 1, 33, 0.0f, 0.2f}}) {
        const std::int64_t I = c.H * c.P, GN = c.G * c.N;
        const std::int64_t b_off = (I + 3) / 4 * 4, x_stride = b_off + 2 * GN + 3;
        std::vector<float> A(std::size_t(c.H));
        for (auto& a : A) a = -std::exp(rng.uniform(-1.0f, 2.5f));
        const std::vector<float> D = rng.vec(std::size_t(c.H)), bias = rng.vec(std::size_t(c.H));
        std::vector<float> state = rng.vec(std::size_t(c.H * c.P * c.N));
        Dev dA(A), dD(D), dbias(bias), dstate(state);
        constexpr int kSteps = 8;
        for (int step = 0; step < kSteps; ++step) {
            const std::vector<float> xbc = rng.vec(std::size_t(x_stride), -2.0f, 2.0f);
            const std::vector<float> dt = rng.vec(std::size_t(c.H), -6.0f, 3.0f);
            std::vector<float> want(static_cast<std::size_t>(I)), want_delta(std::size_t(c.H));
            cpu().softplus_ssd_step(dt.data(), bias.data(), c.lo, c.hi, xbc.data(), x_stride,
                                    A.data(), xbc.data() + b_off, xbc.data() + b_off + GN, x_stride,
                                    D.data(), c.H, c.P, c.G, c.N, state.data(), want_delta.data(),
                                    want.data());
            Dev dxbc(xbc), ddt(dt), ddelta(poisoned(want_delta.size())), dy(poisoned(want.size()));
            cuda().softplus_ssd_step(ddt.get(), dbias.get(), c.lo, c.hi, dxbc.get(), x_stride,
                                     dA.get(), dxbc.get() + b_off, dxbc.get() + b_off + GN,
                                     x_stride, dD.get(), c.H, c.P, c.G, c.N, dstate.get(),
                                     ddelta.get(), dy.get());
            const std::string what = "softplus_ssd_step H=" + sz(c.H) + " P=" + sz(c.P) +
                                     " G=" + sz(c.G) + " N=" + sz(c.N) + " step " + sz(step);
            expect_near_cpu(ddelta.host(), want_delta, 1e-6, 1.0, what + " delta");
            expect_near_cpu(dy.host(), want, scan_tol(kSteps), 1.0, what);
            expect_near_cpu(dstate.host(), state, scan_tol(kSteps), 1.0, what + " state");
        }
    }
}

const std::int64_t kChunkedLengths[] = {1, 2, 63, 64, 65, 1000, 4097};

// Mamba-1 chunked prefill: I = 300 (no multiple of the 128-channel block), N = 16 (the models) and
// 17 (a padded register array), gate on and off. y starts as NaN: every element must be written.
TEST(CudaScan, SelectiveScanChunkedMatchesCpu) {
    STATESCOPE_REQUIRE_CUDA();
    Rng rng(31);
    for (std::int64_t N : {std::int64_t(16), std::int64_t(17)}) {
        for (std::int64_t T : kChunkedLengths) {
            for (bool zero_state : {true, false}) {
                const std::int64_t I = 300, R = 3, bc_stride = R + 2 * N, z_stride = I + 5;
                const bool gate = T % 2 == 1;
                std::vector<float> A(std::size_t(I * N));
                for (auto& a : A) a = -std::exp(rng.uniform(-1.0f, 2.5f));
                std::vector<float> D = rng.vec(std::size_t(I));
                std::vector<float> state =
                    zero_state ? std::vector<float>(A.size(), 0.0f) : rng.vec(A.size());
                std::vector<float> x = rng.vec(std::size_t(T * I), -2.0f, 2.0f);
                std::vector<float> delta = rng.vec(std::size_t(T * I), 0.001f, 0.5f);
                std::vector<float> bc = rng.vec(std::size_t(T * bc_stride));
                std::vector<float> z = rng.vec(std::size_t(T * z_stride), -4.0f, 4.0f);
                Dev dA(A), dD(D), dstate(state), dx(x), ddelta(delta), dbc(bc), dz(z);
                Dev dy(poisoned(std::size_t(T * I)));
                std::vector<float> want(std::size_t(T * I));
                cpu().selective_scan(x.data(), delta.data(), A.data(), bc.data() + R,
                                     bc.data() + R + N, bc_stride, D.data(),
                                     gate ? z.data() : nullptr, z_stride, T, I, N, state.data(),
                                     want.data());
                cuda().selective_scan(
                    dx.get(), ddelta.get(), dA.get(), dbc.get() + R, dbc.get() + R + N, bc_stride,
                    dD.get(), gate ? dz.get() : nullptr, z_stride, T, I, N, dstate.get(), dy.get());
                const std::string what = "selective_scan chunked T=" + sz(T) + " N=" + sz(N) +
                                         (zero_state ? " zero state" : " state") +
                                         (gate ? " gate" : "");
                expect_near_cpu(dy.host(), want, scan_tol(T), 1.0, what);
                expect_near_cpu(dstate.host(), state, scan_tol(T), 1.0, what + " final state");
            }
        }
    }
}

// One chunked SSD call of T tokens against the CPU op. Row padding 4 keeps the x/B/C rows 16-byte
// aligned where N and P allow (the kernels' cp.async path, as the models' layouts), 3 takes the
// element-load path. y starts as NaN: every element must be written.
void check_ssd_chunked(const SsdCase& c, std::int64_t T, bool zero_state, Rng& rng) {
    const std::int64_t I = c.H * c.P,
                       x_stride = I + 2 * c.G * c.N + (c.N % 4 == 0 && c.P % 4 == 0 ? 4 : 3);
    std::vector<float> A(std::size_t(c.H));
    for (auto& a : A) a = -std::exp(rng.uniform(-1.0f, 2.5f));
    std::vector<float> D = rng.vec(std::size_t(c.H));
    std::vector<float> state =
        zero_state ? std::vector<float>(std::size_t(I * c.N), 0.0f) : rng.vec(std::size_t(I * c.N));
    std::vector<float> xbc = rng.vec(std::size_t(T * x_stride), -2.0f, 2.0f);
    std::vector<float> delta = rng.vec(std::size_t(T * c.H), 0.001f, 0.5f);
    Dev dA(A), dD(D), dstate(state), dxbc(xbc), ddelta(delta);
    Dev dy(poisoned(std::size_t(T * I)));
    std::vector<float> want(std::size_t(T * I));
    cpu().ssd_scan(xbc.data(), x_stride, delta.data(), A.data(), xbc.data() + I,
                   xbc.data() + I + c.G * c.N, x_stride, D.data(), T, c.H, c.P, c.G, c.N,
                   state.data(), want.data());
    cuda().ssd_scan(dxbc.get(), x_stride, ddelta.get(), dA.get(), dxbc.get() + I,
                    dxbc.get() + I + c.G * c.N, x_stride, dD.get(), T, c.H, c.P, c.G, c.N,
                    dstate.get(), dy.get());
    const std::string what = "ssd_scan chunked T=" + sz(T) + " H=" + sz(c.H) + " P=" + sz(c.P) +
                             " G=" + sz(c.G) + " N=" + sz(c.N) +
                             (zero_state ? " zero state" : " state");
    expect_near_cpu(dy.host(), want, ssd_chunked_tol(T), 1.0, what);
    expect_near_cpu(dstate.host(), state, ssd_chunked_tol(T), 1.0, what + " final state");
}

// Mamba-2 chunked prefill. Shapes: the models' (P = 64, N = 128, G = 1), P = 40 (a partial
// 64-row tile), N = 17 (padded to 32 columns) with G = 2, N = 256 (the largest tile); the first
// and last with 16-byte rows (cp.async loads), N = 17 with element loads.
TEST(CudaScan, SsdScanChunkedMatchesCpu) {
    STATESCOPE_REQUIRE_CUDA();
    Rng rng(32);
    for (SsdCase c :
         {SsdCase{0, 4, 64, 1, 128}, SsdCase{0, 6, 40, 2, 17}, SsdCase{0, 2, 64, 1, 256}}) {
        for (std::int64_t T : kChunkedLengths) {
            for (bool zero_state : {true, false}) {
                if (c.N == 256 && T > 1000) continue;  // the CPU reference's time, not the GPU's
                check_ssd_chunked(c, T, zero_state, rng);
            }
        }
    }
}

// The chunked SSD's passes (C B^T per chunk and group, chunk states, the sequential pass over
// them, the outputs) and its rounds of at most 32 chunks (2048 tokens; STATESCOPE_SSD_ROUND_CHUNKS
// may set fewer), the state carried from one round to the next:
//   - the models' shape over 1 round exactly (2048), a round and one chunk (2112), 3 rounds with
//     a partial last chunk (4200), and 1088, 2200 (2 and 3 rounds of 16 chunks);
//   - G > 1 with 2 or 3 heads a group, N = 24 (N not a multiple of 16) and 64, P = 50 (element
//     loads, rows 50..63 of the tile padding), P = 48 (the state's padded rows end inside the
//     64-row tile), P = 80 (a second, mostly empty tile);
//   - G = H = 8: the scratch sized without G holds fewer chunks a round (14; 7 with rounds of 16),
//     so 2000 tokens take 3 rounds (5);
//   - T < 64 and T not a multiple of 64 throughout, zero and random incoming state.
TEST(CudaScan, SsdScanChunkedRoundsAndShapes) {
    STATESCOPE_REQUIRE_CUDA();
    Rng rng(34);
    struct Run {
        SsdCase c;
        std::vector<std::int64_t> lengths;
    };
    const Run runs[] = {
        {{0, 4, 64, 1, 128}, {1088, 2048, 2112, 2200, 4200}},
        {{0, 6, 50, 3, 24}, {2, 63, 130, 1500}},
        {{0, 6, 48, 2, 64}, {65, 1100}},
        {{0, 3, 80, 3, 16}, {64, 700}},
        {{0, 8, 64, 8, 24}, {200, 2000}},
    };
    for (const Run& run : runs)
        for (std::int64_t T : run.lengths)
            for (bool zero_state : {true, false}) check_ssd_chunked(run.c, T, zero_state, rng);
}

// STATESCOPE_SSD_STATE=chain (ssd_chunked.cu): passes 2 and 3 as one kernel sequential over the
// chunks, the state in registers. The shapes cover a partial 32-column slice of N (N = 24, 17 and
// 48 padded), several slices (128, 256), P past one 64-row tile (80), G > 1, a partial last chunk
// and several rounds (4200 tokens).
TEST(CudaScan, SsdScanChunkedStateChain) {
    STATESCOPE_REQUIRE_CUDA();
    const char* was = std::getenv("STATESCOPE_SSD_STATE");
    const std::string saved = was != nullptr ? was : "";
    setenv("STATESCOPE_SSD_STATE", "chain", 1);
    Rng rng(35);
    struct Run {
        SsdCase c;
        std::vector<std::int64_t> lengths;
    };
    const Run runs[] = {
        {{0, 4, 64, 1, 128}, {2, 65, 2200, 4200}},
        {{0, 6, 50, 3, 24}, {63, 1500}},
        {{0, 6, 40, 2, 17}, {130}},
        {{0, 3, 80, 3, 48}, {700}},
        {{0, 2, 64, 1, 256}, {1000}},
    };
    for (const Run& run : runs)
        for (std::int64_t T : run.lengths)
            for (bool zero_state : {true, false}) check_ssd_chunked(run.c, T, zero_state, rng);
    if (was != nullptr)
        setenv("STATESCOPE_SSD_STATE", saved.c_str(), 1);
    else
        unsetenv("STATESCOPE_SSD_STATE");
}

// A prompt of T tokens as T1 + (T - T1) in two calls leaves the same y and state as one call (the
// second call starts from the first's state, as chunked prefill in the runtime does). Both sides
// run on the GPU; the split moves chunk boundaries, so they agree to the scan tolerance, not bits.
TEST(CudaScan, ChunkedScansCarryStateAcrossCalls) {
    STATESCOPE_REQUIRE_CUDA();
    Rng rng(33);
    const std::int64_t T = 1500, T1 = 700;  // 700: not a multiple of any chunk
    {
        const std::int64_t I = 200, N = 16, bc_stride = 2 * N;
        std::vector<float> A(std::size_t(I * N));
        for (auto& a : A) a = -std::exp(rng.uniform(-1.0f, 2.5f));
        std::vector<float> D = rng.vec(std::size_t(I)), state = rng.vec(A.size());
        std::vector<float> x = rng.vec(std::size_t(T * I), -2.0f, 2.0f);
        std::vector<float> delta = rng.vec(std::size_t(T * I), 0.001f, 0.5f);
        std::vector<float> bc = rng.vec(std::size_t(T * bc_stride));
        std::vector<float> z = rng.vec(std::size_t(T * I), -4.0f, 4.0f);
        Dev dA(A), dD(D), dx(x), ddelta(delta), dbc(bc), dz(z), one_state(state), two_state(state);
        Dev one_y(poisoned(std::size_t(T * I))), two_y(poisoned(std::size_t(T * I)));
        cuda().selective_scan(dx.get(), ddelta.get(), dA.get(), dbc.get(), dbc.get() + N, bc_stride,
                              dD.get(), dz.get(), I, T, I, N, one_state.get(), one_y.get());
        for (auto [t0, n] : {std::pair{std::int64_t(0), T1}, std::pair{T1, T - T1}})
            cuda().selective_scan(dx.get() + t0 * I, ddelta.get() + t0 * I, dA.get(),
                                  dbc.get() + t0 * bc_stride, dbc.get() + t0 * bc_stride + N,
                                  bc_stride, dD.get(), dz.get() + t0 * I, I, n, I, N,
                                  two_state.get(), two_y.get() + t0 * I);
        expect_near_cpu(two_y.host(), one_y.host(), scan_tol(T), 1.0, "selective_scan split y");
        expect_near_cpu(two_state.host(), one_state.host(), scan_tol(T), 1.0,
                        "selective_scan split state");
    }
    {
        const std::int64_t H = 4, P = 64, G = 1, N = 128, I = H * P, x_stride = I + 2 * G * N;
        std::vector<float> A(static_cast<std::size_t>(H));
        for (auto& a : A) a = -std::exp(rng.uniform(-1.0f, 2.5f));
        std::vector<float> D = rng.vec(std::size_t(H)), state = rng.vec(std::size_t(I * N));
        std::vector<float> xbc = rng.vec(std::size_t(T * x_stride), -2.0f, 2.0f);
        std::vector<float> delta = rng.vec(std::size_t(T * H), 0.001f, 0.5f);
        Dev dA(A), dD(D), dxbc(xbc), ddelta(delta), one_state(state), two_state(state);
        Dev one_y(poisoned(std::size_t(T * I))), two_y(poisoned(std::size_t(T * I)));
        cuda().ssd_scan(dxbc.get(), x_stride, ddelta.get(), dA.get(), dxbc.get() + I,
                        dxbc.get() + I + G * N, x_stride, dD.get(), T, H, P, G, N, one_state.get(),
                        one_y.get());
        for (auto [t0, n] : {std::pair{std::int64_t(0), T1}, std::pair{T1, T - T1}}) {
            const float* row = dxbc.get() + t0 * x_stride;
            cuda().ssd_scan(row, x_stride, ddelta.get() + t0 * H, dA.get(), row + I,
                            row + I + G * N, x_stride, dD.get(), n, H, P, G, N, two_state.get(),
                            two_y.get() + t0 * I);
        }
        expect_near_cpu(two_y.host(), one_y.host(), ssd_chunked_tol(T), 1.0, "ssd_scan split y");
        expect_near_cpu(two_state.host(), one_state.host(), ssd_chunked_tol(T), 1.0,
                        "ssd_scan split state");
    }
}

}  // namespace
}  // namespace statescope::kernels::test
