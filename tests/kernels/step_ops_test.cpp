// The recordable-step ops of the CPU backend (backend.h): moe_experts against a float64 reference
// of the expert FFNs, and step_scalars / rope_at / write_rows_at / attention_at against the host-
// argument ops they stand for.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "kernel_test_util.h"

namespace statescope::kernels::test {
namespace {

double activate_ref(double v, Activation act) {
    switch (act) {
        case Activation::Silu:
            return v / (1.0 + std::exp(-v));
        case Activation::Gelu:
            return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
        case Activation::Relu2:
            return v > 0 ? v * v : 0.0;
    }
    return v;
}

// E experts of one shape and dtype with their pointer arrays (host memory: the CPU backend's).
struct Experts {
    std::vector<TestWeight> gate, up, down;
    std::vector<const void*> gate_p, up_p, down_p;
    ExpertFfns ffns;
};

Experts make_experts(std::int64_t E, std::int64_t D, std::int64_t F, DType dtype, bool gated,
                     Activation act, Rng& rng) {
    Experts x;
    for (std::int64_t e = 0; e < E; ++e) {
        if (gated) x.gate.push_back(make_weight(dtype, F, D, rng, -0.3f, 0.3f));
        x.up.push_back(make_weight(dtype, F, D, rng, -0.3f, 0.3f));
        x.down.push_back(make_weight(dtype, D, F, rng, -0.3f, 0.3f));
    }
    for (std::int64_t e = 0; e < E; ++e) {
        if (gated) x.gate_p.push_back(x.gate[e].view().data);
        x.up_p.push_back(x.up[e].view().data);
        x.down_p.push_back(x.down[e].view().data);
    }
    x.ffns.gate = gated ? x.gate_p.data() : nullptr;
    x.ffns.up = x.up_p.data();
    x.ffns.down = x.down_p.data();
    x.ffns.dtype = dtype;
    x.ffns.n_experts = E;
    x.ffns.d_model = D;
    x.ffns.d_ff = F;
    x.ffns.act = act;
    return x;
}

// out[t] = (acc ? out[t] : 0) + sum_j w[t, j] down_e(act(gate_e x) * up_e x), all in double from
// the rounded weights.
std::vector<double> experts_ref(const Experts& x, const std::vector<float>& in,
                                std::int64_t x_stride, std::int64_t T, std::int64_t k,
                                const std::vector<std::int32_t>& idx, const std::vector<float>& w,
                                bool accumulate, const std::vector<float>& out0) {
    const std::int64_t D = x.ffns.d_model, F = x.ffns.d_ff;
    std::vector<double> out(std::size_t(T * D), 0.0);
    for (std::int64_t t = 0; t < T; ++t) {
        for (std::int64_t d = 0; d < D; ++d) out[t * D + d] = accumulate ? out0[t * D + d] : 0.0;
        for (std::int64_t j = 0; j < k; ++j) {
            const std::int32_t e = idx[t * k + j];
            if (e < 0 || e >= x.ffns.n_experts) continue;
            std::vector<double> h(static_cast<std::size_t>(F));
            for (std::int64_t o = 0; o < F; ++o) {
                double u = 0, g = 0;
                for (std::int64_t i = 0; i < D; ++i) {
                    const double xi = in[t * x_stride + i];
                    u += double(x.up[e].values[o * D + i]) * xi;
                    if (x.ffns.gate) g += double(x.gate[e].values[o * D + i]) * xi;
                }
                h[o] = x.ffns.gate ? activate_ref(g, x.ffns.act) * u : activate_ref(u, x.ffns.act);
            }
            for (std::int64_t d = 0; d < D; ++d) {
                double y = 0;
                for (std::int64_t o = 0; o < F; ++o)
                    y += double(x.down[e].values[d * F + o]) * h[o];
                out[t * D + d] += double(w[t * k + j]) * y;
            }
        }
    }
    return out;
}

// The CPU op's dots are double, rounded to fp32 once; h is stored in fp32 (eps/2 relative per
// element), and the down dot over F of those rounded h can cancel (measured: 2.6e-6 of a small
// output, 2e-8 absolute); then a sum of k fp32 terms. 1e-5 relative, floored at 1e-2 of the
// largest output. A wrong expert or weight moves an output by its own scale. Out-of-range expert
// indices (-1, E) contribute nothing; "accumulate" adds onto what out held.
TEST(StepOps, MoeExpertsMatchesDoubleReference) {
    Rng rng(91);
    auto& be = *backend();
    const DType dtypes[] = {DType::F32, DType::BF16, DType::F16};
    struct Case {
        std::int64_t D, F, E, k;
        bool gated;
        Activation act;
    };
    const Case cases[] = {{16, 24, 4, 2, true, Activation::Silu},
                          {67, 131, 5, 3, true, Activation::Gelu},
                          {40, 96, 6, 2, false, Activation::Relu2}};
    for (DType dt : dtypes)
        for (const Case& c : cases)
            for (std::int64_t T : {1, 3})
                for (bool accumulate : {false, true}) {
                    Experts x = make_experts(c.E, c.D, c.F, dt, c.gated, c.act, rng);
                    const std::int64_t x_stride = c.D + 3;
                    std::vector<float> in = rng.vec(std::size_t(T * x_stride), -1.0f, 1.0f);
                    std::vector<std::int32_t> idx(std::size_t(T * c.k));
                    std::vector<float> w = rng.vec(std::size_t(T * c.k), 0.05f, 1.0f);
                    for (auto& e : idx) e = std::int32_t(rng.integer(0, c.E - 1));
                    if (T > 1) {  // indices the kernel must skip
                        idx[1] = -1;
                        idx[std::size_t(T * c.k - 1)] = std::int32_t(c.E);
                    }
                    std::vector<float> out = rng.vec(std::size_t(T * c.D));
                    const std::vector<float> out0 = out;
                    std::vector<float> hidden(std::size_t(T * c.k * c.F));
                    be.moe_experts(in.data(), x_stride, T, c.k, idx.data(), w.data(), x.ffns,
                                   hidden.data(), accumulate, out.data());
                    const auto want =
                        experts_ref(x, in, x_stride, T, c.k, idx, w, accumulate, out0);
                    double mx = 0;
                    for (double v : want) mx = std::max(mx, std::fabs(v));
                    const std::string what = "moe_experts " + std::string(dtype_name(dt)) +
                                             " D=" + sz(c.D) + " F=" + sz(c.F) + " T=" + sz(T) +
                                             (accumulate ? " +=" : " =");
                    for (std::size_t i = 0; i < want.size(); ++i) {
                        const double scale = std::max(std::fabs(want[i]), 1e-2 * mx);
                        ASSERT_LE(std::fabs(double(out[i]) - want[i]) / scale, 1e-5)
                            << what << " at " << i << ": " << out[i] << " vs " << want[i];
                    }
                }
}

// The *_at ops read their position from backend memory (step_scalars) and are then the very same
// ops as rope / attention at that position: the same bits.
TEST(StepOps, AtOpsEqualTheirHostArgumentOps) {
    Rng rng(92);
    auto& be = *backend();
    const std::int64_t nh = 4, nkv = 2, hd = 16, qw = nh * hd, kvw = nkv * hd;
    std::vector<float> inv(hd / 2);
    for (std::int64_t j = 0; j < hd / 2; ++j) inv[j] = std::pow(10000.0f, -2.0f * j / hd);
    for (std::int64_t pos : {0, 5, 63}) {
        const std::int64_t host_pos[2] = {pos, 999};
        const std::int64_t* p = be.step_scalars(host_pos, 2);
        ASSERT_EQ(p[0], pos);
        ASSERT_EQ(p[1], 999);
        // rope
        std::vector<float> a = rng.vec(std::size_t(2 * qw)), b = a;
        be.rope(a.data(), qw, 2, nh, hd, hd, pos, inv.data());
        be.rope_at(b.data(), qw, 2, nh, hd, hd, p, inv.data());
        EXPECT_EQ(a, b) << "rope at " << pos;
        // write_rows_at: rows pos, pos + 1 of a cache of 66 rows, the rest untouched
        const std::int64_t cap = 66;
        std::vector<float> cache(std::size_t(cap * kvw), -5.0f);
        const std::vector<float> rows = rng.vec(std::size_t(2 * (kvw + 1)));
        be.write_rows_at(rows.data(), kvw + 1, 2, kvw, cache.data(), kvw, p);
        for (std::int64_t r = 0; r < cap; ++r)
            for (std::int64_t i = 0; i < kvw; ++i) {
                const float want =
                    r == pos || r == pos + 1 ? rows[(r - pos) * (kvw + 1) + i] : -5.0f;
                ASSERT_EQ(cache[r * kvw + i], want) << "write_rows_at " << pos << " row " << r;
            }
        // attention
        std::vector<float> q = rng.vec(std::size_t(2 * qw)), k = rng.vec(std::size_t(cap * kvw)),
                           v = rng.vec(std::size_t(cap * kvw));
        std::vector<float> o1(std::size_t(2 * qw)), o2(std::size_t(2 * qw));
        be.attention(q.data(), qw, k.data(), v.data(), kvw, 2, pos, nh, nkv, hd, 0.25f, 0,
                     o1.data(), qw);
        be.attention_at(q.data(), qw, k.data(), v.data(), kvw, 2, p, cap, nh, nkv, hd, 0.25f, 0,
                        o2.data(), qw);
        EXPECT_EQ(o1, o2) << "attention at " << pos;
    }
}

}  // namespace
}  // namespace statescope::kernels::test
