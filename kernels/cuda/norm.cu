// RMSNorm and the Mamba-2 family's gated RMSNorm: one block per row (or per row-group), the sum of
// squares reduced in the block. Rows are at most a few thousand floats, so one pass reads the row
// for the sum and a second (from L1/L2) writes it.
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/ops.h"

namespace statescope::kernels::cuda {

namespace {

constexpr int kThreads = 256;

// y[t, :] = x[t, :] * rsqrt(mean(x[t, :]^2) + eps) * weight      grid.x = T; y may alias x
__global__ void rmsnorm_kernel(const float* x, std::int64_t x_stride, std::int64_t D,
                               const float* __restrict__ weight, float eps, float* y,
                               std::int64_t y_stride) {
    const float* xr = x + blockIdx.x * x_stride;
    float* yr = y + blockIdx.x * y_stride;
    float ss = 0.0f;
    for (std::int64_t i = threadIdx.x; i < D; i += blockDim.x) ss += xr[i] * xr[i];
    ss = block_sum(ss);
    // 1/sqrt rather than rsqrtf: rsqrtf's 2 ulp would be most of the error budget against the CPU.
    const float r = 1.0f / sqrtf(ss / float(D) + eps);
    for (std::int64_t i = threadIdx.x; i < D; i += blockDim.x)
        yr[i] = weight != nullptr ? xr[i] * r * weight[i] : xr[i] * r;
}

// norm_before_gate = false: h = y * silu(z); out = h * rsqrt(mean_group(h^2) + eps) * weight
// norm_before_gate = true:  out = y * rsqrt(mean_group(y^2) + eps) * weight * silu(z)
// grid = (I / group_size, T); out may alias y (each element is read and written by one thread).
__global__ void gated_rmsnorm_kernel(const float* y, const float* z, std::int64_t z_stride,
                                     std::int64_t I, std::int64_t group_size,
                                     const float* __restrict__ weight, float eps,
                                     bool norm_before_gate, float* out) {
    const std::int64_t t = blockIdx.y, g0 = blockIdx.x * group_size;
    const float* yr = y + t * I + g0;
    const float* zr = z + t * z_stride + g0;
    float* o = out + t * I + g0;
    float ss = 0.0f;
    for (std::int64_t i = threadIdx.x; i < group_size; i += blockDim.x) {
        const float h = norm_before_gate ? yr[i] : yr[i] * silu(zr[i]);
        ss += h * h;
    }
    ss = block_sum(ss);
    const float r = 1.0f / sqrtf(ss / float(group_size) + eps);
    for (std::int64_t i = threadIdx.x; i < group_size; i += blockDim.x) {
        const float gate = silu(zr[i]);
        const float w = weight != nullptr ? weight[g0 + i] : 1.0f;
        o[i] = norm_before_gate ? yr[i] * r * w * gate : yr[i] * gate * r * w;
    }
}

}  // namespace

void rmsnorm(const float* x, std::int64_t x_stride, std::int64_t T, std::int64_t D,
             const float* weight, float eps, float* y, std::int64_t y_stride, cudaStream_t stream) {
    if (T == 0 || D == 0) return;
    rmsnorm_kernel<<<static_cast<unsigned>(T), kThreads, 0, stream>>>(x, x_stride, D, weight, eps,
                                                                      y, y_stride);
    check_launch("rmsnorm");
}

void gated_rmsnorm(const float* y, const float* z, std::int64_t z_stride, std::int64_t T,
                   std::int64_t I, std::int64_t group_size, const float* weight, float eps,
                   bool norm_before_gate, float* out, cudaStream_t stream) {
    if (T == 0 || I == 0) return;
    const dim3 grid(static_cast<unsigned>(I / group_size), static_cast<unsigned>(T));
    gated_rmsnorm_kernel<<<grid, kThreads, 0, stream>>>(y, z, z_stride, I, group_size, weight, eps,
                                                        norm_before_gate, out);
    check_launch("gated_rmsnorm");
}

}  // namespace statescope::kernels::cuda
