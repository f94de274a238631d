// Launchers of the CUDA kernels (one .cu per family). kernels/backend.h states the math and shapes
// of each op; every pointer is device memory except where noted, and every launch goes on `stream`.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "kernels/backend.h"

namespace statescope::kernels::cuda {

// elementwise.cu. ids: device memory here (CudaBackend stages the host ids).
void embedding(const Weight& table, const std::int32_t* ids, std::int64_t T, float* out,
               cudaStream_t stream);
void add(float* y, const float* x, std::int64_t n, cudaStream_t stream);
void softplus(const float* dt, std::int64_t dt_stride, std::int64_t T, std::int64_t C,
              const float* bias, float lo, float hi, float* delta, cudaStream_t stream);
// Returns cudaSuccess when this build has a kernel image the current device can run.
cudaError_t probe_kernel_image();

// matmul.cu: the GEMV for few rows (T <= kGemvMaxRows) and a bias add for the cuBLASLt path.
inline constexpr std::int64_t kGemvMaxRows = 8;
void gemv(const float* x, std::int64_t x_stride, std::int64_t T, const Weight& W, const float* bias,
          float* y, std::int64_t y_stride, cudaStream_t stream);
void add_bias_rows(float* y, std::int64_t y_stride, std::int64_t T, std::int64_t n,
                   const float* bias, cudaStream_t stream);
// dst[t, c] = half(x[t, c]) for the tensor-core path: [T, cols] contiguous, dtype BF16 or F16.
void narrow_rows(const float* x, std::int64_t x_stride, std::int64_t T, std::int64_t cols,
                 DType dtype, void* dst, cudaStream_t stream);

// norm.cu
void rmsnorm(const float* x, std::int64_t x_stride, std::int64_t T, std::int64_t D,
             const float* weight, float eps, float* y, std::int64_t y_stride, cudaStream_t stream);
void gated_rmsnorm(const float* y, const float* z, std::int64_t z_stride, std::int64_t T,
                   std::int64_t I, std::int64_t group_size, const float* weight, float eps,
                   bool norm_before_gate, float* out, cudaStream_t stream);

// conv1d.cu
void causal_conv1d(const float* x, std::int64_t x_stride, std::int64_t T, std::int64_t C,
                   std::int64_t K, const float* w, const float* bias, bool silu, float* conv_state,
                   float* y, cudaStream_t stream);

// scan.cu. scratch: device memory of the *_scratch_bytes of the same shape (null when that is 0).
std::size_t selective_scan_scratch_bytes(std::int64_t T, std::int64_t I, std::int64_t N);
void selective_scan(const float* x, const float* delta, const float* A, const float* B,
                    const float* C, std::int64_t bc_stride, const float* D, const float* z,
                    std::int64_t z_stride, std::int64_t T, std::int64_t I, std::int64_t N,
                    float* state, float* y, float* scratch, cudaStream_t stream);
std::size_t ssd_scan_scratch_bytes(std::int64_t T, std::int64_t H, std::int64_t P, std::int64_t N);
void ssd_scan(const float* x, std::int64_t x_stride, const float* delta, const float* A,
              const float* B, const float* C, std::int64_t bc_stride, const float* D,
              std::int64_t T, std::int64_t H, std::int64_t P, std::int64_t G, std::int64_t N,
              float* state, float* y, float* scratch, cudaStream_t stream);

}  // namespace statescope::kernels::cuda
