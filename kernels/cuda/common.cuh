// Shared device helpers of the CUDA kernels: error checks, weight-element widening, warp sums.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <string>

namespace statescope::kernels::cuda {

// Throws std::runtime_error naming the call and CUDA's reason.
[[noreturn]] void throw_cuda_error(cudaError_t e, const std::string& what);
inline void check(cudaError_t e, const char* what) {
    if (e != cudaSuccess) throw_cuda_error(e, what);
}
// After a launch: a bad configuration or a missing kernel image shows up here.
inline void check_launch(const char* kernel) {
    check(cudaGetLastError(), kernel);
}

inline unsigned blocks_for(std::int64_t n, int threads) {
    return static_cast<unsigned>((n + threads - 1) / threads);
}

__device__ __forceinline__ float to_f32(float v) {
    return v;
}
__device__ __forceinline__ float to_f32(__nv_bfloat16 v) {
    return __bfloat162float(v);
}
__device__ __forceinline__ float to_f32(__half v) {
    return __half2float(v);
}

__device__ __forceinline__ float silu(float z) {
    return z / (1.0f + expf(-z));
}

// Sum over groups of `width` lanes (a power of two <= 32) of one warp; every lane gets its group's
// sum.
__device__ __forceinline__ float group_sum(float v, int width) {
    for (int off = width / 2; off > 0; off /= 2) v += __shfl_xor_sync(0xffffffffu, v, off);
    return v;
}

// Sum over a block of blockDim.x threads (a multiple of 32, at most 1024); every thread gets it.
__device__ __forceinline__ float block_sum(float v) {
    __shared__ float partial[32];
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    v = group_sum(v, 32);
    __syncthreads();  // partial may still be read by a previous call
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    const int warps = blockDim.x / 32;
    v = lane < warps ? partial[lane] : 0.0f;
    return group_sum(v, 32);
}

}  // namespace statescope::kernels::cuda
