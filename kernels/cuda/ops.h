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
// y[t, o] = clamp(softplus(sum_i x[t, i] W[o, i] + bias[o]), lo, hi), y: [T, W.rows] contiguous
void gemv_softplus(const float* x, std::int64_t x_stride, std::int64_t T, const Weight& W,
                   const float* bias, float lo, float hi, float* y, cudaStream_t stream);
// Backend::matmul_conv1d_step as the T = 1 GEMV with the conv step in its epilogue (one launch);
// K <= 32 (the conv's taps sit one per lane), conv_off + C <= W.rows, W.cols > 0.
void gemv_conv1d_step(const float* x, const Weight& W, const float* bias, float* y,
                      std::int64_t conv_off, std::int64_t C, std::int64_t K, const float* conv_w,
                      const float* conv_bias, bool silu, float* conv_state, float* conv_y,
                      cudaStream_t stream);
inline constexpr std::int64_t kConvStepMaxK = 32;
void add_bias_rows(float* y, std::int64_t y_stride, std::int64_t T, std::int64_t n,
                   const float* bias, cudaStream_t stream);
// dst[t, c] = half(x[t, c]) for the tensor-core path: [T, cols] contiguous, dtype BF16 or F16.
void narrow_rows(const float* x, std::int64_t x_stride, std::int64_t T, std::int64_t cols,
                 DType dtype, void* dst, cudaStream_t stream);

// selective_step.cu: Backend::matmul_softplus_scan_step as one kernel (a warp per channel), where
// softplus_scan_step_fits(): d_state <= 256, int32 indexing.
bool softplus_scan_step_fits(const Weight& W, std::int64_t N);
void softplus_scan_step(const float* dt, const Weight& W, const float* dt_bias, float lo, float hi,
                        const float* x, const float* A, const float* B, const float* C,
                        const float* D, const float* z, std::int64_t N, float* state, float* delta,
                        float* y, cudaStream_t stream);

// norm.cu
void rmsnorm(const float* x, std::int64_t x_stride, std::int64_t T, std::int64_t D,
             const float* weight, float eps, float* y, std::int64_t y_stride, cudaStream_t stream);
// h[t, :] += s * x[t, :]; y[t, :] = rmsnorm(h[t, :]) * weight       h, x, y: [T, D] contiguous
void add_rmsnorm(float* h, const float* x, float s, std::int64_t T, std::int64_t D,
                 const float* weight, float eps, float* y, cudaStream_t stream);
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

// The batched decode step (backend.h, *_rows), in conv1d.cu and scan.cu: conv_states / states are
// DEVICE arrays of `rows` device pointers (CudaBackend stages the host arrays). ssd_scan_rows'
// states_aligned16: every states[r] is 16-byte aligned (the vectorised step needs it; the caller
// knows from the host array).
void causal_conv1d_rows(const float* x, std::int64_t x_stride, std::int64_t rows, std::int64_t C,
                        std::int64_t K, const float* w, const float* bias, bool silu,
                        float* const* conv_states, float* y, cudaStream_t stream);
void selective_scan_rows(const float* x, const float* delta, const float* A, const float* B,
                         const float* C, std::int64_t bc_stride, const float* D, const float* z,
                         std::int64_t z_stride, std::int64_t rows, std::int64_t I, std::int64_t N,
                         float* const* states, float* y, cudaStream_t stream);
// The Mamba-2 decode step with its softplus (Backend::softplus_ssd_step) in the vectorised step
// kernel; false (nothing launched) where that kernel does not fit the shapes or alignments.
bool softplus_ssd_step(const float* dt, const float* dt_bias, float lo, float hi, const float* x,
                       std::int64_t x_stride, const float* A, const float* B, const float* C,
                       std::int64_t bc_stride, const float* D, std::int64_t H, std::int64_t P,
                       std::int64_t G, std::int64_t N, float* state, float* delta, float* y,
                       cudaStream_t stream);
void ssd_scan_rows(const float* x, std::int64_t x_stride, const float* delta, const float* A,
                   const float* B, const float* C, std::int64_t bc_stride, const float* D,
                   std::int64_t rows, std::int64_t H, std::int64_t P, std::int64_t G,
                   std::int64_t N, float* const* states, bool states_aligned16, float* y,
                   cudaStream_t stream);

// activation.cu
void scale(float* x, std::int64_t x_stride, std::int64_t T, std::int64_t n, float s,
           cudaStream_t stream);
void add_scaled(float* y, const float* x, float s, std::int64_t n, cudaStream_t stream);
void glu(const float* gate, std::int64_t gate_stride, const float* up, std::int64_t up_stride,
         std::int64_t T, std::int64_t F, Activation act, float* out, cudaStream_t stream);
// pos0_dev: when not null, the position is read from it (device memory) when the kernel runs and
// pos0 is ignored (rope_at: a recorded decode step).
void rope(float* x, std::int64_t x_stride, std::int64_t T, std::int64_t n_heads,
          std::int64_t head_dim, std::int64_t rotary_dim, std::int64_t pos0, const float* inv_freq,
          cudaStream_t stream, const std::int64_t* pos0_dev = nullptr);

// attention.cu. `splits` > 1 divides each row's keys among that many blocks (split-K, for decode
// and short chunks) and needs `partials` of attention_partial_floats() floats; attention_splits()
// picks it for a GPU of `sm_count` multiprocessors.
int attention_splits(std::int64_t T, std::int64_t pos0, std::int64_t n_heads,
                     std::int64_t n_kv_heads, std::int64_t window, int sm_count);
std::size_t attention_partial_floats(std::int64_t T, std::int64_t n_heads, std::int64_t head_dim,
                                     int splits);
// pos0_dev: as rope's (attention_at); the splits are then chosen for the largest pos0 the caller
// allows, and a split left without keys adds nothing to the merge.
void attention(const float* q, std::int64_t q_stride, const float* k, const float* v,
               std::int64_t kv_stride, std::int64_t T, std::int64_t pos0, std::int64_t n_heads,
               std::int64_t n_kv_heads, std::int64_t head_dim, float scale, std::int64_t window,
               float* out, std::int64_t out_stride, int splits, float* partials,
               cudaStream_t stream, const std::int64_t* pos0_dev = nullptr);

// moe.cu. experts, weights: device memory.
void moe_route(const float* logits, std::int64_t T, std::int64_t E, std::int64_t k,
               RouterScoring scoring, const float* correction_bias, std::int64_t n_group,
               std::int64_t topk_group, bool normalize, float route_scale, std::int32_t* experts,
               float* weights, cudaStream_t stream);

// moe_experts.cu: the routed experts of a few rows (backend.h moe_experts); ffn's pointer arrays,
// experts and weights are device memory.
void moe_experts(const float* x, std::int64_t x_stride, std::int64_t T, std::int64_t k,
                 const std::int32_t* experts, const float* weights, const ExpertFfns& ffn,
                 float* hidden, bool accumulate, float* out, cudaStream_t stream);
// elementwise.cu: dst[(*pos0 + t) * dst_stride + i] = src[t * src_stride + i] (pos0: device).
void write_rows_at(const float* src, std::int64_t src_stride, std::int64_t T, std::int64_t width,
                   float* dst, std::int64_t dst_stride, const std::int64_t* pos0,
                   cudaStream_t stream);

// sampling.cu: out[t] = argmax of row t (first maximum on ties).
void argmax_rows(const float* x, std::int64_t x_stride, std::int64_t T, std::int64_t V,
                 std::int32_t* out, cudaStream_t stream);
// sampling.cu: *out = the token kernels/sampling.h draws from the row x [V] at u. pen: [2, n_pen]
// device int32 (the distinct penalised ids, then their counts); scratch: sample_scratch_bytes(V)
// of device memory; out: device.
std::size_t sample_scratch_bytes(std::int64_t V);
// sample_topk.cu: the same draw in one block when 1 <= top_k <= 1024 and temperature > 0 (no sort
// of the whole row); keys: [V] device scratch.
bool sample_topk_fits(const SampleParams& p, std::int64_t V);
void sample_row_topk(const float* x, std::int64_t V, const SampleParams& p, const std::int32_t* pen,
                     std::int64_t n_pen, double u, float* keys, std::int32_t* out,
                     cudaStream_t stream);
void sample_row(const float* x, std::int64_t V, const SampleParams& p, const std::int32_t* pen,
                std::int64_t n_pen, double u, void* scratch, std::size_t scratch_bytes,
                std::int32_t* out, cudaStream_t stream);

}  // namespace statescope::kernels::cuda
