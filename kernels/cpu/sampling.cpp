// Sampling helpers behind the Backend interface: the argmax of each logits row, and the token draw
// of kernels/sampling.h (the reference the CUDA op is tested against).
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "kernels/cpu/ops.h"

namespace statescope::kernels::cpu {

// out[t] = argmax_v x[t, v]; the first maximum on ties (a later equal value never replaces it), as
// torch.argmax and statescope::argmax.      x: [T, V] (row stride x_stride); out: [T]
void argmax(const float* x, std::int64_t x_stride, std::int64_t T, std::int64_t V,
            std::int32_t* out) {
    for (std::int64_t t = 0; t < T; ++t) {
        const float* row = x + t * x_stride;
        std::int64_t best = 0;
        for (std::int64_t i = 1; i < V; ++i)
            if (row[i] > row[best]) best = i;
        out[t] = static_cast<std::int32_t>(best);
    }
}

namespace {

// The key a logit ranks by: NaN as -inf, -0 as +0 (kernels/sampling.h step 1).
float rank_key(float v) {
    return v != v ? -std::numeric_limits<float>::infinity() : v + 0.0f;
}

}  // namespace

// Steps 1-3 of kernels/sampling.h for one row: the kept tokens in ranked order with the prefix sums
// of their weights (sequential, in double).
Ranked rank_row(const float* row, std::int64_t V, const SampleParams& p,
                std::span<const std::int32_t> pen_ids, std::span<const std::int32_t> pen_counts) {
    Ranked out;
    if (V <= 0) return out;
    std::vector<float> key(static_cast<std::size_t>(V));
    for (std::int64_t i = 0; i < V; ++i) key[std::size_t(i)] = rank_key(row[i]);
    for (std::size_t j = 0; j < pen_ids.size(); ++j) {
        const std::int32_t id = pen_ids[j];
        key[std::size_t(id)] = rank_key(penalized_logit(row[id], pen_counts[j], p));
    }
    // descending key, then ascending id: a strict total order, so a partial sort gives exactly
    // the first k of the full ranking
    const auto before = [&](std::int32_t a, std::int32_t b) {
        return key[std::size_t(a)] > key[std::size_t(b)] ||
               (key[std::size_t(a)] == key[std::size_t(b)] && a < b);
    };
    std::vector<std::int32_t> order(static_cast<std::size_t>(V));
    std::iota(order.begin(), order.end(), 0);
    const std::int32_t first = *std::min_element(order.begin(), order.end(), before);
    const float top = key[std::size_t(first)];
    if (p.temperature <= 0.0f || std::isinf(top)) {  // greedy, or nothing finite to weigh
        out.ids.push_back(first);
        out.e.push_back(1.0);
        out.cum.push_back(1.0);
        return out;
    }
    std::size_t keep = static_cast<std::size_t>(V);
    if (p.top_k > 0) keep = std::min<std::size_t>(keep, static_cast<std::size_t>(p.top_k));
    std::partial_sort(order.begin(), order.begin() + std::ptrdiff_t(keep), order.end(), before);
    const double inv_t = 1.0 / double(p.temperature), l0 = double(top);
    std::vector<double> e(keep);
    for (std::size_t r = 0; r < keep; ++r)
        e[r] = std::exp((double(key[std::size_t(order[r])]) - l0) * inv_t);
    if (p.min_p > 0.0f) {
        std::size_t n = 0;
        while (n < keep && e[n] >= double(p.min_p)) ++n;
        keep = std::max<std::size_t>(n, 1);
    }
    out.cum.resize(keep);
    double acc = 0;
    for (std::size_t r = 0; r < keep; ++r) out.cum[r] = acc += e[r];
    if (p.top_p < 1.0f) {
        const double bar = double(p.top_p) * out.cum[keep - 1];
        keep =
            std::size_t(std::lower_bound(out.cum.begin(), out.cum.end(), bar) - out.cum.begin()) +
            1;
        keep = std::min(keep, out.cum.size());
        out.cum.resize(keep);
    }
    out.ids.assign(order.begin(), order.begin() + std::ptrdiff_t(keep));
    e.resize(keep);
    out.e = std::move(e);
    return out;
}

// Step 4: the first ranked r with u * cum[keep-1] < cum[r] (the last when rounding leaves none).
std::int32_t draw(const Ranked& r, double u) {
    const double target = u * r.cum.back();
    const auto it = std::upper_bound(r.cum.begin(), r.cum.end(), target);
    const std::size_t i = it == r.cum.end() ? r.cum.size() - 1 : std::size_t(it - r.cum.begin());
    return r.ids[i];
}

// out[t] = the token kernels/sampling.h draws from row t at u[t].   x: [T, V]; u: [T]; out: [T]
void sample(const float* x, std::int64_t x_stride, std::int64_t T, std::int64_t V,
            const SampleParams& p, const SamplePenalties& pen, const double* u, std::int32_t* out) {
    for (std::int64_t t = 0; t < T; ++t) {
        std::span<const std::int32_t> ids, counts;
        if (pen.offsets != nullptr) {
            const auto b = std::size_t(pen.offsets[t]), n = std::size_t(pen.offsets[t + 1]) - b;
            ids = {pen.ids + b, n};
            counts = {pen.counts + b, n};
        }
        out[t] = draw(rank_row(x + t * x_stride, V, p, ids, counts), u[t]);
    }
}

}  // namespace statescope::kernels::cpu
