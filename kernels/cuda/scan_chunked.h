// The prefill scans, parallel over time (scan.cu dispatches to them; backend.h states the math):
//   selective_scan_chunked.cu: Mamba-1, T split into chunks that run in parallel from a zero state,
//     a sequential pass over the chunks' end states, then each chunk again from its true start.
//   ssd_chunked.cu: Mamba-2 SSD in chunks of 64 tokens on the tensor cores (TF32 WMMA), as
//     mamba_ssm splits it: C B^T per chunk and group, every chunk's end state from zero, a
//     sequential pass over the chunks' states, then every chunk's output in parallel; T in rounds
//     of at most 1024 tokens so that the scratch does not grow with T.
// Both take `scratch` (device memory of at least the *_scratch_bytes of the same shape; null when
// that is 0) and leave the state exactly where the sequential kernels would: decode continues from
// it.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace statescope::kernels::cuda {

// Largest d_state the chunked Mamba-1 scan holds in registers (scan.cu falls back above it).
inline constexpr std::int64_t kSelChunkedMaxN = 64;
std::size_t selective_scan_chunked_scratch_bytes(std::int64_t T, std::int64_t I, std::int64_t N);
void selective_scan_chunked(const float* x, const float* delta, const float* A, const float* B,
                            const float* C, std::int64_t bc_stride, const float* D, const float* z,
                            std::int64_t z_stride, std::int64_t T, std::int64_t I, std::int64_t N,
                            float* state, float* y, float* scratch, cudaStream_t stream);

// Largest d_state of the chunked SSD (its shared-memory tiles are sized by it).
inline constexpr std::int64_t kSsdChunkedMaxN = 256;
// exact = true: every fp32 operand split into two TF32 parts (3 products, ~fp32 accuracy);
// false: one TF32 product (about 5e-4 relative per operand).
// Whether every pass's block fits the device's shared memory per block at d_state N (the output
// pass takes 104 KB at N = 128: over the 99 KB of sm_86 / sm_89, which then run the sequential
// scan).
bool ssd_scan_chunked_fits(std::int64_t N);
std::size_t ssd_scan_chunked_scratch_bytes(std::int64_t T, std::int64_t H, std::int64_t P,
                                           std::int64_t N);
void ssd_scan_chunked(const float* x, std::int64_t x_stride, const float* delta, const float* A,
                      const float* B, const float* C, std::int64_t bc_stride, const float* D,
                      std::int64_t T, std::int64_t H, std::int64_t P, std::int64_t G,
                      std::int64_t N, bool exact, float* state, float* y, float* scratch,
                      cudaStream_t stream);

}  // namespace statescope::kernels::cuda
