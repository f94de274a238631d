// Causal depthwise conv1d with a rolling state (Mamba's short convolution, K = 4 in practice).
#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/cpu/ops.h"
#include "kernels/cpu/simd.h"
#include "kernels/cpu/threading.h"

namespace statescope::kernels::cpu {

namespace {

// Kernel widths the vector paths handle (taps held per 16/64 channels); wider ones take the
// plain loop.
constexpr std::int64_t kMaxK = 16;
// Channels per block in the portable path: 64 accumulators, the block's taps transposed to
// [K][64] on the stack so the inner loop reads them contiguously.
constexpr std::int64_t kBlock = 64;
// T * C * K below which a call stays on one thread (a fork/join costs ~1.2 us; a decode conv of a
// few thousand channels takes about that long on one core).
constexpr std::int64_t kParallelMinMacs = 1 << 15;

#if defined(STATESCOPE_CPU_AVX512)

// K = 4 (every Mamba checkpoint): the taps of 16 channels are 64 contiguous floats [c][k]; four
// loads and two-source permutes give the [k][c] vectors in 12 instructions (4 gathers of 16
// lanes cost several times that).
void load_taps4(const float* w, std::int64_t channels, float* taps) {
    __m512 v[4];
    for (int q = 0; q < 4; ++q) {
        const std::int64_t left = std::clamp<std::int64_t>(channels * 4 - 16 * q, 0, 16);
        v[q] = _mm512_maskz_loadu_ps(left == 16 ? __mmask16(0xffff) : tail_mask(left), w + 16 * q);
    }
    for (int k = 0; k < 4; ++k) {
        // Lanes j < 8 of idx pick float 4j + k of the pair (v0, v1) = channels 0..7; the same
        // indices on (v2, v3) give channels 8..15; the low 256 bits of each are then joined.
        const __m512i idx = _mm512_add_epi32(
            _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 4, 8, 12, 16, 20, 24, 28),
            _mm512_set1_epi32(k));
        const __m512 lo = _mm512_permutex2var_ps(v[0], idx, v[1]);
        const __m512 hi = _mm512_permutex2var_ps(v[2], idx, v[3]);
        _mm512_storeu_ps(taps + 16 * k, _mm512_shuffle_f32x4(lo, hi, _MM_SHUFFLE(1, 0, 1, 0)));
    }
}

// Channels [c_begin, c_end), 16 per register, tokens outer: each token reads contiguous row
// slices (walking one 16-channel column down all T rows instead crossed a 4 KB page per access and
// ran ~2x slower at T = 512). The taps, [group][k][16 channels], are transposed once per call into
// a per-thread buffer (grows on first use, then reused; 256 B per 16 channels at K = 4).
template <typename Window>
void conv_lanes(const Window& window, std::int64_t c_begin, std::int64_t c_end, std::int64_t T,
                std::int64_t C, std::int64_t K, const float* w, const float* bias, bool silu,
                float* y) {
    const std::int64_t groups = (c_end - c_begin + 15) / 16;
    thread_local std::vector<float> taps;
    if (taps.size() < std::size_t(groups * K * 16)) taps.resize(std::size_t(groups * K * 16));
    const __m512i idx =
        _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                           _mm512_set1_epi32(int(K)));
    auto lanes = [&](std::int64_t g) {
        const std::int64_t left = c_end - (c_begin + 16 * g);
        return left >= 16 ? __mmask16(0xffff) : tail_mask(left);
    };
    for (std::int64_t g = 0; g < groups; ++g) {
        const std::int64_t c0 = c_begin + 16 * g;
        float* tg = taps.data() + g * K * 16;
        if (K == 4) {
            load_taps4(w + c0 * 4, std::min<std::int64_t>(16, c_end - c0), tg);
        } else {
            for (std::int64_t k = 0; k < K; ++k)
                _mm512_storeu_ps(tg + 16 * k,
                                 _mm512_mask_i32gather_ps(_mm512_setzero_ps(), lanes(g), idx,
                                                          w + c0 * K + k, 4));
        }
    }
    for (std::int64_t t = 0; t < T; ++t) {
        const float* rows[kMaxK];
        for (std::int64_t k = 0; k < K; ++k) rows[k] = window(t + k);
        for (std::int64_t g = 0; g < groups; ++g) {
            const std::int64_t c0 = c_begin + 16 * g;
            const __mmask16 m = lanes(g);
            const float* tg = taps.data() + g * K * 16;
            __m512 acc =
                bias != nullptr ? _mm512_maskz_loadu_ps(m, bias + c0) : _mm512_setzero_ps();
            for (std::int64_t k = 0; k < K; ++k)
                acc = _mm512_fmadd_ps(_mm512_loadu_ps(tg + 16 * k),
                                      _mm512_maskz_loadu_ps(m, rows[k] + c0), acc);
            if (silu) acc = silu_ps(acc);
            _mm512_mask_storeu_ps(y + t * C + c0, m, acc);
        }
    }
}

#endif

// Portable path (and K > kMaxK): blocks of 64 channels, tokens inner.
template <typename Window>
void conv_blocks(const Window& window, std::int64_t c_begin, std::int64_t c_end, std::int64_t T,
                 std::int64_t C, std::int64_t K, const float* w, const float* bias, bool silu,
                 float* y) {
    for (std::int64_t c0 = c_begin; c0 < c_end; c0 += kBlock) {
        const std::int64_t nb = std::min(kBlock, c_end - c0);
        float wt[kMaxK][kBlock];
        const bool transposed = K <= kMaxK;
        if (transposed)
            for (std::int64_t c = 0; c < nb; ++c)
                for (std::int64_t k = 0; k < K; ++k) wt[k][c] = w[(c0 + c) * K + k];
        for (std::int64_t t = 0; t < T; ++t) {
            float acc[kBlock];
            for (std::int64_t c = 0; c < nb; ++c) acc[c] = bias != nullptr ? bias[c0 + c] : 0.0f;
            for (std::int64_t k = 0; k < K; ++k) {
                const float* src = window(t + k) + c0;
                if (transposed) {
#pragma omp simd
                    for (std::int64_t c = 0; c < nb; ++c) acc[c] += wt[k][c] * src[c];
                } else {
                    for (std::int64_t c = 0; c < nb; ++c) acc[c] += w[(c0 + c) * K + k] * src[c];
                }
            }
            if (silu)
                silu_array(acc, nb, y + t * C + c0);
            else
                std::memcpy(y + t * C + c0, acc, std::size_t(nb) * sizeof(float));
        }
    }
}

}  // namespace

// Causal depthwise conv1d over time, continuing from conv_state, then SiLU if `silu`:
//   window_t = [conv_state (K-1 oldest first) ; x[0..T)] ; y[t, c] = act(bias[c] + sum_k w[c, k] *
//   window[t + k, c])
// x: [T, C] (row stride x_stride); w: [C, K] fp32; bias: [C] or null; y: [T, C] contiguous.
// conv_state: [K-1, C], the last K-1 pre-conv inputs, oldest first; updated to the newest K-1.
void causal_conv1d(const float* x, std::int64_t x_stride, std::int64_t T, std::int64_t C,
                   std::int64_t K, const float* w, const float* bias, bool silu, float* conv_state,
                   float* y) {
    if (T <= 0 || C <= 0) return;
    const std::int64_t S = K - 1;  // state rows
    // Window row j (all channels): state row j for j < K-1, else x row j - (K-1).
    auto window = [&](std::int64_t j) {
        return j < S ? conv_state + j * C : x + (j - S) * x_stride;
    };
#pragma omp parallel if (T * C * K >= kParallelMinMacs && C >= 32)
    {
        std::int64_t c_begin, c_end;
        thread_share(C, 16, &c_begin, &c_end);
        if (c_begin < c_end) {
#if defined(STATESCOPE_CPU_AVX512)
            if (K <= kMaxK)
                conv_lanes(window, c_begin, c_end, T, C, K, w, bias, silu, y);
            else
                conv_blocks(window, c_begin, c_end, T, C, K, w, bias, silu, y);
#else
            conv_blocks(window, c_begin, c_end, T, C, K, w, bias, silu, y);
#endif
            // New state = the last K-1 rows of [state ; x], this thread's columns only (its outputs
            // above were computed from the old state first).
            const std::size_t bytes = std::size_t(c_end - c_begin) * sizeof(float);
            const std::int64_t keep = std::max<std::int64_t>(0, S - T);  // old rows that survive
            for (std::int64_t j = 0; j < keep; ++j)
                std::memmove(conv_state + j * C + c_begin, conv_state + (j + T) * C + c_begin,
                             bytes);
            for (std::int64_t j = keep; j < S; ++j)
                std::memcpy(conv_state + j * C + c_begin, x + (T - S + j) * x_stride + c_begin,
                            bytes);
        }
    }
}

}  // namespace statescope::kernels::cpu
