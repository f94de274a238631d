// y[t, o] = sum_i x[t, i] * W[o, i] + bias[o] for few rows (decode: T = 1): bandwidth-bound, so
// warps stream weight rows with 16-byte loads (8 bf16/f16 or 4 f32 per lane), widen to fp32, dot
// them with each of the T input rows and reduce with shuffles. Each weight byte is read once per
// call whatever T is (T <= kGemvMaxRows). Prefill goes through cuBLASLt (cuda_backend.cu).
//
// What keeps the HBM busy (ncu on the H200, the first version: 2.2-2.8 TB/s on the 2.8B models'
// in_proj and out_proj): each lane issues kBatch weight loads before it uses any (bypassing L1, so
// the input rows stay there), and the grid is sized to the GPU: a block takes `per_block`
// consecutive groups of rows where its warps are independent (choose_shape says when).
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/ops.h"

namespace statescope::kernels::cuda {

namespace {

constexpr int kThreads = 256;  // 8 warps
constexpr int kBatch = 4;      // 16-byte weight loads in flight per lane

// 16 bytes of weights, not kept in L1 (read once; x is what L1 should hold).
__device__ __forceinline__ uint4 load_stream(const void* p) {
    uint4 v;
    asm("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];"
        : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
        : "l"(p));
    return v;
}

// 16 bytes of weights -> fp32. F32: 4 values; BF16/F16: 8.
__device__ __forceinline__ void widen16(uint4 v, float* out, float) {
    out[0] = __uint_as_float(v.x), out[1] = __uint_as_float(v.y);
    out[2] = __uint_as_float(v.z), out[3] = __uint_as_float(v.w);
}
__device__ __forceinline__ void widen16(uint4 v, float* out, __nv_bfloat16) {
    const unsigned u[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
    for (int k = 0; k < 4; ++k) {  // bf16 is the top half of an fp32: widening is a shift
        out[2 * k] = __uint_as_float(u[k] << 16);
        out[2 * k + 1] = __uint_as_float(u[k] & 0xffff0000u);
    }
}
__device__ __forceinline__ void widen16(uint4 v, float* out, __half) {
    const unsigned u[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
    for (int k = 0; k < 4; ++k) {
        const float2 f = __half22float2(*reinterpret_cast<const __half2*>(&u[k]));
        out[2 * k] = f.x;
        out[2 * k + 1] = f.y;
    }
}

// What is done to each output after the bias: nothing, or delta = clamp(softplus(v), lo, hi) with
// softplus(v) = log1p(exp(v)), = v for v > 20 (softplus_kernel's formula: Mamba-1's dt_proj).
struct Epilogue {
    bool softplus = false;
    float lo = 0.0f, hi = 0.0f;
};
__device__ __forceinline__ float finish(float sum, const float* bias, std::int64_t o, Epilogue e) {
    const float v = sum + (bias != nullptr ? bias[o] : 0.0f);
    if (!e.softplus) return v;
    return fminf(fmaxf(v > 20.0f ? v : log1pf(expf(v)), e.lo), e.hi);
}

// acc[t] += sum_q w[q] * x[t, c + q] over one 16-byte chunk of weights at column c.
template <typename W, int kMaxT>
__device__ __forceinline__ void dot_chunk(uint4 raw, const float* __restrict__ x,
                                          std::int64_t x_stride, int T, std::int64_t c,
                                          float* acc) {
    constexpr int kEpv = 16 / sizeof(W);
    float wf[kEpv];
    widen16(raw, wf, W{});
#pragma unroll
    for (int t = 0; t < kMaxT; ++t) {
        if (t >= T) break;
        const float* xr = x + t * x_stride + c;
#pragma unroll
        for (int q = 0; q < kEpv; q += 4) {
            const float4 xv = __ldg(reinterpret_cast<const float4*>(xr + q));
            acc[t] += wf[q] * xv.x + wf[q + 1] * xv.y + wf[q + 2] * xv.z + wf[q + 3] * xv.w;
        }
    }
}

// kVec: rows and x are 16-byte aligned and cols is a multiple of the elements per 16 bytes; else
// one element per lane per step (odd shapes of the tiny test models). kWarps warps share one row
// (a column slice each, summed through shared memory): few-row matrices (x_proj: R + 2N rows)
// would otherwise leave most SMs idle with too few loads in flight. A group is the 8 / kWarps rows
// one pass of the block covers; block b takes groups [b * per_block, (b + 1) * per_block).
template <typename W, bool kVec, int kWarps, int kMaxT>
__global__ void __launch_bounds__(kThreads)
    gemv_kernel(const float* __restrict__ x, std::int64_t x_stride, int T, const W* __restrict__ w,
                std::int64_t rows, std::int64_t cols, const float* __restrict__ bias,
                float* __restrict__ y, std::int64_t y_stride, int per_block, Epilogue epi) {
    wait_for_prior_grids();
    constexpr int kRowsPerGroup = kThreads / 32 / kWarps;
    __shared__ float partial[kThreads / 32][kMaxT];
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, slice = warp % kWarps;
    const std::int64_t n_groups = (rows + kRowsPerGroup - 1) / kRowsPerGroup;
    const std::int64_t g_end =
        std::min<std::int64_t>(n_groups, std::int64_t(blockIdx.x + 1) * per_block);
    for (std::int64_t g = std::int64_t(blockIdx.x) * per_block; g < g_end; ++g) {
        const std::int64_t o = g * kRowsPerGroup + warp / kWarps;
        const bool row_ok = o < rows;  // no early return: the block meets at __syncthreads below
        const W* row = w + (row_ok ? o : 0) * cols;
        float acc[kMaxT];
#pragma unroll
        for (int t = 0; t < kMaxT; ++t) acc[t] = 0.0f;
        if constexpr (kVec) {
            constexpr int kEpv = 16 / sizeof(W);
            const std::int64_t first = (std::int64_t(slice) * 32 + lane) * kEpv;
            const std::int64_t stride = std::int64_t(kWarps) * 32 * kEpv;
            const std::int64_t n =
                !row_ok || first >= cols ? 0 : (cols - first + stride - 1) / stride;
            std::int64_t k = 0;
            for (; k + kBatch <= n; k += kBatch) {
                uint4 raw[kBatch];
#pragma unroll
                for (int b = 0; b < kBatch; ++b)
                    raw[b] = load_stream(row + first + (k + b) * stride);
#pragma unroll
                for (int b = 0; b < kBatch; ++b)
                    dot_chunk<W, kMaxT>(raw[b], x, x_stride, T, first + (k + b) * stride, acc);
            }
            for (; k < n; ++k)
                dot_chunk<W, kMaxT>(load_stream(row + first + k * stride), x, x_stride, T,
                                    first + k * stride, acc);
        } else {
            for (std::int64_t c = std::int64_t(slice) * 32 + lane; row_ok && c < cols;
                 c += kWarps * 32) {
                const float wv = to_f32(row[c]);
#pragma unroll
                for (int t = 0; t < kMaxT; ++t) {
                    if (t >= T) break;
                    acc[t] += wv * x[t * x_stride + c];
                }
            }
        }
#pragma unroll
        for (int t = 0; t < kMaxT; ++t) {
            if (t >= T) break;
            const float sum = group_sum(acc[t], 32);
            if constexpr (kWarps == 1) {
                if (lane == 0 && row_ok) y[t * y_stride + o] = finish(sum, bias, o, epi);
            } else {
                if (lane == 0) partial[warp][t] = sum;
            }
        }
        if constexpr (kWarps > 1) {
            __syncthreads();
            if (slice == 0 && lane < T && row_ok) {
                float sum = 0.0f;
                for (int k = 0; k < kWarps; ++k) sum += partial[warp + k][lane];
                y[lane * y_stride + o] = finish(sum, bias, o, epi);
            }
            __syncthreads();  // partial is rewritten by the next group
        }
    }
}

// Blocks of one gemv_kernel instance an SM holds at once (registers, shared memory), asked once.
template <typename W, bool kVec, int kWarps, int kMaxT>
int resident_blocks() {
    static const int n = [] {
        int blocks = 0;
        check(cudaOccupancyMaxActiveBlocksPerMultiprocessor(
                  &blocks, gemv_kernel<W, kVec, kWarps, kMaxT>, kThreads, 0),
              "cudaOccupancyMaxActiveBlocksPerMultiprocessor");
        return std::max(blocks, 1);
    }();
    return n;
}

// The launch shape of one GEMV: warps per row and groups per block.
struct GemvShape {
    int warps_per_row = 1;
    int per_block = 1;
    unsigned blocks = 1;
};

// One warp per row wherever the rows alone give every SM enough warps (kMinWarpsPerSm): those warps
// never wait on each other, and a block then takes as many groups as it needs for the grid to be
// resident at once (ncu on the H200: 3.6 TB/s for a 50k-row lm_head this way). Fewer rows (x_proj:
// R + 2N of them) split each row over up to 8 warps, one group per block: those warps meet at a
// barrier per group, so a block looping over groups would wait a full memory round trip per group
// (the first version of this chooser did that for in_proj and ran it at 2.0-2.5 TB/s).
constexpr std::int64_t kMinWarpsPerSm = 16;

// resident_one: blocks per SM of the one-warp-per-row kernel (resident_blocks).
GemvShape choose_shape(std::int64_t rows, std::int64_t cols, int elems_per_load, bool vec,
                       int resident_one) {
    const std::int64_t sms = sm_count();
    int wpr = 1;
    while (vec && wpr < 8 && rows * wpr < kMinWarpsPerSm * sms &&
           cols >= std::int64_t(wpr) * 2 * 2 * 32 * elems_per_load)  // >= 2 loads a lane after
        wpr *= 2;
    const std::int64_t groups = (rows + 8 / wpr - 1) / (8 / wpr);
    std::int64_t per_block = 1;
    if (wpr == 1) {
        const std::int64_t capacity = sms * resident_one;
        per_block = (groups + capacity - 1) / capacity;
    }
    const std::int64_t blocks = (groups + per_block - 1) / per_block;
    return GemvShape{wpr, static_cast<int>(per_block), static_cast<unsigned>(blocks)};
}

template <typename W, int kMaxT>
void launch_gemv_t(const float* x, std::int64_t x_stride, std::int64_t T, const Weight& W_,
                   const float* bias, float* y, std::int64_t y_stride, Epilogue epi,
                   cudaStream_t stream) {
    const W* w = static_cast<const W*>(W_.data);
    constexpr int kEpv = 16 / sizeof(W);
    const bool vec = reinterpret_cast<std::uintptr_t>(w) % 16 == 0 && W_.cols % kEpv == 0 &&
                     reinterpret_cast<std::uintptr_t>(x) % 16 == 0 && (T == 1 || x_stride % 4 == 0);
    const GemvShape shape =
        vec ? choose_shape(W_.rows, W_.cols, kEpv, true, resident_blocks<W, true, 1, kMaxT>())
            : choose_shape(W_.rows, W_.cols, 1, false, resident_blocks<W, false, 1, kMaxT>());
    auto launch = [&](auto kernel) {
        launch_dependent(kernel, shape.blocks, kThreads, 0, stream, x, x_stride, int(T), w, W_.rows,
                         W_.cols, bias, y, y_stride, shape.per_block, epi);
    };
    if (!vec) {
        launch(gemv_kernel<W, false, 1, kMaxT>);
    } else {
        switch (shape.warps_per_row) {
            case 1:
                launch(gemv_kernel<W, true, 1, kMaxT>);
                break;
            case 2:
                launch(gemv_kernel<W, true, 2, kMaxT>);
                break;
            case 4:
                launch(gemv_kernel<W, true, 4, kMaxT>);
                break;
            default:
                launch(gemv_kernel<W, true, 8, kMaxT>);
                break;
        }
    }
    check_launch("gemv");
}

// T == 1 (decode) keeps one accumulator per lane: the kMaxT = 8 kernel's registers would cut the
// blocks an SM holds.
template <typename W>
void launch_gemv(const float* x, std::int64_t x_stride, std::int64_t T, const Weight& W_,
                 const float* bias, float* y, std::int64_t y_stride, Epilogue epi,
                 cudaStream_t stream) {
    if (T == 1)
        launch_gemv_t<W, 1>(x, x_stride, T, W_, bias, y, y_stride, epi, stream);
    else
        launch_gemv_t<W, static_cast<int>(kGemvMaxRows)>(x, x_stride, T, W_, bias, y, y_stride, epi,
                                                         stream);
}

void gemv_dispatch(const float* x, std::int64_t x_stride, std::int64_t T, const Weight& W,
                   const float* bias, float* y, std::int64_t y_stride, Epilogue epi,
                   cudaStream_t stream) {
    if (T == 0 || W.rows == 0) return;
    switch (W.dtype) {
        case DType::F32:
            launch_gemv<float>(x, x_stride, T, W, bias, y, y_stride, epi, stream);
            break;
        case DType::BF16:
            launch_gemv<__nv_bfloat16>(x, x_stride, T, W, bias, y, y_stride, epi, stream);
            break;
        case DType::F16:
            launch_gemv<__half>(x, x_stride, T, W, bias, y, y_stride, epi, stream);
            break;
    }
}

// y[t, o] += bias[o]                 grid.y = T
__global__ void add_bias_kernel(float* y, std::int64_t y_stride, std::int64_t n,
                                const float* __restrict__ bias) {
    const std::int64_t o = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x;
    if (o < n) y[blockIdx.y * y_stride + o] += bias[o];
}

// dst[t, c] = H(x[t, c])              dst: [T, cols] contiguous
template <typename H>
__global__ void narrow_kernel(const float* __restrict__ x, std::int64_t x_stride, std::int64_t T,
                              std::int64_t cols, H* __restrict__ dst) {
    const std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x;
    if (i >= T * cols) return;
    const float v = x[(i / cols) * x_stride + i % cols];
    if constexpr (sizeof(H) == 2 && std::is_same_v<H, __half>)
        dst[i] = __float2half_rn(v);
    else
        dst[i] = __float2bfloat16_rn(v);
}

}  // namespace

void gemv(const float* x, std::int64_t x_stride, std::int64_t T, const Weight& W, const float* bias,
          float* y, std::int64_t y_stride, cudaStream_t stream) {
    gemv_dispatch(x, x_stride, T, W, bias, y, y_stride, Epilogue{}, stream);
}

void gemv_softplus(const float* x, std::int64_t x_stride, std::int64_t T, const Weight& W,
                   const float* bias, float lo, float hi, float* y, cudaStream_t stream) {
    gemv_dispatch(x, x_stride, T, W, bias, y, W.rows, Epilogue{true, lo, hi}, stream);
}

void add_bias_rows(float* y, std::int64_t y_stride, std::int64_t T, std::int64_t n,
                   const float* bias, cudaStream_t stream) {
    if (T == 0 || n == 0 || bias == nullptr) return;
    const dim3 grid(blocks_for(n, kThreads), static_cast<unsigned>(T));
    add_bias_kernel<<<grid, kThreads, 0, stream>>>(y, y_stride, n, bias);
    check_launch("add_bias");
}

void narrow_rows(const float* x, std::int64_t x_stride, std::int64_t T, std::int64_t cols,
                 DType dtype, void* dst, cudaStream_t stream) {
    const unsigned blocks = blocks_for(T * cols, kThreads);
    if (dtype == DType::F16)
        narrow_kernel<<<blocks, kThreads, 0, stream>>>(x, x_stride, T, cols,
                                                       static_cast<__half*>(dst));
    else
        narrow_kernel<<<blocks, kThreads, 0, stream>>>(x, x_stride, T, cols,
                                                       static_cast<__nv_bfloat16*>(dst));
    check_launch("narrow_rows");
}

}  // namespace statescope::kernels::cuda
