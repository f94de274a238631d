// Scaling, the MLP nonlinearities and rotary embeddings: scale, add_scaled, glu, rope. Memory-bound
// elementwise kernels, one thread per output element (rope: per rotated pair).
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/ops.h"

namespace statescope::kernels::cuda {

namespace {

constexpr int kThreads = 256;

// x[t, i] *= s                                  x: [T, n] (row stride x_stride)
__global__ void scale_kernel(float* x, std::int64_t x_stride, std::int64_t T, std::int64_t n,
                             float s) {
    wait_for_prior_grids();
    const std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x;
    if (i >= T * n) return;
    x[(i / n) * x_stride + i % n] *= s;
}

// y[i] += s * x[i]  (one fp32 multiply and one add, as the CPU loop: no fused multiply-add, so the
// two backends round alike)
__global__ void add_scaled_kernel(float* __restrict__ y, const float* __restrict__ x, float s,
                                  std::int64_t n) {
    wait_for_prior_grids();
    const std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x;
    if (i < n) y[i] = __fadd_rn(y[i], __fmul_rn(s, x[i]));
}

// out[t, i] = act(gate[t, i]) * up[t, i] (act(gate) when up is null); out may alias gate or up
// (same element, same thread), so no __restrict__.
__global__ void glu_kernel(const float* gate, std::int64_t gate_stride, const float* up,
                           std::int64_t up_stride, std::int64_t T, std::int64_t F, Activation act,
                           float* out) {
    const std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x;
    if (i >= T * F) return;
    const std::int64_t t = i / F, f = i % F;
    const float a = activate(gate[t * gate_stride + f], act);
    out[i] = up != nullptr ? a * up[t * up_stride + f] : a;
}

// One thread per (t, j): angle = float(pos0 + t) * inv_freq[j] in fp32 (as transformers), cos/sin
// in double rounded once to fp32 (as the CPU op, so both backends rotate by the same fp32 factors),
// then the pair (j, j + d/2) of every head.     x: [T, n_heads * head_dim] (row stride x_stride)
__global__ void rope_kernel(float* x, std::int64_t x_stride, std::int64_t T, std::int64_t n_heads,
                            std::int64_t head_dim, std::int64_t half, std::int64_t pos0,
                            const float* __restrict__ inv_freq,
                            const std::int64_t* __restrict__ pos0_dev) {
    const std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x;
    if (i >= T * half) return;
    const std::int64_t t = i / half, j = i % half;
    if (pos0_dev != nullptr) pos0 = *pos0_dev;  // a recorded step: the position of this replay
    const float angle = __fmul_rn(static_cast<float>(pos0 + t), inv_freq[j]);
    const float c = static_cast<float>(cos(double(angle)));
    const float s = static_cast<float>(sin(double(angle)));
    float* row = x + t * x_stride;
    for (std::int64_t h = 0; h < n_heads; ++h) {
        float* v = row + h * head_dim;
        const float a = v[j], b = v[j + half];
        v[j] = a * c - b * s;
        v[j + half] = b * c + a * s;
    }
}

}  // namespace

void scale(float* x, std::int64_t x_stride, std::int64_t T, std::int64_t n, float s,
           cudaStream_t stream) {
    if (T * n == 0) return;
    launch_dependent(scale_kernel, blocks_for(T * n, kThreads), kThreads, 0, stream, x, x_stride, T,
                     n, s);
    check_launch("scale");
}

void add_scaled(float* y, const float* x, float s, std::int64_t n, cudaStream_t stream) {
    if (n == 0) return;
    launch_dependent(add_scaled_kernel, blocks_for(n, kThreads), kThreads, 0, stream, y, x, s, n);
    check_launch("add_scaled");
}

void glu(const float* gate, std::int64_t gate_stride, const float* up, std::int64_t up_stride,
         std::int64_t T, std::int64_t F, Activation act, float* out, cudaStream_t stream) {
    if (T * F == 0) return;
    glu_kernel<<<blocks_for(T * F, kThreads), kThreads, 0, stream>>>(gate, gate_stride, up,
                                                                     up_stride, T, F, act, out);
    check_launch("glu");
}

void rope(float* x, std::int64_t x_stride, std::int64_t T, std::int64_t n_heads,
          std::int64_t head_dim, std::int64_t rotary_dim, std::int64_t pos0, const float* inv_freq,
          cudaStream_t stream, const std::int64_t* pos0_dev) {
    const std::int64_t half = rotary_dim / 2;
    if (T * half == 0 || n_heads == 0) return;
    rope_kernel<<<blocks_for(T * half, kThreads), kThreads, 0, stream>>>(
        x, x_stride, T, n_heads, head_dim, half, pos0, inv_freq, pos0_dev);
    check_launch("rope");
}

}  // namespace statescope::kernels::cuda
