// Min/max-preserving downsampling of a heatmap (plain C++, no Qt): a matrix of X columns (tokens)
// by Y rows (channels or heads) shrunk to nx x ny bins, each bin keeping the smallest and the
// largest value it covers, so a one-token spike in 8k tokens still shows at 800 pixels. A cell is
// then drawn with whichever of its two extremes lies farther from the colour scale's centre.
#pragma once

#include <cstdint>
#include <vector>

namespace statescope::widgets {

struct MinMaxBins {
    std::int64_t nx = 0, ny = 0;
    std::vector<float> lo, hi;  // [ny, nx] row-major (row = y bin)
    float min = 0, max = 0;     // over every covered value
};

// src: [X, Y] row-major (one row per token x, as delta [T, U] is stored). Bins cover the columns
// [x0, x1) and all Y rows; bin i takes x in [x0 + i*n/nx, x0 + (i+1)*n/nx) (n = x1 - x0), so every
// value lands in exactly one bin. nx, ny are clamped to the covered sizes (no upsampling). Non-
// finite values are skipped; a bin with none gets NaN.
MinMaxBins minmax_bins(const float* src, std::int64_t X, std::int64_t Y, std::int64_t x0,
                       std::int64_t x1, std::int64_t nx, std::int64_t ny);

// The value drawn for each bin: lo or hi, whichever is farther from `centre`.
std::vector<float> pick_extremes(const MinMaxBins& bins, float centre);

}  // namespace statescope::widgets
