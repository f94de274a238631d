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
#include "kernels/cuda/gemv.cuh"
#include "kernels/cuda/ops.h"

namespace statescope::kernels::cuda {

namespace {

constexpr int kThreads = 256;  // 8 warps
constexpr int kBatch = 4;      // 16-byte weight loads in flight per lane

// What is done to each output after the bias: nothing, or delta = clamp(softplus(v), lo, hi) with
// softplus(v) = log1p(exp(v)), = v for v > 20 (softplus_kernel's formula: Mamba-1's dt_proj).
struct Epilogue {
    bool softplus = false;
    float lo = 0.0f, hi = 0.0f;
};
__device__ __forceinline__ float finish(float sum, const float* bias, std::int64_t o, Epilogue e) {
    const float v = sum + (bias != nullptr ? bias[o] : 0.0f);
    if (!e.softplus) return v;
    return softplus_clamp(v, e.lo, e.hi);
}

// The causal conv step fused after a one-token GEMV (Backend::matmul_conv1d_step): outputs o in
// [off, off + C) are conv channels c = o - off, whose window is [state[:, c] ; y[o]] (K <= 32).
struct ConvStep {
    std::int64_t off = 0, C = 0;
    int K = 0;
    const float* w = nullptr;     // [C, K]
    const float* bias = nullptr;  // [C] or null
    bool silu = false;
    float* state = nullptr;  // [K-1, C]
    float* y = nullptr;      // [C]
};
// Lane k < K holds w[c, k], lane k < K-1 holds state[k, c], lane 0 the bias: loaded before the
// row's weights stream, so their latency hides behind the dot product.
struct ConvInputs {
    float w = 0.0f, s = 0.0f, b = 0.0f;
};
__device__ __forceinline__ ConvInputs conv_load(const ConvStep& cv, std::int64_t c, int lane) {
    ConvInputs in;
    if (lane < cv.K) in.w = cv.w[c * cv.K + lane];
    if (lane < cv.K - 1) in.s = cv.state[lane * cv.C + c];
    if (lane == 0 && cv.bias != nullptr) in.b = cv.bias[c];
    return in;
}
// The whole warp, with v = the GEMV output of channel c: conv1d_fused_kernel's sum in its order
// (bias, then k = 0 .. K-1 over the window), the activation, and the state rolled by one.
__device__ __forceinline__ void conv_finish(const ConvStep& cv, const ConvInputs& in,
                                            std::int64_t c, int lane, float v) {
    float acc = __shfl_sync(0xffffffffu, in.b, 0);
    for (int k = 0; k < cv.K; ++k) {
        const float wk = __shfl_sync(0xffffffffu, in.w, k);
        const float sk = __shfl_sync(0xffffffffu, in.s, k);
        acc += wk * (k < cv.K - 1 ? sk : v);
    }
    const float next = __shfl_down_sync(0xffffffffu, in.s, 1);  // lane k: state[k + 1, c]
    if (lane == 0) cv.y[c] = cv.silu ? silu(acc) : acc;
    if (lane < cv.K - 1) cv.state[lane * cv.C + c] = lane + 1 < cv.K - 1 ? next : v;
}

// kVec: rows and x are 16-byte aligned and cols is a multiple of the elements per 16 bytes; else
// one element per lane per step (odd shapes of the tiny test models). kWarps warps share one row
// (a column slice each, summed through shared memory): few-row matrices (x_proj: R + 2N rows)
// would otherwise leave most SMs idle with too few loads in flight. A group is the 8 / kWarps rows
// one pass of the block covers; block b takes groups [b * per_block, (b + 1) * per_block).
// kConv (T = 1 only, kMaxT = 1): the conv step of ConvStep after each output (the warp that
// finishes row o does channel o - off); the other instances never read `conv`.
template <typename W, bool kVec, int kWarps, int kMaxT, bool kConv = false>
__global__ void __launch_bounds__(kThreads)
    gemv_kernel(const float* __restrict__ x, std::int64_t x_stride, int T, const W* __restrict__ w,
                std::int64_t rows, std::int64_t cols, const float* __restrict__ bias,
                float* __restrict__ y, std::int64_t y_stride, int per_block, Epilogue epi,
                ConvStep conv) {
    static_assert(!kConv || kMaxT == 1, "the conv step follows a one-token GEMV");
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
        // Conv channel of this row (warp-uniform: o is the warp's row), its inputs loaded early.
        [[maybe_unused]] const std::int64_t conv_c = o - conv.off;
        [[maybe_unused]] bool conv_row = false;
        [[maybe_unused]] ConvInputs conv_in;
        if constexpr (kConv) {
            conv_row = row_ok && slice == 0 && conv_c >= 0 && conv_c < conv.C;
            if (conv_row) conv_in = conv_load(conv, conv_c, lane);
        }
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
            if constexpr (kWarps == 1 && kConv) {
                if (row_ok) {  // every lane holds the sum (xor reduction)
                    const float v = finish(sum, bias, o, epi);
                    if (lane == 0) y[o] = v;
                    if (conv_row) conv_finish(conv, conv_in, conv_c, lane, v);
                }
            } else if constexpr (kWarps == 1) {
                if (lane == 0 && row_ok) y[t * y_stride + o] = finish(sum, bias, o, epi);
            } else {
                if (lane == 0) partial[warp][t] = sum;
            }
        }
        if constexpr (kWarps > 1) {
            __syncthreads();
            if constexpr (kConv) {
                if (slice == 0 && row_ok) {  // the whole warp, for the conv's shuffles
                    float sum = 0.0f;
                    for (int k = 0; k < kWarps; ++k) sum += partial[warp + k][0];
                    const float v = finish(sum, bias, o, epi);
                    if (lane == 0) y[o] = v;
                    if (conv_row) conv_finish(conv, conv_in, conv_c, lane, v);
                }
            } else if (slice == 0 && lane < T && row_ok) {
                float sum = 0.0f;
                for (int k = 0; k < kWarps; ++k) sum += partial[warp + k][lane];
                y[lane * y_stride + o] = finish(sum, bias, o, epi);
            }
            __syncthreads();  // partial is rewritten by the next group
        }
    }
}

// Blocks of one gemv_kernel instance an SM holds at once (registers, shared memory), asked once.
template <typename W, bool kVec, int kWarps, int kMaxT, bool kConv>
int resident_blocks() {
    static const int n = [] {
        int blocks = 0;
        check(cudaOccupancyMaxActiveBlocksPerMultiprocessor(
                  &blocks, gemv_kernel<W, kVec, kWarps, kMaxT, kConv>, kThreads, 0),
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

template <typename W, int kMaxT, bool kConv>
void launch_gemv_t(const float* x, std::int64_t x_stride, std::int64_t T, const Weight& W_,
                   const float* bias, float* y, std::int64_t y_stride, Epilogue epi,
                   const ConvStep& conv, cudaStream_t stream) {
    const W* w = static_cast<const W*>(W_.data);
    constexpr int kEpv = 16 / sizeof(W);
    const bool vec = reinterpret_cast<std::uintptr_t>(w) % 16 == 0 && W_.cols % kEpv == 0 &&
                     reinterpret_cast<std::uintptr_t>(x) % 16 == 0 && (T == 1 || x_stride % 4 == 0);
    const GemvShape shape = vec ? choose_shape(W_.rows, W_.cols, kEpv, true,
                                               resident_blocks<W, true, 1, kMaxT, kConv>())
                                : choose_shape(W_.rows, W_.cols, 1, false,
                                               resident_blocks<W, false, 1, kMaxT, kConv>());
    auto launch = [&](auto kernel) {
        launch_dependent(kernel, shape.blocks, kThreads, 0, stream, x, x_stride, int(T), w, W_.rows,
                         W_.cols, bias, y, y_stride, shape.per_block, epi, conv);
    };
    if (!vec) {
        launch(gemv_kernel<W, false, 1, kMaxT, kConv>);
    } else {
        switch (shape.warps_per_row) {
            case 1:
                launch(gemv_kernel<W, true, 1, kMaxT, kConv>);
                break;
            case 2:
                launch(gemv_kernel<W, true, 2, kMaxT, kConv>);
                break;
            case 4:
                launch(gemv_kernel<W, true, 4, kMaxT, kConv>);
                break;
            default:
                launch(gemv_kernel<W, true, 8, kMaxT, kConv>);
                break;
        }
    }
    check_launch("gemv");
}

// T == 1 (decode) keeps one accumulator per lane: the kMaxT = 8 kernel's registers would cut the
// blocks an SM holds. A conv step (conv != null) is T == 1 only.
template <typename W>
void launch_gemv(const float* x, std::int64_t x_stride, std::int64_t T, const Weight& W_,
                 const float* bias, float* y, std::int64_t y_stride, Epilogue epi,
                 const ConvStep* conv, cudaStream_t stream) {
    if (conv != nullptr)
        launch_gemv_t<W, 1, true>(x, x_stride, T, W_, bias, y, y_stride, epi, *conv, stream);
    else if (T == 1)
        launch_gemv_t<W, 1, false>(x, x_stride, T, W_, bias, y, y_stride, epi, ConvStep{}, stream);
    else
        launch_gemv_t<W, static_cast<int>(kGemvMaxRows), false>(x, x_stride, T, W_, bias, y,
                                                                y_stride, epi, ConvStep{}, stream);
}

void gemv_dispatch(const float* x, std::int64_t x_stride, std::int64_t T, const Weight& W,
                   const float* bias, float* y, std::int64_t y_stride, Epilogue epi,
                   cudaStream_t stream, const ConvStep* conv = nullptr) {
    if (T == 0 || W.rows == 0) return;
    switch (W.dtype) {
        case DType::F32:
            launch_gemv<float>(x, x_stride, T, W, bias, y, y_stride, epi, conv, stream);
            break;
        case DType::BF16:
            launch_gemv<__nv_bfloat16>(x, x_stride, T, W, bias, y, y_stride, epi, conv, stream);
            break;
        case DType::F16:
            launch_gemv<__half>(x, x_stride, T, W, bias, y, y_stride, epi, conv, stream);
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

void gemv_conv1d_step(const float* x, const Weight& W, const float* bias, float* y,
                      std::int64_t conv_off, std::int64_t C, std::int64_t K, const float* conv_w,
                      const float* conv_bias, bool silu, float* conv_state, float* conv_y,
                      cudaStream_t stream) {
    ConvStep conv;
    conv.off = conv_off;
    conv.C = C;
    conv.K = static_cast<int>(K);
    conv.w = conv_w;
    conv.bias = conv_bias;
    conv.silu = silu;
    conv.state = conv_state;
    conv.y = conv_y;
    gemv_dispatch(x, W.cols, 1, W, bias, y, W.rows, Epilogue{}, stream, &conv);
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
