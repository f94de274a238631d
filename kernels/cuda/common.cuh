// Shared device helpers of the CUDA kernels: error checks, weight-element widening, warp sums.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <string>
#include <utility>

#include "kernels/backend.h"

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

// Programmatic dependent launch (Hopper and later). The decode step is ~500 small dependent
// kernels, and between two of them the GPU otherwise drains one grid completely before it starts
// launching the next. A kernel launched through launch_dependent() may be launched while the
// kernel before it on the stream is still running; it must call wait_for_prior_grids() before it
// touches memory (its first statement), which returns once that kernel has finished and its
// writes are visible. Right after, it lets its own successor launch early. The overlap is only
// the launch itself and the block scheduling: no data is read before the producer is done.
// STATESCOPE_CUDA_PDL=0 turns it off (the plain stream order), for measuring both.
__device__ __forceinline__ void wait_for_prior_grids() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;" ::: "memory");
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}
// Multiprocessors of the current device, asked once (launch shapes are sized to it).
int sm_count();
// Whether launches on the current device use it (compute capability 9.0+, not turned off).
bool dependent_launch_enabled();
template <typename... Params, typename... Args>
void launch_dependent(void (*kernel)(Params...), dim3 grid, dim3 block, std::size_t smem,
                      cudaStream_t stream, Args&&... args) {
    cudaLaunchAttribute attr[1];
    attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attr[0].val.programmaticStreamSerializationAllowed = 1;
    cudaLaunchConfig_t config = {};
    config.gridDim = grid;
    config.blockDim = block;
    config.dynamicSmemBytes = smem;
    config.stream = stream;
    config.attrs = attr;
    config.numAttrs = dependent_launch_enabled() ? 1 : 0;
    check(cudaLaunchKernelEx(&config, kernel, std::forward<Args>(args)...), "cudaLaunchKernelEx");
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

// Silu: v / (1 + exp(-v)); Gelu: 0.5 v erfc(-v / sqrt(2)) (exact erf GELU, torch's default, written
// as the CPU writes it to avoid 1 + erf's cancellation); Relu2: max(v, 0)^2
// (glu and the MoE experts)
__device__ __forceinline__ float activate(float v, Activation act) {
    switch (act) {
        case Activation::Silu:
            return v / (1.0f + expf(-v));
        case Activation::Gelu:
            return 0.5f * v * erfcf(-v * 0.70710678118654752f);
        case Activation::Relu2: {
            const float r = v > 0.0f ? v : 0.0f;
            return r * r;
        }
    }
    return v;
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

// delta = clamp(softplus(v), lo, hi), softplus(v) = log1p(exp(v)), = v for v > 20 (torch's
// threshold; softplus_kernel's formula).
__device__ __forceinline__ float softplus_clamp(float v, float lo, float hi) {
    return fminf(fmaxf(v > 20.0f ? v : log1pf(expf(v)), lo), hi);
}

}  // namespace statescope::kernels::cuda
