// CUDA causal_conv1d_rows, selective_scan_rows and ssd_scan_rows (the batched decode step) against
// the CPU ops: each row's state in its own device allocation as a Sequence has them, several steps
// in a row continuing the states, row counts from 1 to past a warp, and a long run of calls with no
// wait in between, which walks the backend's staging ring of state pointers past its end.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "cuda_test_util.h"

namespace statescope::kernels::test {
namespace {

// Tolerances as the single-row ops' in cuda_ops_test / cuda_scan_test, whose kernels these share:
// the conv output 1e-5 (relative, floor 0.1 of the largest |y|: sums of K products in another
// order, __expf in silu), its state exact (a copy); the scans 1e-5 + 2e-7 per token of the largest
// |y| (resp. |state|): __expf against the CPU's exp and another order over d_state, a few ulp per
// token.
constexpr double kConvTol = 1e-5;
double scan_tol(std::int64_t steps) {
    return 1e-5 + 2e-7 * double(steps);
}

// Per-row states on both sides: host vectors for the CPU op, device buffers for the CUDA op.
struct RowStates {
    std::vector<std::vector<float>> host;
    std::vector<std::unique_ptr<Dev>> dev;
    RowStates(std::int64_t rows, std::size_t n, Rng& rng) {
        for (std::int64_t r = 0; r < rows; ++r) {
            host.push_back(rng.vec(n, -1.0f, 1.0f));
            dev.push_back(std::make_unique<Dev>(host.back()));
        }
    }
    std::vector<float*> host_ptrs() {
        std::vector<float*> p;
        for (auto& h : host) p.push_back(h.data());
        return p;
    }
    std::vector<float*> dev_ptrs() {
        std::vector<float*> p;
        for (auto& d : dev) p.push_back(d->get());
        return p;
    }
    void expect_near(double tol, double floor_rel, const std::string& what) {
        for (std::size_t r = 0; r < host.size(); ++r)
            expect_near_cpu(dev[r]->host(), host[r], tol, floor_rel,
                            what + " state of row " + std::to_string(r));
    }
};

TEST(CudaStepRows, Conv1dRowsMatchesCpu) {
    STATESCOPE_REQUIRE_CUDA();
    Rng rng(41);
    for (std::int64_t rows : {1, 3, 33})
        for (std::int64_t C : {1, 130, 1536})
            for (std::int64_t K : {2, 4})
                for (bool silu : {false, true}) {
                    const std::int64_t x_stride = 2 * C + 3;  // x inside a wider in_proj row
                    const std::vector<float> w = rng.vec(std::size_t(C * K)), b = rng.vec(C);
                    Dev dw(w), db(b);
                    RowStates st(rows, std::size_t((K - 1) * C), rng);
                    for (int step = 0; step < 3; ++step) {
                        const std::vector<float> x =
                            rng.vec(std::size_t(rows * x_stride), -2.0f, 2.0f);
                        std::vector<float> want(std::size_t(rows * C));
                        cpu().causal_conv1d_rows(x.data(), x_stride, rows, C, K, w.data(),
                                                 silu ? b.data() : nullptr, silu,
                                                 st.host_ptrs().data(), want.data());
                        Dev dx(x), dy(std::vector<float>(want.size(), std::nanf("")));
                        cuda().causal_conv1d_rows(dx.get(), x_stride, rows, C, K, dw.get(),
                                                  silu ? db.get() : nullptr, silu,
                                                  st.dev_ptrs().data(), dy.get());
                        const std::string what = "conv1d_rows rows=" + sz(rows) + " C=" + sz(C) +
                                                 " K=" + sz(K) + (silu ? " silu bias" : "") +
                                                 " step " + sz(step);
                        expect_near_cpu(dy.host(), want, kConvTol, 0.1, what);
                        st.expect_near(0.0, 0.0, what);
                    }
                }
}

TEST(CudaStepRows, SelectiveScanRowsMatchesCpu) {
    STATESCOPE_REQUIRE_CUDA();
    Rng rng(42);
    struct Case {
        std::int64_t rows, I, N;
        bool gate;
    };
    for (Case c : {Case{1, 33, 16, true}, Case{4, 1536, 16, true}, Case{16, 70, 17, false},
                   Case{3, 40, 64, true}}) {
        const std::int64_t R = 5, bc_stride = R + 2 * c.N, z_stride = 2 * c.I;
        std::vector<float> A(std::size_t(c.I * c.N));
        for (auto& a : A) a = -std::exp(rng.uniform(-1.0f, 2.5f));
        const std::vector<float> D = rng.vec(std::size_t(c.I));
        Dev dA(A), dD(D);
        RowStates st(c.rows, A.size(), rng);
        constexpr int kSteps = 4;
        for (int step = 0; step < kSteps; ++step) {
            const std::vector<float> x = rng.vec(std::size_t(c.rows * c.I), -2.0f, 2.0f);
            const std::vector<float> delta = rng.vec(std::size_t(c.rows * c.I), 0.001f, 0.5f);
            const std::vector<float> bc = rng.vec(std::size_t(c.rows * bc_stride));
            const std::vector<float> z = rng.vec(std::size_t(c.rows * z_stride), -4.0f, 4.0f);
            std::vector<float> want(std::size_t(c.rows * c.I));
            cpu().selective_scan_rows(x.data(), delta.data(), A.data(), bc.data() + R,
                                      bc.data() + R + c.N, bc_stride, D.data(),
                                      c.gate ? z.data() + c.I : nullptr, z_stride, c.rows, c.I, c.N,
                                      st.host_ptrs().data(), want.data());
            Dev dx(x), ddelta(delta), dbc(bc), dz(z),
                dy(std::vector<float>(want.size(), std::nanf("")));
            cuda().selective_scan_rows(dx.get(), ddelta.get(), dA.get(), dbc.get() + R,
                                       dbc.get() + R + c.N, bc_stride, dD.get(),
                                       c.gate ? dz.get() + c.I : nullptr, z_stride, c.rows, c.I,
                                       c.N, st.dev_ptrs().data(), dy.get());
            const std::string what = "selective_scan_rows rows=" + sz(c.rows) + " I=" + sz(c.I) +
                                     " N=" + sz(c.N) + (c.gate ? " gate" : "") + " step " +
                                     sz(step);
            expect_near_cpu(dy.host(), want, scan_tol(kSteps), 1.0, what);
            st.expect_near(scan_tol(kSteps), 1.0, what);
        }
    }
}

struct SsdRowsCase {
    std::int64_t rows, H, P, G, N;
};

// Four steps of ssd_scan_rows on both backends, x | B | C in one conv output row per sequence as
// the Mamba-2 mixer lays them out (B at b_off, rows x_stride apart), each row's state its own
// allocation; y starts as NaN so every element must be written.
void check_ssd_rows(const SsdRowsCase& c, std::int64_t b_off, std::int64_t x_stride,
                    const std::string& label, Rng& rng) {
    const std::int64_t HP = c.H * c.P, GN = c.G * c.N;
    std::vector<float> A(std::size_t(c.H));
    for (auto& a : A) a = -std::exp(rng.uniform(-1.0f, 2.5f));
    const std::vector<float> D = rng.vec(std::size_t(c.H));
    Dev dA(A), dD(D);
    RowStates st(c.rows, std::size_t(HP * c.N), rng);
    constexpr int kSteps = 4;
    for (int step = 0; step < kSteps; ++step) {
        const std::vector<float> xbc = rng.vec(std::size_t(c.rows * x_stride), -2.0f, 2.0f);
        const std::vector<float> delta = rng.vec(std::size_t(c.rows * c.H), 0.001f, 0.5f);
        std::vector<float> want(std::size_t(c.rows * HP));
        cpu().ssd_scan_rows(xbc.data(), x_stride, delta.data(), A.data(), xbc.data() + b_off,
                            xbc.data() + b_off + GN, x_stride, D.data(), c.rows, c.H, c.P, c.G, c.N,
                            st.host_ptrs().data(), want.data());
        Dev dxbc(xbc), ddelta(delta), dy(std::vector<float>(want.size(), std::nanf("")));
        cuda().ssd_scan_rows(dxbc.get(), x_stride, ddelta.get(), dA.get(), dxbc.get() + b_off,
                             dxbc.get() + b_off + GN, x_stride, dD.get(), c.rows, c.H, c.P, c.G,
                             c.N, st.dev_ptrs().data(), dy.get());
        const std::string what = label + " rows=" + sz(c.rows) + " H=" + sz(c.H) + " P=" + sz(c.P) +
                                 " G=" + sz(c.G) + " N=" + sz(c.N) + " step " + sz(step);
        expect_near_cpu(dy.host(), want, scan_tol(kSteps), 1.0, what);
        st.expect_near(scan_tol(kSteps), 1.0, what);
    }
}

// B right after x (x_stride HP + 2GN + 3): rows of B and C off the 16-byte grid, the sequential
// step kernel.
TEST(CudaStepRows, SsdScanRowsMatchesCpu) {
    STATESCOPE_REQUIRE_CUDA();
    Rng rng(43);
    for (SsdRowsCase c : {SsdRowsCase{1, 3, 5, 1, 16}, SsdRowsCase{5, 8, 16, 2, 128},
                          SsdRowsCase{16, 24, 64, 1, 128}, SsdRowsCase{2, 4, 64, 4, 33}}) {
        const std::int64_t HP = c.H * c.P, GN = c.G * c.N;
        check_ssd_rows(c, HP, HP + 2 * GN + 3, "ssd_scan_rows", rng);
    }
}

// The vectorised SSD step (scan.cu) on batched rows: B and C 16-byte aligned in every row (x_stride
// a multiple of 4 floats); mamba2-2.7b's heads (80 x 64, N = 128) and odd shapes (head_dim 50,
// d_state 16 / 36 / 64, two groups, 17 rows of state).
TEST(CudaStepRows, SsdScanRowsVectorisedStepMatchesCpu) {
    STATESCOPE_REQUIRE_CUDA();
    Rng rng(45);
    for (SsdRowsCase c : {SsdRowsCase{4, 80, 64, 1, 128}, SsdRowsCase{3, 7, 50, 1, 64},
                          SsdRowsCase{5, 6, 64, 2, 16}, SsdRowsCase{2, 3, 5, 1, 36},
                          SsdRowsCase{17, 4, 64, 1, 128}}) {
        const std::int64_t HP = c.H * c.P, GN = c.G * c.N;
        const std::int64_t b_off = (HP + 3) / 4 * 4;
        check_ssd_rows(c, b_off, b_off + 2 * GN + 4, "ssd_scan_rows (vectorised)", rng);
    }
}

// 320 calls of 64 rows (20480 staged pointers, past the ring's 16384) queued without a wait in
// between, call k sending row r to state (r + k) % 64: a pointer slot overwritten before its copy
// ran would give a call another call's row-to-state mapping and show up in the states and
// outputs.
TEST(CudaStepRows, LongRunOfCallsWithoutWaiting) {
    STATESCOPE_REQUIRE_CUDA();
    Rng rng(44);
    const std::int64_t rows = 64, C = 40, K = 4, calls = 320;
    const std::vector<float> w = rng.vec(std::size_t(C * K)), b = rng.vec(C);
    const std::vector<float> x = rng.vec(std::size_t(calls * rows * C), -2.0f, 2.0f);
    Dev dw(w), db(b), dx(x), dy(std::vector<float>(x.size(), std::nanf("")));
    RowStates st(rows, std::size_t((K - 1) * C), rng);
    std::vector<float> want(x.size());
    const std::vector<float*> host_states = st.host_ptrs(), dev_states = st.dev_ptrs();
    std::vector<float*> host(std::size_t(rows), nullptr), dev(std::size_t(rows), nullptr);
    for (std::int64_t k = 0; k < calls; ++k) {
        for (std::int64_t r = 0; r < rows; ++r) {
            host[std::size_t(r)] = host_states[std::size_t((r + k) % rows)];
            dev[std::size_t(r)] = dev_states[std::size_t((r + k) % rows)];
        }
        const std::int64_t off = k * rows * C;
        cpu().causal_conv1d_rows(x.data() + off, C, rows, C, K, w.data(), b.data(), true,
                                 host.data(), want.data() + off);
        cuda().causal_conv1d_rows(dx.get() + off, C, rows, C, K, dw.get(), db.get(), true,
                                  dev.data(), dy.get() + off);
    }
    expect_near_cpu(dy.host(), want, kConvTol, 0.1, "conv1d_rows, 320 calls of 64 rows");
    st.expect_near(0.0, 0.0, "conv1d_rows, 320 calls of 64 rows");
}

}  // namespace
}  // namespace statescope::kernels::test
