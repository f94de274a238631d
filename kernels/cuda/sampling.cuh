// Device pieces of the token draw (kernels/sampling.h) shared by the sort path (sampling.cu) and
// the one-block top-k path (sample_topk.cu).
#pragma once

#include <cstdint>

namespace statescope::kernels::cuda {

// The key a logit ranks by (kernels/sampling.h step 1): NaN as -inf, -0 as +0.
__device__ __forceinline__ float rank_key(float v) {
    return v != v ? -INFINITY : __fadd_rn(v, 0.0f);
}

// kernels::penalized_logit on the device: the same float operations, each rounded on its own (no
// contraction), so both backends rank the same keys.
__device__ __forceinline__ float penalized(float l, std::int32_t count, float repetition,
                                           float presence, float frequency) {
    if (repetition != 1.0f) l = l > 0.0f ? __fdiv_rn(l, repetition) : __fmul_rn(l, repetition);
    return __fsub_rn(l, fmaf(frequency, float(count), presence));
}

// First r in [0, n) with !(v[r] >= bar) for non-increasing v; n when none.
__device__ __forceinline__ std::int64_t first_below(const double* v, std::int64_t n, double bar) {
    std::int64_t lo = 0, hi = n;
    while (lo < hi) {
        const std::int64_t mid = (lo + hi) / 2;
        if (v[mid] >= bar)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}
// First r in [0, n) with v[r] > bar (or >= when `or_equal`) for non-decreasing v; n when none.
__device__ __forceinline__ std::int64_t first_above(const double* v, std::int64_t n, double bar,
                                                    bool or_equal) {
    std::int64_t lo = 0, hi = n;
    while (lo < hi) {
        const std::int64_t mid = (lo + hi) / 2;
        if (v[mid] > bar || (or_equal && v[mid] == bar))
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

// Steps 3 and 4 of kernels/sampling.h after the temperature: e, cum are the weights of the first n
// ranked tokens and their prefix sums; returns the rank drawn at u (min-p, then top-p, then the
// first r with u * cum[keep-1] < cum[r], the last kept one when rounding leaves none).
__device__ __forceinline__ std::int64_t truncate_and_draw(const double* e, const double* cum,
                                                          std::int64_t n, float min_p, float top_p,
                                                          double u) {
    std::int64_t keep = n;
    if (min_p > 0.0f) keep = max(first_below(e, keep, double(min_p)), std::int64_t(1));
    if (top_p < 1.0f) {
        const double bar = double(top_p) * cum[keep - 1];
        keep = min(first_above(cum, keep, bar, true) + 1, keep);
    }
    const std::int64_t r = first_above(cum, keep, u * cum[keep - 1], false);
    return r < keep ? r : keep - 1;
}

}  // namespace statescope::kernels::cuda
