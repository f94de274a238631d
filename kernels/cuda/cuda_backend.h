// The CUDA backend: device memory, one stream, and the ops of kernels/backend.h as CUDA kernels
// (ops.h) plus cuBLASLt for prefill matmuls. Activations and state are fp32 as on the CPU.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime.h>

#include <atomic>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/backend.h"

namespace statescope::kernels::cuda {

struct MemoryCounter {
    std::atomic<std::size_t> current{0}, peak{0};
    void add(std::size_t n);
    void sub(std::size_t n) { current -= n; }
};

// Device memory from cudaMalloc, zeroed on `stream` (ordered before every later op on it).
class CudaBuffer final : public Buffer {
  public:
    CudaBuffer(std::size_t bytes, cudaStream_t stream, std::shared_ptr<MemoryCounter> counter);
    ~CudaBuffer() override;
    CudaBuffer(const CudaBuffer&) = delete;
    CudaBuffer& operator=(const CudaBuffer&) = delete;
    void* data() override { return data_; }
    std::size_t bytes() const override { return bytes_; }

  private:
    void* data_ = nullptr;
    std::size_t bytes_ = 0;
    std::shared_ptr<MemoryCounter> counter_;
};

class CudaBackend final : public Backend {
  public:
    explicit CudaBackend(int device);
    ~CudaBackend() override;
    std::string name() const override { return "cuda"; }
    std::string device_info() const override { return info_; }
    std::size_t peak_bytes() const override { return counter_->peak; }
    void synchronize() override;
    bool can_record() const override { return true; }
    void record_begin() override;
    std::unique_ptr<Recording> record_end() override;
    void replay(const Recording& r, const std::int32_t* ids, std::int64_t T,
                const std::int64_t* scalars, std::int64_t n_scalars) override;

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
    void matmul_softplus(const float* x, std::int64_t x_stride, std::int64_t T, const Weight& W,
                         const float* bias, float lo, float hi, float* delta) override;
    void add_rmsnorm(float* h, const float* x, float s, std::int64_t T, std::int64_t D,
                     const float* weight, float eps, float* y) override;
    void matmul_conv1d_step(const float* x, const Weight& W, const float* bias, float* y,
                            std::int64_t conv_off, std::int64_t C, std::int64_t K,
                            const float* conv_w, const float* conv_bias, bool silu,
                            float* conv_state, float* conv_y) override;
    void softplus_ssd_step(const float* dt, const float* dt_bias, float lo, float hi,
                           const float* x, std::int64_t x_stride, const float* A, const float* B,
                           const float* C, std::int64_t bc_stride, const float* D, std::int64_t H,
                           std::int64_t P, std::int64_t G, std::int64_t N, float* state,
                           float* delta, float* y) override;
    void matmul_softplus_scan_step(const float* dt, const Weight& W, const float* dt_bias, float lo,
                                   float hi, const float* x, const float* A, const float* B,
                                   const float* C, const float* D, const float* z, std::int64_t N,
                                   float* state, float* delta, float* y) override;
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

    // The recordable-step ops (backend.h): positions and experts read on the device.
    const std::int64_t* step_scalars(const std::int64_t* host, std::int64_t n) override;
    std::uint64_t scratch_generation() const override { return scratch_generation_; }
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
    void lt_matmul(const float* x, std::int64_t x_stride, std::int64_t T, const Weight& W, float* y,
                   std::int64_t y_stride);
    // attention()'s and attention_at()'s split-K: the split count for T rows at pos0 and the
    // partials scratch it needs (null for one split).
    struct SplitK {
        int splits = 1;
        float* partials = nullptr;
    };
    SplitK attention_split_k(std::int64_t T, std::int64_t pos0, std::int64_t n_heads,
                             std::int64_t n_kv_heads, std::int64_t head_dim, std::int64_t window);
    // Grows `buf` to at least `bytes` (prefill only: decode sizes never grow it); each move
    // counts in scratch_generation_.
    void* scratch(std::unique_ptr<Buffer>& buf, std::size_t bytes);
    std::uint64_t scratch_generation_ = 0;

    int device_ = 0;
    std::string info_;
    cudaStream_t stream_ = nullptr;
    cublasLtHandle_t lt_ = nullptr;
    std::shared_ptr<MemoryCounter> counter_ = std::make_shared<MemoryCounter>();
    std::unique_ptr<Buffer> lt_workspace_, ids_, narrow_x_, attn_partials_;
    int sm_count_ = 1;
    std::unique_ptr<Buffer> scan_ws_;  // the chunked scans' segment / chunk states (prefill only)
    // sample(): the sort and prefix-sum scratch, and the penalised ids staged per row
    std::unique_ptr<Buffer> sample_ws_, sample_pen_;
    std::vector<std::int32_t> pen_host_;
    // Pinned staging for the ids of a recorded embedding: a recorded copy reads host memory at
    // replay time, which only page-locked memory allows.
    std::int32_t* ids_pinned_ = nullptr;
    static constexpr std::int64_t kPinnedIds = 256;
    // The step scalars (backend.h): a device block and, for a recorded write, its pinned source,
    // which replay() refills before each launch as it does the ids.
    std::unique_ptr<Buffer> step_scalars_;
    std::int64_t* scalars_pinned_ = nullptr;
    bool recording_ = false;
    // The *_rows ops' per-row state pointers, staged from a pinned ring into a device ring at the
    // same offsets, one slice per call (allocated on the first batched step). A pinned slot is
    // written again only once the copy that read it is done: the ring restarts at 0 after each
    // wait for the whole stream (synchronize, copy_to_host), and a call that finds it full waits
    // first. At B = 16 and two slices per Mamba layer a 64-layer step takes 2048 of the slots,
    // and greedy decode copies its ids to the host (a wait) every step.
    float* const* stage_row_ptrs(float* const* host, std::int64_t rows);
    static constexpr std::int64_t kRowPtrs = 16384;
    float** row_ptrs_pinned_ = nullptr;
    std::unique_ptr<Buffer> row_ptrs_;
    std::int64_t row_ptrs_used_ = 0;
    // cuBLASLt's choice per (dtype, m, n, k, lda, ldb, ldc, alignments), asked once.
    using AlgoKey = std::tuple<int, std::int64_t, std::int64_t, std::int64_t, std::int64_t,
                               std::int64_t, std::int64_t, int>;
    std::map<AlgoKey, cublasLtMatmulAlgo_t> algos_;
};

}  // namespace statescope::kernels::cuda
