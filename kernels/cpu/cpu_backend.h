// The CPU backend: host memory and the fp32 reference implementation of every op (ops.h).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "kernels/backend.h"

namespace statescope::kernels::cpu {

// Host memory, 64-byte aligned (one cache line, one AVX-512 register) and zeroed.
class CpuBuffer final : public Buffer {
  public:
    explicit CpuBuffer(std::size_t bytes);
    ~CpuBuffer() override;
    CpuBuffer(const CpuBuffer&) = delete;
    CpuBuffer& operator=(const CpuBuffer&) = delete;
    void* data() override { return data_; }
    std::size_t bytes() const override { return bytes_; }

  private:
    void* data_ = nullptr;
    std::size_t bytes_ = 0;
};

class CpuBackend final : public Backend {
  public:
    CpuBackend();
    std::string name() const override { return "cpu"; }

    std::unique_ptr<Buffer> alloc(std::size_t bytes) override;
    void copy_to_host(const void* src, void* host_dst, std::size_t bytes) override;
    void copy_from_host(const void* host_src, void* dst, std::size_t bytes) override;
    void copy(const void* src, void* dst, std::size_t bytes) override;
    Weight upload(const Weight& host, std::unique_ptr<Buffer>* keep) override;

    void embedding(const Weight& table, const std::int32_t* ids, std::int64_t T,
                   float* out) override;
    void matmul(const float* x, std::int64_t x_stride, std::int64_t T, const Weight& W,
                const float* bias, float* y, std::int64_t y_stride) override;
    void rmsnorm(const float* x, std::int64_t x_stride, std::int64_t T, std::int64_t D,
                 const float* weight, float eps, float* y, std::int64_t y_stride) override;
    void add(float* y, const float* x, std::int64_t n) override;
    void causal_conv1d(const float* x, std::int64_t x_stride, std::int64_t T, std::int64_t C,
                       std::int64_t K, const float* w, const float* bias, bool silu,
                       float* conv_state, float* y) override;
    void softplus(const float* dt, std::int64_t dt_stride, std::int64_t T, std::int64_t C,
                  const float* bias, float lo, float hi, float* delta) override;
    void selective_scan(const float* x, const float* delta, const float* A, const float* B,
                        const float* C, std::int64_t bc_stride, const float* D, const float* z,
                        std::int64_t z_stride, std::int64_t T, std::int64_t I, std::int64_t N,
                        float* state, float* y) override;
    void ssd_scan(const float* x, std::int64_t x_stride, const float* delta, const float* A,
                  const float* B, const float* C, std::int64_t bc_stride, const float* D,
                  std::int64_t T, std::int64_t H, std::int64_t P, std::int64_t G, std::int64_t N,
                  float* state, float* y) override;
    void causal_conv1d_rows(const float* x, std::int64_t x_stride, std::int64_t rows,
                            std::int64_t C, std::int64_t K, const float* w, const float* bias,
                            bool silu, float* const* conv_states, float* y) override;
    void selective_scan_rows(const float* x, const float* delta, const float* A, const float* B,
                             const float* C, std::int64_t bc_stride, const float* D, const float* z,
                             std::int64_t z_stride, std::int64_t rows, std::int64_t I,
                             std::int64_t N, float* const* states, float* y) override;
    void ssd_scan_rows(const float* x, std::int64_t x_stride, const float* delta, const float* A,
                       const float* B, const float* C, std::int64_t bc_stride, const float* D,
                       std::int64_t rows, std::int64_t H, std::int64_t P, std::int64_t G,
                       std::int64_t N, float* const* states, float* y) override;
    void gated_rmsnorm(const float* y, const float* z, std::int64_t z_stride, std::int64_t T,
                       std::int64_t I, std::int64_t group_size, const float* weight, float eps,
                       bool norm_before_gate, float* out) override;
    void scale(float* x, std::int64_t x_stride, std::int64_t T, std::int64_t n, float s) override;
    void add_scaled(float* y, const float* x, float s, std::int64_t n) override;
    void glu(const float* gate, std::int64_t gate_stride, const float* up, std::int64_t up_stride,
             std::int64_t T, std::int64_t F, Activation act, float* out) override;
    void rope(float* x, std::int64_t x_stride, std::int64_t T, std::int64_t n_heads,
              std::int64_t head_dim, std::int64_t rotary_dim, std::int64_t pos0,
              const float* inv_freq) override;
    void attention(const float* q, std::int64_t q_stride, const float* k, const float* v,
                   std::int64_t kv_stride, std::int64_t T, std::int64_t pos0, std::int64_t n_heads,
                   std::int64_t n_kv_heads, std::int64_t head_dim, float scale, std::int64_t window,
                   float* out, std::int64_t out_stride) override;
    void moe_route(const float* logits, std::int64_t T, std::int64_t E, std::int64_t k,
                   RouterScoring scoring, const float* correction_bias, std::int64_t n_group,
                   std::int64_t topk_group, bool normalize, float route_scale,
                   std::int32_t* experts, float* weights) override;
    void argmax(const float* x, std::int64_t x_stride, std::int64_t T, std::int64_t V,
                std::int32_t* out) override;
    void sample(const float* x, std::int64_t x_stride, std::int64_t T, std::int64_t V,
                const SampleParams& p, const SamplePenalties& pen, const double* u,
                std::int32_t* out) override;

    // The recordable-step ops (backend.h): host memory here, so each reads its argument and runs
    // the plain op.
    const std::int64_t* step_scalars(const std::int64_t* host, std::int64_t n) override;
    void rope_at(float* x, std::int64_t x_stride, std::int64_t T, std::int64_t n_heads,
                 std::int64_t head_dim, std::int64_t rotary_dim, const std::int64_t* pos0,
                 const float* inv_freq) override;
    void write_rows_at(const float* src, std::int64_t src_stride, std::int64_t T,
                       std::int64_t width, float* dst, std::int64_t dst_stride,
                       const std::int64_t* pos0) override;
    void attention_at(const float* q, std::int64_t q_stride, const float* k, const float* v,
                      std::int64_t kv_stride, std::int64_t T, const std::int64_t* pos0,
                      std::int64_t max_keys, std::int64_t n_heads, std::int64_t n_kv_heads,
                      std::int64_t head_dim, float scale, std::int64_t window, float* out,
                      std::int64_t out_stride) override;
    void moe_experts(const float* x, std::int64_t x_stride, std::int64_t T, std::int64_t k,
                     const std::int32_t* experts, const float* weights, const ExpertFfns& ffn,
                     float* hidden, bool accumulate, float* out) override;

  private:
    std::int64_t step_scalars_[kMaxStepScalars] = {};
};

}  // namespace statescope::kernels::cpu
