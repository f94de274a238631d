// The batched decode step's ops (causal_conv1d_rows, selective_scan_rows, ssd_scan_rows): `rows`
// sequences, each one token continuing its own state, against float64 one-token recurrences per
// row, with strided rows (NaN padding that a read outside a row would spread) and states in
// separate allocations as a Sequence has them.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "kernel_test_util.h"

namespace statescope::kernels::test {
namespace {

std::vector<float*> pointers(std::vector<std::vector<float>>& states) {
    std::vector<float*> p;
    for (auto& s : states) p.push_back(s.data());
    return p;
}

// ---- causal_conv1d_rows -----------------------------------------------------------------------

// One row: y[c] = act(bias[c] + sum_{k<K-1} w[c,k] state[k,c] + w[c,K-1] x[c]); the state drops
// its oldest row and appends x. Error budget as conv1d_test: K roundings of a sum of K products
// (1e-6 of sum |w x| is ~16 ulp) plus silu's few ulp; the new state is a copy, exact.
constexpr double kConvTol = 1e-6;

TEST(KernelStepRows, Conv1dRowsMatchesOneTokenPerRow) {
    Rng rng(31);
    for (std::int64_t rows : {1, 3, 8})
        for (std::int64_t C : {1, 37, 1536})
            for (std::int64_t K : {2, 4})
                for (bool silu : {false, true}) {
                    const bool bias_on = silu;  // both combinations of each over the loop
                    const std::int64_t x_stride = C + 5;
                    const std::vector<float> x_dense = rng.vec(std::size_t(rows * C), -2.0f, 2.0f);
                    const std::vector<float> x = strided(x_dense, rows, C, x_stride);
                    const std::vector<float> w = rng.vec(std::size_t(C * K)), b = rng.vec(C);
                    std::vector<std::vector<float>> states{std::size_t(rows)};
                    for (auto& s : states) s = rng.vec(std::size_t((K - 1) * C), -2.0f, 2.0f);
                    const auto states0 = states;
                    std::vector<float> y(std::size_t(rows * C), -9.0f);
                    backend()->causal_conv1d_rows(x.data(), x_stride, rows, C, K, w.data(),
                                                  bias_on ? b.data() : nullptr, silu,
                                                  pointers(states).data(), y.data());
                    std::vector<double> want(y.size()), scale(y.size());
                    for (std::int64_t r = 0; r < rows; ++r) {
                        const std::vector<float>& s0 = states0[std::size_t(r)];
                        for (std::int64_t c = 0; c < C; ++c) {
                            double acc = bias_on ? b[c] : 0.0, mag = std::abs(acc);
                            for (std::int64_t k = 0; k < K; ++k) {
                                const double win = k < K - 1 ? s0[k * C + c] : x_dense[r * C + c];
                                acc += double(w[c * K + k]) * win;
                                mag += std::abs(double(w[c * K + k]) * win);
                            }
                            want[r * C + c] = silu ? silu_d(acc) : acc;
                            scale[r * C + c] = mag + 1e-30;
                        }
                        std::vector<float> s_want(s0.size());
                        for (std::int64_t j = 0; j + 1 < K - 1; ++j)
                            for (std::int64_t c = 0; c < C; ++c)
                                s_want[j * C + c] = s0[(j + 1) * C + c];
                        for (std::int64_t c = 0; c < C; ++c)
                            s_want[(K - 2) * C + c] = x_dense[r * C + c];
                        EXPECT_EQ(states[std::size_t(r)], s_want)
                            << "conv_state of row " << r << " (C " << C << ", K " << K << ")";
                    }
                    expect_close(y.data(), C, want, scale, rows, C, kConvTol,
                                 "conv1d_rows rows=" + sz(rows) + " C=" + sz(C) + " K=" + sz(K) +
                                     (silu ? " silu bias" : ""));
                }
}

// ---- selective_scan_rows ----------------------------------------------------------------------

// One token of the scan_test recurrence per row: the product of one decay (one exp, <= 2 ulp of
// the vector exp) and two roundings per state, then a sum of N terms; scan_test's T = 1 budget
// (2.4e-6 of sum_n |S_n C_n| + |D x|).
constexpr double kScanTol = 2.4e-6;

TEST(KernelStepRows, SelectiveScanRowsMatchesOneTokenPerRow) {
    Rng rng(32);
    struct Case {
        std::int64_t rows, I, N;
        bool gate;
    };
    for (Case c : {Case{1, 33, 16, true}, Case{3, 256, 16, true}, Case{5, 70, 17, false},
                   Case{4, 1536, 16, true}}) {
        const std::int64_t R = 5, bc_stride = R + 2 * c.N, z_stride = 2 * c.I;
        const std::vector<float> x = rng.vec(std::size_t(c.rows * c.I), -2.0f, 2.0f);
        const std::vector<float> delta = rng.vec(std::size_t(c.rows * c.I), 0.001f, 0.5f);
        std::vector<float> A(std::size_t(c.I * c.N));
        for (auto& a : A) a = -std::exp(rng.uniform(-1.0f, 2.5f));
        const std::vector<float> bc = rng.vec(std::size_t(c.rows * bc_stride));
        const std::vector<float> D = rng.vec(std::size_t(c.I));
        const std::vector<float> z = rng.vec(std::size_t(c.rows * z_stride), -4.0f, 4.0f);
        std::vector<std::vector<float>> states{std::size_t(c.rows)};
        for (auto& s : states) s = rng.vec(A.size());
        const auto states0 = states;
        std::vector<float> y(std::size_t(c.rows * c.I), -9.0f);
        backend()->selective_scan_rows(x.data(), delta.data(), A.data(), bc.data() + R,
                                       bc.data() + R + c.N, bc_stride, D.data(),
                                       c.gate ? z.data() + c.I : nullptr, z_stride, c.rows, c.I,
                                       c.N, pointers(states).data(), y.data());
        std::vector<double> want(y.size()), scale(y.size());
        const std::string what = "selective_scan_rows rows=" + sz(c.rows) + " I=" + sz(c.I) +
                                 " N=" + sz(c.N) + (c.gate ? " gate" : "");
        for (std::int64_t r = 0; r < c.rows; ++r) {
            const float* B = bc.data() + r * bc_stride + R;
            const float* C = B + c.N;
            std::vector<double> s_want(A.size()), s_scale(A.size());
            for (std::int64_t i = 0; i < c.I; ++i) {
                const double dt = delta[r * c.I + i], xv = x[r * c.I + i];
                double dot = 0.0, mag = 0.0;
                for (std::int64_t n = 0; n < c.N; ++n) {
                    const std::size_t k = std::size_t(i * c.N + n);
                    const double decayed = std::exp(dt * A[k]) * states0[std::size_t(r)][k];
                    const double S = decayed + dt * B[n] * xv;
                    s_want[k] = S;
                    s_scale[k] = std::abs(decayed) + std::abs(dt * B[n] * xv) + 1e-30;
                    dot += S * C[n];
                    mag += s_scale[k] * std::abs(C[n]);
                }
                double v = dot + D[i] * xv;
                mag += std::abs(D[i] * xv);
                if (c.gate) {
                    const double g = silu_d(z[r * z_stride + c.I + i]);
                    v *= g;
                    mag *= std::abs(g);
                }
                want[r * c.I + i] = v;
                scale[r * c.I + i] = mag + 1e-30;
            }
            expect_close(states[std::size_t(r)].data(), c.N, s_want, s_scale, c.I, c.N, kScanTol,
                         what + " state of row " + sz(r));
        }
        expect_close(y.data(), c.I, want, scale, c.rows, c.I, kScanTol, what);
    }
}

// ---- ssd_scan_rows ----------------------------------------------------------------------------

TEST(KernelStepRows, SsdScanRowsMatchesOneTokenPerRow) {
    Rng rng(33);
    struct Case {
        std::int64_t rows, H, P, G, N;
    };
    for (Case c : {Case{1, 4, 8, 1, 16}, Case{3, 6, 16, 2, 64}, Case{4, 3, 5, 3, 17},
                   Case{2, 24, 64, 1, 128}}) {
        const std::int64_t HP = c.H * c.P, GN = c.G * c.N;
        // x, B, C inside one conv output row as the runtime has them: [x | B | C], + padding
        const std::int64_t x_stride = HP + 2 * GN + 3;
        const std::vector<float> xbc_dense =
            rng.vec(std::size_t(c.rows * (HP + 2 * GN)), -2.0f, 2.0f);
        const std::vector<float> xbc = strided(xbc_dense, c.rows, HP + 2 * GN, x_stride);
        const std::vector<float> delta = rng.vec(std::size_t(c.rows * c.H), 0.001f, 0.5f);
        std::vector<float> A(std::size_t(c.H));
        for (auto& a : A) a = -std::exp(rng.uniform(-1.0f, 2.5f));
        const std::vector<float> D = rng.vec(std::size_t(c.H));
        std::vector<std::vector<float>> states{std::size_t(c.rows)};
        for (auto& s : states) s = rng.vec(std::size_t(HP * c.N));
        const auto states0 = states;
        std::vector<float> y(std::size_t(c.rows * HP), -9.0f);
        backend()->ssd_scan_rows(xbc.data(), x_stride, delta.data(), A.data(), xbc.data() + HP,
                                 xbc.data() + HP + GN, x_stride, D.data(), c.rows, c.H, c.P, c.G,
                                 c.N, pointers(states).data(), y.data());
        std::vector<double> want(y.size()), scale(y.size());
        const std::string what = "ssd_scan_rows rows=" + sz(c.rows) + " H=" + sz(c.H) +
                                 " P=" + sz(c.P) + " G=" + sz(c.G) + " N=" + sz(c.N);
        for (std::int64_t r = 0; r < c.rows; ++r) {
            const float* row = xbc_dense.data() + r * (HP + 2 * GN);
            std::vector<double> s_want(std::size_t(HP * c.N)), s_scale(s_want.size());
            for (std::int64_t h = 0; h < c.H; ++h) {
                const std::int64_t g = h / (c.H / c.G);
                const double dt = delta[r * c.H + h], decay = std::exp(dt * A[h]);
                const float* B = row + HP + g * c.N;
                const float* C = row + HP + GN + g * c.N;
                for (std::int64_t p = 0; p < c.P; ++p) {
                    const double xv = row[h * c.P + p];
                    double dot = 0.0, mag = 0.0;
                    for (std::int64_t n = 0; n < c.N; ++n) {
                        const std::size_t k = std::size_t((h * c.P + p) * c.N + n);
                        const double decayed = decay * states0[std::size_t(r)][k];
                        const double S = decayed + dt * xv * B[n];
                        s_want[k] = S;
                        s_scale[k] = std::abs(decayed) + std::abs(dt * xv * B[n]) + 1e-30;
                        dot += S * C[n];
                        mag += s_scale[k] * std::abs(C[n]);
                    }
                    want[r * HP + h * c.P + p] = dot + D[h] * xv;
                    scale[r * HP + h * c.P + p] = mag + std::abs(D[h] * xv) + 1e-30;
                }
            }
            expect_close(states[std::size_t(r)].data(), c.N, s_want, s_scale, HP, c.N, kScanTol,
                         what + " state of row " + sz(r));
        }
        expect_close(y.data(), HP, want, scale, c.rows, HP, kScanTol, what);
    }
}

}  // namespace
}  // namespace statescope::kernels::test
