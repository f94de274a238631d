// y[t, o] = sum_i x[t, i] * W[o, i] + bias[o] for few rows (decode: T = 1): bandwidth-bound, so
// one warp streams one weight row with 16-byte loads (8 bf16/f16 or 4 f32 per lane), widens to
// fp32, dots it with each of the T input rows and reduces with shuffles. Each weight byte is read
// once per call whatever T is (T <= kGemvMaxRows). Prefill goes through cuBLASLt (cuda_backend.cu).
#include <cstdint>
#include <type_traits>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/ops.h"

namespace statescope::kernels::cuda {

namespace {

constexpr int kThreads = 256;  // 8 warps, 8 output rows per block
constexpr int kMaxT = static_cast<int>(kGemvMaxRows);

// 16 bytes of weights -> fp32. F32: 4 values; BF16/F16: 8.
__device__ __forceinline__ void widen16(const float* p, float* out) {
    const float4 v = __ldg(reinterpret_cast<const float4*>(p));
    out[0] = v.x, out[1] = v.y, out[2] = v.z, out[3] = v.w;
}
__device__ __forceinline__ void widen16(const __nv_bfloat16* p, float* out) {
    const uint4 v = __ldg(reinterpret_cast<const uint4*>(p));
    const unsigned u[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
    for (int k = 0; k < 4; ++k) {  // bf16 is the top half of an fp32: widening is a shift
        out[2 * k] = __uint_as_float(u[k] << 16);
        out[2 * k + 1] = __uint_as_float(u[k] & 0xffff0000u);
    }
}
__device__ __forceinline__ void widen16(const __half* p, float* out) {
    const uint4 v = __ldg(reinterpret_cast<const uint4*>(p));
    const unsigned u[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
    for (int k = 0; k < 4; ++k) {
        const float2 f = __half22float2(*reinterpret_cast<const __half2*>(&u[k]));
        out[2 * k] = f.x;
        out[2 * k + 1] = f.y;
    }
}

// kVec: rows and x are 16-byte aligned and cols is a multiple of the elements per 16 bytes; else
// one element per lane per step (odd shapes of the tiny test models). kWarps warps share one row
// (a column slice each, summed through shared memory): few-row matrices (x_proj: R + 2N rows)
// would otherwise leave most SMs idle with too few loads in flight.
template <typename W, bool kVec, int kWarps>
__global__ void __launch_bounds__(kThreads)
    gemv_kernel(const float* __restrict__ x, std::int64_t x_stride, int T, const W* __restrict__ w,
                std::int64_t rows, std::int64_t cols, const float* __restrict__ bias,
                float* __restrict__ y, std::int64_t y_stride) {
    __shared__ float partial[kThreads / 32][kMaxT];
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, slice = warp % kWarps;
    const std::int64_t o = blockIdx.x * std::int64_t(kThreads / 32 / kWarps) + warp / kWarps;
    const bool row_ok = o < rows;  // no early return: the block meets at __syncthreads below
    const W* row = w + (row_ok ? o : 0) * cols;
    float acc[kMaxT];
#pragma unroll
    for (int t = 0; t < kMaxT; ++t) acc[t] = 0.0f;
    if constexpr (kVec) {
        constexpr int kEpv = 16 / sizeof(W);
#pragma unroll 2
        for (std::int64_t c = (std::int64_t(slice) * 32 + lane) * kEpv; row_ok && c < cols;
             c += kWarps * 32 * kEpv) {
            float wf[kEpv];
            widen16(row + c, wf);
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
            if (lane == 0 && row_ok) y[t * y_stride + o] = sum + (bias != nullptr ? bias[o] : 0.0f);
        } else {
            if (lane == 0) partial[warp][t] = sum;
        }
    }
    if constexpr (kWarps > 1) {
        __syncthreads();
        if (slice == 0 && lane < T && row_ok) {
            float sum = 0.0f;
            for (int k = 0; k < kWarps; ++k) sum += partial[warp + k][lane];
            y[lane * y_stride + o] = sum + (bias != nullptr ? bias[o] : 0.0f);
        }
    }
}

template <typename W>
void launch_gemv(const float* x, std::int64_t x_stride, std::int64_t T, const Weight& W_,
                 const float* bias, float* y, std::int64_t y_stride, cudaStream_t stream) {
    const W* w = static_cast<const W*>(W_.data);
    constexpr int kEpv = 16 / sizeof(W);
    const bool vec = reinterpret_cast<std::uintptr_t>(w) % 16 == 0 && W_.cols % kEpv == 0 &&
                     reinterpret_cast<std::uintptr_t>(x) % 16 == 0 && (T == 1 || x_stride % 4 == 0);
    // Enough warps for every SM to keep loads in flight (132 SMs x 64 warps on an H200): split rows
    // across up to 8 warps while the grid is under ~16K warps and each slice keeps >= 2 loads/lane.
    int warps_per_row = 1;
    while (warps_per_row < 8 && W_.rows * warps_per_row < 16384 &&
           W_.cols >= std::int64_t(warps_per_row) * 2 * 2 * 32 * kEpv)
        warps_per_row *= 2;
    const unsigned blocks = blocks_for(W_.rows * warps_per_row * 32, kThreads);
    auto launch = [&](auto kernel) {
        kernel<<<blocks, kThreads, 0, stream>>>(x, x_stride, int(T), w, W_.rows, W_.cols, bias, y,
                                                y_stride);
    };
    switch (warps_per_row * 2 + (vec ? 1 : 0)) {
        case 2:
            launch(gemv_kernel<W, false, 1>);
            break;
        case 3:
            launch(gemv_kernel<W, true, 1>);
            break;
        case 4:
            launch(gemv_kernel<W, false, 2>);
            break;
        case 5:
            launch(gemv_kernel<W, true, 2>);
            break;
        case 8:
            launch(gemv_kernel<W, false, 4>);
            break;
        case 9:
            launch(gemv_kernel<W, true, 4>);
            break;
        case 16:
            launch(gemv_kernel<W, false, 8>);
            break;
        default:
            launch(gemv_kernel<W, true, 8>);
            break;
    }
    check_launch("gemv");
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
    if (T == 0 || W.rows == 0) return;
    switch (W.dtype) {
        case DType::F32:
            launch_gemv<float>(x, x_stride, T, W, bias, y, y_stride, stream);
            break;
        case DType::BF16:
            launch_gemv<__nv_bfloat16>(x, x_stride, T, W, bias, y, y_stride, stream);
            break;
        case DType::F16:
            launch_gemv<__half>(x, x_stride, T, W, bias, y, y_stride, stream);
            break;
    }
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
