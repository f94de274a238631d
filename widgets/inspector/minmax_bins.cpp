#include "widgets/inspector/minmax_bins.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace statescope::widgets {

MinMaxBins minmax_bins(const float* src, std::int64_t X, std::int64_t Y, std::int64_t x0,
                       std::int64_t x1, std::int64_t nx, std::int64_t ny) {
    x0 = std::clamp<std::int64_t>(x0, 0, X);
    x1 = std::clamp<std::int64_t>(x1, x0, X);
    const std::int64_t n = x1 - x0;
    MinMaxBins b;
    b.nx = std::clamp<std::int64_t>(nx, n > 0 ? 1 : 0, n);
    b.ny = std::clamp<std::int64_t>(ny, Y > 0 ? 1 : 0, Y);
    const float inf = std::numeric_limits<float>::infinity();
    b.lo.assign(std::size_t(b.nx * b.ny), inf);
    b.hi.assign(std::size_t(b.nx * b.ny), -inf);
    if (b.nx == 0 || b.ny == 0) return b;
    // y -> bin, once (bin j covers rows [j*Y/ny, (j+1)*Y/ny))
    std::vector<std::int64_t> ybin(static_cast<std::size_t>(Y), 0);
    for (std::int64_t j = 0; j < b.ny; ++j)
        for (std::int64_t y = j * Y / b.ny; y < (j + 1) * Y / b.ny; ++y) ybin[std::size_t(y)] = j;
    for (std::int64_t i = 0; i < b.nx; ++i) {
        const std::int64_t a = x0 + i * n / b.nx, e = x0 + (i + 1) * n / b.nx;
        for (std::int64_t x = a; x < e; ++x) {
            const float* row = src + x * Y;
            for (std::int64_t y = 0; y < Y; ++y) {
                const float v = row[y];
                if (!std::isfinite(v)) continue;
                const std::size_t k = std::size_t(ybin[std::size_t(y)] * b.nx + i);
                b.lo[k] = std::min(b.lo[k], v);
                b.hi[k] = std::max(b.hi[k], v);
            }
        }
    }
    b.min = inf;
    b.max = -inf;
    const float nan = std::numeric_limits<float>::quiet_NaN();
    for (std::size_t k = 0; k < b.lo.size(); ++k) {
        if (b.lo[k] > b.hi[k]) {
            b.lo[k] = b.hi[k] = nan;
            continue;
        }
        b.min = std::min(b.min, b.lo[k]);
        b.max = std::max(b.max, b.hi[k]);
    }
    if (b.min > b.max) b.min = b.max = 0;
    return b;
}

std::vector<float> pick_extremes(const MinMaxBins& b, float centre) {
    std::vector<float> out(b.lo.size());
    for (std::size_t k = 0; k < out.size(); ++k)
        out[k] = std::fabs(b.lo[k] - centre) > std::fabs(b.hi[k] - centre) ? b.lo[k] : b.hi[k];
    return out;
}

}  // namespace statescope::widgets
