// RMSNorm, the residual add fused with the next RMSNorm, and the Mamba-2 family's gated RMSNorm:
// one block per row (or per row-group), the sum of squares reduced in the block.
//
// Decode runs these on one row of a few thousand floats, where a block of 256 threads walking the
// row element by element is a chain of dependent L2 round trips (ncu on the H200: 10 us for a
// 2560-float rmsnorm, 28 us for a 5120-float gated one). So where the row is 16-byte aligned and a
// multiple of 4 floats, each thread keeps its kVec float4s of the row in registers: one load of
// everything up front, the reduction, then the writes from registers. Other shapes (the tiny test
// models, odd strides) take the element loop.
#include <type_traits>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/ops.h"

namespace statescope::kernels::cuda {

namespace {

constexpr int kThreads = 256;  // the element loop
constexpr int kMaxVec = 4;     // float4s per thread in registers: rows up to 16384 floats
constexpr int kMaxThreads = 1024;

__device__ __forceinline__ float4 load4(const float* p) {
    return *reinterpret_cast<const float4*>(p);
}
__device__ __forceinline__ void store4(float* p, float4 v) {
    *reinterpret_cast<float4*>(p) = v;
}
// 1 / rms of n values from each thread's partial sum of squares (a block reduction). 1/sqrt rather
// than rsqrtf: rsqrtf's 2 ulp would be most of the error budget against the CPU.
__device__ __forceinline__ float inv_rms(float partial_ss, float n, float eps) {
    return 1.0f / sqrtf(block_sum(partial_ss) / n + eps);
}
__device__ __forceinline__ float sumsq(float4 v) {
    return v.x * v.x + v.y * v.y + v.z * v.z + v.w * v.w;
}

// y[t, :] = x[t, :] * rsqrt(mean(x[t, :]^2) + eps) * weight      grid.x = T; y may alias x
// With `residual`: first x[t, :] += s * residual[t, :] (written back to x), then the norm of it.
__global__ void rmsnorm_kernel(float* x, std::int64_t x_stride, std::int64_t D,
                               const float* __restrict__ residual, float s,
                               const float* __restrict__ weight, float eps, float* y,
                               std::int64_t y_stride) {
    wait_for_prior_grids();
    float* xr = x + blockIdx.x * x_stride;
    float* yr = y + blockIdx.x * y_stride;
    const float* rr = residual != nullptr ? residual + blockIdx.x * D : nullptr;
    float ss = 0.0f;
    for (std::int64_t i = threadIdx.x; i < D; i += blockDim.x) {
        float v = xr[i];
        if (rr != nullptr) {
            v = __fadd_rn(v, __fmul_rn(s, rr[i]));  // add_scaled's rounding: no fma
            xr[i] = v;
        }
        ss += v * v;
    }
    const float r = inv_rms(ss, float(D), eps);
    for (std::int64_t i = threadIdx.x; i < D; i += blockDim.x)
        yr[i] = weight != nullptr ? xr[i] * r * weight[i] : xr[i] * r;
}

// The same with the row in registers: D4 = D / 4 float4s, thread k holds k, k + blockDim.x, ...
template <int kVec>
__global__ void rmsnorm_vec_kernel(float* x, std::int64_t x_stride, int D4,
                                   const float* __restrict__ residual, float s,
                                   const float* __restrict__ weight, float eps, float* y,
                                   std::int64_t y_stride) {
    wait_for_prior_grids();
    float* xr = x + blockIdx.x * x_stride;
    float* yr = y + blockIdx.x * y_stride;
    const float* rr = residual != nullptr ? residual + blockIdx.x * std::int64_t(D4) * 4 : nullptr;
    float4 v[kVec];
    float ss = 0.0f;
#pragma unroll
    for (int k = 0; k < kVec; ++k) {
        const int i = threadIdx.x + k * blockDim.x;
        if (i < D4) {
            v[k] = load4(xr + 4 * i);
            if (rr != nullptr) {
                const float4 a = load4(rr + 4 * i);
                v[k] = make_float4(
                    __fadd_rn(v[k].x, __fmul_rn(s, a.x)), __fadd_rn(v[k].y, __fmul_rn(s, a.y)),
                    __fadd_rn(v[k].z, __fmul_rn(s, a.z)), __fadd_rn(v[k].w, __fmul_rn(s, a.w)));
                store4(xr + 4 * i, v[k]);
            }
            ss += sumsq(v[k]);
        }
    }
    const float r = inv_rms(ss, float(4 * D4), eps);
#pragma unroll
    for (int k = 0; k < kVec; ++k) {
        const int i = threadIdx.x + k * blockDim.x;
        if (i >= D4) continue;
        float4 o = make_float4(v[k].x * r, v[k].y * r, v[k].z * r, v[k].w * r);
        if (weight != nullptr) {
            const float4 w = load4(weight + 4 * i);
            o = make_float4(o.x * w.x, o.y * w.y, o.z * w.z, o.w * w.w);
        }
        store4(yr + 4 * i, o);
    }
}

// norm_before_gate = false: h = y * silu(z); out = h * rsqrt(mean_group(h^2) + eps) * weight
// norm_before_gate = true:  out = y * rsqrt(mean_group(y^2) + eps) * weight * silu(z)
// grid = (I / group_size, T); out may alias y (each element is read and written by one thread).
__global__ void gated_rmsnorm_kernel(const float* y, const float* z, std::int64_t z_stride,
                                     std::int64_t I, std::int64_t group_size,
                                     const float* __restrict__ weight, float eps,
                                     bool norm_before_gate, float* out) {
    wait_for_prior_grids();
    const std::int64_t t = blockIdx.y, g0 = blockIdx.x * group_size;
    const float* yr = y + t * I + g0;
    const float* zr = z + t * z_stride + g0;
    float* o = out + t * I + g0;
    float ss = 0.0f;
    for (std::int64_t i = threadIdx.x; i < group_size; i += blockDim.x) {
        const float h = norm_before_gate ? yr[i] : yr[i] * silu(zr[i]);
        ss += h * h;
    }
    const float r = inv_rms(ss, float(group_size), eps);
    for (std::int64_t i = threadIdx.x; i < group_size; i += blockDim.x) {
        const float gate = silu(zr[i]);
        const float w = weight != nullptr ? weight[g0 + i] : 1.0f;
        o[i] = norm_before_gate ? yr[i] * r * w * gate : yr[i] * gate * r * w;
    }
}

// The same with the group in registers (y and silu(z)): G4 = group_size / 4 float4s per group.
template <int kVec>
__global__ void gated_rmsnorm_vec_kernel(const float* y, const float* z, std::int64_t z_stride,
                                         std::int64_t I, int G4, const float* __restrict__ weight,
                                         float eps, bool norm_before_gate, float* out) {
    wait_for_prior_grids();
    const std::int64_t t = blockIdx.y, g0 = blockIdx.x * std::int64_t(G4) * 4;
    const float* yr = y + t * I + g0;
    const float* zr = z + t * z_stride + g0;
    float* o = out + t * I + g0;
    float4 h[kVec], gate[kVec];
    float ss = 0.0f;
#pragma unroll
    for (int k = 0; k < kVec; ++k) {
        const int i = threadIdx.x + k * blockDim.x;
        if (i < G4) {
            const float4 yv = load4(yr + 4 * i), zv = load4(zr + 4 * i);
            gate[k] = make_float4(silu(zv.x), silu(zv.y), silu(zv.z), silu(zv.w));
            h[k] = norm_before_gate ? yv
                                    : make_float4(yv.x * gate[k].x, yv.y * gate[k].y,
                                                  yv.z * gate[k].z, yv.w * gate[k].w);
            ss += sumsq(h[k]);
        }
    }
    const float r = inv_rms(ss, float(4 * G4), eps);
#pragma unroll
    for (int k = 0; k < kVec; ++k) {
        const int i = threadIdx.x + k * blockDim.x;
        if (i >= G4) continue;
        const float4 w =
            weight != nullptr ? load4(weight + g0 + 4 * i) : make_float4(1.0f, 1.0f, 1.0f, 1.0f);
        // the element loop's order of products, so both paths round alike
        float4 v;
        if (norm_before_gate)
            v = make_float4(h[k].x * r * w.x * gate[k].x, h[k].y * r * w.y * gate[k].y,
                            h[k].z * r * w.z * gate[k].z, h[k].w * r * w.w * gate[k].w);
        else
            v = make_float4(h[k].x * r * w.x, h[k].y * r * w.y, h[k].z * r * w.z, h[k].w * r * w.w);
        store4(o + 4 * i, v);
    }
}

bool aligned16(const void* p) {
    return reinterpret_cast<std::uintptr_t>(p) % 16 == 0;
}

// Threads and float4s per thread for a row of n4 float4s: the fewest float4s per thread that fit
// in one block, so short rows use one float4 per thread and more threads.
bool vec_shape(std::int64_t n4, int* threads, int* vec) {
    for (int v = 1; v <= kMaxVec; v *= 2) {
        if (n4 <= std::int64_t(v) * kMaxThreads) {
            const std::int64_t t = (n4 + v - 1) / v;
            *threads = static_cast<int>((t + 31) / 32 * 32);
            *vec = v;
            return true;
        }
    }
    return false;
}

// f(std::integral_constant<int, V>{}) for V = vec, one of vec_shape's 1, 2, 4.
template <class F>
void with_vec(int vec, F f) {
    if (vec == 1)
        f(std::integral_constant<int, 1>{});
    else if (vec == 2)
        f(std::integral_constant<int, 2>{});
    else
        f(std::integral_constant<int, 4>{});
}

void launch_rmsnorm(float* x, std::int64_t x_stride, std::int64_t T, std::int64_t D,
                    const float* residual, float s, const float* weight, float eps, float* y,
                    std::int64_t y_stride, cudaStream_t stream) {
    if (T == 0 || D == 0) return;
    int threads = 0, vec = 0;
    const bool vectorized = D % 4 == 0 && x_stride % 4 == 0 && y_stride % 4 == 0 && aligned16(x) &&
                            aligned16(y) && (residual == nullptr || aligned16(residual)) &&
                            (weight == nullptr || aligned16(weight)) &&
                            vec_shape(D / 4, &threads, &vec);
    const auto blocks = static_cast<unsigned>(T);
    if (!vectorized) {
        launch_dependent(rmsnorm_kernel, blocks, kThreads, 0, stream, x, x_stride, D, residual, s,
                         weight, eps, y, y_stride);
    } else {
        const int D4 = static_cast<int>(D / 4);
        with_vec(vec, [&](auto v) {
            launch_dependent(rmsnorm_vec_kernel<decltype(v)::value>, blocks, threads, 0, stream, x,
                             x_stride, D4, residual, s, weight, eps, y, y_stride);
        });
    }
    check_launch("rmsnorm");
}

}  // namespace

void rmsnorm(const float* x, std::int64_t x_stride, std::int64_t T, std::int64_t D,
             const float* weight, float eps, float* y, std::int64_t y_stride, cudaStream_t stream) {
    // x is only written when a residual is given
    launch_rmsnorm(const_cast<float*>(x), x_stride, T, D, nullptr, 0.0f, weight, eps, y, y_stride,
                   stream);
}

void add_rmsnorm(float* h, const float* residual, float s, std::int64_t T, std::int64_t D,
                 const float* weight, float eps, float* y, cudaStream_t stream) {
    launch_rmsnorm(h, D, T, D, residual, s, weight, eps, y, D, stream);
}

void gated_rmsnorm(const float* y, const float* z, std::int64_t z_stride, std::int64_t T,
                   std::int64_t I, std::int64_t group_size, const float* weight, float eps,
                   bool norm_before_gate, float* out, cudaStream_t stream) {
    if (T == 0 || I == 0) return;
    const dim3 grid(static_cast<unsigned>(I / group_size), static_cast<unsigned>(T));
    int threads = 0, vec = 0;
    const bool vectorized = group_size % 4 == 0 && I % 4 == 0 && z_stride % 4 == 0 &&
                            aligned16(y) && aligned16(z) && aligned16(out) &&
                            (weight == nullptr || aligned16(weight)) &&
                            vec_shape(group_size / 4, &threads, &vec);
    if (!vectorized) {
        launch_dependent(gated_rmsnorm_kernel, grid, kThreads, 0, stream, y, z, z_stride, I,
                         group_size, weight, eps, norm_before_gate, out);
    } else {
        const int G4 = static_cast<int>(group_size / 4);
        with_vec(vec, [&](auto v) {
            launch_dependent(gated_rmsnorm_vec_kernel<decltype(v)::value>, grid, threads, 0, stream,
                             y, z, z_stride, I, G4, weight, eps, norm_before_gate, out);
        });
    }
    check_launch("gated_rmsnorm");
}

}  // namespace statescope::kernels::cuda
