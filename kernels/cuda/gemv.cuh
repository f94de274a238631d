// Device helpers of the bandwidth-bound GEMVs (matmul.cu, and the fused decode steps that start
// with a projection, selective_step.cu): 16-byte weight loads that bypass L1, widening to fp32,
// and the dot of one 16-byte chunk with the input rows.
#pragma once

#include <cstdint>

#include "kernels/cuda/common.cuh"

namespace statescope::kernels::cuda {

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

}  // namespace statescope::kernels::cuda
