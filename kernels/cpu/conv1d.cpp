// Causal depthwise conv1d with a rolling state (Mamba's short convolution, K = 4 in practice).
#include <algorithm>
#include <cstring>

#include "kernels/cpu/ops.h"
#include "kernels/cpu/simd.h"

namespace statescope::kernels::cpu {

namespace {

// Channels per block: 64 accumulators (4 AVX-512 registers) and, for K <= kMaxK, the block's
// weights transposed to [K][64] on the stack so the inner loop reads them contiguously.
constexpr std::int64_t kBlock = 64;
constexpr std::int64_t kMaxK = 16;
constexpr std::int64_t kParallelMinMacs = 1 << 15;

}  // namespace

// Causal depthwise conv1d over time, continuing from conv_state, then SiLU if `silu`:
//   window_t = [conv_state (K-1 oldest first) ; x[0..T)] ; y[t, c] = act(bias[c] + sum_k w[c, k] * window[t + k, c])
// x: [T, C] (row stride x_stride); w: [C, K] fp32; bias: [C] or null; y: [T, C] contiguous.
// conv_state: [K-1, C], the last K-1 pre-conv inputs, oldest first; updated to the newest K-1.
void causal_conv1d(const float* x, std::int64_t x_stride, std::int64_t T, std::int64_t C,
                   std::int64_t K, const float* w, const float* bias, bool silu, float* conv_state,
                   float* y) {
    const std::int64_t S = K - 1;  // state rows
    const std::int64_t blocks = (C + kBlock - 1) / kBlock;
#pragma omp parallel for if (T * C * K >= kParallelMinMacs && blocks > 1)
    for (std::int64_t b = 0; b < blocks; ++b) {
        const std::int64_t c0 = b * kBlock;
        const std::int64_t nb = std::min(kBlock, C - c0);
        float wt[kMaxK][kBlock];
        const bool transposed = K <= kMaxK;
        if (transposed)
            for (std::int64_t c = 0; c < nb; ++c)
                for (std::int64_t k = 0; k < K; ++k) wt[k][c] = w[(c0 + c) * K + k];

        // Window row j: state row j for j < K-1, else x row j - (K-1).
        auto window = [&](std::int64_t j) {
            return j < S ? conv_state + j * C + c0 : x + (j - S) * x_stride + c0;
        };
        for (std::int64_t t = 0; t < T; ++t) {
            float acc[kBlock];
            for (std::int64_t c = 0; c < nb; ++c) acc[c] = bias != nullptr ? bias[c0 + c] : 0.0f;
            for (std::int64_t k = 0; k < K; ++k) {
                const float* src = window(t + k);
                if (transposed) {
#pragma omp simd
                    for (std::int64_t c = 0; c < nb; ++c) acc[c] += wt[k][c] * src[c];
                } else {
                    for (std::int64_t c = 0; c < nb; ++c) acc[c] += w[(c0 + c) * K + k] * src[c];
                }
            }
            if (silu) silu_array(acc, nb, y + t * C + c0);
            else std::memcpy(y + t * C + c0, acc, std::size_t(nb) * sizeof(float));
        }

        // New state = the last K-1 rows of [state ; x], this block's columns only (the outputs
        // above were computed from the old state first).
        const std::int64_t keep = std::max<std::int64_t>(0, S - T);  // old rows that survive
        for (std::int64_t j = 0; j < keep; ++j)
            std::memcpy(conv_state + j * C + c0, conv_state + (j + T) * C + c0,
                        std::size_t(nb) * sizeof(float));
        for (std::int64_t j = keep; j < S; ++j)
            std::memcpy(conv_state + j * C + c0, x + (T - S + j) * x_stride + c0,
                        std::size_t(nb) * sizeof(float));
    }
}

}  // namespace statescope::kernels::cpu
