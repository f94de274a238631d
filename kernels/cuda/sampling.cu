// Sampling on the device: the argmax of each logits row, and the token draw of kernels/sampling.h,
// so decoding copies one id per token to the host instead of the whole [V] row.
//
// The draw ranks the row with CUB's radix sort (stable, so equal keys keep ascending ids: the
// ranking of kernels/sampling.h) and takes one prefix sum of the weights in ranked order; the
// truncations and the draw are then binary searches in that sum. CUB ships with the toolkit and is
// what every CUDA sampler builds on; a hand-written top-k would save the sort only when top_k is
// set.
#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_scan.cuh>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/ops.h"
#include "kernels/cuda/sampling.cuh"

namespace statescope::kernels::cuda {

namespace {

constexpr int kThreads = 1024;

// (value, index) a beats b: larger value, or the same value at a lower index (torch.argmax and the
// CPU sampler take the first maximum). NaN never wins, so a row with NaN still gives a real token.
__device__ __forceinline__ bool beats(float va, std::int32_t ia, float vb, std::int32_t ib) {
    return va > vb || (va == vb && ia < ib) || (ib < 0 && ia >= 0);
}

// out[t] = argmax_v x[t, v]          x: [T, V] (row stride x_stride); out: [T] int32; grid.x = T
__global__ void argmax_kernel(const float* __restrict__ x, std::int64_t x_stride, std::int64_t V,
                              std::int32_t* __restrict__ out) {
    wait_for_prior_grids();
    __shared__ float best_v[32];
    __shared__ std::int32_t best_i[32];
    const float* row = x + std::int64_t(blockIdx.x) * x_stride;
    float bv = -INFINITY;
    std::int32_t bi = -1;
    auto consider = [&](float v, std::int64_t i) {
        if (!(v != v) && beats(v, std::int32_t(i), bv, bi)) {
            bv = v;
            bi = std::int32_t(i);
        }
    };
    // Four independent loads in flight per thread before the compares (a row of 50k logits is
    // ~50 loads per thread; one at a time they were a chain of L2 round trips).
    const std::int64_t step = blockDim.x;
    std::int64_t i = threadIdx.x;
    for (; i + 3 * step < V; i += 4 * step) {
        const float v0 = row[i], v1 = row[i + step], v2 = row[i + 2 * step], v3 = row[i + 3 * step];
        consider(v0, i);
        consider(v1, i + step);
        consider(v2, i + 2 * step);
        consider(v3, i + 3 * step);
    }
    for (; i < V; i += step) consider(row[i], i);
    for (int off = 16; off > 0; off /= 2) {
        const float ov = __shfl_xor_sync(0xffffffffu, bv, off);
        const std::int32_t oi = __shfl_xor_sync(0xffffffffu, bi, off);
        if (oi >= 0 && beats(ov, oi, bv, bi)) {
            bv = ov;
            bi = oi;
        }
    }
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    if (lane == 0) {
        best_v[warp] = bv;
        best_i[warp] = bi;
    }
    __syncthreads();
    if (warp != 0) return;
    const int warps = blockDim.x / 32;
    bv = lane < warps ? best_v[lane] : -INFINITY;
    bi = lane < warps ? best_i[lane] : -1;
    for (int off = 16; off > 0; off /= 2) {
        const float ov = __shfl_xor_sync(0xffffffffu, bv, off);
        const std::int32_t oi = __shfl_xor_sync(0xffffffffu, bi, off);
        if (oi >= 0 && beats(ov, oi, bv, bi)) {
            bv = ov;
            bi = oi;
        }
    }
    if (lane == 0) out[blockIdx.x] = bi < 0 ? 0 : bi;  // an all-NaN row: token 0, as the CPU
}

// keys[i] = rank_key(x[i]); ids[i] = i                                  x, keys, ids: [V]
__global__ void rank_keys_kernel(const float* __restrict__ x, std::int64_t V,
                                 float* __restrict__ keys, std::int32_t* __restrict__ ids) {
    const std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x;
    if (i >= V) return;
    keys[i] = rank_key(x[i]);
    ids[i] = std::int32_t(i);
}

// keys[pen_ids[j]] = rank_key(penalized x) for the row's n distinct penalised ids.
__global__ void penalize_kernel(const float* __restrict__ x, const std::int32_t* __restrict__ pen,
                                std::int64_t n, float repetition, float presence, float frequency,
                                float* __restrict__ keys) {
    const std::int64_t j = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x;
    if (j >= n) return;
    const std::int32_t id = pen[j];
    keys[id] = rank_key(penalized(x[id], pen[n + j], repetition, presence, frequency));
}

// e[r] = exp((key[r] - key[0]) * inv_t) in double over the ranked keys      key, e: [n]
__global__ void weights_kernel(const float* __restrict__ key, std::int64_t n, double inv_t,
                               double* __restrict__ e) {
    const std::int64_t r = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x;
    if (r >= n) return;
    e[r] = exp((double(key[r]) - double(key[0])) * inv_t);
}

// Steps 3 (truncations) and 4 (the draw) of kernels/sampling.h on one ranked row, one thread:
// key, id: the ranked row [V]; e, cum: weights and their prefix sums over its first n (n = V, or
// top_k when set).
__global__ void pick_kernel(const float* __restrict__ key, const std::int32_t* __restrict__ id,
                            const double* __restrict__ e, const double* __restrict__ cum,
                            std::int64_t n, float min_p, float top_p, double u,
                            std::int32_t* __restrict__ out) {
    if (threadIdx.x != 0) return;
    if (isinf(key[0])) {  // nothing finite to weigh: the first ranked token
        *out = id[0];
        return;
    }
    *out = id[truncate_and_draw(e, cum, n, min_p, top_p, u)];
}

std::size_t scratch_bytes_for(std::int64_t V) {
    const int n = static_cast<int>(V);
    std::size_t sort_bytes = 0, scan_bytes = 0;
    check(cub::DeviceRadixSort::SortPairsDescending(
              nullptr, sort_bytes, static_cast<const float*>(nullptr), static_cast<float*>(nullptr),
              static_cast<const std::int32_t*>(nullptr), static_cast<std::int32_t*>(nullptr), n),
          "cub::DeviceRadixSort (size)");
    check(cub::DeviceScan::InclusiveSum(nullptr, scan_bytes, static_cast<const double*>(nullptr),
                                        static_cast<double*>(nullptr), n),
          "cub::DeviceScan (size)");
    const auto up = [](std::size_t b) { return (b + 255) / 256 * 256; };
    // keys, ranked keys, ids, ranked ids (4 B each); e, cum (8 B each); CUB's temporary storage
    return 4 * up(std::size_t(V) * 4) + 2 * up(std::size_t(V) * 8) +
           up(std::max(sort_bytes, scan_bytes));
}

}  // namespace

// Asked of CUB once per device and vocabulary size (each decode step asks again with the same).
std::size_t sample_scratch_bytes(std::int64_t V) {
    thread_local int last_device = -1;
    thread_local std::int64_t last_V = -1;
    thread_local std::size_t last_bytes = 0;
    int device = 0;
    check(cudaGetDevice(&device), "cudaGetDevice");
    if (device != last_device || V != last_V) {
        last_bytes = scratch_bytes_for(V);
        last_device = device;
        last_V = V;
    }
    return last_bytes;
}

void sample_row(const float* x, std::int64_t V, const SampleParams& p, const std::int32_t* pen,
                std::int64_t n_pen, double u, void* scratch, std::size_t scratch_bytes,
                std::int32_t* out, cudaStream_t stream) {
    const auto up = [](std::size_t b) { return (b + 255) / 256 * 256; };
    auto* base = static_cast<char*>(scratch);
    auto* keys = reinterpret_cast<float*>(base);
    auto* keys_ranked = reinterpret_cast<float*>(base + up(std::size_t(V) * 4));
    auto* ids = reinterpret_cast<std::int32_t*>(base + 2 * up(std::size_t(V) * 4));
    auto* ids_ranked = reinterpret_cast<std::int32_t*>(base + 3 * up(std::size_t(V) * 4));
    auto* e = reinterpret_cast<double*>(base + 4 * up(std::size_t(V) * 4));
    auto* cum =
        reinterpret_cast<double*>(base + 4 * up(std::size_t(V) * 4) + up(std::size_t(V) * 8));
    char* temp = base + 4 * up(std::size_t(V) * 4) + 2 * up(std::size_t(V) * 8);
    std::size_t temp_bytes = scratch_bytes - std::size_t(temp - base);

    if (sample_topk_fits(p, V)) {
        sample_row_topk(x, V, p, pen, n_pen, u, keys, out, stream);
        return;
    }
    const float* ranked_from = x;  // greedy without penalties reads the row itself
    if (p.has_penalties() || p.temperature > 0.0f) {
        rank_keys_kernel<<<blocks_for(V, 256), 256, 0, stream>>>(x, V, keys, ids);
        check_launch("sample (keys)");
        if (n_pen > 0) {
            penalize_kernel<<<blocks_for(n_pen, 256), 256, 0, stream>>>(
                x, pen, n_pen, p.repetition_penalty, p.presence_penalty, p.frequency_penalty, keys);
            check_launch("sample (penalties)");
        }
        ranked_from = keys;
    }
    if (p.temperature <= 0.0f) {  // greedy: the first maximum of the (penalised) keys
        argmax_rows(ranked_from, V, 1, V, out, stream);
        return;
    }
    check(cub::DeviceRadixSort::SortPairsDescending(temp, temp_bytes, keys, keys_ranked, ids,
                                                    ids_ranked, static_cast<int>(V), 0, 32, stream),
          "cub::DeviceRadixSort");
    const std::int64_t n = p.top_k > 0 ? std::min<std::int64_t>(p.top_k, V) : V;
    weights_kernel<<<blocks_for(n, 256), 256, 0, stream>>>(keys_ranked, n,
                                                           1.0 / double(p.temperature), e);
    check_launch("sample (weights)");
    temp_bytes = scratch_bytes - std::size_t(temp - base);
    check(cub::DeviceScan::InclusiveSum(temp, temp_bytes, e, cum, static_cast<int>(n), stream),
          "cub::DeviceScan");
    pick_kernel<<<1, 32, 0, stream>>>(keys_ranked, ids_ranked, e, cum, n, p.min_p, p.top_p, u, out);
    check_launch("sample (draw)");
}

void argmax_rows(const float* x, std::int64_t x_stride, std::int64_t T, std::int64_t V,
                 std::int32_t* out, cudaStream_t stream) {
    if (T == 0) return;
    launch_dependent(argmax_kernel, static_cast<unsigned>(T), kThreads, 0, stream, x, x_stride, V,
                     out);
    check_launch("argmax");
}

}  // namespace statescope::kernels::cuda
