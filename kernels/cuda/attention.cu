// Causal (optionally sliding-window) GQA attention over the fp32 KV cache, flash style: tiles of
// keys and values go through shared memory once per block, each query row keeps a running max,
// sum and output (online softmax), so no [T, positions] score matrix is ever stored.
//
// One kernel serves prefill and decode. A block takes up to kRows query rows of ONE kv head g:
// row r = (t, h) with t = r / rep, h = g * rep + r % rep (rep = n_heads / n_kv_heads), so the
// query heads that share g read each key/value tile once (GQA). Prefill: grid (row tiles, kv heads)
// and each block walks every key its rows can see. Decode and short chunks, where that grid is far
// smaller than the GPU: the visible keys are split into grid.z ranges (split-K); each block then
// writes its rows' (max, sum, unnormalised output) and a second kernel merges the splits:
//   M = max_z m_z ; L = sum_z l_z exp(m_z - M) ; out = sum_z o_z exp(m_z - M) / L
// Per tile and row (a warp per row; lane = key for the scores, lane = dimension for the output):
//   s_j = scale * <q, k_j> (visible j) ; m' = max(m, max_j s_j) ; p_j = exp(s_j - m')
//   l = l exp(m - m') + sum_j p_j ; o = o exp(m - m') + sum_j p_j v_j
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/ops.h"

namespace statescope::kernels::cuda {

namespace {

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int kRowsPerWarp = 4;
constexpr int kRows = kWarps * kRowsPerWarp;  // query rows per block
constexpr int kKeys = 32;                     // keys per tile: one per lane
constexpr int kMaxSplits = 64;

struct Shape {
    std::int64_t q_stride, kv_stride, out_stride;
    std::int64_t T, pos0, n_heads, rep, head_dim, window;
    float scale;
};

// Shared memory of a block with DPL dimensions per lane: q rows [kRows, 32 DPL], key tile
// [kKeys, hd + 1] (the +1 puts lane j's key rows in distinct banks), value tile [kKeys, 32 DPL].
template <int DPL>
constexpr std::size_t smem_floats(std::int64_t hd) {
    return std::size_t(kRows * 32 * DPL + kKeys * (hd + 1) + kKeys * 32 * DPL);
}

// (kThreads, 4): a register budget of 128; with the default ptxas held DPL = 4 to 64 registers and
// spilled 20 bytes (nvcc 13.0, -Xptxas -v), with it no instance spills.
template <int DPL>
__global__ void __launch_bounds__(kThreads, 4)
    attention_kernel(const float* __restrict__ q, const float* __restrict__ k,
                     const float* __restrict__ v, Shape s, float* __restrict__ out,
                     float* __restrict__ part_o, float* __restrict__ part_ml,
                     const std::int64_t* __restrict__ pos0_dev) {
    extern __shared__ float smem[];
    if (pos0_dev != nullptr) s.pos0 = *pos0_dev;  // a recorded step: the position of this replay
    constexpr int W = 32 * DPL;                   // padded head_dim
    const std::int64_t hd = s.head_dim;
    float* qs = smem;
    float* ks = qs + kRows * W;
    float* vs = ks + kKeys * (hd + 1);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const std::int64_t g = blockIdx.y;
    const std::int64_t n_rows = s.T * s.rep;
    const std::int64_t row0 = std::int64_t(blockIdx.x) * kRows;
    const std::int64_t kv_off = g * hd;

    // The block's query rows into shared memory (zero past head_dim and past the last row).
    for (int i = threadIdx.x; i < kRows * W; i += kThreads) {
        const std::int64_t r = row0 + i / W, d = i % W;
        float val = 0.0f;
        if (r < n_rows && d < hd) {
            const std::int64_t t = r / s.rep, h = g * s.rep + r % s.rep;
            val = q[t * s.q_stride + h * hd + d];
        }
        qs[i] = val;
    }

    // Keys any row of the block sees: [lo, hi); this split's share of them: [k_begin, k_end).
    const std::int64_t t_first = row0 / s.rep;
    const std::int64_t t_last = (std::min<std::int64_t>(row0 + kRows, n_rows) - 1) / s.rep;
    const std::int64_t hi = s.pos0 + t_last + 1;
    const std::int64_t lo =
        s.window > 0 ? std::max<std::int64_t>(0, s.pos0 + t_first - s.window + 1) : 0;
    const std::int64_t per = (hi - lo + gridDim.z - 1) / gridDim.z;
    const std::int64_t k_begin = lo + std::int64_t(blockIdx.z) * per;
    const std::int64_t k_end = std::min(hi, k_begin + per);

    float m[kRowsPerWarp], l[kRowsPerWarp], o[kRowsPerWarp][DPL];
    std::int64_t pos[kRowsPerWarp];
#pragma unroll
    for (int rr = 0; rr < kRowsPerWarp; ++rr) {
        m[rr] = -INFINITY;
        l[rr] = 0.0f;
#pragma unroll
        for (int i = 0; i < DPL; ++i) o[rr][i] = 0.0f;
        const std::int64_t r = row0 + warp * kRowsPerWarp + rr;
        pos[rr] = r < n_rows ? s.pos0 + r / s.rep : -1;  // -1: no row (sees nothing)
    }

    for (std::int64_t k0 = k_begin; k0 < k_end; k0 += kKeys) {
        __syncthreads();  // the previous tile is no longer read (and qs is written, first time)
        for (int i = threadIdx.x; i < kKeys * W; i += kThreads) {
            const int j = i / W, d = i % W;
            const std::int64_t key = k0 + j;
            const bool in = key < k_end && d < hd;
            const std::int64_t at = key * s.kv_stride + kv_off + d;
            if (d < hd) ks[j * (hd + 1) + d] = in ? k[at] : 0.0f;
            vs[j * W + d] = in ? v[at] : 0.0f;
        }
        __syncthreads();
        const std::int64_t key = k0 + lane;
#pragma unroll
        for (int rr = 0; rr < kRowsPerWarp; ++rr) {
            const std::int64_t p = pos[rr];
            if (p < k0) continue;  // this row sees none of the tile (uniform across the warp)
            const float* qr = qs + (warp * kRowsPerWarp + rr) * W;
            const float* kr = ks + lane * (hd + 1);
            float dot = 0.0f;
            for (std::int64_t d = 0; d < hd; ++d) dot += qr[d] * kr[d];
            const bool visible = key < k_end && key <= p && (s.window <= 0 || p - key < s.window);
            const float sc = visible ? dot * s.scale : -INFINITY;
            float tile_max = sc;
            for (int off = 16; off > 0; off /= 2)
                tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, off));
            if (tile_max == -INFINITY) continue;  // nothing visible in this tile for this row
            const float m_new = fmaxf(m[rr], tile_max);
            const float corr = expf(m[rr] - m_new);  // 0 on the first visible tile
            const float pj = visible ? expf(sc - m_new) : 0.0f;
            l[rr] = l[rr] * corr + group_sum(pj, 32);
            m[rr] = m_new;
#pragma unroll
            for (int i = 0; i < DPL; ++i) o[rr][i] *= corr;
            for (int j = 0; j < kKeys; ++j) {
                const float w = __shfl_sync(0xffffffffu, pj, j);
                const float* vr = vs + j * W + lane;
#pragma unroll
                for (int i = 0; i < DPL; ++i) o[rr][i] += w * vr[32 * i];
            }
        }
    }

#pragma unroll
    for (int rr = 0; rr < kRowsPerWarp; ++rr) {
        const std::int64_t r = row0 + warp * kRowsPerWarp + rr;
        if (r >= n_rows) continue;
        const std::int64_t t = r / s.rep, h = g * s.rep + r % s.rep;
        if (gridDim.z == 1) {
            const float inv = 1.0f / l[rr];
            float* dst = out + t * s.out_stride + h * hd;
#pragma unroll
            for (int i = 0; i < DPL; ++i)
                if (lane + 32 * i < hd) dst[lane + 32 * i] = o[rr][i] * inv;
        } else {
            // partials of (split z, row t * n_heads + h)
            const std::int64_t slot =
                std::int64_t(blockIdx.z) * s.T * s.n_heads + t * s.n_heads + h;
#pragma unroll
            for (int i = 0; i < DPL; ++i)
                if (lane + 32 * i < hd) part_o[slot * hd + lane + 32 * i] = o[rr][i];
            if (lane == 0) {
                part_ml[2 * slot] = m[rr];
                part_ml[2 * slot + 1] = l[rr];
            }
        }
    }
}

// Merges the splits of one (t, h) row per block: out = sum_z o_z e^(m_z - M) / sum_z l_z e^(m_z -
// M)
__global__ void merge_kernel(const float* __restrict__ part_o, const float* __restrict__ part_ml,
                             int splits, std::int64_t T, std::int64_t n_heads, std::int64_t hd,
                             float* __restrict__ out, std::int64_t out_stride) {
    const std::int64_t row = blockIdx.x;  // t * n_heads + h
    const std::int64_t n = T * n_heads;
    float M = -INFINITY;
    for (int z = 0; z < splits; ++z) M = fmaxf(M, part_ml[2 * (z * n + row)]);
    float L = 0.0f;
    for (int z = 0; z < splits; ++z) {
        const float mz = part_ml[2 * (z * n + row)];
        if (mz != -INFINITY) L += part_ml[2 * (z * n + row) + 1] * expf(mz - M);
    }
    const float inv = 1.0f / L;
    const std::int64_t t = row / n_heads, h = row % n_heads;
    for (std::int64_t d = threadIdx.x; d < hd; d += blockDim.x) {
        float acc = 0.0f;
        for (int z = 0; z < splits; ++z) {
            const float mz = part_ml[2 * (z * n + row)];
            if (mz != -INFINITY) acc += part_o[(z * n + row) * hd + d] * expf(mz - M);
        }
        out[t * out_stride + h * hd + d] = acc * inv;
    }
}

template <int DPL>
void launch(const float* q, const float* k, const float* v, const Shape& s, dim3 grid, float* out,
            float* part_o, float* part_ml, const std::int64_t* pos0_dev, cudaStream_t stream) {
    const std::size_t bytes = smem_floats<DPL>(s.head_dim) * sizeof(float);
    // Above 48 KiB a kernel needs its dynamic shared-memory limit raised (head_dim > 128 here).
    static std::size_t raised = 48u << 10;
    if (bytes > raised) {
        check(cudaFuncSetAttribute(attention_kernel<DPL>,
                                   cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes)),
              "attention shared memory");
        raised = bytes;
    }
    attention_kernel<DPL>
        <<<grid, kThreads, bytes, stream>>>(q, k, v, s, out, part_o, part_ml, pos0_dev);
}

}  // namespace

int attention_splits(std::int64_t T, std::int64_t pos0, std::int64_t n_heads,
                     std::int64_t n_kv_heads, std::int64_t window, int sm_count) {
    const std::int64_t rep = n_heads / n_kv_heads;
    const std::int64_t blocks = (T * rep + kRows - 1) / kRows * n_kv_heads;
    std::int64_t keys = pos0 + T;
    if (window > 0) keys = std::min(keys, window + T);
    // Enough blocks for two per multiprocessor, each with at least 4 tiles of keys to walk.
    const std::int64_t want = (2 * std::int64_t(sm_count) + blocks - 1) / blocks;
    const std::int64_t most = keys / (4 * kKeys);
    return int(std::clamp<std::int64_t>(std::min(want, most), 1, kMaxSplits));
}

void attention(const float* q, std::int64_t q_stride, const float* k, const float* v,
               std::int64_t kv_stride, std::int64_t T, std::int64_t pos0, std::int64_t n_heads,
               std::int64_t n_kv_heads, std::int64_t head_dim, float scale, std::int64_t window,
               float* out, std::int64_t out_stride, int splits, float* partials,
               cudaStream_t stream, const std::int64_t* pos0_dev) {
    if (T == 0 || n_heads == 0) return;
    if (head_dim > 256)
        throw std::runtime_error("the CUDA attention kernel takes head_dim up to 256, not " +
                                 std::to_string(head_dim));
    if (n_kv_heads <= 0 || n_heads % n_kv_heads != 0)
        throw std::runtime_error("attention: n_heads " + std::to_string(n_heads) +
                                 " is not a multiple of n_kv_heads " + std::to_string(n_kv_heads));
    const std::int64_t rep = n_heads / n_kv_heads;
    const Shape s{q_stride, kv_stride, out_stride, T, pos0, n_heads, rep, head_dim, window, scale};
    const dim3 grid(blocks_for(T * rep, kRows), static_cast<unsigned>(n_kv_heads),
                    static_cast<unsigned>(splits));
    float* part_o = partials;
    float* part_ml = splits > 1 ? partials + std::size_t(splits) * T * n_heads * head_dim : nullptr;
    const int dpl = int((head_dim + 31) / 32);
    if (dpl <= 1)
        launch<1>(q, k, v, s, grid, out, part_o, part_ml, pos0_dev, stream);
    else if (dpl <= 2)
        launch<2>(q, k, v, s, grid, out, part_o, part_ml, pos0_dev, stream);
    else if (dpl <= 4)
        launch<4>(q, k, v, s, grid, out, part_o, part_ml, pos0_dev, stream);
    else
        launch<8>(q, k, v, s, grid, out, part_o, part_ml, pos0_dev, stream);
    check_launch("attention");
    if (splits > 1) {
        merge_kernel<<<static_cast<unsigned>(T * n_heads), 64, 0, stream>>>(
            part_o, part_ml, splits, T, n_heads, head_dim, out, out_stride);
        check_launch("attention merge");
    }
}

std::size_t attention_partial_floats(std::int64_t T, std::int64_t n_heads, std::int64_t head_dim,
                                     int splits) {
    return splits > 1 ? std::size_t(splits) * T * n_heads * (head_dim + 2) : 0;
}

}  // namespace statescope::kernels::cuda
