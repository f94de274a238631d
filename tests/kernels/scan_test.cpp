// selective_scan (Mamba-1) and ssd_scan (Mamba-2) against double recurrences, and state
// continuation across calls.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernel_test_util.h"

namespace statescope::kernels::test {
namespace {

// Error budget of a scan output. S_T = sum_t (prod_{s>t} decay_s) dt_t B_t x_t (+ decayed S_0):
// each product of k fp32 decays carries up to k exp errors (<= 2 ulp each, the vector exp) and k
// roundings, so the worst case grows linearly with T (~4e-7 per token); random signs keep the
// observed error far below (<= 2.6e-7 at T = 70). Measured against sum_n |S_n C_n| + |D x|, the
// magnitudes accumulated in absolute values.
double scan_tol(std::int64_t T) {
    return 2e-6 + double(T) * 4e-7;
}

// ---- selective_scan ---------------------------------------------------------------------------

struct SelCase {
    std::int64_t T, I, N;
    bool gate;
};

// Inputs laid out as the runtime has them: B and C inside the x_proj output row [dt_r | B | C]
// (bc_stride = R + 2N), z the second half of the in_proj output row (z_stride = 2I).
struct SelData {
    std::int64_t R = 5, bc_stride = 0, z_stride = 0;
    std::vector<float> x, delta, A, bc, D, zbuf, state0;
    const float* B() const { return bc.data() + R; }
    const float* C(std::int64_t N) const { return bc.data() + R + N; }
    const float* z(std::int64_t I) const { return zbuf.data() + I; }
};

SelData make_sel(const SelCase& c, Rng& rng) {
    SelData d;
    d.bc_stride = d.R + 2 * c.N;
    d.z_stride = 2 * c.I;
    d.x = rng.vec(std::size_t(c.T * c.I), -2.0f, 2.0f);
    d.delta =
        rng.vec(std::size_t(c.T * c.I), 0.001f, 0.5f);  // softplus outputs, dt_min..dt_max-ish
    d.A.resize(std::size_t(c.I * c.N));
    for (auto& a : d.A) a = -std::exp(rng.uniform(-1.0f, 2.5f));  // -exp(A_log): [-12, -0.37]
    d.bc = rng.vec(std::size_t(c.T * d.bc_stride), -1.0f, 1.0f);
    d.D = rng.vec(std::size_t(c.I));
    d.zbuf = rng.vec(std::size_t(c.T * d.z_stride), -4.0f, 4.0f);
    d.state0 = rng.vec(std::size_t(c.I * c.N), -1.0f, 1.0f);
    return d;
}

void sel_reference(const SelCase& c, const SelData& d, std::vector<double>* y,
                   std::vector<double>* scale, std::vector<double>* state) {
    std::vector<double> S(d.state0.begin(), d.state0.end()), Sabs(S.size());
    for (std::size_t k = 0; k < S.size(); ++k) Sabs[k] = std::abs(S[k]);
    y->assign(std::size_t(c.T * c.I), 0.0);
    scale->assign(std::size_t(c.T * c.I), 0.0);
    for (std::int64_t t = 0; t < c.T; ++t) {
        const float* B = d.B() + t * d.bc_stride;
        const float* C = d.C(c.N) + t * d.bc_stride;
        for (std::int64_t i = 0; i < c.I; ++i) {
            const double dt = d.delta[t * c.I + i], x = d.x[t * c.I + i];
            double dot = 0.0, mag = 0.0;
            for (std::int64_t n = 0; n < c.N; ++n) {
                const std::size_t k = std::size_t(i * c.N + n);
                const double decay = std::exp(dt * d.A[k]);
                S[k] = decay * S[k] + dt * B[n] * x;
                Sabs[k] = decay * Sabs[k] + std::abs(dt * B[n] * x);
                dot += S[k] * C[n];
                mag += Sabs[k] * std::abs(C[n]);
            }
            double v = dot + d.D[i] * x;
            mag += std::abs(d.D[i] * x);
            if (c.gate) {
                const double g = silu_d(d.z(c.I)[t * d.z_stride + i]);
                v *= g;
                mag *= std::abs(g);
            }
            (*y)[t * c.I + i] = v;
            (*scale)[t * c.I + i] = mag + 1e-30;
        }
    }
    *state = S;
}

void run_sel(const SelCase& c, const SelData& d, std::int64_t t0, std::int64_t t1, float* state,
             float* y) {
    backend()->selective_scan(d.x.data() + t0 * c.I, d.delta.data() + t0 * c.I, d.A.data(),
                              d.B() + t0 * d.bc_stride, d.C(c.N) + t0 * d.bc_stride, d.bc_stride,
                              d.D.data(), c.gate ? d.z(c.I) + t0 * d.z_stride : nullptr, d.z_stride,
                              t1 - t0, c.I, c.N, state, y + t0 * c.I);
}

void check_sel(const SelCase& c, std::uint32_t seed) {
    SCOPED_TRACE(testing::Message()
                 << "T " << c.T << " I " << c.I << " N " << c.N << " gate " << c.gate);
    Rng rng(seed);
    const SelData d = make_sel(c, rng);
    std::vector<float> state = d.state0, y(std::size_t(c.T * c.I));
    run_sel(c, d, 0, c.T, state.data(), y.data());
    std::vector<double> want, scale, state_want;
    sel_reference(c, d, &want, &scale, &state_want);
    expect_close(y.data(), c.I, want, scale, c.T, c.I, scan_tol(c.T), "selective_scan y");
    // The state's own scale: |S| bounded by the accumulated magnitudes; 1 + |S| floor as S ~ O(1).
    std::vector<double> sscale(state_want.size());
    for (std::size_t k = 0; k < sscale.size(); ++k) sscale[k] = std::abs(state_want[k]) + 1.0;
    expect_close(state.data(), c.N, state_want, sscale, c.I, c.N, scan_tol(c.T),
                 "selective_scan state");
}

TEST(KernelSelectiveScan, ShapesAndGate) {
    std::uint32_t seed = 900;
    for (std::int64_t T : {1, 5, 33, 70})  // 70 crosses the kernel's 64-token block
        for (std::int64_t I : {1, 3, 17, 67})
            for (std::int64_t N : {1, 3, 16, 17, 64, 65, 130})  // one / several register groups
                for (bool gate : {false, true}) check_sel({T, I, N, gate}, seed++);
}

// mamba-130m / 370m sized: threaded over channels.
TEST(KernelSelectiveScan, ModelSizes) {
    check_sel({1, 1536, 16, true}, 950);
    check_sel({40, 1536, 16, true}, 951);
    check_sel({3, 2048, 16, false}, 952);
}

// One call over T tokens = two calls split anywhere = one call per token, for y and the state.
// Each channel's arithmetic is the same sequence of fp32 operations however the tokens are split
// (and whichever thread runs it), so this is exact.
TEST(KernelSelectiveScan, StateContinuation) {
    for (const SelCase c :
         {SelCase{70, 40, 16, true}, SelCase{9, 5, 67, false}, SelCase{20, 19, 33, true}}) {
        SCOPED_TRACE(testing::Message() << "I " << c.I << " N " << c.N);
        Rng rng(980);
        const SelData d = make_sel(c, rng);
        std::vector<float> state_all = d.state0, y_all(std::size_t(c.T * c.I));
        run_sel(c, d, 0, c.T, state_all.data(), y_all.data());
        std::vector<std::int64_t> each;  // one token per call
        for (std::int64_t s = 1; s < c.T; ++s) each.push_back(s);
        std::vector<std::vector<std::int64_t>> cut_sets = {{1}, {4}, {c.T / 2}, {c.T - 1}, each};
        if (c.T > 64) cut_sets.insert(cut_sets.end(), {{63}, {65}, {30, 63, 64}});
        for (const auto& cuts : cut_sets) {
            std::vector<float> state = d.state0, y(std::size_t(c.T * c.I));
            std::int64_t t0 = 0;
            std::vector<std::int64_t> bounds = cuts;
            bounds.push_back(c.T);
            for (std::int64_t t1 : bounds) {
                run_sel(c, d, t0, t1, state.data(), y.data());
                t0 = t1;
            }
            EXPECT_EQ(y, y_all) << cuts.size() << " cuts, first at " << cuts.front();
            EXPECT_EQ(state, state_all) << cuts.size() << " cuts, first at " << cuts.front();
        }
    }
}

// ---- ssd_scan ---------------------------------------------------------------------------------

struct SsdCase {
    std::int64_t T, H, P, G, N;
};

// As the runtime has them: x, B, C are slices of the conv output row [x (H*P) | B (G*N) | C (G*N)],
// so x_stride = bc_stride = H*P + 2GN.
struct SsdData {
    std::int64_t stride = 0;
    std::vector<float> xbc, delta, A, D, state0;
    const float* x() const { return xbc.data(); }
    const float* B(const SsdCase& c) const { return xbc.data() + c.H * c.P; }
    const float* C(const SsdCase& c) const { return xbc.data() + c.H * c.P + c.G * c.N; }
};

SsdData make_ssd(const SsdCase& c, Rng& rng) {
    SsdData d;
    d.stride = c.H * c.P + 2 * c.G * c.N;
    d.xbc = rng.vec(std::size_t(c.T * d.stride), -1.0f, 1.0f);
    d.delta = rng.vec(std::size_t(c.T * c.H), 0.001f, 0.3f);
    d.A.resize(std::size_t(c.H));
    for (auto& a : d.A) a = -std::exp(rng.uniform(-1.0f, 2.5f));
    d.D = rng.vec(std::size_t(c.H));
    d.state0 = rng.vec(std::size_t(c.H * c.P * c.N), -1.0f, 1.0f);
    return d;
}

void ssd_reference(const SsdCase& c, const SsdData& d, std::vector<double>* y,
                   std::vector<double>* scale, std::vector<double>* state) {
    std::vector<double> S(d.state0.begin(), d.state0.end()), Sabs(S.size());
    for (std::size_t k = 0; k < S.size(); ++k) Sabs[k] = std::abs(S[k]);
    const std::int64_t HP = c.H * c.P;
    y->assign(std::size_t(c.T * HP), 0.0);
    scale->assign(std::size_t(c.T * HP), 0.0);
    for (std::int64_t t = 0; t < c.T; ++t) {
        for (std::int64_t h = 0; h < c.H; ++h) {
            const std::int64_t g = h / (c.H / c.G);
            const double dt = d.delta[t * c.H + h];
            const double decay = std::exp(dt * d.A[h]);
            const float* B = d.B(c) + t * d.stride + g * c.N;
            const float* C = d.C(c) + t * d.stride + g * c.N;
            for (std::int64_t p = 0; p < c.P; ++p) {
                const double x = d.x()[t * d.stride + h * c.P + p];
                double dot = 0.0, mag = 0.0;
                for (std::int64_t n = 0; n < c.N; ++n) {
                    const std::size_t k = std::size_t((h * c.P + p) * c.N + n);
                    S[k] = decay * S[k] + dt * x * B[n];
                    Sabs[k] = decay * Sabs[k] + std::abs(dt * x * B[n]);
                    dot += S[k] * C[n];
                    mag += Sabs[k] * std::abs(C[n]);
                }
                (*y)[t * HP + h * c.P + p] = dot + d.D[h] * x;
                (*scale)[t * HP + h * c.P + p] = mag + std::abs(d.D[h] * x) + 1e-30;
            }
        }
    }
    *state = S;
}

void run_ssd(const SsdCase& c, const SsdData& d, std::int64_t t0, std::int64_t t1, float* state,
             float* y) {
    backend()->ssd_scan(d.x() + t0 * d.stride, d.stride, d.delta.data() + t0 * c.H, d.A.data(),
                        d.B(c) + t0 * d.stride, d.C(c) + t0 * d.stride, d.stride, d.D.data(),
                        t1 - t0, c.H, c.P, c.G, c.N, state, y + t0 * c.H * c.P);
}

void check_ssd(const SsdCase& c, std::uint32_t seed) {
    SCOPED_TRACE(testing::Message()
                 << "T " << c.T << " H " << c.H << " P " << c.P << " G " << c.G << " N " << c.N);
    Rng rng(seed);
    const SsdData d = make_ssd(c, rng);
    std::vector<float> state = d.state0, y(std::size_t(c.T * c.H * c.P));
    run_ssd(c, d, 0, c.T, state.data(), y.data());
    std::vector<double> want, scale, state_want;
    ssd_reference(c, d, &want, &scale, &state_want);
    expect_close(y.data(), c.H * c.P, want, scale, c.T, c.H * c.P, scan_tol(c.T), "ssd_scan y");
    std::vector<double> sscale(state_want.size());
    for (std::size_t k = 0; k < sscale.size(); ++k) sscale[k] = std::abs(state_want[k]) + 1.0;
    expect_close(state.data(), c.N, state_want, sscale, c.H * c.P, c.N, scan_tol(c.T),
                 "ssd_scan state");
}

TEST(KernelSsdScan, ShapesAndGroups) {
    std::uint32_t seed = 1100;
    for (std::int64_t T : {1, 5, 33})
        for (std::int64_t H : {4, 8, 12})
            for (std::int64_t G : {1, 2, 4})
                for (std::int64_t P : {1, 3, 16})
                    for (std::int64_t N : {1, 16, 17, 64, 128}) check_ssd({T, H, P, G, N}, seed++);
    check_ssd({5, 1, 7, 1, 33}, seed++);
    check_ssd({5, 2, 5, 2, 3}, seed++);
}

// mamba2-130m-ish (24 heads x 64, N 128) and a Codestral-like G = 8 slice: threaded over heads.
TEST(KernelSsdScan, ModelSizes) {
    check_ssd({1, 24, 64, 1, 128}, 1200);
    check_ssd({20, 24, 64, 1, 128}, 1201);
    check_ssd({2, 32, 64, 8, 128}, 1202);
}

TEST(KernelSsdScan, StateContinuation) {
    const SsdCase c{21, 8, 16, 2, 17};
    Rng rng(1300);
    const SsdData d = make_ssd(c, rng);
    std::vector<float> state_all = d.state0, y_all(std::size_t(c.T * c.H * c.P));
    run_ssd(c, d, 0, c.T, state_all.data(), y_all.data());
    std::vector<std::int64_t> each;  // one token per call
    for (std::int64_t s = 1; s < c.T; ++s) each.push_back(s);
    const std::vector<std::vector<std::int64_t>> cut_sets = {
        {1}, {7}, {c.T - 1}, {3, 11, 19}, each};
    for (const auto& cuts : cut_sets) {
        std::vector<float> state = d.state0, y(y_all.size());
        std::int64_t t0 = 0;
        std::vector<std::int64_t> bounds = cuts;
        bounds.push_back(c.T);
        for (std::int64_t t1 : bounds) {
            run_ssd(c, d, t0, t1, state.data(), y.data());
            t0 = t1;
        }
        EXPECT_EQ(y, y_all) << cuts.size() << " cuts, first at " << cuts.front();
        EXPECT_EQ(state, state_all) << cuts.size() << " cuts, first at " << cuts.front();
    }
}

}  // namespace
}  // namespace statescope::kernels::test
