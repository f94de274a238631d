// Mixture-of-experts routing: the k experts of each token and their weights (backend.h states the
// three scorings). Tiny (T x E); no threads.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "kernels/cpu/ops.h"

namespace statescope::kernels::cpu {

namespace {

// Indices of the k largest values, largest first (ties: the lower index first, as torch.topk on CPU
// tends to; exact ties do not occur with real-valued logits).
std::vector<std::int64_t> top_k(const std::vector<double>& v, std::int64_t k) {
    std::vector<std::int64_t> idx(v.size());
    std::iota(idx.begin(), idx.end(), 0);
    std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](std::int64_t a, std::int64_t b) {
        return v[a] > v[b] || (v[a] == v[b] && a < b);
    });
    idx.resize(std::size_t(k));
    return idx;
}

}  // namespace

// logits: [T, E]; experts, weights: [T, k]. Computed in double, stored as fp32.
void moe_route(const float* logits, std::int64_t T, std::int64_t E, std::int64_t k,
               RouterScoring scoring, const float* correction_bias, std::int64_t n_group,
               std::int64_t topk_group, bool normalize, float route_scale, std::int32_t* experts,
               float* weights) {
    std::vector<double> score(static_cast<std::size_t>(E)), choice(static_cast<std::size_t>(E)),
        w(static_cast<std::size_t>(k));
    for (std::int64_t t = 0; t < T; ++t) {
        const float* l = logits + t * E;
        std::vector<std::int64_t> chosen;
        switch (scoring) {
            case RouterScoring::SoftmaxTopK: {
                // p = softmax(logits) ; top-k of p ; w = p (no renormalisation)
                double mx = -INFINITY, sum = 0.0;
                for (std::int64_t e = 0; e < E; ++e) mx = std::max(mx, double(l[e]));
                for (std::int64_t e = 0; e < E; ++e) sum += score[e] = std::exp(double(l[e]) - mx);
                for (std::int64_t e = 0; e < E; ++e) score[e] /= sum;
                chosen = top_k(score, k);
                for (std::int64_t j = 0; j < k; ++j) w[j] = score[chosen[j]];
                break;
            }
            case RouterScoring::TopKSoftmax: {
                // top-k of logits ; w = softmax over the k chosen logits
                for (std::int64_t e = 0; e < E; ++e) score[e] = l[e];
                chosen = top_k(score, k);
                const double mx = score[chosen[0]];
                double sum = 0.0;
                for (std::int64_t j = 0; j < k; ++j) sum += w[j] = std::exp(score[chosen[j]] - mx);
                for (std::int64_t j = 0; j < k; ++j) w[j] /= sum;
                break;
            }
            case RouterScoring::Sigmoid: {
                // s = sigmoid(logits); choice = s + bias; groups scored by the sum of their two
                // best choices, the topk_group best groups kept; top-k of choice among them; w = s
                for (std::int64_t e = 0; e < E; ++e) {
                    score[e] = 1.0 / (1.0 + std::exp(-double(l[e])));
                    choice[e] = score[e] + (correction_bias ? double(correction_bias[e]) : 0.0);
                }
                if (n_group > 1 && topk_group < n_group) {
                    const std::int64_t per = E / n_group;
                    std::vector<double> group_score(static_cast<std::size_t>(n_group));
                    for (std::int64_t g = 0; g < n_group; ++g) {
                        std::vector<double> members(choice.begin() + g * per,
                                                    choice.begin() + (g + 1) * per);
                        std::sort(members.rbegin(), members.rend());
                        group_score[g] = members[0] + (per > 1 ? members[1] : 0.0);
                    }
                    const auto keep = top_k(group_score, topk_group);
                    for (std::int64_t g = 0; g < n_group; ++g) {
                        if (std::find(keep.begin(), keep.end(), g) != keep.end()) continue;
                        for (std::int64_t e = g * per; e < (g + 1) * per; ++e)
                            choice[e] = -INFINITY;
                    }
                }
                chosen = top_k(choice, k);
                for (std::int64_t j = 0; j < k; ++j) w[j] = score[chosen[j]];
                break;
            }
        }
        double total = 0.0;
        for (std::int64_t j = 0; j < k; ++j) total += w[j];
        for (std::int64_t j = 0; j < k; ++j) {
            double wj = normalize ? w[j] / (total + 1e-20) : w[j];
            experts[t * k + j] = static_cast<std::int32_t>(chosen[j]);
            weights[t * k + j] = static_cast<float>(wj * route_scale);
        }
    }
}

namespace {

// sum_i W[row, i] * x[i] in double, W's elements widened to fp32 first.
double dot_row(const void* W, DType dtype, std::int64_t row, std::int64_t cols, const float* x,
               std::vector<float>& wide) {
    wide.resize(std::size_t(cols));
    const auto* base =
        static_cast<const unsigned char*>(W) + std::size_t(row * cols) * dtype_size(dtype);
    widen_to_f32(base, dtype, std::size_t(cols), wide.data());
    double acc = 0.0;
    for (std::int64_t i = 0; i < cols; ++i) acc += double(wide[i]) * double(x[i]);
    return acc;
}

}  // namespace

// The reference the device op is checked against; the CPU runtime keeps its grouped path (one
// batched FFN per expert) and runs this only in the capture-safe decode path of the tests.
//   h[t, j, :] = act(gate_e x[t]) * up_e x[t]  (act(up_e x[t]) ungated), each dot in double
//   out[t, :] = (accumulate ? out[t, :] : 0) + sum_j weights[t, j] * down_e h[t, j, :]  (fp32 adds,
//   j in order, as the device kernel)
void moe_experts(const float* x, std::int64_t x_stride, std::int64_t T, std::int64_t k,
                 const std::int32_t* experts, const float* weights, const ExpertFfns& ffn,
                 float* hidden, bool accumulate, float* out) {
    const std::int64_t D = ffn.d_model, F = ffn.d_ff;
    std::vector<float> wide, g(static_cast<std::size_t>(F)), u(static_cast<std::size_t>(F)),
        y(static_cast<std::size_t>(k * D));
    for (std::int64_t t = 0; t < T; ++t) {
        const float* xt = x + t * x_stride;
        for (std::int64_t j = 0; j < k; ++j) {
            const std::int32_t e = experts[t * k + j];
            float* h = hidden + (t * k + j) * F;
            float* yj = y.data() + j * D;
            if (e < 0 || e >= ffn.n_experts) {
                std::fill(yj, yj + D, 0.0f);
                continue;
            }
            for (std::int64_t o = 0; o < F; ++o) {
                u[o] = float(dot_row(ffn.up[e], ffn.dtype, o, D, xt, wide));
                if (ffn.gate != nullptr)
                    g[o] = float(dot_row(ffn.gate[e], ffn.dtype, o, D, xt, wide));
            }
            if (ffn.gate != nullptr)
                glu(g.data(), F, u.data(), F, 1, F, ffn.act, h);
            else
                glu(u.data(), F, nullptr, 0, 1, F, ffn.act, h);
            for (std::int64_t d = 0; d < D; ++d)
                yj[d] = float(dot_row(ffn.down[e], ffn.dtype, d, F, h, wide));
        }
        float* o = out + t * D;
        for (std::int64_t d = 0; d < D; ++d) {
            float acc = accumulate ? o[d] : 0.0f;
            for (std::int64_t j = 0; j < k; ++j) {
                const std::int32_t e = experts[t * k + j];
                if (e < 0 || e >= ffn.n_experts) continue;
                acc += weights[t * k + j] * y[std::size_t(j * D + d)];
            }
            o[d] = acc;
        }
    }
}

}  // namespace statescope::kernels::cpu
