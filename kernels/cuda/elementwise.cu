// Embedding lookup, residual add, softplus and the KV-cache append of a recorded step: one thread
// per output element.
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/ops.h"

namespace statescope::kernels::cuda {

namespace {

constexpr int kThreads = 256;

// out[t, d] = float(table[ids[t], d])          table: [V, D]; out: [T, D]; grid.y = T
template <typename W>
__global__ void embedding_kernel(const W* __restrict__ table, const std::int32_t* __restrict__ ids,
                                 std::int64_t D, float* __restrict__ out) {
    wait_for_prior_grids();
    const std::int64_t t = blockIdx.y;
    const W* row = table + std::int64_t(ids[t]) * D;
    for (std::int64_t d = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; d < D;
         d += std::int64_t(gridDim.x) * blockDim.x)
        out[t * D + d] = to_f32(row[d]);
}

// y[i] += x[i]
__global__ void add_kernel(float* __restrict__ y, const float* __restrict__ x, std::int64_t n) {
    wait_for_prior_grids();
    const std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x;
    if (i < n) y[i] += x[i];
}

// delta[t, c] = clamp(softplus(dt[t, c] + bias[c]), lo, hi); softplus(v) = v for v > 20 (torch).
// delta may alias dt (same element, same thread).
__global__ void softplus_kernel(const float* dt, std::int64_t dt_stride, std::int64_t T,
                                std::int64_t C, const float* __restrict__ bias, float lo, float hi,
                                float* delta) {
    wait_for_prior_grids();
    const std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x;
    if (i >= T * C) return;
    const std::int64_t t = i / C, c = i % C;
    delta[t * C + c] =
        softplus_clamp(dt[t * dt_stride + c] + (bias != nullptr ? bias[c] : 0.0f), lo, hi);
}

// dst[(*pos0 + t) * dst_stride + i] = src[t * src_stride + i]      src: [T, width]
__global__ void write_rows_at_kernel(const float* __restrict__ src, std::int64_t src_stride,
                                     std::int64_t T, std::int64_t width, float* __restrict__ dst,
                                     std::int64_t dst_stride,
                                     const std::int64_t* __restrict__ pos0) {
    const std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x;
    if (i >= T * width) return;
    const std::int64_t t = i / width, c = i % width;
    dst[(*pos0 + t) * dst_stride + c] = src[t * src_stride + c];
}

}  // namespace

void write_rows_at(const float* src, std::int64_t src_stride, std::int64_t T, std::int64_t width,
                   float* dst, std::int64_t dst_stride, const std::int64_t* pos0,
                   cudaStream_t stream) {
    if (T * width == 0) return;
    write_rows_at_kernel<<<blocks_for(T * width, kThreads), kThreads, 0, stream>>>(
        src, src_stride, T, width, dst, dst_stride, pos0);
    check_launch("write_rows_at");
}

void embedding(const Weight& table, const std::int32_t* ids, std::int64_t T, float* out,
               cudaStream_t stream) {
    if (T == 0) return;
    const std::int64_t D = table.cols;
    const dim3 grid(blocks_for(D, kThreads), static_cast<unsigned>(T));
    switch (table.dtype) {
        case DType::F32:
            launch_dependent(embedding_kernel<float>, grid, kThreads, 0, stream,
                             static_cast<const float*>(table.data), ids, D, out);
            break;
        case DType::BF16:
            launch_dependent(embedding_kernel<__nv_bfloat16>, grid, kThreads, 0, stream,
                             static_cast<const __nv_bfloat16*>(table.data), ids, D, out);
            break;
        case DType::F16:
            launch_dependent(embedding_kernel<__half>, grid, kThreads, 0, stream,
                             static_cast<const __half*>(table.data), ids, D, out);
            break;
    }
    check_launch("embedding");
}

void add(float* y, const float* x, std::int64_t n, cudaStream_t stream) {
    if (n == 0) return;
    launch_dependent(add_kernel, blocks_for(n, kThreads), kThreads, 0, stream, y, x, n);
    check_launch("add");
}

void softplus(const float* dt, std::int64_t dt_stride, std::int64_t T, std::int64_t C,
              const float* bias, float lo, float hi, float* delta, cudaStream_t stream) {
    if (T * C == 0) return;
    launch_dependent(softplus_kernel, blocks_for(T * C, kThreads), kThreads, 0, stream, dt,
                     dt_stride, T, C, bias, lo, hi, delta);
    check_launch("softplus");
}

cudaError_t probe_kernel_image() {
    cudaFuncAttributes attr;
    return cudaFuncGetAttributes(&attr, add_kernel);
}

}  // namespace statescope::kernels::cuda
