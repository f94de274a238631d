// The token draw of kernels/sampling.h in one block when top_k is set (1 <= top_k <= 1024, the
// common setting): the k best keys are found by radix select instead of sorting the whole row, so
// a step costs one launch and a few passes over V keys in L2 rather than CUB's device-wide sort
// (several launches over all V). Same rule, same token as the sort path and the CPU.
//
// One block of 1024 threads per row:
//   1. keys[i] = rank_key(x[i]) (global scratch), then the penalised ids' keys
//   2. U = the k-th largest ordered key (radix select, 8 bits a pass from the top); `greater` keys
//      lie above U. When more keys equal U than the k - greater places left, the lowest ids among
//      them win (kernels/sampling.h ranks ties by lower id): a second radix select finds the
//      (k - greater)-th lowest such id.
//   3. the k candidates, each a 64-bit (key, inverted id) so one descending block sort ranks them
//   4. e = exp((key - key_0) / T) in double, its block prefix sum, then truncate_and_draw.
// CUB's block primitives (BlockRadixSort, BlockScan) do the sort and the sum; the select is written
// here because CUB has no block or device top-k.
#include <algorithm>
#include <cub/block/block_radix_sort.cuh>
#include <cub/block/block_scan.cuh>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/ops.h"
#include "kernels/cuda/sampling.cuh"

namespace statescope::kernels::cuda {

namespace {

constexpr int kThreads = 1024;
constexpr int kHists = 8;  // sub-histograms (warp % 8): fewer shared atomics on one address

// A float as an unsigned integer of the same order (the key is never NaN): positive floats get the
// top bit set, negative ones are inverted.
__device__ __forceinline__ unsigned ordered(float f) {
    const unsigned b = __float_as_uint(f);
    return (b & 0x80000000u) != 0 ? ~b : (b | 0x80000000u);
}
__device__ __forceinline__ float unordered(unsigned u) {
    return __uint_as_float((u & 0x80000000u) != 0 ? (u & 0x7fffffffu) : ~u);
}

using Sort = cub::BlockRadixSort<unsigned long long, kThreads, 1>;
using Scan = cub::BlockScan<double, kThreads>;

// The select's histograms, the sort's and the scan's storage, and the weights are each done with
// before the next is used (a barrier between), so they share one union under the 48 KB limit.
struct Shared {
    union {
        unsigned hist[kHists][256];
        Sort::TempStorage sort;
        Scan::TempStorage scan;
        struct {
            double e[kThreads], cum[kThreads];
        } w;
    } u;
    unsigned long long cand[kThreads];
    unsigned digit, above, count;
};

// f(i, keys[i]) for the i in [0, V) of this thread, eight loads in flight before the eight calls:
// one block walks the whole row several times, and one load at a time it waited on L2 for each.
template <class F>
__device__ __forceinline__ void for_each_key(const float* keys, std::int64_t V, F f) {
    std::int64_t i = threadIdx.x;
    for (; i + 7 * kThreads < V; i += 8 * kThreads) {
        float v[8];
#pragma unroll
        for (int q = 0; q < 8; ++q) v[q] = keys[i + q * kThreads];
#pragma unroll
        for (int q = 0; q < 8; ++q) f(i + q * kThreads, v[q]);
    }
    for (; i < V; i += kThreads) f(i, keys[i]);
}

// The `rank`-th largest (1-based) of value(i, key) over the i in [0, V) where it returns true;
// *greater receives how many included values lie strictly above it. 8 bits a pass, top first.
template <class Value>
__device__ unsigned select_largest(Shared& sh, const float* keys, std::int64_t V, unsigned rank,
                                   Value value, unsigned* greater) {
    unsigned prefix = 0, mask = 0, above_total = 0;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    for (int shift = 24; shift >= 0; shift -= 8) {
        for (int j = threadIdx.x; j < kHists * 256; j += kThreads) (&sh.u.hist[0][0])[j] = 0;
        __syncthreads();
        unsigned* h = sh.u.hist[warp % kHists];
        for_each_key(keys, V, [&](std::int64_t i, float key) {
            unsigned v;
            if (value(i, key, &v) && (v & mask) == prefix) atomicAdd(&h[(v >> shift) & 255u], 1u);
        });
        __syncthreads();
        if (warp == 0) {
            // lane l sums digits 255 - 8l .. 248 - 8l (its 8 from the top), then a scan from the
            // top
            unsigned n[8], mine = 0;
#pragma unroll
            for (int q = 0; q < 8; ++q) {
                const int d = 255 - 8 * lane - q;
                n[q] = 0;
                for (int s = 0; s < kHists; ++s) n[q] += sh.u.hist[s][d];
                mine += n[q];
            }
            unsigned before = mine;  // inclusive prefix over lanes 0..lane, then made exclusive
#pragma unroll
            for (int off = 1; off < 32; off *= 2) {
                const unsigned o = __shfl_up_sync(0xffffffffu, before, off);
                if (lane >= off) before += o;
            }
            before -= mine;
            const unsigned need = rank - above_total;
            if (before < need && need <= before + mine) {
                unsigned acc = before;
#pragma unroll
                for (int q = 0; q < 8; ++q) {
                    if (acc < need && need <= acc + n[q]) {
                        sh.digit = unsigned(255 - 8 * lane - q);
                        sh.above = acc;
                    }
                    acc += n[q];
                }
            }
        }
        __syncthreads();
        prefix |= sh.digit << shift;
        mask |= 255u << shift;
        above_total += sh.above;
        __syncthreads();  // sh.digit / sh.above are read before the next pass writes them
    }
    *greater = above_total;
    return prefix;
}

// keys: [V] scratch; pen: [2, n_pen] (ids, then counts); k <= min(V, kThreads).
__global__ void __launch_bounds__(kThreads)
    sample_topk_kernel(const float* __restrict__ x, std::int64_t V, const std::int32_t* pen,
                       std::int64_t n_pen, float repetition, float presence, float frequency, int k,
                       double inv_t, float min_p, float top_p, double u, float* __restrict__ keys,
                       std::int32_t* __restrict__ out) {
    wait_for_prior_grids();
    __shared__ Shared sh;
    for_each_key(x, V, [&](std::int64_t i, float l) { keys[i] = rank_key(l); });
    __syncthreads();
    for (std::int64_t j = threadIdx.x; j < n_pen; j += kThreads) {
        const std::int32_t id = pen[j];
        keys[id] = rank_key(penalized(x[id], pen[n_pen + j], repetition, presence, frequency));
    }
    __syncthreads();

    unsigned greater = 0;
    const unsigned U = select_largest(
        sh, keys, V, unsigned(k),
        [](std::int64_t, float key, unsigned* v) {
            *v = ordered(key);
            return true;
        },
        &greater);
    // Keys equal to U take the k - greater places left; when more tie, the lowest ids (the
    // largest inverted ids) among them.
    unsigned max_id = 0xffffffffu;  // inverted-id bound: ties with ~id >= it are in
    {
        if (threadIdx.x == 0) sh.count = 0;
        __syncthreads();
        unsigned ties = 0;
        for_each_key(keys, V, [&](std::int64_t, float key) { ties += ordered(key) == U; });
        atomicAdd(&sh.count, ties);
        __syncthreads();
        const unsigned n_ties = sh.count;
        __syncthreads();
        if (n_ties > unsigned(k) - greater) {
            unsigned unused = 0;
            max_id = select_largest(
                sh, keys, V, unsigned(k) - greater,
                [U](std::int64_t i, float key, unsigned* v) {
                    *v = ~unsigned(i);
                    return ordered(key) == U;
                },
                &unused);
        } else {
            max_id = 0;
        }
    }
    if (threadIdx.x == 0) sh.count = 0;
    __syncthreads();
    for_each_key(keys, V, [&](std::int64_t i, float key) {
        const unsigned v = ordered(key), inv = ~unsigned(i);
        if (v > U || (v == U && inv >= max_id)) {
            const unsigned slot = atomicAdd(&sh.count, 1u);
            sh.cand[slot] = (static_cast<unsigned long long>(v) << 32) | inv;
        }
    });
    __syncthreads();
    unsigned long long item[1] = {threadIdx.x < unsigned(k) ? sh.cand[threadIdx.x] : 0ull};
    Sort(sh.u.sort).SortDescending(item);  // one item a thread: thread r holds rank r
    __syncthreads();
    sh.cand[threadIdx.x] = item[0];
    __syncthreads();
    const float key0 = unordered(unsigned(sh.cand[0] >> 32));
    if (isinf(key0)) {  // nothing finite to weigh: the first ranked token
        if (threadIdx.x == 0) *out = std::int32_t(~unsigned(sh.cand[0]));
        return;
    }
    const int r = threadIdx.x;
    const double e =
        r < k ? exp((double(unordered(unsigned(item[0] >> 32))) - double(key0)) * inv_t) : 0.0;
    double cum = 0.0;
    Scan(sh.u.scan).InclusiveSum(e, cum);
    __syncthreads();  // the scan's storage is read before the weights overwrite it
    sh.u.w.e[r] = e;
    sh.u.w.cum[r] = cum;
    __syncthreads();
    if (r == 0) {
        const std::int64_t drawn = truncate_and_draw(sh.u.w.e, sh.u.w.cum, k, min_p, top_p, u);
        *out = std::int32_t(~unsigned(sh.cand[drawn]));
    }
}

}  // namespace

bool sample_topk_fits(const SampleParams& p, std::int64_t V) {
    return p.temperature > 0.0f && p.top_k > 0 && std::min(p.top_k, V) <= kThreads &&
           V < (std::int64_t(1) << 31);
}

void sample_row_topk(const float* x, std::int64_t V, const SampleParams& p, const std::int32_t* pen,
                     std::int64_t n_pen, double u, float* keys, std::int32_t* out,
                     cudaStream_t stream) {
    const int k = static_cast<int>(std::min(p.top_k, V));
    launch_dependent(sample_topk_kernel, 1, kThreads, 0, stream, x, V, pen, n_pen,
                     p.repetition_penalty, p.presence_penalty, p.frequency_penalty, k,
                     1.0 / double(p.temperature), p.min_p, p.top_p, u, keys, out);
    check_launch("sample (top-k)");
}

}  // namespace statescope::kernels::cuda
